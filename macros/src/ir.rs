//! The checked model: the small IR that [`infer`](crate::infer) builds from the syntax and
//! that [`expand`](crate::expand) and [`weights`](crate::weights) read. Every shape in it
//! is resolved; what each layer computes is a [`Kind`] from [`layers`](crate::layers).

use std::fmt;

use proc_macro2::{Span, TokenStream};
use syn::{Attribute, Ident, LitStr};

use crate::budget::Budget;
use crate::layers::{Kind, TensorSpec};

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
    /// `#[model(int8 = "file.safetensors")]`: the quantized weights to bake an int8 forward
    /// pass from (see [`int8`](crate::int8)).
    pub int8: Option<LitStr>,
    /// `#[model(allow_non_finite)]`: bake NaN and infinite weights instead of refusing them.
    pub allow_non_finite: bool,
    /// `#[model(budget(flash = "…", ram = "…"))]`: the limits checked by [`budget`](crate::budget).
    pub budget: Budget,
    /// The shape of one input sample.
    pub input: Shape,
    /// The layers in order; a `residual` block holds its own layers.
    pub layers: Vec<Layer>,
}

impl Model<'_> {
    /// The width of one input sample (`C·H·W` for an image).
    pub fn input_width(&self) -> usize {
        self.input.len()
    }

    /// The bytes of one scalar: 8 for `f64`, 4 for `f32`.
    pub fn scalar_bytes(&self) -> usize {
        if self.scalar.to_string() == "f64" { 8 } else { 4 }
    }

    /// The width of the final layer's output.
    pub fn output_width(&self) -> usize {
        self.layers.last().map_or(self.input.len(), |l| l.output.len())
    }

    /// The `softmax` inference head, if the model ends in one.
    pub fn head(&self) -> Option<&Layer> {
        self.layers.last().filter(|l| l.is_head())
    }

    /// The layers the training pass runs (all but a `softmax` head).
    pub fn trained_layers(&self) -> &[Layer] {
        let n = self.layers.len() - usize::from(self.head().is_some());
        &self.layers[..n]
    }

    /// Every layer holding parameters, including those inside `residual` blocks, in
    /// declaration order (the order of the model struct's fields and of its tensors).
    pub fn param_layers(&self) -> Vec<&Layer> {
        self.layers_where(Layer::has_params)
    }

    /// Every layer outside `residual` blocks and inside them (but not the blocks) that
    /// satisfies `test`, in declaration order.
    pub fn layers_where(&self, test: impl Fn(&Layer) -> bool) -> Vec<&Layer> {
        fn walk<'l>(layers: &'l [Layer], test: &dyn Fn(&Layer) -> bool, out: &mut Vec<&'l Layer>) {
            for l in layers {
                match &l.op {
                    Op::Residual(block) => {
                        walk(&block.main, test, out);
                        walk(&block.shortcut, test, out);
                    }
                    _ if test(l) => out.push(l),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.layers, &test, &mut out);
        out
    }

    /// The number of parameters of the whole model (at most
    /// [`MAX_PARAMS`](crate::limits::MAX_PARAMS) in a checked model).
    pub fn param_count(&self) -> usize {
        self.param_layers().iter().flat_map(|l| l.tensors()).fold(0, |n, t| n.saturating_add(t.len()))
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
    /// The number of values (the height of a sample's column). Saturating: the checker
    /// rejects a shape beyond [`MAX_TENSOR`](crate::limits::MAX_TENSOR) before anything
    /// else asks, and until then (in messages) a saturated length is only ever compared.
    pub fn len(self) -> usize {
        match self {
            Shape::Flat(n) => n,
            Shape::Image { c, h, w } => c.saturating_mul(h).saturating_mul(w),
        }
    }

    /// Its dimensions: `[n]`, or `[c, h, w]`.
    pub fn dims(self) -> Vec<usize> {
        match self {
            Shape::Flat(n) => vec![n],
            Shape::Image { c, h, w } => vec![c, h, w],
        }
    }

    /// Channels, rows and columns (a flat shape of `n` is `n × 1 × 1`).
    pub fn chw(self) -> (usize, usize, usize) {
        match self {
            Shape::Image { c, h, w } => (c, h, w),
            Shape::Flat(n) => (n, 1, 1),
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

/// A layer's input and output shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Io {
    pub input: Shape,
    pub output: Shape,
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
    pub op: Op,
    pub input: Shape,
    pub output: Shape,
    /// The batch norm folded into this layer's weights when they are baked
    /// (`#[model(fold_batchnorm)]`; see [`fold`](crate::fold)).
    pub folded: Option<Folded>,
}

/// A batch norm removed from the model and folded into the layer before it.
pub struct Folded {
    /// Its label: its tensors are `label.weight`, `label.bias`, `label.running_mean` and
    /// `label.running_var` in the weight file.
    pub label: String,
    /// Its ε.
    pub eps: f64,
    /// Its channel count.
    pub channels: usize,
    /// The tensors weight files may hold for it that it does not use (`num_batches_tracked`).
    pub ignored: &'static [&'static str],
}

/// What a layer does.
pub enum Op {
    /// A layer of the runtime, described by its kind.
    Layer(Box<dyn Kind>),
    /// An image seen as a flat vector: a change of shape only, no data moves.
    Flatten,
    /// `y = s(x) + f(x)`: a `residual` block.
    Residual(Residual),
}

/// A `residual` block: `y = s(x) + f(x)`, `f` being its layers and `s` its shortcut's
/// (the identity without one).
pub struct Residual {
    /// The block's layers, `f`.
    pub main: Vec<Layer>,
    /// The shortcut's layers, `s`: empty for the identity.
    pub shortcut: Vec<Layer>,
}

impl Residual {
    /// The block's layers, then its shortcut's.
    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.main.iter().chain(&self.shortcut)
    }
}

impl Layer {
    /// Its input and output shapes.
    pub fn io(&self) -> Io {
        Io { input: self.input, output: self.output }
    }

    /// The runtime layer, for layers that are one.
    pub fn kind(&self) -> Option<&dyn Kind> {
        match &self.op {
            Op::Layer(kind) => Some(kind.as_ref()),
            _ => None,
        }
    }

    /// The tensors the layer holds (none for most).
    pub fn tensors(&self) -> Vec<TensorSpec> {
        self.kind().map(|k| k.tensors(self.io())).unwrap_or_default()
    }

    /// Whether the layer holds parameters (and so a field of the model struct).
    pub fn has_params(&self) -> bool {
        !self.tensors().is_empty()
    }

    /// Whether the layer or any layer inside it holds parameters.
    pub fn contains_params(&self) -> bool {
        match &self.op {
            Op::Residual(block) => block.layers().any(Layer::contains_params),
            _ => self.has_params(),
        }
    }

    /// Whether the layer is a `softmax` inference head.
    pub fn is_head(&self) -> bool {
        self.kind().is_some_and(|k| k.is_head())
    }

    /// How error messages refer to the layer: ``layer `hidden` (dense 784 → 128)``,
    /// `layer 1 (relu)`, `layer 3.0 (conv2d …)`.
    pub fn describe_for_error(&self) -> String {
        if self.named {
            format!("layer `{}` ({})", self.label, self.describe())
        } else {
            format!("layer {} ({})", self.label, self.describe())
        }
    }

    /// A short description for generated docs: `dense 784 → 128`, `relu`,
    /// `conv2d 1×28×28 → 16×28×28 (3×3, stride 1, padding 1)`.
    pub fn describe(&self) -> String {
        let (i, o) = (self.input, self.output);
        match &self.op {
            Op::Layer(kind) => match &self.folded {
                Some(norm) => {
                    format!("{} with batchnorm `{}` folded in", kind.describe(self.io()), norm.label)
                }
                None => kind.describe(self.io()),
            },
            Op::Flatten => format!("flatten {i} → {o}"),
            Op::Residual(block) => {
                let layers = |n: usize| format!("{n} layer{}", if n == 1 { "" } else { "s" });
                match block.shortcut.len() {
                    0 => format!("residual {i}, {}", layers(block.main.len())),
                    n => {
                        format!("residual {i} → {o}, {}, shortcut of {}", layers(block.main.len()), layers(n))
                    }
                }
            }
        }
    }
}

/// One step of the single-sample `forward`: a layer (or `residual` block) that writes a new
/// output, and the element-wise activations then applied to that output in place.
pub struct OutputStep<'l> {
    pub layer: &'l Layer,
    pub activations: Vec<&'l Layer>,
}

/// How the single-sample `forward` runs a list of layers, one output at a time: `flatten`
/// writes nothing (its output is its input's), nor does a layer that is the identity in
/// inference (`dropout`), and an element-wise activation after a step
/// joins it. The expansion generates this and [`cost`](crate::cost) counts it.
pub fn output_steps(layers: &[Layer]) -> Vec<OutputStep<'_>> {
    let mut steps: Vec<OutputStep> = Vec::new();
    for layer in layers {
        match (&layer.op, steps.last_mut()) {
            (Op::Flatten, _) => {}
            (Op::Layer(kind), _) if kind.inference_identity() => {}
            (Op::Layer(kind), Some(last)) if kind.elementwise() => last.activations.push(layer),
            _ => steps.push(OutputStep { layer, activations: Vec::new() }),
        }
    }
    steps
}
