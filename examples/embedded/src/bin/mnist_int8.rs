//! Classifies the first 1 000 MNIST test images with the int8 MLP (and 50 with the int8 CNN,
//! `staticnn_embedded::int8`)
//! on x86_64 Linux with no C library, no `std` and no allocator, compares every output byte
//! with TensorFlow Lite's reference interpreter, and prints the lines the Cortex-M4 build
//! prints too (CI checks that both are the same), then the latency.
#![no_std]
#![no_main]

#[path = "../sys.rs"]
#[macro_use]
mod sys;

use staticnn_embedded::data::TEST_COUNT;
use staticnn_embedded::int8;

fn run() -> i32 {
    let started = sys::monotonic_ns();
    let exact = int8::report(&mut sys::Fd(1), TEST_COUNT);
    let elapsed = sys::monotonic_ns().saturating_sub(started);
    outln!("latency: {} ns per image (classification and comparison)", elapsed / TEST_COUNT as u64);
    if exact == Ok(true) { 0 } else { 1 }
}
