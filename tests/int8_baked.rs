//! int8 models baked by the macro (`#[model(int8 = "…")]`): the MNIST MLP and CNN quantized by
//! TensorFlow Lite's converter, their int8 parameters written by this library's converter
//! (`cargo run --example tflite_import -- MODEL.tflite --int8-weights OUT.safetensors`, the
//! files committed beside the `.tflite` ones), declared with `model!` and run through the
//! generated `forward_int8`: every output byte equals TFLite's reference interpreter's on
//! the first 1 000 test images (200 in a debug build).

use std::path::Path;

use staticnn::data::{Dataset, Split};
use staticnn::io::tflite;

const CHECKED: usize = 1000;
const COMPARED: usize = if cfg!(debug_assertions) { 200 } else { CHECKED };
const MNIST_MEAN: f32 = 0.1307;
const MNIST_STD: f32 = 0.3081;

staticnn::model! {
    #[model(int8 = "fixtures/int8/mlp_int8.safetensors")]
    struct Mlp { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    #[model(int8 = "fixtures/int8/cnn_int8.safetensors")]
    struct Cnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = same), relu, maxpool(2),
        conv2d(32, 3, padding = same), relu, maxpool(2),
        flatten, dense(128), relu, dense(10),
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every output byte of `forward` on the test images (each pixel `p / 255`, standardized
/// for the CNN, quantized as the model's input) against TFLite's.
fn bit_exact<const N: usize>(name: &str, standardize: bool, forward: impl Fn(&[f32]) -> [i8; N]) {
    let test = Dataset::mnist(root().join("data/mnist"), Split::Test).expect("vendored");
    let expected =
        std::fs::read(root().join(format!("tests/fixtures/int8/{name}_int8_outputs.i8"))).expect("committed");
    assert_eq!(expected.len(), CHECKED * N);
    let mut differing = 0;
    for i in 0..COMPARED {
        let image: Vec<f32> = test
            .image(i)
            .iter()
            .map(|&p| if standardize { (p - MNIST_MEAN) / MNIST_STD } else { p })
            .collect();
        let got = forward(&image);
        differing += got.iter().zip(&expected[i * N..]).filter(|(a, b)| **a != **b as i8).count();
    }
    assert_eq!(differing, 0, "{name}: {differing} output bytes differ from TFLite's");
}

#[test]
fn the_baked_int8_mlp_is_bit_exact() {
    bit_exact("mlp", false, |image| {
        let x: [i8; 784] = std::array::from_fn(|i| Mlp::INT8_INPUT.quantize_i8(image[i]));
        Mlp::forward_int8(&x)
    });
}

#[test]
fn the_baked_int8_cnn_is_bit_exact() {
    bit_exact("cnn", true, |image| {
        let x: [i8; 784] = std::array::from_fn(|i| Cnn::INT8_INPUT.quantize_i8(image[i]));
        Cnn::forward_int8(&x)
    });
}

/// The committed int8 weight files are what the converter writes for the committed
/// `.tflite` files today.
#[test]
fn the_int8_weight_files_are_the_converters_output() {
    for name in ["mlp", "cnn"] {
        let dir = root().join("tests/fixtures/int8");
        let imported = tflite::import_file(dir.join(format!("{name}_int8.tflite"))).expect("importable");
        let written = imported.quantized.expect("fully int8").to_safetensors_bytes().expect("encodable");
        let committed = std::fs::read(dir.join(format!("{name}_int8.safetensors"))).expect("committed");
        assert!(written == committed, "{name}: regenerate with `cargo run --example tflite_import`");
    }
}
