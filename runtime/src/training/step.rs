//! One training step, written once for every generated model: forward, loss, backward,
//! divergence check, optimizer update.
//!
//! [`train_step`] takes all its buffers from the caller, so it runs without a heap (the
//! buffers can be `static`). [`Trainer`] owns those buffers in boxes and counts steps.

use core::fmt;

use nalgebra::SMatrix;

use super::loss::{LabelOutOfRange, Loss};
use super::optim::Optimizer;
use crate::model::Model;
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

/// The passes of one training step, as a trainer runs them: serially ([`train_step`],
/// [`Trainer`]) or shard by shard on several threads
/// ([`ParallelTrainer`](crate::ParallelTrainer)). [`run_step`] puts them together, so every
/// trainer takes the same step.
pub(crate) trait Passes<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> {
    /// The training forward pass over the batch; returns its output.
    fn forward(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B>;

    /// Back-propagates `grad_out` (zero past the first `len` columns) into fresh
    /// parameter gradients.
    fn backward(
        &mut self,
        model: &M,
        x: &SMatrix<M::Scalar, IN, B>,
        grad_out: &SMatrix<M::Scalar, OUT, B>,
        len: usize,
    );

    /// Lets `optimizer` update `model` with the gradients of the last `backward`.
    fn update<O: Optimizer<M>>(&mut self, model: &mut M, optimizer: &mut O);
}

/// One training step: forward, loss and its gradient, divergence check, backward,
/// optimizer update. Returns the batch's mean loss; on a non-finite loss, returns
/// [`TrainError::Diverged`] before touching the model.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_step<P, M, L, O, const IN: usize, const OUT: usize, const B: usize>(
    passes: &mut P,
    model: &mut M,
    optimizer: &mut O,
    loss: &L,
    x: &SMatrix<M::Scalar, IN, B>,
    target: &L::Target<B>,
    len: usize,
    step: u64,
    grad_out: &mut SMatrix<M::Scalar, OUT, B>,
) -> Result<M::Scalar, TrainError>
where
    P: Passes<M, IN, OUT, B>,
    M: Model<IN, OUT>,
    L: Loss<M::Scalar, OUT>,
    O: Optimizer<M>,
{
    let len = len.min(B);
    let output = passes.forward(model, x);
    let value = loss.loss_and_grad(output, target, len, grad_out)?;
    if !value.finite() {
        return Err(TrainError::Diverged { step, loss: value.as_f64(), tensor: model.first_non_finite() });
    }
    passes.backward(model, x, grad_out, len);
    passes.update(model, optimizer);
    Ok(value)
}

/// The serial passes: one cache and one gradient buffer, borrowed.
struct Serial<'a, M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> {
    cache: &'a mut M::Cache<B>,
    grads: &'a mut M,
}

impl<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> Passes<M, IN, OUT, B>
    for Serial<'_, M, IN, OUT, B>
{
    fn forward(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B> {
        model.forward_train(x, self.cache)
    }

    fn backward(
        &mut self,
        model: &M,
        x: &SMatrix<M::Scalar, IN, B>,
        grad_out: &SMatrix<M::Scalar, OUT, B>,
        _len: usize,
    ) {
        self.grads.fill_zero();
        model.backward_params(x, self.cache, grad_out, self.grads);
    }

    fn update<O: Optimizer<M>>(&mut self, model: &mut M, optimizer: &mut O) {
        optimizer.step(model, self.grads);
    }
}

/// One step on a batch of `B` (of which the first `len` columns are samples), with every
/// buffer the caller's, so that it runs without a heap (the buffers can be `static`):
/// runs the training pass into `cache`, computes the loss and its gradient into
/// `grad_out`, back-propagates into `grads` and lets `optimizer` update `model`. Returns
/// the batch's mean loss.
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
    let mut passes = Serial { cache, grads };
    run_step(&mut passes, model, optimizer, loss, x, target, len, step, grad_out)
}

/// Something that trains a model on batches of `B` and runs it on them: a [`Trainer`], or
/// with `std` a [`ParallelTrainer`](crate::ParallelTrainer). Epoch loops and evaluation
/// ([`Fit`](crate::Fit)) are written once against this.
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
        O: Optimizer<M> + Send;

    /// Runs the model on a batch for evaluation; returns the outputs (logits if the model
    /// ends in `softmax`, as training sees them).
    fn infer(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B>;

    /// The outputs of the last forward pass: of the last [`step`](BatchTrainer::step)
    /// (computed before its update) or [`infer`](BatchTrainer::infer).
    fn output(&self) -> &SMatrix<M::Scalar, OUT, B>;

    /// Steps taken so far.
    fn steps(&self) -> u64;
}

/// Owns the buffers a training step needs for batches of `B` and counts the steps.
///
/// Name it through the model, which knows its shapes: `Mnist::trainer::<32>()`
/// ([`Model::trainer`]).
#[cfg(feature = "alloc")]
pub struct Trainer<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> {
    cache: alloc::boxed::Box<M::Cache<B>>,
    grads: alloc::boxed::Box<M>,
    grad_out: alloc::boxed::Box<SMatrix<M::Scalar, OUT, B>>,
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
            steps: 0,
        }
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
        O: Optimizer<M> + Send,
    {
        self.steps += 1;
        let mut passes = Serial { cache: &mut *self.cache, grads: &mut *self.grads };
        run_step(&mut passes, model, optimizer, loss, x, target, len, self.steps, &mut self.grad_out)
    }

    fn infer(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B> {
        model.forward_train(x, &mut self.cache)
    }

    fn output(&self) -> &SMatrix<M::Scalar, OUT, B> {
        M::train_output(&self.cache)
    }

    fn steps(&self) -> u64 {
        self.steps
    }
}
