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

/// Trains with a huge learning rate until it fails; returns the error. Both trainers take
/// the same step, so they must fail at the same step with the same report.
fn diverge(lr: f64) -> TrainError {
    let x = SMatrix::<f32, 2, 4>::from_column_slice(&[1e3, -2e3, 3e3, 4e3, -5e3, 6e3, 7e3, 8e3]);
    let labels = [0u32, 1, 1, 0];
    let run = |trainer: &mut dyn FnMut(&mut XorClasses, &mut Sgd) -> Option<TrainError>| {
        let mut model = XorClasses::new_boxed(Init::HeUniform, 3);
        let mut sgd = Sgd::new(lr);
        let err =
            (0..100).find_map(|_| trainer(&mut model, &mut sgd)).expect("a huge learning rate must diverge");
        (err, model)
    };
    let mut single = XorClasses::trainer::<4>();
    let mut parallel = XorClasses::parallel_trainer::<4, 2>(2).unwrap();
    let (err, before) = run(&mut |m, o| single.step(m, o, &SoftmaxCrossEntropy, &x, &labels, 4).err());
    let (parallel_err, parallel_model) =
        run(&mut |m, o| parallel.step(m, o, &SoftmaxCrossEntropy, &x, &labels, 4).err());
    let report = |e: &TrainError| match *e {
        TrainError::Diverged { step, tensor, .. } => Some((step, tensor)),
        TrainError::Label(_) => None,
    };
    assert_eq!(report(&err), report(&parallel_err), "{err} / {parallel_err}");
    // Neither trainer updated the model with the non-finite step.
    for model in [&before, &parallel_model] {
        assert_eq!(model.first_non_finite(), report(&err).and_then(|(_, tensor)| tensor));
    }
    err
}

#[test]
fn data_that_does_not_fit_the_model_is_an_error() {
    use staticnn::{DataError, Dataset, FitError};
    let mut model = XorClasses::new_boxed(Init::PyTorch, 3);
    let mut adam = Adam::new(AdamConfig::default());
    let mut rng = staticnn::rand::SeedableRng::seed_from_u64(1);
    let mut trainer = XorClasses::trainer::<4>();
    // Three values per sample for a model of two inputs; then three classes for two outputs.
    let wide = Dataset::from_vecs(vec![0.0; 12], vec![0, 1, 0, 1], 3, 2).unwrap();
    let many = Dataset::from_vecs(vec![0.0; 8], vec![0, 1, 2, 1], 2, 3).unwrap();
    for data in [wide, many] {
        let rng: &mut staticnn::rand::rngs::StdRng = &mut rng;
        let err = trainer
            .fit_epoch(&mut model, &mut adam, &SoftmaxCrossEntropy, &data, rng, |_, _| {})
            .unwrap_err();
        let FitError::Data(DataError::ModelMismatch { input: 2, output: 2, .. }) = err else {
            panic!("unexpected error {err}")
        };
        assert!(err.to_string().contains("does not fit the model"), "{err}");
        let err = trainer.evaluate(&model, &SoftmaxCrossEntropy, &data, None).unwrap_err();
        assert!(matches!(err, FitError::Data(DataError::ModelMismatch { .. })), "{err}");
    }
    assert_eq!(trainer.steps(), 0);
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
