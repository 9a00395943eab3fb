//! Interoperability with PyTorch's conventions: weights written by numpy/safetensors in
//! PyTorch's state-dict layout load into a `model!` model and give numpy's logits and
//! loss; weights we save load back unchanged.
//!
//! The fixtures come from `tests/fixtures/make_interop.py` (numpy + safetensors only);
//! see that script for what they hold and how to regenerate them.

use std::path::{Path, PathBuf};

use staticnn::io::{WeightsError, load_safetensors, save_safetensors};
use staticnn::nalgebra::{SMatrix, SVector};
use staticnn::{Loss, Model, Parameters, SoftmaxCrossEntropy};

staticnn::model! {
    pub struct Mlp { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    #[model(scalar = f64)]
    pub struct Mlp64 { input(784), dense(128), relu, dense(10) }
}

const BATCH: usize = 4;
const INPUTS: usize = 784;
const CLASSES: usize = 10;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

/// What numpy computed, from `mlp_expected.json`.
struct Expected {
    /// `[BATCH, INPUTS]` integers 0..=255; the input is `pixel / 255`.
    pixels: Vec<f64>,
    labels: [u32; BATCH],
    /// `[BATCH, CLASSES]`, row-major, computed in float64 from the F64 weights.
    logits_f64: Vec<f64>,
    loss_f64: f64,
    /// `[BATCH, CLASSES]`, row-major, computed in float32 from the F32 weights.
    logits_f32: Vec<f64>,
    loss_f32: f64,
}

/// The numbers of the top-level `key` of the fixture JSON, flattened. The generator
/// writes one key per line, which is all this reader relies on.
fn json_numbers(json: &str, key: &str) -> Vec<f64> {
    let tag = format!("\"{key}\":");
    let start = json.find(&tag).unwrap_or_else(|| panic!("no `{key}` in the fixture")) + tag.len();
    let line = json[start..].lines().next().unwrap_or_default();
    line.split(|c: char| matches!(c, '[' | ']' | ',') || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or_else(|e| panic!("`{key}`: bad number {s:?}: {e}")))
        .collect()
}

fn expected() -> Expected {
    let path = fixture("mlp_expected.json");
    let json =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let pixels = json_numbers(&json, "pixels");
    assert_eq!(pixels.len(), BATCH * INPUTS);
    let labels: Vec<u32> = json_numbers(&json, "labels").iter().map(|&l| l as u32).collect();
    let scalar = |key| match json_numbers(&json, key)[..] {
        [x] => x,
        ref other => panic!("`{key}` should be one number, not {other:?}"),
    };
    let e = Expected {
        pixels,
        labels: labels.try_into().expect("BATCH labels"),
        logits_f64: json_numbers(&json, "logits_f64"),
        loss_f64: scalar("loss_f64"),
        logits_f32: json_numbers(&json, "logits_f32"),
        loss_f32: scalar("loss_f32"),
    };
    assert_eq!(e.logits_f64.len(), BATCH * CLASSES);
    assert_eq!(e.logits_f32.len(), BATCH * CLASSES);
    e
}

/// Sample `b` as f32 inputs, `pixel / 255` rounded as numpy's float32 division rounds.
fn input_f32(e: &Expected, b: usize) -> SVector<f32, INPUTS> {
    let row = &e.pixels[b * INPUTS..(b + 1) * INPUTS];
    SVector::from_iterator(row.iter().map(|&p| p as f32 / 255.0))
}

/// Sample `b` as f64 inputs.
fn input_f64(e: &Expected, b: usize) -> SVector<f64, INPUTS> {
    let row = &e.pixels[b * INPUTS..(b + 1) * INPUTS];
    SVector::from_iterator(row.iter().map(|&p| p / 255.0))
}

/// Asserts `|got - want| <= tol · max(1, |want|)`.
fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    let err = (got - want).abs();
    assert!(
        err <= tol * want.abs().max(1.0),
        "{what}: got {got:e}, numpy has {want:e} (difference {err:e}, tolerance {tol:e})"
    );
}

fn logits_f32(model: &Mlp, e: &Expected) -> SMatrix<f32, CLASSES, BATCH> {
    let columns: Vec<SVector<f32, CLASSES>> = (0..BATCH).map(|b| model.forward(&input_f32(e, b))).collect();
    SMatrix::from_columns(&columns)
}

fn logits_f64(model: &Mlp64, e: &Expected) -> SMatrix<f64, CLASSES, BATCH> {
    let columns: Vec<SVector<f64, CLASSES>> = (0..BATCH).map(|b| model.forward(&input_f64(e, b))).collect();
    SMatrix::from_columns(&columns)
}

/// A path in a fresh directory under the system's temporary directory.
fn temp_path(test: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("staticnn-interop-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join("mlp.safetensors");
    (dir, path)
}

#[test]
fn f64_pytorch_weights_give_numpy_logits_and_loss() {
    let e = expected();
    let mut model = Mlp64::zeroed_box();
    load_safetensors(&mut *model, fixture("mlp_f64.safetensors")).expect("load mlp_f64");
    let logits = logits_f64(&model, &e);
    for b in 0..BATCH {
        for c in 0..CLASSES {
            let want = e.logits_f64[b * CLASSES + c];
            assert_close(&format!("logit [{b}, {c}]"), logits[(c, b)], want, 1e-6);
        }
    }
    let loss =
        Loss::<f64, CLASSES>::loss(&SoftmaxCrossEntropy, &logits, &e.labels, BATCH).expect("labels in range");
    assert_close("loss", loss, e.loss_f64, 1e-6);
}

#[test]
fn f32_pytorch_weights_give_numpy_logits_and_loss() {
    let e = expected();
    let mut model = Mlp::zeroed_box();
    load_safetensors(&mut *model, fixture("mlp_f32.safetensors")).expect("load mlp_f32");
    let logits = logits_f32(&model, &e);
    for b in 0..BATCH {
        for c in 0..CLASSES {
            let got = f64::from(logits[(c, b)]);
            let what = format!("logit [{b}, {c}]");
            assert_close(&what, got, e.logits_f32[b * CLASSES + c], 1e-5);
            // The f32 model is also close to the exact (float64) answer.
            assert_close(&what, got, e.logits_f64[b * CLASSES + c], 1e-5);
        }
    }
    let loss =
        Loss::<f32, CLASSES>::loss(&SoftmaxCrossEntropy, &logits, &e.labels, BATCH).expect("labels in range");
    assert_close("loss", f64::from(loss), e.loss_f32, 1e-5);
    assert_close("loss", f64::from(loss), e.loss_f64, 1e-5);
}

#[test]
fn saved_weights_reload_to_identical_logits() {
    let e = expected();
    let (dir, path) = temp_path("f32");
    let mut model = Mlp::zeroed_box();
    load_safetensors(&mut *model, fixture("mlp_f32.safetensors")).expect("load mlp_f32");
    save_safetensors(&*model, &path).expect("save");
    let mut reloaded = Mlp::zeroed_box();
    load_safetensors(&mut *reloaded, &path).expect("reload");
    assert!(
        model.as_slice().iter().zip(reloaded.as_slice()).all(|(a, b)| a.to_bits() == b.to_bits()),
        "reloaded parameters differ"
    );
    let (before, after) = (logits_f32(&model, &e), logits_f32(&reloaded, &e));
    assert!(
        before.iter().zip(after.iter()).all(|(a, b)| a.to_bits() == b.to_bits()),
        "logits differ after a save and reload:\n{before}\n{after}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn saved_f64_weights_reload_to_identical_logits() {
    let e = expected();
    let (dir, path) = temp_path("f64");
    let mut model = Mlp64::zeroed_box();
    load_safetensors(&mut *model, fixture("mlp_f64.safetensors")).expect("load mlp_f64");
    save_safetensors(&*model, &path).expect("save");
    let mut reloaded = Mlp64::zeroed_box();
    load_safetensors(&mut *reloaded, &path).expect("reload");
    let (before, after) = (logits_f64(&model, &e), logits_f64(&reloaded, &e));
    assert!(
        before.iter().zip(after.iter()).all(|(a, b)| a.to_bits() == b.to_bits()),
        "logits differ after a save and reload:\n{before}\n{after}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn f64_weights_do_not_load_into_an_f32_model() {
    let mut model = Mlp::zeroed_box();
    let err = load_safetensors(&mut *model, fixture("mlp_f64.safetensors")).expect_err("dtype mismatch");
    assert!(matches!(err, WeightsError::DtypeMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("mlp_f64.safetensors"), "{message}");
    assert!(message.contains("dtype F64 but the model expects F32"), "{message}");
    assert!(model.as_slice().iter().all(|&x| x == 0.0), "the model was changed");
}
