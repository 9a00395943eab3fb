//! What the MNIST examples share: the epoch loop with its progress bar and per-epoch line,
//! evaluation of saved weights with a confusion matrix, and the training-curve picture.

use std::error::Error;
use std::fs;
use std::io::{IsTerminal, stdout};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use staticnn::prelude::*;
use staticnn::{ConfusionMatrix, Dataset, Metrics};

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

/// Trains `epochs` epochs with Adam and softmax cross-entropy, printing the reference
/// program's line after each (`Epoch N, Loss: …, Train Acc: …, Test Acc: …` with the epoch's
/// time and samples/s) and a progress bar while it runs; then the total time.
#[allow(clippy::too_many_arguments)]
pub fn train_epochs<M, const IN: usize, const OUT: usize, const B: usize>(
    trainer: &mut impl Fit<M, IN, OUT, B>,
    model: &mut M,
    adam: &mut (impl Optimizer<M> + Send),
    train: &Dataset,
    test: &Dataset,
    epochs: usize,
    rng: &mut StdRng,
    quiet: bool,
) -> AnyResult<Vec<EpochReport>>
where
    M: Model<IN, OUT>,
{
    let mut history = Vec::new();
    for epoch in 1..=epochs {
        let bar = if quiet { ProgressBar::hidden() } else { progress_bar(train.len(), epoch, epochs) };
        let start = Instant::now();
        let fitted = trainer.fit_epoch(model, adam, &SoftmaxCrossEntropy, train, rng, |done, m| {
            if done % (B * 64) < B || done == train.len() {
                bar.set_position(done as u64);
                bar.set_message(format!("loss {:.4}, acc {:.2}%", m.mean_loss(), 100.0 * m.accuracy()));
            }
        })?;
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let tested = trainer.evaluate(model, &SoftmaxCrossEntropy, test, None)?;
        history.push(report(epoch, &fitted, &tested, seconds, train.len()));
    }
    let total: f64 = history.iter().map(|r| r.seconds).sum();
    println!(
        "Trained {} epochs in {total:.2} s ({:.2} s per epoch, evaluation excluded)",
        history.len(),
        total / history.len().max(1) as f64
    );
    Ok(history)
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
