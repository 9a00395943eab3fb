//! Trains XOR (2 → 8 → 1, tanh, sigmoid) with Adam on x86_64 Linux with no C library, no
//! `std` and no allocator: the model, its gradients, Adam's moments and the training cache
//! all live on the stack (see `staticnn_embedded::train_xor`). Exits 0 only if all four
//! cases are classified correctly.
#![no_std]
#![no_main]

#[path = "../sys.rs"]
#[macro_use]
mod sys;

use staticnn_embedded::train_xor;

/// Steps of full-batch Adam; the std build's test solves XOR with this seed within 500.
const STEPS: u32 = 500;
const SEED: u64 = 7;

/// Bytes of stack painted below the measuring frame.
const STACK_REGION: usize = 64 * 1024;

fn run() -> i32 {
    let started = sys::monotonic_ns();
    let (report, stack) = sys::measure_stack(STACK_REGION, || train_xor(SEED, STEPS));
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            outln!("training failed: {e}");
            return 1;
        }
    };
    let micros = sys::monotonic_ns().saturating_sub(started) / 1_000;
    // Print with integer arithmetic: thousandths.
    let milli = |x: f32| (x * 1000.0 + 0.5) as u32;
    outln!("trained XOR 2 -> 8 -> 1 with Adam (lr 0.05, seed {SEED}): {} steps in {micros} us", report.steps);
    outln!("final mean squared error: 0.{:06}", (report.loss * 1e6 + 0.5) as u32);
    for (case, out) in ["0 xor 0", "0 xor 1", "1 xor 0", "1 xor 1"].iter().zip(report.outputs) {
        let m = milli(out);
        outln!("{case} -> {}.{:03}", m / 1000, m % 1000);
    }
    outln!("accuracy: {} of 4", report.correct);
    outln!("peak stack of the whole training run: {stack} bytes");
    if report.correct == 4 { 0 } else { 1 }
}
