//! int8 against f32, one sample at a time: the MNIST MLP quantized by TensorFlow Lite's
//! converter (`tests/fixtures/int8/mlp_int8.tflite`, run through `staticnn::quant`'s
//! kernels) and the same trained MLP in f32 (`examples/embedded/mnist.safetensors`, the
//! generated `forward`), on the same test image, in one run — int8 on each path of its dense
//! kernel this CPU has (portable, AVX2, AVX-512 VNNI). Run with
//! `cargo bench --features bench --bench int8`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use staticnn::io::tflite::{self, QuantizedDense};
use staticnn::prelude::*;
use staticnn::quant::{QuantParams, dot};
use staticnn::{Dataset, Split};

staticnn::model! {
    #[model(weights = "examples/embedded/mnist.safetensors")]
    pub struct Mnist { input(784), dense(128), relu, dense(10) }
}

static F32: Mnist = Mnist::TRAINED;

/// The input's quantization and the two `FULLY_CONNECTED` layers of the int8 MLP.
fn int8_mlp() -> (QuantParams, [QuantizedDense; 2]) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/int8/mlp_int8.tflite");
    let graph = tflite::read(&std::fs::read(path).expect("committed")).expect("valid");
    let layer = |k: usize| QuantizedDense::from_operator(&graph, &graph.operators[k]).expect("int8 dense");
    let input = graph.tensors[graph.inputs[0]].quant_params().expect("quantized");
    (input, [layer(0), layer(1)])
}

fn forward_int8(layers: &[QuantizedDense; 2], x: &[i8; 784]) -> [i8; 10] {
    let (mut hidden, mut out) = ([0i8; 128], [0i8; 10]);
    layers[0].forward(x, &mut hidden);
    layers[1].forward(&hidden, &mut out);
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
    // Each path of the int8 dense kernel this CPU has, the widest (the default) last.
    for path in [dot::Path::Portable, dot::Path::ArmDsp, dot::Path::Avx2, dot::Path::Avx512Vnni] {
        if path.is_available() {
            dot::limit_path(path);
            let name = format!("int8 {path:?}");
            group.bench_function(&name, |b| b.iter(|| forward_int8(&layers, black_box(&q))));
        }
    }
    group.finish();
}

criterion_group!(benches, batch_one);
criterion_main!(benches);
