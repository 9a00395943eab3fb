//! Trains XOR (2 → 8 → 1, tanh, sigmoid) with Adam on x86_64 Linux with no C library, no
//! `std` and no allocator: the model, its gradients, Adam's moments and the training cache
//! all live on the stack (see `staticnn_embedded::train_xor`). Exits 0 only if all four
//! cases are classified correctly.
#![no_std]
#![no_main]

#[path = "../sys.rs"]
#[macro_use]
mod sys;

use staticnn_embedded::{programs, stack};

/// Bytes of stack painted below the measuring frame.
const STACK_REGION: usize = 64 * 1024;

fn run() -> i32 {
    let started = sys::monotonic_ns();
    // SAFETY: the process's main thread, with far more than 64 KiB of stack below this frame.
    let (solved, stack) = unsafe { stack::measure(STACK_REGION, || programs::xor(&mut sys::Fd(1))) };
    let micros = sys::monotonic_ns().saturating_sub(started) / 1_000;
    outln!("trained in {micros} us, peak stack of the whole training run: {stack} bytes");
    if solved == Ok(true) { 0 } else { 1 }
}
