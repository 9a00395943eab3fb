//! Finite-difference checks, in f64, of whole generated CNNs (padding, TensorFlow's
//! "same" padding, per-axis strides, non-square kernels and pools, residual blocks with
//! and without shortcut branches, depthwise convolutions, both pools, residual blocks, global average pooling,
//! flatten; parameter and
//! input gradients), and their batched passes against the single-sample ones. The layers on
//! their own are checked in `tests/gradcheck_layers.rs`.
//!
//! The error measure is that of `tests/gradcheck.rs`: `|analytic − numeric| /
//! max(|analytic| + |numeric|, 1e-7)`, central differences with `h = 1e-5`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use staticnn::prelude::*;

#[path = "common/gradcheck.rs"]
mod gradcheck;

use gradcheck::{BAR, all_params, check_model, random};

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

staticnn::model! {
    /// A depthwise-separable block as MobileNet and DS-CNN have it: a depthwise convolution
    /// (multiplier 2, stride 2) and a pointwise 1×1 one, each followed by `relu6`.
    #[model(scalar = f64)]
    struct Separable {
        input(3, 7, 6),
        depthwise_conv2d(3, multiplier = 2, stride = 2, padding = 1), relu6,
        conv2d(4, 1), relu6,
        depthwise_conv2d((2, 3)), tanh,
        flatten,
        dense(3),
    }
}

staticnn::model! {
    /// DS-CNN (MLPerf Tiny's keyword spotter) at reduced size: a 10×4 first convolution
    /// with stride 2 and TensorFlow's "same" padding (the odd padding row below), a
    /// depthwise-separable block with "same" padding and per-axis stride, and a
    /// rectangular average pool over what is left.
    #[model(scalar = f64)]
    struct DsCnn {
        input(1, 13, 6),
        conv2d(4, (10, 4), stride = 2, padding = same), relu,
        depthwise_conv2d(3, stride = (2, 1), padding = same), relu,
        conv2d(5, 1), relu,
        avgpool((4, 3)),
        flatten,
        dense(3),
    }
}

staticnn::model! {
    /// ResNet-8 (MLPerf Tiny's image classifier) at reduced size: an identity block, then a
    /// block that halves the image and widens it, whose shortcut is a strided 1×1
    /// convolution (with a nested identity block inside it, to exercise nesting). `tanh`
    /// where ResNet has ReLU: smooth, so no finite difference straddles a kink.
    #[model(scalar = f64)]
    struct ResNet {
        input(3, 8, 8),
        conv2d(4, 3, padding = same), tanh,
        residual { conv2d(4, 3, padding = same), tanh, conv2d(4, 3, padding = same) }, tanh,
        down: residual {
            conv2d(6, 3, stride = 2, padding = same), tanh,
            conv2d(6, 3, padding = same),
        } shortcut {
            conv2d(6, 1, stride = 2),
            residual { conv2d(6, 1), tanh },
        },
        tanh,
        avgpool(4),
        flatten,
        dense(3),
    }
}

#[test]
fn residual_shortcuts_match_finite_differences() {
    let names: Vec<String> = {
        let model = ResNet::new_boxed(Init::HeUniform, 1);
        let mut names = Vec::new();
        model.visit(&mut |t| names.push(t.name.to_string()));
        names
    };
    // The block's layers, then its shortcut's, PyTorch-style keys.
    assert_eq!(
        names[6..],
        ["down.0.weight", "down.0.bias", "down.2.weight", "down.2.bias", "down.shortcut.0.weight"]
            .iter()
            .chain(&["down.shortcut.0.bias", "down.shortcut.1.0.weight", "down.shortcut.1.0.bias"])
            .chain(&["8.weight", "8.bias"])
            .map(|s| s.to_string())
            .collect::<Vec<_>>()[..]
    );
    // 4·8·8·27 + 2 · 4·8·8·36, then the down block 6·4·4·36 + 6·4·4·54, its shortcut
    // 6·4·4·4 + 6·4·4·6, and the dense layer 6·3.
    let (first, identity) = (4 * 64 * 27, 2 * 4 * 64 * 36);
    let down = 6 * 16 * 36 + 6 * 16 * 54 + 6 * 16 * 4 + 6 * 16 * 6;
    assert_eq!(ResNet::MACS, first + identity + down + 18);

    let mut rng = StdRng::seed_from_u64(23);
    let mut model = ResNet::new_boxed(Init::Uniform { low: -0.5, high: 0.5 }, 24);
    let x = random::<{ 3 * 8 * 8 }, 2>(&mut rng, 1.0);
    check_single_matches_batch(&*model, &x);
    let worst = check_model(&mut *model, &SoftmaxCrossEntropy, &x, &[2, 0], &all_params::<ResNet>());
    println!("ResNet with a strided shortcut: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");
}

#[test]
fn same_padding_and_per_axis_strides_match_finite_differences() {
    // 13×6 → ⌈13/2⌉×⌈6/2⌉ = 7×3 → ⌈7/2⌉×3 = 4×3 → pooled to 1×1.
    assert_eq!(DsCnn::MACS, 4 * 7 * 3 * 40 + 4 * 4 * 3 * 9 + 5 * 4 * 3 * 4 + 5 * 3);
    let mut rng = StdRng::seed_from_u64(21);
    let mut model = DsCnn::new_boxed(Init::Uniform { low: -1.0, high: 1.0 }, 22);
    let x = random::<{ 13 * 6 }, 2>(&mut rng, 1.0);
    check_single_matches_batch(&*model, &x);
    let worst = check_model(&mut *model, &SoftmaxCrossEntropy, &x, &[2, 1], &all_params::<DsCnn>());
    println!("DS-CNN shape: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");
}

#[test]
fn depthwise_separable_model_matches_finite_differences() {
    let mut rng = StdRng::seed_from_u64(19);
    // Biases away from zero: with He's zero biases a position where every `relu6` input
    // is dead sums to exactly 0, on the kink, where no finite difference is meaningful.
    let mut model = Separable::new_boxed(Init::Uniform { low: -1.0, high: 1.0 }, 20);
    let x = random::<{ 3 * 7 * 6 }, 2>(&mut rng, 1.0);
    check_single_matches_batch(&*model, &x);
    let worst = check_model(&mut *model, &SoftmaxCrossEntropy, &x, &[1, 2], &all_params::<Separable>());
    println!("depthwise-separable: worst relative error {worst:e}");
    assert!(worst <= BAR, "{worst:e}");
    // 6·4·3 (depthwise 3×3, 6 channels of 4×3), 4·4·3·6 (pointwise), 4·3·1·6 (depthwise
    // 2×3, 4 channels of 3×1), 12·3 (dense).
    assert_eq!(Separable::MACS, 6 * 4 * 3 * 9 + 4 * 4 * 3 * 6 + 4 * 3 * 6 + 12 * 3);
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
