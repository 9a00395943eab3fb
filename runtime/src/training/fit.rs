//! The training loop over a [`Dataset`]: one shuffled epoch of steps, and evaluation with
//! accuracy, mean loss and a [confusion matrix](ConfusionMatrix) — written once for every
//! generated model.

use std::boxed::Box;
use std::fmt;
use std::vec::Vec;

use rand::Rng;

use super::loss::Loss;
use super::metrics::{ConfusionMatrix, Metrics, argmax, count_correct};
use super::optim::Optimizer;
use super::step::{BatchTrainer, TrainError};
use crate::data::{Batch, DataError, Dataset};
use crate::model::Model;
use crate::scalar::Float;

/// Why a training or evaluation run stopped.
#[derive(Debug)]
pub enum FitError {
    /// The data could not be batched for the model.
    Data(DataError),
    /// Training failed (a bad label, invalid hyper-parameters, or divergence).
    Train(TrainError),
    /// The dataset holds no samples: an epoch over it would train nothing and its
    /// accuracy would be undefined.
    EmptyDataset,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitError::Data(e) => e.fmt(f),
            FitError::Train(e) => e.fmt(f),
            FitError::EmptyDataset => f.write_str("the dataset holds no samples"),
        }
    }
}

impl std::error::Error for FitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FitError::Data(e) => Some(e),
            FitError::Train(e) => Some(e),
            FitError::EmptyDataset => None,
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

/// Epochs and evaluation over a [`Dataset`], for every [`BatchTrainer`] (a [`Trainer`](crate::Trainer) or a
/// [`ParallelTrainer`](crate::ParallelTrainer)).
pub trait Fit<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize>:
    BatchTrainer<M, IN, OUT, B>
{
    /// Trains for one epoch over `data` in an order shuffled by `rng`, in batches of `B`
    /// (the last one partial). Returns the epoch's mean training loss and accuracy, each
    /// batch measured before its update, as Keras and the usual PyTorch loops report them.
    /// `progress` is called after every batch with the samples done so far.
    ///
    /// Fails before the first step on data that does not fit the model or holds no
    /// samples, and on invalid hyper-parameters; stops at the first step that diverges
    /// ([`TrainError::Diverged`]), so it never returns `Ok` with a non-finite model.
    fn fit_epoch<L, O, R>(
        &mut self,
        model: &mut M,
        optimizer: &mut O,
        loss: &L,
        data: &Dataset,
        rng: &mut R,
        mut progress: impl FnMut(usize, &Metrics),
    ) -> Result<Metrics, FitError>
    where
        Self: Sized,
        L: Loss<M::Scalar, OUT, Target<B> = [u32; B]> + Sync,
        O: Optimizer<M> + Send,
        R: Rng + ?Sized,
    {
        check::<IN, OUT>(data)?;
        let order = data.shuffled_indices(rng);
        let mut batch = Batch::<M::Scalar, IN, B>::zeroed_box();
        let mut metrics = Metrics::default();
        for indices in data.batches::<B>(&order) {
            data.fill_batch(indices, &mut batch)?;
            let value = self.step(model, optimizer, loss, &batch.x, &batch.labels, batch.len)?;
            metrics.add(value.as_f64(), count_correct(self.output(), &batch.labels, batch.len), batch.len);
            progress(metrics.samples, &metrics);
        }
        Ok(metrics)
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
        L: Loss<M::Scalar, OUT, Target<B> = [u32; B]>,
    {
        check::<IN, OUT>(data)?;
        let order: Vec<usize> = (0..data.len()).collect();
        let mut batch: Box<Batch<M::Scalar, IN, B>> = Batch::zeroed_box();
        let mut metrics = Metrics::default();
        for indices in data.batches::<B>(&order) {
            data.fill_batch(indices, &mut batch)?;
            let output = self.infer(model, &batch.x);
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
    }
}

/// Checks that `data` fits a model of `IN` inputs and `OUT` outputs and is not empty.
fn check<const IN: usize, const OUT: usize>(data: &Dataset) -> Result<(), FitError> {
    data.check_model::<IN, OUT>()?;
    if data.is_empty() {
        return Err(FitError::EmptyDataset);
    }
    Ok(())
}

impl<M, T, const IN: usize, const OUT: usize, const B: usize> Fit<M, IN, OUT, B> for T
where
    M: Model<IN, OUT>,
    T: BatchTrainer<M, IN, OUT, B>,
{
}
