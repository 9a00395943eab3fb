//! [`Dataset`]: labelled samples in memory, validated against the model they feed.

use std::fmt;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::vec;
use std::vec::Vec;

use super::error::{DataError, DataSource};
use super::idx::IdxReader;

/// Labelled samples for a classifier: `len` rows of `features` `f32` values, and one
/// class label per row.
///
/// Every constructor checks that the shapes agree, that each label is one of `classes`
/// and that every value is finite, so a `Dataset` can be batched without further checks
/// on its contents.
#[derive(Clone, PartialEq)]
pub struct Dataset {
    images: Vec<f32>,
    labels: Vec<u8>,
    features: usize,
    classes: usize,
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("len", &self.len())
            .field("features", &self.features)
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

/// The first label not in `0..classes`, as an error.
fn check_label_range(labels: &[u8], classes: usize, origin: &DataSource) -> Result<(), DataError> {
    match labels.iter().position(|&l| usize::from(l) >= classes) {
        Some(index) => {
            Err(DataError::LabelOutOfRange { origin: origin.clone(), index, label: labels[index], classes })
        }
        None => Ok(()),
    }
}

impl Dataset {
    /// Loads images and labels from two IDX files (raw or gzipped, see
    /// [`IdxReader`]) for a model whose input is `input_width` values wide and which
    /// tells `classes` classes apart.
    ///
    /// Both headers are checked before any data is read: the images file must hold
    /// samples of exactly `input_width` values (`28 × 28 = 784` for MNIST), the labels
    /// file must be rank 1 with an integer type, and both must count the same samples.
    /// Then every label must be below `classes`. Image values are converted as described
    /// on [`ElementType`](super::ElementType).
    pub fn from_idx_files(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
        input_width: usize,
        classes: usize,
    ) -> Result<Self, DataError> {
        Self::load_idx(images.as_ref(), labels.as_ref(), Some(input_width), classes)
    }

    /// [`from_idx_files`](Self::from_idx_files), with the input width taken from the images
    /// file unless `input_width` is given.
    pub(super) fn load_idx(
        images: &Path,
        labels: &Path,
        input_width: Option<usize>,
        classes: usize,
    ) -> Result<Self, DataError> {
        if input_width == Some(0) {
            return Err(DataError::ZeroFeatures);
        }
        let images = IdxReader::open(images)?;
        images.check_images()?;
        let found = images.header().item_elements();
        let input_width = input_width.unwrap_or(found);
        if found != input_width || found == 0 {
            return Err(DataError::InputWidth {
                origin: images.origin().clone(),
                item_dims: images.header().item_dims().to_vec(),
                input_width,
            });
        }
        let labels = IdxReader::open(labels)?;
        labels.check_label_header()?;
        if images.header().items() != labels.header().items() {
            return Err(DataError::CountMismatch {
                images: images.origin().clone(),
                image_count: images.header().items(),
                labels: labels.origin().clone(),
                label_count: labels.header().items(),
            });
        }
        let labels_origin = labels.origin().clone();
        let labels = labels.into_labels()?;
        check_label_range(&labels, classes, &labels_origin)?;
        let images = images.into_images()?;
        Ok(Dataset { images, labels, features: input_width, classes })
    }

    /// A dataset from memory: `images` holds `labels.len()` rows of `features` values,
    /// one after the other.
    ///
    /// Fails if `features` is 0 ([`DataError::ZeroFeatures`]), if the lengths disagree
    /// ([`DataError::InvalidShape`]), on a label not below `classes`
    /// ([`DataError::LabelOutOfRange`]) or on a NaN or infinite value
    /// ([`DataError::NonFinite`]).
    pub fn from_vecs(
        images: Vec<f32>,
        labels: Vec<u8>,
        features: usize,
        classes: usize,
    ) -> Result<Self, DataError> {
        if features == 0 {
            return Err(DataError::ZeroFeatures);
        }
        if labels.len().checked_mul(features) != Some(images.len()) {
            return Err(DataError::InvalidShape {
                images_len: images.len(),
                labels_len: labels.len(),
                features,
            });
        }
        check_label_range(&labels, classes, &DataSource::Vecs)?;
        if let Some(at) = images.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFinite {
                origin: DataSource::Vecs,
                sample: at / features,
                feature: at % features,
                value: f64::from(images[at]),
            });
        }
        Ok(Dataset { images, labels, features, classes })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per sample (the model's input width).
    pub fn features(&self) -> usize {
        self.features
    }

    /// The number of classes; every label is below it.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Sample `i`'s values.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * self.features..(i + 1) * self.features]
    }

    /// Sample `i`'s label.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// All values, sample after sample (`len × features`).
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// An owned copy of the samples in `range`, clamped to the dataset: `subset(..1000)`
    /// keeps the first 1000 samples (or all, if there are fewer), handy for quick runs.
    pub fn subset(&self, range: impl RangeBounds<usize>) -> Dataset {
        let len = self.len();
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        }
        .min(len);
        let end = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => len,
        }
        .clamp(start, len);
        Dataset {
            images: self.images[start * self.features..end * self.features].to_vec(),
            labels: self.labels[start..end].to_vec(),
            features: self.features,
            classes: self.classes,
        }
    }

    /// How many samples each class has: `classes` counts, indexed by label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &label in &self.labels {
            // Every label is below `classes`, checked at construction.
            if let Some(count) = counts.get_mut(usize::from(label)) {
                *count += 1;
            }
        }
        counts
    }
}
