//! End-to-end training: XOR must be learned exactly, deterministically, in bounded steps.

use staticnn::TrainError;
use staticnn::prelude::*;

staticnn::model! {
    /// 2 → 8 → 1 with a sigmoid output.
    struct Xor {
        input(2),
        dense(8), tanh,
        dense(1), sigmoid,
    }
}

staticnn::model! {
    /// 2 → 8 → 2, classifying XOR with softmax cross-entropy on integer labels.
    struct XorClasses {
        input(2),
        dense(8), relu,
        dense(2),
    }
}

fn xor_inputs() -> SMatrix<f32, 2, 4> {
    SMatrix::from_column_slice(&[0., 0., 0., 1., 1., 0., 1., 1.])
}

/// Trains the MSE network for up to 1000 steps; returns the step at which every output
/// was on the right side of 0.5, and the final weights.
fn train_xor(seed: u64) -> (Option<usize>, Vec<f32>) {
    let x = xor_inputs();
    let y = SMatrix::<f32, 1, 4>::from_column_slice(&[0., 1., 1., 0.]);
    let mut model = Xor::new_boxed(Init::GlorotUniform, seed);
    let mut adam = Adam::new(AdamConfig::with_lr(0.05));
    let mut trainer = Xor::trainer::<4>();
    let mut solved = None;
    for step in 1..=1000 {
        trainer.step(&mut model, &mut adam, &MeanSquaredError, &x, &y, 4).unwrap();
        let correct = (0..4).all(|i| (model.forward(&x.column(i).into_owned())[0] > 0.5) == (y[i] > 0.5));
        if correct && solved.is_none() {
            solved = Some(step);
        }
    }
    (solved, model.as_slice().to_vec())
}

#[test]
fn xor_is_learned_deterministically() {
    let (solved, weights) = train_xor(7);
    let step = solved.expect("XOR not learned in 1000 steps");
    println!("XOR solved at step {step}");
    assert!(step <= 500, "took {step} steps");
    let (again, weights_again) = train_xor(7);
    assert_eq!(solved, again);
    assert_eq!(weights, weights_again, "same seed, different weights");
}

#[test]
fn xor_classifier_reaches_full_accuracy() {
    let x = xor_inputs();
    let labels = [0u32, 1, 1, 0];
    let mut model = XorClasses::new_boxed(Init::PyTorch, 3);
    let mut adam = Adam::new(AdamConfig::with_lr(0.05));
    let mut trainer = XorClasses::trainer::<4>();
    let mut correct = 0;
    for _ in 0..300 {
        trainer.step(&mut model, &mut adam, &SoftmaxCrossEntropy, &x, &labels, 4).unwrap();
        correct = staticnn::training::metrics::count_correct(trainer.output(), &labels, 4);
    }
    assert_eq!(correct, 4);
}

/// Trains with a huge learning rate until it fails; returns the error.
fn diverge(lr: f64) -> TrainError {
    let x = SMatrix::<f32, 2, 4>::from_column_slice(&[1e3, -2e3, 3e3, 4e3, -5e3, 6e3, 7e3, 8e3]);
    let labels = [0u32, 1, 1, 0];
    let mut model = XorClasses::new_boxed(Init::HeUniform, 3);
    let mut sgd = Sgd::new(lr);
    let mut trainer = XorClasses::trainer::<4>();
    (0..100)
        .find_map(|_| trainer.step(&mut model, &mut sgd, &SoftmaxCrossEntropy, &x, &labels, 4).err())
        .expect("a huge learning rate must diverge")
}

#[test]
fn divergence_names_the_step_and_the_layer() {
    // Overflows f32: the first layer's weights become infinite or NaN in step 1.
    let err = diverge(1e300);
    let TrainError::Diverged { step, tensor, .. } = err else { panic!("unexpected error {err}") };
    assert_eq!(step, 2, "the first step starts from finite weights: {err}");
    assert_eq!(tensor.map(|t| t.to_string()), Some("0.weight".to_string()), "{err}");
    let message = err.to_string();
    assert!(message.contains("step 2") && message.contains("layer `0`"), "{message}");

    // Finite but enormous weights: the loss overflows first; the report says so.
    let err = diverge(1e30);
    let TrainError::Diverged { tensor: None, .. } = err else { panic!("unexpected error {err}") };
    assert!(err.to_string().contains("every parameter is finite"), "{err}");
}
