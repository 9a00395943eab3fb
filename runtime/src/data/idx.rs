//! The IDX file format, MNIST's: a header, then big-endian data.
//!
//! An IDX file starts with a 4-byte magic number: two zero bytes, an element-type byte
//! (see [`ElementType`]) and a rank byte `r`. Then come `r` big-endian `u32` dimensions,
//! then the `d0 × d1 × … × dr-1` elements, big-endian, row-major. The data may be gzipped
//! (one member or several, read as one stream); [`IdxReader`] recognizes gzip by its
//! first two bytes (`1f 8b`), not by the file name. It reads a file
//! ([`IdxReader::open`]), bytes ([`IdxReader::from_bytes`]) or any reader
//! ([`IdxReader::from_reader`]), all through the same code.
//!
//! # Memory
//!
//! The reader never trusts the header for more than it has to: the dimensions are
//! multiplied with overflow checks, the header is read and checked before any data, the
//! data is read in chunks of 64 KiB, and memory for the output is committed only as far as
//! the data is proven to exist:
//!
//! - a raw input of known size (a file, bytes, a reader whose length is given) must be
//!   exactly as long as its header says before any data is read; the output is then
//!   allocated once, at its exact size;
//! - a gzip input of known compressed size `C` whose header announces more than
//!   `1032 × C` bytes (deflate's largest expansion) is rejected before anything is
//!   decompressed ([`DataError::ExceedsCompressedSize`]);
//! - if a gzip file's (or byte slice's) last trailer disagrees with its header (the
//!   trailer's ISIZE is the member's length modulo 2³²), either the header lies or the file
//!   has several members, whose trailers each count only their own member. The stream is
//!   then decompressed once into nothing, counting its bytes and checking its checksums in
//!   64 KiB of memory: a lying header is reported ([`DataError::Truncated`],
//!   [`DataError::TrailingData`]) without any data having been kept, and an honest
//!   multi-member file, now proven, is decompressed again into an output allocated at its
//!   exact size;
//! - otherwise (a gzip stream whose trailer agrees, the usual case; a reader's gzip
//!   stream, whose end cannot be read first; a pipe or a reader of unknown length) the data
//!   is decoded as it arrives and the output grows with it, to at most twice the values
//!   decoded so far and never beyond the header's count.
//!
//! A truncated input or a lying header therefore costs memory in proportion to the data
//! that is actually there (at most twice its decoded size, plus 64 KiB buffers), never to
//! what the header claims. Decompressed data that really is there is another matter: a
//! crafted gzip file can truly decompress to 1032 times its size (1 MB to 1 GB), and if its
//! header and trailer agree with that, those bytes are real data and are decoded (1 GB of
//! `u8` samples is 4 GB of `f32`). That is bounded by 1032 × the compressed size, as for
//! any gzip consumer; callers that accept untrusted input should limit its size.

use std::boxed::Box;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::mem;
use std::path::Path;
use std::vec;
use std::vec::Vec;

use flate2::bufread::GzDecoder;

use super::error::{DataError, DataSource, IdxContents};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Bytes read from the file per chunk; a multiple of every element size.
const CHUNK: usize = 1 << 16;

/// The most a deflate stream can expand: 1032 output bytes per input byte.
pub(super) const DEFLATE_MAX_RATIO: u64 = 1032;

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

/// Where an [`IdxReader`]'s bytes come from.
enum Source {
    /// A regular file, which can be read again from the start.
    File(File),
    /// Bytes copied from a slice.
    Bytes(io::Cursor<Vec<u8>>),
    /// A reader (or a file that is not a regular file, such as a pipe): read once.
    Stream(Box<dyn Read + Send>),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(file) => file.read(buf),
            Source::Bytes(bytes) => bytes.read(buf),
            Source::Stream(reader) => reader.read(buf),
        }
    }
}

/// The input bytes, buffered, counted, and bounded by the length announced for a
/// reader; it remembers whether reading the source ever failed, to tell I/O errors from
/// corrupt gzip data when both arrive through the decompressor.
struct Input {
    source: Source,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Offset of `buf[start]` in the input.
    offset: u64,
    /// Bytes taken from the source so far.
    pulled: u64,
    /// The most bytes the source may yield.
    limit: Option<u64>,
    failed: bool,
}

impl Default for Input {
    /// An empty input, to stand in while a gzip decoder changes members.
    fn default() -> Self {
        Input::new(Source::Stream(Box::new(io::empty())), None, 0)
    }
}

impl Input {
    fn new(source: Source, limit: Option<u64>, capacity: usize) -> Self {
        Input {
            source,
            buf: vec![0; capacity].into_boxed_slice(),
            start: 0,
            end: 0,
            offset: 0,
            pulled: 0,
            limit,
            failed: false,
        }
    }

    /// Reads more of the source after the buffered bytes; returns how many (0 at its
    /// end).
    fn pull(&mut self) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let result = loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => break result,
            }
        };
        let result = result.and_then(|n| {
            self.pulled += n as u64;
            match self.limit {
                Some(limit) if self.pulled > limit => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    std::format!("the reader yields more than the {limit} bytes announced"),
                )),
                _ => Ok(n),
            }
        });
        match result {
            Ok(n) => {
                self.end += n;
                Ok(n)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    /// The next bytes, at least `n` of them unless the input ends first; consumes
    /// nothing.
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.end - self.start < n.min(self.buf.len()) {
            if self.pull()? == 0 {
                break;
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// Consumes the rest of the input; returns how many bytes that was.
    fn drain(&mut self) -> io::Result<u64> {
        let mut count = 0;
        loop {
            let n = self.fill_buf()?.len();
            if n == 0 {
                return Ok(count);
            }
            count += n as u64;
            self.consume(n);
        }
    }

    /// Goes back to the start of the input; `false` if the source cannot.
    fn rewind(&mut self) -> io::Result<bool> {
        match &mut self.source {
            Source::File(file) => {
                file.seek(SeekFrom::Start(0)).inspect_err(|_| self.failed = true)?;
            }
            Source::Bytes(bytes) => bytes.set_position(0),
            Source::Stream(_) => return Ok(false),
        }
        (self.start, self.end, self.offset, self.pulled) = (0, 0, 0, 0);
        Ok(true)
    }

    fn rewindable(&self) -> bool {
        !matches!(self.source, Source::Stream(_))
    }
}

impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.pull()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }
}

/// Bytes after the last complete gzip member that do not start another member; travels
/// inside an [`io::Error`] from [`GzMembers`] to [`Stream::error`].
#[derive(Debug)]
struct TrailingGarbage {
    offset: u64,
    bytes: u64,
}

impl fmt::Display for TrailingGarbage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes of trailing garbage at offset {}", self.bytes, self.offset)
    }
}

impl std::error::Error for TrailingGarbage {}

/// A gzip stream of one or more members, decompressed as one stream (like
/// [`flate2::read::MultiGzDecoder`]), except that bytes after a member that do not start
/// another one are [`TrailingGarbage`], not a corrupt header.
struct GzMembers {
    decoder: GzDecoder<Input>,
    ended: bool,
}

impl Read for GzMembers {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while !self.ended && !out.is_empty() {
            let n = self.decoder.read(out)?;
            if n > 0 {
                return Ok(n);
            }
            // The member is complete, its checksum and length verified.
            let input = self.decoder.get_mut();
            let offset = input.offset;
            let next = input.peek(2)?;
            if next.is_empty() {
                self.ended = true;
            } else if next.starts_with(&GZIP_MAGIC) {
                let input = mem::take(self.decoder.get_mut());
                self.decoder.reset(input);
            } else {
                let bytes = input.drain()?;
                return Err(io::Error::new(io::ErrorKind::InvalidData, TrailingGarbage { offset, bytes }));
            }
        }
        Ok(0)
    }
}

/// The input's contents, decompressed if need be.
enum Stream {
    Raw(Input),
    Gzip(GzMembers),
}

impl Stream {
    /// The stream of `input`, gzip or not by its first two bytes.
    fn new(mut input: Input) -> io::Result<Self> {
        Ok(if input.peek(2)?.starts_with(&GZIP_MAGIC) {
            Stream::Gzip(GzMembers { decoder: GzDecoder::new(input), ended: false })
        } else {
            Stream::Raw(input)
        })
    }

    fn input(&self) -> &Input {
        match self {
            Stream::Raw(input) => input,
            Stream::Gzip(members) => members.decoder.get_ref(),
        }
    }

    fn into_input(self) -> Input {
        match self {
            Stream::Raw(input) => input,
            Stream::Gzip(members) => members.decoder.into_inner(),
        }
    }

    fn is_gzip(&self) -> bool {
        matches!(self, Stream::Gzip(_))
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    fn read_full(&mut self, origin: &DataSource, buf: &mut [u8]) -> Result<usize, DataError> {
        read_to_fill(self, buf).map_err(|e| self.error(origin, e))
    }

    /// Turns an error from the stream into an I/O, a gzip or a trailing-garbage error.
    fn error(&self, origin: &DataSource, source: io::Error) -> DataError {
        let origin = origin.clone();
        if let Some(garbage) = source.get_ref().and_then(|e| e.downcast_ref::<TrailingGarbage>()) {
            return DataError::GzipTrailingGarbage { origin, offset: garbage.offset, bytes: garbage.bytes };
        }
        if self.is_gzip() && !self.input().failed {
            DataError::Gzip { origin, source }
        } else {
            DataError::Io { origin, source }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Raw(input) => input.read(buf),
            Stream::Gzip(members) => members.read(buf),
        }
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

/// Makes room in `out` for `more` values, growing it at most to `cap` in total and at
/// most to double its length (plus `more`): memory follows the data that has arrived.
fn make_room<T>(out: &mut Vec<T>, more: usize, cap: usize) {
    if out.capacity() - out.len() >= more {
        return;
    }
    let target = out.len().saturating_mul(2).max(out.len() + more).min(cap.max(out.len() + more));
    // If this fails, `extend` grows the vector as usual.
    let _ = out.try_reserve_exact(target - out.len());
}

/// An IDX file (or bytes, or a reader) whose header has been read and validated, ready
/// to decode its data.
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
///
/// The same from memory: `IdxReader::from_bytes(&bytes)?.into_images()?`.
///
/// Memory: the header is checked before any data is read, and the output is reserved at
/// once only when the data is proven to exist (a raw input of known size; a gzip stream
/// counted first because its trailer disagreed with its header); otherwise it grows with
/// the data actually decoded, to at most twice that. A gzip input whose header announces
/// more than 1032 × its compressed size is rejected before decompressing. So a truncated
/// input or a lying header costs memory in proportion to the data really present, never
/// to the header's claim; real data is bounded only by deflate's 1032-fold expansion.
pub struct IdxReader {
    origin: DataSource,
    header: IdxHeader,
    stream: Stream,
    /// Bytes of input, if known: a regular file's size, a slice's length, the length
    /// announced for a reader.
    input_len: Option<u64>,
    /// The last gzip member's uncompressed size modulo 2³², from its trailer, if the
    /// input's end could be read before its start.
    gzip_isize: Option<u32>,
}

impl fmt::Debug for IdxReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdxReader")
            .field("origin", &self.origin)
            .field("header", &self.header)
            .field("gzip", &self.stream.is_gzip())
            .finish_non_exhaustive()
    }
}

/// The ISIZE field of the gzip trailer at the end of `tail` (the input's last bytes), if
/// the input starts like gzip and is long enough to hold a whole member (18 bytes).
fn gzip_isize(prefix: &[u8], len: u64, tail: &[u8]) -> Option<u32> {
    let tail: [u8; 4] = tail.get(tail.len().checked_sub(4)?..)?.try_into().ok()?;
    (prefix.starts_with(&GZIP_MAGIC) && len >= 18).then(|| u32::from_le_bytes(tail))
}

impl IdxReader {
    /// Opens an IDX file, raw or gzipped, and reads its header.
    ///
    /// Fails with [`DataError::Io`], [`DataError::Gzip`], [`DataError::TruncatedHeader`],
    /// [`DataError::BadMagic`], [`DataError::UnsupportedType`] or
    /// [`DataError::DimensionsOverflow`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref().to_path_buf();
        let origin = DataSource::File(path.clone());
        let io_error = |source| DataError::Io { origin: origin.clone(), source };
        let mut file = File::open(&path).map_err(io_error)?;
        let metadata = file.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            // A pipe or a device: read once, from the start, its length unknown.
            return Self::from_source(origin, Source::Stream(Box::new(file)), None, None);
        }
        let len = metadata.len();
        let mut prefix = [0u8; 2];
        let prefix_len = read_to_fill(&mut file, &mut prefix).map_err(io_error)?;
        let mut isize = None;
        if prefix_len == 2 && prefix == GZIP_MAGIC && len >= 18 {
            let mut trailer = [0u8; 4];
            file.seek(SeekFrom::End(-4)).map_err(io_error)?;
            file.read_exact(&mut trailer).map_err(io_error)?;
            isize = gzip_isize(&prefix, len, &trailer);
        }
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        Self::from_source(origin, Source::File(file), Some(len), isize)
    }

    /// Reads the header of an IDX file held in memory, raw or gzipped; errors name the
    /// data `<bytes>`.
    ///
    /// The bytes are copied, so that the reader owns them. Fails like
    /// [`open`](Self::open), and the data is read and checked exactly as from a file.
    pub fn from_bytes(bytes: &[u8]) -> Result<IdxReader, DataError> {
        let len = bytes.len() as u64;
        let isize = gzip_isize(bytes, len, bytes);
        Self::from_source(DataSource::Bytes, Source::Bytes(io::Cursor::new(bytes.to_vec())), Some(len), isize)
    }

    /// Reads the header of an IDX stream from `reader`, raw or gzipped; errors name the
    /// data `<reader>`.
    ///
    /// `len`, if given, is the number of bytes `reader` yields: it lets a raw stream's
    /// length be checked before its data is read, and rejects a gzip stream whose header
    /// announces more than `len` compressed bytes can hold. A reader that yields more than
    /// `len` bytes fails with [`DataError::Io`]. Without `len`, memory still grows only
    /// with the data that actually arrives (see [`IdxReader`]).
    ///
    /// The reader is read in chunks of 64 KiB; it needs no buffering of its own. Fails
    /// like [`open`](Self::open).
    pub fn from_reader(reader: impl Read + Send + 'static, len: Option<u64>) -> Result<IdxReader, DataError> {
        Self::from_source(DataSource::Reader, Source::Stream(Box::new(reader)), len, None)
    }

    /// The shared part of the constructors: detects gzip, reads the header.
    fn from_source(
        origin: DataSource,
        source: Source,
        input_len: Option<u64>,
        gzip_isize: Option<u32>,
    ) -> Result<Self, DataError> {
        let limit = match source {
            Source::Stream(_) => input_len,
            Source::File(_) | Source::Bytes(_) => None,
        };
        let input = Input::new(source, limit, CHUNK);
        let mut stream =
            Stream::new(input).map_err(|source| DataError::Io { origin: origin.clone(), source })?;
        let header = read_header(&origin, &mut stream)?;
        Ok(IdxReader { origin, header, stream, input_len, gzip_isize })
    }

    /// Where the data comes from.
    pub fn origin(&self) -> &DataSource {
        &self.origin
    }

    /// The file's path, if the reader was [`open`](Self::open)ed from a file.
    pub fn path(&self) -> Option<&Path> {
        self.origin.path()
    }

    /// The file's header.
    pub fn header(&self) -> &IdxHeader {
        &self.header
    }

    /// `true` if the data is gzipped.
    pub fn is_gzip(&self) -> bool {
        self.stream.is_gzip()
    }

    /// Reads the data as samples: `items × item_elements` `f32` values, one sample after
    /// the other, converted as the table on [`ElementType`] says.
    ///
    /// The file must have rank ≥ 2 ([`DataError::WrongRank`]); float values must be
    /// finite ([`DataError::NonFinite`]) and, for `f64`, fit `f32`
    /// ([`DataError::OutOfF32Range`]); the data must be exactly as long as the header says
    /// ([`DataError::Truncated`], [`DataError::TrailingData`],
    /// [`DataError::ExceedsCompressedSize`], [`DataError::GzipTrailingGarbage`]).
    pub fn into_images(mut self) -> Result<Vec<f32>, DataError> {
        self.check_images()?;
        let element = self.header.element;
        let elements = self.header.elements;
        let features = self.header.item_elements.max(1);
        let mut values = Vec::new();
        if self.verify_length()? {
            let _ = values.try_reserve_exact(elements);
        }
        self.read_data(|origin, bytes| {
            let start = values.len();
            make_room(&mut values, bytes.len() / element.size(), elements);
            let Err((offset, value)) = decode_images(element, bytes, &mut values) else {
                return Ok(());
            };
            let at = start + offset;
            let (sample, feature, origin) = (at / features, at % features, origin.clone());
            Err(if value.is_finite() {
                DataError::OutOfF32Range { origin, sample, feature, value }
            } else {
                DataError::NonFinite { origin, sample, feature, value }
            })
        })?;
        Ok(values)
    }

    /// Reads the data as class labels, one byte each.
    ///
    /// The file must have rank 1 ([`DataError::WrongRank`]) and an integer element type
    /// ([`DataError::NonIntegerLabels`]), every label must be in `0..=255`
    /// ([`DataError::LabelNotByte`]), and the data must be exactly as long as the header
    /// says (as for [`into_images`](Self::into_images)).
    pub fn into_labels(mut self) -> Result<Vec<u8>, DataError> {
        self.check_label_header()?;
        let element = self.header.element;
        let elements = self.header.elements;
        let mut labels = Vec::new();
        if self.verify_length()? {
            let _ = labels.try_reserve_exact(elements);
        }
        self.read_data(|origin, bytes| {
            make_room(&mut labels, bytes.len() / element.size(), elements);
            decode_labels(element, bytes, &mut labels).map_err(|(index, value)| DataError::LabelNotByte {
                origin: origin.clone(),
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
                origin: self.origin.clone(),
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
                origin: self.origin.clone(),
                expected: IdxContents::Labels,
                dims: self.header.dims.clone(),
            });
        }
        if !self.header.element.is_integer() {
            return Err(DataError::NonIntegerLabels {
                origin: self.origin.clone(),
                element: self.header.element,
            });
        }
        Ok(())
    }

    /// Before any data is kept: checks the data's length against everything that can be
    /// known without storing it, and returns `true` if the length is then proven, so that
    /// the output may be reserved at once (see the module documentation).
    fn verify_length(&mut self) -> Result<bool, DataError> {
        let header_bytes = self.header.header_bytes() as u64;
        let expected = self.header.data_bytes;
        let Some(len) = self.input_len else {
            return Ok(false);
        };
        if !self.stream.is_gzip() {
            // A raw input's size tells its fate before anything is read.
            let available = len.saturating_sub(header_bytes);
            if available < expected {
                return Err(self.truncated(available));
            }
            if available > expected {
                return Err(DataError::TrailingData {
                    origin: self.origin.clone(),
                    expected_bytes: expected,
                    extra_bytes: available - expected,
                });
            }
            return Ok(true);
        }
        let stream_len = header_bytes.saturating_add(expected);
        if stream_len > len.saturating_mul(DEFLATE_MAX_RATIO) {
            return Err(DataError::ExceedsCompressedSize {
                origin: self.origin.clone(),
                expected_bytes: stream_len,
                compressed_bytes: len,
            });
        }
        // A single-member gzip stream's length, modulo 2³², is its trailer's ISIZE. If
        // they disagree, either the header lies or there are several members (whose
        // trailers only give their own sizes): count the bytes to know, storing nothing.
        let agrees = self.gzip_isize.is_none_or(|isize| isize == stream_len as u32);
        if agrees || !self.stream.input().rewindable() {
            return Ok(false);
        }
        self.read_data(|_, _| Ok(()))?;
        self.rewind()?;
        Ok(true)
    }

    /// Goes back to the start of the data, after a counting pass.
    fn rewind(&mut self) -> Result<(), DataError> {
        let stream = mem::replace(&mut self.stream, Stream::Raw(Input::default()));
        let mut input = stream.into_input();
        let io_error = |source| DataError::Io { origin: self.origin.clone(), source };
        if !input.rewind().map_err(io_error)? {
            return Err(io_error(io::Error::other("the input cannot be read twice")));
        }
        self.stream = Stream::new(input).map_err(io_error)?;
        if read_header(&self.origin, &mut self.stream)? != self.header {
            return Err(io_error(io::Error::other("the file changed while it was being read")));
        }
        Ok(())
    }

    /// [`DataError::Truncated`] with `found_bytes` of data.
    fn truncated(&self, found_bytes: u64) -> DataError {
        DataError::Truncated {
            origin: self.origin.clone(),
            items: self.header.items(),
            item_bytes: self.header.item_elements.saturating_mul(self.header.element.size()),
            expected_bytes: self.header.data_bytes,
            found_bytes,
        }
    }

    /// Reads the data section in chunks of whole elements, passing each to `sink` (with
    /// the origin, for its errors), then checks that nothing follows.
    fn read_data(
        &mut self,
        mut sink: impl FnMut(&DataSource, &[u8]) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        let expected = self.header.data_bytes;
        let size = self.header.element.size();
        let mut buf = vec![0u8; CHUNK.min(expected as usize)];
        let mut done = 0u64;
        while done < expected {
            let want = (expected - done).min(CHUNK as u64) as usize;
            let got = self.stream.read_full(&self.origin, &mut buf[..want])?;
            sink(&self.origin, &buf[..got - got % size])?;
            done += got as u64;
            if got < want {
                return Err(self.truncated(done));
            }
        }
        // Reading to the end also makes the decompressor check the gzip checksums.
        let extra =
            io::copy(&mut self.stream, &mut io::sink()).map_err(|e| self.stream.error(&self.origin, e))?;
        if extra > 0 {
            return Err(DataError::TrailingData {
                origin: self.origin.clone(),
                expected_bytes: expected,
                extra_bytes: extra,
            });
        }
        Ok(())
    }
}

/// Reads and validates the header at the start of `stream`.
fn read_header(origin: &DataSource, stream: &mut Stream) -> Result<IdxHeader, DataError> {
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

/// Appends whole big-endian elements of `bytes` to `out` as `f32` sample values. On a
/// float that is not finite or (`f64`) does not fit `f32`, stops and returns its index
/// within `bytes` and its value as stored.
fn decode_images(element: ElementType, bytes: &[u8], out: &mut Vec<f32>) -> Result<(), (usize, f64)> {
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
            for (i, b) in bytes.chunks_exact(4).enumerate() {
                let v = f32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                if !v.is_finite() {
                    return Err((i, f64::from(v)));
                }
                out.push(v);
            }
        }
        ElementType::F64 => {
            for (i, b) in bytes.chunks_exact(8).enumerate() {
                let v = f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                // Rounds to the nearest `f32`; infinite if `v` is beyond `f32::MAX`.
                let narrow = v as f32;
                if !narrow.is_finite() {
                    return Err((i, v));
                }
                out.push(narrow);
            }
        }
    }
    Ok(())
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
