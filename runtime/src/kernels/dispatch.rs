//! Run-time selection of the instruction set: the one place that asks the CPU what it has.
//!
//! With `std` on x86-64 the CPU's features are detected at run time ([`Isa::detect`]), so a
//! default build is fast without `-C target-cpu=native`; everywhere else the build's
//! baseline is used. Two kinds of work are dispatched:
//!
//! - matrix products ([`gemm`], [`gemm_tn`]): `f32` operands run the register-blocked
//!   AVX-512 or AVX2+FMA micro-kernels of [`x86`](super::x86), anything else the
//!   [portable](super::portable) loops;
//! - element-wise loops ([`Kernel`], [`run_widest`]): a body written once, as plain Rust and
//!   marked `#[inline(always)]`, runs inside a function compiled for AVX-512 or AVX2+FMA, so
//!   the compiler vectorises it for the wide registers. Results are identical either way:
//!   only the width of the vectors changes, not the order of operations on each element.

use super::GemmDims;
use super::portable::{DotProducts, gemm_portable};
use crate::scalar::Float;

/// The instruction sets the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    /// AVX-512F.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    Avx512,
    /// AVX2 and FMA.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    Avx2,
    /// The build's target features, whatever they are.
    Baseline,
}

impl Isa {
    /// The widest instruction set this CPU supports (detection is cached by `std`).
    #[inline]
    fn detect() -> Isa {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Baseline
    }
}

/// A loop body to run with the best available instruction set.
pub(crate) trait Kernel {
    /// Runs the body; implementations must be `#[inline(always)]`.
    fn run(self);
}

/// Runs `kernel` compiled for the widest vector instructions this CPU supports.
#[inline]
pub(crate) fn run_widest<K: Kernel>(kernel: K) {
    match Isa::detect() {
        // SAFETY: the CPU supports AVX-512F.
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx512 => unsafe { run_avx512(kernel) },
        // SAFETY: the CPU supports AVX2 and FMA.
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx2 => unsafe { run_avx2(kernel) },
        Isa::Baseline => kernel.run(),
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512<K: Kernel>(kernel: K) {
    kernel.run()
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<K: Kernel>(kernel: K) {
    kernel.run()
}

/// `C += A · B` with `A` column-major `m × k`, `C` column-major `m × n`, and `B`'s element
/// `(p, j)` at `b[p·rs + j·cs]` (so `Bᵀ` is a stride swap away), on the best kernel for `T`
/// and this CPU.
///
/// The `f32` kernels sum the inner dimension in pieces of 1 024 and add each piece's sum
/// to `C`, so a long product (a weight gradient over a batch of 60 000) is a sum of block
/// sums and keeps the accuracy of a short one.
#[inline]
pub(super) fn gemm<T: Float>(dims: GemmDims, a: &[T], b: &[T], (rs, cs): (usize, usize), c: &mut [T]) {
    debug_assert!(dims.k == 0 || a.len() >= (dims.k - 1) * dims.lda + dims.m);
    debug_assert!(dims.n == 0 || c.len() >= (dims.n - 1) * dims.ldc + dims.m);
    debug_assert!(dims.k == 0 || dims.n == 0 || b.len() > (dims.k - 1) * rs + (dims.n - 1) * cs);
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if let (Some(a), Some(b), Some(c)) = (as_f32(a), as_f32(b), as_f32_mut(c)) {
        if dims.m == 0 || dims.n == 0 || dims.k == 0 {
            return;
        }
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        match Isa::detect() {
            // SAFETY: the CPU has AVX-512F; the slices hold the operands (checked above).
            Isa::Avx512 => return unsafe { super::x86::gemm_avx512(dims, a, b, (rs, cs), c) },
            // SAFETY: as above, with AVX2 and FMA.
            Isa::Avx2 => return unsafe { super::x86::gemm_avx2(dims, a, b, (rs, cs), c) },
            Isa::Baseline => {}
        }
    }
    gemm_portable(dims, a, b, (rs, cs), c);
}

/// `C = Aᵀ · B` with `A` column-major `k × m`, `B` column-major `k × n` and `C` column-major
/// `m × n`: `f32` products with enough columns and long enough dot products run through the
/// blocked kernels on a packed `Aᵀ`, the others as dot products.
#[inline]
pub(super) fn gemm_tn<T: Float>(dims: GemmDims, a: &[T], b: &[T], c: &mut [T]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if let (true, Some(a), Some(b), Some(c)) =
        (dims.n >= 4 && dims.k >= 32, as_f32(a), as_f32(b), as_f32_mut(c))
    {
        return super::x86::transposed_panels(dims, a, b, c);
    }
    run_widest(DotProducts { a, b, c, m: dims.m, k: dims.k });
}

/// `x` as `f32`s, if `T` is `f32`.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn as_f32<T: Float>(x: &[T]) -> Option<&[f32]> {
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() {
        bytemuck::try_cast_slice(x).ok()
    } else {
        None
    }
}

/// `x` as mutable `f32`s, if `T` is `f32`.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn as_f32_mut<T: Float>(x: &mut [T]) -> Option<&mut [f32]> {
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() {
        bytemuck::try_cast_slice_mut(x).ok()
    } else {
        None
    }
}
