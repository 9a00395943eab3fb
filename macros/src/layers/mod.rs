//! The layer kinds the DSL knows, each described in one place.
//!
//! A kind is a function that reads its entry's arguments and infers its output shape
//! ([`Infer`], listed in [`KINDS`]), returning a [`Kind`]: everything the rest of the macro
//! needs to know about it — its runtime type, its parameter tensors, whether it needs scratch
//! memory. The checker, the expansion and the weight baking read only this trait, and every
//! runtime layer implements the runtime's one `Layer` protocol, so adding a layer kind is
//! one file here (plus its line in [`KINDS`]) and one runtime type; a new activation is one
//! name in [`activation::NAMES`] and one runtime type.
//!
//! `input`, `flatten` and `residual` are structure rather than layers and are handled by
//! [`infer`](crate::infer) itself.

mod activation;
mod batchnorm;
mod conv2d;
mod dense;
mod depthwise;
mod dropout;
mod pool;
pub mod window;

use proc_macro2::TokenStream;

use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::int8::Int8;
use crate::ir::{Io, Shape};

/// Reads a layer entry given what feeds it: the kind and its output shape, or `None` after
/// reporting why the entry cannot be understood.
pub type Infer = fn(&mut Ctxt, &Entry, &Upstream) -> Option<(Box<dyn Kind>, Shape)>;

/// Every layer kind: the names written in the DSL, and the function that reads them.
pub const KINDS: &[(&[&str], Infer)] = &[
    (&["dense"], dense::infer),
    (&["conv2d"], conv2d::infer),
    (&["depthwise_conv2d"], depthwise::infer),
    (&["maxpool", "avgpool"], pool::infer),
    (&["global_avgpool"], pool::infer_global),
    (batchnorm::NAMES, batchnorm::infer),
    (&["dropout"], dropout::infer),
    (activation::NAMES, activation::infer),
];

/// What the macro knows about one checked layer of a runtime kind.
pub trait Kind {
    /// How docs and messages describe it: `dense 784 → 128`, `maxpool 16×28×28 → 16×14×14 (2×2, stride 2)`.
    fn describe(&self, io: Io) -> String;

    /// The runtime type implementing `Layer<T, IN, OUT>` for this layer.
    fn runtime(&self, io: Io) -> Runtime;

    /// The parameter tensors, in the order the runtime type stores them (its
    /// `Parameters::visit` order); none for a layer without parameters.
    fn tensors(&self, io: Io) -> Vec<TensorSpec> {
        let _ = io;
        Vec::new()
    }

    /// Whether the runtime type's `Scratch` is more than `()`, so the cache keeps one.
    fn needs_scratch(&self) -> bool {
        false
    }

    /// The per-sample buffers of its `Scratch` that may outgrow its parameters and output
    /// (a convolution's patch matrix), named and with their dimensions, for the size
    /// limits of [`limits`](crate::limits).
    fn scratch_tensors(&self, io: Io) -> Vec<(&'static str, Vec<usize>)> {
        let _ = io;
        Vec::new()
    }

    /// The multiply-accumulates of one sample's forward pass through it, or `None` if the
    /// count overflows a `usize`. Comparisons (`maxpool`, `relu`), additions (`avgpool`,
    /// biases, a residual skip) and elementwise functions (`sigmoid`, `softmax`) are not
    /// counted: none by default.
    fn macs(&self, io: Io) -> Option<usize> {
        let _ = io;
        Some(0)
    }

    /// Whether this is `softmax`: allowed only last, as an inference head that training skips.
    fn is_head(&self) -> bool {
        false
    }

    /// Whether the runtime type is an `Elementwise` activation, which the single-sample
    /// `forward` applies in place (`apply_one`) to the output of the layer before it, so
    /// the two share one buffer on the stack.
    fn elementwise(&self) -> bool {
        false
    }

    /// Whether the layer computes something else in training than in inference
    /// (`batchnorm`, `dropout`): the training pass then calls its `forward_train` with the
    /// cache's `TrainContext`, and the model gets an inference pass of its own.
    fn trains_differently(&self) -> bool {
        false
    }

    /// Whether the layer is the identity in inference (`dropout`): the single-sample
    /// `forward` then skips it, as it does `flatten`.
    fn inference_identity(&self) -> bool {
        false
    }

    /// For a layer that keeps running statistics (`batchnorm`): the momentum with which the
    /// model's `update_statistics` moves them (the runtime's `update_statistics`).
    fn statistics_momentum(&self) -> Option<f64> {
        None
    }

    /// For a batch norm: its ε, with which `#[model(fold_batchnorm)]` folds it into the
    /// layer before it.
    fn batchnorm_eps(&self) -> Option<f64> {
        None
    }

    /// Whether a batch norm right after this layer can be folded into its weights: each
    /// output channel an affine function of the input with its own weights and bias, the
    /// channel first in the PyTorch shape of its `weight` (dense, convolutions).
    fn takes_folded_batchnorm(&self) -> bool {
        false
    }

    /// Tensors that weight files written by other frameworks hold for this layer and that
    /// it does not keep (PyTorch's `num_batches_tracked` of a batch norm): accepted and
    /// ignored when baking weights.
    fn ignored_tensors(&self) -> &'static [&'static str] {
        &[]
    }

    /// What the layer is in an int8 model (`#[model(int8 = "…")]`, see [`int8`](crate::int8)):
    /// which of TensorFlow Lite's int8 kernels computes it. `None`, the default, for a kind
    /// without one: a model holding it cannot be baked as int8.
    fn int8(&self, io: Io) -> Option<Int8> {
        let _ = io;
        None
    }

    /// An expression computing one sample's output (anything `Into<SVector<T, OUT>>`) from
    /// `input` (a `&SVector<T, IN>`) more cheaply than the runtime's `forward_one`, if the
    /// kind has one for this layer (tiny dense layers are unrolled); `layer` is the
    /// expression of the layer's value.
    fn forward_one_inline(&self, io: Io, layer: &TokenStream, input: &TokenStream) -> Option<TokenStream> {
        let _ = (io, layer, input);
        None
    }
}

/// A runtime layer type: `Dense<f32, 784, 128>`, `MaxPool2d<16, 28, 28, 2, 2, 2, 2, 14, 14, 12544, 3136>`,
/// `LeakyRelu` with the value `LeakyRelu(0.01)`.
pub struct Runtime {
    /// The type's name at the runtime crate's root.
    pub name: String,
    /// Whether its first generic argument is the scalar type.
    pub scalar: bool,
    /// Its const generic arguments after the scalar.
    pub dims: Vec<usize>,
    /// For a layer without parameters whose value is not a unit struct: the arguments of its
    /// constructor (`(0.01)`, `{ rate: 0.5, stream: 0 }`).
    pub constructor: Option<TokenStream>,
    /// For a layer with parameters and hyper-parameters that are not parameters (a batch
    /// norm's ε): the runtime type implementing `Layer`, which borrows the parameters.
    pub adapter: Option<Adapter>,
}

/// How a layer's parameters become its runtime `Layer`: a method call returning a type that
/// borrows them with the hyper-parameters (`.with_eps(1e-5)`, a `BatchNormWithEps`).
pub struct Adapter {
    /// The adapter type's name at the runtime crate's root; its generic arguments are a
    /// lifetime, then the parameter type's.
    pub name: String,
    /// The method call on the parameters that makes it.
    pub call: TokenStream,
}

impl Runtime {
    /// A parameterless unit-struct layer with const arguments.
    pub fn unit(name: impl Into<String>, dims: Vec<usize>) -> Self {
        Runtime { name: name.into(), scalar: false, dims, constructor: None, adapter: None }
    }

    /// A layer with parameters, generic over the scalar type.
    pub fn with_params(name: impl Into<String>, dims: Vec<usize>) -> Self {
        Runtime { name: name.into(), scalar: true, dims, constructor: None, adapter: None }
    }
}

/// One parameter tensor of a layer, as a weight file holds it.
pub struct TensorSpec {
    /// The parameter's name within the layer: the key is `label.param`.
    pub param: &'static str,
    /// Its shape in PyTorch's convention (row-major in the file).
    pub shape: Vec<usize>,
    /// Whether the runtime stores this 2-D tensor transposed (column-major, as nalgebra
    /// stores a dense layer's `O × I` weight) rather than in the file's order.
    pub transposed: bool,
}

impl TensorSpec {
    /// A tensor stored in the file's (PyTorch's row-major) order.
    pub fn new(param: &'static str, shape: Vec<usize>) -> Self {
        TensorSpec { param, shape, transposed: false }
    }

    /// The number of values (saturating: the checker rejects a tensor beyond
    /// [`MAX_TENSOR`](crate::limits::MAX_TENSOR) before anything else asks).
    pub fn len(&self) -> usize {
        self.shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
    }
}

/// The names [`KINDS`] and the structural entries answer to, for "did you mean" suggestions.
pub fn known_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = KINDS.iter().flat_map(|(names, _)| names.iter().copied()).collect();
    names.extend(["flatten", "residual"]);
    names
}

/// The inference function of the kind called `name`.
pub fn find(name: &str) -> Option<Infer> {
    KINDS.iter().find(|(names, _)| names.contains(&name)).map(|(_, infer)| *infer)
}
