//! The training loop over a [`Dataset`]: one shuffled epoch of steps, and evaluation with
//! accuracy, mean loss and a confusion matrix — written once for every generated model.

use std::boxed::Box;
use std::fmt;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

use rand::Rng;

use crate::data::{Batch, DataError, Dataset};
use crate::loss::Loss;
use crate::metrics::{Metrics, argmax, count_correct};
use crate::model::Model;
use crate::optim::Optimizer;
use crate::scalar::Float;
use crate::train::{BatchTrainer, TrainError};

/// Why a training or evaluation run stopped.
#[derive(Debug)]
pub enum FitError {
    /// The data could not be batched for the model.
    Data(DataError),
    /// Training failed (a bad label, or divergence).
    Train(TrainError),
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitError::Data(e) => e.fmt(f),
            FitError::Train(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FitError::Data(e) => Some(e),
            FitError::Train(e) => Some(e),
        }
    }
}

impl From<DataError> for FitError {
    fn from(e: DataError) -> Self {
        FitError::Data(e)
    }
}

impl From<TrainError> for FitError {
    fn from(e: TrainError) -> Self {
        FitError::Train(e)
    }
}

/// Counts of (true class, predicted class) pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

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

/// Epochs and evaluation over a [`Dataset`], for every [`BatchTrainer`] (a [`Trainer`](crate::Trainer) or a
/// [`ParallelTrainer`](crate::ParallelTrainer)).
pub trait Fit<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize>:
    BatchTrainer<M, IN, OUT, B>
{
    /// Trains for one epoch over `data` in an order shuffled by `rng`, in batches of `B`
    /// (the last one partial). Returns the epoch's mean training loss and accuracy, each
    /// batch measured before its update, as Keras and the usual PyTorch loops report them.
    /// `progress` is called after every batch with the samples done so far.
    fn fit_epoch<L, O, R>(
        &mut self,
        model: &mut M,
        optimizer: &mut O,
        loss: &L,
        data: &Dataset,
        rng: &mut R,
        mut progress: impl FnMut(usize, &Metrics) + Send,
    ) -> Result<Metrics, FitError>
    where
        Self: Sized,
        L: Loss<M::Scalar, OUT, Target<B> = [u32; B]> + Sync,
        O: Optimizer<M> + Send,
        R: Rng + ?Sized,
    {
        let order = data.shuffled_indices(rng);
        self.within(|trainer| {
            let mut batch = Batch::<M::Scalar, IN, B>::zeroed_box();
            let mut metrics = Metrics::default();
            for indices in data.batches::<B>(&order) {
                data.fill_batch(indices, &mut batch)?;
                let value = trainer.step(model, optimizer, loss, &batch.x, &batch.labels, batch.len)?;
                metrics.add(
                    value.as_f64(),
                    count_correct(trainer.output(), &batch.labels, batch.len),
                    batch.len,
                );
                progress(metrics.samples, &metrics);
            }
            Ok(metrics)
        })
    }

    /// Evaluates `model` on all of `data`: mean loss and accuracy, and, if `confusion` is
    /// given, every (true, predicted) pair recorded in it.
    fn evaluate<L>(
        &mut self,
        model: &M,
        loss: &L,
        data: &Dataset,
        mut confusion: Option<&mut ConfusionMatrix>,
    ) -> Result<Metrics, FitError>
    where
        Self: Sized,
        L: Loss<M::Scalar, OUT, Target<B> = [u32; B]> + Sync,
    {
        let order: Vec<usize> = (0..data.len()).collect();
        self.within(|trainer| {
            let mut batch: Box<Batch<M::Scalar, IN, B>> = Batch::zeroed_box();
            let mut metrics = Metrics::default();
            for indices in data.batches::<B>(&order) {
                data.fill_batch(indices, &mut batch)?;
                let output = trainer.infer(model, &batch.x);
                let value = loss.loss(output, &batch.labels, batch.len).map_err(TrainError::from)?;
                metrics.add(value.as_f64(), count_correct(output, &batch.labels, batch.len), batch.len);
                if let Some(confusion) = confusion.as_deref_mut() {
                    let columns = output.as_slice().chunks_exact(OUT).zip(&batch.labels).take(batch.len);
                    for (column, &label) in columns {
                        confusion.add(label as usize, argmax(column));
                    }
                }
            }
            Ok(metrics)
        })
    }
}

impl<M, T, const IN: usize, const OUT: usize, const B: usize> Fit<M, IN, OUT, B> for T
where
    M: Model<IN, OUT>,
    T: BatchTrainer<M, IN, OUT, B>,
{
}
