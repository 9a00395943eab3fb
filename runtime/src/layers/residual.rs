//! Residual (skip) connections: a block whose output is added to its input, `y = x + f(x)`,
//! or to its shortcut's output, `y = s(x) + f(x)`.
//!
//! The block's layers compute `f(x)` (and the shortcut's `s(x)`) as usual, through the
//! [`Layer`](super::Layer) protocol; the two functions here are the skip connection itself,
//! called by the code `model!` generates. Backward runs the block's layers first, which
//! write the gradient with respect to `x` through `f`, and `add_grad` then adds the skip
//! path's share: `dy` itself, or the gradient the shortcut's layers sent back.

use nalgebra::SMatrix;

use crate::scalar::Float;

/// `y = x + fx`: the block's input (or its shortcut's output) plus its layers' output
/// `fx = f(x)`.
#[doc(hidden)]
#[inline]
pub fn add<T: Float, const R: usize, const B: usize>(
    x: &SMatrix<T, R, B>,
    fx: &SMatrix<T, R, B>,
    y: &mut SMatrix<T, R, B>,
) {
    for ((y, &x), &fx) in y.as_mut_slice().iter_mut().zip(x.as_slice()).zip(fx.as_slice()) {
        *y = x + fx;
    }
}

/// `dx += dy`: adds the skip path's gradient `dy` to `dx`, which holds the gradient that
/// flowed back through the block's layers.
#[doc(hidden)]
#[inline]
pub fn add_grad<T: Float, const R: usize, const B: usize>(dy: &SMatrix<T, R, B>, dx: &mut SMatrix<T, R, B>) {
    for (dx, &dy) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
        *dx += dy;
    }
}
