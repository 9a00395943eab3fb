//! Post-training quantization end to end: the trained MNIST MLP and CNN calibrated on 1 000
//! training images and quantized by `staticnn::quant::ptq` (`examples/mnist_quantize.rs`
//! wrote the committed `tests/fixtures/int8/{mlp,cnn}_ptq.safetensors`), baked by
//! `#[model(int8 = "…")]`, classify the test set within 0.3 points of the f32 models (all
//! 10 000 images in release, the first 2 000 in a debug build); and quantizing again gives
//! the committed files.

use std::path::Path;

use staticnn::data::{Dataset, Split};
use staticnn::io::{QuantValues, QuantizedWeights};
use staticnn::prelude::*;
use staticnn::quant::ptq::{Calibrator, Point, Range};

const MNIST_MEAN: f32 = 0.1307;
const MNIST_STD: f32 = 0.3081;
const CALIBRATION: usize = 1000;
const EVALUATED: usize = if cfg!(debug_assertions) { 2000 } else { 10_000 };

staticnn::model! {
    #[model(weights = "../examples/embedded/mnist.safetensors", int8 = "fixtures/int8/mlp_ptq.safetensors")]
    struct Mlp { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    #[model(weights = "../examples/embedded/mnist_cnn.safetensors", int8 = "fixtures/int8/cnn_ptq.safetensors")]
    struct Cnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu, maxpool(2),
        conv2d(32, 3, padding = 1), relu, maxpool(2),
        flatten, dense(128), relu, dense(10),
    }
}

static MLP: Mlp = Mlp::TRAINED;
static CNN: Cnn = Cnn::TRAINED;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn data(split: Split) -> Dataset {
    Dataset::mnist(root().join("data/mnist"), split).expect("vendored")
}

fn standardized(image: &[f32]) -> Vec<f32> {
    image.iter().map(|&p| (p - MNIST_MEAN) / MNIST_STD).collect()
}

fn argmax<T: PartialOrd + Copy>(values: &[T]) -> usize {
    (0..values.len()).fold(0, |best, k| if values[k] > values[best] { k } else { best })
}

/// The accuracies (in %) of the f32 and int8 classifiers on the evaluated test images.
fn accuracies(f32_class: impl Fn(&[f32]) -> usize, int8_class: impl Fn(&[f32]) -> usize) -> (f64, f64) {
    let test = data(Split::Test);
    let (mut f, mut q) = (0, 0);
    for i in 0..EVALUATED {
        let label = usize::from(test.label(i));
        f += usize::from(f32_class(test.image(i)) == label);
        q += usize::from(int8_class(test.image(i)) == label);
    }
    (100.0 * f as f64 / EVALUATED as f64, 100.0 * q as f64 / EVALUATED as f64)
}

#[test]
fn the_quantized_mlp_keeps_its_accuracy() {
    let (f32_accuracy, int8_accuracy) = accuracies(
        |image| argmax(MLP.forward(&SVector::from_column_slice(image)).as_slice()),
        |image| argmax(&Mlp::forward_int8(&std::array::from_fn(|i| Mlp::INT8_INPUT.quantize_i8(image[i])))),
    );
    println!("MLP on {EVALUATED} test images: f32 {f32_accuracy:.2} %, int8 {int8_accuracy:.2} %");
    assert!((f32_accuracy - int8_accuracy).abs() <= 0.3, "f32 {f32_accuracy} %, int8 {int8_accuracy} %");
}

#[test]
fn the_quantized_cnn_keeps_its_accuracy() {
    let (f32_accuracy, int8_accuracy) = accuracies(
        |image| argmax(CNN.forward(&SVector::from_column_slice(&standardized(image))).as_slice()),
        |image| {
            let x = standardized(image);
            argmax(&Cnn::forward_int8(&std::array::from_fn(|i| Cnn::INT8_INPUT.quantize_i8(x[i]))))
        },
    );
    println!("CNN on {EVALUATED} test images: f32 {f32_accuracy:.2} %, int8 {int8_accuracy:.2} %");
    assert!((f32_accuracy - int8_accuracy).abs() <= 0.3, "f32 {f32_accuracy} %, int8 {int8_accuracy} %");
}

/// Quantizing again gives the committed file: the same int8 weights, and scales, zero
/// points and biases within what a last-bit difference in an f32 forward pass (another
/// CPU's kernels) can move.
fn same_as_committed(quantized: &QuantizedWeights, file: &str) {
    let committed = QuantizedWeights::load(root().join("tests/fixtures/int8").join(file)).expect("committed");
    assert_eq!(
        quantized.tensors.keys().collect::<Vec<_>>(),
        committed.tensors.keys().collect::<Vec<_>>(),
        "{file}"
    );
    for (name, (shape, values)) in &quantized.tensors {
        let (committed_shape, committed_values) = &committed.tensors[name];
        assert_eq!(shape, committed_shape, "{file}: {name}");
        match (values, committed_values) {
            (QuantValues::I8(a), QuantValues::I8(b)) => assert_eq!(a, b, "{file}: {name}"),
            (QuantValues::I32(a), QuantValues::I32(b)) => {
                for (x, y) in a.iter().zip(b) {
                    assert!((x - y).abs() <= 1 + y.abs() / 100_000, "{file}: {name}: {x} against {y}");
                }
            }
            (QuantValues::F32(a), QuantValues::F32(b)) => {
                for (x, y) in a.iter().zip(b) {
                    assert!((x - y).abs() <= 1e-5 * y.abs(), "{file}: {name}: {x} against {y}");
                }
            }
            _ => panic!("{file}: {name}: another dtype"),
        }
    }
}

#[test]
fn quantizing_again_gives_the_committed_files() {
    let train = data(Split::Train);
    let mut calibrator = Calibrator::new(Range::MinMax);
    for i in 0..CALIBRATION {
        MLP.visit_int8_points(&SVector::from_column_slice(train.image(i)), &mut |p| calibrator.observe(p));
    }
    same_as_committed(&calibrator.quantize(&MLP).expect("quantizable"), "mlp_ptq.safetensors");
    let mut calibrator = Calibrator::new(Range::MinMax);
    for i in 0..CALIBRATION {
        let x = SVector::from_column_slice(&standardized(train.image(i)));
        CNN.visit_int8_points(&x, &mut |p| calibrator.observe(p));
    }
    same_as_committed(&calibrator.quantize(&CNN).expect("quantizable"), "cnn_ptq.safetensors");
}

/// The points an MLP shows, with the points their inputs come from, and the ranges a
/// percentile takes inside the extremes.
#[test]
fn points_and_ranges() {
    let train = data(Split::Train);
    let mut seen = Vec::new();
    let x = SVector::from_column_slice(train.image(0));
    MLP.visit_int8_points(&x, &mut |p: Point<'_, f32>| {
        seen.push((p.label.to_string(), p.input.to_string(), p.values.len()))
    });
    let expected = [("input", "", 784), ("0", "input", 128), ("2", "0", 10)];
    assert_eq!(seen, expected.map(|(l, i, n)| (l.to_string(), i.to_string(), n)));
    // The hidden layer's values are after its ReLU (folded into its int8 clamp).
    MLP.visit_int8_points(&x, &mut |p| {
        if p.label == "0" {
            assert!(p.values.iter().all(|&v| v >= 0.0));
        }
    });
    let (mut extremes, mut percentile) =
        (Calibrator::new(Range::MinMax), Calibrator::new(Range::Percentile(99.0)));
    for i in 0..200 {
        let x = SVector::from_column_slice(train.image(i));
        MLP.visit_int8_points(&x, &mut |p| {
            extremes.observe(p);
            percentile.observe(p);
        });
    }
    let ((lo, hi), (plo, phi)) = (extremes.range("2").expect("seen"), percentile.range("2").expect("seen"));
    assert!(lo <= plo && plo < phi && phi <= hi && (plo > lo || phi < hi), "{lo}..{hi} against {plo}..{phi}");
    assert!(extremes.range("no such point").is_none());
    let error = Calibrator::new(Range::MinMax).quantize(&MLP).expect_err("nothing observed");
    assert!(error.to_string().contains("no calibration values were observed at point `input`"), "{error}");
}

staticnn::model! {
    /// A residual block, a clamp that is not folded (after a pool) and a softmax head.
    struct Residual {
        input(2, 6, 6),
        conv2d(4, 3, padding = 1), relu,
        residual { conv2d(4, 3, padding = 1), relu6, conv2d(4, 3, padding = 1) },
        relu, maxpool(2), relu,
        flatten, dense(3), softmax,
    }
}

/// Every point of a model with a residual block: each layer's input point, the addition's
/// own point, the head's fixed quantization and the weights of every layer that has them.
#[test]
fn residual_models_quantize() {
    use rand::SeedableRng;
    let mut model = Residual::zeroed_box();
    model.initialize(staticnn::Init::PyTorch, &mut rand::rngs::StdRng::seed_from_u64(1));
    let mut calibrator = Calibrator::new(Range::MinMax);
    let mut seen = Vec::new();
    for s in 0..20 {
        let x = SVector::from_fn(|i, _| ((i * 7 + s * 3) % 11) as f32 / 5.0 - 1.0);
        model.visit_int8_points(&x, &mut |p| {
            if s == 0 {
                seen.push(format!("{} <- {}", p.label, p.input));
            }
            calibrator.observe(p);
        });
    }
    assert_eq!(seen, ["input <- ", "0 <- input", "2.0 <- 0", "2.2 <- 2.0", "2 <- 0", "7 <- 2", "8 <- 7"]);
    let quantized = calibrator.quantize(&*model).expect("quantizable");
    for label in ["0", "2.0", "2.2", "7"] {
        assert!(quantized.tensors.contains_key(&format!("{label}.weight")), "{label}");
    }
    assert_eq!(
        quantized.params("8").expect("the head"),
        staticnn::quant::QuantParams { scale: 1.0 / 256.0, zero_point: -128 }
    );
    // The addition's output, after the ReLU folded into it, is not negative: its zero point is −128.
    assert_eq!(quantized.params("2").expect("the addition").zero_point, -128);
}
