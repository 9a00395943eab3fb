//! The training runs every front end performs, with their settings and the lines they
//! print, written to any [`fmt::Write`] (the x86_64 binaries' stdout, the Cortex-M4's
//! semihosting console). Only these lines are compared between platforms; timings and stack
//! depths are printed by the front ends themselves.

use core::fmt::{self, Write};

use crate::data::{DIGITS_COUNT, DIGITS_TEST, DIGITS_TEST_LABELS, DIGITS_TRAIN, DIGITS_TRAIN_LABELS};
use crate::{DigitsEpoch, DigitsTraining, count_correct_digits, train_digits, train_xor};

/// Full-batch Adam steps of the XOR run; the std build's test solves XOR with this seed
/// within 500.
pub const XOR_STEPS: u32 = 500;
/// The XOR run's seed.
pub const XOR_SEED: u64 = 7;

/// Epochs of the digits run.
pub const DIGITS_EPOCHS: u32 = 30;
/// The digits run's learning rate.
pub const DIGITS_LR: f64 = 0.01;
/// The digits run's seed.
pub const DIGITS_SEED: u64 = 42;
/// The test accuracy the digits run must reach, in percent.
pub const DIGITS_TARGET_PERCENT: usize = 80;

/// `x` with six decimals, by integer arithmetic (no float formatting code on the device).
fn micros(x: f32) -> (u32, u32) {
    let m = (x * 1e6 + 0.5) as u32;
    (m / 1_000_000, m % 1_000_000)
}

/// Trains XOR (see [`train_xor`]) and prints the loss, the four outputs and the accuracy.
/// Returns whether all four cases came out right.
pub fn xor(out: &mut impl Write) -> Result<bool, fmt::Error> {
    let report = match train_xor(XOR_SEED, XOR_STEPS) {
        Ok(report) => report,
        Err(e) => {
            writeln!(out, "training failed: {e}")?;
            return Ok(false);
        }
    };
    writeln!(out, "trained XOR 2 -> 8 -> 1 with Adam (lr 0.05, seed {XOR_SEED}): {} steps", report.steps)?;
    let (int, frac) = micros(report.loss);
    writeln!(out, "final mean squared error: {int}.{frac:06} (bits {:#010x})", report.loss.to_bits())?;
    for (case, y) in ["0 xor 0", "0 xor 1", "1 xor 0", "1 xor 1"].iter().zip(report.outputs) {
        let (int, frac) = micros(y);
        writeln!(out, "{case} -> {int}.{frac:06} (bits {:#010x})", y.to_bits())?;
    }
    writeln!(out, "accuracy: {} of 4", report.correct)?;
    Ok(report.correct == 4)
}

/// Trains the digits classifier in `state` (see [`train_digits`]), printing every fifth
/// epoch, then its accuracy on the training set and on the unseen test set. Returns whether
/// the test accuracy reached [`DIGITS_TARGET_PERCENT`].
pub fn digits(out: &mut impl Write, state: &mut DigitsTraining) -> Result<bool, fmt::Error> {
    writeln!(
        out,
        "training 64 -> 32 -> 10 on {DIGITS_COUNT} 8x8 digits: Adam lr {DIGITS_LR}, batch {}, {DIGITS_EPOCHS} \
         epochs, seed {DIGITS_SEED}",
        crate::DIGITS_BATCH,
    )?;
    // On a line of its own: the cache's `TrainContext` holds `usize`s, so the size is the
    // target's (8 bytes more on a 64-bit host than on the Cortex-M4), unlike every other line.
    writeln!(out, "state: {} bytes", core::mem::size_of::<DigitsTraining>())?;
    let mut written = Ok(());
    let trained = train_digits(
        state,
        &DIGITS_TRAIN,
        &DIGITS_TRAIN_LABELS,
        DIGITS_EPOCHS,
        DIGITS_LR,
        DIGITS_SEED,
        |e: DigitsEpoch| {
            if e.epoch == 1 || e.epoch.is_multiple_of(5) {
                let (int, frac) = micros(e.loss);
                let acc = e.train_correct * 10_000 / DIGITS_COUNT;
                written = written.and(writeln!(
                    out,
                    "epoch {:2}: loss {int}.{frac:06} (bits {:#010x}), train accuracy {}.{:02}%",
                    e.epoch,
                    e.loss.to_bits(),
                    acc / 100,
                    acc % 100
                ));
            }
        },
    );
    written?;
    if let Err(e) = trained {
        writeln!(out, "training failed: {e}")?;
        return Ok(false);
    }
    let train_correct = count_correct_digits(&state.model, &DIGITS_TRAIN, &DIGITS_TRAIN_LABELS);
    let test_correct = count_correct_digits(&state.model, &DIGITS_TEST, &DIGITS_TEST_LABELS);
    let pct = |n: usize| (n * 10_000 / DIGITS_COUNT / 100, n * 10_000 / DIGITS_COUNT % 100);
    let (tr, tr_frac) = pct(train_correct);
    let (te, te_frac) = pct(test_correct);
    writeln!(out, "train accuracy: {tr}.{tr_frac:02}% ({train_correct} of {DIGITS_COUNT})")?;
    writeln!(
        out,
        "test accuracy: {te}.{te_frac:02}% ({test_correct} of {DIGITS_COUNT}, unseen; target \
         {DIGITS_TARGET_PERCENT}%)"
    )?;
    Ok(test_correct * 100 >= DIGITS_TARGET_PERCENT * DIGITS_COUNT)
}
