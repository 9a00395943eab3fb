//! Meaning and shapes: turns the parsed declaration into the IR that [`expand`](crate::expand)
//! emits, computing every layer's input and output shape and rejecting inconsistent specs.
//!
//! The running shape is either flat (`N` values) or an image (`C × H × W`); either way a
//! sample is one column of `C·H·W` values in PyTorch's CHW order, so `flatten` only changes
//! the shape here and generates no code.
//!
//! Checking never stops at the first problem: each error is recorded in a [`Ctxt`] and
//! checking carries on with a best guess (an unknown layer keeps the running shape), so a
//! spec with several mistakes reports all of them.

use std::fmt;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Attribute, Ident, Lit, LitStr, Path};

use crate::ast::{Arg, Entry, ModelDecl, Value};
use crate::ctxt::Ctxt;
use crate::suggest;

/// A checked model: everything [`expand`](crate::expand) needs, with shapes resolved.
pub struct Model<'a> {
    pub attrs: Vec<&'a Attribute>,
    pub vis: &'a syn::Visibility,
    pub ident: &'a Ident,
    /// `f32` or `f64`.
    pub scalar: TokenStream,
    /// The path of the facade crate (`::staticnn` unless `#[model(crate = "…")]`).
    pub krate: TokenStream,
    /// `#[model(weights = "file.safetensors")]`: the file to bake in (see [`weights`](crate::weights)).
    pub weights: Option<LitStr>,
    /// The width of one input sample (`C·H·W` for an image).
    pub input: usize,
    pub input_shape: Shape,
    /// The layers in order; a `residual` block holds its own layers.
    pub layers: Vec<Layer>,
}

impl Model<'_> {
    /// The width of the final layer's output.
    pub fn output(&self) -> usize {
        self.layers.last().map_or(self.input, |l| l.output)
    }

    /// Whether the last layer is a `softmax` inference head.
    pub fn has_head(&self) -> bool {
        matches!(self.layers.last(), Some(Layer { kind: LayerKind::Activation(Activation::Softmax), .. }))
    }

    /// The layers the training pass runs (all but a `softmax` head).
    pub fn trained_layers(&self) -> &[Layer] {
        let n = self.layers.len() - usize::from(self.has_head());
        &self.layers[..n]
    }

    /// Every layer holding parameters, including those inside `residual` blocks, in
    /// declaration order (the order of the model struct's fields and of its tensors).
    pub fn param_layers(&self) -> Vec<&Layer> {
        fn walk<'l>(layers: &'l [Layer], out: &mut Vec<&'l Layer>) {
            for l in layers {
                match &l.kind {
                    LayerKind::Residual(inner) => walk(inner, out),
                    _ if l.has_params() => out.push(l),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.layers, &mut out);
        out
    }
}

/// The shape of one sample between two layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A vector of `N` values.
    Flat(usize),
    /// `c` channels of `h × w`, stored as `C·H·W` values in CHW order.
    Image { c: usize, h: usize, w: usize },
}

impl Shape {
    /// The number of values (the height of a sample's column).
    pub fn len(self) -> usize {
        match self {
            Shape::Flat(n) => n,
            Shape::Image { c, h, w } => c * h * w,
        }
    }

    /// `false` for the placeholder shape that follows a missing or invalid input (whose
    /// error is already reported), so that nothing is checked against it.
    pub fn is_known(self) -> bool {
        self.len() != 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Flat(n) => write!(f, "{n}"),
            Shape::Image { c, h, w } => write!(f, "{c}×{h}×{w}"),
        }
    }
}

/// One layer with its resolved shape.
pub struct Layer {
    /// The prefix of its tensors' names: its given name, or its position in the list
    /// (PyTorch `nn.Sequential` numbering, parameterless layers counted; `3.0` for the first
    /// layer of the `residual` block at position 3).
    pub label: String,
    /// Whether the user gave it a name.
    pub named: bool,
    /// The struct field holding its parameters (or naming its cache buffers).
    pub field: Ident,
    /// Where the user wrote it: errors in generated code land here.
    pub span: Span,
    pub kind: LayerKind,
    /// The widths of its input and output columns (`C·H·W` for images).
    pub input: usize,
    pub output: usize,
    pub input_shape: Shape,
    pub output_shape: Shape,
}

/// What a layer computes.
pub enum LayerKind {
    Dense,
    Activation(Activation),
    Conv2d(Conv),
    MaxPool(Pool),
    AvgPool(Pool),
    GlobalAvgPool,
    /// An image seen as a flat vector: a change of shape only, no data moves.
    Flatten,
    /// `y = x + f(x)`, `f` being the block's layers.
    Residual(Vec<Layer>),
}

/// The geometry of a `conv2d` layer (its input and output shapes are on the [`Layer`]).
#[derive(Clone, Copy)]
pub struct Conv {
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub padding: usize,
}

/// The geometry of a `maxpool` or `avgpool` layer: square windows, no padding.
#[derive(Clone, Copy)]
pub struct Pool {
    pub k: usize,
    pub stride: usize,
}

/// A parameterless element-wise (or column-wise) layer.
#[derive(Clone, Copy)]
pub enum Activation {
    Relu,
    LeakyRelu(f64),
    Sigmoid,
    Tanh,
    Softmax,
    Identity,
}

impl Layer {
    /// Whether the layer holds parameters (and so a field of the model struct).
    pub fn has_params(&self) -> bool {
        matches!(self.kind, LayerKind::Dense | LayerKind::Conv2d(_))
    }

    /// Whether the layer or any layer inside it holds parameters.
    pub fn contains_params(&self) -> bool {
        match &self.kind {
            LayerKind::Residual(inner) => inner.iter().any(Layer::contains_params),
            _ => self.has_params(),
        }
    }

    /// Whether the user named the layer (rather than it being numbered).
    pub fn is_named(&self) -> bool {
        self.named
    }

    /// How error messages refer to the layer: ``layer `hidden` (dense 784 → 128)``,
    /// `layer 1 (relu)`, `layer 3.0 (conv2d …)`.
    pub fn describe_for_error(&self) -> String {
        if self.is_named() {
            format!("layer `{}` ({})", self.label, self.describe())
        } else {
            format!("layer {} ({})", self.label, self.describe())
        }
    }

    /// A short description for generated docs: `dense 784 → 128`, `relu`,
    /// `conv2d 1×28×28 → 16×28×28 (3×3, stride 1, padding 1)`.
    pub fn describe(&self) -> String {
        let (i, o) = (self.input_shape, self.output_shape);
        match &self.kind {
            LayerKind::Dense => format!("dense {} → {}", self.input, self.output),
            LayerKind::Activation(a) => a.name().to_string(),
            LayerKind::Conv2d(c) => {
                format!("conv2d {i} → {o} ({}×{}, stride {}, padding {})", c.kh, c.kw, c.stride, c.padding)
            }
            LayerKind::MaxPool(p) => format!("maxpool {i} → {o} ({}×{}, stride {})", p.k, p.k, p.stride),
            LayerKind::AvgPool(p) => format!("avgpool {i} → {o} ({}×{}, stride {})", p.k, p.k, p.stride),
            LayerKind::GlobalAvgPool => format!("global_avgpool {i} → {o}"),
            LayerKind::Flatten => format!("flatten {i} → {o}"),
            LayerKind::Residual(inner) => {
                format!("residual {i}, {} layer{}", inner.len(), if inner.len() == 1 { "" } else { "s" })
            }
        }
    }
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Identity => "identity",
        }
    }
}

/// Every layer kind the DSL knows, for "did you mean" suggestions.
const KNOWN_LAYERS: &[&str] = &[
    "input",
    "dense",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "softmax",
    "identity",
    "conv2d",
    "maxpool",
    "avgpool",
    "global_avgpool",
    "flatten",
    "residual",
];

/// Checks a declaration and infers its shapes, reporting every error found.
pub fn check(decl: &ModelDecl) -> Checked<'_> {
    let mut cx = Ctxt::default();
    let (attrs, scalar, krate, weights) = model_options(&mut cx, &decl.attrs);

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
    let mut checker = Checker { cx, seen: Vec::new(), usable: true };
    let input_shape = input.unwrap_or(Shape::Flat(0));
    let layers = checker.sequence(entries, input_shape, None);

    if let [Layer { kind: LayerKind::Activation(Activation::Softmax), span, .. }] = layers.as_slice() {
        checker.usable = false;
        checker.cx.error(
            *span,
            "a model needs at least one layer before its `softmax` head, e.g. `dense(10), softmax`",
        );
    }
    if let Some(flatten) = layers.first()
        && layers.iter().all(|l| matches!(l.kind, LayerKind::Flatten))
    {
        checker.usable = false;
        checker
            .cx
            .error(flatten.span, "a model needs at least one layer besides `flatten`, e.g. `dense(10)`");
    }

    let Checker { cx, usable, .. } = checker;
    let usable = usable && input.is_some() && !layers.is_empty();
    let model = usable.then(|| Model {
        attrs,
        vis: &decl.vis,
        ident: &decl.ident,
        scalar,
        krate,
        weights,
        input: input_shape.len(),
        input_shape,
        layers,
    });
    Checked { model, errors: cx.finish(()).err() }
}

/// The outcome of checking: the IR, when the declaration still describes a consistent
/// model, and every error found.
pub struct Checked<'a> {
    pub model: Option<Model<'a>>,
    pub errors: Option<syn::Error>,
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
}

/// Where a list of layers sits: the model itself, or the `residual` block with this layer.
type Parent<'p> = Option<&'p Layer>;

impl Checker {
    /// Checks a list of layers (the model's, or a `residual` block's) that starts from
    /// `shape`.
    fn sequence(&mut self, entries: &[Entry], mut shape: Shape, parent: Parent) -> Vec<Layer> {
        let mut layers: Vec<Layer> = Vec::new();
        let count = entries.len();
        for (index, entry) in entries.iter().enumerate() {
            let label = match (&entry.name, parent) {
                (Some(name), _) => name.to_string(),
                (None, None) => index.to_string(),
                (None, Some(p)) => format!("{}.{index}", p.label),
            };
            let field = match (&entry.name, parent) {
                (Some(name), _) => name.clone(),
                (None, None) => Ident::new(&format!("layer{index}"), entry.kind.span()),
                (None, Some(p)) => Ident::new(&format!("{}_{index}", p.field), entry.kind.span()),
            };
            let from = Origin { prev: layers.last(), parent, shape };
            let Some((kind, output_shape)) = self.layer(entry, from, &label, &field) else {
                continue;
            };
            if matches!(kind, LayerKind::Activation(Activation::Softmax)) {
                if parent.is_some() {
                    self.cx.error(
                        entry.kind.span(),
                        "`softmax` cannot be used inside a `residual` block; it can only be the model's last layer",
                    );
                } else if index + 1 != count {
                    self.cx.error(
                        entry.kind.span(),
                        "`softmax` can only be the last layer (an inference head: training works on the logits before it); \
                         move it to the end or remove it",
                    );
                }
            }
            self.check_name(entry, &field, &label);
            self.seen.push(Seen {
                field: field.clone(),
                named: entry.name.is_some(),
                description: String::new(),
            });
            let layer = Layer {
                label,
                named: entry.name.is_some(),
                field,
                span: entry.kind.span(),
                kind,
                input: shape.len(),
                output: output_shape.len(),
                input_shape: shape,
                output_shape,
            };
            if let Some(seen) = self.seen.last_mut() {
                seen.description = layer.describe_for_error();
            }
            layers.push(layer);
            shape = output_shape;
        }
        layers
    }

    /// Reports a field name already taken by another layer.
    fn check_name(&mut self, entry: &Entry, field: &Ident, label: &str) {
        let Some(prev) = self.seen.iter().find(|l| l.field == *field) else { return };
        self.usable = false;
        // Unnamed layers are stored in fields `layer{index}`, which a name may collide with.
        match (&entry.name, prev.named) {
            (Some(_), true) => self.cx.error(
                field.span(),
                format_args!(
                    "the name `{field}` is already used by {}; give each layer its own name",
                    prev.description
                ),
            ),
            (Some(_), false) => self.cx.error(
                field.span(),
                format_args!(
                    "the name `{field}` is reserved for {}, which has no name; choose another name",
                    prev.description
                ),
            ),
            (None, _) => self.cx.error(
                prev.field.span(),
                format_args!(
                    "the name `{field}` is reserved for the unnamed layer {label} (`{}` below); \
                     choose another name",
                    entry.kind
                ),
            ),
        }
    }

    /// Resolves one layer entry given its input; `None` if it cannot be understood.
    fn layer(
        &mut self,
        entry: &Entry,
        from: Origin,
        label: &str,
        field: &Ident,
    ) -> Option<(LayerKind, Shape)> {
        let name = entry.kind.to_string();
        if name == "residual" {
            return self.residual(entry, from, label, field);
        }
        let cx = &mut self.cx;
        if let Some(body) = &entry.body {
            cx.error(body.brace.span.join(), format_args!("`{}` takes no block", entry.kind));
        }
        let shape = from.shape;
        let act = match name.as_str() {
            "dense" => {
                let out = dense(cx, entry, &from)?;
                return Some((LayerKind::Dense, Shape::Flat(out)));
            }
            "conv2d" => return conv2d(cx, entry, &from),
            "maxpool" => return pool(cx, entry, &from).map(|(p, s)| (LayerKind::MaxPool(p), s)),
            "avgpool" => return pool(cx, entry, &from).map(|(p, s)| (LayerKind::AvgPool(p), s)),
            "global_avgpool" => {
                no_arguments(cx, entry);
                let Shape::Image { c, .. } = expect_image(cx, entry, &from)? else { return None };
                return Some((LayerKind::GlobalAvgPool, Shape::Flat(c)));
            }
            "flatten" => {
                no_arguments(cx, entry);
                let image = expect_image(cx, entry, &from)?;
                return Some((LayerKind::Flatten, Shape::Flat(image.len())));
            }
            "input" => {
                cx.error(entry.kind.span(), "`input` may only appear once, as the first entry");
                return None;
            }
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            "identity" => Activation::Identity,
            "leaky_relu" => Activation::LeakyRelu(leaky_slope(cx, entry)?),
            _ => {
                let message = match suggest::closest(&name, KNOWN_LAYERS) {
                    Some(close) => format!("unknown layer `{name}`; did you mean `{close}`?"),
                    None => {
                        format!("unknown layer `{name}`; expected one of: {}", KNOWN_LAYERS[1..].join(", "))
                    }
                };
                cx.error(entry.kind.span(), message);
                return None;
            }
        };
        if !matches!(act, Activation::LeakyRelu(_)) {
            no_arguments(cx, entry);
        }
        if matches!(act, Activation::Softmax)
            && let Shape::Image { .. } = shape
        {
            cx.error(
                entry.kind.span(),
                format_args!(
                    "`softmax` needs a flat input, but {}; insert `flatten` before it",
                    from.describe()
                ),
            );
        }
        Some((LayerKind::Activation(act), shape))
    }

    /// `residual { … }`: checks the block's layers and that they keep the input's shape.
    fn residual(
        &mut self,
        entry: &Entry,
        from: Origin,
        label: &str,
        field: &Ident,
    ) -> Option<(LayerKind, Shape)> {
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
        let parent = Layer {
            label: label.to_string(),
            named: entry.name.is_some(),
            field: field.clone(),
            span: entry.kind.span(),
            kind: LayerKind::Residual(Vec::new()),
            input: shape.len(),
            output: shape.len(),
            input_shape: shape,
            output_shape: shape,
        };
        let inner = self.sequence(&body.entries, shape, Some(&parent));
        let produced = inner.last().map_or(shape, |l| l.output_shape);
        if inner.len() != body.entries.len() {
            // A layer inside was rejected (and reported): its shape is unknown.
            return None;
        }
        if produced != shape && shape.is_known() {
            let culprit = inner.last().map(Layer::describe_for_error).unwrap_or_default();
            self.cx.error(
                entry.kind.span(),
                format_args!(
                    "a `residual` block must keep its input's shape, {shape}, but its layers turn it into \
                     {produced} (the last is {culprit}); its output is added to its input, so the shapes must match"
                ),
            );
            return None;
        }
        if inner.iter().all(|l| matches!(l.kind, LayerKind::Flatten)) {
            return None;
        }
        Some((LayerKind::Residual(inner), shape))
    }
}

/// What a layer's input comes from, for checks and messages.
struct Origin<'a> {
    /// The previous layer in the same list.
    prev: Option<&'a Layer>,
    /// The `residual` block the list belongs to.
    parent: Parent<'a>,
    /// The input's shape.
    shape: Shape,
}

impl Origin<'_> {
    /// `layer 4 (maxpool …) produces 32×7×7`, `the model's input is 1×28×28`, …
    fn describe(&self) -> String {
        let shape = self.shape;
        let what = match shape {
            Shape::Flat(_) => "",
            Shape::Image { .. } => "an image of ",
        };
        match (self.prev, self.parent) {
            (Some(p), _) => format!("{} produces {what}{shape}", p.describe_for_error()),
            (None, Some(block)) => {
                let name = if block.named { format!("`{}`", block.label) } else { block.label.clone() };
                format!("the input of the `residual` block {name} is {what}{shape}")
            }
            (None, None) => format!("the model's input is {what}{shape}"),
        }
    }
}

/// Splits `#[model(…)]` options from the attributes that pass through to the struct.
fn model_options<'a>(
    cx: &mut Ctxt,
    attrs: &'a [Attribute],
) -> (Vec<&'a Attribute>, TokenStream, TokenStream, Option<LitStr>) {
    let mut scalar = quote!(f32);
    let mut krate = quote!(::staticnn);
    let mut weights = None;
    let mut rest = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("model") {
            rest.push(attr);
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("scalar") {
                let ty: Ident = meta.value()?.parse().map_err(|e| {
                    syn::Error::new(e.span(), "expected `f32` or `f64`, written as a type (without quotes)")
                })?;
                if ty == "f32" || ty == "f64" {
                    scalar = ty.into_token_stream();
                } else {
                    cx.error(
                        ty.span(),
                        format_args!("unsupported scalar type `{ty}`; expected `f32` or `f64`"),
                    );
                }
                Ok(())
            } else if meta.path.is_ident("crate") {
                let path: LitStr = meta.value()?.parse()?;
                krate = path
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
                weights = Some(meta.value()?.parse::<LitStr>().map_err(|e| {
                    syn::Error::new(e.span(), "expected the weight file's path as a string, e.g. `weights = \"mnist.safetensors\"`")
                })?);
                Ok(())
            } else {
                let option = meta.path.to_token_stream().to_string().replace(' ', "");
                Err(meta.error(format_args!(
                    "unknown model option `{option}`; the options are `scalar = f32` (or `f64`), `crate = \"path\"` and `weights = \"file.safetensors\"`"
                )))
            }
        });
        if let Err(e) = parsed {
            cx.push(e);
        }
    }
    (rest, scalar, krate, weights)
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
    match list.as_slice() {
        [arg] => parse_width(cx, &arg.value).map(Shape::Flat),
        [c, h, w] => {
            let (c, h, w) = (parse_width(cx, &c.value), parse_width(cx, &h.value), parse_width(cx, &w.value));
            let (c, h, w) = (c?, h?, w?);
            if c.checked_mul(h).and_then(|n| n.checked_mul(w)).is_none_or(|n| n > MAX_VALUES) {
                cx.error(args.paren.span.join(), format_args!("an input image of {c}×{h}×{w} is too large"));
                return None;
            }
            Some(Shape::Image { c, h, w })
        }
        _ => {
            cx.error(args.paren.span.join(), USAGE);
            None
        }
    }
}

/// The most values one column (or weight matrix) may hold, so every size and byte count
/// the generated code computes fits in a `usize`.
const MAX_VALUES: usize = isize::MAX as usize / 8;

/// Reports arguments on a layer that takes none.
fn no_arguments(cx: &mut Ctxt, entry: &Entry) {
    if let Some(args) = &entry.args {
        let name = &entry.kind;
        cx.error(args.paren.span.join(), format_args!("`{name}` takes no arguments; write `{name}` alone"));
    }
}

/// The input shape of a layer that needs an image, reporting a flat one.
fn expect_image(cx: &mut Ctxt, entry: &Entry, from: &Origin) -> Option<Shape> {
    match from.shape {
        image @ Shape::Image { .. } => Some(image),
        Shape::Flat(0) => None,
        Shape::Flat(_) => {
            let name = &entry.kind;
            let fix = if from.prev.is_none() && from.parent.is_none() {
                "declare the input as an image, `input(channels, height, width)`"
            } else {
                "image layers must come before `flatten` and `dense`"
            };
            cx.error(
                entry.kind.span(),
                format_args!("`{name}` needs an image input, but {} (flat); {fix}", from.describe()),
            );
            None
        }
    }
}

/// `dense(M)` or `dense(N -> M)`: the output width, after checking a stated input width
/// and that the input is flat.
fn dense(cx: &mut Ctxt, entry: &Entry, from: &Origin) -> Option<usize> {
    const USAGE: &str = "`dense` takes its output width, `dense(128)`, or both widths, `dense(784 -> 128)`";
    let Some(args) = &entry.args else {
        cx.error(entry.kind.span(), USAGE);
        return None;
    };
    let list: Vec<&Arg> = args.list.iter().collect();
    let arg = match list.as_slice() {
        [arg] if arg.key.is_none() => arg,
        [arg] => {
            cx.error(arg.span(), USAGE);
            return None;
        }
        _ => {
            cx.error(args.paren.span.join(), USAGE);
            return None;
        }
    };
    let width = from.shape.len();
    let out = match &arg.arrow {
        None => parse_width(cx, &arg.value),
        Some((_, out_value)) => {
            let stated = parse_width(cx, &arg.value);
            let out = parse_width(cx, out_value);
            check_stated_width(cx, arg, stated, out, from);
            out
        }
    };
    if let Shape::Image { .. } = from.shape {
        cx.error(
            entry.kind.span(),
            format_args!(
                "`dense` needs a flat input, but {}; insert `flatten` before it (the `dense` then takes {width} inputs)",
                from.describe()
            ),
        );
    }
    if let Some(out) = out
        && width != 0
        && out.checked_mul(width).and_then(|n| n.checked_add(out)).is_none_or(|n| n > MAX_VALUES)
    {
        cx.error(entry.kind.span(), format_args!("a dense layer of {width} → {out} is too large to store"));
        return None;
    }
    out
}

/// Reports a `dense(N -> M)` whose stated `N` disagrees with the running width.
fn check_stated_width(cx: &mut Ctxt, arg: &Arg, stated: Option<usize>, out: Option<usize>, from: &Origin) {
    let width = from.shape.len();
    if let Some(stated) = stated
        && width != 0
        && stated != width
    {
        let from = match (from.prev, from.parent) {
            (Some(p), _) => format!("{} produces {width}", p.describe_for_error()),
            (None, None) => format!("the model's input is {width} wide"),
            (None, Some(_)) => format!("{} wide", from.describe()),
        };
        let out = out.map_or_else(|| "M".to_string(), |o| o.to_string());
        cx.error(
            arg.value.span(),
            format_args!(
                "`dense` is declared with {stated} inputs, but {from}; \
                 write `dense({width} -> {out})`, or `dense({out})` to infer the input width"
            ),
        );
    }
}

/// A layer's arguments sorted into named slots: the first `positional` slots may be given
/// by position, every slot by `key = value`.
fn layer_args<'e, const N: usize>(
    cx: &mut Ctxt,
    entry: &'e Entry,
    slots: [&str; N],
    positional: usize,
    usage: &str,
) -> Option<[Option<&'e Value>; N]> {
    let mut values: [Option<&Value>; N] = [None; N];
    let Some(args) = &entry.args else { return Some(values) };
    let mut ok = true;
    let mut position = 0;
    for arg in &args.list {
        if let Some((arrow, _)) = &arg.arrow {
            cx.error(arrow.spans[0], usage);
            ok = false;
            continue;
        }
        let slot = match &arg.key {
            None if position < positional => {
                position += 1;
                position - 1
            }
            None => {
                cx.error(arg.value.span(), format_args!("too many arguments; {usage}"));
                ok = false;
                continue;
            }
            Some(key) => {
                let name = key.to_string();
                match slots.iter().position(|s| *s == name) {
                    Some(slot) => slot,
                    None => {
                        let known = slots.map(|s| format!("`{s}`")).join(", ");
                        let hint = match suggest::closest(&name, &slots) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => format!("its arguments are {known}"),
                        };
                        cx.error(
                            key.span(),
                            format_args!("`{}` has no argument `{name}`; {hint}", entry.kind),
                        );
                        ok = false;
                        continue;
                    }
                }
            }
        };
        if values[slot].is_some() {
            cx.error(arg.span(), format_args!("`{}` is given twice", slots[slot]));
            ok = false;
            continue;
        }
        values[slot] = Some(&arg.value);
    }
    ok.then_some(values)
}

/// A non-negative integer literal, at least `min`, described as `what` in errors.
fn parse_int(cx: &mut Ctxt, value: &Value, what: &str, min: usize) -> Option<usize> {
    // Kernels, strides and paddings beyond this are mistakes; the cap also keeps every
    // later shape computation far from overflow.
    const MAX: usize = 1 << 24;
    match value {
        Value::Number { neg: None, lit: Lit::Int(lit) } => match lit.base10_parse::<usize>() {
            Ok(n) if n > MAX => {
                cx.error(lit.span(), format_args!("{what} is too large (at most {MAX})"));
                None
            }
            Ok(n) if n >= min => Some(n),
            Ok(_) => {
                cx.error(lit.span(), format_args!("{what} must be at least {min}"));
                None
            }
            Err(_) => {
                cx.error(lit.span(), format_args!("{what} is too large"));
                None
            }
        },
        _ => {
            cx.error(value.span(), format_args!("expected {what}: an integer such as `{}`", min.max(2)));
            None
        }
    }
}

/// A kernel size: `3` or `(3, 5)` (rows, columns).
fn parse_kernel(cx: &mut Ctxt, value: &Value, square_only: bool) -> Option<(usize, usize)> {
    match value {
        Value::Tuple { items, paren } if !square_only => {
            let items: Vec<&Value> = items.iter().collect();
            match items.as_slice() {
                [h, w] => {
                    let (h, w) = (parse_int(cx, h, "a kernel size", 1), parse_int(cx, w, "a kernel size", 1));
                    Some((h?, w?))
                }
                _ => {
                    cx.error(paren.span.join(), "expected a kernel size `K` or `(KH, KW)`, e.g. `(3, 5)`");
                    None
                }
            }
        }
        Value::Tuple { paren, .. } => {
            cx.error(paren.span.join(), "pooling windows are square: give one size, e.g. `2`");
            None
        }
        other => parse_int(cx, other, "the kernel size", 1).map(|k| (k, k)),
    }
}

/// `exact = true|false`.
fn parse_bool(cx: &mut Ctxt, value: &Value, what: &str) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b.value),
        other => {
            cx.error(other.span(), format_args!("expected `{what} = true` or `{what} = false`"));
            None
        }
    }
}

/// The output size along one axis of `n` inputs (padded by `pad` on both sides) for a
/// window of `k` moved by `stride`: `(n + 2·pad − k) / stride + 1`, or `None` if the
/// window is larger than the padded input.
fn window_output(n: usize, pad: usize, k: usize, stride: usize) -> Option<usize> {
    let padded = n + 2 * pad;
    (k <= padded).then(|| (padded - k) / stride + 1)
}

/// `conv2d(OC, kernel = K, stride = S, padding = P, exact = true)`, the kernel also by
/// position: `conv2d(16, 3, padding = 1)`.
fn conv2d(cx: &mut Ctxt, entry: &Entry, from: &Origin) -> Option<(LayerKind, Shape)> {
    const USAGE: &str = "write `conv2d(out_channels, kernel = K, stride = S, padding = P)`, \
                         e.g. `conv2d(16, 3, padding = 1)`";
    let Some(args) = &entry.args else {
        cx.error(
            entry.kind.span(),
            format_args!("`conv2d` needs its output channels and kernel size; {USAGE}"),
        );
        return None;
    };
    let [oc, kernel, stride, padding, exact] =
        layer_args(cx, entry, ["out_channels", "kernel", "stride", "padding", "exact"], 2, USAGE)?;
    let Some(oc) = oc else {
        cx.error(
            args.paren.span.join(),
            format_args!("`conv2d` needs its number of output channels; {USAGE}"),
        );
        return None;
    };
    let Some(kernel) = kernel else {
        cx.error(args.paren.span.join(), format_args!("`conv2d` needs its kernel size; {USAGE}"));
        return None;
    };
    let oc = parse_int(cx, oc, "the number of output channels", 1);
    let kernel = parse_kernel(cx, kernel, false);
    let stride = stride.map_or(Some(1), |s| parse_int(cx, s, "the stride", 1));
    let padding = padding.map_or(Some(0), |p| parse_int(cx, p, "the padding", 0));
    let exact = exact.map_or(Some(false), |e| parse_bool(cx, e, "exact"));
    let image = expect_image(cx, entry, from);
    let (oc, (kh, kw), stride, padding, exact) = (oc?, kernel?, stride?, padding?, exact?);
    let Shape::Image { c, h, w } = image? else { return None };
    let geometry = Window { name: "conv2d", what: "kernel", kh, kw, stride, padding, exact };
    let (oh, ow) = geometry.output(cx, entry, from, h, w)?;
    let weights = c.checked_mul(kh).and_then(|n| n.checked_mul(kw)).and_then(|n| n.checked_mul(oc));
    let outputs = oc.checked_mul(oh).and_then(|n| n.checked_mul(ow));
    let patches = c.checked_mul(kh).and_then(|n| n.checked_mul(kw)).and_then(|n| n.checked_mul(oh * ow));
    if [weights, outputs, patches].iter().any(|n| n.is_none_or(|n| n > MAX_VALUES)) {
        cx.error(
            entry.kind.span(),
            format_args!("a conv2d layer from {c}×{h}×{w} to {oc} channels is too large"),
        );
        return None;
    }
    Some((LayerKind::Conv2d(Conv { kh, kw, stride, padding }), Shape::Image { c: oc, h: oh, w: ow }))
}

/// `maxpool(K)` / `avgpool(K)`, with `stride = S` (`K` by default) and `exact = true`.
fn pool(cx: &mut Ctxt, entry: &Entry, from: &Origin) -> Option<(Pool, Shape)> {
    let name = entry.kind.to_string();
    let usage = format!("write `{name}(K)` or `{name}(K, stride = S)`, e.g. `{name}(2)`");
    let Some(args) = &entry.args else {
        cx.error(entry.kind.span(), format_args!("`{name}` needs its window size; {usage}"));
        return None;
    };
    let [kernel, stride, exact] = layer_args(cx, entry, ["kernel", "stride", "exact"], 1, &usage)?;
    let Some(kernel) = kernel else {
        cx.error(args.paren.span.join(), format_args!("`{name}` needs its window size; {usage}"));
        return None;
    };
    let kernel = parse_kernel(cx, kernel, true);
    let stride = stride.map(|s| parse_int(cx, s, "the stride", 1));
    let exact = exact.map_or(Some(false), |e| parse_bool(cx, e, "exact"));
    let image = expect_image(cx, entry, from);
    let ((k, _), exact) = (kernel?, exact?);
    let stride = stride.unwrap_or(Some(k))?;
    let Shape::Image { c, h, w } = image? else { return None };
    let geometry = Window { name: &name, what: "window", kh: k, kw: k, stride, padding: 0, exact };
    let (oh, ow) = geometry.output(cx, entry, from, h, w)?;
    Some((Pool { k, stride }, Shape::Image { c, h: oh, w: ow }))
}

/// A window slid over an image: a convolution's kernel or a pool's window.
struct Window<'a> {
    name: &'a str,
    what: &'a str,
    kh: usize,
    kw: usize,
    stride: usize,
    padding: usize,
    exact: bool,
}

impl Window<'_> {
    /// The output rows and columns on an `h × w` input, reporting a window that does not
    /// fit the padded input, or (with `exact`) a stride that leaves inputs unused.
    fn output(
        &self,
        cx: &mut Ctxt,
        entry: &Entry,
        from: &Origin,
        h: usize,
        w: usize,
    ) -> Option<(usize, usize)> {
        let Window { name, what, kh, kw, stride, padding, exact } = *self;
        let (ph, pw) = (h + 2 * padding, w + 2 * padding);
        let (Some(oh), Some(ow)) =
            (window_output(h, padding, kh, stride), window_output(w, padding, kw, stride))
        else {
            let padded = if padding == 0 {
                String::new()
            } else {
                format!(", which is {ph}×{pw} with padding {padding}")
            };
            cx.error(
                entry.kind.span(),
                format_args!(
                    "the {kh}×{kw} {what} of `{name}` does not fit its input: {}{padded}; \
                     use a smaller {what}{}",
                    from.describe(),
                    if name == "conv2d" { " or more padding" } else { "" }
                ),
            );
            return None;
        };
        let (left_h, left_w) = ((ph - kh) % stride, (pw - kw) % stride);
        if exact && (left_h != 0 || left_w != 0) {
            let unused = match (left_h, left_w) {
                (0, n) => format!("{} {}", last(n, "column"), if n == 1 { "is" } else { "are" }),
                (n, 0) => format!("{} {}", last(n, "row"), if n == 1 { "is" } else { "are" }),
                (r, c) => format!("{} and {} are", last(r, "row"), last(c, "column")),
            };
            let padded = if padding == 0 { String::new() } else { format!(" padded to {ph}×{pw}") };
            cx.error(
                entry.kind.span(),
                format_args!(
                    "`{name}` asks for an exact fit, but its {kh}×{kw} {what} with stride {stride} does not tile \
                     its input exactly: {}{padded}, so {unused} never read; change the stride, {what} or \
                     padding, or remove `exact = true`",
                    from.describe()
                ),
            );
        }
        Some((oh, ow))
    }
}

/// `the last row`, `the last 2 columns`.
fn last(n: usize, noun: &str) -> String {
    if n == 1 { format!("the last {noun}") } else { format!("the last {n} {noun}s") }
}

/// A layer width: a positive integer literal.
fn parse_width(cx: &mut Ctxt, value: &Value) -> Option<usize> {
    match value {
        Value::Number { neg: None, lit: Lit::Int(lit) } => match lit.base10_parse::<usize>() {
            Ok(0) => {
                cx.error(lit.span(), "a layer width must be at least 1");
                None
            }
            Ok(n) => Some(n),
            Err(_) => {
                cx.error(lit.span(), "this width is too large to fit in a `usize`");
                None
            }
        },
        // Blame `-3` as a whole, not just its sign (a joined span is not available on stable).
        Value::Number { neg: Some(neg), lit } => {
            cx.push(syn::Error::new_spanned(
                quote!(#neg #lit),
                "a layer width cannot be negative; write a positive integer such as `128`",
            ));
            None
        }
        Value::Number { lit: Lit::Float(_), .. } => {
            cx.error(value.span(), "a layer width must be a whole number, such as `128`");
            None
        }
        Value::Ident(ident) => {
            cx.error(
                ident.span(),
                format_args!(
                    "expected a width, found `{ident}`: widths must be integer literals such as `128` \
                     (the macro cannot read the value of a constant)"
                ),
            );
            None
        }
        other => {
            cx.error(other.span(), "expected a width: a positive integer such as `128`");
            None
        }
    }
}

/// The negative slope of `leaky_relu(α)` (PyTorch's default 0.01 when omitted).
fn leaky_slope(cx: &mut Ctxt, entry: &Entry) -> Option<f64> {
    const USAGE: &str = "`leaky_relu` takes one argument, its negative slope, e.g. `leaky_relu(0.01)`";
    let Some(args) = &entry.args else { return Some(0.01) };
    let list: Vec<&Arg> = args.list.iter().collect();
    let value = match list.as_slice() {
        [arg] if arg.key.is_none() && arg.arrow.is_none() => &arg.value,
        _ => {
            cx.error(args.paren.span.join(), USAGE);
            return None;
        }
    };
    let (neg, parsed) = match value {
        Value::Number { neg, lit: Lit::Float(f) } => (neg.is_some(), f.base10_parse::<f64>()),
        Value::Number { neg, lit: Lit::Int(i) } => (neg.is_some(), i.base10_parse::<f64>()),
        other => {
            cx.error(other.span(), USAGE);
            return None;
        }
    };
    match parsed {
        Ok(v) if v.is_finite() => Some(if neg { -v } else { v }),
        Ok(_) => {
            cx.error(value.span(), "the slope of `leaky_relu` must be finite");
            None
        }
        Err(e) => {
            cx.push(e);
            None
        }
    }
}

impl ToTokens for Activation {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(match self {
            Activation::Relu => quote!(Relu),
            Activation::LeakyRelu(alpha) => quote!(LeakyRelu(#alpha)),
            Activation::Sigmoid => quote!(Sigmoid),
            Activation::Tanh => quote!(Tanh),
            Activation::Softmax => quote!(Softmax),
            Activation::Identity => quote!(Identity),
        });
    }
}
