//! The tour of README.md, runnable: declare the reference MNIST model, train one epoch on
//! two threads, save the weights. The model's shapes are written once, in `model!`.
//!
//! `cargo run --release --example tour`

use std::error::Error;

use staticnn::prelude::*;
use staticnn::rand::{SeedableRng, rngs::StdRng};
use staticnn::{Dataset, Split};

staticnn::model! {
    /// The reference MNIST classifier. Doc comments and attributes pass through.
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut model = Mnist::new_boxed(Init::GlorotUniform, 42); // straight onto the heap
    let logits: MnistOutput = model.forward(&MnistInput::zeros()); // one sample, on the stack
    println!("untrained logits of a blank image: {:.3}", logits.transpose());

    let train = Dataset::mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"), Split::Train)?;
    let mut adam = Adam::new(AdamConfig::with_lr(1e-3));
    // Batches of 32, split into two shards of 16 that train on two threads.
    let mut trainer = Mnist::parallel_trainer::<32, 16>(2)?;
    let mut rng = StdRng::seed_from_u64(42);
    let epoch =
        trainer.fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, &train, &mut rng, |_, _| {})?;
    println!("loss {:.4}, accuracy {:.2}%", epoch.mean_loss(), 100.0 * epoch.accuracy());
    let path = std::env::temp_dir().join("staticnn-tour.safetensors");
    staticnn::save_safetensors(&*model, &path)?; // PyTorch names and layout
    println!("saved {}", path.display());
    Ok(())
}
