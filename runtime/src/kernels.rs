//! The matrix products behind every layer, over nalgebra's column-major static matrices.
//!
//! nalgebra runs products of all-`Const` matrices as generic loops, so the runtime owns
//! these kernels. The public functions take statically sized operands (a size mismatch is
//! a type error at the call site) and allocate nothing. Underneath, one strided kernel
//! computes `C += A · B` for every product:
//!
//! - with `std` on x86-64, `f32` products run register-blocked AVX-512 or AVX2+FMA
//!   micro-kernels chosen at run time from the CPU's features, so a default build is fast
//!   without `-C target-cpu=native`;
//! - otherwise a portable loop nest that the compiler vectorises for the build's target.
//!
//! Both skip a rank-1 update whose multipliers are all zero, which is exact (adding
//! `0 · a` changes nothing but the sign of a zero or a NaN already present) and makes the
//! sparse inputs of real data — MNIST pixels are 81 % zero, ReLU outputs about half —
//! proportionally cheaper.

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
    // b(p, j) is b[p + j·K].
    gemm(Dims::new(M, K, N), a.as_slice(), b.as_slice(), (1, K), c.as_mut_slice());
}

/// `c += a · bᵀ` (the weight gradient `δ · xᵀ` of a dense layer).
#[inline]
pub fn matmul_add_nt<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &SMatrix<T, M, K>,
    b: &SMatrix<T, N, K>,
    c: &mut SMatrix<T, M, N>,
) {
    // bᵀ(p, j) = b(j, p) is b[j + p·N].
    gemm(Dims::new(M, K, N), a.as_slice(), b.as_slice(), (N, 1), c.as_mut_slice());
}

/// `c = aᵀ · b` (the input gradient `Wᵀ · δ` of a dense layer).
#[inline]
pub fn matmul_tn<T: Float, const M: usize, const K: usize, const N: usize>(
    a: &SMatrix<T, K, M>,
    b: &SMatrix<T, K, N>,
    c: &mut SMatrix<T, M, N>,
) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if let (Some(a), Some(b), Some(c)) =
        (as_f32(a.as_slice()), as_f32(b.as_slice()), as_f32_mut(c.as_mut_slice()))
        && N >= 4
        && K >= 32
    {
        return transposed_panels(Dims::new(M, K, N), a, b, c);
    }
    crate::simd::dispatch(DotProducts { a: a.as_slice(), b: b.as_slice(), c: c.as_mut_slice(), m: M, k: K });
}

/// `c = aᵀ · b` through the blocked kernels, for long enough columns (`k ≥ 32`; shorter dot
/// products, such as a 10-class output layer's, measured faster directly): `aᵀ` is packed, a panel of at most 32 rows ×
/// 256 columns at a time, into a stack buffer (32 KiB) that the kernel reads as an ordinary
/// column-major block, accumulating into the panel's rows of `c`.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn transposed_panels(dims: Dims, a: &[f32], b: &[f32], c: &mut [f32]) {
    const ROWS: usize = 32;
    const DEPTH: usize = 256;
    let Dims { m, k, n, .. } = dims;
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
            let block = Dims { m: rows, k: depth, n, lda: rows, ldc: m };
            gemm(block, &panel[..rows * depth], &b[p0..], (1, k), &mut c[i0..]);
        }
    }
}

/// `c(i, j) = ⟨column i of a, column j of b⟩` for `k`-long columns: `aᵀ · b`.
struct DotProducts<'a, T> {
    a: &'a [T],
    b: &'a [T],
    c: &'a mut [T],
    m: usize,
    k: usize,
}

impl<T: Float> crate::simd::Kernel for DotProducts<'_, T> {
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

/// Columns `start..start + S` of `m` as an `R × S` matrix of their own (no copy: columns
/// are contiguous in nalgebra's column-major storage); `None` if they run past the end.
#[inline]
pub fn columns<T: Float, const R: usize, const C: usize, const S: usize>(
    m: &SMatrix<T, R, C>,
    start: usize,
) -> Option<&SMatrix<T, R, S>> {
    let slice = m.as_slice().get(start * R..(start + S) * R)?;
    bytemuck::try_from_bytes(bytemuck::cast_slice(slice)).ok()
}

/// The shape of `C (m × n) += A (m × k) · B (k × n)`, and the column strides of `A` and
/// `C` (`m` when they are whole matrices; larger for a block of rows of a taller one).
#[derive(Clone, Copy)]
struct Dims {
    m: usize,
    k: usize,
    n: usize,
    lda: usize,
    ldc: usize,
}

impl Dims {
    /// Whole matrices: `A` and `C` have `m` rows.
    fn new(m: usize, k: usize, n: usize) -> Self {
        Dims { m, k, n, lda: m, ldc: m }
    }
}

/// `C += A · B` with `A` column-major `m × k`, `C` column-major `m × n`, and `B`'s element
/// `(p, j)` at `b[p·rs + j·cs]` (so `Bᵀ` is a stride swap away).
#[inline]
fn gemm<T: Float>(dims: Dims, a: &[T], b: &[T], (rs, cs): (usize, usize), c: &mut [T]) {
    debug_assert!(dims.k == 0 || a.len() >= (dims.k - 1) * dims.lda + dims.m);
    debug_assert!(dims.n == 0 || c.len() >= (dims.n - 1) * dims.ldc + dims.m);
    debug_assert!(dims.k == 0 || dims.n == 0 || b.len() > (dims.k - 1) * rs + (dims.n - 1) * cs);
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if let (Some(a), Some(b), Some(c)) = (as_f32(a), as_f32(b), as_f32_mut(c))
        && x86::gemm_f32(dims, a, b, (rs, cs), c)
    {
        return;
    }
    gemm_portable(dims, a, b, (rs, cs), c);
}

/// The portable kernel: each column of `C` gathers `A`'s columns weighted by a column of
/// `B`; the inner loop is a contiguous axpy the compiler vectorises.
#[inline]
fn gemm_portable<T: Float>(dims: Dims, a: &[T], b: &[T], (rs, cs): (usize, usize), c: &mut [T]) {
    let Dims { m, k, n, lda, ldc } = dims;
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

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn as_f32<T: Float>(x: &[T]) -> Option<&[f32]> {
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() {
        bytemuck::try_cast_slice(x).ok()
    } else {
        None
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn as_f32_mut<T: Float>(x: &mut [T]) -> Option<&mut [f32]> {
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() {
        bytemuck::try_cast_slice_mut(x).ok()
    } else {
        None
    }
}

/// Register-blocked `f32` micro-kernels for x86-64, chosen by run-time CPU detection.
///
/// One generic micro-kernel is written against [`Vector`](x86::Vector), a handful of
/// operations on one register width; AVX-512 and AVX2 each implement it, and an entry
/// point compiled with that instruction set instantiates the kernel for it.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use core::arch::x86_64::*;

    use super::Dims;

    /// Runs `C += A · B` on the best kernel this CPU has; `false` if it has none (the
    /// caller then uses the portable loops).
    pub fn gemm_f32(dims: Dims, a: &[f32], b: &[f32], strides: (usize, usize), c: &mut [f32]) -> bool {
        if dims.m == 0 || dims.n == 0 || dims.k == 0 {
            return true;
        }
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F; the slices hold the operands (checked by `gemm`).
            unsafe { avx512(dims, a.as_ptr(), b.as_ptr(), strides, c.as_mut_ptr()) };
            true
        } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: as above, with AVX2 and FMA.
            unsafe { avx2(dims, a.as_ptr(), b.as_ptr(), strides, c.as_mut_ptr()) };
            true
        } else {
            false
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn avx512(dims: Dims, a: *const f32, b: *const f32, strides: (usize, usize), c: *mut f32) {
        // SAFETY: the caller's contract; AVX-512F is enabled here.
        unsafe { gemm::<Avx512, 4>(dims, a, b, strides, c) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2(dims: Dims, a: *const f32, b: *const f32, strides: (usize, usize), c: *mut f32) {
        // SAFETY: the caller's contract; AVX2 and FMA are enabled here.
        unsafe { gemm::<Avx2, 3>(dims, a, b, strides, c) }
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
    unsafe fn gemm<V: Vector, const WIDE: usize>(
        dims: Dims,
        a: *const f32,
        b: *const f32,
        strides: (usize, usize),
        c: *mut f32,
    ) {
        let n = dims.n;
        let mut j = 0;
        // SAFETY (both): the columns j.. passed lie inside B and C.
        while j + NR <= n {
            unsafe { columns::<V, WIDE, NR>(dims, a, b, strides, c, j) };
            j += NR;
        }
        while j < n {
            unsafe { columns::<V, WIDE, 1>(dims, a, b, strides, c, j) };
            j += 1;
        }
    }

    /// Columns `j..j + R` of C, in row tiles of `WIDE` vectors, then single vectors, the
    /// last one masked.
    #[inline(always)]
    unsafe fn columns<V: Vector, const WIDE: usize, const R: usize>(
        dims: Dims,
        a: *const f32,
        b: *const f32,
        strides: (usize, usize),
        c: *mut f32,
        j: usize,
    ) {
        let Dims { m, k, .. } = dims;
        let (rs, cs) = strides;
        // The rows p of B whose R entries are not all zero, found once for all row tiles
        // without a branch per row, in pieces of at most ACTIVE rows.
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
        Dims { lda, ldc, .. }: Dims,
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
            let mut acc = [[V::zero(); MV]; R];
            for (jj, col) in acc.iter_mut().enumerate() {
                for (v, reg) in col.iter_mut().enumerate() {
                    *reg = V::load(c.add(i + V::LANES * v + (j + jj) * ldc), masks[v]);
                }
            }
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
            for (jj, col) in acc.iter().enumerate() {
                for (v, reg) in col.iter().enumerate() {
                    reg.store(c.add(i + V::LANES * v + (j + jj) * ldc), masks[v]);
                }
            }
        }
    }

    #[cfg(test)]
    pub fn avx2_available() -> bool {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }

    /// Runs the AVX2 kernel directly (tests cover it on AVX-512 machines too).
    #[cfg(test)]
    pub fn gemm_avx2(dims: Dims, a: &[f32], b: &[f32], strides: (usize, usize), c: &mut [f32]) {
        assert!(avx2_available());
        // SAFETY: checked above; the test passes correctly sized slices.
        unsafe { avx2(dims, a.as_ptr(), b.as_ptr(), strides, c.as_mut_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled<const R: usize, const C: usize>(seed: f64) -> SMatrix<f64, R, C> {
        // Every third entry zero, to exercise the zero-skipping paths.
        SMatrix::from_fn(|i, j| {
            if (i + 2 * j) % 3 == 0 { 0.0 } else { ((i * 7 + j * 13) as f64 * 0.37 + seed).sin() }
        })
    }

    fn check_products<const M: usize, const K: usize, const N: usize>() {
        let a = filled::<M, K>(0.1);
        let b = filled::<K, N>(0.7);
        let mut c = SMatrix::<f64, M, N>::zeros();
        matmul(&a, &b, &mut c, false);
        assert!((c - a * b).abs().max() < 1e-12);
        matmul(&a, &b, &mut c, true);
        assert!((c - 2.0 * a * b).abs().max() < 1e-12);

        let d = filled::<N, K>(0.3);
        let mut e = SMatrix::<f64, M, N>::from_element(1.0);
        matmul_add_nt(&a, &d, &mut e);
        assert!((e - (a * d.transpose()).add_scalar(1.0)).abs().max() < 1e-12);

        let f = filled::<K, M>(0.9);
        let mut g = SMatrix::<f64, M, N>::zeros();
        matmul_tn(&f, &b, &mut g);
        assert!((g - f.transpose() * b).abs().max() < 1e-12);

        // The same products in f32 take the SIMD kernels where the CPU has them.
        let (a32, b32, d32) = (a.cast::<f32>(), b.cast::<f32>(), d.cast::<f32>());
        let mut c32 = SMatrix::<f32, M, N>::from_element(0.5);
        matmul(&a32, &b32, &mut c32, true);
        let want = (a * b).add_scalar(0.5);
        assert!((c32.cast::<f64>() - want).abs().max() < 1e-4 * (K as f64), "nn {M}x{K}x{N}");
        let mut g32 = SMatrix::<f32, M, N>::from_element(7.0);
        matmul_tn(&f.cast::<f32>(), &b32, &mut g32);
        assert!((g32.cast::<f64>() - f.transpose() * b).abs().max() < 1e-4 * (K as f64), "tn {M}x{K}x{N}");
        let mut e32 = SMatrix::<f32, M, N>::zeros();
        matmul_add_nt(&a32, &d32, &mut e32);
        assert!((e32.cast::<f64>() - a * d.transpose()).abs().max() < 1e-4 * (K as f64), "nt {M}x{K}x{N}");

        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if x86::avx2_available() {
            let mut c = SMatrix::<f32, M, N>::from_element(0.5);
            x86::gemm_avx2(Dims::new(M, K, N), a32.as_slice(), b32.as_slice(), (1, K), c.as_mut_slice());
            assert!((c.cast::<f64>() - want).abs().max() < 1e-4 * (K as f64), "avx2 nn {M}x{K}x{N}");
            let mut e = SMatrix::<f32, M, N>::zeros();
            x86::gemm_avx2(Dims::new(M, K, N), a32.as_slice(), d32.as_slice(), (N, 1), e.as_mut_slice());
            assert!(
                (e.cast::<f64>() - a * d.transpose()).abs().max() < 1e-4 * (K as f64),
                "avx2 nt {M}x{K}x{N}"
            );
        }
    }

    #[cfg(feature = "std")]
    #[test]
    fn long_inner_dimensions_span_several_pieces() {
        // 2100 = 1024 + 1024 + 52 rows of B; a debug build keeps every temporary of the
        // reference products on the stack, so this runs on a larger one.
        let worker = std::thread::Builder::new().stack_size(64 << 20).spawn(check_products::<3, 2100, 5>);
        worker.expect("spawn").join().expect("products agree");
    }

    #[test]
    fn products_match_nalgebra_at_every_tile_edge() {
        check_products::<5, 19, 3>();
        check_products::<1, 1, 1>();
        check_products::<16, 7, 4>();
        check_products::<17, 3, 5>();
        check_products::<64, 9, 8>();
        check_products::<70, 33, 9>();
        check_products::<128, 20, 1>();
        check_products::<10, 128, 6>();
        check_products::<83, 2, 13>();
    }
}
