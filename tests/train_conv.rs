//! End-to-end training of a small CNN on real MNIST images: 250 steps on 2 000 images of
//! the (vendored) test split must classify 1 000 others far above chance (≈ 81 % here;
//! chance is 10 %). Small enough to run in a debug build in a few seconds.

use rand::SeedableRng;
use rand::rngs::StdRng;
use staticnn::prelude::*;
use staticnn::{Dataset, Fit, Split};

staticnn::model! {
    /// 1×28×28 → 6×14×14 → 6×7×7 (+ a residual block) → 10.
    pub struct TinyCnn {
        input(1, 28, 28),
        conv2d(6, 3, stride = 2, padding = 1), relu,
        maxpool(2),
        residual { conv2d(6, 3, padding = 1), relu },
        flatten,
        dense(10),
    }
}

#[test]
fn tiny_cnn_learns_mnist() {
    let data = Dataset::mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"), Split::Test)
        .expect("the vendored MNIST files");
    let (train, held_out) = (data.subset(..2000), data.subset(9000..));
    let mut model = TinyCnn::new_boxed(Init::PyTorch, 3);
    let mut adam = Adam::new(AdamConfig::with_lr(3e-3));
    let mut trainer = TinyCnn::trainer::<16>();
    let mut rng = StdRng::seed_from_u64(3);
    let before = trainer.evaluate(&model, &SoftmaxCrossEntropy, &held_out, None).expect("evaluate");
    for _ in 0..2 {
        trainer
            .fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, &train, &mut rng, |_, _| {})
            .expect("fit");
    }
    let after = trainer.evaluate(&model, &SoftmaxCrossEntropy, &held_out, None).expect("evaluate");
    println!(
        "{} steps: held-out accuracy {:.1}% → {:.1}%, loss {:.3} → {:.3}",
        trainer.steps(),
        100.0 * before.accuracy(),
        100.0 * after.accuracy(),
        before.mean_loss(),
        after.mean_loss()
    );
    assert_eq!(trainer.steps(), 250);
    assert!(after.accuracy() > 0.7, "held-out accuracy {:.1}%", 100.0 * after.accuracy());
    assert!(after.mean_loss() < 0.5 * before.mean_loss());
}
