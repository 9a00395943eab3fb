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

mod decode;
mod header;
mod input;
mod reader;
mod stream;

pub use header::{ElementType, IdxHeader};
pub use reader::IdxReader;

#[cfg(doc)]
use super::error::DataError;

/// The most a deflate stream can expand: 1032 output bytes per input byte.
pub(super) const DEFLATE_MAX_RATIO: u64 = 1032;
