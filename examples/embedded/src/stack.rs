//! Measuring the stack a call uses by painting: fill the unused stack below the caller with
//! a known word, make the call, and find the lowest word that changed. Works wherever the
//! stack grows down and the region below the stack pointer is mapped and unused (x86_64
//! Linux, where the kernel maps the pages on first touch, and Cortex-M, where nothing else
//! runs on the main stack while interrupts that use it are off).

use core::arch::asm;

/// The word every painted stack slot holds until something overwrites it.
const PAINT: u32 = 0x5a5a_5a5a;

/// The stack pointer of the calling frame.
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer register; no memory is touched.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    // SAFETY: as above.
    #[cfg(target_arch = "arm")]
    unsafe {
        asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// Runs `f` and measures the stack it uses: paints `region` bytes below the current stack
/// pointer, calls `f` through a function that is never inlined (so all of `f`'s work happens
/// below this frame), and finds the lowest painted word that changed. Returns `f`'s result
/// and the bytes of stack the call used, return addresses and saved registers included.
///
/// # Safety
/// `region` bytes below the current stack pointer must be mapped stack that nothing else
/// uses while `f` runs (no interrupt handler on this stack, no other thread).
#[inline(never)]
pub unsafe fn measure<R>(region: usize, f: impl FnOnce() -> R) -> (R, usize) {
    let top = stack_pointer() & !7;
    let bottom = top - region;
    let mut at = bottom;
    while at < top {
        // SAFETY: unused stack below this frame's stack pointer (the caller's contract).
        unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
    let result = call(f);
    let mut lowest = top;
    let mut at = bottom;
    while at < top {
        // SAFETY: the same region, read back after the call returned.
        if unsafe { core::ptr::read_volatile(at as *const u32) } != PAINT {
            lowest = at;
            break;
        }
        at += 4;
    }
    (result, top - lowest)
}

/// Calls `f` in a frame of its own.
#[inline(never)]
fn call<R>(f: impl FnOnce() -> R) -> R {
    f()
}
