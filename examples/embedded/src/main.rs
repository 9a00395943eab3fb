//! Classifies the first 1 000 MNIST test images with the baked-in reference model, on x86_64
//! Linux with no C library, no `std` and no allocator, and prints:
//!
//! ```text
//! predictions: 7210414959…      (one digit per image, in order)
//! accuracy: 97.90% (979 of 1000)
//! logits fnv1a: 0x…             (a checksum of every logit's bit pattern)
//! peak stack of one inference: … bytes
//! latency: … ns per image (…)
//! ```
//!
//! `cargo run --release --example mnist_predict` prints the first three lines from the std
//! build, and `examples/cortex-m4` from a Cortex-M4; CI checks that they are identical.
#![no_std]
#![no_main]

#[macro_use]
mod sys;

use core::fmt::Write as _;

use staticnn_embedded::data::{TEST_COUNT, TEST_IMAGES};
use staticnn_embedded::{MODEL, classify, report, stack};

/// Bytes of stack painted below the measuring frame: four times the budget.
const STACK_REGION: usize = 64 * 1024;

fn run() -> i32 {
    // One inference on a painted stack, to measure its depth.
    // SAFETY: the process's main thread, with far more than 64 KiB of stack below this frame.
    let ((first, _), stack) = unsafe { stack::measure(STACK_REGION, || classify(&TEST_IMAGES[0])) };

    let started = sys::monotonic_ns();
    let eval = report::evaluate(TEST_COUNT, classify);
    let elapsed = sys::monotonic_ns().saturating_sub(started);

    let ok = write!(sys::Fd(1), "{eval}").is_ok();
    outln!(
        "peak stack of one inference: {stack} bytes (Mnist::RAM_BYTES: {})",
        staticnn_embedded::Mnist::RAM_BYTES
    );
    let per_image = elapsed / TEST_COUNT as u64;
    outln!(
        "latency: {per_image} ns per image ({TEST_COUNT} images in {}.{:03} ms)",
        elapsed / 1_000_000,
        elapsed / 1_000 % 1_000
    );
    outln!("model: {} bytes of f32 parameters at {:p}", core::mem::size_of_val(&MODEL), &MODEL);

    let sane = first == eval.predictions[0] - b'0' && stack < STACK_REGION;
    if ok && sane { 0 } else { 1 }
}
