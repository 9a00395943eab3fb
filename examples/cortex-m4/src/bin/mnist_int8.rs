//! The int8 MNIST MLP (`staticnn_embedded::int8`: TensorFlow Lite's quantization, the
//! library's portable int8 kernels) on a Cortex-M4F: classifies the first 1 000 test images
//! from flash, compares every output byte with TFLite's reference interpreter, prints the
//! lines the x86-64 freestanding build prints (CI compares them), then the executed
//! instructions per inference next to the f32 model's, measured the same way.
#![no_std]
#![no_main]

use core::fmt::Write;
use core::hint::black_box;

use staticnn_cortex_m4::{Console, InstructionCounter, entry, finish};
use staticnn_embedded::data::{TEST_COUNT, TEST_IMAGES};
use staticnn_embedded::{classify, int8};

#[entry]
fn main() -> ! {
    let Some(mut console) = Console::open() else { finish(false) };
    let ok = run(&mut console);
    finish(ok == Ok(true))
}

fn run(out: &mut Console) -> Result<bool, core::fmt::Error> {
    let exact = int8::report(out, TEST_COUNT)?;
    let Some(peripherals) = cortex_m::Peripherals::take() else { return Ok(false) };
    let counter = InstructionCounter::start(peripherals.SYST);
    let mean = |f: &dyn Fn(&staticnn_embedded::Image)| {
        let started = counter.ticks();
        for image in &TEST_IMAGES {
            f(black_box(image));
        }
        counter.instructions(counter.ticks() - started) / TEST_COUNT as u64
    };
    let int8 = mean(&|image| {
        black_box(int8::classify_int8(image));
    });
    let f32 = mean(&|image| {
        black_box(classify(image));
    });
    let permille = int8 * 1000 / f32.max(1);
    writeln!(
        out,
        "instructions per inference (mean over {TEST_COUNT} images, pixels to input, forward, argmax): int8 {int8}, \
         f32 {f32}, int8 / f32 = {}.{:03}",
        permille / 1000,
        permille % 1000
    )?;
    Ok(exact)
}
