//! The MNIST MLP in int8, bit for bit what TensorFlow Lite's reference interpreter computes:
//! the trained MLP quantized by TFLite's converter (`tests/fixtures/int8/mlp_int8.tflite`:
//! per-channel int8 weights, activations calibrated on 1 000 training images), its int8
//! parameters written by this library's converter (`mlp_int8.safetensors` beside it) and
//! baked by `model!` (`#[model(int8 = "…")]`: weights in flash in the kernels' layout, 101 KiB
//! instead of the f32 model's 398 KiB), run through `staticnn::quant`'s kernels (on the
//! Cortex-M4 their DSP path). The CNN the same way (`cnn_int8.*`). [`differing_bytes`] and
//! [`differing_bytes_cnn`] compare the outputs on the test images with the ones TFLite's
//! interpreter produced (committed with the fixtures).

use crate::Image;
use crate::data::{TEST_COUNT, TEST_IMAGES};

staticnn::model! {
    #[model(int8 = "../../../tests/fixtures/int8/mlp_int8.safetensors")]
    pub struct MnistInt8 { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    #[model(int8 = "../../../tests/fixtures/int8/cnn_int8.safetensors")]
    pub struct MnistCnnInt8 {
        input(1, 28, 28),
        conv2d(16, 3, padding = same), relu, maxpool(2),
        conv2d(32, 3, padding = same), relu, maxpool(2),
        flatten, dense(128), relu, dense(10),
    }
}

/// TFLite's int8 outputs of the CNN on the first test images (10 per image).
static TFLITE_CNN_OUTPUTS: [u8; 10_000] = *include_bytes!("../../../tests/fixtures/int8/cnn_int8_outputs.i8");

/// The test images the CNN is checked on: its naive convolutions take about a hundred times
/// the MLP's work.
pub const CNN_IMAGES: usize = 50;

/// Each pixel value's int8 input to the CNN: `p / 255` standardised as
/// `examples/mnist_cnn.rs` does, then quantized, by the compiler.
static CNN_PIXELS: [i8; 256] = {
    let mut table = [0i8; 256];
    let mut p = 0;
    while p < 256 {
        let x = (p as f32 / 255.0 - crate::MNIST_MEAN) / crate::MNIST_STD;
        table[p] = MnistCnnInt8::INT8_INPUT.quantize_i8(x);
        p += 1;
    }
    table
};

/// Classifies one image with the int8 CNN: the predicted digit and the int8 logits.
#[inline(never)]
pub fn classify_cnn_int8(pixels: &Image) -> (u8, Int8Logits) {
    let mut x = [0i8; 784];
    for (x, &p) in x.iter_mut().zip(pixels) {
        *x = CNN_PIXELS[usize::from(p)];
    }
    let logits = MnistCnnInt8::forward_int8(&x);
    (first_largest(&logits), logits)
}

/// The index of the first largest logit, as TFLite's and the f32 path's argmax.
fn first_largest(logits: &Int8Logits) -> u8 {
    let mut best = 0;
    for (k, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = k;
        }
    }
    best as u8
}

/// TFLite's int8 outputs on the first test images (10 per image).
static TFLITE_OUTPUTS: [u8; 10_000] = *include_bytes!("../../../tests/fixtures/int8/mlp_int8_outputs.i8");

/// The images [`TFLITE_OUTPUTS`] covers.
const TFLITE_IMAGES: usize = 1000;

/// The outputs of the int8 model.
const OUTPUTS: usize = 10;

/// The int8 logits of one image.
pub type Int8Logits = [i8; OUTPUTS];

/// Each pixel value's int8 input: `p / 255` quantized as the model's input, by the compiler.
static PIXELS: [i8; 256] = {
    let mut table = [0i8; 256];
    let mut p = 0;
    while p < 256 {
        table[p] = MnistInt8::INT8_INPUT.quantize_i8(p as f32 / 255.0);
        p += 1;
    }
    table
};

/// The bytes of flash the int8 parameters take: the weights, biases and multipliers of both
/// layers, and the pixel table.
pub const PARAM_BYTES: usize = MnistInt8::INT8_PARAM_BYTES + PIXELS.len();

/// Classifies one image in int8: the predicted digit and the int8 logits.
#[inline(never)]
pub fn classify_int8(pixels: &Image) -> (u8, Int8Logits) {
    let mut x = [0i8; 784];
    for (x, &p) in x.iter_mut().zip(pixels) {
        *x = PIXELS[usize::from(p)];
    }
    let logits = MnistInt8::forward_int8(&x);
    (first_largest(&logits), logits)
}

/// How many int8 output bytes of the first `images` test images (at most 1 000) differ from
/// TFLite's reference interpreter's, and how many images were compared.
pub fn differing_bytes(images: usize) -> (usize, usize) {
    differing(images, &TFLITE_OUTPUTS, classify_int8)
}

/// [`differing_bytes`] for the CNN.
pub fn differing_bytes_cnn(images: usize) -> (usize, usize) {
    differing(images, &TFLITE_CNN_OUTPUTS, classify_cnn_int8)
}

fn differing(images: usize, tflite: &[u8], classify: fn(&Image) -> (u8, Int8Logits)) -> (usize, usize) {
    let images = images.min(TFLITE_IMAGES).min(TEST_COUNT);
    let mut differing = 0;
    for (image, want) in TEST_IMAGES.iter().zip(tflite.chunks_exact(OUTPUTS)).take(images) {
        let (_, logits) = classify(image);
        differing += logits.iter().zip(want).filter(|(a, b)| **a != **b as i8).count();
    }
    (differing, images)
}

/// Classifies the first `count` test images in int8 and writes the lines both the x86-64
/// freestanding binary and the Cortex-M4 one print (CI compares them):
///
/// ```text
/// int8 predictions: 7210414959…
/// int8 accuracy: 97.60% (976 of 1000)
/// int8 against TFLite's reference interpreter: 0 of 10000 output bytes differ
/// int8 parameters: 103544 bytes (f32 model: 407080)
/// int8 CNN predictions: 72104149590690159734…
/// int8 CNN against TFLite's reference interpreter: 0 of 500 output bytes differ
/// ```
///
/// Returns whether every byte matched TFLite's.
pub fn report(out: &mut impl core::fmt::Write, count: usize) -> Result<bool, core::fmt::Error> {
    let count = count.min(TEST_COUNT);
    out.write_str("int8 predictions: ")?;
    let mut correct = 0;
    for (image, &label) in TEST_IMAGES.iter().zip(&crate::data::TEST_LABELS).take(count) {
        let (digit, _) = classify_int8(image);
        out.write_char(char::from(b'0' + digit))?;
        correct += usize::from(digit == label);
    }
    let basis_points = correct * 10_000 / count.max(1);
    writeln!(out)?;
    writeln!(out, "int8 accuracy: {}.{:02}% ({correct} of {count})", basis_points / 100, basis_points % 100)?;
    let (differing, images) = differing_bytes(count);
    writeln!(
        out,
        "int8 against TFLite's reference interpreter: {differing} of {} output bytes differ",
        images * OUTPUTS
    )?;
    writeln!(out, "int8 parameters: {PARAM_BYTES} bytes (f32 model: {})", crate::Mnist::PARAM_BYTES)?;
    out.write_str("int8 CNN predictions: ")?;
    for image in TEST_IMAGES.iter().take(CNN_IMAGES) {
        out.write_char(char::from(b'0' + classify_cnn_int8(image).0))?;
    }
    writeln!(out)?;
    let (differing_cnn, images) = differing_bytes_cnn(CNN_IMAGES);
    writeln!(
        out,
        "int8 CNN against TFLite's reference interpreter: {differing_cnn} of {} output bytes differ",
        images * OUTPUTS
    )?;
    Ok(differing == 0 && differing_cnn == 0)
}
