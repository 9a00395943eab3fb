//! The MNIST CNN (conv 16 → relu → max pool → conv 32 → relu → max pool → dense 128 →
//! relu → dense 10), baked into flash, classifies the first 1 000 MNIST test images (also in
//! flash) on a Cortex-M4F and prints, through semihosting, the report lines CI compares with
//! the std build (`cargo run --example mnist_predict -- --cnn`), then the executed
//! instructions per inference and the stack one inference uses.
#![no_std]
#![no_main]

use core::fmt::Write;
use core::hint::black_box;

use staticnn::Model;
use staticnn_cortex_m4::{Console, InstructionCounter, budget, entry, finish, painted_stack};
use staticnn_embedded::data::{TEST_COUNT, TEST_IMAGES};
use staticnn_embedded::{CNN, MnistCnn, MnistCnnInput, classify_cnn, report, standardize};

#[entry]
fn main() -> ! {
    let Some(mut console) = Console::open() else { finish(false) };
    let ok = run(&mut console);
    finish(ok == Ok(true))
}

fn run(out: &mut Console) -> Result<bool, core::fmt::Error> {
    let Some(peripherals) = cortex_m::Peripherals::take() else { return Ok(false) };
    let counter = InstructionCounter::start(peripherals.SYST);

    // The report lines, timed as a whole: an inference is millions of instructions, the
    // checksum and the bookkeeping a few dozen.
    let started = counter.ticks();
    let eval = report::evaluate(TEST_COUNT, classify_cnn);
    let per_image = counter.instructions(counter.ticks() - started) / TEST_COUNT as u64;
    write!(out, "{eval}")?;
    writeln!(
        out,
        "instructions per inference: {per_image} (mean over {TEST_COUNT} images: standardising, forward, argmax)"
    )?;

    let ((digit, _), classify_stack) = painted_stack(|| classify_cnn(&TEST_IMAGES[0]));
    let mut x = MnistCnnInput::zeros();
    standardize(&TEST_IMAGES[0], &mut x);
    let (_, forward_stack) = painted_stack(|| black_box(Model::forward(&CNN, black_box(&x))));
    budget!(MnistCnn).write(out, forward_stack, classify_stack)?;
    Ok(digit == eval.predictions[0] - b'0')
}
