//! The project's trained MNIST MLP and CNN, quantized to int8 by TensorFlow Lite's converter
//! (`tests/fixtures/int8/generate.py`: per-channel int8 weights, activations calibrated on
//! the first 1 000 training images), run through `staticnn::quant`'s kernels: bit for bit
//! TFLite's reference interpreter on the first 1 000 test images (the first 200 in a debug
//! build, whose naive loops are slow; `.ci/run` runs the file in release too), and (with
//! `--ignored`, in release) within 0.3 points of the f32 model's accuracy on all 10 000.

use std::path::Path;
use std::sync::Mutex;

use staticnn::data::{Dataset, Split};
use staticnn::io::tflite;
use staticnn::quant::{QuantParams, dot};

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

/// Serialises the tests that limit the kernels' path (a setting of the whole process).
static PATH_LIMIT: Mutex<()> = Mutex::new(());

/// Compares every output byte with TFLite's, on each path of the dense kernel this CPU has
/// (portable, AVX2, AVX-512 VNNI).
fn bit_exact(name: &str) {
    let model = Quantized::load(name);
    let test = Dataset::mnist(root().join("data/mnist"), Split::Test).expect("vendored");
    let expected =
        std::fs::read(root().join(format!("tests/fixtures/int8/{name}_int8_outputs.i8"))).expect("committed");
    let classes = expected.len() / CHECKED;
    let _limit = PATH_LIMIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for path in [dot::Path::Portable, dot::Path::ArmDsp, dot::Path::Avx2, dot::Path::Avx512Vnni] {
        if !path.is_available() {
            continue;
        }
        dot::limit_path(path);
        assert_eq!(dot::Path::current(), path);
        let mut differing = 0;
        for i in 0..COMPARED {
            let got = model.classify(test.image(i));
            let want = &expected[i * classes..(i + 1) * classes];
            differing += got.iter().zip(want).filter(|(a, b)| **a != **b as i8).count();
        }
        println!(
            "{name}, {path:?}: {differing} of {} output bytes differ from TFLite's reference interpreter",
            COMPARED * classes
        );
        assert_eq!(differing, 0, "{path:?}");
    }
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

/// The converter's int8 output: the MLP's int8 file imported as a quantized weights file
/// (the `model!` declaration's layer names), written, read back and run through the kernels
/// from that file alone: bit for bit TFLite's outputs again.
#[test]
fn the_quantized_weights_file_carries_the_whole_int8_model() {
    use staticnn::io::QuantizedWeights;
    use staticnn::io::tflite::QuantizedDense;
    use staticnn::quant::FusedActivation;

    let bytes = std::fs::read(root().join("tests/fixtures/int8/mlp_int8.tflite")).expect("committed");
    let imported = tflite::import(&tflite::read(&bytes).expect("valid")).expect("importable");
    let declaration = imported.declaration("Mlp");
    assert!(declaration.contains("dense(128), relu,\n        dense(10),"), "{declaration}");
    let quantized = imported.quantized.expect("a fully int8 graph has int8 parameters");
    let names: Vec<&str> = quantized.tensors.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.scale",
            "0.weight",
            "0.weight_scale",
            "0.zero_point",
            "2.bias",
            "2.scale",
            "2.weight",
            "2.weight_scale",
            "2.zero_point",
            "input.scale",
            "input.zero_point"
        ]
    );
    let dir = std::env::temp_dir().join(format!("staticnn-int8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("mlp_int8.safetensors");
    quantized.save(&path).expect("saved");
    let file = QuantizedWeights::load(&path).expect("read back");
    assert_eq!(file, quantized);
    std::fs::remove_dir_all(&dir).ok();

    let input = file.params("input").expect("input quantization");
    let hidden =
        QuantizedDense::from_weights(&file, "0", (784, 128), input, FusedActivation::Relu).expect("layer 0");
    let output = file.params("0").expect("layer 0's output");
    let logits =
        QuantizedDense::from_weights(&file, "2", (128, 10), output, FusedActivation::None).expect("layer 2");
    let test = Dataset::mnist(root().join("data/mnist"), Split::Test).expect("vendored");
    let expected = std::fs::read(root().join("tests/fixtures/int8/mlp_int8_outputs.i8")).expect("committed");
    let mut differing = 0;
    for i in 0..COMPARED {
        let x: Vec<i8> = test.image(i).iter().map(|&p| input.quantize(p).clamp(-128, 127) as i8).collect();
        let (mut h, mut y) = ([0i8; 128], [0i8; 10]);
        hidden.forward(&x, &mut h);
        logits.forward(&h, &mut y);
        differing += y.iter().zip(&expected[i * 10..]).filter(|(a, b)| **a != **b as i8).count();
    }
    assert_eq!(differing, 0);

    // Another model's file, or a damaged one, is an error naming the tensor.
    let error = QuantizedDense::from_weights(&file, "0", (784, 64), input, FusedActivation::Relu)
        .expect_err("wrong shape");
    assert!(
        error
            .to_string()
            .contains("`0.weight`: the file has shape [128, 784] but the model expects [64, 784]"),
        "{error}"
    );
    let error = QuantizedDense::from_weights(&file, "1", (128, 128), input, FusedActivation::None)
        .expect_err("no such layer");
    assert!(error.to_string().contains("tensor `1.weight` is missing"), "{error}");
    let mut damaged = file.clone();
    let (shape, _) = damaged.tensors["0.bias"].clone();
    damaged.insert("0.bias", shape, staticnn::io::QuantValues::F32(vec![0.0; 128]));
    let bytes = damaged.to_safetensors_bytes().expect("encodable");
    let error = QuantizedWeights::from_safetensors_bytes(&bytes).expect_err("an F32 bias");
    assert!(
        error.to_string().contains("`0.bias`: the file has dtype F32 but a quantized model expects I32"),
        "{error}"
    );
}
