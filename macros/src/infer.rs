//! Shape inference: turns the parsed declaration into the [IR](crate::ir), computing every
//! layer's input and output shape and rejecting inconsistent specs.
//!
//! The running shape is either flat (`N` values) or an image (`C × H × W`); either way a
//! sample is one column of `C·H·W` values in PyTorch's CHW order, so `flatten` only changes
//! the shape here and generates no code. What each layer kind accepts and produces is its
//! own business ([`layers`](crate::layers)); this module walks the list, names the layers,
//! and handles the structure: `input`, `flatten`, `residual` and the `softmax` head.
//!
//! Checking never stops at the first problem: each error is recorded in a [`Ctxt`] and
//! checking carries on with a best guess (an unknown layer keeps the running shape), so a
//! spec with several mistakes reports all of them.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::{Attribute, Ident, LitStr, Path};

use crate::args;
use crate::ast::{Arg, Body, Entry, ModelDecl};
use crate::budget::{self, Budget};
use crate::ctxt::Ctxt;
use crate::fold;
use crate::ir::{Layer, Model, Op, Residual, Shape};
use crate::layers;
use crate::limits::{self, MAX_PARAMS};
use crate::suggest;

/// The outcome of checking: the IR, when the declaration still describes a consistent
/// model, and every error found.
pub struct Checked<'a> {
    pub model: Option<Model<'a>>,
    pub errors: Ctxt,
}

/// Checks a declaration and infers its shapes, reporting every error found.
pub fn check(decl: &ModelDecl) -> Checked<'_> {
    let mut cx = Ctxt::default();
    let options = model_options(&mut cx, &decl.attrs);

    let mut entries = decl.entries.as_slice();
    let input = match decl.entries.first() {
        None => {
            cx.error(
                decl.ident.span(),
                format_args!(
                    "model `{}` has no layers; start with `input(N)` and add at least one layer",
                    decl.ident
                ),
            );
            None
        }
        Some(first) if first.kind == "input" => {
            entries = &entries[1..];
            let shape = input_shape(&mut cx, first);
            if decl.entries.len() == 1 {
                cx.error(
                    first.kind.span(),
                    format_args!(
                        "model `{}` has no layers after its input; add at least one, e.g. `dense(10)`",
                        decl.ident
                    ),
                );
            }
            shape
        }
        Some(first) => {
            cx.error(first.kind.span(), "a model must start with `input(N)`, naming the width of its input");
            None
        }
    };

    // Whether the IR is still a consistent model despite any errors (so the full
    // expansion can be emitted beside them and uses of the model raise no further errors).
    let mut checker = Checker { cx, seen: Vec::new(), usable: true, params: 0 };
    let input_shape = input.unwrap_or(Shape::Flat(0));
    let layers = checker.sequence(entries, input_shape, None);

    if let Some(only) = layers.first().filter(|only| layers.len() == 1 && only.is_head()) {
        checker.usable = false;
        checker.cx.error(
            only.span,
            "a model needs at least one layer before its `softmax` head, e.g. `dense(10), softmax`",
        );
    }
    if let Some(flatten) = layers.first().filter(|_| layers.iter().all(|l| matches!(l.op, Op::Flatten))) {
        checker.usable = false;
        checker
            .cx
            .error(flatten.span, "a model needs at least one layer besides `flatten`, e.g. `dense(10)`");
    }

    let Checker { mut cx, usable, .. } = checker;
    let usable = usable && input.is_some() && !layers.is_empty();
    let ModelOptions { attrs, scalar, krate, weights, int8, allow_non_finite, fold_batchnorm, budget } =
        options;
    let layers = match fold_batchnorm {
        Some(option) if weights.is_none() => {
            cx.error(
                option,
                "`fold_batchnorm` folds the batch norms of the weight file baked in; add `weights = \"file.safetensors\"`",
            );
            layers
        }
        Some(_) if usable => fold::batchnorm(&mut cx, layers),
        _ => layers,
    };
    let model = usable.then(|| Model {
        attrs,
        vis: &decl.vis,
        ident: &decl.ident,
        scalar,
        krate,
        weights,
        int8,
        allow_non_finite,
        budget,
        input: input_shape,
        layers,
    });
    Checked { model, errors: cx }
}

/// What a layer's input comes from, for checks and messages.
pub struct Upstream<'a> {
    /// The previous layer in the same list.
    pub prev: Option<&'a Layer>,
    /// The `residual` block the list belongs to.
    pub parent: Option<&'a Layer>,
    /// The input's shape.
    pub shape: Shape,
}

impl Upstream<'_> {
    /// `layer 4 (maxpool …) produces 32×7×7`, `the model's input is 1×28×28`, …
    pub fn describe(&self) -> String {
        let shape = self.shape;
        let what = match shape {
            Shape::Flat(_) => "",
            Shape::Image { .. } => "an image of ",
        };
        match (self.prev, self.parent) {
            (Some(p), _) => format!("{} produces {what}{shape}", p.describe_for_error()),
            (None, Some(block)) => {
                // A shortcut's layers have the pseudo-layer `block.shortcut` as their parent.
                let (label, whose) = match block.label.strip_suffix(".shortcut") {
                    Some(label) => (label, "the shortcut of "),
                    None => (block.label.as_str(), ""),
                };
                let name = if block.named { format!("`{label}`") } else { label.to_string() };
                format!("the input of {whose}the `residual` block {name} is {what}{shape}")
            }
            (None, None) => format!("the model's input is {what}{shape}"),
        }
    }
}

/// A layer already declared, for duplicate-name errors.
struct Seen {
    field: Ident,
    named: bool,
    description: String,
}

/// The state of checking one declaration.
struct Checker {
    cx: Ctxt,
    /// Every layer's field so far, nested ones included.
    seen: Vec<Seen>,
    usable: bool,
    /// The parameters of the layers so far, nested ones included.
    params: usize,
}

impl Checker {
    /// Checks a list of layers (the model's, or a `residual` block's) that starts from
    /// `shape`.
    fn sequence(&mut self, entries: &[Entry], mut shape: Shape, parent: Option<&Layer>) -> Vec<Layer> {
        let mut layers: Vec<Layer> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let label = match (&entry.name, parent) {
                (Some(name), _) => name.to_string(),
                (None, None) => index.to_string(),
                (None, Some(p)) => format!("{}.{index}", p.label),
            };
            let field = match (&entry.name, parent) {
                (Some(name), _) => name.clone(),
                (None, None) => Ident::new(&format!("layer{index}"), entry.kind.span()),
                (None, Some(p)) => {
                    let field = format_ident!("{}_{index}", p.field);
                    Ident::new(&field.to_string(), entry.kind.span())
                }
            };
            let from = Upstream { prev: layers.last(), parent, shape };
            let mut layer = Layer {
                label,
                named: entry.name.is_some(),
                field,
                span: entry.kind.span(),
                op: Op::Flatten,
                input: shape,
                output: shape,
                folded: None,
            };
            let Some((op, output)) = self.layer(entry, from, &layer) else { continue };
            (layer.op, layer.output) = (op, output);
            if !self.within_limits(&layer) {
                // Nothing after it can be checked against a shape it cannot have, nor the
                // model be expanded.
                self.usable = false;
                shape = Shape::Flat(0);
                continue;
            }
            if layer.is_head() {
                self.check_head(entry, parent.is_some(), index + 1 == entries.len());
            }
            self.check_name(entry, &layer);
            self.seen.push(Seen {
                field: layer.field.clone(),
                named: layer.named,
                description: layer.describe_for_error(),
            });
            layers.push(layer);
            shape = output;
        }
        layers
    }

    /// Checks a resolved layer against the size limits (`limits`): its output, each of its
    /// parameter tensors and scratch buffers, and the model's parameters so far. A layer
    /// whose own sizes are beyond them is reported and `false`; the parameter total is
    /// reported once, on the layer that takes it over the limit.
    fn within_limits(&mut self, layer: &Layer) -> bool {
        let Some(kind) = layer.kind() else { return true };
        let (cx, span, io) = (&mut self.cx, layer.span, layer.io());
        let described = layer.describe_for_error();
        let output = format!("the output of {described}");
        if limits::tensor(cx, span, output, &layer.output.dims()).is_none() {
            return false;
        }
        let mut params = 0usize;
        for spec in kind.tensors(io) {
            let what = format!("the `{}` of {described}", spec.param);
            let Some(n) = limits::tensor(cx, span, what, &spec.shape) else { return false };
            params = params.saturating_add(n);
        }
        for (name, dims) in kind.scratch_tensors(io) {
            if limits::tensor(cx, span, format_args!("the {name} of {described}"), &dims).is_none() {
                return false;
            }
        }
        let before = self.params;
        self.params = before.saturating_add(params);
        if before <= MAX_PARAMS && self.params > MAX_PARAMS {
            self.usable = false;
            cx.error(
                span,
                format_args!(
                    "with the {params} parameters of {described}, the model holds {}, over the limit \
                     of {} parameters for a model (models are statically sized arrays that rustc \
                     builds at compile time)",
                    self.params,
                    limits::show(MAX_PARAMS)
                ),
            );
        }
        true
    }

    /// `softmax` may only be the model's last layer.
    fn check_head(&mut self, entry: &Entry, nested: bool, last: bool) {
        if nested {
            self.cx.error(
                entry.kind.span(),
                "`softmax` cannot be used inside a `residual` block; it can only be the model's last layer",
            );
        } else if !last {
            self.cx.error(
                entry.kind.span(),
                "`softmax` can only be the last layer (an inference head: training works on the logits before it); \
                 move it to the end or remove it",
            );
        }
    }

    /// Reports a field name already taken by another layer.
    fn check_name(&mut self, entry: &Entry, layer: &Layer) {
        let field = &layer.field;
        let Some(prev) = self.seen.iter().find(|l| l.field == *field) else { return };
        self.usable = false;
        // Unnamed layers are stored in fields `layer{index}`, which a name may collide with.
        let message = match (&entry.name, prev.named) {
            (Some(_), true) => format!(
                "the name `{field}` is already used by {}; give each layer its own name",
                prev.description
            ),
            (Some(_), false) => format!(
                "the name `{field}` is reserved for {}, which has no name; choose another name",
                prev.description
            ),
            (None, _) => {
                let message = format!(
                    "the name `{field}` is reserved for the unnamed layer {} (`{}` below); choose another name",
                    layer.label, entry.kind
                );
                return self.cx.error(prev.field.span(), message);
            }
        };
        self.cx.error(field.span(), message);
    }

    /// Resolves one layer entry given its input; `None` if it cannot be understood.
    fn layer(&mut self, entry: &Entry, from: Upstream, layer: &Layer) -> Option<(Op, Shape)> {
        let name = entry.kind.to_string();
        if name == "residual" {
            return self.residual(entry, from, layer);
        }
        let cx = &mut self.cx;
        if let Some(body) = &entry.body {
            cx.error(body.brace.span.join(), format_args!("`{}` takes no block", entry.kind));
        } else if let Some((keyword, _)) = &entry.shortcut {
            cx.error(
                keyword.span(),
                format_args!("only a `residual` block has a shortcut, not `{}`", entry.kind),
            );
        }
        if let Some(infer) = layers::find(&name) {
            return infer(cx, entry, &from).map(|(kind, shape)| (Op::Layer(kind), shape));
        }
        match name.as_str() {
            "flatten" => {
                args::no_arguments(cx, entry);
                let (c, h, w) = args::expect_image(cx, entry, &from)?;
                // An image is within the limits (or unknown, `Flat(0)`), so is its length.
                Some((Op::Flatten, Shape::Flat(limits::product(&[c, h, w])?)))
            }
            "input" => {
                cx.error(entry.kind.span(), "`input` may only appear once, as the first entry");
                None
            }
            _ => {
                let known = layers::known_names();
                let candidates: Vec<&str> = known.iter().copied().chain(["input"]).collect();
                let message = match suggest::closest(&name, &candidates) {
                    Some(close) => format!("unknown layer `{name}`; did you mean `{close}`?"),
                    None => format!("unknown layer `{name}`; expected one of: {}", known.join(", ")),
                };
                cx.error(entry.kind.span(), message);
                None
            }
        }
    }

    /// `residual { … }`: checks the block's layers and that they keep the input's shape.
    fn residual(&mut self, entry: &Entry, from: Upstream, block: &Layer) -> Option<(Op, Shape)> {
        if let Some(args) = &entry.args {
            self.cx.error(
                args.paren.span.join(),
                "`residual` takes no arguments, only a block of layers: `residual { conv2d(16, 3, padding = 1), relu }`",
            );
        }
        let Some(body) = &entry.body else {
            self.cx.error(
                entry.kind.span(),
                "`residual` needs a block of layers whose output is added to its input, \
                 e.g. `residual { conv2d(16, 3, padding = 1), relu }`",
            );
            return None;
        };
        if body.entries.is_empty() {
            self.cx.error(
                body.brace.span.join(),
                "this `residual` block is empty; put at least one layer in it",
            );
            return None;
        }
        // The block's layers see the block as their parent (for labels and field names).
        let shape = from.shape;
        let main = self.sequence(&body.entries, shape, Some(block));
        let produced = main.last().map_or(shape, |l| l.output);
        let shortcut = match &entry.shortcut {
            Some((keyword, body)) => Some((keyword, self.shortcut(keyword, body, block)?)),
            None => None,
        };
        if main.len() != body.entries.len() {
            // A layer inside was rejected (and reported): its shape is unknown.
            return None;
        }
        let culprit = |layers: &[Layer]| layers.last().map(Layer::describe_for_error).unwrap_or_default();
        let Some((keyword, shortcut)) = shortcut else {
            if produced != shape && shape.is_known() {
                self.cx.error(
                    entry.kind.span(),
                    format_args!(
                        "a `residual` block must keep its input's shape, {shape}, but its layers turn it into \
                         {produced} (the last is {}); its output is added to its input, so the shapes must \
                         match, or give it a `shortcut {{ … }}` that makes {produced} too",
                        culprit(&main)
                    ),
                );
                return None;
            }
            if main.iter().all(|l| matches!(l.op, Op::Flatten)) {
                return None;
            }
            return Some((Op::Residual(Residual { main, shortcut: Vec::new() }), shape));
        };
        let short = shortcut.last().map_or(shape, |l| l.output);
        if short != produced && shape.is_known() {
            self.cx.error(
                keyword.span(),
                format_args!(
                    "the shortcut of a `residual` block must produce what its layers produce, {produced} (the \
                     last is {}), but it makes {short} (the last is {}); the two are added",
                    culprit(&main),
                    culprit(&shortcut)
                ),
            );
            return None;
        }
        Some((Op::Residual(Residual { main, shortcut }), produced))
    }

    /// The layers of a `residual` block's `shortcut { … }`, labelled `block.shortcut.0`, …;
    /// `None` if any was rejected (and reported).
    fn shortcut(&mut self, keyword: &Ident, body: &Body, block: &Layer) -> Option<Vec<Layer>> {
        if body.entries.is_empty() {
            self.cx.error(
                body.brace.span.join(),
                "this `shortcut` is empty; leave it out for the identity, or put at least one layer in it",
            );
            return None;
        }
        // The shortcut's layers see it as their parent: labels `block.shortcut.0`, fields
        // `block_shortcut_0`, messages about "the input of the block's shortcut".
        let parent = Layer {
            label: format!("{}.shortcut", block.label),
            named: block.named,
            field: format_ident!("{}_shortcut", block.field),
            span: keyword.span(),
            op: Op::Flatten,
            input: block.input,
            output: block.input,
            folded: None,
        };
        let before = self.cx.count();
        let layers = self.sequence(&body.entries, block.input, Some(&parent));
        // A layer that was reported may still have a guessed shape: compare nothing with it.
        (layers.len() == body.entries.len() && self.cx.count() == before).then_some(layers)
    }
}

/// `#[model(…)]` options, and the attributes that pass through to the struct.
struct ModelOptions<'a> {
    attrs: Vec<&'a Attribute>,
    scalar: TokenStream,
    krate: TokenStream,
    weights: Option<LitStr>,
    int8: Option<LitStr>,
    allow_non_finite: bool,
    /// `fold_batchnorm`, where it was written.
    fold_batchnorm: Option<Span>,
    budget: Budget,
}

/// Splits `#[model(…)]` options from the attributes that pass through to the struct.
fn model_options<'a>(cx: &mut Ctxt, attrs: &'a [Attribute]) -> ModelOptions<'a> {
    let mut options = ModelOptions {
        attrs: Vec::new(),
        scalar: quote!(f32),
        krate: quote!(::staticnn),
        weights: None,
        int8: None,
        allow_non_finite: false,
        fold_batchnorm: None,
        budget: Budget::default(),
    };
    for attr in attrs {
        if !attr.path().is_ident("model") {
            options.attrs.push(attr);
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("scalar") {
                let ty: Ident = meta.value()?.parse().map_err(|e| {
                    syn::Error::new(e.span(), "expected `f32` or `f64`, written as a type (without quotes)")
                })?;
                if ty == "f32" || ty == "f64" {
                    options.scalar = ty.into_token_stream();
                } else {
                    cx.error(
                        ty.span(),
                        format_args!("unsupported scalar type `{ty}`; expected `f32` or `f64`"),
                    );
                }
                Ok(())
            } else if meta.path.is_ident("crate") {
                let path: LitStr = meta.value()?.parse()?;
                options.krate = path
                    .parse::<Path>()
                    .map_err(|_| {
                        syn::Error::new(
                            path.span(),
                            "expected the path of the staticnn crate, e.g. `crate = \"::staticnn\"`",
                        )
                    })?
                    .into_token_stream();
                Ok(())
            } else if meta.path.is_ident("weights") {
                options.weights = Some(meta.value()?.parse::<LitStr>().map_err(|e| {
                    syn::Error::new(e.span(), "expected the weight file's path as a string, e.g. `weights = \"mnist.safetensors\"`")
                })?);
                Ok(())
            } else if meta.path.is_ident("int8") {
                options.int8 = Some(meta.value()?.parse::<LitStr>().map_err(|e| {
                    syn::Error::new(e.span(), "expected the int8 weight file's path as a string, e.g. `int8 = \"mnist_int8.safetensors\"`")
                })?);
                Ok(())
            } else if meta.path.is_ident("allow_non_finite") {
                options.allow_non_finite = true;
                Ok(())
            } else if meta.path.is_ident("fold_batchnorm") {
                options.fold_batchnorm = Some(syn::spanned::Spanned::span(&meta.path));
                Ok(())
            } else if meta.path.is_ident("budget") {
                budget::parse(cx, &meta, &mut options.budget)
            } else {
                let option = meta.path.to_token_stream().to_string().replace(' ', "");
                Err(meta.error(format_args!(
                    "unknown model option `{option}`; the options are `scalar = f32` (or `f64`), `crate = \"path\"`, \
                     `weights = \"file.safetensors\"`, `int8 = \"file.safetensors\"`, `allow_non_finite`, `fold_batchnorm` and `budget(flash = \"128K\", ram = \"16K\")`"
                )))
            }
        });
        if let Err(e) = parsed {
            cx.push(e);
        }
    }
    options
}

/// The shape declared by `input(N)` or `input(C, H, W)`.
fn input_shape(cx: &mut Ctxt, entry: &Entry) -> Option<Shape> {
    const USAGE: &str =
        "`input` takes one width, `input(784)`, or an image's channels, height and width, `input(1, 28, 28)`";
    if let Some(body) = &entry.body {
        cx.error(body.brace.span.join(), "`input` takes no block");
    }
    let Some(args) = &entry.args else {
        cx.error(
            entry.kind.span(),
            "`input` needs its width, e.g. `input(784)`, or its image shape, e.g. `input(1, 28, 28)`",
        );
        return None;
    };
    let list: Vec<&Arg> = args.list.iter().collect();
    if list.iter().any(|a| a.key.is_some() || a.arrow.is_some()) {
        cx.error(args.paren.span.join(), USAGE);
        return None;
    }
    let shape = match list.as_slice() {
        [arg] => Shape::Flat(args::width(cx, &arg.value)?),
        [c, h, w] => {
            let (c, h, w) = (args::width(cx, &c.value), args::width(cx, &h.value), args::width(cx, &w.value));
            Shape::Image { c: c?, h: h?, w: w? }
        }
        _ => {
            cx.error(args.paren.span.join(), USAGE);
            return None;
        }
    };
    limits::tensor(cx, args.paren.span.join(), "the model's input", &shape.dims())?;
    Some(shape)
}
