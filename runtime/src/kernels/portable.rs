//! The portable kernels: plain loop nests that the compiler vectorises for the build's
//! target (or, through [`run_widest`](super::dispatch::run_widest), for the CPU's widest
//! registers). Every scalar type and every CPU without a faster kernel runs these.

use super::GemmDims;
use super::dispatch::Kernel;
use crate::scalar::Float;

/// `C += A · B`: each column of `C` gathers `A`'s columns weighted by a column of `B`; the
/// inner loop is a contiguous axpy the compiler vectorises. A rank-1 update whose multiplier
/// is zero is skipped.
#[inline]
pub(super) fn gemm_portable<T: Float>(
    dims: GemmDims,
    a: &[T],
    b: &[T],
    (rs, cs): (usize, usize),
    c: &mut [T],
) {
    let GemmDims { m, k, n, lda, ldc } = dims;
    for j in 0..n {
        let c_col = &mut c[j * ldc..j * ldc + m];
        for p in 0..k {
            let s = b[p * rs + j * cs];
            if s != T::ZERO {
                for (y, &x) in c_col.iter_mut().zip(&a[p * lda..p * lda + m]) {
                    *y += s * x;
                }
            }
        }
    }
}

/// `c(i, j) = ⟨column i of a, column j of b⟩` for `k`-long columns: `aᵀ · b`.
pub(super) struct DotProducts<'a, T> {
    pub(super) a: &'a [T],
    pub(super) b: &'a [T],
    pub(super) c: &'a mut [T],
    pub(super) m: usize,
    pub(super) k: usize,
}

impl<T: Float> Kernel for DotProducts<'_, T> {
    #[inline(always)]
    fn run(self) {
        let DotProducts { a, b, c, m, k } = self;
        if m == 0 || k == 0 {
            c.fill(T::ZERO);
            return;
        }
        for (c_col, b_col) in c.chunks_exact_mut(m).zip(b.chunks_exact(k)) {
            for (c_el, a_col) in c_col.iter_mut().zip(a.chunks_exact(k)) {
                *c_el = dot(a_col, b_col);
            }
        }
    }
}

/// `Σ xᵢ yᵢ`, with eight independent partial sums so the loop vectorises (one AVX
/// register of `f32`; short columns, like a 10-class output layer's, still use it).
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
