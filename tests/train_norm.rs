//! Training with batch normalisation and dropout: trainers keep the running statistics,
//! evaluate in inference mode, leave the statistics out of the optimizer (weight decay
//! included), give dropout the same masks on one thread or several, and a network with
//! both learns.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use staticnn::prelude::*;
use staticnn::{Momentum, Sgd};

staticnn::model! {
    #[model(scalar = f64)]
    struct Normed { input(6), dense(8), batchnorm1d, relu, dense(3) }
}

staticnn::model! {
    #[model(scalar = f64)]
    struct Dropped { input(6), dense(16), relu, dropout(0.5), dense(3) }
}

staticnn::model! {
    struct Classifier {
        input(16),
        dense(32), batchnorm1d, relu, dropout(0.2),
        dense(32), batchnorm1d, relu,
        dense(3),
    }
}

fn inputs<const B: usize>() -> (SMatrix<f64, 6, B>, [u32; B]) {
    let x = SMatrix::from_fn(|i, j| ((i * 5 + j * 3) as f64 * 0.7).sin() * 2.0 + 1.0);
    (x, core::array::from_fn(|b| (b % 3) as u32))
}

#[test]
fn one_step_keeps_the_whole_batchs_statistics_on_one_thread_or_several() {
    let (x, labels) = inputs::<8>();
    let start = Normed::new_boxed(Init::PyTorch, 1);
    let mut results = Vec::new();
    for len in [8, 6] {
        let mut serial = start.boxed_copy();
        let mut parallel = start.boxed_copy();
        let mut sgd = Sgd::new(0.1);
        Normed::trainer::<8>().step(&mut serial, &mut sgd, &SoftmaxCrossEntropy, &x, &labels, len).unwrap();
        let mut trainer = Normed::parallel_trainer::<8, 4>(2).unwrap();
        trainer.step(&mut parallel, &mut sgd, &SoftmaxCrossEntropy, &x, &labels, len).unwrap();
        // The statistics of the `len` samples, computed here.
        let mut cache = Normed::zeroed_cache::<8>();
        start.forward_train(&x, &mut cache);
        let h = cache.layer0_out;
        for c in 0..8 {
            let values: Vec<f64> = (0..len).map(|b| h[(c, b)]).collect();
            let mean = values.iter().sum::<f64>() / len as f64;
            let unbiased = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (len - 1) as f64;
            for model in [&serial, &parallel] {
                assert!((model.layer1.running_mean[c] - 0.1 * mean).abs() < 1e-12, "len {len}, channel {c}");
                assert!((model.layer1.running_var[c] - (0.9 + 0.1 * unbiased)).abs() < 1e-12);
            }
        }
        results.push(serial.layer1.running_mean);
    }
    assert_ne!(results[0], results[1], "padding columns must not count");
}

#[test]
fn evaluation_uses_the_running_statistics() {
    let (x, labels) = inputs::<8>();
    let mut model = Normed::new_boxed(Init::PyTorch, 2);
    let mut trainer = Normed::trainer::<8>();
    let mut adam = Adam::new(AdamConfig::with_lr(0.01));
    for _ in 0..3 {
        trainer.step(&mut model, &mut adam, &SoftmaxCrossEntropy, &x, &labels, 8).unwrap();
    }
    let evaluated = *trainer.infer(&model, &x);
    for b in 0..8 {
        let one = model.forward(&x.column(b).into_owned());
        assert!(
            (one - evaluated.column(b)).amax() < 1e-12,
            "sample {b}: eval is not the single-sample forward"
        );
    }
    // The batch's own statistics give something else.
    let mut cache = Normed::zeroed_cache::<8>();
    assert!((model.forward_train(&x, &mut cache) - evaluated).amax() > 1e-6);
}

#[test]
fn optimizers_and_weight_decay_leave_the_statistics_alone() {
    let mut model = Normed::new_boxed(Init::PyTorch, 3);
    model.layer1.running_mean.fill(0.5);
    model.layer1.running_var.fill(2.0);
    let before = model.boxed_copy();
    let mut grads = Normed::zeroed_box();
    grads.as_mut_slice().fill(1.0);
    let mut adam = Adam::new(AdamConfig { weight_decay: 0.1, ..AdamConfig::default() });
    let mut adamw = Adam::new(AdamConfig { weight_decay: 0.1, decoupled: true, ..AdamConfig::default() });
    let mut momentum = Momentum::<Box<Normed>>::new(0.1, 0.9);
    let mut sgd = Sgd { lr: 0.1, weight_decay: 0.1 };
    assert_eq!(Optimizer::<Normed>::step(&mut adam, &mut model, &grads), None);
    assert_eq!(Optimizer::<Normed>::step(&mut adamw, &mut model, &grads), None);
    assert_eq!(momentum.step(&mut *model, &grads), None);
    assert_eq!(Optimizer::<Normed>::step(&mut sgd, &mut model, &grads), None);
    assert_eq!(model.layer1.running_mean, before.layer1.running_mean);
    assert_eq!(model.layer1.running_var, before.layer1.running_var);
    assert_ne!(model.layer1.weight, before.layer1.weight);
    assert_ne!(model.layer0.weight, before.layer0.weight);

    // The parallel trainer's update too.
    let (x, labels) = inputs::<8>();
    let mut trainer = Normed::parallel_trainer::<8, 4>(2).unwrap();
    let mut frozen = model.boxed_copy();
    let mut sgd = Sgd { lr: 0.0, weight_decay: 0.5 };
    trainer.step(&mut frozen, &mut sgd, &SoftmaxCrossEntropy, &x, &labels, 8).unwrap();
    let mut cache = Normed::zeroed_cache::<8>();
    let mut expected = model.boxed_copy();
    model.forward_train(&x, &mut cache);
    expected.update_statistics(std::iter::once(&*cache));
    assert!((frozen.layer1.running_mean - expected.layer1.running_mean).amax() < 1e-12);
    assert!((frozen.layer1.running_var - expected.layer1.running_var).amax() < 1e-12);
}

#[test]
fn dropout_draws_the_same_masks_on_one_thread_or_several_and_follows_the_seed() {
    let (x, labels) = inputs::<8>();
    let run = |trainer: &mut dyn FnMut(&mut Dropped, &mut Adam<Box<Dropped>>) -> f64| {
        let mut model = Dropped::new_boxed(Init::PyTorch, 4);
        let mut adam = Adam::new(AdamConfig::with_lr(0.01));
        let losses: Vec<f64> = (0..4).map(|_| trainer(&mut model, &mut adam)).collect();
        (losses, model)
    };
    let mut serial = Dropped::trainer::<8>();
    serial.set_seed(9);
    let (serial_losses, serial_model) =
        run(&mut |m, o| serial.step(m, o, &SoftmaxCrossEntropy, &x, &labels, 7).unwrap());
    let mut parallel = Dropped::parallel_trainer::<8, 2>(2).unwrap();
    parallel.set_seed(9);
    let (parallel_losses, parallel_model) =
        run(&mut |m, o| parallel.step(m, o, &SoftmaxCrossEntropy, &x, &labels, 7).unwrap());
    for (a, b) in serial_losses.iter().zip(&parallel_losses) {
        assert!((a - b).abs() < 1e-12, "losses {a} and {b}");
    }
    assert!(
        (serial_model.as_slice().iter().zip(parallel_model.as_slice()).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max)
            < 1e-12
    );
    let mut other = Dropped::trainer::<8>();
    other.set_seed(10);
    let (other_losses, _) = run(&mut |m, o| other.step(m, o, &SoftmaxCrossEntropy, &x, &labels, 7).unwrap());
    assert_ne!(serial_losses, other_losses, "another seed, other masks");
    // Evaluation has no dropout: the same outputs twice, those of `forward`.
    let first = *serial.infer(&serial_model, &x);
    assert_eq!(first, *serial.infer(&serial_model, &x));
    assert!((serial_model.forward(&x.column(0).into_owned()) - first.column(0)).amax() < 1e-12);
}

/// Three Gaussian clusters in 16 dimensions, shifted and scaled far from zero mean and unit
/// variance (what batch normalisation undoes).
fn clusters(rng: &mut StdRng, n: usize) -> (Vec<[f32; 16]>, Vec<u32>) {
    let centres: Vec<[f32; 16]> =
        (0..3).map(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0))).collect();
    (0..n)
        .map(|i| {
            let label = (i % 3) as u32;
            let x = core::array::from_fn(|d| {
                50.0 + 20.0 * (centres[label as usize][d] + rng.random_range(-0.6..0.6))
            });
            (x, label)
        })
        .unzip()
}

#[test]
fn a_network_with_batchnorm_and_dropout_learns() {
    let mut rng = StdRng::seed_from_u64(5);
    let (xs, labels) = clusters(&mut rng, 960);
    let mut model = Classifier::new_boxed(Init::HeUniform, 5);
    let mut trainer = Classifier::trainer::<32>();
    let mut adam = Adam::new(AdamConfig::with_lr(0.01));
    let batch = |k: usize| {
        let x = SMatrix::<f32, 16, 32>::from_fn(|d, b| xs[(k * 32 + b) % xs.len()][d]);
        let y: [u32; 32] = core::array::from_fn(|b| labels[(k * 32 + b) % labels.len()]);
        (x, y)
    };
    let mut first = None;
    let mut last = 0.0;
    for k in 0..90 {
        let (x, y) = batch(k);
        last = trainer.step(&mut model, &mut adam, &SoftmaxCrossEntropy, &x, &y, 32).unwrap();
        first.get_or_insert(last);
    }
    let first = first.unwrap();
    assert!(last < 0.3 * first, "loss went from {first} to {last}");
    let (x, y) = batch(3);
    let logits = trainer.infer(&model, &x);
    let correct = (0..32).filter(|&b| logits.column(b).argmax().0 == y[b] as usize).count();
    assert!(correct >= 30, "{correct} of 32 correct in inference mode");
}
