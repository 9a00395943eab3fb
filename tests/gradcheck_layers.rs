//! Finite-difference checks, in f64, of every layer's backward pass, each on its own and
//! through the one protocol they share, [`Layer`]: `Dense`, `Conv2d` and `DepthwiseConv2d`
//! (padding, per-axis strides, TensorFlow's asymmetric "same" padding, non-square kernels,
//! positions entirely in the padding), `MaxPool2d`, `AvgPool2d`,
//! `GlobalAvgPool`, each activation and `Softmax`. (Losses and whole generated models are
//! checked in `tests/gradcheck.rs` and `tests/gradcheck_conv.rs`.)
//!
//! For every layer: the input gradient and the parameter gradients against central
//! differences of `Σ dy ⊙ forward(x)`; `backward` with `dx = None` giving bit for bit the
//! same parameter gradients; `backward` adding to `grads` and overwriting `dx`; and
//! `forward_one` agreeing with each column of the batched `forward`.
//!
//! The error measure is that of `tests/common/gradcheck.rs`: `|analytic − numeric| /
//! max(|analytic| + |numeric|, 1e-7)`, central differences with `h = 1e-5`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use staticnn::prelude::*;
use staticnn::{
    AvgPool2d, Clamp, Conv2d, Dense, DepthwiseConv2d, GlobalAvgPool, Identity, LeakyRelu, MaxPool2d, Relu,
    Relu6, Sigmoid, Softmax, Tanh,
};

#[path = "common/gradcheck.rs"]
mod gradcheck;

use gradcheck::{BAR, H, assert_exact, random, rel_err};

/// How `check_layer` reaches a layer's parameters and gradients as flat slices.
struct Flat<L: Layer<f64, IN, OUT>, const IN: usize, const OUT: usize> {
    /// A zeroed gradient buffer.
    zero_grads: fn() -> Box<L::Grads>,
    /// The parameters, to perturb (empty for a layer without).
    params: fn(&mut L) -> &mut [f64],
    /// The gradients, to compare.
    grads: fn(&L::Grads) -> &[f64],
}

/// A layer with parameters: its gradients are a value of its own type.
fn with_params<L, const IN: usize, const OUT: usize>() -> Flat<L, IN, OUT>
where
    L: Layer<f64, IN, OUT, Grads = L> + Parameters<Scalar = f64>,
{
    Flat { zero_grads: L::zeroed_box, params: L::as_mut_slice, grads: L::as_slice }
}

/// A layer without parameters.
fn without_params<L, const IN: usize, const OUT: usize>() -> Flat<L, IN, OUT>
where
    L: Layer<f64, IN, OUT, Grads = ()>,
{
    Flat { zero_grads: || Box::new(()), params: |_| &mut [], grads: |_| &[] }
}

/// `Σ dy ⊙ forward(x)`, the objective whose gradients `backward` computes.
fn objective<L: Layer<f64, IN, OUT>, const IN: usize, const OUT: usize, const B: usize>(
    layer: &L,
    x: &SMatrix<f64, IN, B>,
    dy: &SMatrix<f64, OUT, B>,
    scratch: &mut L::Scratch<B>,
) -> f64 {
    let mut y = staticnn::zeroed_box::<SMatrix<f64, OUT, B>>();
    layer.forward(x, &mut *y, scratch);
    y.component_mul(dy).sum()
}

/// Checks one layer on the batch `x` (see the module documentation); returns the worst
/// relative error of its input and parameter gradients.
fn check_layer<L: Layer<f64, IN, OUT>, const IN: usize, const OUT: usize, const B: usize>(
    name: &str,
    layer: &mut L,
    flat: Flat<L, IN, OUT>,
    x: &SMatrix<f64, IN, B>,
    rng: &mut StdRng,
) -> f64 {
    assert_exact();
    let mut scratch = staticnn::zeroed_box::<L::Scratch<B>>();
    let mut y = staticnn::zeroed_box::<SMatrix<f64, OUT, B>>();
    layer.forward(x, &mut *y, &mut *scratch);
    for b in 0..B {
        let one = layer.forward_one(&x.column(b).into_owned());
        assert!(
            (y.column(b) - one).abs().max() < 1e-12,
            "{name}: forward_one and forward differ at sample {b}"
        );
    }

    // Backward into a `dx` full of garbage, which it must overwrite.
    let dy = random::<OUT, B>(rng, 1.0);
    let mut grads = (flat.zero_grads)();
    let mut dx = staticnn::zeroed_box::<SMatrix<f64, IN, B>>();
    dx.fill(f64::NAN);
    layer.backward(x, &*y, &dy, Some(&mut *dx), &mut *grads, &mut *scratch);
    assert!(dx.iter().all(|d| d.is_finite()), "{name}: backward left part of dx unwritten");

    // Without `dx`: the same parameter gradients, bit for bit.
    let mut grads_only = (flat.zero_grads)();
    layer.backward(x, &*y, &dy, None, &mut *grads_only, &mut *scratch);
    assert_eq!(
        (flat.grads)(&*grads),
        (flat.grads)(&*grads_only),
        "{name}: dx = None changes the parameter gradients"
    );

    // A second pass adds to the gradients (and overwrites `dx` again).
    let mut dx2 = staticnn::zeroed_box::<SMatrix<f64, IN, B>>();
    dx2.fill(-1.0);
    layer.backward(x, &*y, &dy, Some(&mut *dx2), &mut *grads_only, &mut *scratch);
    assert_eq!(dx.as_slice(), dx2.as_slice(), "{name}: dx is not overwritten");
    for (&twice, &once) in (flat.grads)(&*grads_only).iter().zip((flat.grads)(&*grads)) {
        assert!(
            (twice - 2.0 * once).abs() <= 1e-12 * once.abs().max(1.0),
            "{name}: grads are not accumulated"
        );
    }

    let mut worst: f64 = 0.0;
    for i in 0..IN * B {
        let (mut plus, mut minus) = (*x, *x);
        plus[i] += H;
        minus[i] -= H;
        let numeric = (objective(layer, &plus, &dy, &mut *scratch)
            - objective(layer, &minus, &dy, &mut *scratch))
            / (2.0 * H);
        worst = worst.max(rel_err(dx[i], numeric));
    }
    let analytic = (flat.grads)(&*grads).to_vec();
    assert_eq!(analytic.len(), (flat.params)(layer).len(), "{name}: gradients and parameters differ in size");
    for (i, &a) in analytic.iter().enumerate() {
        let p = (flat.params)(layer)[i];
        (flat.params)(layer)[i] = p + H;
        let plus = objective(layer, x, &dy, &mut *scratch);
        (flat.params)(layer)[i] = p - H;
        let minus = objective(layer, x, &dy, &mut *scratch);
        (flat.params)(layer)[i] = p;
        worst = worst.max(rel_err(a, (plus - minus) / (2.0 * H)));
    }
    println!("{name}: worst relative error {worst:e}");
    assert!(worst <= BAR, "{name}: relative error {worst:e} exceeds {BAR:e}");
    worst
}

#[test]
fn depthwise_convolutions_match_finite_differences() {
    report(
        "depthwise conv2d",
        &[
            // Multiplier 2, "same" padding.
            check_params::<DepthwiseConv2d<f64, 2, 5, 5, 2, 3, 3, 1, 1, 1, 1, 5, 5, 50, 100, 4, 9>, 50, 100>(
                "depthwise 2×5×5 → 4×5×5 (3×3, multiplier 2, padding 1)",
                21,
            ),
            // Stride 2 on an odd, non-square input, with positions entirely in the padding.
            check_params::<DepthwiseConv2d<f64, 3, 7, 6, 1, 3, 3, 2, 2, 1, 1, 4, 3, 126, 36, 3, 9>, 126, 36>(
                "depthwise 3×7×6 → 3×4×3 (3×3, stride 2, padding 1)",
                22,
            ),
            // A non-square kernel, no padding, multiplier 3.
            check_params::<DepthwiseConv2d<f64, 2, 6, 5, 3, 2, 4, 1, 1, 0, 0, 5, 2, 60, 60, 6, 8>, 60, 60>(
                "depthwise 2×6×5 → 6×5×2 (2×4, multiplier 3)",
                23,
            ),
            // TensorFlow's "same" with stride 2 (the odd padding column on the right).
            check_params::<DepthwiseConv2d<f64, 2, 7, 6, 1, 3, 3, 2, 2, 1, 0, 4, 3, 84, 24, 2, 9>, 84, 24>(
                "depthwise 2×7×6 → 2×4×3 (3×3, stride 2, padding same)",
                25,
            ),
            // Per-axis stride (1, 2), "same", multiplier 2.
            check_params::<DepthwiseConv2d<f64, 2, 5, 6, 2, 3, 3, 1, 2, 1, 0, 5, 3, 60, 60, 4, 9>, 60, 60>(
                "depthwise 2×5×6 → 4×5×3 (3×3, stride (1, 2), padding same, multiplier 2)",
                26,
            ),
        ],
    );
}

/// A depthwise convolution is the grouped convolution it stands for: the same as a
/// `Conv2d` whose weight is zero outside each output channel's own input channel.
#[test]
fn depthwise_convolution_is_a_grouped_convolution() {
    type Depthwise = DepthwiseConv2d<f64, 3, 6, 5, 2, 3, 3, 2, 2, 1, 1, 3, 3, 90, 54, 6, 9>;
    type Full = Conv2d<f64, 3, 6, 5, 6, 3, 3, 2, 2, 1, 1, 3, 3, 90, 54, 27, 9>;
    let mut rng = StdRng::seed_from_u64(24);
    let mut depthwise = Depthwise::zeroed_box();
    depthwise.initialize(Init::Uniform { low: -1.0, high: 1.0 }, &mut rng);
    let mut full = Full::zeroed_box();
    full.bias = depthwise.bias;
    for oc in 0..6 {
        for tap in 0..9 {
            // Output channel `oc` reads input channel `oc / 2` (multiplier 2).
            full.weight[((oc / 2) * 9 + tap, oc)] = depthwise.weight[(tap, oc)];
        }
    }
    let x = random::<90, 1>(&mut rng, 1.0);
    let (a, b) =
        (depthwise.forward_one(&x.column(0).into_owned()), full.forward_one(&x.column(0).into_owned()));
    assert!((a - b).abs().max() < 1e-12, "{}", (a - b).abs().max());
}

/// `x`, one `C × H × W` image, with `top` and `bottom` zero rows and `left` and `right` zero
/// columns around each channel.
fn pad_image<const C: usize, const H: usize, const W: usize, const IN: usize, const PADDED: usize>(
    x: &SVector<f64, IN>,
    [top, bottom, left, right]: [usize; 4],
) -> SVector<f64, PADDED> {
    let (ph, pw) = (H + top + bottom, W + left + right);
    assert_eq!((IN, PADDED), (C * H * W, C * ph * pw));
    SVector::from_fn(|i, _| {
        let (c, r, col) = (i / (ph * pw), i / pw % ph, i % pw);
        let inside = (top..top + H).contains(&r) && (left..left + W).contains(&col);
        if inside { x[c * H * W + (r - top) * W + (col - left)] } else { 0.0 }
    })
}

/// TensorFlow's asymmetric "same" padding is what it says: the padded layer computes what
/// the unpadded one computes on the input with the zeros written in (more below and on the
/// right when the total is odd), for a convolution and a depthwise convolution.
#[test]
fn asymmetric_padding_is_zeros_written_around_the_input() {
    let mut rng = StdRng::seed_from_u64(45);
    // 1×11×6, 10×4 kernel, stride 2, "same": 4 rows above, 5 below, 1 column each side.
    type Same = Conv2d<f64, 1, 11, 6, 2, 10, 4, 2, 2, 4, 1, 6, 3, 66, 36, 40, 18>;
    type Valid = Conv2d<f64, 1, 20, 8, 2, 10, 4, 2, 2, 0, 0, 6, 3, 160, 36, 40, 18>;
    let mut same = Same::zeroed_box();
    same.initialize(Init::Uniform { low: -1.0, high: 1.0 }, &mut rng);
    let mut valid = Valid::zeroed_box();
    (valid.weight, valid.bias) = (same.weight, same.bias);
    let x = random::<66, 1>(&mut rng, 1.0).column(0).into_owned();
    let padded = pad_image::<1, 11, 6, 66, 160>(&x, [4, 5, 1, 1]);
    let diff = (same.forward_one(&x) - valid.forward_one(&padded)).abs().max();
    assert!(diff < 1e-12, "conv2d: {diff}");

    // 2×7×6, 3×3 depthwise, stride 2, "same": 1 row above and below, 1 column on the right.
    type SameDw = DepthwiseConv2d<f64, 2, 7, 6, 1, 3, 3, 2, 2, 1, 0, 4, 3, 84, 24, 2, 9>;
    type ValidDw = DepthwiseConv2d<f64, 2, 9, 7, 1, 3, 3, 2, 2, 0, 0, 4, 3, 126, 24, 2, 9>;
    let mut same = SameDw::zeroed_box();
    same.initialize(Init::Uniform { low: -1.0, high: 1.0 }, &mut rng);
    let mut valid = ValidDw::zeroed_box();
    (valid.weight, valid.bias) = (same.weight, same.bias);
    let x = random::<84, 1>(&mut rng, 1.0).column(0).into_owned();
    let padded = pad_image::<2, 7, 6, 84, 126>(&x, [1, 1, 0, 1]);
    let diff = (same.forward_one(&x) - valid.forward_one(&padded)).abs().max();
    assert!(diff < 1e-12, "depthwise_conv2d: {diff}");
}

/// Checks a layer with parameters, initialised uniformly in `(−1, 1)`, on a batch of 3.
fn check_params<L, const IN: usize, const OUT: usize>(name: &str, seed: u64) -> f64
where
    L: Layer<f64, IN, OUT, Grads = L> + Parameters<Scalar = f64> + Initialize,
{
    let mut rng = StdRng::seed_from_u64(seed);
    let mut layer = L::zeroed_box();
    layer.initialize(Init::Uniform { low: -1.0, high: 1.0 }, &mut rng);
    let x = random::<IN, 3>(&mut rng, 1.0);
    check_layer(name, &mut *layer, with_params(), &x, &mut rng)
}

/// Checks a layer without parameters on a batch of 3 with inputs in `(−scale, scale)`.
fn check_plain<L, const IN: usize, const OUT: usize>(name: &str, mut layer: L, scale: f64, seed: u64) -> f64
where
    L: Layer<f64, IN, OUT, Grads = ()>,
{
    let mut rng = StdRng::seed_from_u64(seed);
    let x = random::<IN, 3>(&mut rng, scale);
    check_layer(name, &mut layer, without_params(), &x, &mut rng)
}

fn report(kind: &str, worst: &[f64]) {
    println!("worst {kind} error: {:e}", worst.iter().cloned().fold(0.0, f64::max));
}

#[test]
fn dense_matches_finite_differences() {
    report(
        "dense",
        &[
            check_params::<Dense<f64, 5, 4>, 5, 4>("dense 5 → 4", 1),
            check_params::<Dense<f64, 1, 1>, 1, 1>("dense 1 → 1", 2),
            // Odd sizes past a SIMD tile in both directions.
            check_params::<Dense<f64, 37, 19>, 37, 19>("dense 37 → 19", 3),
        ],
    );
}

#[test]
fn convolutions_match_finite_differences() {
    report(
        "convolution",
        &[
            // 2×5×5 → 3×5×5: 3×3 kernel, padding 1.
            check_params::<Conv2d<f64, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 5, 5, 50, 75, 18, 25>, 50, 75>(
                "3×3, padding 1",
                11,
            ),
            // 2×7×6 → 3×4×3: stride 2, padding 1; the last column is left over.
            check_params::<Conv2d<f64, 2, 7, 6, 3, 3, 3, 2, 2, 1, 1, 4, 3, 84, 36, 18, 12>, 84, 36>(
                "3×3, stride 2, padding 1",
                12,
            ),
            // 3×6×5 → 2×5×2: non-square 2×4 kernel, no padding.
            check_params::<Conv2d<f64, 3, 6, 5, 2, 2, 4, 1, 1, 0, 0, 5, 2, 90, 20, 24, 10>, 90, 20>(
                "2×4, no padding",
                13,
            ),
            // 1×4×4 → 2×4×3: 1×3 kernel, stride 2, padding 2 (some positions entirely in padding).
            check_params::<Conv2d<f64, 1, 4, 4, 2, 1, 3, 2, 2, 2, 2, 4, 3, 16, 24, 3, 12>, 16, 24>(
                "1×3, stride 2, padding 2",
                14,
            ),
            // 2×6×5 → 3×4×5: 5×3 kernel, padding 1: the width is kept, the height shrinks.
            check_params::<Conv2d<f64, 2, 6, 5, 3, 5, 3, 1, 1, 1, 1, 4, 5, 60, 60, 30, 20>, 60, 60>(
                "5×3, padding 1",
                15,
            ),
            // 2×1×4 → 3×1×4: 3×3, padding 1 on a single row (two kernel rows read only padding).
            check_params::<Conv2d<f64, 2, 1, 4, 3, 3, 3, 1, 1, 1, 1, 1, 4, 8, 12, 18, 4>, 8, 12>(
                "3×3, padding 1, one row",
                16,
            ),
            // 3×4×4 → 2×4×4: a 1×1 kernel.
            check_params::<Conv2d<f64, 3, 4, 4, 2, 1, 1, 1, 1, 0, 0, 4, 4, 48, 32, 3, 16>, 48, 32>("1×1", 17),
            // 2×3×3 → 4×1×1: the kernel covers the whole input.
            check_params::<Conv2d<f64, 2, 3, 3, 4, 3, 3, 1, 1, 0, 0, 1, 1, 18, 4, 18, 1>, 18, 4>(
                "3×3 on 3×3",
                18,
            ),
            // 1×7×7 → 2×3×3: stride 3 with padding 1.
            check_params::<Conv2d<f64, 1, 7, 7, 2, 3, 3, 3, 3, 1, 1, 3, 3, 49, 18, 9, 9>, 49, 18>(
                "3×3, stride 3, padding 1",
                19,
            ),
            // TensorFlow's "same" with stride 2: 2×7×6 → 3×4×3, one row of padding above and
            // one below, none on the left and one on the right.
            check_params::<Conv2d<f64, 2, 7, 6, 3, 3, 3, 2, 2, 1, 0, 4, 3, 84, 36, 18, 12>, 84, 36>(
                "3×3, stride 2, padding same",
                40,
            ),
            // DS-CNN's first layer in small: a 10×4 kernel, stride 2, "same": 4 rows above, 5
            // below, one column on each side.
            check_params::<Conv2d<f64, 1, 11, 6, 2, 10, 4, 2, 2, 4, 1, 6, 3, 66, 36, 40, 18>, 66, 36>(
                "10×4, stride 2, padding same",
                41,
            ),
            // Per-axis stride (2, 1) and padding (0, 1).
            check_params::<Conv2d<f64, 2, 6, 5, 3, 3, 3, 2, 1, 0, 1, 2, 5, 60, 30, 18, 10>, 60, 30>(
                "3×3, stride (2, 1), padding (0, 1)",
                42,
            ),
            // Even kernels with stride 1 and "same": the odd padding row and column after the
            // image, on the whole-channel shift path (`OW = W`).
            check_params::<Conv2d<f64, 2, 4, 5, 3, 2, 2, 1, 1, 0, 0, 4, 5, 40, 60, 8, 20>, 40, 60>(
                "2×2, padding same",
                43,
            ),
            check_params::<Conv2d<f64, 1, 5, 6, 2, 4, 4, 1, 1, 1, 1, 5, 6, 30, 60, 16, 30>, 30, 60>(
                "4×4, padding same",
                44,
            ),
        ],
    );
}

#[test]
fn pools_match_finite_differences() {
    // Random inputs: the maximum of each window is unique, so max pooling is differentiable.
    report(
        "pooling",
        &[
            // 2×2 windows, stride 2, on 6×5 (the last column is left over).
            check_plain("maxpool 2, stride 2", MaxPool2d::<2, 6, 5, 2, 2, 2, 2, 3, 2, 60, 12>, 1.0, 21),
            // Overlapping windows: an input can be the maximum of several.
            check_plain("maxpool 2, stride 1", MaxPool2d::<1, 4, 4, 2, 2, 1, 1, 3, 3, 16, 9>, 1.0, 22),
            // 3×3 windows, stride 2 (overlapping), on 6×5.
            check_plain("avgpool 3, stride 2", AvgPool2d::<2, 6, 5, 3, 3, 2, 2, 2, 2, 60, 8>, 1.0, 23),
            check_plain("avgpool 2, stride 2", AvgPool2d::<3, 4, 4, 2, 2, 2, 2, 2, 2, 48, 12>, 1.0, 24),
            // Rectangular windows with per-axis strides.
            check_plain(
                "maxpool (2, 3), stride (2, 1)",
                MaxPool2d::<2, 6, 5, 2, 3, 2, 1, 3, 3, 60, 18>,
                1.0,
                26,
            ),
            check_plain(
                "avgpool (3, 2), stride (1, 2)",
                AvgPool2d::<1, 5, 6, 3, 2, 1, 2, 3, 3, 30, 9>,
                1.0,
                27,
            ),
            check_plain("global avgpool", GlobalAvgPool::<2, 6, 5, 60>, 1.0, 25),
        ],
    );
}

#[test]
fn activations_match_finite_differences() {
    report(
        "activation",
        &[
            check_plain::<_, 6, 6>("relu", Relu, 3.0, 31),
            // Inputs up to ±8 cross both kinks.
            check_plain::<_, 6, 6>("relu6", Relu6, 8.0, 38),
            // A range inside the inputs' ±2: both ends crossed.
            check_plain::<_, 6, 6>("clamp", Clamp(-1.0, 0.5), 2.0, 39),
            check_plain::<_, 6, 6>("leaky_relu", LeakyRelu(0.1), 3.0, 32),
            check_plain::<_, 6, 6>("sigmoid", Sigmoid, 3.0, 33),
            check_plain::<_, 6, 6>("tanh", Tanh, 3.0, 34),
            check_plain::<_, 6, 6>("identity", Identity, 3.0, 35),
            check_plain::<_, 6, 6>("softmax", Softmax, 3.0, 36),
            check_plain::<_, 1, 1>("softmax of one", Softmax, 3.0, 37),
        ],
    );
}

#[test]
fn maxpool_routes_ties_to_the_first_maximum() {
    // One 2×2 window of equal values: PyTorch sends the gradient to the first.
    let x = SMatrix::<f64, 4, 1>::from_element(0.5);
    let pool = MaxPool2d::<1, 2, 2, 2, 2, 2, 2, 1, 1, 4, 1>;
    let mut y = SMatrix::zeros();
    pool.forward(&x, &mut y, &mut ());
    let mut dx = SMatrix::zeros();
    pool.backward(&x, &y, &SMatrix::from_element(1.0), Some(&mut dx), &mut (), &mut ());
    assert_eq!(dx.as_slice(), &[1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn residual_adds_the_skip_path() {
    use staticnn::layers::residual::{add, add_grad};
    let mut rng = StdRng::seed_from_u64(41);
    let (x, fx) = (random::<5, 2>(&mut rng, 1.0), random::<5, 2>(&mut rng, 1.0));
    let mut y = SMatrix::zeros();
    add(&x, &fx, &mut y);
    assert_eq!(y, x + fx);
    let (dy, through_block) = (random::<5, 2>(&mut rng, 1.0), random::<5, 2>(&mut rng, 1.0));
    let mut dx = through_block;
    add_grad(&dy, &mut dx);
    assert_eq!(dx, through_block + dy);
}
