//! The data stream after the input: raw, or gzip of one or more members decompressed as
//! one stream ([`GzMembers`]); bytes after the last member that do not start another are
//! [`TrailingGarbage`]; [`Stream::error`] tells I/O errors, corrupt gzip data and trailing
//! garbage apart; [`gzip_isize`] reads the last gzip trailer's ISIZE.

use std::fmt;
use std::io::{self, Read};
use std::mem;

use flate2::bufread::GzDecoder;

use super::input::{Input, read_to_fill};
use crate::data::error::{DataError, DataSource};

/// The first two bytes of every gzip stream.
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
pub(super) struct GzMembers {
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
pub(super) enum Stream {
    Raw(Input),
    Gzip(GzMembers),
}

impl Stream {
    /// The stream of `input`, gzip or not by its first two bytes.
    pub(super) fn new(mut input: Input) -> io::Result<Self> {
        Ok(if input.peek(2)?.starts_with(&GZIP_MAGIC) {
            Stream::Gzip(GzMembers { decoder: GzDecoder::new(input), ended: false })
        } else {
            Stream::Raw(input)
        })
    }

    /// The input under the stream.
    pub(super) fn input(&self) -> &Input {
        match self {
            Stream::Raw(input) => input,
            Stream::Gzip(members) => members.decoder.get_ref(),
        }
    }

    /// The input under the stream, to read it again.
    pub(super) fn into_input(self) -> Input {
        match self {
            Stream::Raw(input) => input,
            Stream::Gzip(members) => members.decoder.into_inner(),
        }
    }

    /// `true` if the input is gzipped.
    pub(super) fn is_gzip(&self) -> bool {
        matches!(self, Stream::Gzip(_))
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    pub(super) fn read_full(&mut self, origin: &DataSource, buf: &mut [u8]) -> Result<usize, DataError> {
        read_to_fill(self, buf).map_err(|e| self.error(origin, e))
    }

    /// Turns an error from the stream into an I/O, a gzip or a trailing-garbage error.
    pub(super) fn error(&self, origin: &DataSource, source: io::Error) -> DataError {
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

/// The ISIZE field of the gzip trailer at the end of `tail` (the input's last bytes), if
/// the input starts like gzip and is long enough to hold a whole member (18 bytes).
pub(super) fn gzip_isize(prefix: &[u8], len: u64, tail: &[u8]) -> Option<u32> {
    let tail: [u8; 4] = tail.get(tail.len().checked_sub(4)?..)?.try_into().ok()?;
    (prefix.starts_with(&GZIP_MAGIC) && len >= 18).then(|| u32::from_le_bytes(tail))
}
