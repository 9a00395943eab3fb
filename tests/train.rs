//! End-to-end training: XOR must be learned exactly, deterministically, in bounded steps.

use staticnn::prelude::*;
use staticnn::{Divergence, TrainError};

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

/// Trains `XorClasses` from the same start with both trainers until `step` fails (at most
/// 100 steps); returns the error and the model it left. Both trainers take the same step,
/// so they must fail at the same step with the same report and leave the same model.
fn diverge_with(
    x: SMatrix<f32, 2, 4>,
    start: impl Fn(&mut XorClasses),
    optimizer: impl Fn() -> Sgd,
) -> (TrainError, Box<XorClasses>) {
    let labels = [0u32, 1, 1, 0];
    let run = |trainer: &mut dyn FnMut(&mut XorClasses, &mut Sgd) -> Option<TrainError>| {
        let mut model = XorClasses::new_boxed(Init::HeUniform, 3);
        start(&mut model);
        let mut sgd = optimizer();
        let err = (0..100).find_map(|_| trainer(&mut model, &mut sgd)).expect("training must fail");
        (err, model)
    };
    let mut single = XorClasses::trainer::<4>();
    let mut parallel = XorClasses::parallel_trainer::<4, 2>(2).unwrap();
    let (err, model) = run(&mut |m, o| single.step(m, o, &SoftmaxCrossEntropy, &x, &labels, 4).err());
    let (parallel_err, parallel_model) =
        run(&mut |m, o| parallel.step(m, o, &SoftmaxCrossEntropy, &x, &labels, 4).err());
    let report = |e: &TrainError| match *e {
        TrainError::Diverged { step, cause, .. } => Some((step, cause)),
        _ => None,
    };
    assert_eq!(report(&err), report(&parallel_err), "{err} / {parallel_err}");
    let bits = |m: &XorClasses| m.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&model), bits(&parallel_model), "both trainers leave the same model");
    (err, model)
}

/// Trains with learning rate `lr` on inputs in the thousands until it fails.
fn diverge(lr: f64) -> (TrainError, Box<XorClasses>) {
    let x = SMatrix::<f32, 2, 4>::from_column_slice(&[1e3, -2e3, 3e3, 4e3, -5e3, 6e3, 7e3, 8e3]);
    diverge_with(x, |_| {}, || Sgd::new(lr))
}

#[test]
fn an_overflowing_update_is_reported_in_its_step_and_not_written() {
    // 1e37 is a valid f32 learning rate, but lr × gradient overflows f32 in step 1.
    let (err, model) = diverge(1e37);
    let TrainError::Diverged { step, cause: Divergence::Update { tensor }, .. } = err else {
        panic!("unexpected error {err}")
    };
    assert_eq!(step, 1, "the first step's update overflows: {err}");
    assert_eq!(tensor.to_string(), "0.weight", "{err}");
    let message = err.to_string();
    assert!(message.contains("step 1") && message.contains("layer `0`"), "{message}");
    // Nothing non-finite was written: the model a failed run leaves is finite.
    assert_eq!(model.first_non_finite(), None);
}

#[test]
fn a_non_finite_loss_leaves_the_model_untouched_and_names_the_largest_tensor() {
    // Finite but enormous weights after step 1: the loss overflows in step 2, which is
    // stopped before its update.
    let (err, model) = diverge(1e30);
    let TrainError::Diverged { step, loss, cause: Divergence::Loss { largest: Some(tensor), magnitude } } =
        err
    else {
        panic!("unexpected error {err}")
    };
    assert!(step >= 2 && !loss.is_finite(), "{err}");
    assert!(magnitude > 1e20, "{err}");
    assert!(tensor.to_string().ends_with("weight"), "{err}");
    assert!(err.to_string().contains("every parameter is finite"), "{err}");
    assert_eq!(model.first_non_finite(), None);
}

#[test]
fn a_non_finite_weight_stops_the_first_step() {
    // One NaN weight multiplying an input that is always zero: the product is skipped
    // by the kernels, but the update would keep the NaN, so the first step reports it.
    let x = SMatrix::<f32, 2, 4>::from_column_slice(&[0., 0., 0., 1., 0., 0., 0., 1.]);
    let poison = |m: &mut XorClasses| m.layer0.weight[(0, 0)] = f32::NAN;
    let (err, model) = diverge_with(x, poison, || Sgd::new(0.1));
    let TrainError::Diverged { step: 1, cause: Divergence::Parameters { tensor }, .. } = err else {
        panic!("unexpected error {err}")
    };
    assert_eq!(tensor.to_string(), "0.weight");
    assert!(err.to_string().contains("before the step"), "{err}");
    // The NaN was not spread: still exactly one, where it was put.
    assert_eq!(model.as_slice().iter().filter(|v| !v.is_finite()).count(), 1);
    assert!(model.layer0.weight[(0, 0)].is_nan());
}

#[test]
fn invalid_learning_rates_are_refused_before_any_step() {
    for lr in [f64::NAN, -0.1, f64::INFINITY, 1e300] {
        let (err, model) = diverge_with(xor_inputs(), |_| {}, || Sgd::new(lr));
        let TrainError::Hyperparameter(e) = err else { panic!("lr {lr}: unexpected error {err}") };
        assert_eq!(e.name, "lr");
        assert!(err.to_string().contains("`lr`"), "{err}");
        assert_eq!(model.as_slice(), XorClasses::new_boxed(Init::HeUniform, 3).as_slice());
    }
}

#[test]
fn a_diverged_epoch_is_an_error_even_in_its_last_step() {
    use staticnn::{Dataset, FitError};
    // One batch, so the diverging step is the epoch's last.
    let data =
        Dataset::from_vecs(vec![1e3, -2e3, 3e3, 4e3, -5e3, 6e3, 7e3, 8e3], vec![0, 1, 1, 0], 2, 2).unwrap();
    let mut model = XorClasses::new_boxed(Init::HeUniform, 3);
    let mut sgd = Sgd::new(1e37);
    let rng: &mut staticnn::rand::rngs::StdRng = &mut staticnn::rand::SeedableRng::seed_from_u64(1);
    let mut trainer = XorClasses::trainer::<4>();
    let err =
        trainer.fit_epoch(&mut model, &mut sgd, &SoftmaxCrossEntropy, &data, rng, |_, _| {}).unwrap_err();
    assert!(matches!(err, FitError::Train(TrainError::Diverged { step: 1, .. })), "{err}");
    assert_eq!(model.first_non_finite(), None);

    let empty = Dataset::from_vecs(vec![], vec![], 2, 2).unwrap();
    let err =
        trainer.fit_epoch(&mut model, &mut sgd, &SoftmaxCrossEntropy, &empty, rng, |_, _| {}).unwrap_err();
    assert!(matches!(err, FitError::EmptyDataset), "{err}");
    let err = trainer.evaluate(&model, &SoftmaxCrossEntropy, &empty, None).unwrap_err();
    assert!(matches!(err, FitError::EmptyDataset), "{err}");
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

staticnn::model! {
    /// Relu and max pooling over a 1×4×4 image, then a dense head.
    struct Pooled {
        input(1, 4, 4),
        relu,
        maxpool(2),
        flatten,
        dense(2),
    }
}

#[test]
fn nan_propagates_through_relu_and_max_pooling() {
    // PyTorch propagates NaN through both; a NaN must not turn into a plausible value.
    let model = Pooled::new_boxed(Init::PyTorch, 1);
    for at in [0, 5, 15] {
        let mut x = SVector::<f32, 16>::from_fn(|i, _| i as f32 - 8.0);
        x[at] = f32::NAN;
        let y = model.forward(&x);
        assert!(y.iter().all(|v| v.is_nan()), "NaN at input {at}: {y}");
    }
}
