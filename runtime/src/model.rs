//! The interface every `model!`-generated network implements, so that training loops,
//! metrics and checks are written once for all of them.

use nalgebra::{SMatrix, SVector};

use crate::init::Initialize;
use crate::params::Parameters;

/// A feed-forward network from `IN` inputs to `OUT` outputs with statically known shapes.
///
/// Batches are matrices whose `B` columns are the samples. The training pass
/// ([`forward_train`](Model::forward_train)) keeps every intermediate value in a
/// [`Cache`](Model::Cache) that [`backward`](Model::backward) reads; caches are large for
/// big batches, so allocate them once with [`zeroed_cache`](Model::zeroed_cache) (or place
/// them in a `static`) and reuse them.
///
/// If the model ends in `softmax`, that layer is an inference head: `forward` and
/// `forward_batch` apply it, while `forward_train` returns the logits before it and
/// `backward` starts from the gradient with respect to those logits, so that
/// [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy) can fuse the two stably.
pub trait Model<const IN: usize, const OUT: usize>: Parameters + Initialize + Sized + Send + Sync {
    /// Everything the training pass keeps for a batch of `B`.
    type Cache<const B: usize>: bytemuck::Zeroable + Send;

    /// Runs the model on one input, on the stack, without allocating.
    fn forward(&self, x: &SVector<Self::Scalar, IN>) -> SVector<Self::Scalar, OUT>;

    /// Runs the model on a batch, keeping every activation in `cache`; returns the output
    /// (logits if the model ends in `softmax`).
    fn forward_train<'c, const B: usize>(
        &self,
        x: &SMatrix<Self::Scalar, IN, B>,
        cache: &'c mut Self::Cache<B>,
    ) -> &'c SMatrix<Self::Scalar, OUT, B>;

    /// The output of the last [`forward_train`](Model::forward_train) kept in `cache`.
    fn train_output<const B: usize>(cache: &Self::Cache<B>) -> &SMatrix<Self::Scalar, OUT, B>;

    /// Runs the model on a batch for inference, with the `softmax` head if there is one.
    fn forward_batch<'c, const B: usize>(
        &self,
        x: &SMatrix<Self::Scalar, IN, B>,
        cache: &'c mut Self::Cache<B>,
    ) -> &'c SMatrix<Self::Scalar, OUT, B>;

    /// Back-propagates `grad_out` (the loss gradient with respect to `forward_train`'s
    /// output for the same `x`), adds the parameter gradients to `grads`, and returns the
    /// gradient with respect to `x`.
    fn backward<'c, const B: usize>(
        &self,
        x: &SMatrix<Self::Scalar, IN, B>,
        cache: &'c mut Self::Cache<B>,
        grad_out: &SMatrix<Self::Scalar, OUT, B>,
        grads: &mut Self,
    ) -> &'c SMatrix<Self::Scalar, IN, B>;

    /// As [`backward`](Model::backward), but skips the gradient with respect to the input
    /// (the usual case in training, and cheaper).
    fn backward_params<const B: usize>(
        &self,
        x: &SMatrix<Self::Scalar, IN, B>,
        cache: &mut Self::Cache<B>,
        grad_out: &SMatrix<Self::Scalar, OUT, B>,
        grads: &mut Self,
    );

    /// A zeroed cache for batches of `B`, built on the heap.
    #[cfg(feature = "alloc")]
    fn zeroed_cache<const B: usize>() -> alloc::boxed::Box<Self::Cache<B>> {
        bytemuck::zeroed_box()
    }

    /// A model initialised by `init` from a seeded generator, built directly on the heap.
    #[cfg(feature = "alloc")]
    fn new_boxed(init: crate::init::Init, seed: u64) -> alloc::boxed::Box<Self> {
        use rand::SeedableRng;
        let mut model = Self::zeroed_box();
        model.initialize(init, &mut rand::rngs::StdRng::seed_from_u64(seed));
        model
    }
}
