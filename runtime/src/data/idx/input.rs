//! The input bytes: where they come from ([`Source`]: a file, a copied slice or a
//! reader), and [`Input`], which buffers, counts and bounds them, remembers whether the
//! source failed, and goes back to the start of a file or a slice for a second pass.

use std::boxed::Box;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::vec;
use std::vec::Vec;

/// Where an [`IdxReader`]'s bytes come from.
pub(super) enum Source {
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
pub(super) struct Input {
    source: Source,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Offset of `buf[start]` in the input.
    pub(super) offset: u64,
    /// Bytes taken from the source so far.
    pulled: u64,
    /// The most bytes the source may yield.
    limit: Option<u64>,
    /// Whether reading the source ever failed.
    pub(super) failed: bool,
}

impl Default for Input {
    /// An empty input, to stand in while a gzip decoder changes members.
    fn default() -> Self {
        Input::new(Source::Stream(Box::new(io::empty())), None, 0)
    }
}

impl Input {
    /// An input reading `source` into a buffer of `capacity` bytes, failing if the source
    /// yields more than `limit` bytes.
    pub(super) fn new(source: Source, limit: Option<u64>, capacity: usize) -> Self {
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
    pub(super) fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.end - self.start < n.min(self.buf.len()) {
            if self.pull()? == 0 {
                break;
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// Consumes the rest of the input; returns how many bytes that was.
    pub(super) fn drain(&mut self) -> io::Result<u64> {
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
    pub(super) fn rewind(&mut self) -> io::Result<bool> {
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

    /// `true` if [`rewind`](Self::rewind) can go back to the start: a file or bytes.
    pub(super) fn rewindable(&self) -> bool {
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

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub(super) fn read_to_fill(reader: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
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
