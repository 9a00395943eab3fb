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
//! build; CI checks that the predictions are identical.
#![no_std]
#![no_main]

#[macro_use]
mod sys;

use staticnn_embedded::{Fnv1a, Image, MODEL, classify};

/// How many test images are baked in (see build.rs).
const COUNT: usize = 1000;

/// The test images, 784 `u8` pixels each, and their labels, in read-only memory.
static IMAGES: [u8; COUNT * 784] = *include_bytes!(concat!(env!("OUT_DIR"), "/images.u8"));
static LABELS: [u8; COUNT] = *include_bytes!(concat!(env!("OUT_DIR"), "/labels.u8"));

/// Bytes of stack painted below the measuring frame: four times the budget.
const STACK_REGION: usize = 64 * 1024;

fn images() -> &'static [Image] {
    IMAGES.as_chunks().0
}

fn run() -> i32 {
    // One inference on a painted stack, to measure its depth.
    let ((first, _), stack) = sys::measure_stack(STACK_REGION, || classify(&images()[0]));

    let mut predictions = [0u8; COUNT];
    let mut checksum = Fnv1a::default();
    let mut correct = 0;
    let started = sys::monotonic_ns();
    for ((prediction, image), &label) in predictions.iter_mut().zip(images()).zip(&LABELS) {
        let (digit, logits) = classify(image);
        *prediction = b'0' + digit;
        checksum.add_f32s(&logits);
        correct += usize::from(digit == label);
    }
    let elapsed = sys::monotonic_ns().saturating_sub(started);

    let ok =
        sys::write_all(1, b"predictions: ") && sys::write_all(1, &predictions) && sys::write_all(1, b"\n");
    let basis_points = correct * 10_000 / COUNT;
    outln!("accuracy: {}.{:02}% ({correct} of {COUNT})", basis_points / 100, basis_points % 100);
    outln!("logits fnv1a: {:#018x}", checksum.0);
    outln!("peak stack of one inference: {stack} bytes (budget 16384)");
    let per_image = elapsed / COUNT as u64;
    outln!(
        "latency: {per_image} ns per image ({COUNT} images in {}.{:03} ms)",
        elapsed / 1_000_000,
        elapsed / 1_000 % 1_000
    );
    outln!("model: {} bytes of f32 parameters at {:p}", core::mem::size_of_val(&MODEL), &MODEL);

    let sane = first == predictions[0] - b'0' && stack < STACK_REGION;
    if ok && sane { 0 } else { 1 }
}
