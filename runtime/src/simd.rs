//! Run-time selection of the instruction set for element-wise loops.
//!
//! A [`Kernel`]'s body is written once, as plain Rust, and marked `#[inline(always)]`;
//! [`dispatch`] runs it inside a function compiled for AVX-512 or AVX2+FMA when the CPU
//! has them (with `std` on x86-64), so the compiler vectorises it for the wide registers,
//! and as compiled for the build's baseline otherwise. Results are identical either way:
//! only the width of the vectors changes, not the order of operations on each element.

/// A loop body to run with the best available instruction set.
pub(crate) trait Kernel {
    /// Runs the body; implementations must be `#[inline(always)]`.
    fn run(self);
}

/// Runs `kernel` compiled for the widest vector instructions this CPU supports.
#[inline]
pub(crate) fn dispatch<K: Kernel>(kernel: K) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F.
            return unsafe { run_avx512(kernel) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA.
            return unsafe { run_avx2(kernel) };
        }
    }
    kernel.run()
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
