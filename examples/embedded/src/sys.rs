//! The whole platform layer of the freestanding binaries: x86_64 Linux with no C library.
//!
//! The kernel starts the process at `_start` with `rsp` pointing at `argc` and 16-byte
//! aligned. A `call` from there would leave the stack misaligned for Rust code (which
//! expects `rsp ≡ 8 (mod 16)` on entry, and faults in aligned vector moves otherwise), so a
//! small assembly stub clears the frame pointer, re-aligns `rsp` and calls [`start`]. The
//! rest is three raw system calls (`write`, `clock_gettime`, `exit_group`), a writer for
//! `core::fmt` and the panic handler. Nothing here, or anywhere in the binaries, allocates:
//! there is no global allocator, so any allocation would fail to link.

use core::arch::{asm, global_asm};
use core::fmt;

global_asm!(
    ".globl _start",
    ".type _start, @function",
    "_start:",
    "    xor ebp, ebp",
    "    mov rdi, rsp",
    "    and rsp, -16",
    "    call {start}",
    "    ud2",
    start = sym start,
);

/// Called by `_start` with the initial stack pointer; runs the program and exits with its
/// status.
extern "C" fn start(_initial_sp: *const usize) -> ! {
    exit(crate::run())
}

const SYS_WRITE: usize = 1;
const SYS_CLOCK_GETTIME: usize = 228;
const SYS_EXIT_GROUP: usize = 231;
const CLOCK_MONOTONIC: usize = 1;
const EINTR: isize = 4;

/// A system call with up to three arguments; returns `rax` (negative `errno` on failure).
///
/// # Safety
/// The arguments must be valid for the call `number` (pointers to memory it may access).
unsafe fn syscall3(number: usize, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller vouches for the arguments; `syscall` clobbers rcx and r11.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Ends the process with `status`.
pub fn exit(status: i32) -> ! {
    // SAFETY: `exit_group` takes an integer and does not return.
    unsafe {
        asm!("syscall", in("rax") SYS_EXIT_GROUP, in("rdi") status as isize, options(noreturn, nostack));
    }
}

/// Writes all of `bytes` to file descriptor `fd`; `false` on an error.
pub fn write_all(fd: usize, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe `bytes`, which `write` only reads.
        let n = unsafe { syscall3(SYS_WRITE, fd, bytes.as_ptr() as usize, bytes.len()) };
        match n {
            n if n > 0 => bytes = &bytes[n as usize..],
            n if n == -EINTR => {}
            _ => return false,
        }
    }
    true
}

/// The monotonic clock, in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = [0i64; 2]; // struct timespec { tv_sec, tv_nsec }
    // SAFETY: `ts` is a writable `timespec`.
    let ret = unsafe { syscall3(SYS_CLOCK_GETTIME, CLOCK_MONOTONIC, ts.as_mut_ptr() as usize, 0) };
    if ret != 0 {
        return 0;
    }
    (ts[0] as u64).wrapping_mul(1_000_000_000).wrapping_add(ts[1] as u64)
}

/// Standard output (1) or error (2) for `core::fmt`, unbuffered.
pub struct Fd(pub usize);

impl fmt::Write for Fd {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if write_all(self.0, s.as_bytes()) { Ok(()) } else { Err(fmt::Error) }
    }
}

/// `println!` without `std`: formats straight to standard output.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::core::fmt::Write as _;
        let _ = ::core::writeln!(crate::sys::Fd(1), $($arg)*);
    }};
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write as _;
    let _ = writeln!(Fd(2), "panic: {info}");
    exit(101)
}

// The memory functions the compiler calls for copies and fills (a C library would provide
// them). `rep movsb`/`rep stosb` are fast on current x86_64 and, being assembly, cannot be
// turned back into calls to themselves.

/// # Safety
/// As C's `memcpy`: `n` bytes readable at `src`, writable at `dest`, not overlapping.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dest
}

/// # Safety
/// As C's `memmove`: `n` bytes readable at `src` and writable at `dest`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // No harmful overlap for a forward copy.
        // SAFETY: the caller's contract.
        return unsafe { memcpy(dest, src, n) };
    }
    // Copy backwards: `std` sets the direction flag, `cld` restores it.
    // SAFETY: the caller's contract; rdi/rsi start at the last byte of each buffer.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rcx") n => _, inout("rdi") dest.add(n - 1) => _, inout("rsi") src.add(n - 1) => _,
             options(nostack));
    }
    dest
}

/// # Safety
/// As C's `memset`: `n` bytes writable at `dest`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, value: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dest => _, in("al") value as u8,
             options(nostack, preserves_flags));
    }
    dest
}

/// # Safety
/// As C's `memcmp`: `n` bytes readable at `a` and at `b`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: the caller's contract. Volatile reads keep the loop a loop rather than a
        // call to `memcmp`.
        let (x, y) = unsafe { (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i))) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// # Safety
/// As `memcmp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the caller's contract.
    unsafe { memcmp(a, b, n) }
}
