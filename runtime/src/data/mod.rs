//! Loading datasets and feeding them to a model in statically sized batches (feature
//! `std`).
//!
//! - [`IdxReader`] reads the IDX format of MNIST, raw or gzipped;
//! - [`Dataset`] holds labelled samples in memory, checked against the model's input
//!   width and number of classes when loaded ([`Dataset::mnist`],
//!   [`Dataset::from_idx_files`], [`Dataset::from_vecs`]);
//! - [`Batch`] lays up to `B` samples out as the columns of a matrix, as a model's
//!   training step takes them; [`Dataset::shuffled_indices`], [`Dataset::batches`] and
//!   [`Dataset::fill_batch`] run an epoch;
//! - [`DataError`] says what went wrong, naming where the data came from ([`DataSource`]:
//!   the file, or `<bytes>`, `<reader>`).
//!
//! Nothing in this module panics on the contents of a file, and a lying header cannot make
//! it allocate more than the data actually present justifies (see [`IdxReader`]).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use rand::{SeedableRng, rngs::StdRng};
//! use staticnn_runtime::data::{Batch, Dataset, Split};
//!
//! let train = Dataset::mnist("data/mnist", Split::Train)?;
//! let mut batch = Batch::<f32, 784, 128>::zeroed_box();
//! let mut rng = StdRng::seed_from_u64(42); // a reproducible order
//! let order = train.shuffled_indices(&mut rng);
//! for indices in train.batches::<128>(&order) {
//!     train.fill_batch(indices, &mut batch)?;
//!     // trainer.step(&mut model, &mut opt, &loss, &batch.x, &batch.labels, batch.len)?;
//! }
//! # Ok(()) }
//! ```

mod batch;
mod dataset;
mod error;
mod idx;
mod mnist;
#[cfg(test)]
mod tests;

pub use batch::Batch;
pub use dataset::Dataset;
pub use error::{DataError, DataSource, IdxContents};
pub use idx::{ElementType, IdxHeader, IdxReader};
pub use mnist::Split;
