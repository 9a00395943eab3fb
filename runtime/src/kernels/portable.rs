//! The portable kernels: plain loop nests that the compiler vectorises for the build's
//! target (or, through [`run_widest`](super::dispatch::run_widest), for the CPU's widest
//! registers). Every scalar type and every CPU without a faster kernel runs these.

use super::GemmDims;
use super::dispatch::Kernel;
use crate::scalar::Float;

/// `C += A · B`, column by column of `C`. The nonzero multipliers of a column of `B` are
/// listed a run of [`RUN`] at a time, and each block of [`ROWS`] rows of `C` then gathers,
/// in registers, `A`'s columns weighted by those multipliers, in the order of the inner
/// index. So a multiply-accumulate costs about two instructions (one load of `A`, one
/// fused-free multiply-add) on a single-issue core like the Cortex-M4, whose FPU has 32
/// registers and no cache to hide a store and reload of `C`; the zero test is paid once
/// per multiplier, not once per block. Each element of `C` is the same sum, in the same
/// order, as a plain rank-1 loop gives: results do not depend on the blocking.
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
    let mut picked = [Pick { offset: 0, value: T::ZERO }; RUN];
    for (j, c_col) in c.chunks_mut(ldc).take(n).enumerate() {
        let c_col = &mut c_col[..m];
        let mut start = 0;
        while start < k {
            let end = (start + RUN).min(k);
            let count = if rs == 1 {
                pick(&b[start + j * cs..end + j * cs], lda * start, lda, &mut picked)
            } else {
                let column = b[start * rs + j * cs..].iter().step_by(rs).take(end - start);
                pick(column, lda * start, lda, &mut picked)
            };
            gather_rows(c_col, a, &picked[..count]);
            start = end;
        }
    }
}

/// Lists the nonzero multipliers of `column` in `picked`, with the offsets of the columns of
/// `A` they weight (`first`, then `stride` apart); returns how many there are.
#[inline(always)]
fn pick<'b, T: Float + 'b>(
    column: impl IntoIterator<Item = &'b T>,
    first: usize,
    stride: usize,
    picked: &mut [Pick<T>; RUN],
) -> usize {
    let mut count = 0;
    let mut offset = first;
    for &s in column {
        if s != T::ZERO && count < RUN {
            picked[count] = Pick { offset, value: s };
            count += 1;
        }
        offset += stride;
    }
    count
}

/// `y += Σ s · A[offset ..][.. y.len()]` over the listed `(offset, s)`: blocks of [`ROWS`]
/// rows, then narrower blocks for the rest, each held in registers for the whole list.
#[inline(always)]
fn gather_rows<T: Float>(y: &mut [T], a: &[T], picked: &[Pick<T>]) {
    if picked.is_empty() {
        return;
    }
    let mut row = 0;
    let mut blocks = y.chunks_exact_mut(ROWS);
    for block in &mut blocks {
        gather_block(block, a, row, picked);
        row += ROWS;
    }
    let mut rest = blocks.into_remainder();
    if rest.len() >= 8 {
        let (block, tail) = rest.split_at_mut(8);
        gather::<T, 8>(block, a, row, picked);
        (rest, row) = (tail, row + 8);
    }
    if rest.len() >= 4 {
        let (block, tail) = rest.split_at_mut(4);
        gather::<T, 4>(block, a, row, picked);
        (rest, row) = (tail, row + 4);
    }
    for (r, y) in rest.iter_mut().enumerate() {
        gather::<T, 1>(core::slice::from_mut(y), a, row + r, picked);
    }
}

/// A nonzero multiplier of a column of `B` and the offset in `A` of the column it weights.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Pick<T> {
    /// Where the column starts in `A`.
    pub(super) offset: usize,
    /// The multiplier.
    pub(super) value: T,
}

/// One full block of [`ROWS`] rows: on 32-bit Arm with a hard-float FPU, `f32` runs the
/// [`arm`](super::arm) kernel (the same sums, in the same order, in fewer instructions).
#[inline(always)]
fn gather_block<T: Float>(y: &mut [T], a: &[T], row: usize, picked: &[Pick<T>]) {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() && y.len() == ROWS {
        let a = &a[row..];
        // SAFETY: `T` is `f32` and `y` holds `ROWS` of them (checked just above), so these
        // are the same slices with their own type; `Pick<T>` is `repr(C)`, so `Pick<f32>` has its layout.
        let (y, a, picked) = unsafe {
            (
                &mut *y.as_mut_ptr().cast::<[f32; ROWS]>(),
                core::slice::from_raw_parts(a.as_ptr().cast::<f32>(), a.len()),
                core::slice::from_raw_parts(picked.as_ptr().cast::<Pick<f32>>(), picked.len()),
            )
        };
        // SAFETY: `gemm_portable` checked that every listed column, rows `0..m`, lies in
        // `a`, and this block's rows `row..row + ROWS` are within `m`.
        return unsafe { super::arm::gather16(y, a, picked) };
    }
    gather::<T, ROWS>(y, a, row, picked);
}

/// The rows of `C` one block holds in registers: 16 accumulators, with room left for the
/// multiplier and the loaded column entries in the Cortex-M4's 32 single-precision
/// registers (and two AVX registers' worth on x86).
const ROWS: usize = 16;

/// How many multipliers are listed at a time: the list (offset and value) stays a few
/// hundred bytes of stack, and each run costs one load and store of a block's rows.
const RUN: usize = 32;

/// `y[r] += Σ s · a[offset + row + r]` over the `(offset, s)` pairs, in order, with the
/// `W` sums in locals (registers) for the whole run. `W = y.len()`, and every `offset`
/// is that of a column of `A` holding rows `row..row + W` (checked by the caller).
#[inline(always)]
fn gather<T: Float, const W: usize>(y: &mut [T], a: &[T], row: usize, picked: &[Pick<T>]) {
    let mut acc = [T::ZERO; W];
    acc.copy_from_slice(y);
    let a = &a[row..];
    for &Pick { offset, value: s } in picked {
        debug_assert!(offset + W <= a.len());
        // SAFETY: `gemm_portable` checked that every column of A, rows `0..m`, lies in `a`,
        // and `row + W <= m`; without the check this loop is a load and a multiply-add per
        // element.
        let column = unsafe { a.get_unchecked(offset..offset + W) };
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
