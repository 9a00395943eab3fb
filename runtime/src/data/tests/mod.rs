//! Tests of the data module, compiled for tests only (`mod tests` in `mod.rs` is
//! `#[cfg(test)]`): the helpers they share live here (a temporary directory, synthetic IDX
//! files, raw and gzipped, and error checks); the tests are in
//!
//! - `idx`: the IDX header, its errors, and the decoding of every element type;
//! - `idx_stream`: the data's length, lying headers, gzip streams, bytes and readers;
//! - `dataset`: loading checks, in-memory datasets, batching, shuffling, and the real
//!   MNIST files.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{env, fs, process, vec};

use super::*;

mod dataset;
mod idx;
mod idx_stream;

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = env::temp_dir().join(std::format!("staticnn-data-{}-{test}", process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    /// Writes `bytes` to `name` in the directory; returns its path.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).expect("write a temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// An IDX file: magic, dims, then `data` as given.
fn idx(type_byte: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_byte, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// 3 images of 2×2 `u8` pixels and their labels.
const PIXELS: [u8; 12] = [0, 255, 51, 102, 1, 2, 3, 4, 255, 0, 0, 255];
const LABELS: [u8; 3] = [2, 0, 1];

fn u8_images() -> Vec<u8> {
    idx(0x08, &[3, 2, 2], &PIXELS)
}

fn u8_labels() -> Vec<u8> {
    idx(0x08, &[3], &LABELS)
}

/// The error of `result`, which must have failed.
fn err<T>(result: Result<T, DataError>) -> DataError {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// Asserts that the message names `path`, and returns the message.
fn names(e: &DataError, path: &Path) -> String {
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()), "`{message}` does not name {}", path.display());
    message
}

fn load(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    Dataset::from_idx_files(images, labels, 4, 3)
}
