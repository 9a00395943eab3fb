//! The MNIST CNN's speed at batch 32 (the model of `examples/mnist_cnn.rs`): the forward
//! pass, forward + backward, a whole training step, each convolution's passes on their own,
//! and the matrix products they make for one sample (`conv_products`, the shapes to tune the
//! kernels for). Run with `cargo bench --features bench --bench conv`; results are in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use staticnn::prelude::*;
use staticnn::{Batch, Dataset, Split};

staticnn::model! {
    pub struct MnistCnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu,
        maxpool(2),
        conv2d(32, 3, padding = 1), relu,
        maxpool(2),
        flatten,
        dense(128), relu,
        dense(10),
    }
}

const B: usize = 32;

fn setup() -> (Box<MnistCnn>, Box<Batch<f32, 784, B>>) {
    let data =
        Dataset::mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"), Split::Test).expect("MNIST");
    let mut batch = Batch::zeroed_box();
    let indices: Vec<usize> = (0..B).collect();
    data.fill_batch(&indices, &mut batch).expect("batch");
    (MnistCnn::new_boxed(Init::PyTorch, 1), batch)
}

fn whole_model(c: &mut Criterion) {
    let (mut model, batch) = setup();
    let mut cache = MnistCnn::zeroed_cache::<B>();
    let mut grads = MnistCnn::zeroed_box();
    // The real loss gradient, so that its sparsity after max pooling is realistic.
    let mut grad_out = staticnn::zeroed_box::<SMatrix<f32, 10, B>>();
    let logits = model.forward_train(&batch.x, &mut cache);
    SoftmaxCrossEntropy.loss_and_grad(logits, &batch.labels, B, &mut grad_out).expect("labels");

    let mut group = c.benchmark_group("cnn_b32");
    group.throughput(criterion::Throughput::Elements(B as u64));
    group.bench_function("forward", |b| b.iter(|| model.forward_train(black_box(&batch.x), &mut cache)[0]));
    group.bench_function("forward_backward", |b| {
        b.iter(|| {
            model.forward_train(black_box(&batch.x), &mut cache);
            model.backward_params(&batch.x, &mut cache, &grad_out, &mut grads);
        })
    });
    let mut adam = Adam::new(AdamConfig::with_lr(1e-3));
    let mut trainer = MnistCnn::trainer::<B>();
    group.bench_function("train_step", |b| {
        b.iter(|| {
            trainer
                .step(&mut model, &mut adam, &SoftmaxCrossEntropy, &batch.x, &batch.labels, B)
                .expect("step")
        })
    });
    group.finish();

    // Each convolution on its own, on the activations the model really produces.
    model.forward_train(&batch.x, &mut cache);
    model.backward(&batch.x, &mut cache, &grad_out, &mut grads);
    let mut group = c.benchmark_group("conv_b32");
    group.throughput(criterion::Throughput::Elements(B as u64));
    group.bench_function("conv1_forward", |b| {
        b.iter(|| model.layer0.forward(black_box(&batch.x), &mut cache.layer0_out, &mut cache.layer0_scratch))
    });
    group.bench_function("conv1_backward_params", |b| {
        b.iter(|| {
            model.layer0.backward(
                &batch.x,
                &cache.layer0_out,
                &cache.layer0_grad,
                None,
                &mut grads.layer0,
                &mut cache.layer0_scratch,
            )
        })
    });
    group.bench_function("conv2_forward", |b| {
        b.iter(|| {
            model.layer3.forward(
                black_box(&cache.layer2_out),
                &mut cache.layer3_out,
                &mut cache.layer3_scratch,
            )
        })
    });
    group.bench_function("conv2_backward", |b| {
        b.iter(|| {
            model.layer3.backward(
                &cache.layer2_out,
                &cache.layer3_out,
                &cache.layer3_grad,
                Some(&mut cache.layer2_grad),
                &mut grads.layer3,
                &mut cache.layer3_scratch,
            )
        })
    });
    group.finish();
}

/// One sample's products, on the model's real activations and gradients: `M×K×N` is
/// `C (M × N) += A (M × K) · B (K × N)`.
fn products(c: &mut Criterion) {
    use staticnn::kernels::{matmul, matmul_add_nt, matmul_tn};
    let (model, batch) = setup();
    let mut cache = MnistCnn::zeroed_cache::<B>();
    let mut grads = MnistCnn::zeroed_box();
    let mut grad_out = staticnn::zeroed_box::<SMatrix<f32, 10, B>>();
    let logits = model.forward_train(&batch.x, &mut cache);
    SoftmaxCrossEntropy.loss_and_grad(logits, &batch.labels, B, &mut grad_out).expect("labels");
    model.backward(&batch.x, &mut cache, &grad_out, &mut grads);
    // im2col of sample 0 for both convolutions, and the per-sample views of the gradients.
    let cols1 = im2col::<784, 9>(|l, k| pixel(&batch.x, l, k));
    let cols2 = im2col::<196, 144>(|l, k| {
        let (c, i, j) = (k / 9, k / 3 % 3, k % 3);
        let (h, w) = ((l / 14 + i) as isize - 1, (l % 14 + j) as isize - 1);
        if (0..14).contains(&h) && (0..14).contains(&w) {
            cache.layer2_out[(c * 196 + h as usize * 14 + w as usize, 0)]
        } else {
            0.0
        }
    });
    let d1 = SMatrix::<f32, 784, 16>::from_column_slice(&cache.layer0_grad.as_slice()[..12544]);
    let d2 = SMatrix::<f32, 196, 32>::from_column_slice(&cache.layer3_grad.as_slice()[..6272]);
    let (d1t, d2t) = (d1.transpose(), d2.transpose());
    let w1 = model.layer0.weight;
    let w2 = model.layer3.weight;

    let mut group = c.benchmark_group("conv_products");
    let mut y1 = Box::new(SMatrix::<f32, 784, 16>::zeros());
    group.bench_function("conv1_fwd_784x9x16", |b| b.iter(|| matmul(black_box(&cols1), &w1, &mut y1, true)));
    let mut y2 = Box::new(SMatrix::<f32, 196, 32>::zeros());
    group
        .bench_function("conv2_fwd_196x144x32", |b| b.iter(|| matmul(black_box(&cols2), &w2, &mut y2, true)));
    let mut dw1 = Box::new(SMatrix::<f32, 16, 9>::zeros());
    group.bench_function("conv1_dw_16x784x9", |b| b.iter(|| matmul(black_box(&d1t), &cols1, &mut dw1, true)));
    let mut dw2 = Box::new(SMatrix::<f32, 32, 144>::zeros());
    group.bench_function("conv2_dw_32x196x144", |b| {
        b.iter(|| matmul(black_box(&d2t), &cols2, &mut dw2, true))
    });
    let mut dcols2 = Box::new(SMatrix::<f32, 196, 144>::zeros());
    group.bench_function("conv2_dcols_196x32x144_nt", |b| {
        b.iter(|| matmul_add_nt(black_box(&d2), &w2, &mut dcols2))
    });
    // The dense layer after `flatten`, for the whole batch of 32: its input gradient.
    let mut dx = staticnn::zeroed_box::<SMatrix<f32, 1568, B>>();
    group.bench_function("dense1_dx_b32_1568x128x32_tn", |b| {
        b.iter(|| matmul_tn(black_box(&model.layer7.weight), &cache.layer7_grad, &mut dx))
    });
    group.finish();
}

/// An `L × K` matrix from its elements.
fn im2col<const L: usize, const K: usize>(f: impl Fn(usize, usize) -> f32) -> Box<SMatrix<f32, L, K>> {
    let mut m = staticnn::zeroed_box::<SMatrix<f32, L, K>>();
    for k in 0..K {
        for l in 0..L {
            m[(l, k)] = f(l, k);
        }
    }
    m
}

/// Element `(l, k)` of the first convolution's im2col matrix (3×3 kernel, padding 1) of
/// sample 0.
fn pixel(x: &SMatrix<f32, 784, B>, l: usize, k: usize) -> f32 {
    let (i, j) = (k / 3, k % 3);
    let (h, w) = ((l / 28 + i) as isize - 1, (l % 28 + j) as isize - 1);
    if (0..28).contains(&h) && (0..28).contains(&w) { x[(h as usize * 28 + w as usize, 0)] } else { 0.0 }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = whole_model, products
}
criterion_main!(benches);
