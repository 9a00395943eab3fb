//! The int8 MNIST MLP and CNN (`staticnn_embedded::int8`: TensorFlow Lite's quantization,
//! baked by `#[model(int8 = …)]`, the library's int8 kernels with the M4's DSP path) on a
//! Cortex-M4F: classifies the first 1 000 test images (the CNN the first 50) from flash,
//! compares every output byte with TFLite's reference interpreter, prints the lines the
//! x86-64 freestanding build prints (CI compares them), then the executed instructions per
//! inference next to the f32 models', measured the same way.
#![no_std]
#![no_main]

use core::fmt::Write;
use core::hint::black_box;

use staticnn_cortex_m4::{Console, InstructionCounter, entry, finish};
use staticnn_embedded::data::{TEST_COUNT, TEST_IMAGES};
use staticnn_embedded::{classify, classify_cnn, int8};

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
    let mean = |images: usize, f: &dyn Fn(&staticnn_embedded::Image)| {
        let started = counter.ticks();
        for image in TEST_IMAGES.iter().take(images) {
            f(black_box(image));
        }
        counter.instructions(counter.ticks() - started) / images as u64
    };
    let int8 = mean(TEST_COUNT, &|image| {
        black_box(int8::classify_int8(image));
    });
    let f32 = mean(TEST_COUNT, &|image| {
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
    let images = int8::CNN_IMAGES;
    let int8 = mean(images, &|image| {
        black_box(int8::classify_cnn_int8(image));
    });
    let f32 = mean(images, &|image| {
        black_box(classify_cnn(image));
    });
    let permille = int8 * 1000 / f32.max(1);
    writeln!(
        out,
        "CNN instructions per inference (mean over {images} images): int8 {int8}, f32 {f32}, int8 / f32 = {}.{:03}",
        permille / 1000,
        permille % 1000
    )?;
    Ok(exact)
}
