//! The matrix products behind every layer, over nalgebra's column-major static matrices.
//!
//! nalgebra runs products of all-`Const` matrices as generic loops, so the runtime owns
//! these kernels. The public functions take statically sized operands (a size mismatch is
//! a type error at the call site) and allocate nothing. Underneath, one strided kernel
//! computes `C += A · B` for every product, chosen at run time by one dispatcher (the one
//! place that asks the CPU what it has):
//!
//! - with `std` on x86-64, `f32` products run register-blocked AVX-512 or AVX2+FMA
//!   micro-kernels chosen from the CPU's features, so a default build is fast without
//!   `-C target-cpu=native`;
//! - otherwise a portable loop nest that the compiler vectorises for the build's target,
//!   holding blocks of 16 rows of `C` in registers (on 32-bit Arm with a hard-float FPU,
//!   a Cortex-M4F for one, those blocks run a short `vldm`/`vmla` kernel with the same
//!   results).
//!
//! Both skip a rank-1 update whose multipliers are all zero, which is exact (adding
//! `0 · a` changes nothing but the sign of a zero or a NaN already present) and makes the
//! sparse inputs of real data — MNIST pixels are 81 % zero, ReLU outputs about half —
//! proportionally cheaper.

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod arm;
mod dispatch;
mod portable;
#[cfg(test)]
mod tests;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86;

use nalgebra::SMatrix;

pub(crate) use self::dispatch::{Kernel, run_widest};
use crate::scalar::{Float, SUM_BLOCK};

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
    // b(p, j) is b[p + j·K].
    dispatch::gemm(GemmDims::new(M, K, N), a.as_slice(), b.as_slice(), (1, K), c.as_mut_slice());
}

/// `c += a · bᵀ` (the weight gradient `δ · xᵀ` of a dense layer).
#[inline]
pub fn matmul_add_nt<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &SMatrix<T, M, K>,
    b: &SMatrix<T, N, K>,
    c: &mut SMatrix<T, M, N>,
) {
    // bᵀ(p, j) = b(j, p) is b[j + p·N].
    dispatch::gemm(GemmDims::new(M, K, N), a.as_slice(), b.as_slice(), (N, 1), c.as_mut_slice());
}

/// `c = aᵀ · b` (the input gradient `Wᵀ · δ` of a dense layer).
#[inline]
pub fn matmul_tn<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &SMatrix<T, K, M>,
    b: &SMatrix<T, K, N>,
    c: &mut SMatrix<T, M, N>,
) {
    dispatch::gemm_tn(GemmDims::new(M, K, N), a.as_slice(), b.as_slice(), c.as_mut_slice());
}

/// Columns `start..start + S` of `m` as an `R × S` matrix of their own (no copy: columns
/// are contiguous in nalgebra's column-major storage); `None` if they run past the end.
/// This is how a batch is split into shards.
#[inline]
pub fn shard_columns<T: Float, const R: usize, const C: usize, const S: usize>(
    m: &SMatrix<T, R, C>,
    start: usize,
) -> Option<&SMatrix<T, R, S>> {
    let slice = m.as_slice().get(start * R..(start + S) * R)?;
    bytemuck::try_from_bytes(bytemuck::cast_slice(slice)).ok()
}

/// The shape of `C (m × n) += A (m × k) · B (k × n)`, and the column strides of `A` and
/// `C` (`m` when they are whole matrices; larger for a block of rows of a taller one).
#[derive(Clone, Copy)]
struct GemmDims {
    m: usize,
    k: usize,
    n: usize,
    lda: usize,
    ldc: usize,
}

impl GemmDims {
    /// Whole matrices: `A` and `C` have `m` rows.
    fn new(m: usize, k: usize, n: usize) -> Self {
        GemmDims { m, k, n, lda: m, ldc: m }
    }
}

/// `out[i] += Σⱼ m[i + j·R]`: adds the row sums of the column-major matrix `m` with
/// `R = out.len()` rows (a bias gradient, `Σ δ` over the batch). Up to 256 columns this
/// is the plain running sum; longer rows are summed in blocks of 256 columns whose sums
/// are then added, so a batch of 60 000 keeps the accuracy of a short one.
pub fn add_row_sums<T: Float>(m: &[T], out: &mut [T]) {
    let rows = out.len();
    if rows == 0 {
        return;
    }
    if m.len() <= rows * SUM_BLOCK {
        for col in m.chunks_exact(rows) {
            for (o, &v) in out.iter_mut().zip(col) {
                *o += v;
            }
        }
        return;
    }
    // Rows in chunks of 64, so the partial sums stay in registers and on a small stack.
    const ROWS: usize = 64;
    for (r0, out) in (0..rows).step_by(ROWS).zip(out.chunks_mut(ROWS)) {
        for block in m.chunks(rows * SUM_BLOCK) {
            let mut partial = [T::ZERO; ROWS];
            for col in block.chunks_exact(rows) {
                for (p, &v) in partial.iter_mut().zip(&col[r0..r0 + out.len()]) {
                    *p += v;
                }
            }
            for (o, p) in out.iter_mut().zip(partial) {
                *o += p;
            }
        }
    }
}
