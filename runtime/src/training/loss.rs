//! Losses over a batch of model outputs: each returns the mean loss and writes its gradient.
//!
//! A batch has a static size `B`, but only its first `len` columns may hold samples (the
//! last batch of an epoch is usually partial): the mean is taken over those, and the
//! gradient of the remaining columns is zero, so padding never reaches the parameters.

use core::fmt;

use nalgebra::SMatrix;

use crate::scalar::{BlockedSum, Float};

/// A label that is not one of the model's classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabelOutOfRange {
    /// The offending label.
    pub label: u32,
    /// The number of classes (valid labels are `0..classes`).
    pub classes: usize,
}

impl fmt::Display for LabelOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "label {} is outside the model's {} classes (0..{})",
            self.label, self.classes, self.classes
        )
    }
}

impl core::error::Error for LabelOutOfRange {}

/// A loss over batches of `N`-wide model outputs.
pub trait Loss<T: Float, const N: usize> {
    /// What a batch of `B` samples is compared with.
    type Target<const B: usize>;

    /// The mean loss over the first `len` columns; writes `∂loss/∂output` to `grad`
    /// (zero in columns `len..B`).
    fn loss_and_grad<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        target: &Self::Target<B>,
        len: usize,
        grad: &mut SMatrix<T, N, B>,
    ) -> Result<T, LabelOutOfRange>;

    /// The mean loss over the first `len` columns.
    fn loss<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        target: &Self::Target<B>,
        len: usize,
    ) -> Result<T, LabelOutOfRange>;
}

/// Softmax followed by cross-entropy against integer class labels, computed from logits in
/// one numerically stable step (PyTorch's `CrossEntropyLoss`, Keras's
/// `SparseCategoricalCrossentropy(from_logits=True)`), averaged over the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SoftmaxCrossEntropy;

impl SoftmaxCrossEntropy {
    fn column<T: Float>(logits: &[T], label: u32) -> Result<(T, T, T), LabelOutOfRange> {
        let classes = logits.len();
        let Some(&target) = logits.get(label as usize) else {
            return Err(LabelOutOfRange { label, classes });
        };
        let max = logits.iter().copied().fold(target, |m, v| if v > m { v } else { m });
        let sum = logits.iter().fold(T::ZERO, |s, &v| s + (v - max).exp());
        // −log softmax(x)[label] = log Σ e^{x−max} − (x[label] − max)
        Ok((sum.ln() - (target - max), max, sum))
    }
}

impl<T: Float, const N: usize> Loss<T, N> for SoftmaxCrossEntropy {
    type Target<const B: usize> = [u32; B];

    fn loss_and_grad<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        target: &[u32; B],
        len: usize,
        grad: &mut SMatrix<T, N, B>,
    ) -> Result<T, LabelOutOfRange> {
        let len = len.min(B);
        let scale = T::ONE / T::of(len.max(1) as f64);
        let mut total = BlockedSum::ZERO;
        let cols = output.as_slice().chunks_exact(N).zip(grad.as_mut_slice().chunks_exact_mut(N));
        for (b, (logits, g)) in cols.enumerate() {
            if b >= len {
                g.fill(T::ZERO);
                continue;
            }
            let (loss, max, sum) = Self::column(logits, target[b])?;
            total.add(loss);
            let inv = scale / sum;
            for (g, &x) in g.iter_mut().zip(logits) {
                *g = (x - max).exp() * inv;
            }
            g[target[b] as usize] -= scale;
        }
        Ok(total.value() * scale)
    }

    fn loss<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        target: &[u32; B],
        len: usize,
    ) -> Result<T, LabelOutOfRange> {
        let len = len.min(B);
        let mut total = BlockedSum::ZERO;
        for (logits, &label) in output.as_slice().chunks_exact(N).zip(target).take(len) {
            total.add(Self::column(logits, label)?.0);
        }
        Ok(total.value() / T::of(len.max(1) as f64))
    }
}

/// Mean squared error against target vectors, averaged over every element of the valid
/// columns (PyTorch's `MSELoss`, Keras's `MeanSquaredError`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanSquaredError;

impl<T: Float, const N: usize> Loss<T, N> for MeanSquaredError {
    type Target<const B: usize> = SMatrix<T, N, B>;

    fn loss_and_grad<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        target: &SMatrix<T, N, B>,
        len: usize,
        grad: &mut SMatrix<T, N, B>,
    ) -> Result<T, LabelOutOfRange> {
        let valid = len.min(B) * N;
        let scale = T::ONE / T::of(valid.max(1) as f64);
        let two = T::of(2.0) * scale;
        let mut total = BlockedSum::ZERO;
        let pairs = output.as_slice().iter().zip(target.as_slice());
        for (i, (g, (&o, &t))) in grad.as_mut_slice().iter_mut().zip(pairs).enumerate() {
            if i < valid {
                let d = o - t;
                total.add(d * d);
                *g = two * d;
            } else {
                *g = T::ZERO;
            }
        }
        Ok(total.value() * scale)
    }

    fn loss<const B: usize>(
        &self,
        output: &SMatrix<T, N, B>,
        target: &SMatrix<T, N, B>,
        len: usize,
    ) -> Result<T, LabelOutOfRange> {
        let valid = len.min(B) * N;
        let mut total = BlockedSum::ZERO;
        for (&o, &t) in output.as_slice().iter().zip(target.as_slice()).take(valid) {
            total.add((o - t) * (o - t));
        }
        Ok(total.value() / T::of(valid.max(1) as f64))
    }
}
