//! Register-blocked `f32` micro-kernels for x86-64 (with `std`), and the packing of `Aᵀ`
//! that lets `aᵀ · b` use them.
//!
//! One generic micro-kernel is written against [`Vector`], a handful of operations on one
//! register width; AVX-512 and AVX2 each implement it, and an entry point compiled with that
//! instruction set ([`gemm_avx512`], [`gemm_avx2`]) instantiates the kernel for it. Which
//! entry point runs is decided in [`dispatch`](super::dispatch), from the CPU's features.

use core::arch::x86_64::*;

use super::GemmDims;

/// `c = aᵀ · b` through the blocked kernels, for long enough columns (`k ≥ 32`; shorter dot
/// products, such as a 10-class output layer's, measured faster directly): `aᵀ` is packed, a
/// panel of at most 32 rows × 256 columns at a time, into a stack buffer (32 KiB) that the
/// kernel reads as an ordinary column-major block, accumulating into the panel's rows of `c`.
pub(super) fn transposed_panels(dims: GemmDims, a: &[f32], b: &[f32], c: &mut [f32]) {
    const ROWS: usize = 32;
    const DEPTH: usize = 256;
    let GemmDims { m, k, n, .. } = dims;
    let mut panel = [0.0f32; ROWS * DEPTH];
    c.fill(0.0);
    for i0 in (0..m).step_by(ROWS) {
        let rows = ROWS.min(m - i0);
        for p0 in (0..k).step_by(DEPTH) {
            let depth = DEPTH.min(k - p0);
            // panel(r, p) = aᵀ(i0 + r, p0 + p) = a[(p0 + p) + (i0 + r)·k]
            for r in 0..rows {
                let column = &a[(i0 + r) * k + p0..(i0 + r) * k + p0 + depth];
                for (p, &value) in column.iter().enumerate() {
                    panel[r + p * rows] = value;
                }
            }
            let block = GemmDims { m: rows, k: depth, n, lda: rows, ldc: m };
            super::dispatch::gemm(block, &panel[..rows * depth], &b[p0..], (1, k), &mut c[i0..]);
        }
    }
}

/// `C += A · B` with the AVX-512 micro-kernels.
///
/// # Safety
/// The CPU must have AVX-512F, and the pointers must hold the operands `dims` and `strides`
/// describe (as [`gemm`](super::dispatch::gemm) checks).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm_avx512(
    dims: GemmDims,
    a: *const f32,
    b: *const f32,
    strides: (usize, usize),
    c: *mut f32,
) {
    // SAFETY: the caller's contract; AVX-512F is enabled here.
    unsafe { blocked_gemm::<Avx512, 4>(dims, a, b, strides, c) }
}

/// `C += A · B` with the AVX2 micro-kernels.
///
/// # Safety
/// The CPU must have AVX2 and FMA; the operands as for [`gemm_avx512`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_avx2(
    dims: GemmDims,
    a: *const f32,
    b: *const f32,
    strides: (usize, usize),
    c: *mut f32,
) {
    // SAFETY: the caller's contract; AVX2 and FMA are enabled here.
    unsafe { blocked_gemm::<Avx2, 3>(dims, a, b, strides, c) }
}

/// The operations the micro-kernel needs from one vector register width.
///
/// # Safety
/// Every method may only run on a CPU with the implementation's instruction set, and
/// is meant to be inlined into a function compiled for it.
pub unsafe trait Vector: Copy {
    /// `f32` lanes per register.
    const LANES: usize;
    /// Which lanes a load or store touches.
    type Mask: Copy;
    /// The first `valid` lanes.
    unsafe fn mask(valid: usize) -> Self::Mask;
    /// All lanes zero.
    unsafe fn zero() -> Self;
    /// Every lane `x`.
    unsafe fn splat(x: f32) -> Self;
    /// Loads the masked lanes from `ptr` (zero elsewhere).
    unsafe fn load(ptr: *const f32, mask: Self::Mask) -> Self;
    /// Stores the masked lanes to `ptr`.
    unsafe fn store(self, ptr: *mut f32, mask: Self::Mask);
    /// `self + a · b`, fused.
    unsafe fn fmadd(self, a: Self, b: Self) -> Self;
}

#[derive(Clone, Copy)]
struct Avx512(__m512);

// SAFETY: AVX-512F intrinsics only; used from `avx512` alone.
unsafe impl Vector for Avx512 {
    const LANES: usize = 16;
    type Mask = __mmask16;
    #[inline(always)]
    unsafe fn mask(valid: usize) -> __mmask16 {
        if valid >= 16 { 0xFFFF } else { (1u16 << valid) - 1 }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        Avx512(unsafe { _mm512_setzero_ps() })
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Avx512(unsafe { _mm512_set1_ps(x) })
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f32, mask: __mmask16) -> Self {
        Avx512(unsafe { _mm512_maskz_loadu_ps(mask, ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32, mask: __mmask16) {
        unsafe { _mm512_mask_storeu_ps(ptr, mask, self.0) }
    }
    #[inline(always)]
    unsafe fn fmadd(self, a: Self, b: Self) -> Self {
        Avx512(unsafe { _mm512_fmadd_ps(a.0, b.0, self.0) })
    }
}

#[derive(Clone, Copy)]
struct Avx2(__m256);

// SAFETY: AVX2 and FMA intrinsics only; used from `avx2` alone.
unsafe impl Vector for Avx2 {
    const LANES: usize = 8;
    type Mask = __m256i;
    #[inline(always)]
    unsafe fn mask(valid: usize) -> __m256i {
        unsafe {
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            _mm256_cmpgt_epi32(_mm256_set1_epi32(valid.min(8) as i32), lane)
        }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        Avx2(unsafe { _mm256_setzero_ps() })
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Avx2(unsafe { _mm256_set1_ps(x) })
    }
    #[inline(always)]
    unsafe fn load(ptr: *const f32, mask: __m256i) -> Self {
        Avx2(unsafe { _mm256_maskload_ps(ptr, mask) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32, mask: __m256i) {
        unsafe { _mm256_maskstore_ps(ptr, mask, self.0) }
    }
    #[inline(always)]
    unsafe fn fmadd(self, a: Self, b: Self) -> Self {
        Avx2(unsafe { _mm256_fmadd_ps(a.0, b.0, self.0) })
    }
}

/// Columns of `C` handled together: each `A` vector loaded is used `NR` times. The
/// last `n mod NR` columns are handled one at a time (a matrix-vector product for a
/// batch of one).
const NR: usize = 4;

/// The whole product, in column blocks of `NR` (then single columns).
#[inline(always)]
unsafe fn blocked_gemm<V: Vector, const WIDE: usize>(
    dims: GemmDims,
    a: *const f32,
    b: *const f32,
    strides: (usize, usize),
    c: *mut f32,
) {
    let n = dims.n;
    let mut j = 0;
    // SAFETY (both): the columns j.. passed lie inside B and C.
    while j + NR <= n {
        unsafe { column_panel::<V, WIDE, NR>(dims, a, b, strides, c, j) };
        j += NR;
    }
    while j < n {
        unsafe { column_panel::<V, WIDE, 1>(dims, a, b, strides, c, j) };
        j += 1;
    }
}

/// Columns `j..j + R` of C, in row tiles of `WIDE` vectors, then single vectors, the
/// last one masked.
#[inline(always)]
unsafe fn column_panel<V: Vector, const WIDE: usize, const R: usize>(
    dims: GemmDims,
    a: *const f32,
    b: *const f32,
    strides: (usize, usize),
    c: *mut f32,
    j: usize,
) {
    let GemmDims { m, k, .. } = dims;
    let (rs, cs) = strides;
    // The rows p of B whose R entries are not all zero, found once for all row tiles
    // without a branch per row, in pieces of at most ACTIVE rows. Each piece's products
    // are summed from zero and then added to C (`tile`), so a long inner dimension is a
    // sum of piece sums: a batch of 60 000 keeps the accuracy of a short one.
    const ACTIVE: usize = 1024;
    let mut active = [0u16; ACTIVE];
    let mut k0 = 0;
    while k0 < k {
        let k1 = (k0 + ACTIVE).min(k);
        let mut count = 0;
        for p in k0..k1 {
            let mut nonzero = false;
            for jj in 0..R {
                // SAFETY: (p, j + jj) lies inside B.
                nonzero |= unsafe { *b.add(p * rs + (j + jj) * cs) } != 0.0;
            }
            active[count] = (p - k0) as u16;
            count += usize::from(nonzero);
        }
        let rows = &active[..count];
        let mut i = 0;
        // SAFETY (all tiles): rows i.. and columns j..j + R lie inside C and A.
        while i + WIDE * V::LANES <= m {
            unsafe { tile::<V, WIDE, R>(dims, a, b, strides, c, i, j, V::LANES, k0, rows) };
            i += WIDE * V::LANES;
        }
        while i < m {
            let valid = (m - i).min(V::LANES);
            unsafe { tile::<V, 1, R>(dims, a, b, strides, c, i, j, valid, k0, rows) };
            i += valid;
        }
        k0 = k1;
    }
}

/// One `LANES·MV × R` tile of C, accumulated in registers over the rows `k0 + p` of B
/// for `p` in `rows` (the others are all zero); the last row vector holds `last` valid
/// lanes.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<V: Vector, const MV: usize, const R: usize>(
    GemmDims { lda, ldc, .. }: GemmDims,
    a: *const f32,
    b: *const f32,
    (rs, cs): (usize, usize),
    c: *mut f32,
    i: usize,
    j: usize,
    last: usize,
    k0: usize,
    rows: &[u16],
) {
    // SAFETY (whole body): the caller keeps rows i..i + LANES·(MV − 1) + last and
    // columns j..j + R inside C (m × n) and A (m × k), and rows k0 + p of those columns
    // inside B; masked lanes past `last` are never touched.
    unsafe {
        let mut masks = [V::mask(V::LANES); MV];
        masks[MV - 1] = V::mask(last);
        // The products are summed from zero and added to C at the end, so that a long
        // product, split into pieces of the inner dimension (`column_panel`), is a sum of
        // piece sums.
        let mut acc = [[V::zero(); MV]; R];
        for &p in rows {
            let p = k0 + usize::from(p);
            let mut row = [0.0f32; R];
            for (jj, value) in row.iter_mut().enumerate() {
                *value = *b.add(p * rs + (j + jj) * cs);
            }
            let mut av = [V::zero(); MV];
            for (v, reg) in av.iter_mut().enumerate() {
                *reg = V::load(a.add(i + V::LANES * v + p * lda), masks[v]);
            }
            for (col, &s) in acc.iter_mut().zip(&row) {
                let s = V::splat(s);
                for (reg, &x) in col.iter_mut().zip(&av) {
                    *reg = reg.fmadd(x, s);
                }
            }
        }
        let one = V::splat(1.0);
        for (jj, col) in acc.iter().enumerate() {
            for (v, reg) in col.iter().enumerate() {
                let at = c.add(i + V::LANES * v + (j + jj) * ldc);
                // C + 1·acc, rounded once: C + acc.
                V::load(at, masks[v]).fmadd(*reg, one).store(at, masks[v]);
            }
        }
    }
}
