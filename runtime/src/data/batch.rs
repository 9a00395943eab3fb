//! [`Batch`]: samples laid out as the columns of a statically sized matrix, and the
//! epoch machinery that fills it from a [`Dataset`] in shuffled order.

use std::boxed::Box;
use std::fmt;
use std::vec::Vec;

use nalgebra::SMatrix;
use rand::Rng;
use rand::seq::SliceRandom;

use super::dataset::Dataset;
use super::error::DataError;
use crate::scalar::Float;

/// A batch of up to `B` samples of `IN` values, as a model's training step takes it.
///
/// Sample `b` is column `b` of `x`; nalgebra stores matrices column-major, so it occupies
/// `x.as_slice()[b * IN..(b + 1) * IN]`. Only the first `len` columns hold samples (the
/// last batch of an epoch is usually partial); the others, and their labels, are zero,
/// and the losses ignore them.
///
/// A batch of 128 MNIST images is 400 KB: build it on the heap with
/// [`zeroed_box`](Batch::zeroed_box), never on the stack.
pub struct Batch<T, const IN: usize, const B: usize> {
    /// The samples, one per column.
    pub x: SMatrix<T, IN, B>,
    /// The class label of each column (0 past `len`).
    pub labels: [u32; B],
    /// How many columns, from the first, hold samples.
    pub len: usize,
}

// SAFETY: every field is valid all-zero: a matrix of zeroable scalars (its storage is an
// array of them), an array of `u32`, a `usize`. `Float` implies `Pod`, hence `Zeroable`.
unsafe impl<T: Float, const IN: usize, const B: usize> bytemuck::Zeroable for Batch<T, IN, B> {}

impl<T: Float, const IN: usize, const B: usize> Batch<T, IN, B> {
    /// An empty batch (all zeros, `len` 0), allocated directly on the heap.
    pub fn zeroed_box() -> Box<Self> {
        bytemuck::zeroed_box()
    }

    /// Column `b`: the values of sample `b`.
    ///
    /// # Panics
    /// If `b >= B`.
    pub fn sample(&self, b: usize) -> &[T] {
        &self.x.as_slice()[b * IN..(b + 1) * IN]
    }
}

impl<T, const IN: usize, const B: usize> fmt::Debug for Batch<T, IN, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("shape", &(IN, B))
            .field("len", &self.len)
            .field("labels", &&self.labels[..self.len.min(B)])
            .finish_non_exhaustive()
    }
}

impl Dataset {
    /// Checks that this dataset fits a model from `IN` inputs to `OUT` outputs: samples of
    /// `IN` values, and no more classes than outputs ([`DataError::ModelMismatch`]).
    /// Training and evaluation ([`Fit`](crate::Fit)) check this before the first batch.
    pub fn check_model<const IN: usize, const OUT: usize>(&self) -> Result<(), DataError> {
        if self.features() == IN && self.classes() <= OUT {
            Ok(())
        } else {
            Err(DataError::ModelMismatch {
                features: self.features(),
                classes: self.classes(),
                input: IN,
                output: OUT,
            })
        }
    }

    /// Copies the samples at `indices` (at most `B` of them) into the columns of `batch`,
    /// converted to `T`, with their labels; sets `batch.len` to their number and zeroes
    /// the remaining columns and labels.
    ///
    /// Fails, leaving `batch` untouched, if `IN` is not the dataset's
    /// [`features`](Dataset::features) ([`DataError::BatchWidth`]), if there are more than
    /// `B` indices ([`DataError::BatchOverflow`]) or if an index is out of range
    /// ([`DataError::IndexOutOfRange`]).
    pub fn fill_batch<T: Float, const IN: usize, const B: usize>(
        &self,
        indices: &[usize],
        batch: &mut Batch<T, IN, B>,
    ) -> Result<(), DataError> {
        if IN != self.features() {
            return Err(DataError::BatchWidth { batch_rows: IN, features: self.features() });
        }
        if indices.len() > B {
            return Err(DataError::BatchOverflow { indices: indices.len(), batch_size: B });
        }
        if let Some(&index) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::IndexOutOfRange { index, len: self.len() });
        }
        let n = indices.len();
        // `IN == features >= 1`, so the chunks are not empty.
        let columns = batch.x.as_mut_slice().chunks_exact_mut(IN);
        for (column, &i) in columns.zip(indices) {
            for (dst, &src) in column.iter_mut().zip(self.image(i)) {
                *dst = T::of(f64::from(src));
            }
        }
        batch.x.as_mut_slice()[n * IN..].fill(T::ZERO);
        for (label, &i) in batch.labels.iter_mut().zip(indices) {
            *label = u32::from(self.label(i));
        }
        batch.labels[n..].fill(0);
        batch.len = n;
        Ok(())
    }

    /// The indices `0..len` in a random order (a Fisher–Yates shuffle), for one epoch.
    ///
    /// With a seeded generator the order is reproducible: `StdRng::seed_from_u64(seed)`
    /// (from `rand::rngs` and `rand::SeedableRng`) gives the same order for the same seed
    /// on every run and platform, for a given version of `rand` (whose `StdRng` algorithm
    /// may change between major versions).
    pub fn shuffled_indices<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(rng);
        order
    }

    /// The indices of `order` in chunks of `B`, one per batch, for
    /// [`fill_batch`](Dataset::fill_batch); the last chunk holds the remainder (it is
    /// never dropped), so an epoch sees every sample once.
    ///
    /// `B` must be at least 1 (checked at compile time).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use staticnn_runtime::data::{Batch, Dataset, Split};
    ///
    /// let train = Dataset::mnist("data/mnist", Split::Train)?;
    /// let mut batch = Batch::<f32, 784, 128>::zeroed_box();
    /// let mut rng = StdRng::seed_from_u64(42);
    /// for _epoch in 0..3 {
    ///     let order = train.shuffled_indices(&mut rng);
    ///     for indices in train.batches::<128>(&order) {
    ///         train.fill_batch(indices, &mut batch)?;
    ///         // trainer.step(&mut model, &mut opt, &loss, &batch.x, &batch.labels, batch.len)?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn batches<'a, const B: usize>(&self, order: &'a [usize]) -> core::slice::Chunks<'a, usize> {
        const { assert!(B > 0, "the batch size B must be at least 1") };
        order.chunks(B)
    }
}
