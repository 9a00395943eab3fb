//! What the MNIST examples share: where a run starts (`--init`, `--resume`), the epoch loop
//! with its progress bar and per-epoch line, saving weights and checkpoints, evaluation of
//! saved weights with a confusion matrix, and the training-curve picture.

use std::error::Error;
use std::fs;
use std::io::{IsTerminal, stdout};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;
use staticnn::prelude::*;
use staticnn::{ConfusionMatrix, Dataset, Metrics, OptimizerState, Parameters};

/// Any error, reported by [`exit`].
pub type AnyResult<T> = Result<T, Box<dyn Error>>;

/// Prints `text` (an example's flag list) and exits successfully: `--help`.
pub fn help(text: &str) -> ! {
    print!("{text}");
    std::process::exit(0)
}

/// Exits with the error printed (not debug-formatted) on failure.
pub fn exit(result: AnyResult<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Creates the output directory `out` and checks that files can be written in it, so a
/// bad `--out` fails before training rather than after.
pub fn prepare_out(out: &Path) -> AnyResult<()> {
    fs::create_dir_all(out)
        .map_err(|e| format!("--out {}: cannot create the directory: {e}", out.display()))?;
    let probe = out.join(format!(".staticnn-probe-{}", std::process::id()));
    fs::write(&probe, b"")
        .map_err(|e| format!("--out {}: cannot write in the directory: {e}", out.display()))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// One epoch's figures, for the printed line and the picture.
pub struct EpochReport {
    pub loss: f64,
    pub train_acc: f64,
    pub test_acc: f64,
    pub seconds: f64,
}

/// Sets up where a run starts: `model` from the weight file `init` (`--init`), or `model`
/// and `optimizer` from the checkpoint `resume` (`--resume`, which must end an epoch of
/// `steps_per_epoch` steps). Returns the number of the first epoch to train.
pub fn start_run<M: Parameters, O: OptimizerState<M>>(
    model: &mut M,
    optimizer: &mut O,
    init: Option<&Path>,
    resume: Option<&Path>,
    steps_per_epoch: usize,
) -> AnyResult<usize> {
    if let Some(weights) = init {
        staticnn::load_safetensors(model, weights)?;
        println!("Starting from the weights in {}", weights.display());
    }
    let Some(checkpoint) = resume else { return Ok(1) };
    staticnn::load_checkpoint(model, optimizer, checkpoint)?;
    let steps = optimizer.steps();
    let per_epoch = steps_per_epoch.max(1) as u64;
    if steps % per_epoch != 0 {
        return Err(format!(
            "--resume {}: the checkpoint is {steps} steps in, not at the end of an epoch of {per_epoch} steps \
             (was it saved with another batch size or dataset?)",
            checkpoint.display()
        )
        .into());
    }
    let done = (steps / per_epoch) as usize;
    println!("Resuming from {} after epoch {done} ({steps} optimizer steps)", checkpoint.display());
    Ok(done + 1)
}

/// The shuffling of epoch `epoch` of a run seeded with `seed`: drawn afresh for every
/// epoch, so a resumed run shuffles exactly as an uninterrupted one.
pub fn epoch_rng(seed: u64, epoch: usize) -> StdRng {
    StdRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Trains the epochs `epochs` with softmax cross-entropy, printing the reference program's
/// line after each (`Epoch N, Loss: …, Train Acc: …, Test Acc: …` with the epoch's time
/// and samples/s) and a progress bar while it runs; then the total time.
///
/// With `full_batch` (the seed replica: one step per epoch on the whole training set) the
/// line is the original program's: the loss before the step, both accuracies after it.
/// Otherwise loss and training accuracy are the epoch's running figures, each batch
/// measured before its update, as Keras and the usual PyTorch loops report them.
#[allow(clippy::too_many_arguments)]
pub fn train_epochs<M, const IN: usize, const OUT: usize, const B: usize>(
    trainer: &mut impl Fit<M, IN, OUT, B>,
    model: &mut M,
    optimizer: &mut (impl Optimizer<M> + Send),
    train: &Dataset,
    test: &Dataset,
    epochs: RangeInclusive<usize>,
    seed: u64,
    full_batch: bool,
) -> AnyResult<Vec<EpochReport>>
where
    M: Model<IN, OUT>,
{
    let mut history = Vec::new();
    let last = *epochs.end();
    for epoch in epochs {
        let bar = if full_batch { ProgressBar::hidden() } else { progress_bar(train.len(), epoch, last) };
        let start = Instant::now();
        let mut rng = epoch_rng(seed, epoch);
        let fitted =
            trainer.fit_epoch(model, optimizer, &SoftmaxCrossEntropy, train, &mut rng, |done, m| {
                if done % (B * 64) < B || done == train.len() {
                    bar.set_position(done as u64);
                    bar.set_message(format!("loss {:.4}, acc {:.2}%", m.mean_loss(), 100.0 * m.accuracy()));
                }
            })?;
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let tested = trainer.evaluate(model, &SoftmaxCrossEntropy, test, None)?;
        let train_acc = if full_batch {
            trainer.evaluate(model, &SoftmaxCrossEntropy, train, None)?.accuracy()
        } else {
            fitted.accuracy()
        };
        history.push(report(epoch, fitted.mean_loss(), train_acc, &tested, seconds, train.len()));
    }
    let total: f64 = history.iter().map(|r| r.seconds).sum();
    println!(
        "Trained {} epochs in {total:.2} s ({:.2} s per epoch, evaluation excluded)",
        history.len(),
        total / history.len().max(1) as f64
    );
    Ok(history)
}

/// Saves the run: its weights to `{out}/{name}.safetensors`, a checkpoint (weights and
/// optimizer state) to `{out}/{name}.checkpoint.safetensors` and the curves of `history`
/// to `{out}/{name}_training.svg` under `title`, and says so. Returns the weights' path.
pub fn save_run<M: Parameters, O: OptimizerState<M>>(
    out: &Path,
    name: &str,
    model: &M,
    optimizer: &O,
    history: &[EpochReport],
    title: &str,
) -> AnyResult<PathBuf> {
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let weights = out.join(format!("{name}.safetensors"));
    staticnn::save_safetensors(model, &weights)?;
    let checkpoint = out.join(format!("{name}.checkpoint.safetensors"));
    staticnn::save_checkpoint(model, optimizer, &checkpoint)?;
    let picture = out.join(format!("{name}_training.svg"));
    plot(history, &picture, title)?;
    println!(
        "Saved the weights to {}, a checkpoint to {} and the training curves to {}",
        weights.display(),
        checkpoint.display(),
        picture.display()
    );
    Ok(weights)
}

/// Loads `weights` into a zeroed `M` and prints its test loss, accuracy and confusion matrix.
pub fn evaluate_saved<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize>(
    trainer: &mut impl Fit<M, IN, OUT, B>,
    weights: &Path,
    test: &Dataset,
) -> AnyResult<()> {
    let mut model = M::zeroed_box();
    staticnn::load_safetensors(&mut *model, weights)?;
    let mut confusion = ConfusionMatrix::new(OUT);
    let metrics = trainer.evaluate(&model, &SoftmaxCrossEntropy, test, Some(&mut confusion))?;
    println!(
        "{}: test loss {:.4}, test accuracy {:.2}% ({} of {})\n\n{confusion}",
        weights.display(),
        metrics.mean_loss(),
        100.0 * metrics.accuracy(),
        metrics.correct,
        metrics.samples
    );
    Ok(())
}

/// Prints the reference program's per-epoch line, plus timing.
fn report(
    epoch: usize,
    loss: f64,
    train_acc: f64,
    tested: &Metrics,
    seconds: f64,
    samples: usize,
) -> EpochReport {
    println!(
        "Epoch {epoch}, Loss: {loss:.4}, Train Acc: {:.2}%, Test Acc: {:.2}%  ({seconds:.2} s, {:.0} samples/s)",
        100.0 * train_acc,
        100.0 * tested.accuracy(),
        samples as f64 / seconds
    );
    EpochReport { loss, train_acc, test_acc: tested.accuracy(), seconds }
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
pub fn plot(history: &[EpochReport], path: &Path, title: &str) -> AnyResult<()> {
    use plotters::prelude::*;

    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (left, right) = root.split_horizontally(500);
    let epochs = history.len().max(2) as f64;
    let xs = || (1..=history.len()).map(|epoch| epoch as f64);
    let ticks = history.len().clamp(2, 10);
    let epoch_label = |x: &f64| format!("{x:.0}");

    let max_loss = history.iter().map(|r| r.loss).fold(0.0_f64, f64::max).max(1e-3) * 1.05;
    let mut loss = ChartBuilder::on(&left)
        .caption("training loss", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0..epochs, 0.0..max_loss)?;
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
