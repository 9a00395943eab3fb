//! Finite-difference checks, in f64, of the convolutional layers' backward passes: each
//! runtime layer on its own (convolutions with padding, stride 2 and non-square kernels,
//! the pools, residual connections), then whole generated CNNs (parameter and input
//! gradients), and the batched passes against the single-sample ones.
//!
//! The error measure is that of `tests/gradcheck.rs`: `|analytic − numeric| /
//! max(|analytic| + |numeric|, 1e-7)`, central differences with `h = 1e-5`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use staticnn::prelude::*;
use staticnn::{AvgPool2d, Conv2d, Conv2dScratch, GlobalAvgPool, MaxPool2d};

#[path = "common/gradcheck.rs"]
mod gradcheck;

use gradcheck::{BAR, H, all_params, check_model, random, rel_err};

/// The worst error of `dx` (and of the parameter gradients `grads`, against `params`)
/// for the objective `Σ dy ⊙ f(x)`.
fn worst_error<const IN: usize, const OUT: usize, const B: usize>(
    x: &SMatrix<f64, IN, B>,
    dy: &SMatrix<f64, OUT, B>,
    dx: &SMatrix<f64, IN, B>,
    mut f: impl FnMut(&SMatrix<f64, IN, B>) -> SMatrix<f64, OUT, B>,
) -> f64 {
    let mut worst: f64 = 0.0;
    for i in 0..IN * B {
        let (mut plus, mut minus) = (*x, *x);
        plus[i] += H;
        minus[i] -= H;
        let numeric = (f(&plus).component_mul(dy).sum() - f(&minus).component_mul(dy).sum()) / (2.0 * H);
        worst = worst.max(rel_err(dx[i], numeric));
    }
    worst
}

/// Checks one convolution's input, weight and bias gradients, and its batched forward
/// against the direct single-sample one; returns the worst relative error.
macro_rules! check_conv {
    ($name:expr, $conv:ty, $in:literal -> $out:literal, scratch $l:literal, $k:literal, $oc:literal) => {{
        const B: usize = 2;
        let name = $name;
        let mut rng = StdRng::seed_from_u64(11);
        let mut conv = Box::new(<$conv>::ZERO);
        conv.initialize(Init::Uniform { low: -1.0, high: 1.0 }, &mut rng);
        let x = random::<$in, B>(&mut rng, 1.0);
        let dy = random::<$out, B>(&mut rng, 1.0);
        let mut scratch = staticnn::zeroed_box::<Conv2dScratch<f64, $l, $k, $oc>>();
        let mut y = SMatrix::<f64, $out, B>::zeros();
        conv.forward_batch(&x, &mut y, &mut scratch);
        for b in 0..B {
            let direct = conv.forward(&x.column(b).into_owned());
            assert!((y.column(b) - direct).abs().max() < 1e-12, "{name}: batched and direct forward differ");
        }

        let mut grads = Box::new(<$conv>::ZERO);
        let mut dx = SMatrix::<f64, $in, B>::zeros();
        conv.backward(&x, &dy, &mut grads, &mut dx, &mut scratch);
        let mut grads2 = Box::new(<$conv>::ZERO);
        conv.backward_params(&x, &dy, &mut grads2, &mut scratch);
        assert_eq!(grads.as_slice(), grads2.as_slice(), "{name}: backward_params differs from backward");

        let mut forward = |conv: &$conv, x: &SMatrix<f64, $in, B>| {
            let mut y = SMatrix::<f64, $out, B>::zeros();
            conv.forward_batch(x, &mut y, &mut scratch);
            y
        };
        let mut worst = worst_error(&x, &dy, &dx, |x| forward(&conv, x));
        for i in 0..<$conv>::LEN {
            let p = conv.as_slice()[i];
            conv.as_mut_slice()[i] = p + H;
            let plus = forward(&conv, &x).component_mul(&dy).sum();
            conv.as_mut_slice()[i] = p - H;
            let minus = forward(&conv, &x).component_mul(&dy).sum();
            conv.as_mut_slice()[i] = p;
            worst = worst.max(rel_err(grads.as_slice()[i], (plus - minus) / (2.0 * H)));
        }
        println!("{name}: worst relative error {worst:e}");
        assert!(worst <= BAR, "{name}: relative error {worst:e} exceeds {BAR:e}");
        worst
    }};
}

#[test]
fn convolutions_match_finite_differences() {
    let worst = [
        // 2×5×5 → 3×5×5: 3×3 kernel, padding 1.
        check_conv!("3×3, padding 1", Conv2d<f64, 2, 5, 5, 3, 3, 3, 1, 1, 5, 5, 50, 75, 18>, 50 -> 75, scratch 25, 18, 3),
        // 2×7×6 → 3×4×3: stride 2, padding 1; the last column is left over.
        check_conv!(
            "3×3, stride 2, padding 1",
            Conv2d<f64, 2, 7, 6, 3, 3, 3, 2, 1, 4, 3, 84, 36, 18>,
            84 -> 36,
            scratch 12, 18, 3
        ),
        // 3×6×5 → 2×5×2: non-square 2×4 kernel, no padding.
        check_conv!("2×4, no padding", Conv2d<f64, 3, 6, 5, 2, 2, 4, 1, 0, 5, 2, 90, 20, 24>, 90 -> 20, scratch 10, 24, 2),
        // 1×4×4 → 2×4×3: 1×3 kernel, stride 2, padding 2 (some positions entirely in padding).
        check_conv!(
            "1×3, stride 2, padding 2",
            Conv2d<f64, 1, 4, 4, 2, 1, 3, 2, 2, 4, 3, 16, 24, 3>,
            16 -> 24,
            scratch 12, 3, 2
        ),
        // 2×6×5 → 3×4×5: 5×3 kernel, padding 1: the width is kept, the height shrinks.
        check_conv!(
            "5×3, padding 1",
            Conv2d<f64, 2, 6, 5, 3, 5, 3, 1, 1, 4, 5, 60, 60, 30>,
            60 -> 60,
            scratch 20, 30, 3
        ),
        // 2×1×4 → 3×1×4: 3×3, padding 1 on a single row (two kernel rows read only padding).
        check_conv!(
            "3×3, padding 1, one row",
            Conv2d<f64, 2, 1, 4, 3, 3, 3, 1, 1, 1, 4, 8, 12, 18>,
            8 -> 12,
            scratch 4, 18, 3
        ),
        // 3×4×4 → 2×4×4: a 1×1 kernel.
        check_conv!("1×1", Conv2d<f64, 3, 4, 4, 2, 1, 1, 1, 0, 4, 4, 48, 32, 3>, 48 -> 32, scratch 16, 3, 2),
        // 2×3×3 → 4×1×1: the kernel covers the whole input.
        check_conv!("3×3 on 3×3", Conv2d<f64, 2, 3, 3, 4, 3, 3, 1, 0, 1, 1, 18, 4, 18>, 18 -> 4, scratch 1, 18, 4),
    ];
    println!("worst convolution error: {:e}", worst.iter().cloned().fold(0.0, f64::max));
}

#[test]
fn pools_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(12);
    // Distinct values, so the maximum of each window is unique and differentiable.
    let x = random::<{ 2 * 6 * 5 }, 2>(&mut rng, 1.0);
    let dy = random::<{ 2 * 3 * 2 }, 2>(&mut rng, 1.0);

    // Max pooling, 2×2 windows, stride 2, on 6×5 (the last column is left over).
    let max = MaxPool2d::<2, 6, 5, 2, 2, 3, 2, 60, 12>;
    let mut y = SMatrix::zeros();
    max.forward_batch(&x, &mut y);
    let mut dx = SMatrix::zeros();
    max.backward(&x, &y, &dy, &mut dx);
    let run = |x: &SMatrix<f64, 60, 2>| {
        let mut y = SMatrix::zeros();
        max.forward_batch(x, &mut y);
        y
    };
    let worst_max = worst_error(&x, &dy, &dx, run);
    assert!((y.column(1) - max.forward(&x.column(1).into_owned())).abs().max() == 0.0);

    // Average pooling, 3×3 windows, stride 2 (overlapping), on 6×5.
    let avg = AvgPool2d::<2, 6, 5, 3, 2, 2, 2, 60, 8>;
    let dy = random::<8, 2>(&mut rng, 1.0);
    let mut y = SMatrix::zeros();
    avg.forward_batch(&x, &mut y);
    let mut dx = SMatrix::zeros();
    avg.backward(&x, &y, &dy, &mut dx);
    let run = |x: &SMatrix<f64, 60, 2>| {
        let mut y = SMatrix::zeros();
        avg.forward_batch(x, &mut y);
        y
    };
    let worst_avg = worst_error(&x, &dy, &dx, run);
    assert!((y.column(0) - avg.forward(&x.column(0).into_owned())).abs().max() < 1e-15);

    // Global average pooling.
    let global = GlobalAvgPool::<2, 6, 5, 60>;
    let dy = random::<2, 2>(&mut rng, 1.0);
    let mut y = SMatrix::zeros();
    global.forward_batch(&x, &mut y);
    let mut dx = SMatrix::zeros();
    global.backward(&x, &y, &dy, &mut dx);
    let run = |x: &SMatrix<f64, 60, 2>| {
        let mut y = SMatrix::zeros();
        global.forward_batch(x, &mut y);
        y
    };
    let worst_global = worst_error(&x, &dy, &dx, run);
    println!("maxpool {worst_max:e}, avgpool {worst_avg:e}, global_avgpool {worst_global:e}");
    for (name, worst) in [("maxpool", worst_max), ("avgpool", worst_avg), ("global_avgpool", worst_global)] {
        assert!(worst <= BAR, "{name}: relative error {worst:e} exceeds {BAR:e}");
    }
}

#[test]
fn maxpool_routes_ties_to_the_first_maximum() {
    // One 2×2 window of equal values: PyTorch sends the gradient to the first.
    let x = SMatrix::<f64, 4, 1>::from_element(0.5);
    let pool = MaxPool2d::<1, 2, 2, 2, 2, 1, 1, 4, 1>;
    let mut y = SMatrix::zeros();
    pool.forward_batch(&x, &mut y);
    let mut dx = SMatrix::zeros();
    pool.backward(&x, &y, &SMatrix::from_element(1.0), &mut dx);
    assert_eq!(dx.as_slice(), &[1.0, 0.0, 0.0, 0.0]);
}

/// `forward` (one sample, direct convolution) agrees with `forward_batch` (im2col).
fn check_single_matches_batch<
    M: Model<IN, OUT, Scalar = f64>,
    const IN: usize,
    const OUT: usize,
    const B: usize,
>(
    model: &M,
    x: &SMatrix<f64, IN, B>,
) {
    let mut cache = M::zeroed_cache::<B>();
    let batch = *model.forward_batch(x, &mut cache);
    for (b, column) in x.column_iter().enumerate() {
        let single = model.forward(&column.into_owned());
        assert!(
            (batch.column(b) - single).abs().max() < 1e-12,
            "sample {b}: forward and forward_batch differ"
        );
    }
}

staticnn::model! {
    /// Padding, stride 2 with a non-square kernel, a residual block, both pools, flatten → dense.
    #[model(scalar = f64)]
    struct SmallCnn {
        input(2, 9, 8),
        conv2d(4, 3, padding = 1), relu,
        conv2d(4, kernel = (2, 3), stride = 2, padding = 1), tanh,
        block: residual {
            conv2d(4, 3, padding = 1), relu,
            conv2d(4, 3, padding = 1),
        },
        maxpool(2, stride = 1),
        avgpool(2),
        flatten,
        dense(8 -> 5), sigmoid,
        dense(3),
    }
}

staticnn::model! {
    /// A residual block first (its first layer is the first with parameters), nested
    /// residual blocks, global average pooling and a softmax head.
    #[model(scalar = f64)]
    struct Gap {
        input(3, 5, 5),
        residual {
            conv2d(3, 3, padding = 1), leaky_relu(0.1),
            residual { conv2d(3, (3, 1), padding = 1), maxpool(3, stride = 1), conv2d(3, (1, 3), padding = 1) },
        },
        conv2d(6, 1), global_avgpool,
        dense(4), softmax,
    }
}

staticnn::model! {
    /// `flatten` straight after the input.
    #[model(scalar = f64)]
    struct FlatFirst {
        input(1, 4, 4),
        flatten,
        dense(3),
    }
}

#[test]
fn small_cnn_matches_finite_differences() {
    let mut rng = StdRng::seed_from_u64(13);
    let mut model = SmallCnn::new_boxed(Init::HeUniform, 14);
    let x = random::<{ 2 * 9 * 8 }, 2>(&mut rng, 1.0);
    check_single_matches_batch(&*model, &x);
    let worst = check_model(&mut *model, &SoftmaxCrossEntropy, &x, &[2, 0], &all_params::<SmallCnn>());
    println!("small CNN: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");
}

#[test]
fn residual_and_global_pool_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(15);
    let mut model = Gap::new_boxed(Init::HeUniform, 16);
    let x = random::<{ 3 * 5 * 5 }, 3>(&mut rng, 1.0);
    check_single_matches_batch(&*model, &x);
    let worst = check_model(&mut *model, &SoftmaxCrossEntropy, &x, &[3, 0, 1], &all_params::<Gap>());
    println!("residual + global_avgpool: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");

    let mut flat = FlatFirst::new_boxed(Init::HeUniform, 17);
    let x = random::<16, 2>(&mut rng, 1.0);
    let worst = check_model(
        &mut *flat,
        &MeanSquaredError,
        &x,
        &random::<3, 2>(&mut rng, 1.0),
        &all_params::<FlatFirst>(),
    );
    println!("flatten → dense: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");
}
