//! What one inference of the reference MNIST MLP (784 → 128 → relu → 10, baked into flash)
//! costs on a Cortex-M4F: executed instructions (the mean over the first 1 000 MNIST test
//! images, and per layer per multiply-accumulate) and the stack it uses (painted), next to
//! the model's compile-time constants (`Mnist::MACS`, `FORWARD_STACK_BYTES`,
//! `ACTIVATION_BYTES`). `bars.sh` checks these lines against the bars and the constants.
#![no_std]
#![no_main]

use core::fmt::Write;
use core::hint::black_box;

use staticnn::Layer as _;
use staticnn_cortex_m4::{Console, InstructionCounter, budget, entry, finish, painted_stack};
use staticnn_embedded::data::{TEST_COUNT, TEST_IMAGES};
use staticnn_embedded::{MODEL, Mnist, MnistInput, classify};

#[entry]
fn main() -> ! {
    let Some(mut console) = Console::open() else { finish(false) };
    let ok = run(&mut console);
    finish(ok == Ok(true))
}

fn run(out: &mut Console) -> Result<bool, core::fmt::Error> {
    let Some(peripherals) = cortex_m::Peripherals::take() else { return Ok(false) };
    let counter = InstructionCounter::start(peripherals.SYST);

    // Instructions: every image once more, classification only.
    let started = counter.ticks();
    for image in &TEST_IMAGES {
        black_box(classify(black_box(image)));
    }
    let per_image = counter.instructions(counter.ticks() - started) / TEST_COUNT as u64;
    writeln!(
        out,
        "instructions per inference: {per_image} (mean over {TEST_COUNT} images: pixels to f32, forward, argmax)"
    )?;

    // Each layer alone, on the first image.
    let x = MnistInput::from_fn(|i, _| f32::from(TEST_IMAGES[0][i]) / 255.0);
    let layer = |f: &dyn Fn()| {
        let t0 = counter.ticks();
        for _ in 0..100 {
            f();
        }
        counter.instructions(counter.ticks() - t0) / 100
    };
    let hidden = MODEL.layer0.forward_one(&x);
    let relu = staticnn::Relu.forward_one(&hidden);
    let dense1 = layer(&|| {
        black_box(MODEL.layer0.forward_one(black_box(&x)));
    });
    let dense2 = layer(&|| {
        black_box(MODEL.layer2.forward_one(black_box(&relu)));
    });
    let forward = layer(&|| {
        black_box(staticnn::Model::forward(&MODEL, black_box(&x)));
    });
    let nonzero = x.iter().filter(|v| **v != 0.0).count();
    let milli = |instructions: u64, macs: usize| instructions * 1000 / macs.max(1) as u64;
    let (d1, d1_all, d2) = (milli(dense1, nonzero * 128), milli(dense1, 784 * 128), milli(dense2, 128 * 10));
    writeln!(
        out,
        "first image: forward {forward} instructions; dense 784 -> 128 {dense1} ({}.{:03} per MAC performed, {nonzero} of 784 \
         pixels nonzero; {}.{:03} per MAC of the layer); dense 128 -> 10 {dense2} ({}.{:03} per MAC)",
        d1 / 1000,
        d1 % 1000,
        d1_all / 1000,
        d1_all % 1000,
        d2 / 1000,
        d2 % 1000
    )?;
    writeln!(
        out,
        "SysTick calibration: {}.{:03} instructions per tick",
        counter.per_tick_milli() / 1000,
        counter.per_tick_milli() % 1000
    )?;

    // Stack: one classification (input conversion included) and `forward` alone.
    let ((digit, _), classify_stack) = painted_stack(|| classify(&TEST_IMAGES[0]));
    let (_, forward_stack) = painted_stack(|| black_box(staticnn::Model::forward(&MODEL, black_box(&x))));
    budget!(Mnist).write(out, forward_stack, classify_stack)?;
    Ok(digit == classify(&TEST_IMAGES[0]).0)
}
