//! The int8 kernels of `staticnn::quant` reproduce TensorFlow Lite's reference int8 kernels
//! bit for bit: the four fully int8 MLPerf Tiny networks (AD: fully connected; IC, ResNet-8:
//! convolutions, residual additions, average pooling, softmax; KWS, DS-CNN, and VWW,
//! MobileNetV1: depthwise-separable convolutions) run on 100 seeded int8 inputs each, and
//! every output byte must equal what `tf.lite.Interpreter` with `BUILTIN_REF` produced
//! (`tests/fixtures/mlperf_tiny/generate_int8.py`, outputs committed).
//!
//! The graph is walked by `tests/common/tflite_int8.rs`, operator by operator, with each
//! tensor's quantization and weights read from the `.tflite` file and moved from TFLite's
//! NHWC layouts to this library's; the arithmetic is all the library's.

use std::path::{Path, PathBuf};

use staticnn::io::tflite::{self, Graph};

#[path = "common/tflite_int8.rs"]
mod tflite_int8;

use tflite_int8::run;

/// The inputs of the fixtures.
const SAMPLES: usize = 100;
/// The inputs checked: all of them, or the first 20 in a debug build, whose naive loops are
/// slow (`.ci/run` runs this file in release too).
const COMPARED: usize = if cfg!(debug_assertions) { 20 } else { SAMPLES };

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn model(file: &str) -> Graph {
    let path: PathBuf = root().join("data/mlperf-tiny").join(file);
    let bytes = std::fs::read(&path).expect("the model is vendored");
    tflite::read(&bytes).expect("a valid model")
}

/// The inputs of `generate_int8.py`: xorshift32 from the network's seed, the top byte of
/// each new state, in NHWC order.
fn inputs(model_index: u32, len: usize) -> Vec<Vec<i8>> {
    let mut state = 0x9E37_79B9u32 ^ model_index.wrapping_mul(0x85EB_CA6B);
    (0..SAMPLES)
        .map(|_| {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state >> 24) as u8 as i8
                })
                .collect()
        })
        .collect()
}

// The four networks as `examples/mlperf_tiny/models.rs` declares them, baked as int8 from
// the converter's output for the int8 files (`tflite_import --int8-weights`, committed under
// `tests/fixtures/mlperf_tiny/`).
staticnn::model! {
    #[model(int8 = "fixtures/mlperf_tiny/ad_int8.safetensors")]
    pub struct Ad {
        input(640),
        dense(128), relu,
        dense(128), relu,
        dense(128), relu,
        dense(128), relu,
        dense(8), relu,
        dense(128), relu,
        dense(128), relu,
        dense(128), relu,
        dense(128), relu,
        dense(640),
    }
}

staticnn::model! {
    #[model(int8 = "fixtures/mlperf_tiny/ic_int8.safetensors")]
    pub struct Ic {
        input(3, 32, 32),
        conv2d(16, 3, padding = same), relu,
        residual {
            conv2d(16, 3, padding = same), relu,
            conv2d(16, 3, padding = same),
        },
        relu,
        residual {
            conv2d(32, 3, stride = 2, padding = same), relu,
            conv2d(32, 3, padding = same),
        } shortcut {
            conv2d(32, 1, stride = 2),
        },
        relu,
        residual {
            conv2d(64, 3, stride = 2, padding = same), relu,
            conv2d(64, 3, padding = same),
        } shortcut {
            conv2d(64, 1, stride = 2),
        },
        relu,
        avgpool(8),
        flatten,
        dense(10),
        softmax,
    }
}

staticnn::model! {
    #[model(int8 = "fixtures/mlperf_tiny/kws_int8.safetensors")]
    pub struct Kws {
        input(1, 49, 10),
        conv2d(64, (10, 4), stride = 2, padding = same), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        avgpool((25, 5)),
        flatten,
        dense(12),
        softmax,
    }
}

staticnn::model! {
    #[model(int8 = "fixtures/mlperf_tiny/vww_int8.safetensors")]
    pub struct Vww {
        input(3, 96, 96),
        conv2d(8, 3, stride = 2, padding = same), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(16, 1), relu,
        depthwise_conv2d(3, stride = 2, padding = same), relu,
        conv2d(32, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(32, 1), relu,
        depthwise_conv2d(3, stride = 2, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(64, 1), relu,
        depthwise_conv2d(3, stride = 2, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(128, 1), relu,
        depthwise_conv2d(3, stride = 2, padding = same), relu,
        conv2d(256, 1), relu,
        depthwise_conv2d(3, padding = same), relu,
        conv2d(256, 1), relu,
        avgpool(3),
        flatten,
        dense(2),
        softmax,
    }
}

/// An int8 input in TFLite's NHWC order as `c` channels in CHW order.
fn chw(x: &[i8], c: usize) -> Vec<i8> {
    let plane = x.len() / c;
    (0..x.len()).map(|k| x[(k % plane) * c + k / plane]).collect()
}

/// Runs each network's int8 forward pass on the fixtures' inputs: the graph walked operator
/// by operator, and the `forward_int8` the macro baked (its input in CHW order, `channels`
/// of them); both must give TFLite's every byte.
fn check(name: &str, model_index: u32, file: &str, channels: usize, baked: impl Fn(&[i8]) -> Vec<i8>) {
    let graph = model(file);
    let input_len: usize = graph.tensors[graph.inputs[0]].shape.iter().product();
    let expected = std::fs::read(root().join(format!("tests/fixtures/mlperf_tiny/{name}_int8_outputs.i8")))
        .expect("the fixture is committed");
    let outputs = expected.len() / SAMPLES;
    let mut differing = 0;
    for (s, x) in inputs(model_index, input_len).iter().enumerate().take(COMPARED) {
        let got = run(&graph, x);
        let want: Vec<i8> = expected[s * outputs..(s + 1) * outputs].iter().map(|&b| b as i8).collect();
        differing += got.iter().zip(&want).filter(|(a, b)| a != b).count();
        let from_baked = baked(&chw(x, channels));
        assert_eq!(from_baked.len(), want.len());
        differing += from_baked.iter().zip(&want).filter(|(a, b)| a != b).count();
        if s == 0 {
            println!(
                "{name}: sample 0 {:?} (TFLite {:?})",
                &got[..got.len().min(8)],
                &want[..want.len().min(8)]
            );
        }
    }
    println!(
        "{name}: {differing} of {} output bytes differ from TFLite's reference kernels",
        2 * COMPARED * outputs
    );
    assert_eq!(differing, 0, "{name}: {differing} output bytes differ");
}

#[test]
fn ad_int8_is_bit_exact() {
    check("ad", 0, "ad01_int8.tflite", 1, |x| Ad::forward_int8(x.try_into().expect("640")).to_vec());
}

#[test]
fn ic_int8_is_bit_exact() {
    check("ic", 1, "pretrainedResnet_quant.tflite", 3, |x| {
        Ic::forward_int8(x.try_into().expect("3×32×32")).to_vec()
    });
}

#[test]
fn kws_int8_is_bit_exact() {
    check("kws", 2, "kws_ref_model.tflite", 1, |x| Kws::forward_int8(x.try_into().expect("49×10")).to_vec());
}

#[test]
fn vww_int8_is_bit_exact() {
    check("vww", 3, "vww_96_int8.tflite", 3, |x| Vww::forward_int8(x.try_into().expect("3×96×96")).to_vec());
}

/// The converter reads the fully int8 files too, as the float models their dequantized
/// weights describe: the same declarations as the float files' (which
/// `tests/mlperf_tiny.rs` checks against TFLite), with as many weights.
#[test]
fn the_int8_files_import_as_the_float_declarations() {
    let pairs = [
        ("ad01_int8.tflite", "ad01_fp32.tflite"),
        ("pretrainedResnet_quant.tflite", "pretrainedResnet.tflite"),
        ("kws_ref_model.tflite", "kws_ref_model_float32.tflite"),
        ("vww_96_int8.tflite", "vww_96_float.tflite"),
    ];
    for (int8, float) in pairs {
        let path = |file: &str| root().join("data/mlperf-tiny").join(file);
        let quantized = tflite::import_file(path(int8)).expect("the int8 file imports");
        let reference = tflite::import_file(path(float)).expect("the float file imports");
        assert_eq!(quantized.declaration("Net"), reference.declaration("Net"), "{int8}");
        assert_eq!(quantized.parameter_count(), reference.parameter_count(), "{int8}");
        assert!(quantized.tensors.iter().flat_map(|t| &t.data).all(|v| v.is_finite()), "{int8}");
        assert!(reference.quantized.is_none(), "{float}: a float graph has no int8 parameters");
        check_int8_parameters(&quantized, int8);
    }
}

/// The converter's int8 parameters (`--int8-weights`) against the dequantized float weights
/// of the same import: each layer's `weight` times its channel's `weight_scale` is the float
/// weight, its `bias` times `input scale × weight scale` the float bias, and every layer
/// with weights has its output's scale and zero point.
fn check_int8_parameters(imported: &tflite::Imported, file: &str) {
    let q = imported.quantized.as_ref().expect("a fully int8 graph has int8 parameters");
    q.params("input").expect("the input's quantization");
    let mut layers = 0;
    for t in imported.tensors.iter().filter(|t| t.name.ends_with(".weight")) {
        let label = t.name.trim_end_matches(".weight");
        let weight = q.i8(&t.name, &t.shape).expect("an int8 weight of the float weight's shape");
        let scales = q.weight_scales(label, t.shape[0]).expect("its scales");
        let per_channel = t.data.len() / t.shape[0];
        for (k, (&w, &f)) in weight.iter().zip(&t.data).enumerate() {
            let scale = scales[(k / per_channel).min(scales.len() - 1)];
            assert_eq!((f64::from(w) * f64::from(scale)) as f32, f, "{file}: {} [{k}]", t.name);
        }
        q.i32(&format!("{label}.bias"), &[t.shape[0]]).expect("its int32 bias");
        q.params(label).expect("its output's quantization");
        layers += 1;
    }
    assert!(layers > 0, "{file}");
}
