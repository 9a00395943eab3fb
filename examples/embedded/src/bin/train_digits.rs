//! Trains a 64 → 32 → 10 digits classifier with Adam on x86_64 Linux with no C library, no
//! `std` and no allocator, every piece of training state in a zero-initialised `static`
//! (`.bss`): 500 MNIST training images shrunk to 8 × 8 (see build.rs), 30 epochs, then the
//! accuracy on 500 test images it never saw. Exits 0 only if that reaches `TARGET_PERCENT`.
#![no_std]
#![no_main]

#[path = "../sys.rs"]
#[macro_use]
mod sys;

use core::mem::MaybeUninit;

use staticnn_embedded::{Digit, DigitsEpoch, DigitsTraining, count_correct_digits, train_digits};

const SAMPLES: usize = 500;
static TRAIN: [u8; SAMPLES * 64] = *include_bytes!(concat!(env!("OUT_DIR"), "/digits-train.u8"));
static TRAIN_LABELS: [u8; SAMPLES] = *include_bytes!(concat!(env!("OUT_DIR"), "/digits-train-labels.u8"));
static TEST: [u8; SAMPLES * 64] = *include_bytes!(concat!(env!("OUT_DIR"), "/digits-test.u8"));
static TEST_LABELS: [u8; SAMPLES] = *include_bytes!(concat!(env!("OUT_DIR"), "/digits-test-labels.u8"));

/// The model, gradients, Adam's moments, cache and batch: zero bytes in `.bss`.
static mut STATE: MaybeUninit<DigitsTraining> = MaybeUninit::zeroed();

const EPOCHS: u32 = 30;
const LR: f64 = 0.01;
const SEED: u64 = 42;
/// The test accuracy the run must reach, in percent.
const TARGET_PERCENT: usize = 80;

/// Bytes of stack painted below the measuring frame.
const STACK_REGION: usize = 64 * 1024;

fn digits(bytes: &'static [u8; SAMPLES * 64]) -> &'static [Digit; SAMPLES] {
    let (digits, _) = bytes.as_chunks::<64>();
    digits.try_into().unwrap_or_else(|_| unreachable!("{SAMPLES} digits of 64 bytes"))
}

fn train(state: &mut DigitsTraining) -> Result<(), staticnn::TrainError> {
    train_digits(state, digits(&TRAIN), &TRAIN_LABELS, EPOCHS, LR, SEED, |e: DigitsEpoch| {
        if e.epoch == 1 || e.epoch.is_multiple_of(5) {
            let loss = (e.loss * 10_000.0 + 0.5) as u32;
            let acc = e.train_correct * 10_000 / SAMPLES;
            outln!(
                "epoch {:2}: loss {}.{:04}, train accuracy {}.{:02}%",
                e.epoch,
                loss / 10_000,
                loss % 10_000,
                acc / 100,
                acc % 100
            );
        }
    })
}

fn run() -> i32 {
    // SAFETY: the only reference ever taken to `STATE`, on the only thread; all zero bytes
    // are a valid `DigitsTraining` (it is `Zeroable`), and `MaybeUninit<T>` has `T`'s layout.
    let state: &'static mut DigitsTraining = unsafe { &mut *(&raw mut STATE).cast::<DigitsTraining>() };
    outln!(
        "training 64 -> 32 -> 10 on {SAMPLES} 8x8 digits: Adam lr {LR}, batch 10, {EPOCHS} epochs, seed {SEED}; \
         {} bytes of state in .bss",
        core::mem::size_of::<DigitsTraining>()
    );
    let started = sys::monotonic_ns();
    let (result, stack) = sys::measure_stack(STACK_REGION, || train(state));
    let millis = sys::monotonic_ns().saturating_sub(started) / 1_000_000;
    if let Err(e) = result {
        outln!("training failed: {e}");
        return 1;
    }
    let train_correct = count_correct_digits(&state.model, digits(&TRAIN), &TRAIN_LABELS);
    let test_correct = count_correct_digits(&state.model, digits(&TEST), &TEST_LABELS);
    let pct = |n: usize| (n * 10_000 / SAMPLES / 100, n * 10_000 / SAMPLES % 100);
    let (tr, tr_frac) = pct(train_correct);
    let (te, te_frac) = pct(test_correct);
    outln!("trained in {millis} ms, peak stack {stack} bytes");
    outln!("train accuracy: {tr}.{tr_frac:02}% ({train_correct} of {SAMPLES})");
    outln!(
        "test accuracy: {te}.{te_frac:02}% ({test_correct} of {SAMPLES}, unseen; target {TARGET_PERCENT}%)"
    );
    if test_correct * 100 >= TARGET_PERCENT * SAMPLES { 0 } else { 1 }
}
