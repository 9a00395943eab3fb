//! A short run of the reference MLP on real MNIST: 250 steps of batch 32 on 8 000 training
//! images must classify the first 2 000 test images far above chance (chance is 10 %), on
//! one thread and on two, with the same result up to the order of floating-point sums.

use staticnn::prelude::*;
use staticnn::rand::{SeedableRng, rngs::StdRng};
use staticnn::{Dataset, Denormals, Split};

staticnn::model! {
    pub struct Mnist { input(784), dense(128), relu, dense(10) }
}

/// Trains one epoch over the 8 000 images (250 steps) and returns the test accuracy.
fn accuracy_after_250_steps(trainer: &mut impl Fit<Mnist, 784, 10, 32>) -> f64 {
    accuracy_after(trainer, 8000, 42)
}

/// Trains one epoch over the first `n` training images from seed `seed` and returns the
/// accuracy on the first 2 000 test images. The caller's floating-point environment is
/// the same afterwards (the trainers restore it).
fn accuracy_after(trainer: &mut impl Fit<Mnist, 784, 10, 32>, n: usize, seed: u64) -> f64 {
    let exact = !staticnn::float_env::flushing();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let train = Dataset::mnist(dir, Split::Train).expect("vendored MNIST").subset(..n);
    let test = Dataset::mnist(dir, Split::Test).expect("vendored MNIST").subset(..2000);
    let mut model = Mnist::new_boxed(Init::GlorotUniform, seed);
    let mut adam = Adam::new(AdamConfig::with_lr(1e-3));
    let mut rng = StdRng::seed_from_u64(seed);
    let fitted =
        trainer.fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, &train, &mut rng, |_, _| {}).unwrap();
    assert_eq!(fitted.samples, n);
    let tested = trainer.evaluate(&model, &SoftmaxCrossEntropy, &test, None).unwrap();
    assert_eq!(tested.samples, 2000);
    assert_eq!(!staticnn::float_env::flushing(), exact, "the trainer restored the environment");
    tested.accuracy()
}

/// Flushing subnormals (the trainers' default) changes results only by rounding: a full
/// epoch of the reference job from three seeds reaches the same test accuracy within
/// 0.1 point as exact IEEE arithmetic. Seconds in release builds, minutes in debug ones,
/// so run on demand:
/// `cargo test --release --test train_mnist -- --ignored`.
#[test]
#[ignore]
fn flushing_subnormals_keeps_the_reference_accuracy() {
    for seed in [1, 2, 3] {
        let mut exact = Mnist::trainer::<32>();
        exact.set_denormals(Denormals::Preserve);
        let exact = accuracy_after(&mut exact, 60_000, seed);
        let flushed = accuracy_after(&mut Mnist::trainer::<32>(), 60_000, seed);
        println!(
            "seed {seed}: test accuracy (first 2 000 images) {exact:.4} exact, {flushed:.4} flushing subnormals"
        );
        assert!((exact - flushed).abs() <= 0.001, "seed {seed}: {exact} vs {flushed}");
    }
}

#[test]
fn mlp_learns_mnist_in_250_steps() {
    let single = accuracy_after_250_steps(&mut Mnist::trainer::<32>());
    let parallel = accuracy_after_250_steps(&mut Mnist::parallel_trainer::<32, 16>(2).unwrap());
    println!("test accuracy after 250 steps: {single:.4} (1 thread), {parallel:.4} (2 threads)");
    assert!(single > 0.85, "{single}");
    assert!((single - parallel).abs() <= 0.005, "{single} vs {parallel}");
}
