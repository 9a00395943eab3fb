//! The std build's side of the embedded check: loads the weights the freestanding binary
//! bakes in (`examples/embedded/mnist.safetensors`) at run time, classifies the first 1 000
//! MNIST test images with the same model, and prints the lines that binary prints:
//!
//! ```text
//! predictions: 7210414959…      (one digit per image, in order)
//! accuracy: 97.30% (973 of 1000)
//! logits fnv1a: 0x…             (a checksum of every logit's bit pattern)
//! ```
//!
//! `cargo run --release --example mnist_predict [-- --weights FILE --count N]`. CI compares
//! the `predictions` line with the freestanding binary's, character for character.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use staticnn::prelude::*;
use staticnn::training::metrics::argmax;
use staticnn::{Dataset, Split};

staticnn::model! {
    /// The reference MNIST classifier, as `examples/mnist.rs` and the embedded example declare it.
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

/// Classify the first MNIST test images with weights loaded at run time.
struct Args {
    /// The safetensors weights.
    weights: PathBuf,
    /// How many test images, from the first.
    count: usize,
    /// Directory holding the MNIST IDX files.
    data_dir: PathBuf,
}

impl Args {
    /// `--weights FILE`, `--count N`, `--data-dir DIR`.
    fn parse() -> Result<Self, lexopt::Error> {
        use lexopt::prelude::*;
        let mut args = Args {
            weights: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/embedded/mnist.safetensors"
            )),
            count: 1000,
            data_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")),
        };
        let mut flags = lexopt::Parser::from_env();
        while let Some(flag) = flags.next()? {
            match flag {
                Long("weights") => args.weights = flags.value()?.into(),
                Long("count") => args.count = flags.value()?.parse()?,
                Long("data-dir") => args.data_dir = flags.value()?.into(),
                _ => return Err(flag.unexpected()),
            }
        }
        Ok(args)
    }
}

fn main() -> ExitCode {
    match Args::parse().map_err(Into::into).and_then(|args| run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Displayed, not debug-formatted: the message is the error's own sentence.
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let mut model = Mnist::zeroed_box();
    staticnn::load_safetensors(&mut *model, &args.weights)?;
    let test = Dataset::mnist(&args.data_dir, Split::Test)?;
    let count = args.count.min(test.len());

    let mut predictions = String::with_capacity(count);
    let mut checksum: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a, as the embedded binary computes it
    let mut correct = 0;
    for i in 0..count {
        let logits = model.forward(&SVector::from_column_slice(test.image(i)));
        let digit = argmax(logits.as_slice());
        predictions.push(char::from(b'0' + digit as u8));
        for v in logits.iter() {
            for b in v.to_bits().to_le_bytes() {
                checksum = (checksum ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        correct += usize::from(digit == usize::from(test.label(i)));
    }
    let basis_points = correct * 10_000 / count.max(1);
    println!("predictions: {predictions}");
    println!("accuracy: {}.{:02}% ({correct} of {count})", basis_points / 100, basis_points % 100);
    println!("logits fnv1a: {checksum:#018x}");
    Ok(())
}
