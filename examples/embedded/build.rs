//! Link flags for the freestanding binaries, and the test images they classify.
//!
//! - The binaries bring their own `_start` and use no C library, so they link with
//!   `-nostartfiles -nodefaultlibs -static` (and `-no-pie`: there is no loader to relocate
//!   a position-independent executable). These are `rustc-link-arg-bins`, not `rustflags`,
//!   which would also apply to this build script and break it.
//! - The first `IMAGES` MNIST test images and labels are extracted from the gzipped IDX
//!   files in `../../data/mnist/` into `OUT_DIR` (`images.u8`: 784 pixels per image,
//!   row-major; `labels.u8`: one byte each), for `include_bytes!`.
//! - For on-device training, a small digits set in the shape of the classic 8 × 8 digits:
//!   the first `DIGITS` training and test images, cropped to their central 24 × 24 pixels
//!   and averaged over 3 × 3 blocks (`digits-{train,test}.u8`: 64 pixels each, and
//!   `digits-{train,test}-labels.u8`).

use std::error::Error;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

/// How many test images the binary holds.
const IMAGES: usize = 1000;
/// How many 8 × 8 digits of each split the training binary holds.
const DIGITS: usize = 500;
const PIXELS: usize = 28 * 28;

fn main() -> Result<(), Box<dyn Error>> {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH")?;
    let os = std::env::var("CARGO_CFG_TARGET_OS")?;
    if arch == "x86_64" && os == "linux" {
        for flag in ["-nostartfiles", "-nodefaultlibs", "-static", "-no-pie"] {
            println!("cargo:rustc-link-arg-bins={flag}");
        }
    }

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let data = manifest.join("../../data/mnist");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let images = data.join("t10k-images-idx3-ubyte.gz");
    let labels = data.join("t10k-labels-idx1-ubyte.gz");
    let train_images = data.join("train-images-idx3-ubyte.gz");
    let train_labels = data.join("train-labels-idx1-ubyte.gz");
    for file in [&images, &labels, &train_images, &train_labels] {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let pixels = read_idx(&images, 0x0803, &[IMAGES as u32, 28, 28], IMAGES * PIXELS)?;
    let classes = read_idx(&labels, 0x0801, &[IMAGES as u32], IMAGES)?;
    std::fs::write(out.join("digits-test.u8"), downsample(&pixels[..DIGITS * PIXELS]))?;
    std::fs::write(out.join("digits-test-labels.u8"), &classes[..DIGITS])?;
    std::fs::write(out.join("images.u8"), pixels)?;
    std::fs::write(out.join("labels.u8"), classes)?;

    let pixels = read_idx(&train_images, 0x0803, &[DIGITS as u32, 28, 28], DIGITS * PIXELS)?;
    std::fs::write(out.join("digits-train.u8"), downsample(&pixels))?;
    let classes = read_idx(&train_labels, 0x0801, &[DIGITS as u32], DIGITS)?;
    std::fs::write(out.join("digits-train-labels.u8"), classes)?;
    Ok(())
}

/// 28 × 28 images to 8 × 8: the central 24 × 24 pixels, each 3 × 3 block averaged (rounded).
fn downsample(images: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(images.len() / PIXELS * 64);
    for image in images.chunks_exact(PIXELS) {
        for by in 0..8 {
            for bx in 0..8 {
                let mut sum = 0u32;
                for y in 0..3 {
                    for x in 0..3 {
                        sum += u32::from(image[(2 + 3 * by + y) * 28 + 2 + 3 * bx + x]);
                    }
                }
                out.push(((sum + 4) / 9) as u8);
            }
        }
    }
    out
}

/// The first `len` bytes of data of a gzipped IDX file of `u8` elements, after checking
/// its magic number (`0x08` type, rank in the low byte) and its dimensions: at least
/// `dims[0]` items, each exactly `dims[1..]`.
fn read_idx(path: &Path, magic: u32, dims: &[u32], len: usize) -> Result<Vec<u8>, Box<dyn Error>> {
    let context = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut reader = GzDecoder::new(File::open(path).map_err(context)?);
    let mut header = vec![0u8; 4 + 4 * dims.len()];
    reader.read_exact(&mut header).map_err(context)?;
    let word = |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    if word(0) != magic {
        return Err(format!("{}: magic number {:#x}, expected {magic:#x}", path.display(), word(0)).into());
    }
    for (k, &want) in dims.iter().enumerate() {
        let got = word(4 + 4 * k);
        if (k == 0 && got < want) || (k > 0 && got != want) {
            return Err(format!("{}: dimension {k} is {got}, expected {want}", path.display()).into());
        }
    }
    let mut data = vec![0u8; len];
    reader.read_exact(&mut data).map_err(context)?;
    Ok(data)
}
