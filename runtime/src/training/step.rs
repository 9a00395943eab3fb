//! One training step, written once for every generated model: forward, loss, backward,
//! divergence check, optimizer update.
//!
//! [`train_step`] takes all its buffers from the caller, so it runs without a heap (the
//! buffers can be `static`). [`Trainer`] owns those buffers in boxes and counts steps.

use core::fmt;

use nalgebra::SMatrix;

use super::loss::{LabelOutOfRange, Loss};
use super::optim::{InvalidHyperparameter, Optimizer};
#[cfg(feature = "alloc")]
use crate::float_env::{Denormals, FloatEnvGuard};
use crate::model::Model;
use crate::params::{Parameters, TensorName};
use crate::scalar::Float;

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrainError {
    /// A target label is not one of the model's classes.
    Label(LabelOutOfRange),
    /// The optimizer's hyper-parameters are invalid (checked before every step, so nothing
    /// was changed).
    Hyperparameter(InvalidHyperparameter),
    /// A step produced NaN or infinity: in the loss, or in the parameters its update would
    /// have written. What the model holds afterwards is stated by each [`Divergence`].
    Diverged {
        /// The 1-based step at which it happened.
        step: u64,
        /// The batch's loss in that step (NaN or ±∞ for [`Divergence::Loss`]).
        loss: f64,
        /// What went non-finite, and in which tensor.
        cause: Divergence,
    },
}

/// What went non-finite in a diverged step, and so what state the model is in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Divergence {
    /// The loss was NaN or infinite although every parameter was finite: overflow in the
    /// forward pass (or non-finite inputs). The step stopped before its update: the model
    /// and the optimizer are exactly as they were before it. `largest` is the tensor
    /// holding the parameter of largest magnitude (`None` for a model without
    /// parameters), `magnitude` that value.
    Loss {
        /// The tensor with the largest-magnitude parameter.
        largest: Option<TensorName>,
        /// The largest parameter magnitude in the model.
        magnitude: f64,
    },
    /// The update would have made parameters of `tensor` (the first such tensor, in
    /// declaration order) NaN or infinite. Those parameters, and their optimizer state,
    /// kept the values they had before the step; every other parameter received the
    /// step's update. The model is finite.
    Update {
        /// The first tensor whose update was refused.
        tensor: TensorName,
    },
    /// The model's parameters were already NaN or infinite before the step (set by hand:
    /// the weight loaders and the optimizers never produce them). They kept their values.
    /// If the step's loss was finite (the kernels skip products with inputs that are
    /// exactly zero, so a non-finite weight can hide behind them), the rest of the update
    /// was applied; otherwise nothing was updated.
    Parameters {
        /// The first tensor holding a NaN or infinity.
        tensor: TensorName,
    },
}

impl TrainError {
    /// The tensor a divergence report names, if this is one.
    pub fn tensor(&self) -> Option<TensorName> {
        match self {
            TrainError::Diverged { cause, .. } => match *cause {
                Divergence::Loss { largest, .. } => largest,
                Divergence::Update { tensor } | Divergence::Parameters { tensor } => Some(tensor),
            },
            _ => None,
        }
    }
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Label(e) => e.fmt(f),
            TrainError::Hyperparameter(e) => e.fmt(f),
            TrainError::Diverged { step, loss, cause } => {
                write!(f, "training diverged at step {step}: ")?;
                match cause {
                    Divergence::Loss { largest, magnitude } => {
                        write!(f, "the loss is {loss} although every parameter is finite")?;
                        if let Some(largest) = largest {
                            write!(f, " (the largest, {magnitude:e}, is in `{largest}`)")?;
                        }
                        f.write_str("; the step was not applied. Lower the learning rate or check the inputs for NaN/Inf")
                    }
                    Divergence::Update { tensor } => write!(
                        f,
                        "its update would have made parameters of layer `{}` (tensor `{tensor}`) NaN or infinite (the batch's loss was {loss}); those parameters kept their values, the rest of the update was applied. Lower the learning rate",
                        tensor.layer
                    ),
                    Divergence::Parameters { tensor } => {
                        write!(
                            f,
                            "the parameters of layer `{}` (tensor `{tensor}`) were NaN or infinite before the step (the batch's loss was {loss}); ",
                            tensor.layer
                        )?;
                        f.write_str(if loss.is_finite() {
                            "they kept their values, the rest of the update was applied. Check how they were set"
                        } else {
                            "nothing was updated. Check how they were set"
                        })
                    }
                }
            }
        }
    }
}

impl core::error::Error for TrainError {}

impl From<LabelOutOfRange> for TrainError {
    fn from(e: LabelOutOfRange) -> Self {
        TrainError::Label(e)
    }
}

impl From<InvalidHyperparameter> for TrainError {
    fn from(e: InvalidHyperparameter) -> Self {
        TrainError::Hyperparameter(e)
    }
}

/// The tensor holding the parameter of largest magnitude, and that magnitude.
fn largest_parameter<M: Parameters>(model: &M) -> (Option<TensorName>, f64) {
    let mut largest = (None, 0.0);
    model.visit(&mut |t| {
        let magnitude = t.data.iter().fold(0.0f64, |m, x| m.max(x.as_f64().abs()));
        if largest.0.is_none() || magnitude > largest.1 {
            largest = (Some(t.name), magnitude);
        }
    });
    largest
}

/// The passes of one training step, as a trainer runs them: serially ([`train_step`],
/// [`Trainer`]) or shard by shard on several threads
/// ([`ParallelTrainer`](crate::ParallelTrainer)). [`run_step`] puts them together, so every
/// trainer takes the same step.
pub(crate) trait Passes<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize> {
    /// The training forward pass over the batch of step `step`, whose first `len` columns
    /// are samples; returns its output.
    fn forward(
        &mut self,
        model: &M,
        x: &SMatrix<M::Scalar, IN, B>,
        step: u64,
        len: usize,
    ) -> &SMatrix<M::Scalar, OUT, B>;

    /// Back-propagates `grad_out` (zero past the first `len` columns) into fresh
    /// parameter gradients.
    fn backward(
        &mut self,
        model: &M,
        x: &SMatrix<M::Scalar, IN, B>,
        grad_out: &SMatrix<M::Scalar, OUT, B>,
        len: usize,
    );

    /// Lets `optimizer` update `model` with the gradients of the last `backward`; returns
    /// the first tensor whose update was refused for not being finite
    /// ([`Optimizer::step`]).
    fn update<O: Optimizer<M>>(&mut self, model: &mut M, optimizer: &mut O) -> Option<TensorName>;

    /// Moves the model's running statistics towards the last forward pass's
    /// ([`Model::update_statistics`]).
    fn update_statistics(&self, model: &mut M);
}

/// Prepares the [`TrainContext`] of a training pass over `len` samples in a cache of `B`
/// columns starting at batch column `offset`: the step, the offset and the padding; the
/// seed stays the cache's.
pub(crate) fn prepare<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize>(
    cache: &mut M::Cache<B>,
    step: u64,
    offset: usize,
    len: usize,
) {
    let context = M::context(cache);
    (context.step, context.offset, context.padding) = (step, offset, B - len.min(B));
}

/// One training step: hyper-parameter check, forward, loss and its gradient, divergence
/// check, backward, optimizer update, divergence check of the update. Returns the batch's
/// mean loss, or [`TrainError::Diverged`] in the step that produced a non-finite value
/// (the [`Divergence`] says what the model holds then).
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
    optimizer.validate()?;
    let len = len.min(B);
    let output = passes.forward(model, x, step, len);
    let value = loss.loss_and_grad(output, target, len, grad_out)?;
    let diverged = |cause| TrainError::Diverged { step, loss: value.as_f64(), cause };
    if !value.finite() {
        let cause = match model.first_non_finite() {
            Some(tensor) => Divergence::Parameters { tensor },
            None => {
                let (largest, magnitude) = largest_parameter(model);
                Divergence::Loss { largest, magnitude }
            }
        };
        return Err(diverged(cause));
    }
    passes.backward(model, x, grad_out, len);
    if let Some(refused) = passes.update(model, optimizer) {
        // A parameter that was already non-finite is refused too: say which it was.
        let cause = match model.first_non_finite() {
            Some(tensor) => Divergence::Parameters { tensor },
            None => Divergence::Update { tensor: refused },
        };
        return Err(diverged(cause));
    }
    passes.update_statistics(model);
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
    fn forward(
        &mut self,
        model: &M,
        x: &SMatrix<M::Scalar, IN, B>,
        step: u64,
        len: usize,
    ) -> &SMatrix<M::Scalar, OUT, B> {
        prepare::<M, IN, OUT, B>(self.cache, step, 0, len);
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

    fn update<O: Optimizer<M>>(&mut self, model: &mut M, optimizer: &mut O) -> Option<TensorName> {
        optimizer.step(model, self.grads)
    }

    fn update_statistics(&self, model: &mut M) {
        model.update_statistics(core::iter::once(&*self.cache));
    }
}

/// One step on a batch of `B` (of which the first `len` columns are samples), with every
/// buffer the caller's, so that it runs without a heap (the buffers can be `static`):
/// runs the training pass into `cache`, computes the loss and its gradient into
/// `grad_out`, back-propagates into `grads` and lets `optimizer` update `model`. Returns
/// the batch's mean loss.
///
/// `step` (1-based) only labels a [`TrainError::Diverged`] report, whose [`Divergence`]
/// says what the model holds: nothing non-finite is ever written to it.
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

    /// Runs the model on a batch for evaluation, in inference mode
    /// ([`Model::forward_eval`]); returns the outputs (logits if the model ends in
    /// `softmax`, as training sees them).
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
    denormals: Denormals,
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
            denormals: Denormals::Flush,
        }
    }

    /// How steps and inference treat subnormal floats: flushed to zero by default, or
    /// exact IEEE with [`Denormals::Preserve`] (see [`float_env`](crate::float_env)).
    pub fn set_denormals(&mut self, denormals: Denormals) {
        self.denormals = denormals;
    }

    /// The seed of the [`Dropout`](crate::Dropout) masks (0 unless set): the same seed, data
    /// and initial model give the same training run.
    pub fn set_seed(&mut self, seed: u64) {
        M::context(&mut self.cache).seed = seed;
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
        let _env = FloatEnvGuard::new(self.denormals);
        let mut passes = Serial { cache: &mut *self.cache, grads: &mut *self.grads };
        run_step(&mut passes, model, optimizer, loss, x, target, len, self.steps, &mut self.grad_out)
    }

    fn infer(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B> {
        let _env = FloatEnvGuard::new(self.denormals);
        model.forward_eval(x, &mut self.cache)
    }

    fn output(&self) -> &SMatrix<M::Scalar, OUT, B> {
        M::train_output(&self.cache)
    }

    fn steps(&self) -> u64 {
        self.steps
    }
}
