//! A small convolutional network on the real MNIST files in `data/mnist/`: two 3×3
//! convolutions with max pooling, then two dense layers, trained with Adam (lr 1e-3) and
//! softmax cross-entropy in batches of 32, PyTorch's default initialisation, on pixels
//! standardised with MNIST's mean and standard deviation (`--raw-pixels` to skip that).
//!
//! ```text
//! cargo run --release --example mnist_cnn                  # 3 epochs, batch 32, lr 1e-3
//! cargo run --release --example mnist_cnn -- --eval out/mnist_cnn.safetensors
//! cargo run --release --example mnist_cnn -- --help
//! ```
//!
//! The same network in PyTorch, whose state dict loads unchanged with
//! `staticnn::load_safetensors` (and the other way round):
//!
//! ```text
//! nn.Sequential(
//!     nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
//!     nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
//!     nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
//! ```

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use common::AnyResult;
use staticnn::prelude::*;
use staticnn::{Dataset, Split, with_batch_size};

staticnn::model! {
    /// A small CNN for MNIST: 1×28×28 → 16×28×28 → 16×14×14 → 32×14×14 → 32×7×7 → 128 → 10.
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

/// The flags (`--help` prints this list).
const HELP: &str = "\
Train (or evaluate) a small CNN on real MNIST.

Usage: cargo run --release --example mnist_cnn -- [FLAGS]

  --epochs N         epochs to train [default: 3]
  --batch-size B     samples per step: 8, 16, 32, 64, 128 or 256 (batch shapes are static) [default: 32]
  --lr LR            Adam's learning rate [default: 0.001]
  --threads T        worker threads: 1 or 2, each taking a shard of every batch [default: 2 with 2+ cores]
  --seed S           seed for initialisation and shuffling [default: 42]
  --data-dir DIR     directory of the four MNIST IDX files, gzipped or not [default: data/mnist]
  --out DIR          where the weights and the training curves go [default: out]
  --eval WEIGHTS     only evaluate these saved weights on the test set, with a confusion matrix
  --init WEIGHTS     start from these weights instead of PyTorch's default initialisation
  --resume FILE      continue the run saved in this checkpoint (DIR/mnist_cnn.checkpoint.safetensors,
                     written at the end of every run) up to --epochs epochs in all
  --raw-pixels       feed the pixels as loaded, in [0, 1], instead of standardised with MNIST's
                     mean and deviation (weights must be evaluated the way they were trained)
  -h, --help         print this help
";

/// The parsed flags.
#[derive(Debug)]
struct Args {
    epochs: usize,
    batch_size: usize,
    lr: f64,
    threads: Option<usize>,
    seed: u64,
    data_dir: PathBuf,
    out: PathBuf,
    eval: Option<PathBuf>,
    init: Option<PathBuf>,
    resume: Option<PathBuf>,
    raw_pixels: bool,
}

impl Args {
    fn parse() -> Result<Self, lexopt::Error> {
        use lexopt::prelude::*;
        let mut args = Args {
            epochs: 3,
            batch_size: 32,
            lr: 1e-3,
            threads: None,
            seed: 42,
            data_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")),
            out: PathBuf::from("out"),
            eval: None,
            init: None,
            resume: None,
            raw_pixels: false,
        };
        let mut flags = lexopt::Parser::from_env();
        while let Some(flag) = flags.next()? {
            match flag {
                Long("epochs") => args.epochs = flags.value()?.parse()?,
                Long("batch-size") => args.batch_size = flags.value()?.parse()?,
                Long("lr") => args.lr = flags.value()?.parse()?,
                Long("threads") => args.threads = Some(flags.value()?.parse()?),
                Long("seed") => args.seed = flags.value()?.parse()?,
                Long("data-dir") => args.data_dir = flags.value()?.into(),
                Long("out") => args.out = flags.value()?.into(),
                Long("eval") => args.eval = Some(flags.value()?.into()),
                Long("init") => args.init = Some(flags.value()?.into()),
                Long("resume") => args.resume = Some(flags.value()?.into()),
                Long("raw-pixels") => args.raw_pixels = true,
                Long("help") | Short('h') => common::help(HELP),
                _ => return Err(flag.unexpected()),
            }
        }
        Ok(args)
    }
}

/// MNIST's pixel mean and standard deviation over the training set, in [0, 1] units.
const MNIST_MEAN: f32 = 0.1307;
const MNIST_STD: f32 = 0.3081;

/// The dataset with every pixel standardised: `(x − mean) / std`.
fn standardize(data: &Dataset) -> AnyResult<Dataset> {
    let images = data.images().iter().map(|&v| (v - MNIST_MEAN) / MNIST_STD).collect();
    Ok(Dataset::from_vecs(images, data.labels().to_vec(), data.features(), data.classes())?)
}

fn main() -> ExitCode {
    common::exit(Args::parse().map_err(Into::into).and_then(|args| run(&args)))
}

fn run(args: &Args) -> AnyResult<()> {
    if args.eval.is_none() {
        common::prepare_out(&args.out)?;
    }
    let started = Instant::now();
    let mut train = Dataset::mnist(&args.data_dir, Split::Train)?;
    let mut test = Dataset::mnist(&args.data_dir, Split::Test)?;
    if !args.raw_pixels {
        (train, test) = (standardize(&train)?, standardize(&test)?);
    }
    println!(
        "MNIST from {}: {} training and {} test images ({:.2} s to load)",
        args.data_dir.display(),
        train.len(),
        test.len(),
        started.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(if cores >= 2 { 2 } else { 1 });
    println!("Using {threads} thread{}", if threads == 1 { "" } else { "s" });
    // Batch shapes are static: `with_batch_size!` compiles the common sizes, each with
    // its half as the shard size of the two-thread trainer.
    with_batch_size!(args.batch_size, B => match threads {
        1 => train_or_eval(args, MnistCnn::trainer::<B>(), &train, &test),
        2 => train_or_eval(args, MnistCnn::parallel_trainer::<B, { B / 2 }>(2)?, &train, &test),
        t => Err(format!("--threads {t}: choose 1 or 2").into()),
    })?
}

fn train_or_eval<const B: usize>(
    args: &Args,
    mut trainer: impl Fit<MnistCnn, { MnistCnn::INPUT }, { MnistCnn::OUTPUT }, B>,
    train: &Dataset,
    test: &Dataset,
) -> AnyResult<()> {
    if let Some(weights) = &args.eval {
        return common::evaluate_saved(&mut trainer, weights, test);
    }

    // PyTorch's default initialisation of `nn.Conv2d` and `nn.Linear`.
    let mut model = MnistCnn::new_boxed(Init::PyTorch, args.seed);
    let mut adam = Adam::new(AdamConfig::with_lr(args.lr));
    let steps_per_epoch = train.len().div_ceil(B);
    let first = common::start_run(
        &mut *model,
        &mut adam,
        args.init.as_deref(),
        args.resume.as_deref(),
        steps_per_epoch,
    )?;
    println!(
        "Training conv 16 → maxpool → conv 32 → maxpool → dense 128 → dense 10 ({} parameters), \
         Adam lr {}, batch {B}, epochs {first}–{}, seed {}, {} pixels",
        MnistCnn::LEN,
        args.lr,
        args.epochs,
        args.seed,
        if args.raw_pixels { "raw" } else { "standardised" }
    );
    let epochs = first..=args.epochs;
    let history =
        common::train_epochs(&mut trainer, &mut *model, &mut adam, train, test, epochs, args.seed, false)?;

    let title = format!("MNIST CNN, Adam lr {}, batch {B}, seed {}", args.lr, args.seed);
    let weights = common::save_run(&args.out, "mnist_cnn", &*model, &adam, &history, &title)?;
    let raw = if args.raw_pixels { " --raw-pixels" } else { "" };
    println!(
        "Evaluate them again with: cargo run --release --example mnist_cnn -- --eval {}{raw}",
        weights.display()
    );
    Ok(())
}
