//! The portable kernels: plain loop nests that the compiler vectorises for the build's
//! target (or, through [`run_widest`](super::dispatch::run_widest), for the CPU's widest
//! registers). Every scalar type and every CPU without a faster kernel runs these.

use super::GemmDims;
use super::dispatch::Kernel;
use crate::scalar::Float;

/// `C += A · B`, column by column of `C`. The nonzero multipliers of a column of `B` are
/// found a run of [`RUN`] at a time (their positions in the run, a byte each), and each
/// block of [`ROWS`] rows of `C` then gathers, in registers, `A`'s columns weighted by them,
/// in the order of the inner index. So a multiply-accumulate costs about two instructions
/// (a load of `A`, a multiply-add) on a single-issue core like the Cortex-M4, whose FPU has
/// 32 registers and no cache to hide a store and reload of `C`; the zero test is paid once
/// per multiplier, not once per block, and the list is 32 bytes of stack. Each element of
/// `C` is the same sum, in the same order, as a plain rank-1 loop gives: results do not
/// depend on the blocking.
#[inline]
pub(super) fn gemm_portable<T: Float>(
    dims: GemmDims,
    a: &[T],
    b: &[T],
    (rs, cs): (usize, usize),
    c: &mut [T],
) {
    let GemmDims { m, k, n, lda, ldc } = dims;
    if m == 0 || k == 0 {
        return;
    }
    // Every column of A that `gather` reads, rows `0..m` at `p·lda` for `p < k`, is in `a`.
    assert!(m <= lda && a.len() >= (k - 1) * lda + m, "A holds {k} columns of {m} rows");
    let mut nonzero = [0u8; RUN];
    for (j, c_col) in c.chunks_mut(ldc).take(n).enumerate() {
        let c_col = &mut c_col[..m];
        let mut start = 0;
        while start < k {
            let len = RUN.min(k - start);
            let b = &b[start * rs + j * cs..];
            let count = pick(b, rs, len, &mut nonzero);
            let run = Run { a: &a[start * lda..], lda, b, rs, nonzero: &nonzero[..count] };
            gather_rows(c_col, &run);
            start += len;
        }
    }
}

/// The nonzero multipliers of one run of a column of `B`, and the columns of `A` they weight.
struct Run<'a, T> {
    /// `A` from the run's first column: the run's column `i` starts at `i · lda`, and rows
    /// `0..m` of each are in the slice (checked by [`gemm_portable`]).
    a: &'a [T],
    /// The column stride of `A`.
    lda: usize,
    /// `B`'s column from the run's first multiplier: multiplier `i` is `b[i · rs]`.
    b: &'a [T],
    /// The stride of the multipliers in `b`.
    rs: usize,
    /// The positions `i` in the run of the nonzero multipliers, in order.
    nonzero: &'a [u8],
}

/// Finds the nonzero multipliers among the `len` (at most [`RUN`]) at `b[i · rs]`: their
/// positions go to `nonzero`, and their count is returned.
#[inline(always)]
fn pick<T: Float>(b: &[T], rs: usize, len: usize, nonzero: &mut [u8; RUN]) -> usize {
    let mut count = 0;
    let mut note = |i: usize, s: T| {
        if s != T::ZERO && count < RUN {
            nonzero[count] = i as u8;
            count += 1;
        }
    };
    if rs == 1 {
        for (i, &s) in b[..len].iter().enumerate() {
            note(i, s);
        }
    } else {
        for (i, &s) in b.iter().step_by(rs).take(len).enumerate() {
            note(i, s);
        }
    }
    count
}

/// `y += Σ s · A[column ..][.. y.len()]` over the run's nonzero multipliers: blocks of
/// [`ROWS`] rows, then one of 8 and single rows for the rest (fewer block widths keep the
/// code small on a microcontroller), each held in registers for the run.
#[inline(always)]
fn gather_rows<T: Float>(y: &mut [T], run: &Run<'_, T>) {
    if run.nonzero.is_empty() {
        return;
    }
    let mut row = 0;
    let mut blocks = y.chunks_exact_mut(ROWS);
    for block in &mut blocks {
        gather_block(block, run, row);
        row += ROWS;
    }
    let mut rest = blocks.into_remainder();
    if rest.len() >= 8 {
        let (block, tail) = rest.split_at_mut(8);
        gather::<T, 8>(block, run, row);
        (rest, row) = (tail, row + 8);
    }
    for (r, y) in rest.iter_mut().enumerate() {
        gather::<T, 1>(core::slice::from_mut(y), run, row + r);
    }
}

/// One full block of [`ROWS`] rows: on 32-bit Arm with a hard-float FPU, `f32` runs the
/// [`arm`](super::arm) kernel, the same sums in the same order in fewer instructions.
#[inline(always)]
fn gather_block<T: Float>(y: &mut [T], run: &Run<'_, T>, row: usize) {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() && y.len() == ROWS {
        let y = y.as_mut_ptr().cast::<[f32; ROWS]>();
        let (a, b) = (run.a[row..].as_ptr().cast::<f32>(), run.b.as_ptr().cast::<f32>());
        // SAFETY: `T` is `f32` and `y` holds `ROWS` of them (checked just above). Every
        // listed column `i` of `A` holds rows `row..row + ROWS` at `a + i·lda` (checked by
        // `gemm_portable`), and `pick` read every listed multiplier at `b + i·rs`.
        return unsafe { super::arm::gather16(&mut *y, (a, run.lda), (b, run.rs), run.nonzero) };
    }
    gather::<T, ROWS>(y, run, row);
}

/// The rows of `C` one block holds in registers: 16 accumulators, with room left for the
/// multiplier and the loaded column entries in the Cortex-M4's 32 single-precision
/// registers (and two AVX registers' worth on x86).
const ROWS: usize = 16;

/// How many multipliers are examined at a time (at most 256, so a position fits a byte):
/// each run with a nonzero multiplier costs one load and store of every block's rows.
const RUN: usize = 32;

/// `y[r] += Σ s · A[i·lda + row + r]` over the run's nonzero multipliers `s = b[i·rs]`,
/// in order, with the `W = y.len()` sums in locals (registers) for the whole run.
#[inline(always)]
fn gather<T: Float, const W: usize>(y: &mut [T], run: &Run<'_, T>, row: usize) {
    let mut acc = [T::ZERO; W];
    acc.copy_from_slice(y);
    let a = &run.a[row..];
    for &i in run.nonzero {
        let (i, column) = (usize::from(i), usize::from(i) * run.lda);
        debug_assert!(column + W <= a.len() && i * run.rs < run.b.len());
        // SAFETY: `gemm_portable` checked that every column of A, rows `0..m`, lies in
        // `run.a`, and `row + W <= m`; `pick` read the multiplier. Without the checks this
        // loop is a load and a multiply-add per element.
        let (s, column) = unsafe { (*run.b.get_unchecked(i * run.rs), a.get_unchecked(column..column + W)) };
        for (acc, &x) in acc.iter_mut().zip(column) {
            *acc += s * x;
        }
    }
    y.copy_from_slice(&acc);
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
