//! Trains a 64 → 32 → 10 digits classifier with Adam on x86_64 Linux with no C library, no
//! `std` and no allocator, every piece of training state in a zero-initialised `static`
//! (`.bss`): 500 MNIST training images shrunk to 8 × 8 (see build.rs), 30 epochs, then the
//! accuracy on 500 test images it never saw. Exits 0 only if that reaches the target.
#![no_std]
#![no_main]

#[path = "../sys.rs"]
#[macro_use]
mod sys;

use core::mem::MaybeUninit;

use staticnn_embedded::{DigitsTraining, programs, stack};

/// The model, gradients, Adam's moments, cache and batch: zero bytes in `.bss`.
static mut STATE: MaybeUninit<DigitsTraining> = MaybeUninit::zeroed();

/// Bytes of stack painted below the measuring frame.
const STACK_REGION: usize = 64 * 1024;

fn run() -> i32 {
    // SAFETY: the only reference ever taken to `STATE`, on the only thread; all zero bytes
    // are a valid `DigitsTraining` (it is `Zeroable`), and `MaybeUninit<T>` has `T`'s layout.
    let state: &'static mut DigitsTraining = unsafe { &mut *(&raw mut STATE).cast::<DigitsTraining>() };
    let started = sys::monotonic_ns();
    // SAFETY: the process's main thread, with far more than 64 KiB of stack below this frame.
    let (reached, stack) =
        unsafe { stack::measure(STACK_REGION, || programs::digits(&mut sys::Fd(1), state)) };
    let millis = sys::monotonic_ns().saturating_sub(started) / 1_000_000;
    outln!("trained in {millis} ms, peak stack {stack} bytes");
    if reached == Ok(true) { 0 } else { 1 }
}
