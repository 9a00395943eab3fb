//! Adam in its two published forms, PyTorch's and Keras's, as one fused pass.

use core::ops::DerefMut;

use nalgebra::ComplexField;

use super::{
    InvalidHyperparameter, Optimizer, OptimizerState, StateTensors, StateTensorsMut, Update, decay_rate,
    guarded, non_negative, split_state,
};
use crate::kernels::{Kernel, run_widest};
use crate::params::Parameters;
use crate::scalar::Float;

/// Adam's hyper-parameters. The defaults are the paper's and PyTorch's
/// (`lr` 1e-3, `β₁` 0.9, `β₂` 0.999, `ε` 1e-8, [`AdamForm::PyTorch`]); Keras's are
/// [`AdamConfig::keras`] (`ε` 1e-7 in [`AdamForm::Keras`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// The learning rate `α`.
    pub lr: f64,
    /// Decay of the first moment, `β₁`.
    pub beta1: f64,
    /// Decay of the second moment, `β₂`.
    pub beta2: f64,
    /// Added to `√v̂` in the denominator.
    pub eps: f64,
    /// Weight decay `λ`: added to the gradient (PyTorch `Adam`), or applied to the
    /// parameters directly when `decoupled` is set (PyTorch `AdamW`).
    pub weight_decay: f64,
    /// Decoupled weight decay (AdamW): `p ← p − lr λ p` before the Adam update.
    pub decoupled: bool,
    /// Where `ε` enters the update: PyTorch's and the paper's form, or Keras's.
    pub form: AdamForm,
}

/// The two published forms of Adam's update, which differ in where `ε` is added.
///
/// Both compute `m ← β₁ m + (1 − β₁) g` and `v ← β₂ v + (1 − β₂) g²`; then
///
/// - **PyTorch** (and Kingma & Ba's Algorithm 1): `p ← p − lr · m̂ / (√v̂ + ε)` with
///   `m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)`: `ε` is added after bias correction;
/// - **Keras** (2 and 3, and TensorFlow's `ResourceApplyAdam`): `α = lr · √(1 − β₂ᵗ) /
///   (1 − β₁ᵗ)`, `p ← p − α · m / (√v + ε)`: `ε` is added to the uncorrected `√v`, which
///   is the PyTorch form with `ε` replaced by `ε / √(1 − β₂ᵗ)` (31.6 ε at step 1). It also
///   updates the moments as Keras writes them, `m ← m + (g − m)(1 − β₁)`, and computes
///   `α` in the parameters' scalar type with Keras's roundings: the learning rate, `β₁`
///   and `β₂` are rounded to `f32` first even for `f64` parameters (Keras keeps the
///   learning rate in an `f32` variable and `tf.cast` turns a Python float into an `f32`
///   constant), `βᵗ` is correctly rounded, and `1 − β₁`, `1 − β₂` and `ε` are computed
///   in `f64` and rounded to the parameters' type. On the fixtures of
///   `tests/fixtures/tensorflow/` (TensorFlow 2.21, Keras 3.15) the result matches
///   `tf.keras.optimizers.Adam` bit for bit in `f32` and within one unit in the last place
///   in `f64` (where the two `pow` implementations differ).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AdamForm {
    /// `ε` added to the bias-corrected `√v̂` (PyTorch, the paper).
    #[default]
    PyTorch,
    /// `ε` added to the uncorrected `√v` (Keras, TensorFlow).
    Keras,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            form: AdamForm::PyTorch,
        }
    }
}

impl AdamConfig {
    /// The defaults with learning rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        AdamConfig { lr, ..Self::default() }
    }

    /// Keras's Adam with its defaults: `ε = 1e-7`, added in [`AdamForm::Keras`].
    pub fn keras() -> Self {
        AdamConfig { eps: 1e-7, form: AdamForm::Keras, ..Self::default() }
    }
}

/// Adam (Kingma & Ba, 2015) with bias correction exactly as in the paper and PyTorch:
///
/// ```text
/// t ← t + 1
/// m ← β₁ m + (1 − β₁) g
/// v ← β₂ v + (1 − β₂) g²
/// p ← p − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
/// ```
#[derive(Debug)]
pub struct Adam<S> {
    /// The hyper-parameters.
    pub config: AdamConfig,
    step: u64,
    m: S,
    v: S,
}

impl<S> Adam<S> {
    /// Adam keeping its moments in `m` and `v` (zeroed by the caller), for use without a heap.
    pub fn with_state(config: AdamConfig, m: S, v: S) -> Self {
        Adam { config, step: 0, m, v }
    }

    /// The number of updates applied so far.
    pub fn steps(&self) -> u64 {
        self.step
    }
}

#[cfg(feature = "alloc")]
impl<M: Parameters> Adam<alloc::boxed::Box<M>> {
    /// Adam with its moments in fresh zeroed boxes.
    pub fn new(config: AdamConfig) -> Self {
        Self::with_state(config, M::zeroed_box(), M::zeroed_box())
    }
}

impl<S> Adam<S> {
    /// Advances the step count and returns the update's scalars for it.
    fn next_update<T: Float>(&mut self) -> AdamScalars<T> {
        self.step += 1;
        let c = self.config;
        let t = self.step.min(i32::MAX as u64) as i32;
        let from = T::of;
        let (step_size, inv_sqrt_bc2) = match c.form {
            // Bias corrections folded into two scalars:
            // p −= step_size · m / (√v · inv_sqrt_bc2 + ε).
            AdamForm::PyTorch => (
                from(c.lr / (1.0 - ComplexField::powi(c.beta1, t))),
                from(1.0 / ComplexField::sqrt(1.0 - ComplexField::powi(c.beta2, t))),
            ),
            // Keras: α = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ), in T, from an f32 learning rate;
            // p −= m · α / (√v + ε).
            AdamForm::Keras => {
                // As TensorFlow: β and the learning rate become f32 constants first; βᵗ
                // is a correctly rounded power.
                let power = |beta: f64| from(ComplexField::powf(f64::from(beta as f32), f64::from(t)));
                let (b1t, b2t) = (power(c.beta1), power(c.beta2));
                let lr = from(f64::from(c.lr as f32));
                (lr * ComplexField::sqrt(T::ONE - b2t) / (T::ONE - b1t), T::ONE)
            }
        };
        AdamScalars {
            b1: from(c.beta1),
            b2: from(c.beta2),
            one_b1: from(1.0 - c.beta1),
            one_b2: from(1.0 - c.beta2),
            step_size,
            inv_sqrt_bc2,
            eps: from(c.eps),
            // Coupled L2 decay adds `wd · p` to the gradient; decoupled decay scales `p`.
            wd: from(if c.decoupled { 0.0 } else { c.weight_decay }),
            decay: from(if c.decoupled { 1.0 - c.lr * c.weight_decay } else { 1.0 }),
            keras: c.form == AdamForm::Keras,
        }
    }
}

impl<M: Parameters, S: DerefMut<Target = M>> Optimizer<M> for Adam<S> {
    type Update<'a>
        = AdamUpdate<'a, M::Scalar>
    where
        S: 'a,
        M: 'a;

    fn validate(&self) -> Result<(), InvalidHyperparameter> {
        let c = &self.config;
        non_negative::<M::Scalar>("lr", c.lr)?;
        decay_rate("beta1", c.beta1)?;
        decay_rate("beta2", c.beta2)?;
        non_negative::<M::Scalar>("eps", c.eps)?;
        non_negative::<M::Scalar>("weight_decay", c.weight_decay)
    }

    fn begin_step<'a>(&'a mut self) -> AdamUpdate<'a, M::Scalar>
    where
        M: 'a,
    {
        let scalars = self.next_update();
        AdamUpdate { scalars, m: self.m.as_mut_slice(), v: self.v.as_mut_slice() }
    }
}

/// One [`Adam`] step over a run of parameters and their two moments.
pub struct AdamUpdate<'a, T> {
    scalars: AdamScalars<T>,
    m: &'a mut [T],
    v: &'a mut [T],
}

impl<T: Float> Update<T> for AdamUpdate<'_, T> {
    fn len(&self) -> usize {
        self.m.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let AdamUpdate { scalars, m, v } = self;
        let ((m0, m1), (v0, v1)) = (split_state(m, mid), split_state(v, mid));
        (AdamUpdate { scalars, m: m0, v: v0 }, AdamUpdate { scalars, m: m1, v: v1 })
    }

    fn apply(self, params: &mut [T], grads: &[T]) -> bool {
        let AdamUpdate { scalars, m, v } = self;
        let mut all_finite = true;
        run_widest(AdamStep { params, grads, m, v, scalars, all_finite: &mut all_finite });
        all_finite
    }
}

/// One Adam update over flat slices: a single fused pass over parameters, gradients and
/// both moments.
struct AdamStep<'a, T> {
    params: &'a mut [T],
    grads: &'a [T],
    m: &'a mut [T],
    v: &'a mut [T],
    scalars: AdamScalars<T>,
    /// Cleared if some parameter's update was refused for not being finite.
    all_finite: &'a mut bool,
}

/// The per-step constants of an Adam update.
#[derive(Clone, Copy)]
struct AdamScalars<T> {
    b1: T,
    b2: T,
    one_b1: T,
    one_b2: T,
    step_size: T,
    inv_sqrt_bc2: T,
    eps: T,
    wd: T,
    decay: T,
    /// Keras's form ([`AdamForm::Keras`]): moments as `m + (g − m)(1 − β₁)`, update
    /// `m · step_size / (√v + ε)`.
    keras: bool,
}

impl<T: Float> Kernel for AdamStep<'_, T> {
    #[inline(always)]
    fn run(self) {
        let AdamScalars { b1, b2, one_b1, one_b2, step_size, inv_sqrt_bc2, eps, wd, decay, keras } =
            self.scalars;
        let state = self.m.iter_mut().zip(self.v.iter_mut()).zip(self.grads);
        let mut all = true;
        if keras {
            for (p, ((m, v), &g)) in self.params.iter_mut().zip(state) {
                let decayed = *p * decay;
                let g = g + wd * decayed;
                let new_m = *m + (g - *m) * one_b1;
                let new_v = *v + (g * g - *v) * one_b2;
                let new = decayed - new_m * step_size / (new_v.sqrt() + eps);
                let ok = new.finite() & new_v.finite();
                guarded(ok, m, new_m);
                guarded(ok, v, new_v);
                guarded(ok, p, new);
                all &= ok;
            }
            *self.all_finite &= all;
            return;
        }
        for (p, ((m, v), &g)) in self.params.iter_mut().zip(state) {
            let decayed = *p * decay;
            let g = g + wd * decayed;
            let new_m = b1 * *m + one_b1 * g;
            let new_v = b2 * *v + one_b2 * g * g;
            let new = decayed - step_size * new_m / (new_v.sqrt() * inv_sqrt_bc2 + eps);
            // `new` is finite only if `new_m` and `new_v` are (an infinite `new_v` makes
            // the quotient 0 or NaN: checked too), so one test covers all three.
            let ok = new.finite() & new_v.finite();
            guarded(ok, m, new_m);
            guarded(ok, v, new_v);
            guarded(ok, p, new);
            all &= ok;
        }
        *self.all_finite &= all;
    }
}

impl<M: Parameters, S: DerefMut<Target = M>> OptimizerState<M> for Adam<S> {
    fn state(&self, f: &mut dyn FnMut(&StateTensors<'_, M>)) {
        f(&[("exp_avg", &*self.m), ("exp_avg_sq", &*self.v)]);
    }

    fn state_mut(&mut self, f: &mut dyn FnMut(&mut StateTensorsMut<'_, M>)) {
        f(&mut [("exp_avg", &mut *self.m), ("exp_avg_sq", &mut *self.v)]);
    }

    fn steps(&self) -> u64 {
        self.step
    }

    fn set_steps(&mut self, steps: u64) {
        self.step = steps;
    }
}
