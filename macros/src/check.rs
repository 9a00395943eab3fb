//! Meaning and shapes: turns the parsed declaration into the IR that [`expand`](crate::expand)
//! emits, computing every layer's input and output width and rejecting inconsistent specs.
//!
//! Checking never stops at the first problem: each error is recorded in a [`Ctxt`] and
//! checking carries on with a best guess (an unknown layer keeps the running width), so a
//! spec with several mistakes reports all of them.

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
    pub input: usize,
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
}

/// One layer with its resolved shape.
pub struct Layer {
    /// Its position in the spec (PyTorch `nn.Sequential` numbering).
    pub index: usize,
    /// The prefix of its tensors' names: its given name, or its index.
    pub label: String,
    /// The struct field holding its parameters (or naming its cache buffers).
    pub field: Ident,
    /// Where the user wrote it: errors in generated code land here.
    pub span: Span,
    pub kind: LayerKind,
    pub input: usize,
    pub output: usize,
}

/// What a layer computes.
pub enum LayerKind {
    Dense,
    Activation(Activation),
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
        matches!(self.kind, LayerKind::Dense)
    }

    /// Whether the user named the layer (rather than it being numbered).
    pub fn is_named(&self) -> bool {
        self.label != self.index.to_string()
    }

    /// How error messages refer to the layer: ``layer `hidden` (dense 784 → 128)``,
    /// `layer 1 (relu)`.
    pub fn describe_for_error(&self) -> String {
        if self.is_named() {
            format!("layer `{}` ({})", self.label, self.describe())
        } else {
            format!("layer {} ({})", self.index, self.describe())
        }
    }

    /// A short description for generated docs: `dense 784 → 128`, `relu`.
    pub fn describe(&self) -> String {
        match &self.kind {
            LayerKind::Dense => format!("dense {} → {}", self.input, self.output),
            LayerKind::Activation(a) => a.name().to_string(),
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
const KNOWN_LAYERS: &[&str] =
    &["input", "dense", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "identity"];

/// Checks a declaration and infers its shapes, reporting every error found.
pub fn check(decl: &ModelDecl) -> Checked<'_> {
    let mut cx = Ctxt::default();
    // Whether the IR is still a consistent model despite any errors (so the full
    // expansion can be emitted beside them and uses of the model raise no further errors).
    let mut usable = true;
    let (attrs, scalar, krate) = model_options(&mut cx, &decl.attrs);

    let mut entries = decl.entries.iter();
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
            entries.next();
            let width = input_width(&mut cx, first);
            if decl.entries.len() == 1 {
                cx.error(
                    first.kind.span(),
                    format_args!(
                        "model `{}` has no layers after its input; add at least one, e.g. `dense(10)`",
                        decl.ident
                    ),
                );
            }
            width
        }
        Some(first) => {
            cx.error(first.kind.span(), "a model must start with `input(N)`, naming the width of its input");
            None
        }
    };

    let mut width = input.unwrap_or(0);
    let mut layers: Vec<Layer> = Vec::new();
    let count = entries.len();
    for (index, entry) in entries.enumerate() {
        let Some((kind, output)) = layer(&mut cx, entry, width, layers.last()) else {
            continue;
        };
        if matches!(kind, LayerKind::Activation(Activation::Softmax)) && index + 1 != count {
            cx.error(
                entry.kind.span(),
                "`softmax` can only be the last layer (an inference head: training works on the logits before it); \
                 move it to the end or remove it",
            );
        }
        let label = entry.name.as_ref().map_or_else(|| index.to_string(), |n| n.to_string());
        let field = match &entry.name {
            Some(name) => name.clone(),
            None => Ident::new(&format!("layer{index}"), entry.kind.span()),
        };
        if let Some(prev) = layers.iter().find(|l| l.field == field) {
            usable = false;
            // Unnamed layers are stored in fields `layer{index}`, which a name may collide with.
            match (&entry.name, prev.is_named()) {
                (Some(_), true) => cx.error(
                    field.span(),
                    format_args!(
                        "the name `{field}` is already used by {}; give each layer its own name",
                        prev.describe_for_error()
                    ),
                ),
                (Some(_), false) => cx.error(
                    field.span(),
                    format_args!(
                        "the name `{field}` is reserved for {}, which has no name; choose another name",
                        prev.describe_for_error()
                    ),
                ),
                (None, _) => cx.error(
                    prev.field.span(),
                    format_args!(
                        "the name `{field}` is reserved for the unnamed layer {index} (`{}` below); \
                         choose another name",
                        entry.kind
                    ),
                ),
            }
        }
        layers.push(Layer { index, label, field, span: entry.kind.span(), kind, input: width, output });
        width = output;
    }

    if let [Layer { kind: LayerKind::Activation(Activation::Softmax), span, .. }] = layers.as_slice() {
        usable = false;
        cx.error(
            *span,
            "a model needs at least one layer before its `softmax` head, e.g. `dense(10), softmax`",
        );
    }

    let usable = usable && input.is_some() && !layers.is_empty();
    let model = usable.then(|| Model {
        attrs,
        vis: &decl.vis,
        ident: &decl.ident,
        scalar,
        krate,
        input: input.unwrap_or(0),
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

/// Splits `#[model(…)]` options from the attributes that pass through to the struct.
fn model_options<'a>(
    cx: &mut Ctxt,
    attrs: &'a [Attribute],
) -> (Vec<&'a Attribute>, TokenStream, TokenStream) {
    let mut scalar = quote!(f32);
    let mut krate = quote!(::staticnn);
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
            } else {
                let option = meta.path.to_token_stream().to_string().replace(' ', "");
                Err(meta.error(format_args!(
                    "unknown model option `{option}`; the options are `scalar = f32` (or `f64`) and `crate = \"path\"`"
                )))
            }
        });
        if let Err(e) = parsed {
            cx.push(e);
        }
    }
    (rest, scalar, krate)
}

/// The width declared by `input(N)`.
fn input_width(cx: &mut Ctxt, entry: &Entry) -> Option<usize> {
    if let Some(body) = &entry.body {
        cx.error(body.brace.span.join(), "`input` takes no block");
    }
    let Some(args) = &entry.args else {
        cx.error(entry.kind.span(), "`input` needs its width, e.g. `input(784)`");
        return None;
    };
    let list: Vec<&Arg> = args.list.iter().collect();
    match list.as_slice() {
        [arg] if arg.key.is_none() && arg.arrow.is_none() => parse_width(cx, &arg.value),
        _ => {
            cx.error(args.paren.span.join(), "`input` takes one width, e.g. `input(784)`");
            None
        }
    }
}

/// Resolves one layer entry given the running width; `None` if it cannot be understood.
fn layer(cx: &mut Ctxt, entry: &Entry, width: usize, prev: Option<&Layer>) -> Option<(LayerKind, usize)> {
    if let Some(body) = &entry.body {
        cx.error(body.brace.span.join(), format_args!("`{}` takes no block", entry.kind));
    }
    let name = entry.kind.to_string();
    let act = match name.as_str() {
        "dense" => return dense(cx, entry, width, prev).map(|out| (LayerKind::Dense, out)),
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
                None => format!("unknown layer `{name}`; expected one of: {}", KNOWN_LAYERS[1..].join(", ")),
            };
            cx.error(entry.kind.span(), message);
            return None;
        }
    };
    if !matches!(act, Activation::LeakyRelu(_))
        && let Some(args) = &entry.args
    {
        cx.error(args.paren.span.join(), format_args!("`{name}` takes no arguments; write `{name}` alone"));
    }
    Some((LayerKind::Activation(act), width))
}

/// `dense(M)` or `dense(N -> M)`: the output width, after checking a stated input width.
fn dense(cx: &mut Ctxt, entry: &Entry, width: usize, prev: Option<&Layer>) -> Option<usize> {
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
    let out = match &arg.arrow {
        None => parse_width(cx, &arg.value),
        Some((_, out_value)) => {
            let stated = parse_width(cx, &arg.value);
            let out = parse_width(cx, out_value);
            check_stated_width(cx, arg, stated, out, width, prev);
            out
        }
    };
    if let Some(out) = out
        && width != 0
        && out.checked_mul(width).and_then(|n| n.checked_add(out)).is_none_or(|n| n > isize::MAX as usize / 8)
    {
        cx.error(entry.kind.span(), format_args!("a dense layer of {width} → {out} is too large to store"));
        return None;
    }
    out
}

/// Reports a `dense(N -> M)` whose stated `N` disagrees with the running width.
fn check_stated_width(
    cx: &mut Ctxt,
    arg: &Arg,
    stated: Option<usize>,
    out: Option<usize>,
    width: usize,
    prev: Option<&Layer>,
) {
    if let Some(stated) = stated
        && width != 0
        && stated != width
    {
        let from = match prev {
            Some(p) => format!("{} produces {width}", p.describe_for_error()),
            None => format!("the model's input is {width} wide"),
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
