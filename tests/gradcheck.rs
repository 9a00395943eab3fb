//! Finite-difference checks, in f64, of every backward pass: each loss on its own, then
//! whole generated models (parameter and input gradients). The layers on their own are
//! checked in `tests/gradcheck_layers.rs`.
//!
//! The error measure and step are those of `tests/common/gradcheck.rs`:
//! `|analytic − numeric| / max(|analytic| + |numeric|, 1e-7)`, central differences, h = 1e-5.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use staticnn::prelude::*;

#[path = "common/gradcheck.rs"]
mod gradcheck;

use gradcheck::{BAR, H, all_params, check_model, random, rel_err};

fn check_loss<L: Loss<f64, 5>>(loss: L, target: &L::Target<4>, len: usize, name: &str) {
    let mut rng = StdRng::seed_from_u64(2);
    let out = random::<5, 4>(&mut rng, 4.0);
    let mut grad = SMatrix::<f64, 5, 4>::zeros();
    let value = loss.loss_and_grad(&out, target, len, &mut grad).unwrap();
    assert!((value - loss.loss(&out, target, len).unwrap()).abs() < 1e-12);
    let mut worst: f64 = 0.0;
    for i in 0..out.len() {
        let (mut plus, mut minus) = (out, out);
        plus[i] += H;
        minus[i] -= H;
        let numeric =
            (loss.loss(&plus, target, len).unwrap() - loss.loss(&minus, target, len).unwrap()) / (2.0 * H);
        worst = worst.max(rel_err(grad[i], numeric));
        if i / 5 >= len {
            assert_eq!(grad[i], 0.0, "{name}: padding column got a gradient");
        }
    }
    println!("{name} (len {len}): worst relative error {worst:e}");
    assert!(worst <= BAR, "{name}: relative error {worst:e} exceeds {BAR:e}");
}

#[test]
fn losses_match_finite_differences() {
    let labels = [3u32, 0, 4, 1];
    check_loss(SoftmaxCrossEntropy, &labels, 4, "softmax cross-entropy");
    check_loss(SoftmaxCrossEntropy, &labels, 3, "softmax cross-entropy");
    let target = random::<5, 4>(&mut StdRng::seed_from_u64(3), 1.0);
    check_loss(MeanSquaredError, &target, 4, "mse");
    check_loss(MeanSquaredError, &target, 2, "mse");
}

#[test]
fn cross_entropy_is_stable_for_huge_logits() {
    let out = SMatrix::<f64, 3, 1>::from_column_slice(&[1000.0, -1000.0, 0.0]);
    let mut grad = SMatrix::zeros();
    let loss = SoftmaxCrossEntropy.loss_and_grad(&out, &[1], 1, &mut grad).unwrap();
    assert!((loss - 2000.0).abs() < 1e-9, "{loss}");
    assert!(grad.iter().all(|g| g.is_finite()));
    assert!(SoftmaxCrossEntropy.loss(&out, &[3], 1).is_err(), "label 3 of 3 classes must be rejected");
}

staticnn::model! {
    /// Every layer kind once, in f64.
    #[model(scalar = f64)]
    struct Small {
        input(5),
        dense(7), relu,
        dense(6), leaky_relu(0.1), relu6,
        dense(6), sigmoid,
        dense(4), tanh,
        dense(4), identity,
        dense(3),
    }
}

staticnn::model! {
    /// A softmax head: training differentiates the logits.
    #[model(scalar = f64)]
    struct Headed {
        input(4),
        first: dense(5), tanh,
        dense(3), softmax,
    }
}

staticnn::model! {
    /// The reference MNIST network, in f64.
    #[model(scalar = f64)]
    struct Mnist64 {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

#[test]
fn small_model_matches_finite_differences() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut model = Small::new_boxed(Init::Normal { mean: 0.0, std: 0.7 }, 5);
    let x = random::<5, 3>(&mut rng, 2.0);
    let all = all_params::<Small>();
    let worst = check_model(&mut *model, &SoftmaxCrossEntropy, &x, &[2, 0, 1], &all);
    println!("small model, cross-entropy: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");

    let target = random::<3, 3>(&mut rng, 1.0);
    let worst = check_model(&mut *model, &MeanSquaredError, &x, &target, &all);
    println!("small model, mse: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");
}

#[test]
fn softmax_head_trains_on_logits() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut model = Headed::new_boxed(Init::PyTorch, 7);
    let x = random::<4, 2>(&mut rng, 2.0);
    let all = all_params::<Headed>();
    let worst = check_model(&mut *model, &SoftmaxCrossEntropy, &x, &[2, 0], &all);
    assert!(worst <= BAR, "{worst:e}");

    // Inference applies the head: probabilities that sum to one and agree with `forward`.
    let mut cache = Headed::zeroed_cache::<2>();
    let probs = *model.forward_batch(&x, &mut cache);
    for (col, single) in probs.column_iter().zip(x.column_iter()) {
        assert!((col.sum() - 1.0).abs() < 1e-12);
        assert!((col - model.forward(&single.into_owned())).abs().max() < 1e-12);
    }
}

#[test]
fn mnist_mlp_matches_finite_differences() {
    let mut rng = StdRng::seed_from_u64(8);
    let mut model = Mnist64::new_boxed(Init::HeUniform, 9);
    // Give the (zero-initialised) biases values so their gradients are exercised too.
    model.layer0.bias.iter_mut().for_each(|b| *b = rng.random_range(-0.1..0.1));
    let x = SMatrix::<f64, 784, 2>::from_fn(|_, _| rng.random_range(0.0..1.0));
    // Every bias, and 400 weights drawn across both layers.
    let mut checked: Vec<usize> = (0..400).map(|_| rng.random_range(0..Mnist64::LEN)).collect();
    checked.extend(784 * 128..784 * 128 + 128);
    checked.extend(Mnist64::LEN - 10..Mnist64::LEN);
    let worst = check_model(&mut *model, &SoftmaxCrossEntropy, &x, &[7, 3], &checked);
    println!("784-128-10: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");
}
