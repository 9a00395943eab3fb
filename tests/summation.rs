//! Long sums stay accurate: the `f32` gradient of a large batch against the same
//! computation in `f64`. Bias gradients and the loss are sums over the batch, weight
//! gradients products whose inner dimension is the batch; all of them are summed in
//! blocks, so the error does not grow with the batch.

use staticnn::prelude::*;
use staticnn::{Batch, Dataset, Split};

staticnn::model! {
    /// The reference MLP.
    pub struct Mlp { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    /// The reference MLP in `f64`.
    #[model(scalar = f64)]
    pub struct Mlp64 { input(784), dense(128), relu, dense(10) }
}

staticnn::model! {
    /// A narrow MLP, cheap enough for a large batch in a debug build.
    pub struct Narrow { input(784), dense(16), relu, dense(10) }
}

staticnn::model! {
    /// The narrow MLP in `f64`.
    #[model(scalar = f64)]
    pub struct Narrow64 { input(784), dense(16), relu, dense(10) }
}

/// The loss and every tensor's gradient on the first `B` training images, in `f32` (model
/// `M`) and in `f64` (model `M64`, given the same weights); returns the loss's relative
/// error and, per tensor, the largest gradient error relative to the tensor's largest
/// gradient.
fn errors<M, M64, const B: usize>() -> (f64, Vec<(String, f64)>)
where
    M: Model<784, 10, Scalar = f32>,
    M64: Model<784, 10, Scalar = f64>,
{
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let data = Dataset::mnist(dir, Split::Train).expect("vendored MNIST");
    let mut batch = Batch::<f32, 784, B>::zeroed_box();
    let indices: Vec<usize> = (0..B).collect();
    data.fill_batch(&indices, &mut batch).unwrap();
    let mut batch64 = Batch::<f64, 784, B>::zeroed_box();
    data.fill_batch(&indices, &mut batch64).unwrap();

    let model = M::new_boxed(Init::GlorotUniform, 7);
    let mut model64 = M64::zeroed_box();
    for (w, &v) in model64.as_mut_slice().iter_mut().zip(model.as_slice()) {
        *w = f64::from(v);
    }

    let (mut cache, mut grads) = (M::zeroed_cache::<B>(), M::zeroed_box());
    let mut grad_out = staticnn::zeroed_box::<SMatrix<f32, 10, B>>();
    let out = model.forward_train(&batch.x, &mut cache);
    let loss = SoftmaxCrossEntropy.loss_and_grad(out, &batch.labels, B, &mut grad_out).unwrap();
    model.backward_params(&batch.x, &mut cache, &grad_out, &mut grads);

    let (mut cache64, mut grads64) = (M64::zeroed_cache::<B>(), M64::zeroed_box());
    let mut grad_out64 = staticnn::zeroed_box::<SMatrix<f64, 10, B>>();
    let out64 = model64.forward_train(&batch64.x, &mut cache64);
    let loss64 = SoftmaxCrossEntropy.loss_and_grad(out64, &batch64.labels, B, &mut grad_out64).unwrap();
    model64.backward_params(&batch64.x, &mut cache64, &grad_out64, &mut grads64);

    let mut exact = Vec::new();
    grads64.visit(&mut |t| exact.push((t.name.to_string(), t.data.to_vec())));
    let mut per_tensor = Vec::new();
    let mut k = 0;
    grads.visit(&mut |t| {
        let (name, want) = &exact[k];
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = t.data.iter().zip(want).fold(0.0f64, |m, (&g, &w)| m.max((f64::from(g) - w).abs()));
        per_tensor.push((name.clone(), worst / scale));
        k += 1;
    });
    ((f64::from(loss) - loss64).abs() / loss64.abs(), per_tensor)
}

fn check(loss: f64, per_tensor: &[(String, f64)], bar: f64) {
    println!("loss: {loss:.2e} relative; gradients: {per_tensor:?}");
    assert!(loss <= bar, "loss error {loss:e}");
    for (name, err) in per_tensor {
        assert!(*err <= bar, "`{name}`: gradient error {err:e} relative to f64");
    }
}

/// 16 384 samples: sums 16 times longer than a block of the products and 64 times longer
/// than a block of the bias sums.
#[test]
fn a_large_batch_keeps_the_accuracy_of_f32() {
    let (loss, per_tensor) = errors::<Narrow, Narrow64, 16_384>();
    check(loss, &per_tensor, 2e-6);
}

/// The whole training set as one batch, as full-batch training takes it (a minute in a
/// debug build: `cargo test --release --test summation -- --ignored`).
#[test]
#[ignore]
fn the_full_training_set_as_one_batch_keeps_the_accuracy_of_f32() {
    let (loss, per_tensor) = errors::<Mlp, Mlp64, 60_000>();
    check(loss, &per_tensor, 2e-6);
}
