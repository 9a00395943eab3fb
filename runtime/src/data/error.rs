//! [`DataError`]: every way loading or batching a dataset can fail.
//!
//! Errors about data always carry its origin ([`DataSource`]: a file's path, or a note that
//! the bytes came from memory or a reader), and say what was expected and what was found,
//! so that the message alone is enough to fix the problem.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::vec::Vec;

use super::idx::{DEFLATE_MAX_RATIO, ElementType};
use super::mnist::Split;

/// Where the data an error is about came from; displays as the file's path, or as
/// `<bytes>`, `<reader>` or `in-memory dataset`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataSource {
    /// A file ([`IdxReader::open`](super::IdxReader::open) and the loaders built on it).
    File(PathBuf),
    /// A byte slice ([`IdxReader::from_bytes`](super::IdxReader::from_bytes)).
    Bytes,
    /// A reader ([`IdxReader::from_reader`](super::IdxReader::from_reader)).
    Reader,
    /// Vectors given to [`Dataset::from_vecs`](super::Dataset::from_vecs).
    Vecs,
}

impl DataSource {
    /// The file's path, if the data came from a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DataSource::File(path) => Some(path),
            DataSource::Bytes | DataSource::Reader | DataSource::Vecs => None,
        }
    }

    /// How a message refers to the data as a whole: "the file", "the bytes", ….
    fn noun(&self) -> &'static str {
        match self {
            DataSource::File(_) => "the file",
            DataSource::Bytes => "the byte slice",
            DataSource::Reader => "the reader's data",
            DataSource::Vecs => "the dataset",
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSource::File(path) => write!(f, "{}", path.display()),
            DataSource::Bytes => f.write_str("<bytes>"),
            DataSource::Reader => f.write_str("<reader>"),
            DataSource::Vecs => f.write_str("in-memory dataset"),
        }
    }
}

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
        /// Where the data came from.
        origin: DataSource,
        /// The underlying error.
        source: io::Error,
    },
    /// The data starts like gzip (`1f 8b`) but the compressed stream is corrupt or cut
    /// short (a bad checksum, an invalid deflate block, a member that ends early).
    Gzip {
        /// Where the data came from.
        origin: DataSource,
        /// The decompressor's error.
        source: io::Error,
    },
    /// The data ends inside its header (including data shorter than the 4-byte magic
    /// number).
    TruncatedHeader {
        /// Where the data came from.
        origin: DataSource,
        /// Bytes the header needs (4, then 4 more per dimension).
        expected_bytes: usize,
        /// Bytes present.
        found_bytes: usize,
    },
    /// The first two bytes are not zero: this is not an IDX file.
    BadMagic {
        /// Where the data came from.
        origin: DataSource,
        /// The first four bytes (of the decompressed stream if the data is gzipped).
        found: [u8; 4],
    },
    /// The third byte names no IDX element type.
    UnsupportedType {
        /// Where the data came from.
        origin: DataSource,
        /// The type byte found.
        type_byte: u8,
    },
    /// The dimensions multiply to more elements or bytes than this machine can address.
    DimensionsOverflow {
        /// Where the data came from.
        origin: DataSource,
        /// The dimensions the header announces.
        dims: Vec<u32>,
    },
    /// The file has the wrong number of dimensions for what it should hold.
    WrongRank {
        /// Where the data came from.
        origin: DataSource,
        /// What the file should hold.
        expected: IdxContents,
        /// The dimensions found.
        dims: Vec<usize>,
    },
    /// Each sample in the file does not have as many values as the model's input.
    InputWidth {
        /// Where the data came from.
        origin: DataSource,
        /// The dimensions of one sample in the file (the header's dims after the count).
        item_dims: Vec<usize>,
        /// The model's input width.
        input_width: usize,
    },
    /// A labels file whose element type is not an integer.
    NonIntegerLabels {
        /// Where the data came from.
        origin: DataSource,
        /// The element type found.
        element: ElementType,
    },
    /// The data section is shorter than the header announces.
    Truncated {
        /// Where the data came from.
        origin: DataSource,
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
        /// Where the data came from.
        origin: DataSource,
        /// Bytes of data the header announces.
        expected_bytes: u64,
        /// Bytes found after them.
        extra_bytes: u64,
    },
    /// Bytes follow the last complete gzip member that do not start another member
    /// (`1f 8b`).
    GzipTrailingGarbage {
        /// Where the data came from.
        origin: DataSource,
        /// Offset of the first such byte in the compressed data.
        offset: u64,
        /// How many such bytes there are, up to the end of the input.
        bytes: u64,
    },
    /// The header announces more data than the compressed input could hold even at
    /// deflate's maximum ratio (1032 to 1), so the data cannot all be there; found before
    /// anything is decompressed.
    ExceedsCompressedSize {
        /// Where the data came from.
        origin: DataSource,
        /// Bytes the header announces for the whole decompressed stream, header included.
        expected_bytes: u64,
        /// Bytes of compressed input.
        compressed_bytes: u64,
    },
    /// A sample value is NaN or infinite.
    NonFinite {
        /// Where the data came from ([`DataSource::Vecs`] for
        /// [`Dataset::from_vecs`](super::Dataset::from_vecs)).
        origin: DataSource,
        /// The sample's index.
        sample: usize,
        /// The value's index within the sample.
        feature: usize,
        /// The value.
        value: f64,
    },
    /// An `f64` sample value is finite but too large in magnitude for `f32`.
    OutOfF32Range {
        /// Where the data came from.
        origin: DataSource,
        /// The sample's index.
        sample: usize,
        /// The value's index within the sample.
        feature: usize,
        /// The value, as stored in the file.
        value: f64,
    },
    /// A label in the file is not a class index that fits a byte (`0..=255`).
    LabelNotByte {
        /// Where the data came from.
        origin: DataSource,
        /// The sample's index.
        index: usize,
        /// The label found.
        value: i64,
    },
    /// A label is not one of the model's classes.
    LabelOutOfRange {
        /// Where the labels came from ([`DataSource::Vecs`] for
        /// [`Dataset::from_vecs`](super::Dataset::from_vecs)).
        origin: DataSource,
        /// The sample's index.
        index: usize,
        /// The label found.
        label: u8,
        /// The number of classes (valid labels are `0..classes`).
        classes: usize,
    },
    /// The images and labels files hold different numbers of samples.
    CountMismatch {
        /// Where the images came from.
        images: DataSource,
        /// Images it holds.
        image_count: usize,
        /// Where the labels came from.
        labels: DataSource,
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

impl DataError {
    /// Where the data came from, for the errors about data (not for
    /// [`DataError::MnistNotFound`], [`DataError::CountMismatch`] or the errors about
    /// batches and shapes).
    pub fn origin(&self) -> Option<&DataSource> {
        match self {
            DataError::Io { origin, .. }
            | DataError::Gzip { origin, .. }
            | DataError::TruncatedHeader { origin, .. }
            | DataError::BadMagic { origin, .. }
            | DataError::UnsupportedType { origin, .. }
            | DataError::DimensionsOverflow { origin, .. }
            | DataError::WrongRank { origin, .. }
            | DataError::InputWidth { origin, .. }
            | DataError::NonIntegerLabels { origin, .. }
            | DataError::Truncated { origin, .. }
            | DataError::TrailingData { origin, .. }
            | DataError::GzipTrailingGarbage { origin, .. }
            | DataError::ExceedsCompressedSize { origin, .. }
            | DataError::NonFinite { origin, .. }
            | DataError::OutOfF32Range { origin, .. }
            | DataError::LabelNotByte { origin, .. }
            | DataError::LabelOutOfRange { origin, .. } => Some(origin),
            DataError::CountMismatch { .. }
            | DataError::MnistNotFound { .. }
            | DataError::ZeroFeatures
            | DataError::InvalidShape { .. }
            | DataError::BatchWidth { .. }
            | DataError::ModelMismatch { .. }
            | DataError::BatchOverflow { .. }
            | DataError::IndexOutOfRange { .. } => None,
        }
    }

    /// The file the error is about, if the data came from one.
    pub fn path(&self) -> Option<&Path> {
        self.origin().and_then(DataSource::path)
    }
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

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { origin, source } => {
                write!(f, "{origin}: cannot read {}: {source}", origin.noun())
            }
            DataError::Gzip { origin, source } => {
                write!(f, "{origin}: corrupt or truncated gzip stream: {source}")
            }
            DataError::GzipTrailingGarbage { origin, offset, bytes } => write!(
                f,
                "{origin}: {bytes} bytes of trailing garbage at offset {offset}, after the end of the gzip stream \
                 (they do not start another gzip member)"
            ),
            DataError::ExceedsCompressedSize { origin, expected_bytes, compressed_bytes } => write!(
                f,
                "{origin}: the IDX header announces {expected_bytes} bytes, but {compressed_bytes} bytes of gzip \
                 can decompress to at most {} bytes: the header is corrupt or the data is truncated",
                compressed_bytes.saturating_mul(DEFLATE_MAX_RATIO)
            ),
            DataError::TruncatedHeader { origin, found_bytes: 0, .. } => {
                write!(f, "{origin}: {} is empty, not an IDX file", origin.noun())
            }
            DataError::TruncatedHeader { origin, expected_bytes: 4, found_bytes } => write!(
                f,
                "{origin}: too short for an IDX file: {} has only {found_bytes} bytes, an IDX header needs at least 4",
                origin.noun()
            ),
            DataError::TruncatedHeader { origin, expected_bytes, found_bytes } => write!(
                f,
                "{origin}: {} ends inside its IDX header: the header needs {expected_bytes} bytes, there are {found_bytes}",
                origin.noun()
            ),
            DataError::BadMagic { origin, found } => write!(
                f,
                "{origin}: not an IDX file: it starts with {:02x} {:02x} {:02x} {:02x}, an IDX file starts with 00 00, then its type and rank bytes",
                found[0], found[1], found[2], found[3]
            ),
            DataError::UnsupportedType { origin, type_byte } => write!(
                f,
                "{origin}: unsupported IDX element type 0x{type_byte:02X} (supported: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)"
            ),
            DataError::DimensionsOverflow { origin, dims } => write!(
                f,
                "{origin}: the header's dimensions {} describe more data than this machine can address",
                DimList(dims)
            ),
            DataError::WrongRank { origin, expected: IdxContents::Images, dims } => write!(
                f,
                "{origin}: an images file must have rank 2 or more ([count, ...]), this one has rank {} (dims {}); is it a labels file?",
                dims.len(),
                DimList(dims)
            ),
            DataError::WrongRank { origin, expected: IdxContents::Labels, dims } => write!(
                f,
                "{origin}: a labels file must have rank 1 ([count]), this one has rank {} (dims {}); is it an images file?",
                dims.len(),
                DimList(dims)
            ),
            DataError::InputWidth { origin, item_dims, input_width } => {
                let values = item_dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
                write!(f, "{origin}: each sample has dims {}", DimList(item_dims))?;
                if let Some(values) = values {
                    write!(f, " = {values} values")?;
                }
                write!(f, ", but the model's input is {input_width} wide")
            }
            DataError::NonIntegerLabels { origin, element } => {
                write!(f, "{origin}: labels must have an integer element type, this file holds {element}")
            }
            DataError::Truncated { origin, items, item_bytes, expected_bytes, found_bytes } => write!(
                f,
                "{origin}: truncated: the header announces {items} items of {item_bytes} bytes ({expected_bytes} bytes of data), but only {found_bytes} bytes follow"
            ),
            DataError::TrailingData { origin, expected_bytes, extra_bytes } => write!(
                f,
                "{origin}: {extra_bytes} unexpected bytes follow the {expected_bytes} bytes of data the header announces"
            ),
            DataError::NonFinite { origin, sample, feature, value } => {
                write!(f, "{origin}: sample {sample}, value {feature} is {value}, not a finite number")
            }
            DataError::OutOfF32Range { origin, sample, feature, value } => write!(
                f,
                "{origin}: sample {sample}, value {feature} is {value:e}, which does not fit f32 (largest magnitude {:e})",
                f32::MAX
            ),
            DataError::LabelNotByte { origin, index, value } => {
                write!(f, "{origin}: label {index} is {value}, not a class index in 0..=255")
            }
            DataError::LabelOutOfRange { origin, index, label, classes } => write!(
                f,
                "{origin}: sample {index} has label {label}, outside the model's {classes} classes (0..{classes})"
            ),
            DataError::CountMismatch { images, image_count, labels, label_count } => {
                write!(f, "{images} holds {image_count} images but {labels} holds {label_count} labels")
            }
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
