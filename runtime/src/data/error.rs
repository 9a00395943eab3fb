//! [`DataError`]: every way loading or batching a dataset can fail.
//!
//! Errors about a file always carry its path, and say what was expected and what was
//! found, so that the message alone is enough to fix the problem.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::vec::Vec;

use super::idx::ElementType;
use super::mnist::Split;

/// What an IDX file was expected to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdxContents {
    /// Images (or any samples): rank ≥ 2, `[count, d1, d2, ...]`.
    Images,
    /// Class labels: rank 1, `[count]`, an integer element type.
    Labels,
}

/// Why a dataset could not be loaded, built or batched.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file starts like gzip (`1f 8b`) but the compressed stream is corrupt or cut
    /// short.
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decompressor's error.
        source: io::Error,
    },
    /// The file ends inside its header.
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Bytes the header needs (4, then 4 more per dimension).
        expected_bytes: usize,
        /// Bytes present.
        found_bytes: usize,
    },
    /// The first two bytes are not zero: this is not an IDX file.
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first four bytes (of the decompressed stream if the file is gzipped),
        /// padded with zeros if there are fewer.
        found: [u8; 4],
    },
    /// The third byte names no IDX element type.
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// The type byte found.
        type_byte: u8,
    },
    /// The dimensions multiply to more elements or bytes than this machine can address.
    DimensionsOverflow {
        /// The file.
        path: PathBuf,
        /// The dimensions the header announces.
        dims: Vec<u32>,
    },
    /// The file has the wrong number of dimensions for what it should hold.
    WrongRank {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        expected: IdxContents,
        /// The dimensions found.
        dims: Vec<usize>,
    },
    /// Each sample in the file does not have as many values as the model's input.
    InputWidth {
        /// The file.
        path: PathBuf,
        /// The dimensions of one sample in the file (the header's dims after the count).
        item_dims: Vec<usize>,
        /// The model's input width.
        input_width: usize,
    },
    /// A labels file whose element type is not an integer.
    NonIntegerLabels {
        /// The file.
        path: PathBuf,
        /// The element type found.
        element: ElementType,
    },
    /// The data section is shorter than the header announces.
    Truncated {
        /// The file.
        path: PathBuf,
        /// Items the header announces.
        items: usize,
        /// Bytes per item.
        item_bytes: usize,
        /// Bytes of data the header announces (`items × item_bytes`).
        expected_bytes: u64,
        /// Bytes of data present.
        found_bytes: u64,
    },
    /// More data follows the amount the header announces.
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Bytes of data the header announces.
        expected_bytes: u64,
        /// Bytes found after them.
        extra_bytes: u64,
    },
    /// A sample value is NaN or infinite.
    NonFinite {
        /// The file, or `None` for in-memory data.
        path: Option<PathBuf>,
        /// The sample's index.
        sample: usize,
        /// The value's index within the sample.
        feature: usize,
        /// The value.
        value: f64,
    },
    /// A label in the file is not a class index that fits a byte (`0..=255`).
    LabelNotByte {
        /// The file.
        path: PathBuf,
        /// The sample's index.
        index: usize,
        /// The label found.
        value: i64,
    },
    /// A label is not one of the model's classes.
    LabelOutOfRange {
        /// The labels file, or `None` for in-memory data.
        path: Option<PathBuf>,
        /// The sample's index.
        index: usize,
        /// The label found.
        label: u8,
        /// The number of classes (valid labels are `0..classes`).
        classes: usize,
    },
    /// The images and labels files hold different numbers of samples.
    CountMismatch {
        /// The images file.
        images: PathBuf,
        /// Images it holds.
        image_count: usize,
        /// The labels file.
        labels: PathBuf,
        /// Labels it holds.
        label_count: usize,
    },
    /// [`Dataset::mnist`](super::Dataset::mnist) found none of the standard file names.
    MnistNotFound {
        /// The directory searched.
        dir: PathBuf,
        /// The split looked for.
        split: Split,
        /// Every path tried, in order.
        tried: Vec<PathBuf>,
    },
    /// A sample width (the model's input width, or `features`) of zero.
    ZeroFeatures,
    /// In-memory images whose length is not `labels × features`.
    InvalidShape {
        /// Values in the images vector.
        images_len: usize,
        /// Labels given.
        labels_len: usize,
        /// Values per sample.
        features: usize,
    },
    /// A batch whose height (`IN`) differs from the dataset's sample width.
    BatchWidth {
        /// The batch's rows per sample, `IN`.
        batch_rows: usize,
        /// The dataset's values per sample.
        features: usize,
    },
    /// The dataset does not fit the model it is to train or evaluate.
    ModelMismatch {
        /// The dataset's values per sample.
        features: usize,
        /// The dataset's classes.
        classes: usize,
        /// The model's input width.
        input: usize,
        /// The model's output width (its number of classes).
        output: usize,
    },
    /// More indices than the batch has columns.
    BatchOverflow {
        /// Indices given.
        indices: usize,
        /// The batch size `B`.
        batch_size: usize,
    },
    /// A sample index past the end of the dataset.
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// The dataset's length.
        len: usize,
    },
}

/// `a × b × ...` for an error message.
struct DimList<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for DimList<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// A file path, or a note that the data came from memory.
struct DataSource<'a>(Option<&'a Path>);

impl fmt::Display for DataSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("in-memory dataset"),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { path, source } => {
                write!(f, "{}: cannot read the file: {source}", path.display())
            }
            DataError::Gzip { path, source } => {
                write!(f, "{}: corrupt or truncated gzip stream: {source}", path.display())
            }
            DataError::TruncatedHeader { path, found_bytes: 0, .. } => {
                write!(f, "{}: the file is empty, not an IDX file", path.display())
            }
            DataError::TruncatedHeader { path, expected_bytes, found_bytes } => write!(
                f,
                "{}: the file ends inside its IDX header: the header needs {expected_bytes} bytes, the file has {found_bytes}",
                path.display()
            ),
            DataError::BadMagic { path, found } => write!(
                f,
                "{}: not an IDX file: it starts with {:02x} {:02x} {:02x} {:02x}, an IDX file starts with 00 00, then its type and rank bytes",
                path.display(),
                found[0],
                found[1],
                found[2],
                found[3]
            ),
            DataError::UnsupportedType { path, type_byte } => write!(
                f,
                "{}: unsupported IDX element type 0x{type_byte:02X} (supported: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)",
                path.display()
            ),
            DataError::DimensionsOverflow { path, dims } => write!(
                f,
                "{}: the header's dimensions {} describe more data than this machine can address",
                path.display(),
                DimList(dims)
            ),
            DataError::WrongRank { path, expected: IdxContents::Images, dims } => write!(
                f,
                "{}: an images file must have rank 2 or more ([count, ...]), this one has rank {} (dims {}); is it a labels file?",
                path.display(),
                dims.len(),
                DimList(dims)
            ),
            DataError::WrongRank { path, expected: IdxContents::Labels, dims } => write!(
                f,
                "{}: a labels file must have rank 1 ([count]), this one has rank {} (dims {}); is it an images file?",
                path.display(),
                dims.len(),
                DimList(dims)
            ),
            DataError::InputWidth { path, item_dims, input_width } => {
                let values = item_dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
                write!(f, "{}: each sample has dims {}", path.display(), DimList(item_dims))?;
                if let Some(values) = values {
                    write!(f, " = {values} values")?;
                }
                write!(f, ", but the model's input is {input_width} wide")
            }
            DataError::NonIntegerLabels { path, element } => write!(
                f,
                "{}: labels must have an integer element type, this file holds {element}",
                path.display()
            ),
            DataError::Truncated { path, items, item_bytes, expected_bytes, found_bytes } => write!(
                f,
                "{}: truncated: the header announces {items} items of {item_bytes} bytes ({expected_bytes} bytes of data), but only {found_bytes} bytes follow",
                path.display()
            ),
            DataError::TrailingData { path, expected_bytes, extra_bytes } => write!(
                f,
                "{}: {extra_bytes} unexpected bytes follow the {expected_bytes} bytes of data the header announces",
                path.display()
            ),
            DataError::NonFinite { path, sample, feature, value } => write!(
                f,
                "{}: sample {sample}, value {feature} is {value}, not a finite number",
                DataSource(path.as_deref())
            ),
            DataError::LabelNotByte { path, index, value } => {
                write!(f, "{}: label {index} is {value}, not a class index in 0..=255", path.display())
            }
            DataError::LabelOutOfRange { path, index, label, classes } => write!(
                f,
                "{}: sample {index} has label {label}, outside the model's {classes} classes (0..{classes})",
                DataSource(path.as_deref())
            ),
            DataError::CountMismatch { images, image_count, labels, label_count } => write!(
                f,
                "{} holds {image_count} images but {} holds {label_count} labels",
                images.display(),
                labels.display()
            ),
            DataError::MnistNotFound { dir, split, tried } => {
                write!(f, "MNIST {split} set not found in {}; tried", dir.display())?;
                for (i, path) in tried.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{}", path.display())?;
                }
                Ok(())
            }
            DataError::ZeroFeatures => {
                f.write_str("samples must have at least one value (the input width is 0)")
            }
            DataError::InvalidShape { images_len, labels_len, features } => write!(
                f,
                "in-memory dataset: {labels_len} labels × {features} features need {} image values, got {images_len}",
                *labels_len as u128 * *features as u128
            ),
            DataError::BatchWidth { batch_rows, features } => write!(
                f,
                "the batch holds samples of {batch_rows} values but the dataset's samples have {features}"
            ),
            DataError::ModelMismatch { features, classes, input, output } => write!(
                f,
                "the dataset does not fit the model: its samples have {features} values and {classes} classes, \
                 the model takes {input} inputs and has {output} outputs{}",
                if features != input {
                    " (the input widths differ)"
                } else {
                    " (the dataset has more classes than the model has outputs)"
                }
            ),
            DataError::BatchOverflow { indices, batch_size } => {
                write!(f, "{indices} sample indices do not fit a batch of {batch_size}")
            }
            DataError::IndexOutOfRange { index, len } => {
                write!(f, "sample index {index} is out of range for a dataset of {len} samples")
            }
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } | DataError::Gzip { source, .. } => Some(source),
            _ => None,
        }
    }
}
