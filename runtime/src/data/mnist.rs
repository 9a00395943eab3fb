//! MNIST's standard file names: [`Dataset::mnist`] and [`Split`].

use std::fmt;
use std::format;
use std::path::{Path, PathBuf};
use std::vec::Vec;

use super::dataset::Dataset;
use super::error::DataError;

/// Which half of a dataset distributed as a training and a test set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set (MNIST: 60 000 samples, files `train-*`).
    Train,
    /// The test set (MNIST: 10 000 samples, files `t10k-*`).
    Test,
}

impl Split {
    /// The prefix of MNIST's file names for this split: `"train"` or `"t10k"`.
    pub const fn mnist_prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Split::Train => "training",
            Split::Test => "test",
        })
    }
}

/// The first of the usual names for one MNIST file that exists in `dir`, or every path
/// tried.
fn find(dir: &Path, prefix: &str, what: &str) -> Result<PathBuf, Vec<PathBuf>> {
    // `train-images-idx3-ubyte` as distributed; `train-images.idx3-ubyte` as some mirrors
    // rename it; each possibly still gzipped.
    let names = [
        format!("{prefix}-{what}-ubyte"),
        format!("{prefix}-{what}-ubyte.gz"),
        format!("{prefix}-{}-ubyte", what.replacen('-', ".", 1)),
        format!("{prefix}-{}-ubyte.gz", what.replacen('-', ".", 1)),
    ];
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    match paths.iter().find(|p| p.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(paths),
    }
}

impl Dataset {
    /// MNIST's classes: the digits 0 to 9.
    pub const MNIST_CLASSES: usize = 10;

    /// Loads MNIST's training or test set from `dir`, which holds the files under their
    /// standard names, raw or gzipped: `train-images-idx3-ubyte[.gz]` and
    /// `train-labels-idx1-ubyte[.gz]`, or `t10k-…` for the test set (the variants
    /// `train-images.idx3-ubyte` are accepted too).
    ///
    /// The samples are as wide as the images file says (784 for MNIST itself, or any
    /// other size for a dataset in MNIST's format such as Fashion-MNIST), with
    /// [`MNIST_CLASSES`](Self::MNIST_CLASSES) classes; a label outside them is an error.
    /// Whether the data fits a model is checked when it meets one
    /// ([`check_model`](Dataset::check_model)). If a file is missing,
    /// [`DataError::MnistNotFound`] lists every path tried.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), staticnn_runtime::data::DataError> {
    /// use staticnn_runtime::data::{Dataset, Split};
    ///
    /// let train = Dataset::mnist("data/mnist", Split::Train)?;
    /// let test = Dataset::mnist("data/mnist", Split::Test)?;
    /// assert_eq!((train.len(), test.len()), (60_000, 10_000));
    /// assert_eq!((train.features(), train.classes()), (784, 10));
    /// # Ok(()) }
    /// ```
    pub fn mnist(dir: impl AsRef<Path>, split: Split) -> Result<Self, DataError> {
        let dir = dir.as_ref();
        let prefix = split.mnist_prefix();
        let images = find(dir, prefix, "images-idx3");
        let labels = find(dir, prefix, "labels-idx1");
        match (images, labels) {
            (Ok(images), Ok(labels)) => Dataset::load_idx(&images, &labels, None, Self::MNIST_CLASSES),
            (images, labels) => {
                let tried = images.err().into_iter().chain(labels.err()).flatten();
                Err(DataError::MnistNotFound { dir: dir.to_path_buf(), split, tried: tried.collect() })
            }
        }
    }
}
