//! PyTorch state dicts load unchanged: `nn.Sequential` networks with `BatchNorm1d`,
//! `BatchNorm2d`, `Dropout`, a depthwise convolution (`groups = channels`) and `ReLU6`,
//! saved by `safetensors.torch.save_file(model.state_dict())` — `num_batches_tracked`
//! included — load into `model!` models declared with the same layers in the same order
//! (the labels are `nn.Sequential`'s indices) and compute PyTorch's outputs, in inference
//! mode and, for batch normalisation, in training mode with PyTorch's update of the running
//! statistics. The fixtures come from `tests/fixtures/pytorch/generate.py`.

use std::path::{Path, PathBuf};

use staticnn::io::{WeightsError, load_safetensors};
use staticnn::nalgebra::SMatrix;
use staticnn::{Model, Parameters};

staticnn::model! {
    /// `nn.Sequential(Linear(20, 16), BatchNorm1d(16), ReLU(), Dropout(0.2), Linear(16, 4))`.
    struct TorchMlp {
        input(20),
        dense(16), batchnorm1d(16), relu, dropout(0.2),
        dense(4),
    }
}

staticnn::model! {
    /// The same network with its state dict baked in at compile time.
    #[model(weights = "tests/fixtures/pytorch/mlp.safetensors")]
    struct BakedMlp {
        input(20),
        dense(16), batchnorm1d(16), relu, dropout(0.2),
        dense(4),
    }
}

staticnn::model! {
    /// `nn.Sequential(Conv2d(3, 8, 3, padding=1), BatchNorm2d(8), ReLU6(),
    /// Conv2d(8, 8, 3, stride=2, padding=1, groups=8), BatchNorm2d(8), ReLU6(),
    /// Conv2d(8, 12, 1), BatchNorm2d(12, eps=1e-3, momentum=0.01), ReLU(), MaxPool2d(2),
    /// Flatten(), Linear(48, 5))`.
    struct TorchCnn {
        input(3, 8, 8),
        conv2d(8, 3, padding = 1), batchnorm2d(8), relu6,
        depthwise_conv2d(3, stride = 2, padding = 1), batchnorm2d(8), relu6,
        conv2d(12, 1), batchnorm2d(12, eps = 1e-3, momentum = 0.01), relu,
        maxpool(2), flatten,
        dense(5),
    }
}

staticnn::model! {
    /// The CNN for deployment: the same declaration, its batch norms folded into the
    /// convolutions before them while the state dict is baked in.
    #[model(weights = "tests/fixtures/pytorch/cnn.safetensors", fold_batchnorm)]
    struct FoldedCnn {
        input(3, 8, 8),
        conv2d(8, 3, padding = 1), batchnorm2d(8), relu6,
        depthwise_conv2d(3, stride = 2, padding = 1), batchnorm2d(8), relu6,
        conv2d(12, 1), batchnorm2d(12, eps = 1e-3, momentum = 0.01), relu,
        maxpool(2), flatten,
        dense(5),
    }
}

const SAMPLES: usize = 16;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch").join(name)
}

/// A little-endian `f32` file as a matrix whose columns are its rows of `R` values.
fn columns<const R: usize>(name: &str) -> Box<SMatrix<f32, R, SAMPLES>> {
    let bytes = std::fs::read(fixture(name)).expect("the fixture is committed");
    assert_eq!(bytes.len(), 4 * R * SAMPLES, "{name} holds {SAMPLES} rows of {R}");
    let mut m = staticnn::zeroed_box::<SMatrix<f32, R, SAMPLES>>();
    for (v, b) in m.as_mut_slice().iter_mut().zip(bytes.chunks_exact(4)) {
        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    m
}

/// The largest difference relative to the largest expected magnitude.
fn relative_difference<const R: usize>(
    got: &SMatrix<f32, R, SAMPLES>,
    want: &SMatrix<f32, R, SAMPLES>,
) -> f32 {
    let scale = want.amax().max(1.0);
    (got - want).amax() / scale
}

#[test]
fn a_state_dict_with_batchnorm_and_dropout_loads_unchanged_and_gives_pytorchs_outputs() {
    let mut model = TorchMlp::zeroed_box();
    load_safetensors(&mut *model, fixture("mlp.safetensors")).expect("PyTorch's state dict loads as it is");
    let x = columns::<20>("mlp_inputs.f32");
    let want = columns::<4>("mlp_eval.f32");
    let mut cache = TorchMlp::zeroed_cache::<SAMPLES>();
    let got = model.forward_batch(&x, &mut cache);
    let difference = relative_difference(got, &want);
    println!("eval: {difference:e} from PyTorch's outputs");
    assert!(difference < 1e-5, "eval outputs differ from PyTorch's by {difference:e}");
    for s in 0..SAMPLES {
        let one = model.forward(&x.column(s).into_owned());
        assert!((one - want.column(s)).amax() < 1e-5, "sample {s}: the single-sample forward differs");
    }
    // Baked at compile time from the same file: the same parameters.
    assert_eq!(BakedMlp::TRAINED.as_slice(), model.as_slice());
}

#[test]
fn batchnorm_in_training_mode_and_its_running_statistics_follow_pytorch() {
    let mut model = TorchCnn::zeroed_box();
    load_safetensors(&mut *model, fixture("cnn.safetensors")).expect("PyTorch's state dict loads as it is");
    let x = columns::<192>("cnn_inputs.f32");
    let mut cache = TorchCnn::zeroed_cache::<SAMPLES>();

    let eval = model.forward_batch(&x, &mut cache);
    let difference = relative_difference(eval, &columns::<5>("cnn_eval.f32"));
    println!("eval: {difference:e} from PyTorch's outputs");
    assert!(difference < 1e-5, "eval outputs differ from PyTorch's by {difference:e}");

    let train = model.forward_train(&x, &mut cache);
    let difference = relative_difference(train, &columns::<5>("cnn_train.f32"));
    assert!(difference < 1e-5, "training-mode outputs differ from PyTorch's by {difference:e}");

    // PyTorch updates the running statistics in that training-mode pass; so does a step here.
    model.update_statistics(std::iter::once(&*cache));
    let mut after = TorchCnn::zeroed_box();
    load_safetensors(&mut *after, fixture("cnn_after.safetensors")).expect("loads");
    let mut worst = 0.0f32;
    model.visit(&mut |t| {
        let mut theirs = None;
        after.visit(&mut |u| {
            if u.name == t.name {
                theirs = Some(u.data.to_vec());
            }
        });
        let theirs = theirs.expect("the same tensors");
        for (a, b) in t.data.iter().zip(&theirs) {
            worst = worst.max((a - b).abs() / b.abs().max(1.0));
        }
    });
    assert!(worst < 1e-5, "the running statistics differ from PyTorch's by {worst:e}");
}

#[test]
fn a_state_dict_with_another_tensor_is_still_refused() {
    // `num_batches_tracked` is accepted only beside a batch norm's own tensors: a CNN state
    // dict does not load into the MLP.
    let mut model = TorchMlp::zeroed_box();
    let err = load_safetensors(&mut *model, fixture("cnn.safetensors")).expect_err("a different network");
    assert!(matches!(err, WeightsError::Missing { .. } | WeightsError::ShapeMismatch { .. }), "{err}");
}

#[test]
fn batchnorm_folded_at_bake_time_gives_pytorchs_inference_outputs() {
    static MODEL: FoldedCnn = FoldedCnn::TRAINED;
    let x = columns::<192>("cnn_inputs.f32");
    let want = columns::<5>("cnn_eval.f32");
    let mut got = SMatrix::<f32, 5, SAMPLES>::zeros();
    for s in 0..SAMPLES {
        got.set_column(s, &MODEL.forward(&x.column(s).into_owned()));
    }
    let difference = relative_difference(&got, &want);
    println!("folded: {difference:e} from PyTorch's eval outputs");
    assert!(difference < 1e-5, "the folded model differs from PyTorch's eval outputs by {difference:e}");
    // The batch norms are gone: 4·(8 + 8 + 12) values fewer, one pass fewer each.
    assert_eq!(FoldedCnn::PARAM_BYTES + 4 * 4 * 28, TorchCnn::PARAM_BYTES);
    const { assert!(FoldedCnn::MACS < TorchCnn::MACS) };
}
