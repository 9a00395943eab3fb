//! Plain SGD and SGD with momentum (PyTorch's rules), each one fused pass.

use core::ops::DerefMut;

use super::{
    InvalidHyperparameter, Optimizer, OptimizerState, StateTensors, StateTensorsMut, Update, guarded,
    non_negative, split_state,
};
use crate::params::Parameters;
use crate::scalar::Float;

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

impl<M: Parameters> OptimizerState<M> for Sgd {
    fn state(&self, f: &mut dyn FnMut(&StateTensors<'_, M>)) {
        f(&[]);
    }

    fn state_mut(&mut self, f: &mut dyn FnMut(&mut StateTensorsMut<'_, M>)) {
        f(&mut []);
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

impl<M: Parameters, S: DerefMut<Target = M>> OptimizerState<M> for Momentum<S> {
    fn state(&self, f: &mut dyn FnMut(&StateTensors<'_, M>)) {
        f(&[("momentum_buffer", &*self.velocity)]);
    }

    fn state_mut(&mut self, f: &mut dyn FnMut(&mut StateTensorsMut<'_, M>)) {
        f(&mut [("momentum_buffer", &mut *self.velocity)]);
    }
}
