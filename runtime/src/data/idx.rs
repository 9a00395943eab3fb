//! The IDX file format, MNIST's: a header, then big-endian data.
//!
//! An IDX file starts with a 4-byte magic number: two zero bytes, an element-type byte
//! (see [`ElementType`]) and a rank byte `r`. Then come `r` big-endian `u32` dimensions,
//! then the `d0 × d1 × … × dr-1` elements, big-endian, row-major. The file may be gzipped;
//! [`IdxReader`] recognizes gzip by its first two bytes (`1f 8b`), not by the file name.
//!
//! The reader never trusts the header for more than it has to: the dimensions are
//! multiplied with overflow checks, the data is read in fixed-size chunks, and memory is
//! reserved up front only as far as the file's size can justify, so a header that lies
//! about a huge size yields [`DataError::Truncated`] instead of an enormous allocation.

use std::boxed::Box;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::vec;
use std::vec::Vec;

use flate2::read::MultiGzDecoder;

use super::error::{DataError, IdxContents};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Bytes read from the file per chunk; a multiple of every element size.
const CHUNK: usize = 1 << 16;

/// Bytes of data reserved up front when the file's size cannot bound the stream.
const UNBOUNDED_RESERVE: u64 = 1 << 24;

/// The most a deflate stream can expand: 1032 output bytes per input byte.
const DEFLATE_MAX_RATIO: u64 = 1032;

/// `u8` pixel values scaled to `[0, 1]`.
const U8_SCALE: [f32; 256] = {
    let mut table = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = i as f32 / 255.0;
        i += 1;
    }
    table
};

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
    element: ElementType,
    dims: Vec<usize>,
    item_elements: usize,
    elements: usize,
    data_bytes: u64,
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

/// A file that remembers whether reading it ever failed, to tell I/O errors from
/// corrupt gzip data when both arrive through the decompressor.
struct TrackedFile {
    file: File,
    failed: Arc<AtomicBool>,
}

impl Read for TrackedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.file.read(buf);
        if let Err(e) = &result
            && e.kind() != io::ErrorKind::Interrupted
        {
            self.failed.store(true, Ordering::Relaxed);
        }
        result
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_to_fill(reader: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// An open IDX file whose header has been read and validated, ready to decode its data.
///
/// ```no_run
/// # fn main() -> Result<(), staticnn_runtime::data::DataError> {
/// use staticnn_runtime::data::IdxReader;
///
/// let reader = IdxReader::open("data/mnist/train-images-idx3-ubyte.gz")?;
/// assert_eq!(reader.header().dims(), &[60000, 28, 28]);
/// let pixels: Vec<f32> = reader.into_images()?; // 60000 × 784 values in [0, 1]
/// # Ok(()) }
/// ```
pub struct IdxReader {
    path: PathBuf,
    header: IdxHeader,
    stream: Stream,
    /// The file's size, if it is a regular file.
    file_len: Option<u64>,
    /// The gzip trailer's size of the uncompressed stream, modulo 2³².
    gzip_isize: Option<u32>,
}

/// The file's contents, decompressed if need be.
struct Stream {
    reader: Box<dyn Read + Send>,
    gzip: bool,
    file_failed: Arc<AtomicBool>,
}

impl Stream {
    /// Reads until `buf` is full or the stream ends; names the file in errors.
    fn read_full(&mut self, path: &Path, buf: &mut [u8]) -> Result<usize, DataError> {
        read_to_fill(&mut self.reader, buf).map_err(|e| self.error(path, e))
    }

    /// Turns an error from the stream into an I/O or a gzip error.
    fn error(&self, path: &Path, source: io::Error) -> DataError {
        let path = path.to_path_buf();
        if self.gzip && !self.file_failed.load(Ordering::Relaxed) {
            DataError::Gzip { path, source }
        } else {
            DataError::Io { path, source }
        }
    }
}

impl fmt::Debug for IdxReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdxReader")
            .field("path", &self.path)
            .field("header", &self.header)
            .field("gzip", &self.stream.gzip)
            .finish_non_exhaustive()
    }
}

impl IdxReader {
    /// Opens an IDX file, raw or gzipped, and reads its header.
    ///
    /// Fails with [`DataError::Io`], [`DataError::Gzip`], [`DataError::TruncatedHeader`],
    /// [`DataError::BadMagic`], [`DataError::UnsupportedType`] or
    /// [`DataError::DimensionsOverflow`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref().to_path_buf();
        let io_error = |source| DataError::Io { path: path.clone(), source };
        let mut file = File::open(&path).map_err(io_error)?;
        let metadata = file.metadata().map_err(io_error)?;
        let file_len = metadata.is_file().then_some(metadata.len());

        let mut prefix = [0u8; 2];
        let prefix_len = read_to_fill(&mut file, &mut prefix).map_err(io_error)?;
        let gzip = prefix_len == 2 && prefix == GZIP_MAGIC;
        let mut gzip_isize = None;
        // 18 bytes: the smallest gzip member (header, empty deflate block, trailer).
        if gzip && file_len.is_some_and(|len| len >= 18) {
            // The last four bytes of a gzip member: its uncompressed size modulo 2³².
            let mut trailer = [0u8; 4];
            file.seek(SeekFrom::End(-4)).map_err(io_error)?;
            file.read_exact(&mut trailer).map_err(io_error)?;
            file.seek(SeekFrom::Start(2)).map_err(io_error)?;
            gzip_isize = Some(u32::from_le_bytes(trailer));
        }

        let file_failed = Arc::new(AtomicBool::new(false));
        let file = TrackedFile { file, failed: Arc::clone(&file_failed) };
        let stream = io::Cursor::new(prefix).take(prefix_len as u64).chain(file);
        let reader: Box<dyn Read + Send> =
            if gzip { Box::new(MultiGzDecoder::new(stream)) } else { Box::new(stream) };
        let mut stream = Stream { reader, gzip, file_failed };
        let header = read_header(&path, &mut stream)?;
        Ok(IdxReader { path, header, stream, file_len, gzip_isize })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's header.
    pub fn header(&self) -> &IdxHeader {
        &self.header
    }

    /// `true` if the file is gzipped.
    pub fn is_gzip(&self) -> bool {
        self.stream.gzip
    }

    /// Reads the data as samples: `items × item_elements` `f32` values, one sample after
    /// the other, converted as the table on [`ElementType`] says.
    ///
    /// The file must have rank ≥ 2 ([`DataError::WrongRank`]); float values must be
    /// finite ([`DataError::NonFinite`]); the data must be exactly as long as the header
    /// says ([`DataError::Truncated`], [`DataError::TrailingData`]).
    pub fn into_images(mut self) -> Result<Vec<f32>, DataError> {
        self.check_images()?;
        let element = self.header.element;
        let features = self.header.item_elements.max(1);
        let mut values = Vec::new();
        // Only a hint: if it fails, the vector grows as data actually arrives.
        let _ = values.try_reserve_exact(self.reserve_hint());
        self.read_data(|path, bytes| {
            let start = values.len();
            decode_images(element, bytes, &mut values);
            if !element.is_integer()
                && let Some(offset) = values[start..].iter().position(|v| !v.is_finite())
            {
                let at = start + offset;
                return Err(DataError::NonFinite {
                    path: Some(path.to_path_buf()),
                    sample: at / features,
                    feature: at % features,
                    value: f64::from(values[at]),
                });
            }
            Ok(())
        })?;
        Ok(values)
    }

    /// Reads the data as class labels, one byte each.
    ///
    /// The file must have rank 1 ([`DataError::WrongRank`]) and an integer element type
    /// ([`DataError::NonIntegerLabels`]), every label must be in `0..=255`
    /// ([`DataError::LabelNotByte`]), and the data must be exactly as long as the header
    /// says ([`DataError::Truncated`], [`DataError::TrailingData`]).
    pub fn into_labels(mut self) -> Result<Vec<u8>, DataError> {
        self.check_label_header()?;
        let element = self.header.element;
        let mut labels = Vec::new();
        let _ = labels.try_reserve_exact(self.reserve_hint());
        self.read_data(|path, bytes| {
            decode_labels(element, bytes, &mut labels).map_err(|(index, value)| DataError::LabelNotByte {
                path: path.to_path_buf(),
                index,
                value,
            })
        })?;
        Ok(labels)
    }

    /// Checks that the header describes samples: rank ≥ 2.
    pub(crate) fn check_images(&self) -> Result<(), DataError> {
        if self.header.dims.len() < 2 {
            return Err(DataError::WrongRank {
                path: self.path.clone(),
                expected: IdxContents::Images,
                dims: self.header.dims.clone(),
            });
        }
        Ok(())
    }

    /// Checks that the header describes labels: rank 1, an integer type.
    pub(crate) fn check_label_header(&self) -> Result<(), DataError> {
        if self.header.dims.len() != 1 {
            return Err(DataError::WrongRank {
                path: self.path.clone(),
                expected: IdxContents::Labels,
                dims: self.header.dims.clone(),
            });
        }
        if !self.header.element.is_integer() {
            return Err(DataError::NonIntegerLabels {
                path: self.path.clone(),
                element: self.header.element,
            });
        }
        Ok(())
    }

    /// How many elements to reserve before reading: the header's count, capped by what the
    /// file's size can hold, so that a lying header cannot force a huge allocation.
    fn reserve_hint(&self) -> usize {
        let header = &self.header;
        let size = header.element.size() as u64;
        // Compared modulo 2³², like the trailer.
        let stream_len = (header.header_bytes() as u64).wrapping_add(header.data_bytes);
        let bound = match (self.stream.gzip, self.file_len) {
            (false, Some(len)) => len.saturating_sub(header.header_bytes() as u64),
            // An honest single-member gzip file records the stream's length in its trailer,
            // and no deflate stream expands more than 1032-fold.
            (true, Some(len)) if self.gzip_isize == Some(stream_len as u32) => {
                len.saturating_mul(DEFLATE_MAX_RATIO)
            }
            _ => UNBOUNDED_RESERVE,
        };
        (header.elements as u64).min(bound / size) as usize
    }

    /// Reads the data section in chunks of whole elements, passing each to `sink` (with
    /// the file's path, for its errors), then checks that nothing follows.
    fn read_data(
        &mut self,
        mut sink: impl FnMut(&Path, &[u8]) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        let expected = self.header.data_bytes;
        let truncated = |found_bytes| DataError::Truncated {
            path: self.path.clone(),
            items: self.header.items(),
            item_bytes: self.header.item_elements.saturating_mul(self.header.element.size()),
            expected_bytes: expected,
            found_bytes,
        };
        // A raw file's size tells its fate before anything is read.
        if !self.stream.gzip
            && let Some(len) = self.file_len
        {
            let available = len.saturating_sub(self.header.header_bytes() as u64);
            if available < expected {
                return Err(truncated(available));
            }
            if available > expected {
                return Err(DataError::TrailingData {
                    path: self.path.clone(),
                    expected_bytes: expected,
                    extra_bytes: available - expected,
                });
            }
        }

        let size = self.header.element.size();
        let mut buf = vec![0u8; CHUNK.min(expected as usize)];
        let mut done = 0u64;
        while done < expected {
            let want = (expected - done).min(CHUNK as u64) as usize;
            let got = self.stream.read_full(&self.path, &mut buf[..want])?;
            sink(&self.path, &buf[..got - got % size])?;
            done += got as u64;
            if got < want {
                return Err(truncated(done));
            }
        }
        // Reading to the end also makes the decompressor check the gzip checksum.
        let extra = io::copy(&mut self.stream.reader, &mut io::sink())
            .map_err(|e| self.stream.error(&self.path, e))?;
        if extra > 0 {
            return Err(DataError::TrailingData {
                path: self.path.clone(),
                expected_bytes: expected,
                extra_bytes: extra,
            });
        }
        Ok(())
    }
}

/// Reads and validates the header at the start of `stream`.
fn read_header(path: &Path, stream: &mut Stream) -> Result<IdxHeader, DataError> {
    let path_buf = || path.to_path_buf();
    let mut magic = [0u8; 4];
    let found = stream.read_full(path, &mut magic)?;
    if found < 4 {
        // A short file that does not even start like IDX is better called by its name.
        if magic[..found].iter().any(|&b| b != 0) {
            return Err(DataError::BadMagic { path: path_buf(), found: magic });
        }
        return Err(DataError::TruncatedHeader { path: path_buf(), expected_bytes: 4, found_bytes: found });
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::BadMagic { path: path_buf(), found: magic });
    }
    let Some(element) = ElementType::from_code(magic[2]) else {
        return Err(DataError::UnsupportedType { path: path_buf(), type_byte: magic[2] });
    };
    let mut raw = vec![0u8; 4 * usize::from(magic[3])];
    let found = stream.read_full(path, &mut raw)?;
    if found < raw.len() {
        return Err(DataError::TruncatedHeader {
            path: path_buf(),
            expected_bytes: 4 + raw.len(),
            found_bytes: 4 + found,
        });
    }
    let dims: Vec<u32> = raw.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).collect();
    let as_usize: Option<Vec<usize>> = dims.iter().map(|&d| usize::try_from(d).ok()).collect();
    as_usize
        .and_then(|d| IdxHeader::new(element, d))
        .ok_or_else(|| DataError::DimensionsOverflow { path: path_buf(), dims })
}

/// Appends whole big-endian elements of `bytes` to `out` as `f32` sample values.
fn decode_images(element: ElementType, bytes: &[u8], out: &mut Vec<f32>) {
    match element {
        ElementType::U8 => out.extend(bytes.iter().map(|&b| U8_SCALE[usize::from(b)])),
        ElementType::I8 => out.extend(bytes.iter().map(|&b| f32::from(b as i8) / 127.0)),
        ElementType::I16 => {
            out.extend(bytes.chunks_exact(2).map(|b| f32::from(i16::from_be_bytes([b[0], b[1]])) / 32767.0))
        }
        ElementType::I32 => out.extend(bytes.chunks_exact(4).map(|b| {
            let v = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            (f64::from(v) / f64::from(i32::MAX)) as f32
        })),
        ElementType::F32 => {
            out.extend(bytes.chunks_exact(4).map(|b| f32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        }
        ElementType::F64 => out.extend(bytes.chunks_exact(8).map(|b| {
            let v = f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            v as f32
        })),
    }
}

/// Appends whole big-endian integer elements of `bytes` to `out` as labels; on a value
/// outside `0..=255`, returns its index (counting all labels so far) and the value.
fn decode_labels(element: ElementType, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), (usize, i64)> {
    fn push(out: &mut Vec<u8>, values: impl Iterator<Item = i64>) -> Result<(), (usize, i64)> {
        for v in values {
            let label = u8::try_from(v).map_err(|_| (out.len(), v))?;
            out.push(label);
        }
        Ok(())
    }
    match element {
        ElementType::U8 => {
            out.extend_from_slice(bytes);
            Ok(())
        }
        ElementType::I8 => push(out, bytes.iter().map(|&b| i64::from(b as i8))),
        ElementType::I16 => {
            push(out, bytes.chunks_exact(2).map(|b| i64::from(i16::from_be_bytes([b[0], b[1]]))))
        }
        ElementType::I32 => {
            push(out, bytes.chunks_exact(4).map(|b| i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))))
        }
        // `check_label_header` rejects float labels before any data is read.
        ElementType::F32 | ElementType::F64 => Ok(()),
    }
}
