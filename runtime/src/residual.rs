//! Residual (skip) connections: a block whose output is added to its input, `y = x + f(x)`.
//!
//! The block's layers compute `f(x)` as usual; these two functions are the skip
//! connection itself. Backward runs the block's layers first, which write the gradient
//! with respect to `x` through `f`, and [`backward`] then adds the skip path's share `dy`.

use nalgebra::SMatrix;

use crate::scalar::Float;

/// `y = x + f(x)`, given the block's output `fx = f(x)`.
#[inline]
pub fn forward<T: Float, const R: usize, const B: usize>(
    x: &SMatrix<T, R, B>,
    fx: &SMatrix<T, R, B>,
    y: &mut SMatrix<T, R, B>,
) {
    for ((y, &x), &fx) in y.as_mut_slice().iter_mut().zip(x.as_slice()).zip(fx.as_slice()) {
        *y = x + fx;
    }
}

/// `dx += dy`: adds the skip path's gradient to `dx`, which holds the gradient that flowed
/// back through the block's layers.
#[inline]
pub fn backward<T: Float, const R: usize, const B: usize>(dy: &SMatrix<T, R, B>, dx: &mut SMatrix<T, R, B>) {
    for (dx, &dy) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
        *dx += dy;
    }
}
