//! A short run of the reference MLP on real MNIST: 250 steps of batch 32 on 8 000 training
//! images must classify the first 2 000 test images far above chance (chance is 10 %), on
//! one thread and on two, with the same result up to the order of floating-point sums.

use staticnn::prelude::*;
use staticnn::rand::{SeedableRng, rngs::StdRng};
use staticnn::{Dataset, Split};

staticnn::model! {
    pub struct Mnist { input(784), dense(128), relu, dense(10) }
}

/// Trains one epoch over the 8 000 images (250 steps) and returns the test accuracy.
fn accuracy_after_250_steps(trainer: &mut impl Fit<Mnist, 784, 10, 32>) -> f64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let train = Dataset::mnist(dir, Split::Train).expect("vendored MNIST").subset(..8000);
    let test = Dataset::mnist(dir, Split::Test).expect("vendored MNIST").subset(..2000);
    let mut model = Mnist::new_boxed(Init::GlorotUniform, 42);
    let mut adam = Adam::new(AdamConfig::with_lr(1e-3));
    let mut rng = StdRng::seed_from_u64(42);
    let fitted =
        trainer.fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, &train, &mut rng, |_, _| {}).unwrap();
    assert_eq!(fitted.samples, 8000);
    assert_eq!(trainer.steps(), 250);
    let tested = trainer.evaluate(&model, &SoftmaxCrossEntropy, &test, None).unwrap();
    assert_eq!(tested.samples, 2000);
    tested.accuracy()
}

#[test]
fn mlp_learns_mnist_in_250_steps() {
    let single = accuracy_after_250_steps(&mut Mnist::trainer::<32>());
    let parallel = accuracy_after_250_steps(&mut Mnist::parallel_trainer::<32, 16>(2).unwrap());
    println!("test accuracy after 250 steps: {single:.4} (1 thread), {parallel:.4} (2 threads)");
    assert!(single > 0.85, "{single}");
    assert!((single - parallel).abs() <= 0.005, "{single} vs {parallel}");
}
