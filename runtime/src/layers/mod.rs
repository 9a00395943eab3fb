//! The layers and the protocol they share: [`Layer`], implemented by [`Dense`], every
//! [activation], [`Conv2d`], [`DepthwiseConv2d`], the [pools](pool), [batch
//! normalisation](batchnorm) and [`Dropout`]; and the [residual connections](residual) that
//! generated models wrap around blocks of layers.
//!
//! Batches are matrices whose `B` columns are the samples; an image is a column in
//! PyTorch's CHW order (see [`conv`]), so flattening one moves no data.

pub mod activation;
pub mod batchnorm;
pub mod conv;
pub mod dense;
pub mod depthwise;
pub mod dropout;
pub mod pool;
pub mod residual;

use nalgebra::{SMatrix, SVector};

pub use self::activation::{
    Clamp, Elementwise, Identity, LeakyRelu, Relu, Relu6, Sigmoid, Softmax, Tanh, softmax_into,
};
pub use self::batchnorm::{BatchNorm, BatchNormWithEps, BatchStatistics, FoldBatchNorm};
pub use self::conv::{Conv2d, Conv2dScratch};
pub use self::dense::Dense;
pub use self::depthwise::DepthwiseConv2d;
pub use self::dropout::Dropout;
pub use self::pool::{AvgPool2d, GlobalAvgPool, MaxPool2d};
use crate::params::{Storage, Tensor, TensorMut, TensorName, TensorShape};
use crate::scalar::Float;

/// The protocol every layer implements: a layer from `IN` to `OUT` values per sample, over
/// the scalar `T`, called the same way whatever it is — by generated models, by tests and
/// by hand-written code.
///
/// - **Batches** are `SMatrix<T, N, B>` whose `B` columns are the samples (nalgebra stores
///   matrices column-major, so each sample is contiguous). An image is one column in
///   PyTorch's CHW order, element `(c, h, w)` at `c·H·W + h·W + w`, so flattening moves no
///   data and a dense layer after it sees `nn.Flatten`'s order.
/// - **The caller owns every buffer**: the outputs `y` and `dx`, the parameter gradients
///   ([`Grads`](Layer::Grads)) and the working memory ([`Scratch`](Layer::Scratch)), all
///   reusable from one batch to the next. Nothing allocates, and the batch methods put
///   nothing large on the stack; single samples, the path of small targets, are written
///   into a caller's vector by [`forward_one_into`](Layer::forward_one_into) (or returned by
///   value by [`forward_one`](Layer::forward_one), which copies on most targets).
/// - **Backward** receives the forward pass's input `x` and output `y`, so each layer uses
///   whichever is cheaper (a sigmoid's derivative comes from `y`, a ReLU's from `x`). It
///   *adds* the parameter gradients to `grads` (so that a batch's shards, or several
///   batches, accumulate into one buffer) and *overwrites* `dx`. With `dx = None` the
///   input-gradient work is skipped entirely: what the first layer of a network needs.
///
/// **Training and inference** differ only for [`BatchNorm`] (batch statistics against
/// running estimates) and [`Dropout`] (active against the identity): the training pass calls
/// [`forward_train`](Layer::forward_train), which is [`forward`](Layer::forward) for every
/// other layer, with the step's [`TrainContext`]; `backward` follows a `forward_train`.
///
/// Parameter gradients have the layer's own type (`Grads = Self` for [`Dense`] and
/// [`Conv2d`], as JAX's pytrees do), so parameters, gradients and optimizer state line up
/// element for element; layers without parameters use `()`. Only [`Conv2d`] needs scratch
/// (its im2col buffers, a [`Conv2dScratch`]); every other layer's is `()`.
///
/// ```
/// use nalgebra::SMatrix;
/// use staticnn_runtime::{Dense, Layer, Relu};
///
/// let dense = Dense::<f32, 3, 2>::from_rows([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]], [0.0, -1.0]);
/// let x = SMatrix::<f32, 3, 4>::from_fn(|i, b| (i + b) as f32);
/// let (mut h, mut y) = (SMatrix::zeros(), SMatrix::zeros());
/// dense.forward(&x, &mut h, &mut ());
/// Relu.forward(&h, &mut y, &mut ());
/// // A batch is its samples side by side.
/// let one = Relu.forward_one(&dense.forward_one(&x.column(2).into_owned()));
/// assert_eq!(y.column(2), one);
///
/// // The gradients of Σ y: the parameters' accumulate in `grads`, the input's go to `dx`.
/// let dy = SMatrix::<f32, 2, 4>::from_element(1.0);
/// let (mut dh, mut dx) = (SMatrix::zeros(), SMatrix::zeros());
/// let mut grads = Dense::<f32, 3, 2>::ZERO;
/// Relu.backward(&h, &y, &dy, Some(&mut dh), &mut (), &mut ());
/// dense.backward(&x, &h, &dh, Some(&mut dx), &mut grads, &mut ());
/// assert_eq!(grads.bias[1], 4.0); // Σ over the batch of ∂y₁/∂b₁ = 1 (y₁ > 0 everywhere)
/// ```
pub trait Layer<T: Float, const IN: usize, const OUT: usize> {
    /// Where `backward` adds parameter gradients: `Self` for a layer with parameters, `()` without.
    type Grads;
    /// Working memory for a batch of `B`, owned by the caller and reused across calls
    /// (a generated model keeps one per layer in its cache); `()` for most layers.
    type Scratch<const B: usize>: bytemuck::Zeroable + Send;

    /// One sample into `y` (overwritten), without scratch: the inference path of small
    /// targets. A model's `forward` calls this with each layer's output already in place on
    /// its stack, so no output is built in one place and copied to another.
    fn forward_one_into(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>);

    /// One sample, by value: [`forward_one_into`](Self::forward_one_into) a zeroed vector.
    /// (Returning a large vector copies it on most targets; prefer `forward_one_into` where
    /// the stack is tight.)
    #[inline]
    fn forward_one(&self, x: &SVector<T, IN>) -> SVector<T, OUT> {
        let mut y = SVector::<T, OUT>::zeros();
        self.forward_one_into(x, &mut y);
        y
    }

    /// A batch of `B` samples into `y`.
    fn forward<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        y: &mut SMatrix<T, OUT, B>,
        scratch: &mut Self::Scratch<B>,
    );

    /// A batch of `B` samples into `y` in training mode, `context` saying which step this is
    /// and which of the batch's columns are samples: what a model's training pass calls.
    /// The same as [`forward`](Self::forward) except for layers that behave differently in
    /// training ([`BatchNorm`], [`Dropout`]).
    #[inline]
    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        y: &mut SMatrix<T, OUT, B>,
        scratch: &mut Self::Scratch<B>,
        context: &TrainContext,
    ) {
        let _ = context;
        self.forward(x, y, scratch);
    }

    /// Back-propagates `dy` (the loss gradient w.r.t. the `y` that `forward_train` produced from `x`):
    /// adds the parameter gradients to `grads` and, when `dx` is given, writes (overwrites) the
    /// gradient w.r.t. `x` into it.
    fn backward<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        y: &SMatrix<T, OUT, B>,
        dy: &SMatrix<T, OUT, B>,
        dx: Option<&mut SMatrix<T, IN, B>>,
        grads: &mut Self::Grads,
        scratch: &mut Self::Scratch<B>,
    );
}

/// What a training pass tells the layers that behave differently in training: which step
/// it is, the random stream to draw from, and which columns of the batch are samples.
///
/// Trainers fill it in each model cache before the training pass (a generated model keeps
/// it in its cache's `context` field; [`Model::context`](crate::Model::context)); the
/// all-zero value — step 0, seed 0, every column a sample — is what a zeroed cache holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct TrainContext {
    /// The seed of the run: [`Dropout`] masks are a function of the seed, the step, the
    /// layer and the sample's place in the batch, and nothing else.
    pub seed: u64,
    /// The step (1-based in trainers).
    pub step: u64,
    /// The batch column at which this pass's first column sits: `0`, or a shard's offset
    /// when a [`ParallelTrainer`](crate::ParallelTrainer) splits the batch, so that every
    /// sample draws the same dropout mask however the batch is split.
    pub offset: usize,
    /// How many of the pass's last columns are padding rather than samples (the zero-filled
    /// end of a short final batch): [`BatchNorm`]'s statistics leave them out.
    pub padding: usize,
}

// SAFETY: integers only; all zeros is the documented default.
unsafe impl bytemuck::Zeroable for TrainContext {}

impl TrainContext {
    /// The number of columns of a batch of `B` that are samples.
    pub fn samples(&self, batch: usize) -> usize {
        batch.saturating_sub(self.padding)
    }
}

/// Lists a layer's two tensors under the layer name `layer`: `weight`, of the PyTorch
/// `shape` and stored as `storage`, then `bias`, one per output (the `visit_named` of every
/// layer with parameters).
pub(crate) fn visit_weight_and_bias<'a, T>(
    layer: &'static str,
    (shape, storage): (TensorShape, Storage),
    weight: &'a [T],
    bias: &'a [T],
    f: &mut impl FnMut(Tensor<'a, T>),
) {
    f(Tensor { name: TensorName { layer, param: "weight" }, shape, storage, trainable: true, data: weight });
    let shape = TensorShape::new([bias.len()]);
    let bias = Tensor {
        name: TensorName { layer, param: "bias" },
        shape,
        storage: Storage::RowMajor,
        trainable: true,
        data: bias,
    };
    f(bias);
}

/// [`visit_weight_and_bias`], mutably.
pub(crate) fn visit_weight_and_bias_mut<T>(
    layer: &'static str,
    (shape, storage): (TensorShape, Storage),
    weight: &mut [T],
    bias: &mut [T],
    f: &mut impl FnMut(TensorMut<'_, T>),
) {
    f(TensorMut {
        name: TensorName { layer, param: "weight" },
        shape,
        storage,
        trainable: true,
        data: weight,
    });
    let shape = TensorShape::new([bias.len()]);
    let storage = Storage::RowMajor;
    f(TensorMut { name: TensorName { layer, param: "bias" }, shape, storage, trainable: true, data: bias });
}
