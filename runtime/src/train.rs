//! One training step, written once for every generated model: forward, loss, backward,
//! divergence check, optimizer update.
//!
//! [`train_step`] takes all its buffers from the caller, so it runs without a heap (the
//! buffers can be `static`). [`Trainer`] owns those buffers in boxes and counts steps.

use core::fmt;

use nalgebra::SMatrix;

use crate::loss::{LabelOutOfRange, Loss};
use crate::model::Model;
use crate::optim::Optimizer;
use crate::params::TensorName;
use crate::scalar::Float;

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrainError {
    /// A target label is not one of the model's classes.
    Label(LabelOutOfRange),
    /// The loss became NaN or infinite.
    Diverged {
        /// The 1-based step at which the loss was first non-finite.
        step: u64,
        /// The loss value (NaN or ±∞).
        loss: f64,
        /// The first parameter tensor (in declaration order) holding a NaN or infinity, if
        /// the parameters themselves went non-finite; `None` if they are all finite and
        /// the loss overflowed from finite parameters.
        tensor: Option<TensorName>,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Label(e) => e.fmt(f),
            TrainError::Diverged { step, loss, tensor: Some(t) } => write!(
                f,
                "training diverged at step {step}: the loss is {loss} and the parameters of layer `{}` went non-finite first (tensor `{t}`); lower the learning rate",
                t.layer
            ),
            TrainError::Diverged { step, loss, tensor: None } => write!(
                f,
                "training diverged at step {step}: the loss is {loss} although every parameter is finite; lower the learning rate or check the inputs for NaN/Inf"
            ),
        }
    }
}

impl core::error::Error for TrainError {}

impl From<LabelOutOfRange> for TrainError {
    fn from(e: LabelOutOfRange) -> Self {
        TrainError::Label(e)
    }
}

/// One step on a batch of `B` (of which the first `len` columns are samples): clears
/// `grads`, runs the training pass, computes the loss and its gradient into `grad_out`,
/// back-propagates and lets `optimizer` update `model`. Returns the batch's mean loss.
///
/// `step` (1-based) only labels a [`TrainError::Diverged`] report. The update is skipped
/// when the loss is not finite, so a diverged model is left as it was before the step.
#[allow(clippy::too_many_arguments)]
pub fn train_step<M, L, O, const IN: usize, const OUT: usize, const B: usize>(
    model: &mut M,
    optimizer: &mut O,
    loss: &L,
    x: &SMatrix<M::Scalar, IN, B>,
    target: &L::Target<B>,
    len: usize,
    step: u64,
    cache: &mut M::Cache<B>,
    grads: &mut M,
    grad_out: &mut SMatrix<M::Scalar, OUT, B>,
) -> Result<M::Scalar, TrainError>
where
    M: Model<IN, OUT>,
    L: Loss<M::Scalar, OUT>,
    O: Optimizer<M>,
{
    let output = model.forward_train(x, cache);
    let value = loss.loss_and_grad(output, target, len, grad_out)?;
    if !value.finite() {
        return Err(TrainError::Diverged { step, loss: value.as_f64(), tensor: model.first_non_finite() });
    }
    grads.fill_zero();
    model.backward_params(x, cache, grad_out, grads);
    optimizer.step(model, grads);
    Ok(value)
}

/// Something that trains a model on batches of `B` and runs it on them: a [`Trainer`], or
/// with `std` a [`ParallelTrainer`](crate::ParallelTrainer). Epoch loops and evaluation
/// ([`Fit`](crate::fit::Fit)) are written once against this.
pub trait BatchTrainer<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> {
    /// One training step on the first `len` columns of `x`; returns the batch's mean loss.
    /// The batch's outputs (before the update) stay available in
    /// [`output`](BatchTrainer::output).
    fn step<L, O>(
        &mut self,
        model: &mut M,
        optimizer: &mut O,
        loss: &L,
        x: &SMatrix<M::Scalar, IN, B>,
        target: &L::Target<B>,
        len: usize,
    ) -> Result<M::Scalar, TrainError>
    where
        L: Loss<M::Scalar, OUT> + Sync,
        L::Target<B>: Sync,
        O: Optimizer<M>;

    /// Runs the model on a batch for evaluation; returns the outputs (logits if the model
    /// ends in `softmax`, as training sees them).
    fn infer(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B>;

    /// The outputs of the last training step's forward pass.
    fn output(&self) -> &SMatrix<M::Scalar, OUT, B>;

    /// Steps taken so far.
    fn steps(&self) -> u64;

    /// Runs `work` where this trainer's steps are cheapest to launch: for a
    /// [`ParallelTrainer`](crate::ParallelTrainer), on a thread of its pool, so that each
    /// step's fork and join stay among the pool's threads (which wait for work by spinning
    /// briefly) instead of waking the pool from outside twice per step. The default runs
    /// `work` on the calling thread.
    fn within<T: Send>(&mut self, work: impl FnOnce(&mut Self) -> T + Send) -> T
    where
        Self: Sized,
    {
        work(self)
    }
}

/// Owns the buffers a training step needs for batches of `B` and counts the steps.
#[cfg(feature = "alloc")]
pub struct Trainer<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> {
    cache: alloc::boxed::Box<M::Cache<B>>,
    grads: alloc::boxed::Box<M>,
    grad_out: alloc::boxed::Box<SMatrix<M::Scalar, OUT, B>>,
    output: alloc::boxed::Box<SMatrix<M::Scalar, OUT, B>>,
    steps: u64,
}

#[cfg(feature = "alloc")]
impl<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> Default
    for Trainer<M, IN, OUT, B>
{
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "alloc")]
impl<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> Trainer<M, IN, OUT, B> {
    /// Fresh zeroed buffers, all on the heap.
    pub fn new() -> Self {
        Trainer {
            cache: M::zeroed_cache(),
            grads: M::zeroed_box(),
            grad_out: bytemuck::zeroed_box(),
            output: bytemuck::zeroed_box(),
            steps: 0,
        }
    }

    /// The gradients computed by the last step.
    pub fn gradients(&self) -> &M {
        &self.grads
    }
}

#[cfg(feature = "alloc")]
impl<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> BatchTrainer<M, IN, OUT, B>
    for Trainer<M, IN, OUT, B>
{
    fn step<L, O>(
        &mut self,
        model: &mut M,
        optimizer: &mut O,
        loss: &L,
        x: &SMatrix<M::Scalar, IN, B>,
        target: &L::Target<B>,
        len: usize,
    ) -> Result<M::Scalar, TrainError>
    where
        L: Loss<M::Scalar, OUT> + Sync,
        L::Target<B>: Sync,
        O: Optimizer<M>,
    {
        self.steps += 1;
        let (cache, grads, grad_out) = (&mut *self.cache, &mut *self.grads, &mut *self.grad_out);
        let value = train_step(model, optimizer, loss, x, target, len, self.steps, cache, grads, grad_out);
        // The outputs were computed before the update; keep them for metrics.
        self.output.copy_from(M::train_output(cache));
        value
    }

    fn infer(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B> {
        model.forward_train(x, &mut self.cache)
    }

    fn output(&self) -> &SMatrix<M::Scalar, OUT, B> {
        &self.output
    }

    fn steps(&self) -> u64 {
        self.steps
    }
}
