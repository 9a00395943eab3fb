//! The data the binaries run on, baked into read-only memory (flash on a microcontroller):
//! the first [`TEST_COUNT`] MNIST test images and labels, and the 8 × 8 digits sets for
//! on-device training. `build.rs` extracts them from `data/mnist/` at build time.

use crate::{Digit, Image};

/// How many MNIST test images are baked in.
pub const TEST_COUNT: usize = 1000;

/// How many 8 × 8 digits each split of the training set holds.
pub const DIGITS_COUNT: usize = 500;

/// The first [`TEST_COUNT`] MNIST test images, 784 pixels each, row-major.
// SAFETY (all four transmutes): `[u8; N·K]` and `[[u8; K]; N]` have the same size, alignment
// 1 and no invalid values; the sizes are checked by `transmute` itself at compile time.
pub static TEST_IMAGES: [Image; TEST_COUNT] =
    unsafe { core::mem::transmute(*include_bytes!(concat!(env!("OUT_DIR"), "/images.u8"))) };

/// The labels of [`TEST_IMAGES`].
pub static TEST_LABELS: [u8; TEST_COUNT] = *include_bytes!(concat!(env!("OUT_DIR"), "/labels.u8"));

/// The first [`DIGITS_COUNT`] training images, cropped and averaged to 8 × 8.
pub static DIGITS_TRAIN: [Digit; DIGITS_COUNT] =
    unsafe { core::mem::transmute(*include_bytes!(concat!(env!("OUT_DIR"), "/digits-train.u8"))) };

/// The labels of [`DIGITS_TRAIN`].
pub static DIGITS_TRAIN_LABELS: [u8; DIGITS_COUNT] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/digits-train-labels.u8"));

/// The first [`DIGITS_COUNT`] test images, cropped and averaged to 8 × 8.
pub static DIGITS_TEST: [Digit; DIGITS_COUNT] =
    unsafe { core::mem::transmute(*include_bytes!(concat!(env!("OUT_DIR"), "/digits-test.u8"))) };

/// The labels of [`DIGITS_TEST`].
pub static DIGITS_TEST_LABELS: [u8; DIGITS_COUNT] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/digits-test-labels.u8"));
