//! Activation layers: element-wise nonlinearities and the column-wise softmax.
//!
//! Each activation is a small value (a unit struct, [`LeakyRelu`] with its slope, [`Clamp`]
//! with its range) and a
//! [`Layer`] from `N` to `N` values for every `N` and scalar type. The element-wise ones
//! implement [`Elementwise`], `f(x)` and `f'(x)`, and get the layer from it. Backward
//! receives both the layer's input and its output, so each uses whichever is cheaper.

use nalgebra::{SMatrix, SVector};

use super::Layer;
use crate::scalar::Float;

/// An activation applied to each element on its own; every `Elementwise` is a
/// [`Layer<T, N, N>`](Layer) for any `T` and `N`.
pub trait Elementwise {
    /// `f(x)`.
    fn f<T: Float>(&self, x: T) -> T;
    /// `f'(x)`, given `x` and `y = f(x)`.
    fn df<T: Float>(&self, x: T, y: T) -> T;

    /// `x ← f(x)` for one sample: [`Layer::forward_one`] in place. A model's `forward`
    /// applies element-wise activations this way, so a layer's output and its activation
    /// share one buffer on the stack.
    #[inline]
    fn apply_one<T: Float, const N: usize>(&self, x: &mut SVector<T, N>)
    where
        Self: Sized,
    {
        for v in x.iter_mut() {
            *v = self.f(*v);
        }
    }
}

/// `y = f(x)` element by element, for any shape.
#[inline]
fn map_into<A: Elementwise, T: Float>(act: &A, x: &[T], y: &mut [T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = act.f(x);
    }
}

impl<T: Float, const N: usize, A: Elementwise> Layer<T, N, N> for A {
    type Grads = ();
    type Scratch<const B: usize> = ();

    #[inline]
    fn forward_one_into(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        map_into(self, x.as_slice(), y.as_mut_slice());
    }

    #[inline]
    fn forward<const B: usize>(&self, x: &SMatrix<T, N, B>, y: &mut SMatrix<T, N, B>, _scratch: &mut ()) {
        map_into(self, x.as_slice(), y.as_mut_slice());
    }

    /// `dx = dy ⊙ f'(x)`.
    #[inline]
    fn backward<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        y: &SMatrix<T, N, B>,
        dy: &SMatrix<T, N, B>,
        dx: Option<&mut SMatrix<T, N, B>>,
        _grads: &mut (),
        _scratch: &mut (),
    ) {
        let Some(dx) = dx else { return };
        let inputs = x.as_slice().iter().zip(y.as_slice()).zip(dy.as_slice());
        for (dx, ((&x, &y), &dy)) in dx.as_mut_slice().iter_mut().zip(inputs) {
            *dx = dy * self.df(x, y);
        }
    }
}

/// `max(x, 0)`. Its derivative at 0 is taken as 0, as in PyTorch. NaN stays NaN, as in
/// PyTorch (a NaN must not turn into a plausible 0).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl Elementwise for Relu {
    #[inline(always)]
    fn f<T: Float>(&self, x: T) -> T {
        if x <= T::ZERO { T::ZERO } else { x }
    }
    #[inline(always)]
    fn df<T: Float>(&self, x: T, _y: T) -> T {
        if x > T::ZERO { T::ONE } else { T::ZERO }
    }
}

/// `min(max(x, 0), 6)`, the ReLU of MobileNets and TFLite's `RELU6`. Its derivative at 0
/// and at 6 is taken as 0, as in PyTorch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu6;

impl Elementwise for Relu6 {
    #[inline(always)]
    fn f<T: Float>(&self, x: T) -> T {
        let six = T::of(6.0);
        if x <= T::ZERO {
            T::ZERO
        } else if x >= six {
            six
        } else {
            x
        }
    }
    #[inline(always)]
    fn df<T: Float>(&self, x: T, _y: T) -> T {
        if x > T::ZERO && x < T::of(6.0) { T::ONE } else { T::ZERO }
    }
}

/// `x` clamped to `[min, max]` (`Clamp(min, max)`): PyTorch's `nn.Hardtanh(min, max)`,
/// TensorFlow Lite's `RELU_N1_TO_1` as `Clamp(-1.0, 1.0)`; [`Relu6`] is `Clamp(0.0, 6.0)`.
/// The derivative is 1 strictly inside the range and 0 outside it and at its ends, as in
/// PyTorch. NaN passes through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clamp(pub f64, pub f64);

impl Elementwise for Clamp {
    #[inline(always)]
    fn f<T: Float>(&self, x: T) -> T {
        let (min, max) = (T::of(self.0), T::of(self.1));
        if x < min {
            min
        } else if x > max {
            max
        } else {
            x
        }
    }
    #[inline(always)]
    fn df<T: Float>(&self, x: T, _y: T) -> T {
        if x > T::of(self.0) && x < T::of(self.1) { T::ONE } else { T::ZERO }
    }
}

/// `x` for `x > 0`, `α x` otherwise (PyTorch's default slope is `α = 0.01`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu(pub f64);

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu(0.01)
    }
}

impl Elementwise for LeakyRelu {
    #[inline(always)]
    fn f<T: Float>(&self, x: T) -> T {
        if x > T::ZERO { x } else { x * T::of(self.0) }
    }
    #[inline(always)]
    fn df<T: Float>(&self, x: T, _y: T) -> T {
        if x > T::ZERO { T::ONE } else { T::of(self.0) }
    }
}

/// The logistic function `1 / (1 + e⁻ˣ)`, computed without overflow for any `x`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

impl Elementwise for Sigmoid {
    #[inline(always)]
    fn f<T: Float>(&self, x: T) -> T {
        if x >= T::ZERO {
            T::ONE / (T::ONE + (-x).exp())
        } else {
            let e = x.exp();
            e / (T::ONE + e)
        }
    }
    #[inline(always)]
    fn df<T: Float>(&self, _x: T, y: T) -> T {
        y * (T::ONE - y)
    }
}

/// The hyperbolic tangent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

impl Elementwise for Tanh {
    #[inline(always)]
    fn f<T: Float>(&self, x: T) -> T {
        x.tanh()
    }
    #[inline(always)]
    fn df<T: Float>(&self, _x: T, y: T) -> T {
        T::ONE - y * y
    }
}

/// The identity: a named no-op layer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Identity;

impl Elementwise for Identity {
    #[inline(always)]
    fn f<T: Float>(&self, x: T) -> T {
        x
    }
    #[inline(always)]
    fn df<T: Float>(&self, _x: T, _y: T) -> T {
        T::ONE
    }
}

/// Softmax over each column: `yᵢ = e^{xᵢ} / Σⱼ e^{xⱼ}`, with the column maximum
/// subtracted first so no exponent overflows.
///
/// As a model's last layer it is an inference head: training works on the logits before
/// it, with [`SoftmaxCrossEntropy`](crate::SoftmaxCrossEntropy) fusing the two.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softmax;

impl<T: Float, const N: usize> Layer<T, N, N> for Softmax {
    type Grads = ();
    type Scratch<const B: usize> = ();

    fn forward_one_into(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        softmax_into(x.as_slice(), y.as_mut_slice());
    }

    fn forward<const B: usize>(&self, x: &SMatrix<T, N, B>, y: &mut SMatrix<T, N, B>, _scratch: &mut ()) {
        for (y, x) in y.as_mut_slice().chunks_exact_mut(N).zip(x.as_slice().chunks_exact(N)) {
            softmax_into(x, y);
        }
    }

    /// `dx = y ⊙ (dy − ⟨y, dy⟩)`, column by column.
    fn backward<const B: usize>(
        &self,
        _x: &SMatrix<T, N, B>,
        y: &SMatrix<T, N, B>,
        dy: &SMatrix<T, N, B>,
        dx: Option<&mut SMatrix<T, N, B>>,
        _grads: &mut (),
        _scratch: &mut (),
    ) {
        let Some(dx) = dx else { return };
        let cols = y.as_slice().chunks_exact(N).zip(dy.as_slice().chunks_exact(N));
        for (dx, (y, dy)) in dx.as_mut_slice().chunks_exact_mut(N).zip(cols) {
            // dx = y ⊙ (dy − ⟨y, dy⟩)
            let inner = y.iter().zip(dy).fold(T::ZERO, |s, (&y, &d)| s + y * d);
            for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
                *dx = y * (dy - inner);
            }
        }
    }
}

/// Writes the softmax of `x` to `y` (same length), stably.
#[inline]
pub fn softmax_into<T: Float>(x: &[T], y: &mut [T]) {
    let Some(&first) = x.first() else { return };
    let max = x.iter().fold(first, |m, &v| if v > m { v } else { m });
    let mut sum = T::ZERO;
    for (y, &x) in y.iter_mut().zip(x) {
        *y = (x - max).exp();
        sum += *y;
    }
    let inv = T::ONE / sum;
    for y in y.iter_mut() {
        *y *= inv;
    }
}
