//! Learns XOR with a 2 → 8 → 1 network, Adam and mean squared error.
//!
//! `cargo run --release --example xor`

use staticnn::prelude::*;

staticnn::model! {
    /// A two-layer perceptron for XOR.
    pub struct Xor {
        input(2),
        dense(8), tanh,
        dense(1), sigmoid,
    }
}

fn main() {
    let x = SMatrix::<f32, 2, 4>::from_column_slice(&[0., 0., 0., 1., 1., 0., 1., 1.]);
    let y = SMatrix::<f32, 1, 4>::from_column_slice(&[0., 1., 1., 0.]);
    let mut model = Xor::new_boxed(Init::GlorotUniform, 7);
    let mut adam = Adam::new(AdamConfig::with_lr(0.05));
    let mut trainer = Xor::trainer::<4>();
    for step in 1..=500 {
        let loss =
            trainer.step(&mut model, &mut adam, &MeanSquaredError, &x, &y, 4).expect("training diverged");
        if step % 100 == 0 {
            println!("step {step:4}  loss {loss:.6}");
        }
    }
    for (i, input) in x.column_iter().enumerate() {
        let out = model.forward(&input.into_owned());
        println!("{:?} -> {:.3} (want {})", [input[0], input[1]], out[0], y[i]);
    }
}
