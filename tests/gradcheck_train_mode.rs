//! Finite-difference checks, in f64, of the layers that compute something else in training
//! than in inference — `BatchNorm` (batch statistics, flat and image inputs, with padding
//! columns left out of the statistics) and `Dropout` (a fixed mask per step) — on their own
//! through `Layer::forward_train`, and inside generated models (`check_model`), where the
//! training pass must be a deterministic function of the input and the `TrainContext`.
//!
//! The error measure is that of `tests/common/gradcheck.rs`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use staticnn::prelude::*;
use staticnn::{BatchNorm, Dropout, TrainContext};

#[path = "common/gradcheck.rs"]
mod gradcheck;

use gradcheck::{BAR, H, assert_exact, check_model, random, rel_err};

/// `Σ dy ⊙ forward_train(x)`.
fn objective<L: Layer<f64, N, N>, const N: usize, const B: usize>(
    layer: &L,
    x: &SMatrix<f64, N, B>,
    dy: &SMatrix<f64, N, B>,
    scratch: &mut L::Scratch<B>,
    context: &TrainContext,
) -> f64 {
    let mut y = staticnn::zeroed_box::<SMatrix<f64, N, B>>();
    layer.forward_train(x, &mut *y, scratch, context);
    y.component_mul(dy).sum()
}

/// The worst relative error of `batchnorm`'s input and parameter gradients on a batch of `B`
/// whose last `padding` columns are padding (their output gradient zero, as a loss makes it).
fn check_batchnorm<const C: usize, const HW: usize, const N: usize, const B: usize>(
    padding: usize,
    seed: u64,
) -> f64 {
    assert_exact();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bn = BatchNorm::<f64, C, HW, N>::IDENTITY;
    for c in 0..C {
        bn.weight[c] = rng.random_range(0.5..1.5);
        bn.bias[c] = rng.random_range(-0.5..0.5);
    }
    let eps = 1e-3;
    let context = TrainContext { padding, ..TrainContext::default() };
    let x = random::<N, B>(&mut rng, 2.0);
    let mut dy = random::<N, B>(&mut rng, 1.0);
    for b in B - padding..B {
        dy.column_mut(b).fill(0.0);
    }
    let mut stats = staticnn::zeroed_box::<staticnn::BatchStatistics<f64, C>>();
    let mut y = staticnn::zeroed_box::<SMatrix<f64, N, B>>();
    bn.with_eps(eps).forward_train(&x, &mut *y, &mut *stats, &context);
    assert_eq!(stats.samples, B - padding);
    let mut grads = BatchNorm::<f64, C, HW, N>::zeroed_box();
    let mut dx = staticnn::zeroed_box::<SMatrix<f64, N, B>>();
    dx.fill(f64::NAN);
    bn.with_eps(eps).backward(&x, &*y, &dy, Some(&mut *dx), &mut *grads, &mut *stats);
    assert!(dx.columns(B - padding, padding).iter().all(|&d| d == 0.0), "padding columns get no gradient");

    let mut worst: f64 = 0.0;
    for i in 0..N * B {
        let (mut plus, mut minus) = (x, x);
        plus[i] += H;
        minus[i] -= H;
        let numeric = (objective(&bn.with_eps(eps), &plus, &dy, &mut *stats, &context)
            - objective(&bn.with_eps(eps), &minus, &dy, &mut *stats, &context))
            / (2.0 * H);
        worst = worst.max(rel_err(dx[i], numeric));
    }
    for i in 0..BatchNorm::<f64, C, HW, N>::LEN {
        let p = bn.as_slice()[i];
        bn.as_mut_slice()[i] = p + H;
        let plus = objective(&bn.with_eps(eps), &x, &dy, &mut *stats, &context);
        bn.as_mut_slice()[i] = p - H;
        let minus = objective(&bn.with_eps(eps), &x, &dy, &mut *stats, &context);
        bn.as_mut_slice()[i] = p;
        worst = worst.max(rel_err(grads.as_slice()[i], (plus - minus) / (2.0 * H)));
    }
    // The running statistics do not enter the training pass and get no gradient.
    assert!(grads.running_mean.iter().chain(grads.running_var.iter()).all(|&g| g == 0.0));
    worst
}

#[test]
fn batchnorm_matches_finite_differences() {
    let worst = [
        check_batchnorm::<5, 1, 5, 8>(0, 1),
        check_batchnorm::<5, 1, 5, 8>(3, 2),
        check_batchnorm::<3, 12, 36, 4>(0, 3),
        check_batchnorm::<2, 9, 18, 5>(2, 4),
        check_batchnorm::<4, 1, 4, 2>(0, 5),
    ];
    println!("batchnorm: worst relative errors {worst:?}");
    assert!(worst.iter().all(|&w| w <= BAR), "{worst:?} exceed {BAR:e}");
}

#[test]
fn batchnorm_training_pass_standardises_each_channel() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut bn = BatchNorm::<f64, 3, 4, 12>::IDENTITY;
    bn.weight[1] = 2.0;
    bn.bias[2] = -1.0;
    let x = random::<12, 6>(&mut rng, 3.0).add_scalar(5.0);
    let (mut y, mut stats) = (SMatrix::<f64, 12, 6>::zeros(), staticnn::zeroed_box());
    bn.with_eps(0.0).forward_train(&x, &mut y, &mut *stats, &TrainContext::default());
    for c in 0..3 {
        let values: Vec<f64> =
            (0..6).flat_map(|b| (0..4).map(move |p| (b, c * 4 + p))).map(|(b, r)| y[(r, b)]).collect();
        let mean = values.iter().sum::<f64>() / 24.0;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 24.0;
        assert!((mean - bn.bias[c]).abs() < 1e-12, "channel {c}: mean {mean}");
        assert!((var - bn.weight[c].powi(2)).abs() < 1e-9, "channel {c}: variance {var}");
    }
}

/// The running statistics pooled from several passes are those of the whole batch, and
/// follow PyTorch's update: biased variance to normalise, unbiased to track.
#[test]
fn running_statistics_pool_the_passes_of_a_step() {
    let mut rng = StdRng::seed_from_u64(10);
    let x = random::<2, 8>(&mut rng, 3.0);
    let bn = BatchNorm::<f64, 2, 1, 2>::IDENTITY;
    let whole = {
        let (mut y, mut stats) = (SMatrix::<f64, 2, 8>::zeros(), staticnn::zeroed_box());
        bn.with_eps(1e-5).forward_train(&x, &mut y, &mut *stats, &TrainContext::default());
        stats
    };
    let halves: Vec<Box<staticnn::BatchStatistics<f64, 2>>> = (0..2)
        .map(|h| {
            let half = x.fixed_columns::<4>(4 * h).into_owned();
            let (mut y, mut stats) = (SMatrix::<f64, 2, 4>::zeros(), staticnn::zeroed_box());
            // The second half has one column of padding.
            let context = TrainContext { padding: h, ..TrainContext::default() };
            bn.with_eps(1e-5).forward_train(&half, &mut y, &mut *stats, &context);
            stats
        })
        .collect();
    let (mut serial, mut pooled) = (bn.clone(), bn.clone());
    serial.update_statistics(std::iter::once(&*whole), 0.1);
    pooled.update_statistics(halves.iter().map(|s| &**s), 0.1);
    // The reference, from the 7 samples directly.
    let samples: Vec<usize> = (0..7).collect();
    for c in 0..2 {
        let values: Vec<f64> = samples.iter().map(|&b| x[(c, b)]).collect();
        let mean = values.iter().sum::<f64>() / 7.0;
        let unbiased = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
        assert!((pooled.running_mean[c] - 0.1 * mean).abs() < 1e-12);
        assert!((pooled.running_var[c] - (0.9 + 0.1 * unbiased)).abs() < 1e-12);
    }
    // All 8 columns in one pass: its own statistics.
    let all: Vec<f64> = (0..8).map(|b| x[(0, b)]).collect();
    let mean = all.iter().sum::<f64>() / 8.0;
    assert!((serial.running_mean[0] - 0.1 * mean).abs() < 1e-12);
}

#[test]
fn dropout_matches_finite_differences_and_scales_what_it_keeps() {
    assert_exact();
    let mut rng = StdRng::seed_from_u64(11);
    let dropout = Dropout { rate: 0.3, stream: 4 };
    let context = TrainContext { seed: 7, step: 3, offset: 0, padding: 0 };
    let x = random::<20, 4>(&mut rng, 1.0);
    let dy = random::<20, 4>(&mut rng, 1.0);
    let (mut y, mut mask) = (SMatrix::<f64, 20, 4>::zeros(), SMatrix::<f64, 20, 4>::zeros());
    dropout.forward_train(&x, &mut y, &mut mask, &context);
    for (i, (&y, &x)) in y.iter().zip(x.iter()).enumerate() {
        assert!(y == 0.0 || (y - x / 0.7).abs() < 1e-15, "value {i}: {y} from {x}");
    }
    let mut dx = SMatrix::<f64, 20, 4>::from_element(f64::NAN);
    dropout.backward(&x, &y, &dy, Some(&mut dx), &mut (), &mut mask);
    let mut worst: f64 = 0.0;
    for i in 0..80 {
        let (mut plus, mut minus) = (x, x);
        plus[i] += H;
        minus[i] -= H;
        let numeric = (objective(&dropout, &plus, &dy, &mut mask, &context)
            - objective(&dropout, &minus, &dy, &mut mask, &context))
            / (2.0 * H);
        worst = worst.max(rel_err(dx[i], numeric));
    }
    assert!(worst <= BAR, "dropout: {worst:e}");
    // Another step draws another mask; the same step and seed the same one.
    let mut again = SMatrix::<f64, 20, 4>::zeros();
    dropout.forward_train(&x, &mut again, &mut mask, &context);
    assert_eq!(again, y);
    dropout.forward_train(&x, &mut again, &mut mask, &TrainContext { step: 4, ..context });
    assert_ne!(again, y);
}

#[test]
fn dropout_masks_do_not_depend_on_how_the_batch_is_split() {
    let dropout = Dropout { rate: 0.5, stream: 0 };
    let x = SMatrix::<f64, 16, 8>::from_element(1.0);
    let context = TrainContext { seed: 3, step: 1, ..TrainContext::default() };
    let (mut whole, mut mask) = (SMatrix::<f64, 16, 8>::zeros(), SMatrix::zeros());
    dropout.forward_train(&x, &mut whole, &mut mask, &context);
    for shard in 0..2 {
        let (mut y, mut mask) = (SMatrix::<f64, 16, 4>::zeros(), SMatrix::zeros());
        let part = x.fixed_columns::<4>(4 * shard).into_owned();
        dropout.forward_train(&part, &mut y, &mut mask, &TrainContext { offset: 4 * shard, ..context });
        assert_eq!(y, whole.fixed_columns::<4>(4 * shard));
    }
    // Two layers of one model draw different masks.
    let (mut other, mut mask) = (SMatrix::<f64, 16, 8>::zeros(), SMatrix::zeros());
    Dropout { rate: 0.5, stream: 1 }.forward_train(&x, &mut other, &mut mask, &context);
    assert_ne!(other, whole);
}

staticnn::model! {
    /// Batch norm after a dense layer and after a convolution, in a residual block and its
    /// shortcut, with dropout: every path the training pass can take through them.
    #[model(scalar = f64)]
    struct NormNet {
        input(2, 5, 5),
        conv2d(3, 3, padding = 1), batchnorm2d(3), relu,
        residual {
            conv2d(4, 3, stride = 2, padding = 1), batchnorm(eps = 1e-3), tanh,
        } shortcut {
            conv2d(4, 1, stride = 2), batchnorm2d(momentum = 0.01),
        },
        flatten,
        dropout(0.25),
        dense(6), batchnorm1d, tanh,
        dropout(rate = 0.5),
        dense(3),
    }
}

#[test]
fn models_with_batchnorm_and_dropout_match_finite_differences() {
    let mut model = NormNet::new_boxed(Init::HeUniform, 12);
    let mut rng = StdRng::seed_from_u64(12);
    // Non-trivial scales and shifts, so that every term of the backward pass matters.
    model.layer1.weight.iter_mut().for_each(|g| *g = rng.random_range(0.5..1.5));
    model.layer1.bias.iter_mut().for_each(|b| *b = rng.random_range(-0.5..0.5));
    let x = random::<50, 6>(&mut rng, 1.0);
    let target = [0u32, 2, 1, 1, 0, 2];
    // A bias just before a batch norm has no effect (the batch mean absorbs it): its exact
    // gradient is zero, which central differences only reproduce to ~1e-11, a "relative"
    // error against the 1e-7 floor. Those are checked to be zero instead.
    let absorbed = ["0.bias", "3.0.bias", "3.shortcut.0.bias", "6.bias"];
    let (mut params, mut zero, mut offset) = (Vec::new(), Vec::new(), 0);
    model.visit(&mut |t| {
        let range = offset..offset + t.data.len();
        if absorbed.contains(&t.name.to_string().as_str()) {
            zero.extend(range)
        } else {
            params.extend(range.step_by(3))
        }
        offset += t.data.len();
    });
    assert_eq!(zero.len(), 3 + 4 + 4 + 6);
    let worst = check_model::<_, _, 50, 3, 6>(&mut *model, &SoftmaxCrossEntropy, &x, &target, &params);
    println!("NormNet: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");

    let (mut cache, mut grads) = (NormNet::zeroed_cache::<6>(), NormNet::zeroed_box());
    let mut grad_out = SMatrix::<f64, 3, 6>::zeros();
    let out = model.forward_train(&x, &mut cache);
    SoftmaxCrossEntropy.loss_and_grad(out, &target, 6, &mut grad_out).expect("finite loss");
    model.backward_params(&x, &mut cache, &grad_out, &mut grads);
    let largest = zero.iter().map(|&i| grads.as_slice()[i].abs()).fold(0.0, f64::max);
    assert!(largest < 1e-12, "a bias before a batch norm got the gradient {largest:e}");
}
