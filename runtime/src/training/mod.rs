//! Training: [losses](loss), [optimizers](optim), [metrics], the [training step](step) and,
//! with `std`, the epoch loop ([`fit`]) and data-parallel training ([`parallel`]) — each
//! written once for every generated model.

pub mod batch_size;
#[cfg(feature = "std")]
pub mod fit;
pub mod loss;
pub mod metrics;
pub mod optim;
#[cfg(feature = "std")]
pub mod parallel;
pub mod step;

pub use self::batch_size::{BATCH_SIZES, UnsupportedBatchSize};
#[cfg(feature = "std")]
pub use self::fit::{Fit, FitError};
pub use self::loss::{LabelOutOfRange, Loss, MeanSquaredError, SoftmaxCrossEntropy};
#[cfg(feature = "std")]
pub use self::metrics::ConfusionMatrix;
pub use self::metrics::Metrics;
pub use self::optim::{
    Adam, AdamConfig, AdamForm, InvalidHyperparameter, Momentum, Optimizer, OptimizerState, Sgd,
    StateTensors, StateTensorsMut, Update,
};
#[cfg(feature = "std")]
pub use self::parallel::ParallelTrainer;
#[cfg(feature = "alloc")]
pub use self::step::Trainer;
pub use self::step::{BatchTrainer, Divergence, TrainError, train_step};
