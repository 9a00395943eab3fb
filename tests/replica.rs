//! The seed replica against TensorFlow: from TensorFlow's own initial weights
//! (`tests/fixtures/tensorflow/replica_init.safetensors`), ten full-batch Keras-Adam epochs
//! of the original program must follow TensorFlow's losses to 1e-5 relative, and its
//! accuracies to a few samples (`tests/fixtures/tensorflow/generate.py` made the fixture
//! with TensorFlow 2.21). Ten steps over all 60 000 images take seconds in a release build
//! and minutes in a debug one, so CI runs it with
//! `cargo test --release --test replica -- --ignored`.

use staticnn::prelude::*;
use staticnn::rand::{SeedableRng, rngs::StdRng};
use staticnn::{Dataset, Split, load_safetensors};

staticnn::model! {
    /// The original program's network: two dense layers, no activation between.
    pub struct Replica { input(784), dense(128), dense(10) }
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tensorflow");

/// The values of every `"key": number` in `json`, in order (the fixture is flat enough
/// that a search does; keeps the test free of a JSON dependency).
fn values(json: &str, key: &str) -> Vec<f64> {
    let pattern = format!("\"{key}\": ");
    json.match_indices(&pattern)
        .map(|(at, _)| {
            let rest = &json[at + pattern.len()..];
            let end = rest.find([',', '}']).expect("a number ends");
            rest[..end].trim().parse().expect("a number")
        })
        .collect()
}

#[test]
#[ignore]
fn ten_full_batch_epochs_follow_tensorflow() {
    let json = std::fs::read_to_string(format!("{FIXTURES}/replica_10_epochs.json")).expect("fixture");
    let (losses, train_correct, test_correct) = (
        values(&json, "loss_before_step"),
        values(&json, "train_correct_after_step"),
        values(&json, "test_correct_after_step"),
    );
    assert_eq!((losses.len(), train_correct.len(), test_correct.len()), (10, 10, 10));

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let train = Dataset::mnist(dir, Split::Train).expect("vendored MNIST");
    let test = Dataset::mnist(dir, Split::Test).expect("vendored MNIST");
    let mut model = Replica::zeroed_box();
    load_safetensors(&mut *model, format!("{FIXTURES}/replica_init.safetensors"))
        .expect("TensorFlow's weights");
    let mut adam = Adam::new(AdamConfig::keras());
    let mut trainer = Replica::trainer::<60_000>();
    let mut rng = StdRng::seed_from_u64(0);
    for epoch in 0..10 {
        let fitted = trainer
            .fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, &train, &mut rng, |_, _| {})
            .unwrap();
        let trained = trainer.evaluate(&model, &SoftmaxCrossEntropy, &train, None).unwrap();
        let tested = trainer.evaluate(&model, &SoftmaxCrossEntropy, &test, None).unwrap();
        let (loss, want) = (fitted.mean_loss(), losses[epoch]);
        println!(
            "epoch {}: loss {loss:.6} (TensorFlow {want:.6}, {:.1e} relative), correct after the step {} / {} (TensorFlow {} / {})",
            epoch + 1,
            (loss - want).abs() / want,
            trained.correct,
            tested.correct,
            train_correct[epoch],
            test_correct[epoch]
        );
        assert!((loss - want).abs() <= 1e-5 * want, "epoch {}: {loss} vs {want}", epoch + 1);
        assert!((trained.correct as f64 - train_correct[epoch]).abs() <= 10.0, "epoch {}", epoch + 1);
        assert!((tested.correct as f64 - test_correct[epoch]).abs() <= 5.0, "epoch {}", epoch + 1);
    }
}
