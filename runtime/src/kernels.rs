//! The matrix products behind every layer, over nalgebra's column-major static matrices.
//!
//! nalgebra runs products of all-`Const` matrices as generic loops, so the runtime owns
//! these kernels. They take statically sized operands (so a size mismatch is a type error
//! at the call site), allocate nothing and keep their inner loops contiguous so the
//! compiler can vectorise them.

use nalgebra::SMatrix;

use crate::scalar::Float;

/// `c = a · b`, or `c += a · b` when `accumulate` is set.
#[inline]
pub fn matmul<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &SMatrix<T, M, K>,
    b: &SMatrix<T, K, N>,
    c: &mut SMatrix<T, M, N>,
    accumulate: bool,
) {
    if !accumulate {
        c.fill(T::ZERO);
    }
    let a = a.as_slice();
    let b = b.as_slice();
    // Column j of c is the combination of a's columns weighted by column j of b.
    for (c_col, b_col) in c.as_mut_slice().chunks_exact_mut(M).zip(b.chunks_exact(K)) {
        for (a_col, &s) in a.chunks_exact(M).zip(b_col) {
            if s != T::ZERO {
                axpy(s, a_col, c_col);
            }
        }
    }
}

/// `c += a · bᵀ` (the weight gradient `δ · xᵀ` of a dense layer).
#[inline]
pub fn matmul_add_nt<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &SMatrix<T, M, K>,
    b: &SMatrix<T, N, K>,
    c: &mut SMatrix<T, M, N>,
) {
    let a = a.as_slice();
    let b = b.as_slice();
    // Column n of c gathers a's columns weighted by row n of b.
    for (n, c_col) in c.as_mut_slice().chunks_exact_mut(M).enumerate() {
        for (k, a_col) in a.chunks_exact(M).enumerate() {
            let s = b[n + k * N];
            if s != T::ZERO {
                axpy(s, a_col, c_col);
            }
        }
    }
}

/// `c = aᵀ · b` (the input gradient `Wᵀ · δ` of a dense layer).
#[inline]
pub fn matmul_tn<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &SMatrix<T, K, M>,
    b: &SMatrix<T, K, N>,
    c: &mut SMatrix<T, M, N>,
) {
    let a = a.as_slice();
    let b = b.as_slice();
    for (c_col, b_col) in c.as_mut_slice().chunks_exact_mut(M).zip(b.chunks_exact(K)) {
        for (c_el, a_col) in c_col.iter_mut().zip(a.chunks_exact(K)) {
            *c_el = dot(a_col, b_col);
        }
    }
}

/// `y += s · x`.
#[inline(always)]
fn axpy<T: Float>(s: T, x: &[T], y: &mut [T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += s * x;
    }
}

/// `Σ xᵢ yᵢ`, with eight independent partial sums so the loop vectorises.
#[inline(always)]
fn dot<T: Float>(x: &[T], y: &[T]) -> T {
    let mut acc = [T::ZERO; 8];
    let xc = x.chunks_exact(8);
    let yc = y.chunks_exact(8);
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (xs, ys) in xc.zip(yc) {
        for i in 0..8 {
            acc[i] += xs[i] * ys[i];
        }
    }
    let mut sum = T::ZERO;
    for (&x, &y) in xr.iter().zip(yr) {
        sum += x * y;
    }
    acc.iter().fold(sum, |s, &a| s + a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled<const R: usize, const C: usize>(seed: f64) -> SMatrix<f64, R, C> {
        SMatrix::from_fn(|i, j| ((i * 7 + j * 13) as f64 * 0.37 + seed).sin())
    }

    #[test]
    fn products_match_nalgebra() {
        let a = filled::<5, 19>(0.1);
        let b = filled::<19, 3>(0.7);
        let mut c = SMatrix::<f64, 5, 3>::zeros();
        matmul(&a, &b, &mut c, false);
        assert!((c - a * b).abs().max() < 1e-12);
        matmul(&a, &b, &mut c, true);
        assert!((c - 2.0 * a * b).abs().max() < 1e-12);

        let d = filled::<3, 19>(0.3);
        let mut e = SMatrix::<f64, 5, 3>::from_element(1.0);
        matmul_add_nt(&a, &d, &mut e);
        assert!((e - (a * d.transpose()).add_scalar(1.0)).abs().max() < 1e-12);

        let f = filled::<19, 5>(0.9);
        let mut g = SMatrix::<f64, 5, 3>::zeros();
        matmul_tn(&f, &b, &mut g);
        assert!((g - f.transpose() * b).abs().max() < 1e-12);
    }
}
