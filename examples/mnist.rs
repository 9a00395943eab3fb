//! The reference job: the classic MNIST MLP (784 → dense 128 → relu → dense 10) trained with
//! Adam and softmax cross-entropy on the real MNIST files in `data/mnist/`.
//!
//! ```text
//! cargo run --release --example mnist                     # 5 epochs, batch 32, lr 1e-3
//! cargo run --release --example mnist -- --eval out/mnist.safetensors
//! cargo run --release --example mnist -- --seed-replica   # the original program, exactly
//! cargo run --release --example mnist -- --help
//! ```

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use common::AnyResult;
use staticnn::prelude::*;
use staticnn::{Dataset, Split, with_batch_size};

staticnn::model! {
    /// The reference MNIST classifier.
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

staticnn::model! {
    /// The original reference program's network: two dense layers and no activation between.
    pub struct Replica {
        input(784),
        dense(128),
        dense(10),
    }
}

/// The flags (`--help` prints this list).
const HELP: &str = "\
Train (or evaluate) the reference MNIST MLP on real MNIST.

Usage: cargo run --release --example mnist -- [FLAGS]

  --epochs N         epochs to train [default: 5, or 100 with --seed-replica]
  --batch-size B     samples per step: 8, 16, 32, 64, 128 or 256 (batch shapes are static) [default: 32]
  --threads T        worker threads: 1, 2 or 4, each taking a shard of every batch [default: all cores, at most 4]
  --lr LR            Adam's learning rate [default: 0.001]
  --seed S           seed for initialisation and shuffling [default: 42]
  --data-dir DIR     directory of the four MNIST IDX files, gzipped or not [default: data/mnist]
  --out DIR          where the weights and the training curves go [default: out]
  --eval WEIGHTS     only evaluate these saved weights on the test set, with a confusion matrix
  --init WEIGHTS     start from these weights instead of a random initialisation
  --resume FILE      continue the run saved in this checkpoint (DIR/mnist.checkpoint.safetensors,
                     written at the end of every run) up to --epochs epochs in all
  --seed-replica     reproduce the original reference program: no activation between the dense
                     layers, N(0, 1) weights and biases, full-batch Adam with Keras defaults
  -h, --help         print this help
";

/// The parsed flags.
#[derive(Debug)]
struct Args {
    epochs: Option<usize>,
    batch_size: usize,
    lr: f64,
    threads: Option<usize>,
    seed: u64,
    data_dir: PathBuf,
    out: PathBuf,
    eval: Option<PathBuf>,
    init: Option<PathBuf>,
    resume: Option<PathBuf>,
    seed_replica: bool,
}

impl Args {
    fn parse() -> Result<Self, lexopt::Error> {
        use lexopt::prelude::*;
        let mut args = Args {
            epochs: None,
            batch_size: 32,
            lr: 1e-3,
            threads: None,
            seed: 42,
            data_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")),
            out: PathBuf::from("out"),
            eval: None,
            init: None,
            resume: None,
            seed_replica: false,
        };
        let mut flags = lexopt::Parser::from_env();
        while let Some(flag) = flags.next()? {
            match flag {
                Long("epochs") => args.epochs = Some(flags.value()?.parse()?),
                Long("batch-size") => args.batch_size = flags.value()?.parse()?,
                Long("lr") => args.lr = flags.value()?.parse()?,
                Long("threads") => args.threads = Some(flags.value()?.parse()?),
                Long("seed") => args.seed = flags.value()?.parse()?,
                Long("data-dir") => args.data_dir = flags.value()?.into(),
                Long("out") => args.out = flags.value()?.into(),
                Long("eval") => args.eval = Some(flags.value()?.into()),
                Long("init") => args.init = Some(flags.value()?.into()),
                Long("resume") => args.resume = Some(flags.value()?.into()),
                Long("seed-replica") => args.seed_replica = true,
                Long("help") | Short('h') => common::help(HELP),
                _ => return Err(flag.unexpected()),
            }
        }
        Ok(args)
    }
}

fn main() -> ExitCode {
    common::exit(Args::parse().map_err(Into::into).and_then(|args| run(&args)))
}

fn run(args: &Args) -> AnyResult<()> {
    if args.eval.is_none() {
        common::prepare_out(&args.out)?;
    }
    let started = Instant::now();
    let train = Dataset::mnist(&args.data_dir, Split::Train)?;
    let test = Dataset::mnist(&args.data_dir, Split::Test)?;
    println!(
        "MNIST from {}: {} training and {} test images ({:.2} s to load)",
        args.data_dir.display(),
        train.len(),
        test.len(),
        started.elapsed().as_secs_f64()
    );
    if args.seed_replica {
        return seed_replica(args, &train, &test);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(match cores {
        0 | 1 => 1,
        2 | 3 => 2,
        _ => 4,
    });
    println!("Using {threads} thread{}", if threads == 1 { "" } else { "s" });
    // Batch shapes are static: `with_batch_size!` compiles the common sizes, each with
    // its half and quarter as the shard sizes of the parallel trainers.
    with_batch_size!(args.batch_size, B => match threads {
        1 => train_or_eval(args, Mnist::trainer::<B>(), &train, &test),
        2 => train_or_eval(args, Mnist::parallel_trainer::<B, { B / 2 }>(2)?, &train, &test),
        4 => train_or_eval(args, Mnist::parallel_trainer::<B, { B / 4 }>(4)?, &train, &test),
        t => Err(format!("--threads {t}: choose 1, 2 or 4").into()),
    })?
}

fn train_or_eval<const B: usize>(
    args: &Args,
    mut trainer: impl Fit<Mnist, { Mnist::INPUT }, { Mnist::OUTPUT }, B>,
    train: &Dataset,
    test: &Dataset,
) -> AnyResult<()> {
    if let Some(weights) = &args.eval {
        return common::evaluate_saved(&mut trainer, weights, test);
    }
    let epochs = args.epochs.unwrap_or(5);
    let mut model = Mnist::new_boxed(Init::GlorotUniform, args.seed);
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
        "Training 784 → dense 128 → relu → dense 10 ({} parameters), Adam lr {}, batch {B}, epochs {first}–{epochs}, seed {}",
        Mnist::LEN,
        args.lr,
        args.seed
    );
    let history = common::train_epochs(
        &mut trainer,
        &mut *model,
        &mut adam,
        train,
        test,
        first..=epochs,
        args.seed,
        false,
    )?;

    let title = format!("MNIST MLP, Adam lr {}, batch {B}, seed {}", args.lr, args.seed);
    let weights = common::save_run(&args.out, "mnist", &*model, &adam, &history, &title)?;
    println!("Evaluate them again with: cargo run --release --example mnist -- --eval {}", weights.display());
    Ok(())
}

/// The original program: full-batch Adam (Keras defaults) on all 60 000 images per step.
fn seed_replica(args: &Args, train: &Dataset, test: &Dataset) -> AnyResult<()> {
    const FULL: usize = 60_000;
    let epochs = args.epochs.unwrap_or(100);
    let mut model = Replica::new_boxed(Init::Normal { mean: 0.0, std: 1.0 }, args.seed);
    let mut adam = Adam::new(AdamConfig { lr: args.lr, ..AdamConfig::keras() });
    let first = common::start_run(&mut *model, &mut adam, args.init.as_deref(), args.resume.as_deref(), 1)?;
    let mut trainer = Replica::trainer::<FULL>();
    println!(
        "Seed replica: 784 → dense 128 → dense 10 (no activation), N(0, 1) weights and biases, \
         full-batch Keras Adam (lr {}, ε 1e-7), epochs {first}–{epochs}; each line: the loss before the \
         epoch's step, both accuracies after it",
        args.lr
    );
    let history = common::train_epochs(
        &mut trainer,
        &mut *model,
        &mut adam,
        train,
        test,
        first..=epochs,
        args.seed,
        true,
    )?;
    let title = "Seed replica: full-batch Adam, N(0, 1) init, no activation";
    common::save_run(&args.out, "mnist_seed_replica", &*model, &adam, &history, title)?;
    Ok(())
}
