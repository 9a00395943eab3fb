//! The reference job: the classic MNIST MLP (784 → dense 128 → relu → dense 10) trained with
//! Adam and softmax cross-entropy on the real MNIST files in `data/mnist/`.
//!
//! ```text
//! cargo run --release --example mnist                     # 5 epochs, batch 32, lr 1e-3
//! cargo run --release --example mnist -- --eval out/mnist.safetensors
//! cargo run --release --example mnist -- --seed-replica   # the original program, exactly
//! cargo run --release --example mnist -- --help
//! ```

use std::error::Error;
use std::fs;
use std::io::{IsTerminal, stdout};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;
use staticnn::prelude::*;
use staticnn::{ConfusionMatrix, Dataset, Metrics, ParallelTrainer, Split, Trainer};

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

/// Train (or evaluate) the reference MNIST MLP on real MNIST.
#[derive(Parser, Debug)]
#[command(about, long_about = None)]
struct Args {
    /// Epochs to train [default: 5, or 100 with --seed-replica].
    #[arg(long)]
    epochs: Option<usize>,
    /// Samples per step; batches are statically sized, so one of 16, 32, 64, 128, 256.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Worker threads: 1, 2 or 4 (each batch is split into that many shards) [default: all
    /// cores, at most 4].
    #[arg(long)]
    threads: Option<usize>,
    /// Seed for initialisation and shuffling.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Directory holding the four MNIST IDX files (gzipped or not).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))]
    data_dir: PathBuf,
    /// Directory for the trained weights and the training-curve picture.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Only evaluate these saved weights on the test set, with a confusion matrix.
    #[arg(long, value_name = "WEIGHTS")]
    eval: Option<PathBuf>,
    /// Reproduce the original reference program: no activation between the dense layers,
    /// every weight and bias from N(0, 1), full-batch Adam with Keras defaults, 100 epochs.
    #[arg(long)]
    seed_replica: bool,
}

/// One epoch's figures, for the printed line and the picture.
struct EpochReport {
    loss: f64,
    train_acc: f64,
    test_acc: f64,
    seconds: f64,
}

type AnyResult<T> = Result<T, Box<dyn Error>>;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> AnyResult<()> {
    let started = Instant::now();
    let train = Dataset::mnist(&args.data_dir, Split::Train, 784, 10)?;
    let test = Dataset::mnist(&args.data_dir, Split::Test, 784, 10)?;
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
    // Batch shapes are static: each supported size is compiled with its half and quarter
    // as shard sizes for the parallel trainer.
    macro_rules! sizes {
        ($($b:literal / $half:literal / $quarter:literal),*) => {
            match (args.batch_size, threads) {
                $(
                    ($b, 1) => train_or_eval(args, Trainer::<Mnist, 784, 10, $b>::new(), &train, &test),
                    ($b, 2) => train_or_eval(args, ParallelTrainer::<Mnist, 784, 10, $b, $half>::new(2)?, &train, &test),
                    ($b, 4) => train_or_eval(args, ParallelTrainer::<Mnist, 784, 10, $b, $quarter>::new(4)?, &train, &test),
                )*
                (_, 1 | 2 | 4) => Err(format!(
                    "--batch-size {} is not compiled into this example; choose 16, 32, 64, 128 or 256 \
                     (batch shapes are static: add a size to the `sizes!` list in examples/mnist.rs)",
                    args.batch_size
                ).into()),
                (_, t) => Err(format!("--threads {t}: choose 1, 2 or 4").into()),
            }
        };
    }
    sizes!(16 / 8 / 4, 32 / 16 / 8, 64 / 32 / 16, 128 / 64 / 32, 256 / 128 / 64)
}

fn train_or_eval<const B: usize>(
    args: &Args,
    mut trainer: impl Fit<Mnist, 784, 10, B>,
    train: &Dataset,
    test: &Dataset,
) -> AnyResult<()> {
    if let Some(weights) = &args.eval {
        let mut model = Mnist::zeroed_box();
        staticnn::load_safetensors(&mut *model, weights)?;
        let mut confusion = ConfusionMatrix::new(10);
        let metrics = trainer.evaluate(&model, &SoftmaxCrossEntropy, test, Some(&mut confusion))?;
        println!(
            "{}: test loss {:.4}, test accuracy {:.2}% ({} of {})\n\n{confusion}",
            weights.display(),
            metrics.mean_loss(),
            100.0 * metrics.accuracy(),
            metrics.correct,
            metrics.samples
        );
        return Ok(());
    }

    let epochs = args.epochs.unwrap_or(5);
    let mut model = Mnist::new_boxed(Init::GlorotUniform, args.seed);
    let mut adam = Adam::new(AdamConfig::with_lr(args.lr));
    let mut rng = StdRng::seed_from_u64(args.seed);
    println!(
        "Training 784 → dense 128 → relu → dense 10 ({} parameters), Adam lr {}, batch {B}, {epochs} epochs, seed {}",
        Mnist::LEN,
        args.lr,
        args.seed
    );
    let mut history = Vec::new();
    for epoch in 1..=epochs {
        let bar = progress_bar(train.len(), epoch, epochs);
        let start = Instant::now();
        let fitted =
            trainer.fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, train, &mut rng, |done, m| {
                if done % (B * 64) < B || done == train.len() {
                    bar.set_position(done as u64);
                    bar.set_message(format!("loss {:.4}, acc {:.2}%", m.mean_loss(), 100.0 * m.accuracy()));
                }
            })?;
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let tested = trainer.evaluate(&model, &SoftmaxCrossEntropy, test, None)?;
        history.push(report(epoch, &fitted, &tested, seconds, train.len()));
    }

    print_totals(&history);
    fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let weights = args.out.join("mnist.safetensors");
    staticnn::save_safetensors(&*model, &weights)?;
    let picture = args.out.join("mnist_training.svg");
    plot(&history, &picture, &format!("MNIST MLP, Adam lr {}, batch {B}, seed {}", args.lr, args.seed))?;
    println!("Saved the weights to {} and the training curves to {}", weights.display(), picture.display());
    println!("Evaluate them again with: cargo run --release --example mnist -- --eval {}", weights.display());
    Ok(())
}

/// The original program: full-batch Adam (Keras defaults) on all 60 000 images per step.
fn seed_replica(args: &Args, train: &Dataset, test: &Dataset) -> AnyResult<()> {
    const FULL: usize = 60_000;
    let epochs = args.epochs.unwrap_or(100);
    let mut model = Replica::new_boxed(Init::Normal { mean: 0.0, std: 1.0 }, args.seed);
    let mut adam = Adam::new(AdamConfig { lr: args.lr, ..AdamConfig::keras() });
    let mut trainer = Trainer::<Replica, 784, 10, FULL>::new();
    let mut rng = StdRng::seed_from_u64(args.seed);
    println!(
        "Seed replica: 784 → dense 128 → dense 10 (no activation), N(0, 1) weights and biases, \
         full-batch Adam (lr {}, ε 1e-7), {epochs} epochs",
        args.lr
    );
    let mut history = Vec::new();
    for epoch in 1..=epochs {
        let start = Instant::now();
        let fitted =
            trainer.fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, train, &mut rng, |_, _| {})?;
        let seconds = start.elapsed().as_secs_f64();
        let tested = trainer.evaluate(&model, &SoftmaxCrossEntropy, test, None)?;
        history.push(report(epoch, &fitted, &tested, seconds, train.len()));
    }
    print_totals(&history);
    fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let picture = args.out.join("mnist_seed_replica.svg");
    plot(&history, &picture, "Seed replica: full-batch Adam, N(0, 1) init, no activation")?;
    println!("Saved the training curves to {}", picture.display());
    Ok(())
}

/// Prints the reference program's per-epoch line, plus timing.
fn report(epoch: usize, fitted: &Metrics, tested: &Metrics, seconds: f64, samples: usize) -> EpochReport {
    println!(
        "Epoch {epoch}, Loss: {:.4}, Train Acc: {:.2}%, Test Acc: {:.2}%  ({seconds:.2} s, {:.0} samples/s)",
        fitted.mean_loss(),
        100.0 * fitted.accuracy(),
        100.0 * tested.accuracy(),
        samples as f64 / seconds
    );
    EpochReport {
        loss: fitted.mean_loss(),
        train_acc: fitted.accuracy(),
        test_acc: tested.accuracy(),
        seconds,
    }
}

/// The total and mean training time over all epochs.
fn print_totals(history: &[EpochReport]) {
    let total: f64 = history.iter().map(|r| r.seconds).sum();
    println!(
        "Trained {} epochs in {total:.2} s ({:.2} s per epoch, evaluation excluded)",
        history.len(),
        total / history.len().max(1) as f64
    );
}

/// A progress bar on a terminal; nothing when stdout is redirected (the epoch lines suffice).
fn progress_bar(len: usize, epoch: usize, epochs: usize) -> ProgressBar {
    if !stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stdout());
    let style =
        ProgressStyle::with_template("{prefix} [{bar:32.cyan/blue}] {pos:>5}/{len} {per_sec:>12} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("Epoch {epoch}/{epochs}"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Draws the loss and both accuracies per epoch, side by side, as SVG.
fn plot(history: &[EpochReport], path: &Path, title: &str) -> AnyResult<()> {
    use plotters::prelude::*;

    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (left, right) = root.split_horizontally(500);
    let epochs = history.len().max(2) as f64;
    let xs = || (1..=history.len()).map(|epoch| epoch as f64);

    let max_loss = history.iter().map(|r| r.loss).fold(0.0_f64, f64::max).max(1e-3) * 1.05;
    let mut loss = ChartBuilder::on(&left)
        .caption("training loss", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0..epochs, 0.0..max_loss)?;
    let ticks = history.len().clamp(2, 10);
    let epoch_label = |x: &f64| format!("{x:.0}");
    loss.configure_mesh()
        .x_labels(ticks)
        .x_label_formatter(&epoch_label)
        .x_desc("epoch")
        .y_desc("mean cross-entropy")
        .draw()?;
    loss.draw_series(LineSeries::new(xs().zip(history.iter().map(|r| r.loss)), &RED))?;

    let low = history.iter().map(|r| r.train_acc.min(r.test_acc)).fold(1.0_f64, f64::min);
    let floor = (100.0 * low - 1.0).floor().clamp(0.0, 99.0);
    let mut acc = ChartBuilder::on(&right)
        .caption("accuracy (%)", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0..epochs, floor..100.0)?;
    acc.configure_mesh().x_labels(ticks).x_label_formatter(&epoch_label).x_desc("epoch").draw()?;
    acc.draw_series(LineSeries::new(xs().zip(history.iter().map(|r| 100.0 * r.train_acc)), &BLUE))?
        .label("train")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
    let dark_green = RGBColor(0, 140, 60);
    acc.draw_series(LineSeries::new(xs().zip(history.iter().map(|r| 100.0 * r.test_acc)), &dark_green))?
        .label("test")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], dark_green));
    acc.configure_series_labels().position(SeriesLabelPosition::LowerRight).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
