//! The MNIST MLP in int8, bit for bit what TensorFlow Lite's reference interpreter computes:
//! the trained MLP quantized by TFLite's converter (`tests/fixtures/int8/mlp_int8.tflite`:
//! per-channel int8 weights, activations calibrated on 1 000 training images), its
//! parameters turned into Rust items by `build.rs` (weights in flash, 101 KiB instead of the
//! f32 model's 398 KiB), run through `staticnn::quant`'s kernels — the portable ones here,
//! the same on every target. [`differing_bytes`] compares the outputs on the test images
//! with the ones TFLite's interpreter produced (committed with the fixture).

use staticnn::quant::kernels::fully_connected;
use staticnn::quant::{OutputRange, Requantize};

use crate::Image;
use crate::data::{TEST_COUNT, TEST_IMAGES};

include!(concat!(env!("OUT_DIR"), "/int8_mlp.rs"));

/// TFLite's int8 outputs on the first test images (10 per image).
static TFLITE_OUTPUTS: [u8; 10_000] = *include_bytes!(concat!(env!("OUT_DIR"), "/int8_outputs.i8"));

/// The images [`TFLITE_OUTPUTS`] covers.
const TFLITE_IMAGES: usize = 1000;

/// The int8 logits of one image.
pub type Int8Logits = [i8; OUTPUTS_1];

/// The bytes of flash the int8 parameters take: weights, biases, multipliers and the pixel table.
pub const PARAM_BYTES: usize = WEIGHT_0.len()
    + WEIGHT_1.len()
    + 4 * (BIAS_0.len() + BIAS_1.len())
    + core::mem::size_of_val(&REQUANTIZE_0)
    + core::mem::size_of_val(&REQUANTIZE_1)
    + PIXELS.len();

/// A weight of `u8`s as the kernels' `i8`s.
fn signed(bytes: &[u8]) -> &[i8] {
    // SAFETY: `u8` and `i8` have the same size and alignment, and every bit pattern is valid.
    unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast(), bytes.len()) }
}

/// Classifies one image in int8: the predicted digit and the int8 logits.
#[inline(never)]
pub fn classify_int8(pixels: &Image) -> (u8, Int8Logits) {
    let mut x = [0i8; INPUTS_0];
    for (x, &p) in x.iter_mut().zip(pixels) {
        *x = PIXELS[usize::from(p)];
    }
    let mut hidden = [0i8; OUTPUTS_0];
    let (w0, w1) = (signed(&WEIGHT_0), signed(&WEIGHT_1));
    fully_connected(&x, w0, &BIAS_0, &REQUANTIZE_0, RANGE_0, &mut hidden);
    let mut logits = [0i8; OUTPUTS_1];
    fully_connected(&hidden, w1, &BIAS_1, &REQUANTIZE_1, RANGE_1, &mut logits);
    // The first largest, as TFLite's and the f32 path's argmax.
    let mut best = 0;
    for (k, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = k;
        }
    }
    (best as u8, logits)
}

/// How many int8 output bytes of the first `images` test images (at most 1 000) differ from
/// TFLite's reference interpreter's, and how many images were compared.
pub fn differing_bytes(images: usize) -> (usize, usize) {
    let images = images.min(TFLITE_IMAGES).min(TEST_COUNT);
    let mut differing = 0;
    for (image, want) in TEST_IMAGES.iter().zip(TFLITE_OUTPUTS.chunks_exact(OUTPUTS_1)).take(images) {
        let (_, logits) = classify_int8(image);
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
/// int8 parameters: 102946 bytes (f32 model: 407080)
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
        images * OUTPUTS_1
    )?;
    writeln!(out, "int8 parameters: {PARAM_BYTES} bytes (f32 model: {})", crate::Mnist::PARAM_BYTES)?;
    Ok(differing == 0)
}
