//! The MLP's speed: single-sample and batched inference, one training step, and a tiny
//! model on each side of the unrolling threshold. Run with `cargo bench --bench mlp`.
//! Whole-epoch timings (with 1 and 2 threads) are in `examples/bench_epoch.rs`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use staticnn::prelude::*;
use staticnn::{Batch, Dataset, Split, Trainer};

staticnn::model! {
    pub struct Mnist { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    pub struct Tiny { input(2), dense(4), tanh, dense(1) }
}

fn test_set() -> Dataset {
    Dataset::mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"), Split::Test, 784, 10).expect("MNIST")
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
    let mut trainer = Trainer::<Mnist, 784, 10, B>::new();
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
    let mut params = Mnist::new_boxed(Init::GlorotUniform, 1);
    let mut adam = Adam::new(AdamConfig::default());
    c.bench_function("parts/adam_step", |b| b.iter(|| adam.step(&mut *params, black_box(&*grads))));
    c.bench_function("parts/zero_grads", |b| b.iter(|| grads.fill_zero()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = inference, training
}
criterion_main!(benches);
