//! Classifying the baked-in test images and printing the result in the lines every front
//! end prints (the x86_64 freestanding binary, the Cortex-M4 one and the std build's
//! `mnist_predict`), so that CI can compare them character for character:
//!
//! ```text
//! predictions: 7210414959…      (one digit per image, in order)
//! accuracy: 97.90% (979 of 1000)
//! logits fnv1a: 0x…             (a checksum of every logit's bit pattern)
//! ```

use core::fmt;

use crate::data::{TEST_COUNT, TEST_IMAGES, TEST_LABELS};
use crate::{Fnv1a, Image, Logits};

/// The outcome of classifying the first `count` baked-in test images.
pub struct Evaluation {
    /// The predicted digits as ASCII, in image order; only the first `count` are used.
    pub predictions: [u8; TEST_COUNT],
    /// How many images were classified.
    pub count: usize,
    /// How many predictions match the labels.
    pub correct: usize,
    /// FNV-1a of every logit's bit pattern, in order.
    pub checksum: Fnv1a,
}

/// Classifies the first `count` (at most [`TEST_COUNT`]) baked-in test images with
/// `classify`, which returns the predicted digit and the logits.
pub fn evaluate(count: usize, mut classify: impl FnMut(&Image) -> (u8, Logits)) -> Evaluation {
    let count = count.min(TEST_COUNT);
    let mut eval =
        Evaluation { predictions: [b'?'; TEST_COUNT], count, correct: 0, checksum: Fnv1a::default() };
    for ((prediction, image), &label) in
        eval.predictions.iter_mut().zip(&TEST_IMAGES).zip(&TEST_LABELS).take(count)
    {
        let (digit, logits) = classify(image);
        *prediction = b'0' + digit;
        eval.checksum.add_f32s(logits.as_slice());
        eval.correct += usize::from(digit == label);
    }
    eval
}

impl fmt::Display for Evaluation {
    /// The three report lines, each ending in a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("predictions: ")?;
        for &p in &self.predictions[..self.count] {
            fmt::Write::write_char(f, char::from(p))?;
        }
        let basis_points = self.correct * 10_000 / self.count.max(1);
        writeln!(f)?;
        writeln!(
            f,
            "accuracy: {}.{:02}% ({} of {})",
            basis_points / 100,
            basis_points % 100,
            self.correct,
            self.count
        )?;
        writeln!(f, "logits fnv1a: {:#018x}", self.checksum.0)
    }
}
