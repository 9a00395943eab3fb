//! Optimizers: SGD, SGD with momentum, and Adam, each one fused pass over the flat
//! parameter, gradient and state slices of a model.
//!
//! State (momentum buffers, Adam's moments) has the model's own type, so it can live in a
//! `Box` ([`Adam::new`]) or, without a heap, in any `&mut` the caller owns
//! ([`Adam::with_state`]), such as a `static`. Here live the traits every optimizer
//! implements and the checks they share; `sgd` holds SGD and momentum, `adam` Adam.

mod adam;
mod sgd;
#[cfg(test)]
mod tests;

pub use self::adam::{Adam, AdamConfig, AdamForm, AdamUpdate};
pub use self::sgd::{Momentum, MomentumUpdate, Sgd, SgdUpdate};
use crate::params::{Parameters, TensorName};
use crate::scalar::Float;

/// Updates parameters from their gradients.
///
/// Every optimizer here updates each parameter from its own gradient and state, with a
/// few constants per step (learning rate, bias corrections). A step therefore starts with
/// [`begin_step`](Optimizer::begin_step), which advances the optimizer's counters and
/// returns the step's [`Update`]: the update of all `M::LEN` flat parameters, which can be
/// applied whole or split into contiguous parts that run on different threads with
/// bit-identical results (how [`ParallelTrainer`](crate::ParallelTrainer) spreads it).
pub trait Optimizer<M: Parameters> {
    /// One step's update, borrowing the optimizer's state.
    type Update<'a>: Update<M::Scalar>
    where
        Self: 'a,
        M: 'a;

    /// Starts a step: advances the step count and returns the update to apply to the
    /// flat parameters (`M::LEN` elements, in [`Parameters::as_slice`] order).
    fn begin_step<'a>(&'a mut self) -> Self::Update<'a>
    where
        M: 'a;

    /// Checks the hyper-parameters: every trainer calls this before a step and stops with
    /// [`TrainError::Hyperparameter`](crate::TrainError::Hyperparameter) instead of
    /// stepping with, say, a NaN or negative learning rate.
    fn validate(&self) -> Result<(), InvalidHyperparameter> {
        Ok(())
    }

    /// Applies one update to `params` given `grads` (of the same shapes), tensor by tensor,
    /// skipping the statistics that are not trained ([`Tensor::trainable`](crate::Tensor::trainable)).
    ///
    /// Returns the first tensor (in memory order) in which the update would have made a
    /// parameter NaN or infinite, if any; such parameters keep their values and their
    /// optimizer state (see [`Update::apply`]), everything else is updated.
    #[must_use = "a refused update means training diverged"]
    fn step(&mut self, params: &mut M, grads: &M) -> Option<TensorName> {
        let mut update = Some(self.begin_step());
        let mut params = params.as_mut_slice();
        let mut refused = None;
        grads.visit(&mut |tensor| {
            let Some(rest) = update.take() else { return };
            let (head, tail) = rest.split_at(tensor.data.len());
            let (p, p_rest) = core::mem::take(&mut params).split_at_mut(head.len());
            // Statistics (`trainable: false`) are estimated by their layers, not optimised.
            if tensor.trainable && !head.apply(p, tensor.data) && refused.is_none() {
                refused = Some(tensor.name);
            }
            (update, params) = (Some(tail), p_rest);
        });
        refused
    }
}

/// An optimizer's state tensors, each with its name ([`OptimizerState`]).
pub type StateTensors<'a, M> = [(&'static str, &'a M)];

/// An optimizer's state tensors, mutably, each with its name ([`OptimizerState`]).
pub type StateTensorsMut<'a, M> = [(&'static str, &'a mut M)];

/// An optimizer whose state can be saved in a checkpoint and restored from one
/// ([`save_checkpoint`](crate::io::save_checkpoint),
/// [`load_checkpoint`](crate::io::load_checkpoint)), so that a resumed run continues
/// bit for bit.
///
/// The state is a list of named tensors of the model's own type — PyTorch's names:
/// `exp_avg` and `exp_avg_sq` for [`Adam`], `momentum_buffer` for [`Momentum`], none for
/// [`Sgd`] — and a step count.
pub trait OptimizerState<M: Parameters>: Optimizer<M> {
    /// Calls `f` once with every state tensor and its name.
    fn state(&self, f: &mut dyn FnMut(&StateTensors<'_, M>));

    /// Calls `f` once with every state tensor, mutably, and its name.
    fn state_mut(&mut self, f: &mut dyn FnMut(&mut StateTensorsMut<'_, M>));

    /// The number of updates applied so far (what bias corrections depend on).
    fn steps(&self) -> u64 {
        0
    }

    /// Sets the number of updates applied so far.
    fn set_steps(&mut self, steps: u64) {
        let _ = steps;
    }
}

/// A hyper-parameter outside the range its update rule allows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InvalidHyperparameter {
    /// The optimizer's name for it: `lr`, `beta1`, …
    pub name: &'static str,
    /// Its value.
    pub value: f64,
    /// The values it may take.
    pub expected: &'static str,
}

impl core::fmt::Display for InvalidHyperparameter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let InvalidHyperparameter { name, value, expected } = self;
        write!(f, "the optimizer's `{name}` is {value}; it must be {expected}")
    }
}

impl core::error::Error for InvalidHyperparameter {}

/// Checks that `value` is finite in `T` (`1e300` is not an `f32`) and at least zero.
pub(super) fn non_negative<T: Float>(name: &'static str, value: f64) -> Result<(), InvalidHyperparameter> {
    if value >= 0.0 && T::of(value).finite() {
        Ok(())
    } else {
        Err(InvalidHyperparameter { name, value, expected: "finite and ≥ 0 (in the model's scalar type)" })
    }
}

/// Checks that `value` is in `[0, 1)`, as a moment's decay must be.
pub(super) fn decay_rate(name: &'static str, value: f64) -> Result<(), InvalidHyperparameter> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(InvalidHyperparameter { name, value, expected: "in [0, 1)" })
    }
}

/// Writes `new` over `old` if `ok`, else leaves `old`. Branch-free (a select), so update
/// loops stay vectorized.
#[inline(always)]
pub(super) fn guarded<T: Float>(ok: bool, old: &mut T, new: T) {
    *old = if ok { new } else { *old };
}

/// The update of one optimizer step over a contiguous run of the flat parameters, and
/// the slice of the optimizer's state that goes with it.
pub trait Update<T>: Send + Sized {
    /// The number of parameters this update covers.
    fn len(&self) -> usize;

    /// Whether this update covers no parameters.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Splits into the update of the first `mid` parameters and that of the rest
    /// (`mid` is clamped to [`len`](Update::len)).
    fn split_at(self, mid: usize) -> (Self, Self);

    /// Applies the update to `params` with gradients `grads`, both [`len`](Update::len)
    /// long (extra elements of either are left alone).
    ///
    /// Returns `true` if every updated parameter is finite. A parameter whose new value
    /// would be NaN or infinite (a non-finite gradient, an overflow, or a parameter that
    /// was not finite to begin with) is not written, and neither is its optimizer state;
    /// the check rides along in the fused pass at no measurable cost.
    #[must_use = "`false` means some parameters could not be updated to finite values"]
    fn apply(self, params: &mut [T], grads: &[T]) -> bool;
}

/// Splits `slice` at `mid`, clamped to its length.
pub(super) fn split_state<T>(slice: &mut [T], mid: usize) -> (&mut [T], &mut [T]) {
    slice.split_at_mut(mid.min(slice.len()))
}
