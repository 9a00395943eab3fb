//! [`IdxReader`]: reads the header of a file, bytes or a reader, then checks the data's
//! length against everything known before keeping any of it (the memory policy in the
//! module documentation) and decodes the data as images or labels.

use std::boxed::Box;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::mem;
use std::path::Path;
use std::vec;
use std::vec::Vec;

use super::DEFLATE_MAX_RATIO;
#[cfg(doc)]
use super::ElementType;
use super::decode::{decode_images, decode_labels, make_room};
use super::header::{IdxHeader, read_header};
use super::input::{Input, Source, read_to_fill};
use super::stream::{GZIP_MAGIC, Stream, gzip_isize};
use crate::data::error::{DataError, DataSource, IdxContents};

/// Bytes read from the file per chunk; a multiple of every element size.
const CHUNK: usize = 1 << 16;

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
