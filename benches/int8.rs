//! int8 against f32, one sample at a time: the MNIST MLP quantized by TensorFlow Lite's
//! converter (`tests/fixtures/int8/mlp_int8.tflite`, run through `staticnn::quant`'s
//! kernels) and the same trained MLP in f32 (`examples/embedded/mnist.safetensors`, the
//! generated `forward`), on the same test image, in one run. Run with
//! `cargo bench --features bench --bench int8`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use staticnn::io::tflite::{self, TensorInfo};
use staticnn::prelude::*;
use staticnn::quant::kernels::fully_connected;
use staticnn::quant::{FusedActivation, OutputRange, QuantParams, Requantize, channel_multipliers};
use staticnn::{Dataset, Split};

staticnn::model! {
    #[model(weights = "examples/embedded/mnist.safetensors")]
    pub struct Mnist { input(784), dense(128), relu, dense(10) }
}

static F32: Mnist = Mnist::TRAINED;

/// One quantized dense layer as the int8 file holds it, in the kernel's terms.
struct Layer {
    weight: Vec<i8>,
    bias: Vec<i32>,
    requantize: Vec<Requantize>,
    input_zero_point: i32,
    range: OutputRange,
}

fn params(t: &TensorInfo) -> QuantParams {
    let q = t.quantization.as_ref().expect("quantized");
    QuantParams { scale: q.scale[0], zero_point: q.zero_point[0] as i32 }
}

/// The two `FULLY_CONNECTED` layers of the int8 MLP (the first with its fused ReLU).
fn int8_mlp() -> (QuantParams, [Layer; 2]) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/int8/mlp_int8.tflite");
    let graph = tflite::read(&std::fs::read(path).expect("committed")).expect("valid");
    let layer = |k: usize, activation| {
        let op = &graph.operators[k];
        let t = |i: usize| &graph.tensors[op.inputs[i].expect("present")];
        let out = &graph.tensors[op.outputs[0]];
        let (w, b) = (t(1), t(2));
        let scales = &w.quantization.as_ref().expect("quantized").scale;
        let mut requantize = vec![Requantize::default(); scales.len()];
        channel_multipliers(params(t(0)).scale, scales, params(out).scale, &mut requantize);
        Layer {
            // TFLite's [O, I] row-major as the kernel's column-major [I, O].
            weight: {
                let (o, i, data) = (w.shape[0], w.shape[1], w.data.as_ref().expect("constant"));
                (0..o * i).map(|k| data[(k % o) * i + k / o] as i8).collect()
            },
            bias: b
                .data
                .as_ref()
                .expect("constant")
                .chunks_exact(4)
                .map(|v| i32::from_le_bytes([v[0], v[1], v[2], v[3]]))
                .collect(),
            requantize,
            input_zero_point: params(t(0)).zero_point,
            range: OutputRange::new(params(out), activation),
        }
    };
    let input = params(&graph.tensors[graph.inputs[0]]);
    (input, [layer(0, FusedActivation::Relu), layer(1, FusedActivation::None)])
}

fn forward_int8(layers: &[Layer; 2], x: &[i8; 784]) -> [i8; 10] {
    let (mut hidden, mut out) = ([0i8; 128], [0i8; 10]);
    let [a, b] = layers;
    fully_connected(x, a.input_zero_point, &a.weight, &a.bias, &a.requantize, a.range, &mut hidden);
    fully_connected(&hidden, b.input_zero_point, &b.weight, &b.bias, &b.requantize, b.range, &mut out);
    out
}

fn batch_one(c: &mut Criterion) {
    let data =
        Dataset::mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"), Split::Test).expect("MNIST");
    let image = data.image(0);
    let x = SVector::<f32, 784>::from_column_slice(image);
    let (input, layers) = int8_mlp();
    let q: [i8; 784] = core::array::from_fn(|i| input.quantize(image[i]).clamp(-128, 127) as i8);
    // The two agree on the class of this image before anything is timed.
    let f32_class = F32.forward(&x).argmax().0;
    let int8 = forward_int8(&layers, &q);
    let int8_class = (0..10).max_by_key(|&i| (int8[i], core::cmp::Reverse(i))).unwrap_or(0);
    assert_eq!(f32_class, int8_class);
    let mut group = c.benchmark_group("mnist_mlp_batch1");
    group.bench_function("f32", |b| b.iter(|| F32.forward(black_box(&x))));
    group.bench_function("int8", |b| b.iter(|| forward_int8(&layers, black_box(&q))));
    group.finish();
}

criterion_group!(benches, batch_one);
criterion_main!(benches);
