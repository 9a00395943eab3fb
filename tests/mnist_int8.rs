//! The project's trained MNIST MLP and CNN, quantized to int8 by TensorFlow Lite's converter
//! (`tests/fixtures/int8/generate.py`: per-channel int8 weights, activations calibrated on
//! the first 1 000 training images), run through `staticnn::quant`'s kernels: bit for bit
//! TFLite's reference interpreter on the first 1 000 test images (the first 200 in a debug
//! build, whose naive loops are slow; `.ci/run` runs the file in release too), and (with
//! `--ignored`, in release) within 0.3 points of the f32 model's accuracy on all 10 000.

use std::path::Path;

use staticnn::data::{Dataset, Split};
use staticnn::io::tflite;
use staticnn::quant::QuantParams;

#[path = "common/tflite_int8.rs"]
mod tflite_int8;

use tflite_int8::{params, run};

/// The images of the fixtures.
const CHECKED: usize = 1000;
/// The images checked: all of them, or 200 in a debug build.
const COMPARED: usize = if cfg!(debug_assertions) { 200 } else { CHECKED };
const MNIST_MEAN: f32 = 0.1307;
const MNIST_STD: f32 = 0.3081;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A quantized model of the fixtures, its input's quantization and how an image's pixels
/// (as `p / 255`) become its float input.
struct Quantized {
    graph: tflite::Graph,
    input: QuantParams,
    standardize: bool,
}

impl Quantized {
    fn load(name: &str) -> Self {
        let bytes =
            std::fs::read(root().join(format!("tests/fixtures/int8/{name}_int8.tflite"))).expect("committed");
        let graph = tflite::read(&bytes).expect("a valid model");
        let input = params(&graph.tensors[graph.inputs[0]]);
        Quantized { graph, input, standardize: name == "cnn" }
    }

    /// The int8 input of an image, quantized as the fixture script does:
    /// `clamp(round(x / scale) + zero_point)`, the division in `f32`.
    fn quantize(&self, image: &[f32]) -> Vec<i8> {
        image
            .iter()
            .map(|&p| {
                let x = if self.standardize { (p - MNIST_MEAN) / MNIST_STD } else { p };
                self.input.quantize(x).clamp(-128, 127) as i8
            })
            .collect()
    }

    fn classify(&self, image: &[f32]) -> Vec<i8> {
        run(&self.graph, &self.quantize(image))
    }
}

fn bit_exact(name: &str) {
    let model = Quantized::load(name);
    let test = Dataset::mnist(root().join("data/mnist"), Split::Test).expect("vendored");
    let expected =
        std::fs::read(root().join(format!("tests/fixtures/int8/{name}_int8_outputs.i8"))).expect("committed");
    let classes = expected.len() / CHECKED;
    let mut differing = 0;
    for i in 0..COMPARED {
        let got = model.classify(test.image(i));
        let want = &expected[i * classes..(i + 1) * classes];
        differing += got.iter().zip(want).filter(|(a, b)| **a != **b as i8).count();
    }
    println!(
        "{name}: {differing} of {} output bytes differ from TFLite's reference interpreter",
        expected.len()
    );
    assert_eq!(differing, 0);
}

#[test]
fn mnist_mlp_int8_is_bit_exact() {
    bit_exact("mlp");
}

#[test]
fn mnist_cnn_int8_is_bit_exact() {
    bit_exact("cnn");
}

staticnn::model! {
    #[model(weights = "examples/embedded/mnist.safetensors")]
    struct Mlp { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    #[model(weights = "examples/embedded/mnist_cnn.safetensors")]
    struct Cnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu, maxpool(2),
        conv2d(32, 3, padding = 1), relu, maxpool(2),
        flatten, dense(128), relu, dense(10),
    }
}

fn argmax<T: PartialOrd + Copy>(values: impl IntoIterator<Item = T>) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, v) in values.into_iter().enumerate() {
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// The int8 and f32 test accuracy of both models over all 10 000 test images (slow in a
/// debug build: `cargo test --release --test mnist_int8 -- --ignored`).
#[test]
#[ignore]
fn int8_accuracy_is_within_a_third_of_a_point_of_f32() {
    use staticnn::Model;
    let test = Dataset::mnist(root().join("data/mnist"), Split::Test).expect("vendored");
    static MLP: Mlp = Mlp::TRAINED;
    static CNN: Cnn = Cnn::TRAINED;
    let (mlp, cnn) = (Quantized::load("mlp"), Quantized::load("cnn"));
    let mut correct = [0usize; 4];
    for i in 0..test.len() {
        let (image, label) = (test.image(i), usize::from(test.label(i)));
        let x = staticnn::nalgebra::SVector::<f32, 784>::from_column_slice(image);
        let standardized = x.map(|p| (p - MNIST_MEAN) / MNIST_STD);
        correct[0] += usize::from(argmax(MLP.forward(&x).iter().copied()) == label);
        correct[1] += usize::from(argmax(mlp.classify(image)) == label);
        correct[2] += usize::from(argmax(CNN.forward(&standardized).iter().copied()) == label);
        correct[3] += usize::from(argmax(cnn.classify(image)) == label);
    }
    let accuracy = correct.map(|c| 100.0 * c as f64 / test.len() as f64);
    println!(
        "MLP: f32 {:.2} %, int8 {:.2} %; CNN: f32 {:.2} %, int8 {:.2} %",
        accuracy[0], accuracy[1], accuracy[2], accuracy[3]
    );
    assert!((accuracy[0] - accuracy[1]).abs() <= 0.3, "MLP: {accuracy:?}");
    assert!((accuracy[2] - accuracy[3]).abs() <= 0.3, "CNN: {accuracy:?}");
}
