//! Metrics of a classifier: running mean loss and accuracy over batches, the predicted
//! class of an output, and (with `std`) the confusion matrix.

#[cfg(feature = "std")]
use std::{fmt, string::ToString, vec, vec::Vec};

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

/// Counts of (true class, predicted class) pairs (with `std`), filled by
/// [`Fit::evaluate`](crate::Fit::evaluate); displays as a table with each class's recall.
#[cfg(feature = "std")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

#[cfg(feature = "std")]
impl ConfusionMatrix {
    /// An all-zero matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        ConfusionMatrix { classes, counts: vec![0; classes * classes] }
    }

    /// Records one sample of class `truth` predicted as `predicted` (ignored if either is
    /// not a class).
    pub fn add(&mut self, truth: usize, predicted: usize) {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted] += 1;
        }
    }

    /// How many samples of class `truth` were predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        self.counts.get(truth * self.classes + predicted).copied().unwrap_or(0)
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The fraction of samples on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let total: usize = self.counts.iter().sum();
        let right: usize = (0..self.classes).map(|c| self.count(c, c)).sum();
        if total == 0 { 0.0 } else { right as f64 / total as f64 }
    }
}

#[cfg(feature = "std")]
impl fmt::Display for ConfusionMatrix {
    /// Rows are true classes, columns predictions, with each class's recall at the end.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.counts.iter().max().map_or(1, |m| m.to_string().len()).max(3);
        write!(f, "{:>8}", "true\\pred")?;
        for c in 0..self.classes {
            write!(f, " {c:>width$}")?;
        }
        writeln!(f, "   recall")?;
        for t in 0..self.classes {
            write!(f, "{t:>9}")?;
            let mut row = 0;
            for p in 0..self.classes {
                let n = self.count(t, p);
                row += n;
                write!(f, " {n:>width$}")?;
            }
            let recall = if row == 0 { 0.0 } else { self.count(t, t) as f64 / row as f64 };
            writeln!(f, "   {:6.2}%", 100.0 * recall)?;
        }
        Ok(())
    }
}
