//! Running metrics over batches: mean loss and classification accuracy.

use nalgebra::SMatrix;

use crate::scalar::Float;

/// The index of the largest element (the first one on ties); 0 for an empty slice.
#[inline]
pub fn argmax<T: Float>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// How many of the first `len` columns of `output` have their largest entry at the label.
pub fn count_correct<T: Float, const N: usize, const B: usize>(
    output: &SMatrix<T, N, B>,
    labels: &[u32; B],
    len: usize,
) -> usize {
    let cols = output.as_slice().chunks_exact(N).zip(labels).take(len.min(B));
    cols.filter(|(col, label)| argmax(col) == **label as usize).count()
}

/// Mean loss and accuracy accumulated over batches.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// The sum of per-sample losses seen so far.
    pub loss_sum: f64,
    /// Correctly classified samples so far.
    pub correct: usize,
    /// Samples seen so far.
    pub samples: usize,
}

impl Metrics {
    /// Adds a batch of `len` samples whose mean loss was `mean_loss`, `correct` of them right.
    pub fn add(&mut self, mean_loss: f64, correct: usize, len: usize) {
        self.loss_sum += mean_loss * len as f64;
        self.correct += correct;
        self.samples += len;
    }

    /// The mean loss per sample (0 before any sample).
    pub fn mean_loss(&self) -> f64 {
        if self.samples == 0 { 0.0 } else { self.loss_sum / self.samples as f64 }
    }

    /// The fraction of samples classified correctly (0 before any sample).
    pub fn accuracy(&self) -> f64 {
        if self.samples == 0 { 0.0 } else { self.correct as f64 / self.samples as f64 }
    }
}
