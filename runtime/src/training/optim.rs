//! Optimizers: SGD, SGD with momentum, and Adam, each one fused pass over the flat
//! parameter, gradient and state slices of a model.
//!
//! State (momentum buffers, Adam's moments) has the model's own type, so it can live in a
//! `Box` ([`Adam::new`]) or, without a heap, in any `&mut` the caller owns
//! ([`Adam::with_state`]), such as a `static`.

use core::ops::DerefMut;

use nalgebra::ComplexField;

use crate::kernels::{Kernel, run_widest};
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

    /// Applies one update to `params` given `grads` (of the same shapes), tensor by tensor.
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
            if !head.apply(p, tensor.data) && refused.is_none() {
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

impl<M: Parameters> OptimizerState<M> for Sgd {
    fn state(&self, f: &mut dyn FnMut(&StateTensors<'_, M>)) {
        f(&[]);
    }

    fn state_mut(&mut self, f: &mut dyn FnMut(&mut StateTensorsMut<'_, M>)) {
        f(&mut []);
    }
}

impl<M: Parameters, S: DerefMut<Target = M>> OptimizerState<M> for Momentum<S> {
    fn state(&self, f: &mut dyn FnMut(&StateTensors<'_, M>)) {
        f(&[("momentum_buffer", &*self.velocity)]);
    }

    fn state_mut(&mut self, f: &mut dyn FnMut(&mut StateTensorsMut<'_, M>)) {
        f(&mut [("momentum_buffer", &mut *self.velocity)]);
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
fn non_negative<T: Float>(name: &'static str, value: f64) -> Result<(), InvalidHyperparameter> {
    if value >= 0.0 && T::of(value).finite() {
        Ok(())
    } else {
        Err(InvalidHyperparameter { name, value, expected: "finite and ≥ 0 (in the model's scalar type)" })
    }
}

/// Checks that `value` is in `[0, 1)`, as a moment's decay must be.
fn decay_rate(name: &'static str, value: f64) -> Result<(), InvalidHyperparameter> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(InvalidHyperparameter { name, value, expected: "in [0, 1)" })
    }
}

/// Writes `new` over `old` if `ok`, else leaves `old`. Branch-free (a select), so update
/// loops stay vectorized.
#[inline(always)]
fn guarded<T: Float>(ok: bool, old: &mut T, new: T) {
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
fn split_state<T>(slice: &mut [T], mid: usize) -> (&mut [T], &mut [T]) {
    slice.split_at_mut(mid.min(slice.len()))
}

/// Plain stochastic gradient descent: `p ← p − lr (g + λ p)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// The learning rate.
    pub lr: f64,
    /// L2 weight decay `λ`, added to the gradient as PyTorch does.
    pub weight_decay: f64,
}

impl Sgd {
    /// SGD with learning rate `lr` and no weight decay.
    pub fn new(lr: f64) -> Self {
        Sgd { lr, weight_decay: 0.0 }
    }
}

impl<M: Parameters> Optimizer<M> for Sgd {
    type Update<'a>
        = SgdUpdate<M::Scalar>
    where
        M: 'a;

    fn validate(&self) -> Result<(), InvalidHyperparameter> {
        non_negative::<M::Scalar>("lr", self.lr)?;
        non_negative::<M::Scalar>("weight_decay", self.weight_decay)
    }

    fn begin_step<'a>(&'a mut self) -> SgdUpdate<M::Scalar>
    where
        M: 'a,
    {
        SgdUpdate { lr: M::Scalar::of(self.lr), wd: M::Scalar::of(self.weight_decay), len: M::LEN }
    }
}

/// One [`Sgd`] step over `len` parameters.
#[derive(Clone, Copy, Debug)]
pub struct SgdUpdate<T> {
    lr: T,
    wd: T,
    len: usize,
}

impl<T: Float> Update<T> for SgdUpdate<T> {
    fn len(&self) -> usize {
        self.len
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let mid = mid.min(self.len);
        (SgdUpdate { len: mid, ..self }, SgdUpdate { len: self.len - mid, ..self })
    }

    fn apply(self, params: &mut [T], grads: &[T]) -> bool {
        let SgdUpdate { lr, wd, len } = self;
        let mut all = true;
        for (p, &g) in params.iter_mut().zip(grads).take(len) {
            let new = *p - lr * (g + wd * *p);
            let ok = new.finite();
            guarded(ok, p, new);
            all &= ok;
        }
        all
    }
}

/// SGD with (heavy-ball) momentum, PyTorch's rule with no dampening:
/// `v ← μ v + (g + λ p)`, `p ← p − lr v`.
#[derive(Debug)]
pub struct Momentum<S> {
    /// The learning rate.
    pub lr: f64,
    /// The momentum `μ`.
    pub momentum: f64,
    /// L2 weight decay `λ`.
    pub weight_decay: f64,
    velocity: S,
}

impl<S> Momentum<S> {
    /// Momentum SGD keeping its velocity in `velocity` (zeroed by the caller), for use
    /// without a heap.
    pub fn with_state(lr: f64, momentum: f64, velocity: S) -> Self {
        Momentum { lr, momentum, weight_decay: 0.0, velocity }
    }
}

#[cfg(feature = "alloc")]
impl<M: Parameters> Momentum<alloc::boxed::Box<M>> {
    /// Momentum SGD with its velocity in a fresh zeroed box.
    pub fn new(lr: f64, momentum: f64) -> Self {
        Self::with_state(lr, momentum, M::zeroed_box())
    }
}

impl<M: Parameters, S: DerefMut<Target = M>> Optimizer<M> for Momentum<S> {
    type Update<'a>
        = MomentumUpdate<'a, M::Scalar>
    where
        S: 'a,
        M: 'a;

    fn validate(&self) -> Result<(), InvalidHyperparameter> {
        non_negative::<M::Scalar>("lr", self.lr)?;
        non_negative::<M::Scalar>("momentum", self.momentum)?;
        non_negative::<M::Scalar>("weight_decay", self.weight_decay)
    }

    fn begin_step<'a>(&'a mut self) -> MomentumUpdate<'a, M::Scalar>
    where
        M: 'a,
    {
        MomentumUpdate {
            lr: M::Scalar::of(self.lr),
            mu: M::Scalar::of(self.momentum),
            wd: M::Scalar::of(self.weight_decay),
            velocity: self.velocity.as_mut_slice(),
        }
    }
}

/// One [`Momentum`] step over a run of parameters and their velocities.
#[derive(Debug)]
pub struct MomentumUpdate<'a, T> {
    lr: T,
    mu: T,
    wd: T,
    velocity: &'a mut [T],
}

impl<T: Float> Update<T> for MomentumUpdate<'_, T> {
    fn len(&self) -> usize {
        self.velocity.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let MomentumUpdate { lr, mu, wd, velocity } = self;
        let (head, tail) = split_state(velocity, mid);
        (MomentumUpdate { lr, mu, wd, velocity: head }, MomentumUpdate { lr, mu, wd, velocity: tail })
    }

    fn apply(self, params: &mut [T], grads: &[T]) -> bool {
        let MomentumUpdate { lr, mu, wd, velocity } = self;
        let mut all = true;
        for (p, (v, &g)) in params.iter_mut().zip(velocity.iter_mut().zip(grads)) {
            let new_v = mu * *v + g + wd * *p;
            let new = *p - lr * new_v;
            let ok = new.finite();
            guarded(ok, v, new_v);
            guarded(ok, p, new);
            all &= ok;
        }
        all
    }
}

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

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // the reference rules index like the papers do
mod tests {
    //! Each optimizer against its published update rule, written out longhand.
    use super::*;
    use crate::Dense;

    type P = Dense<f64, 2, 1>;

    fn params(values: [f64; 3]) -> P {
        let mut p = P::ZERO;
        p.as_mut_slice().copy_from_slice(&values);
        p
    }

    const GRADS: [[f64; 3]; 3] = [[0.5, -1.0, 2.0], [0.25, 0.0, -3.0], [-1.5, 0.75, 1.0]];

    #[test]
    fn sgd_follows_its_rule() {
        let mut p = params([1.0, 2.0, 3.0]);
        let mut sgd = Sgd { lr: 0.1, weight_decay: 0.01 };
        let mut expect = [1.0, 2.0, 3.0];
        for g in GRADS {
            assert_eq!(sgd.step(&mut p, &params(g)), None);
            for i in 0..3 {
                expect[i] -= 0.1 * (g[i] + 0.01 * expect[i]);
            }
            assert_eq!(p.as_slice(), &expect);
        }
    }

    #[test]
    fn momentum_follows_pytorch() {
        let mut velocity = P::ZERO;
        let mut p = params([1.0, 2.0, 3.0]);
        let mut opt = Momentum::with_state(0.1, 0.9, &mut velocity);
        let (mut expect, mut v) = ([1.0, 2.0, 3.0], [0.0; 3]);
        for g in GRADS {
            assert_eq!(opt.step(&mut p, &params(g)), None);
            for i in 0..3 {
                v[i] = 0.9 * v[i] + g[i];
                expect[i] -= 0.1 * v[i];
            }
            for i in 0..3 {
                assert!((p.as_slice()[i] - expect[i]).abs() < 1e-15);
            }
        }
    }

    /// Adam exactly as Algorithm 1 of Kingma & Ba (and `torch.optim.Adam`).
    fn adam_reference(config: AdamConfig, start: [f64; 3]) -> [[f64; 3]; 3] {
        let (mut p, mut m, mut v) = (start, [0.0; 3], [0.0; 3]);
        let mut out = [[0.0; 3]; 3];
        for (t, g) in GRADS.iter().enumerate() {
            let t = (t + 1) as i32;
            for i in 0..3 {
                let g = g[i] + config.weight_decay * p[i];
                m[i] = config.beta1 * m[i] + (1.0 - config.beta1) * g;
                v[i] = config.beta2 * v[i] + (1.0 - config.beta2) * g * g;
                let m_hat = m[i] / (1.0 - ComplexField::powi(config.beta1, t));
                let v_hat = v[i] / (1.0 - ComplexField::powi(config.beta2, t));
                p[i] -= config.lr * m_hat / (ComplexField::sqrt(v_hat) + config.eps);
            }
            out[t as usize - 1] = p;
        }
        out
    }

    #[test]
    fn adam_follows_the_paper() {
        for config in [
            AdamConfig::default(),
            AdamConfig { lr: 0.01, weight_decay: 0.1, eps: 1e-7, ..AdamConfig::default() },
        ] {
            let (mut m, mut v) = (P::ZERO, P::ZERO);
            let mut adam = Adam::with_state(config, &mut m, &mut v);
            let mut p = params([1.0, -2.0, 0.5]);
            for (step, expect) in adam_reference(config, [1.0, -2.0, 0.5]).iter().enumerate() {
                assert_eq!(adam.step(&mut p, &params(GRADS[step])), None);
                for i in 0..3 {
                    let got = p.as_slice()[i];
                    assert!(
                        (got - expect[i]).abs() <= 1e-14 * expect[i].abs().max(1.0),
                        "step {step}: {got} vs {}",
                        expect[i]
                    );
                }
            }
            assert_eq!(adam.steps(), 3);
        }
    }

    /// Adam as Keras 3's `Adam.update_step` writes it, longhand, in `f64`, with the learning
    /// rate and the `β`s rounded to `f32` as TensorFlow rounds them.
    fn keras_reference(config: AdamConfig, start: [f64; 3]) -> [[f64; 3]; 3] {
        let (mut p, mut m, mut v) = (start, [0.0; 3], [0.0; 3]);
        let lr = f64::from(config.lr as f32);
        let mut out = [[0.0; 3]; 3];
        for (t, g) in GRADS.iter().enumerate() {
            let step = (t + 1) as i32;
            let power = |beta: f64| ComplexField::powf(f64::from(beta as f32), f64::from(step));
            let alpha = lr * ComplexField::sqrt(1.0 - power(config.beta2)) / (1.0 - power(config.beta1));
            for i in 0..3 {
                m[i] += (g[i] - m[i]) * (1.0 - config.beta1);
                v[i] += (g[i] * g[i] - v[i]) * (1.0 - config.beta2);
                p[i] -= m[i] * alpha / (ComplexField::sqrt(v[i]) + config.eps);
            }
            out[t] = p;
        }
        out
    }

    #[test]
    fn keras_adam_adds_epsilon_before_bias_correction() {
        for config in [AdamConfig::keras(), AdamConfig { lr: 0.01, eps: 1e-3, ..AdamConfig::keras() }] {
            let (mut m, mut v) = (P::ZERO, P::ZERO);
            let mut adam = Adam::with_state(config, &mut m, &mut v);
            let mut p = params([1.0, -2.0, 0.5]);
            let paper = adam_reference(AdamConfig { form: AdamForm::PyTorch, ..config }, [1.0, -2.0, 0.5]);
            for (step, expect) in keras_reference(config, [1.0, -2.0, 0.5]).iter().enumerate() {
                assert_eq!(adam.step(&mut p, &params(GRADS[step])), None);
                for i in 0..3 {
                    let got = p.as_slice()[i];
                    assert!((got - expect[i]).abs() <= 1e-15, "step {step}: {got} vs {}", expect[i]);
                }
            }
            // With ε = 1e-3 the two forms differ visibly.
            if config.eps == 1e-3 {
                assert!((p.as_slice()[1] - paper[2][1]).abs() > 1e-6);
            }
        }
    }

    #[test]
    fn adam_first_step_moves_by_lr_times_sign() {
        // With bias correction, the first step is lr · g / (|g| + ε) ≈ lr · sign(g).
        let (mut m, mut v) = (P::ZERO, P::ZERO);
        let mut adam = Adam::with_state(AdamConfig::default(), &mut m, &mut v);
        let mut p = params([0.0; 3]);
        assert_eq!(adam.step(&mut p, &params([3.0, -0.001, 0.0])), None);
        assert!((p.as_slice()[0] + 1e-3).abs() < 1e-10);
        assert!((p.as_slice()[1] - 1e-3).abs() < 1e-7);
        assert_eq!(p.as_slice()[2], 0.0);
    }

    /// Splitting a step into parts (as the parallel trainer does) changes no bit.
    #[cfg(feature = "alloc")]
    fn split_is_bit_identical<O: Optimizer<Big>>(mut make: impl FnMut() -> O) {
        let mut whole = Big::zeroed_box();
        whole.as_mut_slice().iter_mut().enumerate().for_each(|(i, p)| *p = (i as f32 * 0.37).sin());
        let mut parts = whole.boxed_copy();
        let mut g = Big::zeroed_box();
        g.as_mut_slice().iter_mut().enumerate().for_each(|(i, x)| *x = (i as f32 * 0.11).cos());
        let (mut serial, mut split) = (make(), make());
        for _ in 0..3 {
            assert_eq!(serial.step(&mut whole, &g), None);
            let mut rest = split.begin_step();
            let (mut params, mut grads) = (parts.as_mut_slice(), g.as_slice());
            // Uneven parts, the last one empty.
            for size in [1000, 7, 13_000, usize::MAX, 5] {
                let (head, tail) = rest.split_at(size);
                let n = head.len();
                let (p, p_rest) = params.split_at_mut(n);
                assert!(head.apply(p, &grads[..n]));
                (rest, params, grads) = (tail, p_rest, &grads[n..]);
            }
            assert!(rest.is_empty());
        }
        assert_eq!(whole.as_slice(), parts.as_slice());
    }

    type Big = Dense<f32, 300, 70>; // 21 070 parameters

    #[cfg(feature = "alloc")]
    #[test]
    fn split_steps_are_bit_identical() {
        use alloc::boxed::Box;
        split_is_bit_identical(|| Sgd { lr: 0.1, weight_decay: 0.01 });
        split_is_bit_identical(|| Momentum::<Box<Big>>::new(0.1, 0.9));
        split_is_bit_identical(|| Adam::<Box<Big>>::new(AdamConfig::default()));
    }

    #[test]
    fn adamw_decays_parameters_directly() {
        let config = AdamConfig { lr: 0.1, weight_decay: 0.5, decoupled: true, ..AdamConfig::default() };
        let (mut m, mut v) = (P::ZERO, P::ZERO);
        let mut adam = Adam::with_state(config, &mut m, &mut v);
        let mut p = params([2.0, 2.0, 2.0]);
        assert_eq!(adam.step(&mut p, &params([0.0; 3])), None);
        // Zero gradient: only the decay acts, p ← p (1 − lr λ).
        assert_eq!(p.as_slice(), &[1.9, 1.9, 1.9]);
    }

    /// A gradient that would make a parameter non-finite: that parameter and its state keep
    /// their values, the others are updated, and the step names the tensor.
    #[test]
    fn non_finite_updates_are_refused_per_parameter() {
        type Two = crate::Dense<f64, 1, 1>; // "weight" then "bias", one value each
        let grads = {
            let mut g = Two::ZERO;
            g.as_mut_slice().copy_from_slice(&[0.5, f64::NAN]);
            g
        };
        let check = |name: &str, refused: Option<TensorName>, p: &Two, state: &[&Two]| {
            assert_eq!(refused.map(|t| t.param), Some("bias"), "{name}");
            assert_ne!(p.as_slice()[0], 1.0, "{name}: the finite update is applied");
            assert_eq!(p.as_slice()[1], 2.0, "{name}: the refused parameter is unchanged");
            for s in state {
                assert_eq!(s.as_slice()[1], 0.0, "{name}: its state is unchanged");
            }
        };
        let start = || {
            let mut p = Two::ZERO;
            p.as_mut_slice().copy_from_slice(&[1.0, 2.0]);
            p
        };
        let mut p = start();
        let refused = Sgd::new(0.1).step(&mut p, &grads);
        check("sgd", refused, &p, &[]);
        let (mut p, mut velocity) = (start(), Two::ZERO);
        let refused = Momentum::with_state(0.1, 0.9, &mut velocity).step(&mut p, &grads);
        check("momentum", refused, &p, &[&velocity]);
        let (mut p, mut m, mut v) = (start(), Two::ZERO, Two::ZERO);
        let refused = Adam::with_state(AdamConfig::default(), &mut m, &mut v).step(&mut p, &grads);
        check("adam", refused, &p, &[&m, &v]);
        // Overflow from finite values is refused too.
        let mut p = start();
        let mut huge = grads;
        huge.as_mut_slice().copy_from_slice(&[f64::MAX, 0.0]);
        let refused = Sgd::new(4.0).step(&mut p, &huge);
        assert_eq!(refused.map(|t| t.param), Some("weight"));
        assert_eq!(p.as_slice(), &[1.0, 2.0 - 0.0]);
    }

    #[test]
    fn hyperparameters_are_validated() {
        let invalid = |r: Result<(), InvalidHyperparameter>| r.err().map(|e| e.name);
        assert_eq!(invalid(Optimizer::<P>::validate(&Sgd::new(0.1))), None);
        assert_eq!(invalid(Optimizer::<P>::validate(&Sgd::new(f64::NAN))), Some("lr"));
        assert_eq!(invalid(Optimizer::<P>::validate(&Sgd::new(-1.0))), Some("lr"));
        // Finite in f64, infinite in f32.
        type P32 = crate::Dense<f32, 2, 1>;
        assert_eq!(invalid(Optimizer::<P>::validate(&Sgd::new(1e300))), None);
        assert_eq!(invalid(Optimizer::<P32>::validate(&Sgd::new(1e300))), Some("lr"));
        let (mut m, mut v) = (P::ZERO, P::ZERO);
        for (config, name) in [
            (AdamConfig { beta1: 1.0, ..AdamConfig::default() }, Some("beta1")),
            (AdamConfig { beta2: -0.1, ..AdamConfig::default() }, Some("beta2")),
            (AdamConfig { eps: f64::INFINITY, ..AdamConfig::default() }, Some("eps")),
            (AdamConfig { weight_decay: -1.0, ..AdamConfig::default() }, Some("weight_decay")),
            (AdamConfig::keras(), None),
        ] {
            let adam = Adam::with_state(config, &mut m, &mut v);
            assert_eq!(invalid(Optimizer::<P>::validate(&adam)), name);
        }
        let momentum = Momentum::with_state(0.1, f64::NAN, &mut m);
        let e = Optimizer::<P>::validate(&momentum).unwrap_err();
        #[cfg(feature = "alloc")]
        assert_eq!(
            alloc::string::ToString::to_string(&e),
            "the optimizer's `momentum` is NaN; it must be finite and ≥ 0 (in the model's scalar type)"
        );
    }
}
