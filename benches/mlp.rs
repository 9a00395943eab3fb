//! The MLP's speed: single-sample and batched inference, one training step, and a tiny
//! model on each side of the unrolling threshold. Run with `cargo bench --features bench --bench mlp`.
//! Whole-epoch timings (with 1 and 2 threads) are in `examples/bench_epoch.rs`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use staticnn::prelude::*;
use staticnn::{Batch, Dataset, Split};

staticnn::model! {
    pub struct Mnist { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    pub struct Tiny { input(2), dense(4), relu, dense(1) }
}

staticnn::model! {
    pub struct TinyTanh { input(2), dense(4), tanh, dense(1) }
}

// Single dense layers around the unrolling threshold (inputs × outputs multiply-adds).
staticnn::model! { pub struct D4x4 { input(4), dense(4) } }
staticnn::model! { pub struct D8x8 { input(8), dense(8) } }
staticnn::model! { pub struct D12x12 { input(12), dense(12) } }
staticnn::model! { pub struct D16x16 { input(16), dense(16) } }
staticnn::model! { pub struct D32x32 { input(32), dense(32) } }
staticnn::model! { pub struct D48x48 { input(48), dense(48) } }

fn unroll_side<M: Model<I, O, Scalar = f32>, const I: usize, const O: usize>(c: &mut Criterion, name: &str) {
    let model = M::new_boxed(Init::GlorotUniform, 1);
    let x = SVector::<f32, I>::from_fn(|i, _| i as f32 * 0.1 - 0.3);
    c.bench_function(&format!("unroll/{name}"), |b| b.iter(|| model.forward(black_box(&x))));
}

fn unrolling(c: &mut Criterion) {
    unroll_side::<D4x4, 4, 4>(c, "4x4");
    unroll_side::<D8x8, 8, 8>(c, "8x8");
    unroll_side::<D12x12, 12, 12>(c, "12x12");
    unroll_side::<D16x16, 16, 16>(c, "16x16");
    unroll_side::<D32x32, 32, 32>(c, "32x32");
    unroll_side::<D48x48, 48, 48>(c, "48x48");
}

fn test_set() -> Dataset {
    Dataset::mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"), Split::Test).expect("MNIST")
}

fn batch<const B: usize>(data: &Dataset) -> Box<Batch<f32, 784, B>> {
    let mut batch = Batch::zeroed_box();
    let indices: Vec<usize> = (0..B).collect();
    data.fill_batch(&indices, &mut batch).expect("batch");
    batch
}

fn inference(c: &mut Criterion) {
    let data = test_set();
    let model = Mnist::new_boxed(Init::GlorotUniform, 1);
    let x = SVector::<f32, 784>::from_column_slice(data.image(0));
    c.bench_function("forward_b1/mnist", |b| b.iter(|| model.forward(black_box(&x))));

    let tiny = Tiny::new_boxed(Init::GlorotUniform, 1);
    let xt = SVector::<f32, 2>::new(0.3, -0.7);
    c.bench_function("forward_b1/tiny_2_4_1", |b| b.iter(|| tiny.forward(black_box(&xt))));
    let tiny_tanh = TinyTanh::new_boxed(Init::GlorotUniform, 1);
    c.bench_function("forward_b1/tiny_2_4_1_tanh", |b| b.iter(|| tiny_tanh.forward(black_box(&xt))));

    let big = batch::<1000>(&data);
    let mut cache = Mnist::zeroed_cache::<1000>();
    let mut group = c.benchmark_group("forward_b1000");
    group.throughput(criterion::Throughput::Elements(1000));
    group.bench_function("mnist", |b| b.iter(|| model.forward_batch(black_box(&big.x), &mut cache)[0]));
    group.finish();
}

fn train_step<const B: usize>(c: &mut Criterion, data: &Dataset) {
    let mut model = Mnist::new_boxed(Init::GlorotUniform, 1);
    let mut adam = Adam::new(AdamConfig::default());
    let mut trainer = Mnist::trainer::<B>();
    let batch = batch::<B>(data);
    c.bench_function(&format!("train_step/b{B}"), |b| {
        b.iter(|| {
            trainer.step(&mut model, &mut adam, &SoftmaxCrossEntropy, &batch.x, &batch.labels, B).unwrap()
        })
    });
}

fn training(c: &mut Criterion) {
    let data = test_set();
    train_step::<32>(c, &data);
    train_step::<128>(c, &data);

    // The parts of a step, at batch 32.
    let model = Mnist::new_boxed(Init::GlorotUniform, 1);
    let mut grads = Mnist::zeroed_box();
    let mut cache = Mnist::zeroed_cache::<32>();
    let batch = batch::<32>(&data);
    let mut grad_out = staticnn::zeroed_box::<SMatrix<f32, 10, 32>>();
    grad_out.fill(0.01);
    c.bench_function("parts_b32/forward_train", |b| {
        b.iter(|| model.forward_train(black_box(&batch.x), &mut cache)[0])
    });
    c.bench_function("parts_b32/backward_params", |b| {
        b.iter(|| model.backward_params(black_box(&batch.x), &mut cache, &grad_out, &mut grads))
    });
    model.forward_train(&batch.x, &mut cache);
    let mut dx = staticnn::zeroed_box::<SMatrix<f32, 128, 32>>();
    c.bench_function("parts_b32/layer2_backward", |b| {
        b.iter(|| {
            model.layer2.backward(
                &cache.layer1_out,
                &cache.layer2_out,
                &grad_out,
                Some(&mut dx),
                &mut grads.layer2,
                &mut (),
            )
        })
    });
    c.bench_function("parts_b32/layer0_backward_params", |b| {
        b.iter(|| {
            model.layer0.backward(
                &batch.x,
                &cache.layer0_out,
                &cache.layer0_grad,
                None,
                &mut grads.layer0,
                &mut (),
            )
        })
    });
    let mut params = Mnist::new_boxed(Init::GlorotUniform, 1);
    let mut adam = Adam::new(AdamConfig::default());
    c.bench_function("parts/adam_step", |b| b.iter(|| adam.step(&mut *params, black_box(&*grads))));
    c.bench_function("parts/zero_grads", |b| b.iter(|| grads.fill_zero()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = inference, training, unrolling
}
criterion_main!(benches);
