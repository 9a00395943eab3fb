//! Post-training quantization of the trained MNIST MLP (or with `--cnn` the CNN): calibrates
//! the activation ranges on training images, quantizes the model to TensorFlow Lite's int8
//! scheme and writes its int8 parameters as a quantized weights file, which
//! `#[model(int8 = "…")]` bakes into an int8 forward pass (`tests/ptq.rs` does, and reports
//! the accuracy of both models).
//!
//! ```text
//! cargo run --release --example mnist_quantize -- [--cnn] [--weights FILE] \
//!     [--calibration N] [--percentile P] [--out FILE]
//! ```
//!
//! `--calibration N`: the first N training images (1 000 by default); `--percentile P`
//! clips each range to its P-th percentiles (e.g. 99.99) rather than the extremes; the
//! output defaults to `mnist_int8.safetensors` (`mnist_cnn_int8.safetensors`).

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use staticnn::prelude::*;
use staticnn::quant::ptq::{Calibrator, Range};
use staticnn::{Dataset, Split};

staticnn::model! {
    /// The reference MNIST classifier, as `examples/mnist.rs` declares it.
    pub struct Mnist { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    /// The MNIST CNN, as `examples/mnist_cnn.rs` declares it.
    pub struct MnistCnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu, maxpool(2),
        conv2d(32, 3, padding = 1), relu, maxpool(2),
        flatten, dense(128), relu, dense(10),
    }
}

/// MNIST's pixel mean and standard deviation, as `examples/mnist_cnn.rs` standardises.
const MNIST_MEAN: f32 = 0.1307;
const MNIST_STD: f32 = 0.3081;

struct Args {
    cnn: bool,
    weights: Option<PathBuf>,
    calibration: usize,
    percentile: Option<f64>,
    out: Option<PathBuf>,
    data_dir: PathBuf,
}

impl Args {
    fn parse() -> Result<Self, lexopt::Error> {
        use lexopt::prelude::*;
        let mut args = Args {
            cnn: false,
            weights: None,
            calibration: 1000,
            percentile: None,
            out: None,
            data_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")),
        };
        let mut flags = lexopt::Parser::from_env();
        while let Some(flag) = flags.next()? {
            match flag {
                Long("cnn") => args.cnn = true,
                Long("weights") => args.weights = Some(flags.value()?.into()),
                Long("calibration") => args.calibration = flags.value()?.parse()?,
                Long("percentile") => args.percentile = Some(flags.value()?.parse()?),
                Long("out") => args.out = Some(flags.value()?.into()),
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
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let train = Dataset::mnist(&args.data_dir, Split::Train)?;
    let count = args.calibration.min(train.len());
    let range = args.percentile.map_or(Range::MinMax, Range::Percentile);
    let mut calibrator = Calibrator::new(range);
    let embedded = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/embedded"));
    let (quantized, name) = if args.cnn {
        let mut model = MnistCnn::zeroed_box();
        let weights = args.weights.clone().unwrap_or_else(|| embedded.join("mnist_cnn.safetensors"));
        staticnn::load_safetensors(&mut *model, &weights)?;
        for i in 0..count {
            let x =
                MnistCnnInput::from_iterator(train.image(i).iter().map(|&v| (v - MNIST_MEAN) / MNIST_STD));
            model.visit_int8_points(&x, &mut |point| calibrator.observe(point));
        }
        (calibrator.quantize(&*model)?, "mnist_cnn_int8.safetensors")
    } else {
        let mut model = Mnist::zeroed_box();
        let weights = args.weights.clone().unwrap_or_else(|| embedded.join("mnist.safetensors"));
        staticnn::load_safetensors(&mut *model, &weights)?;
        for i in 0..count {
            model.visit_int8_points(&SVector::from_column_slice(train.image(i)), &mut |point| {
                calibrator.observe(point)
            });
        }
        (calibrator.quantize(&*model)?, "mnist_int8.safetensors")
    };
    for (label, _) in quantized.tensors.iter().filter(|(n, _)| n.ends_with(".scale")) {
        let label = label.trim_end_matches(".scale");
        let params = quantized.params(label)?;
        println!("{label}: scale {:e}, zero point {}", params.scale, params.zero_point);
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(name));
    quantized.save(&out)?;
    println!(
        "calibrated on {count} training images ({range:?}); int8 parameters written to {}",
        out.display()
    );
    Ok(())
}
