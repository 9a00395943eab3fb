//! The IDX header: the element type ([`ElementType`]), the dimensions and the sizes they
//! imply ([`IdxHeader`], checked not to overflow), and [`read_header`], which reads and
//! validates them before any data.

use std::fmt;
use std::vec;
use std::vec::Vec;

#[cfg(doc)]
use super::IdxReader;
use super::stream::Stream;
use crate::data::error::{DataError, DataSource};

/// The element type of an IDX file, its third byte.
///
/// How [`IdxReader::into_images`] turns each type into `f32` values:
///
/// | type | byte | image values |
/// |------|------|--------------|
/// | `u8`  | `0x08` | `v / 255`, in `[0, 1]` (MNIST's pixels) |
/// | `i8`  | `0x09` | `v / 127`, in `[-1.008, 1]` |
/// | `i16` | `0x0B` | `v / 32767`, in `[-1.00003, 1]` |
/// | `i32` | `0x0C` | `v / 2147483647`, in `[-1, 1]` (rounded to `f32`) |
/// | `f32` | `0x0D` | as is |
/// | `f64` | `0x0E` | rounded to `f32` |
///
/// Signed integers are divided by their type's maximum, so `0` stays `0` and the
/// maximum becomes `1`; only the most negative value falls slightly below `-1`.
/// Float values must be finite ([`DataError::NonFinite`] otherwise).
///
/// [`IdxReader::into_labels`] accepts the four integer types, with values in `0..=255`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    /// Unsigned byte, `0x08`.
    U8,
    /// Signed byte, `0x09`.
    I8,
    /// Big-endian 16-bit signed integer, `0x0B`.
    I16,
    /// Big-endian 32-bit signed integer, `0x0C`.
    I32,
    /// Big-endian 32-bit IEEE float, `0x0D`.
    F32,
    /// Big-endian 64-bit IEEE float, `0x0E`.
    F64,
}

impl ElementType {
    /// The type for an IDX type byte, if it names one.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0x08 => Some(ElementType::U8),
            0x09 => Some(ElementType::I8),
            0x0B => Some(ElementType::I16),
            0x0C => Some(ElementType::I32),
            0x0D => Some(ElementType::F32),
            0x0E => Some(ElementType::F64),
            _ => None,
        }
    }

    /// The IDX type byte.
    pub const fn code(self) -> u8 {
        match self {
            ElementType::U8 => 0x08,
            ElementType::I8 => 0x09,
            ElementType::I16 => 0x0B,
            ElementType::I32 => 0x0C,
            ElementType::F32 => 0x0D,
            ElementType::F64 => 0x0E,
        }
    }

    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            ElementType::U8 | ElementType::I8 => 1,
            ElementType::I16 => 2,
            ElementType::I32 | ElementType::F32 => 4,
            ElementType::F64 => 8,
        }
    }

    /// `true` for the integer types (the ones a labels file may use).
    pub const fn is_integer(self) -> bool {
        !matches!(self, ElementType::F32 | ElementType::F64)
    }

    /// The Rust name of the type: `"u8"`, `"f32"`, ….
    pub const fn name(self) -> &'static str {
        match self {
            ElementType::U8 => "u8",
            ElementType::I8 => "i8",
            ElementType::I16 => "i16",
            ElementType::I32 => "i32",
            ElementType::F32 => "f32",
            ElementType::F64 => "f64",
        }
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02X})", self.name(), self.code())
    }
}

/// The header of an IDX file, validated: its sizes are known not to overflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxHeader {
    pub(super) element: ElementType,
    pub(super) dims: Vec<usize>,
    pub(super) item_elements: usize,
    pub(super) elements: usize,
    pub(super) data_bytes: u64,
}

impl IdxHeader {
    /// Checks that the sizes `dims` describe fit in memory (as `f32` values and as raw
    /// bytes); `None` if they overflow.
    fn new(element: ElementType, dims: Vec<usize>) -> Option<Self> {
        let items = dims.first().copied().unwrap_or(1);
        let item_dims = dims.get(1..).unwrap_or(&[]);
        let item_elements = item_dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
        let elements = items.checked_mul(item_elements)?;
        // Both the raw bytes and the decoded `f32`s must be addressable.
        let data_bytes = elements.checked_mul(element.size())?;
        elements.checked_mul(size_of::<f32>())?;
        Some(IdxHeader { element, dims, item_elements, elements, data_bytes: data_bytes as u64 })
    }

    /// The element type.
    pub fn element(&self) -> ElementType {
        self.element
    }

    /// The dimensions, outermost first: `[60000, 28, 28]` for MNIST's training images.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The number of items: the first dimension (1 for a rank-0 file, a single scalar).
    pub fn items(&self) -> usize {
        self.dims.first().copied().unwrap_or(1)
    }

    /// The dimensions of one item: all but the first (`[28, 28]` for MNIST's images).
    pub fn item_dims(&self) -> &[usize] {
        self.dims.get(1..).unwrap_or(&[])
    }

    /// Elements per item: the product of [`item_dims`](Self::item_dims) (1 if empty).
    pub fn item_elements(&self) -> usize {
        self.item_elements
    }

    /// Elements in the whole file.
    pub fn elements(&self) -> usize {
        self.elements
    }

    /// Bytes of data after the header.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// Bytes in the header itself: 4, then 4 per dimension.
    pub fn header_bytes(&self) -> usize {
        4 + 4 * self.dims.len()
    }
}

/// Reads and validates the header at the start of `stream`.
pub(super) fn read_header(origin: &DataSource, stream: &mut Stream) -> Result<IdxHeader, DataError> {
    let origin_ = || origin.clone();
    let mut magic = [0u8; 4];
    let found = stream.read_full(origin, &mut magic)?;
    if found < 4 {
        return Err(DataError::TruncatedHeader { origin: origin_(), expected_bytes: 4, found_bytes: found });
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::BadMagic { origin: origin_(), found: magic });
    }
    let Some(element) = ElementType::from_code(magic[2]) else {
        return Err(DataError::UnsupportedType { origin: origin_(), type_byte: magic[2] });
    };
    let mut raw = vec![0u8; 4 * usize::from(magic[3])];
    let found = stream.read_full(origin, &mut raw)?;
    if found < raw.len() {
        return Err(DataError::TruncatedHeader {
            origin: origin_(),
            expected_bytes: 4 + raw.len(),
            found_bytes: 4 + found,
        });
    }
    let dims: Vec<u32> = raw.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).collect();
    let as_usize: Option<Vec<usize>> = dims.iter().map(|&d| usize::try_from(d).ok()).collect();
    as_usize
        .and_then(|d| IdxHeader::new(element, d))
        .ok_or_else(|| DataError::DimensionsOverflow { origin: origin_(), dims })
}
