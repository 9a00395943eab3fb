//! Resuming from a checkpoint is bit-identical to never having stopped: two epochs
//! straight against one epoch, a checkpoint saved and loaded into fresh values, and a
//! second epoch.

use staticnn::prelude::*;
use staticnn::rand::{SeedableRng, rngs::StdRng};
use staticnn::{Dataset, Split, load_checkpoint, save_checkpoint};

staticnn::model! {
    pub struct Mnist { input(784), dense(32), relu, dense(10) }
}

/// The shuffling of epoch `epoch`: seeded per epoch, so a resumed run shuffles as the
/// original did.
fn epoch_rng(epoch: u64) -> StdRng {
    StdRng::seed_from_u64(1000 + epoch)
}

fn train_epoch(model: &mut Mnist, adam: &mut Adam<Box<Mnist>>, data: &Dataset, epoch: u64) {
    let mut trainer = Mnist::trainer::<32>();
    trainer.fit_epoch(model, adam, &SoftmaxCrossEntropy, data, &mut epoch_rng(epoch), |_, _| {}).unwrap();
}

#[test]
fn a_resumed_run_is_bit_identical() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let data = Dataset::mnist(dir, Split::Train).expect("vendored MNIST").subset(..2000);
    let config = AdamConfig::default();

    let mut straight = Mnist::new_boxed(Init::GlorotUniform, 5);
    let mut adam = Adam::new(config);
    train_epoch(&mut straight, &mut adam, &data, 0);
    train_epoch(&mut straight, &mut adam, &data, 1);

    let mut first = Mnist::new_boxed(Init::GlorotUniform, 5);
    let mut adam = Adam::new(config);
    train_epoch(&mut first, &mut adam, &data, 0);
    let path = std::env::temp_dir().join(format!("staticnn-resume-{}.safetensors", std::process::id()));
    save_checkpoint(&*first, &adam, &path).unwrap();

    let mut resumed = Mnist::zeroed_box();
    let mut adam = Adam::new(config);
    load_checkpoint(&mut *resumed, &mut adam, &path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(adam.steps(), 63);
    train_epoch(&mut resumed, &mut adam, &data, 1);

    let bits = |m: &Mnist| m.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&resumed), bits(&straight));
}
