//! The std build's side of the embedded check: loads the weights the freestanding and
//! Cortex-M4 binaries bake in (`examples/embedded/mnist.safetensors`, or with `--cnn` the
//! CNN's `mnist_cnn.safetensors`) at run time, classifies the first 1 000 MNIST test images
//! with the same model, and prints the lines those binaries print:
//!
//! ```text
//! predictions: 7210414959…      (one digit per image, in order)
//! accuracy: 97.30% (973 of 1000)
//! logits fnv1a: 0x…             (a checksum of every logit's bit pattern)
//! ```
//!
//! `cargo run --release --example mnist_predict [-- --cnn --weights FILE --count N]`. CI
//! compares the `predictions` line with the embedded binaries', character for character.

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

staticnn::model! {
    /// The MNIST CNN, as `examples/mnist_cnn.rs` and the embedded example declare it.
    pub struct MnistCnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu,
        maxpool(2),
        conv2d(32, 3, padding = 1), relu,
        maxpool(2),
        flatten,
        dense(128), relu,
        dense(10),
    }
}

/// MNIST's pixel mean and standard deviation, as `examples/mnist_cnn.rs` standardises.
const MNIST_MEAN: f32 = 0.1307;
const MNIST_STD: f32 = 0.3081;

/// Classify the first MNIST test images with weights loaded at run time.
struct Args {
    /// The CNN instead of the MLP.
    cnn: bool,
    /// The safetensors weights (the chosen model's file in `examples/embedded/` by default).
    weights: Option<PathBuf>,
    /// How many test images, from the first.
    count: usize,
    /// Directory holding the MNIST IDX files.
    data_dir: PathBuf,
}

impl Args {
    /// `--cnn`, `--weights FILE`, `--count N`, `--data-dir DIR`.
    fn parse() -> Result<Self, lexopt::Error> {
        use lexopt::prelude::*;
        let mut args = Args {
            cnn: false,
            weights: None,
            count: 1000,
            data_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")),
        };
        let mut flags = lexopt::Parser::from_env();
        while let Some(flag) = flags.next()? {
            match flag {
                Long("cnn") => args.cnn = true,
                Long("weights") => args.weights = Some(flags.value()?.into()),
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
    let test = Dataset::mnist(&args.data_dir, Split::Test)?;
    let count = args.count.min(test.len());
    let embedded = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/embedded"));
    let logits: Vec<[f32; 10]> = if args.cnn {
        let mut model = MnistCnn::zeroed_box();
        let weights = args.weights.clone().unwrap_or_else(|| embedded.join("mnist_cnn.safetensors"));
        staticnn::load_safetensors(&mut *model, &weights)?;
        (0..count)
            .map(|i| {
                // Standardised as `examples/mnist_cnn.rs` and the embedded `classify_cnn` do it.
                let x =
                    MnistCnnInput::from_iterator(test.image(i).iter().map(|&v| (v - MNIST_MEAN) / MNIST_STD));
                model.forward(&x).into()
            })
            .collect()
    } else {
        let mut model = Mnist::zeroed_box();
        let weights = args.weights.clone().unwrap_or_else(|| embedded.join("mnist.safetensors"));
        staticnn::load_safetensors(&mut *model, &weights)?;
        (0..count).map(|i| model.forward(&SVector::from_column_slice(test.image(i))).into()).collect()
    };

    let mut predictions = String::with_capacity(count);
    let mut checksum: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a, as the embedded binaries compute it
    let mut correct = 0;
    for (i, logits) in logits.iter().enumerate() {
        let digit = argmax(logits);
        predictions.push(char::from(b'0' + digit as u8));
        for v in logits {
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
