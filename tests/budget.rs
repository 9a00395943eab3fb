//! The memory and compute constants of generated models (`PARAM_BYTES`, `MACS`,
//! `ACTIVATION_BYTES`, `FORWARD_STACK_BYTES`, `RAM_BYTES`) against values computed here
//! independently:
//! sizes from `size_of` of the model and of the generated input and output types, and the
//! multiply-adds from the layers' dimensions.

use std::mem::size_of;

use staticnn::nalgebra::SVector;
use staticnn::prelude::*;

staticnn::model! {
    #[model(budget(flash = "512K", ram = "16K"))]
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

staticnn::model! {
    pub struct Cnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu, maxpool(2),
        conv2d(32, 3, padding = 1), relu, maxpool(2),
        flatten,
        dense(128), relu,
        dense(10),
    }
}

staticnn::model! {
    #[model(scalar = f64)]
    pub struct Res {
        input(2, 6, 6),
        conv2d(4, 3, padding = 1), relu,
        block: residual { conv2d(4, 3, padding = 1), relu },
        avgpool(2),
        flatten,
        dense(3), softmax,
    }
}

staticnn::model! {
    /// More than 2³² multiply-accumulates (never run here).
    pub struct Big {
        input(16, 256, 256),
        conv2d(256, 3, padding = 1), conv2d(16, 1), conv2d(256, 3, padding = 1),
        global_avgpool,
        dense(2),
    }
}

/// The bytes of one sample of `N` values of `T`.
const fn sample<T, const N: usize>() -> usize {
    size_of::<SVector<T, N>>()
}

/// The frame overhead every model's `FORWARD_STACK_BYTES` adds, read off the MLP (whose
/// `forward` holds the 128-wide hidden vector, `relu` applied in place, and the logits as a
/// local, besides the caller's input).
fn overhead() -> usize {
    Mnist::FORWARD_STACK_BYTES - sample::<f32, 128>() - sample::<f32, 10>()
}

#[test]
fn parameter_bytes_are_the_size_of_the_model() {
    assert_eq!(Mnist::PARAM_BYTES, size_of::<Mnist>());
    assert_eq!(Mnist::PARAM_BYTES, <Mnist as Parameters>::LEN * 4);
    assert_eq!(Mnist::PARAM_BYTES, 407_080);
    assert_eq!(Cnn::PARAM_BYTES, size_of::<Cnn>());
    assert_eq!(Res::PARAM_BYTES, size_of::<Res>());
    assert_eq!(Res::PARAM_BYTES, <Res as Parameters>::LEN * size_of::<f64>());
}

#[test]
fn macs_count_the_multiply_adds_of_dense_and_convolution_layers() {
    assert_eq!(Mnist::MACS, 784 * 128 + 128 * 10);
    assert_eq!(Mnist::MACS, 101_632);
    // conv2d: OC·OH·OW output values, C·KH·KW products each; pools and activations: none.
    let cnn = 16 * 28 * 28 * (9) + 32 * 14 * 14 * (16 * 9) + 32 * 7 * 7 * 128 + 128 * 10;
    assert_eq!(Cnn::MACS, cnn);
    // Both convolutions are 4 × 6 × 6 outputs; the residual block's own one is walked into.
    let res = 4 * 6 * 6 * (2 * 9) + 4 * 6 * 6 * (4 * 9) + 4 * 3 * 3 * 3;
    assert_eq!(Res::MACS, res);
    // Beyond 32 bits (the constant saturates at `usize::MAX` on a 32-bit target).
    let big: u64 = 2 * (256 * 256 * 256 * (16 * 9)) + 16 * 256 * 256 * 256 + 256 * 2;
    assert_eq!(Big::MACS as u64, big);
    assert_eq!(Big::PARAM_BYTES, size_of::<Big>());
}

/// Every layer's output is a local written in place that lives until the next layer has
/// read it (a `residual` block's input and output for the whole block); element-wise
/// activations update the output before them and hold nothing.
#[test]
fn activation_bytes_are_the_peak_of_one_forward() {
    let overhead = overhead();
    assert!(overhead > 0);

    // The input, the hidden vector and the logits.
    let (input, output) = (size_of::<MnistInput>(), size_of::<MnistOutput>());
    assert_eq!(Mnist::ACTIVATION_BYTES, input + sample::<f32, 128>() + output);
    // `RAM_BYTES` adds the frames and the caller's slot for the returned output.
    assert_eq!(Mnist::RAM_BYTES, Mnist::ACTIVATION_BYTES + overhead + output);
    const { assert!(Mnist::RAM_BYTES <= 16 * 1024, "the declared ram budget holds") };

    // A layer's output lives until the next layer has read it: the peak is at the first
    // pooling, reading the first convolution's output and writing its own.
    let input = size_of::<CnnInput>();
    let peak = sample::<f32, { 16 * 28 * 28 }>() + sample::<f32, { 16 * 14 * 14 }>();
    assert_eq!(Cnn::ACTIVATION_BYTES, input + peak);
    assert_eq!(Cnn::FORWARD_STACK_BYTES, peak + overhead);
    assert_eq!(Cnn::RAM_BYTES, Cnn::ACTIVATION_BYTES + overhead + size_of::<CnnOutput>());

    // The peak is inside the block, at its convolution: the first convolution's output, the
    // block's output slot (a copy of its input) and the block's convolution's output.
    let (input, map) = (size_of::<ResInput>(), sample::<f64, { 4 * 6 * 6 }>());
    assert_eq!(Res::ACTIVATION_BYTES, input + 3 * map);
    assert_eq!(Res::FORWARD_STACK_BYTES, 3 * map + overhead);
}

#[test]
fn the_constants_are_usable_in_const_items() {
    const FLASH: usize = 512 * 1024;
    const _: () = assert!(Mnist::PARAM_BYTES <= FLASH);
    const TABLE: [usize; 4] = [Cnn::PARAM_BYTES, Cnn::MACS, Cnn::ACTIVATION_BYTES, Cnn::FORWARD_STACK_BYTES];
    assert!(TABLE.iter().all(|&n| n > 0));
    // And they describe a model that runs.
    let model = Mnist::new_boxed(Init::HeUniform, 1);
    let _: MnistOutput = model.forward(&MnistInput::zeros());
}
