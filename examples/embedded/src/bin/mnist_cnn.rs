//! Classifies the first 1 000 MNIST test images with the baked-in CNN, on x86_64 Linux with
//! no C library, no `std` and no allocator, and prints the report lines of
//! `staticnn_embedded::report` (which the Cortex-M4 build prints too: CI checks that both
//! give the same logits, bit for bit), then the stack one inference uses and its latency.
#![no_std]
#![no_main]

#[path = "../sys.rs"]
#[macro_use]
mod sys;

use core::fmt::Write as _;

use staticnn_embedded::data::{TEST_COUNT, TEST_IMAGES};
use staticnn_embedded::{classify_cnn, report, stack};

/// Bytes of stack painted below the measuring frame (the main thread has 8 MiB).
const STACK_REGION: usize = 1 << 20;

fn run() -> i32 {
    // SAFETY: the process's main thread, with far more than 1 MiB of stack below this frame.
    let ((first, _), stack) = unsafe { stack::measure(STACK_REGION, || classify_cnn(&TEST_IMAGES[0])) };
    let started = sys::monotonic_ns();
    let eval = report::evaluate(TEST_COUNT, classify_cnn);
    let elapsed = sys::monotonic_ns().saturating_sub(started);
    let ok = write!(sys::Fd(1), "{eval}").is_ok();
    outln!("peak stack of one inference: {stack} bytes");
    outln!("latency: {} us per image", elapsed / 1_000 / TEST_COUNT as u64);
    let sane = first == eval.predictions[0] - b'0' && stack < STACK_REGION;
    if ok && sane { 0 } else { 1 }
}
