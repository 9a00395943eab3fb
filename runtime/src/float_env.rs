//! The floating-point environment kernels run in: whether subnormal numbers are flushed
//! to zero.
//!
//! Subnormal (denormal) floats are the tiny values below `f32::MIN_POSITIVE` (≈ 1.2e-38).
//! Training produces them steadily: Adam's first moment decays by `β₁ = 0.9` per step
//! wherever a gradient is zero (pixels that are always zero, dead ReLU units) and spends
//! hundreds of steps in the subnormal range before it underflows to zero. Many x86 cores
//! (Intel's especially) take a microcode assist of about a hundred cycles for every
//! subnormal operand or result, which can double an epoch's time. XLA, TensorFlow and
//! oneDNN therefore flush them, and so do the trainers here:
//! [`Trainer`](crate::Trainer) and [`ParallelTrainer`](crate::ParallelTrainer) run every
//! step and every inference call under a [`FloatEnvGuard`] in [`Denormals::Flush`] mode,
//! on the calling thread and on each pool worker, and restore each thread's previous
//! setting afterwards, so the caller's floating-point environment never changes behind
//! its back. `trainer.set_denormals(Denormals::Preserve)` keeps exact IEEE behaviour.
//!
//! What flushing changes: a result that would be subnormal becomes ±0 (flush-to-zero,
//! FTZ), and a subnormal input is read as ±0 (denormals-are-zero, DAZ). Arithmetic on
//! normal numbers is unchanged, so a model's results differ from exact IEEE only where a
//! value passes through the subnormal range, far below the rounding error of `f32`
//! training (the reference MNIST job reaches the same test accuracy either way; see the
//! README). Finite-difference gradient checks run in exact mode: they call the layers
//! directly, outside any trainer.
//!
//! On x86-64 the guard sets the MXCSR bits FTZ (15) and DAZ (6); on AArch64, FPCR.FZ
//! (bit 24), which does both. Elsewhere it does nothing ([`SUPPORTED`] is `false`). The
//! guard works without `std`, so [`train_step`](crate::train_step) users on those targets
//! can hold one around their loop. On a Cortex-M4F/M7 (`thumbv7em-none-eabihf`), set
//! FPSCR.FZ (bit 24) once at start-up instead, e.g.
//! `asm!("vmrs {t}, fpscr", "orr {t}, {t}, #0x1000000", "vmsr fpscr, {t}", t = out(reg) _)`:
//! the M4's FPU handles subnormals at full speed, so there it only makes results match a
//! flushing host bit for bit.

/// How the threads that run kernels treat subnormal floats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Denormals {
    /// Flush subnormal results and inputs to zero (FTZ and DAZ): the trainers' default.
    #[default]
    Flush,
    /// Leave the thread's floating-point environment as it is: exact IEEE arithmetic,
    /// unless the caller set flushing itself.
    Preserve,
}

/// Whether [`FloatEnvGuard`] can flush subnormals on this target.
pub const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// The control bits that flush subnormals: MXCSR's FTZ and DAZ, or FPCR's FZ.
#[cfg(target_arch = "x86_64")]
const FLUSH_BITS: usize = (1 << 15) | (1 << 6);
#[cfg(target_arch = "aarch64")]
const FLUSH_BITS: usize = 1 << 24;

/// Reads this thread's floating-point control register.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline]
fn read_control() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr: u32 = 0;
        // SAFETY: `stmxcsr` stores the 32-bit MXCSR to the given, valid address.
        unsafe { core::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
        csr as usize
    }
    #[cfg(target_arch = "aarch64")]
    {
        let fpcr: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe { core::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags)) };
        fpcr as usize
    }
}

/// Writes this thread's floating-point control register.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline]
fn write_control(value: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let csr = value as u32;
        // SAFETY: `ldmxcsr` loads MXCSR from a valid address; `value` came from
        // `read_control` with only the flush bits changed, so no reserved bit is set.
        unsafe {
            core::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly, preserves_flags))
        };
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: as above, FPCR with only FZ changed.
        unsafe {
            core::arch::asm!("msr fpcr, {}", in(reg) value as u64, options(nomem, nostack, preserves_flags))
        };
    }
}

/// `true` if this thread currently flushes subnormals (always `false` where
/// [`SUPPORTED`] is `false`).
pub fn flushing() -> bool {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        read_control() & FLUSH_BITS == FLUSH_BITS
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Sets this thread's subnormal handling for as long as it lives, then restores what was
/// there before. Cheap (two control-register writes), so the trainers take one per call.
///
/// ```
/// use staticnn_runtime::float_env::{Denormals, FloatEnvGuard, SUPPORTED};
///
/// let tiny = std::hint::black_box(f32::MIN_POSITIVE);
/// {
///     let _flush = FloatEnvGuard::new(Denormals::Flush);
///     let half = std::hint::black_box(tiny) * 0.5; // subnormal: flushed
///     assert!(!SUPPORTED || half == 0.0);
/// }
/// assert!(std::hint::black_box(tiny) * 0.5 > 0.0); // restored: exact IEEE again
/// ```
#[must_use = "the setting lasts only as long as the guard"]
#[derive(Debug)]
pub struct FloatEnvGuard {
    /// The control register's previous value, if this guard changed it.
    #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
    restore: Option<usize>,
}

impl FloatEnvGuard {
    /// Applies `mode` to the calling thread.
    #[inline]
    pub fn new(mode: Denormals) -> Self {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        if mode == Denormals::Flush {
            let before = read_control();
            if before & FLUSH_BITS != FLUSH_BITS {
                write_control(before | FLUSH_BITS);
                return FloatEnvGuard { restore: Some(before) };
            }
        }
        let _ = mode;
        FloatEnvGuard { restore: None }
    }
}

impl Drop for FloatEnvGuard {
    #[inline]
    fn drop(&mut self) {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        if let Some(before) = self.restore {
            write_control(before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::hint::black_box;

    /// Half the smallest normal `f32`: subnormal in exact arithmetic.
    fn half_min() -> f32 {
        black_box(f32::MIN_POSITIVE) * black_box(0.5)
    }

    #[test]
    fn flush_applies_and_is_restored() {
        assert!(!flushing(), "tests start in exact mode");
        assert!(half_min() > 0.0);
        {
            let _guard = FloatEnvGuard::new(Denormals::Flush);
            assert_eq!(flushing(), SUPPORTED);
            if SUPPORTED {
                assert_eq!(half_min(), 0.0, "a subnormal result is flushed");
                // DAZ: a subnormal input is read as zero.
                let subnormal = f32::from_bits(1);
                assert_eq!(black_box(subnormal) * black_box(2.0f32), 0.0);
            }
            // Nested guards restore their own predecessor only.
            {
                let _inner = FloatEnvGuard::new(Denormals::Flush);
            }
            assert_eq!(flushing(), SUPPORTED);
        }
        assert!(!flushing());
        assert!(half_min() > 0.0, "exact IEEE again");
        let _preserve = FloatEnvGuard::new(Denormals::Preserve);
        assert!(half_min() > 0.0);
    }
}
