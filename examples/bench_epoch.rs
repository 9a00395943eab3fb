//! Times whole MNIST epochs and inference for `BENCHMARKS.md` and the comparison runner
//! in `benches/compare/`, printing one machine-readable `RESULT` line per measurement.
//!
//! ```text
//! cargo run --release --example bench_epoch -- --batch-size 32 --threads 1 --epochs 3
//! cargo run --release --example bench_epoch -- --forward --threads 2
//! ```
//!
//! An epoch is 60 000 shuffled samples already in memory and the full training step
//! (forward, loss, backward, Adam); one warm-up epoch runs first and the median of the
//! timed epochs is reported. Evaluation is not timed.

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use staticnn::prelude::*;
use staticnn::{Batch, Dataset, Split};

staticnn::model! {
    pub struct Mnist { input(784), dense(128), relu, dense(10) }
}

/// Time MNIST training epochs or inference.
struct Args {
    /// Batch size: 32 or 128.
    batch_size: usize,
    /// Worker threads: 1 or 2.
    threads: usize,
    /// Timed epochs (after one warm-up epoch).
    epochs: usize,
    /// Time inference instead: batch-1 latency and batch-1000 throughput.
    forward: bool,
}

impl Args {
    /// `--batch-size B` (32), `--threads T` (1), `--epochs N` (3), `--forward`.
    fn parse() -> Result<Self, lexopt::Error> {
        use lexopt::prelude::*;
        let mut args = Args { batch_size: 32, threads: 1, epochs: 3, forward: false };
        let mut flags = lexopt::Parser::from_env();
        while let Some(flag) = flags.next()? {
            match flag {
                Long("batch-size") => args.batch_size = flags.value()?.parse()?,
                Long("threads") => args.threads = flags.value()?.parse()?,
                Long("epochs") => args.epochs = flags.value()?.parse()?,
                Long("forward") => args.forward = true,
                _ => return Err(flag.unexpected()),
            }
        }
        Ok(args)
    }
}

type AnyResult<T> = Result<T, Box<dyn Error>>;

fn main() -> AnyResult<()> {
    let args = Args::parse()?;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let train = Dataset::mnist(dir, Split::Train)?;
    let test = Dataset::mnist(dir, Split::Test)?;
    if args.forward {
        return match args.threads {
            1 => forward(&args, Mnist::trainer::<1000>(), &test),
            2 => forward(&args, Mnist::parallel_trainer::<1000, 500>(2)?, &test),
            t => Err(format!("--threads {t}: choose 1 or 2").into()),
        };
    }
    match (args.batch_size, args.threads) {
        (32, 1) => epochs(&args, Mnist::trainer::<32>(), &train, &test),
        (32, 2) => epochs(&args, Mnist::parallel_trainer::<32, 16>(2)?, &train, &test),
        (128, 1) => epochs(&args, Mnist::trainer::<128>(), &train, &test),
        (128, 2) => epochs(&args, Mnist::parallel_trainer::<128, 64>(2)?, &train, &test),
        (b, t) => Err(format!("--batch-size {b} --threads {t}: choose 32 or 128, and 1 or 2").into()),
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn epochs<const B: usize>(
    args: &Args,
    mut trainer: impl Fit<Mnist, 784, 10, B>,
    train: &Dataset,
    test: &Dataset,
) -> AnyResult<()> {
    let mut model = Mnist::new_boxed(Init::GlorotUniform, 42);
    let mut adam = Adam::new(AdamConfig::default());
    let mut rng = StdRng::seed_from_u64(42);
    let mut times = Vec::new();
    for epoch in 0..=args.epochs {
        let start = Instant::now();
        trainer.fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, train, &mut rng, |_, _| {})?;
        let seconds = start.elapsed().as_secs_f64();
        if epoch > 0 {
            times.push(seconds);
        }
        eprintln!("epoch {epoch}{}: {seconds:.3} s", if epoch == 0 { " (warm-up)" } else { "" });
    }
    let accuracy = trainer.evaluate(&model, &SoftmaxCrossEntropy, test, None)?.accuracy();
    println!(
        "RESULT framework=staticnn threads={} batch={B} epoch_s={:.4} test_acc={accuracy:.4}",
        args.threads,
        median(times)
    );
    Ok(())
}

fn forward(args: &Args, mut trainer: impl Fit<Mnist, 784, 10, 1000>, test: &Dataset) -> AnyResult<()> {
    let model = Mnist::new_boxed(Init::GlorotUniform, 42);
    // Batch 1: the median over the first 1000 test images, each run 100 times.
    let mut per_image = Vec::new();
    for i in 0..1000 {
        let x = SVector::<f32, 784>::from_column_slice(test.image(i));
        let start = Instant::now();
        for _ in 0..100 {
            black_box(model.forward(black_box(&x)));
        }
        per_image.push(start.elapsed().as_secs_f64() / 100.0);
    }
    println!("RESULT framework=staticnn threads=1 batch=1 forward_us={:.3}", 1e6 * median(per_image));

    let mut batch = Batch::<f32, 784, 1000>::zeroed_box();
    let indices: Vec<usize> = (0..1000).collect();
    test.fill_batch(&indices, &mut batch)?;
    let mut rates = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        black_box(trainer.infer(&model, black_box(&batch.x))[0]);
        rates.push(1000.0 / start.elapsed().as_secs_f64());
    }
    println!(
        "RESULT framework=staticnn threads={} batch=1000 forward_samples_per_s={:.0}",
        args.threads,
        median(rates)
    );
    Ok(())
}
