//! The deployable part of the embedded example, for any target: `#![no_std]`, no `alloc`,
//! `staticnn` without default features.
//!
//! - [`Mnist`] is the reference MNIST model exactly as `examples/mnist.rs` declares it, with
//!   the weights that example trained (`mnist.safetensors` in this directory) baked in at
//!   compile time; [`MODEL`] keeps them in read-only memory and [`classify`] runs one image.
//! - [`MnistCnn`] is the CNN of `examples/mnist_cnn.rs` (conv, relu, max pooling, dense),
//!   its trained weights baked in the same way: [`CNN`] and [`classify_cnn`].
//! - [`train_xor`] trains a 2 → 8 → 1 network with Adam with every piece of state on the
//!   stack, and [`train_digits`] a 64 → 32 → 10 digits classifier with its state wherever
//!   the caller puts a [`DigitsTraining`] (a `static`, in the binary): the training step,
//!   the optimizer and the model are the same code the std build runs, fed buffers the
//!   caller owns.
//!
//! - [`data`] holds the baked-in test images and digits sets; [`report`] classifies the
//!   test images and [`programs`] runs the two trainings, each printing the lines every
//!   front end prints; [`stack`] measures the stack a call uses by painting.
//!
//! The binaries in `src/main.rs` and `src/bin/` are x86_64 Linux front ends for these;
//! `examples/cortex-m4` is the Cortex-M4F one.
#![no_std]

pub mod data;
pub mod int8;
pub mod programs;
pub mod report;
pub mod stack;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use staticnn::prelude::*;
use staticnn::training::metrics::argmax;
use staticnn::{TrainError, train_step};

staticnn::model! {
    /// The reference MNIST classifier (784 → dense 128 → relu → dense 10), as trained by
    /// `cargo run --release --example mnist` (5 epochs, seed 42).
    #[model(weights = "mnist.safetensors")]
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

/// The trained model, in read-only memory (`.rodata` on a host, flash on a microcontroller).
pub static MODEL: Mnist = Mnist::TRAINED;

/// The pixels of one 28 × 28 image, row-major, as MNIST stores them.
pub type Image = [u8; 784];

/// The ten scores of a classification (the output of both MNIST models).
pub type Logits = MnistOutput;

/// Classifies one image: the predicted digit and the logits.
///
/// Pixels become `f32` exactly as the std build's data loader makes them (`v / 255`), so
/// the result is bit for bit the std build's.
#[inline(never)]
pub fn classify(pixels: &Image) -> (u8, Logits) {
    // Filled in place: a vector built by a constructor and returned would be copied.
    let mut x = MnistInput::zeros();
    for (x, &p) in x.as_mut_slice().iter_mut().zip(pixels) {
        *x = f32::from(p) / 255.0;
    }
    let logits = MODEL.forward(&x);
    (argmax(logits.as_slice()) as u8, logits)
}

staticnn::model! {
    /// The MNIST CNN exactly as `examples/mnist_cnn.rs` declares it, with the weights that
    /// example trained (`mnist_cnn.safetensors` here: 3 epochs, batch 32, seed 42, 99.08 %
    /// on the 10 000 test images) baked in.
    #[model(weights = "mnist_cnn.safetensors")]
    pub struct MnistCnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu,
        maxpool(2),
        conv2d(32, 3, padding = 1), relu,
        maxpool(2),
        flatten,
        dense(128), relu,
        dense(10),
    }
}

/// The trained CNN, in read-only memory.
pub static CNN: MnistCnn = MnistCnn::TRAINED;

/// MNIST's pixel mean and standard deviation in `[0, 1]` units, which `examples/mnist_cnn.rs`
/// standardises its inputs with.
const MNIST_MEAN: f32 = 0.1307;
const MNIST_STD: f32 = 0.3081;

/// Classifies one image with the CNN: the predicted digit and the logits.
///
/// Pixels are standardised exactly as the std build does it (`(v / 255 − mean) / std`), so
/// the result is the std build's up to the order of the convolutions' sums.
#[inline(never)]
pub fn classify_cnn(pixels: &Image) -> (u8, Logits) {
    let mut x = MnistCnnInput::zeros();
    standardize(pixels, &mut x);
    let logits = CNN.forward(&x);
    (argmax(logits.as_slice()) as u8, logits)
}

/// Writes the CNN's input for one image into `x`: pixels standardised as
/// `examples/mnist_cnn.rs` does it. (Filled in place: a vector built and returned would be
/// copied.)
#[inline(always)]
pub fn standardize(pixels: &Image, x: &mut MnistCnnInput) {
    for (x, &p) in x.as_mut_slice().iter_mut().zip(pixels) {
        *x = (f32::from(p) / 255.0 - MNIST_MEAN) / MNIST_STD;
    }
}

/// FNV-1a, 64 bits: a checksum of logits' bit patterns, to compare runs exactly.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(pub u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    /// Adds the little-endian bytes of each value's bit pattern.
    pub fn add_f32s(&mut self, values: &[f32]) {
        for v in values {
            for b in v.to_bits().to_le_bytes() {
                self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
}

staticnn::model! {
    /// A two-layer perceptron for XOR, trained on the device.
    pub struct Xor {
        input(2),
        dense(8), tanh,
        dense(1), sigmoid,
    }
}

/// What [`train_xor`] achieved.
#[derive(Clone, Copy, Debug)]
pub struct XorReport {
    /// Adam steps taken (full batches of the four cases).
    pub steps: u32,
    /// The mean squared error of the last step.
    pub loss: f32,
    /// The network's output for `(0,0)`, `(0,1)`, `(1,0)`, `(1,1)` after training.
    pub outputs: [f32; 4],
    /// How many of the four cases are on the right side of 0.5.
    pub correct: usize,
}

/// The four XOR cases as columns, and their targets.
const XOR_X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const XOR_Y: [f32; 4] = [0.0, 1.0, 1.0, 0.0];

/// Trains [`Xor`] with Adam (lr 0.05) and mean squared error on the full batch of four for
/// `steps` steps, from Glorot-uniform weights drawn with `seed`. Everything lives in this
/// function's stack frame: the model, its gradients, Adam's two moments, the training
/// cache and the batch (about 1 KiB in all).
pub fn train_xor(seed: u64, steps: u32) -> Result<XorReport, TrainError> {
    let mut model = Xor::ZERO;
    model.initialize(Init::GlorotUniform, &mut StdRng::seed_from_u64(seed));
    let (mut m, mut v, mut grads) = (Xor::ZERO, Xor::ZERO, Xor::ZERO);
    let mut adam = Adam::with_state(AdamConfig::with_lr(0.05), &mut m, &mut v);
    let mut cache: XorCache<4> = bytemuck::Zeroable::zeroed();
    let mut grad_out = XorOutput::<4>::zeros();
    let x = XorInput::<4>::from_fn(|r, c| XOR_X[c][r]);
    let y = XorOutput::<4>::from_fn(|_, c| XOR_Y[c]);

    let mut loss = 0.0;
    for step in 1..=steps {
        loss = train_step(
            &mut model,
            &mut adam,
            &MeanSquaredError,
            &x,
            &y,
            4,
            u64::from(step),
            &mut cache,
            &mut grads,
            &mut grad_out,
        )?;
    }
    let mut outputs = [0.0; 4];
    let mut correct = 0;
    for (c, out) in outputs.iter_mut().enumerate() {
        *out = model.forward(&x.column(c).into_owned())[0];
        correct += usize::from((*out > 0.5) == (XOR_Y[c] > 0.5));
    }
    Ok(XorReport { steps, loss, outputs, correct })
}

staticnn::model! {
    /// 64 → dense 32 → relu → dense 10: a classifier for 8 × 8 digits.
    pub struct Digits {
        input(64),
        dense(32), relu,
        dense(10),
    }
}

/// An 8 × 8 digit, row-major pixels.
pub type Digit = [u8; 64];

/// Samples per training step of [`train_digits`].
pub const DIGITS_BATCH: usize = 10;

/// Everything [`train_digits`] keeps between steps: the model, its gradients, Adam's two
/// moments, the training cache and the batch buffers (49 600 bytes). All zeros is a valid
/// value, so it can be a zero-initialised `static` (`.bss`) and needs no heap.
#[repr(C)]
pub struct DigitsTraining {
    /// The model being trained.
    pub model: Digits,
    /// The gradients of the last step.
    pub grads: Digits,
    /// Adam's first moment.
    pub m: Digits,
    /// Adam's second moment.
    pub v: Digits,
    /// The training pass's activations and gradients.
    pub cache: DigitsCache<DIGITS_BATCH>,
    /// The batch's inputs, one sample per column.
    pub x: DigitsInput<DIGITS_BATCH>,
    /// The loss gradient with respect to the logits.
    pub grad_out: DigitsOutput<DIGITS_BATCH>,
}

// SAFETY: every field is `Zeroable` (checked below): models, caches and nalgebra matrices of
// `f32`, for which all-zero bytes are a valid value.
unsafe impl bytemuck::Zeroable for DigitsTraining {}
const _: fn() = || {
    fn zeroable<T: bytemuck::Zeroable>() {}
    zeroable::<Digits>();
    zeroable::<DigitsCache<DIGITS_BATCH>>();
    zeroable::<DigitsInput<DIGITS_BATCH>>();
    zeroable::<DigitsOutput<DIGITS_BATCH>>();
};

/// One epoch of [`train_digits`].
#[derive(Clone, Copy, Debug)]
pub struct DigitsEpoch {
    /// 1-based.
    pub epoch: u32,
    /// The mean of the steps' batch losses.
    pub loss: f32,
    /// Correct training samples, counted on each step's outputs before its update.
    pub train_correct: usize,
}

/// Trains `state.model` from a seeded Glorot-uniform start on `images` and `labels` with
/// Adam (`lr`) and softmax cross-entropy, in shuffled batches of [`DIGITS_BATCH`], for
/// `epochs` epochs; calls `report` after each. Besides `state`, it uses a few hundred bytes
/// of stack plus `2·N` bytes for the shuffled order.
pub fn train_digits<const N: usize>(
    state: &mut DigitsTraining,
    images: &[Digit; N],
    labels: &[u8; N],
    epochs: u32,
    lr: f64,
    seed: u64,
    mut report: impl FnMut(DigitsEpoch),
) -> Result<(), TrainError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let DigitsTraining { model, grads, m, v, cache, x, grad_out } = state;
    model.initialize(Init::GlorotUniform, &mut rng);
    m.fill_zero();
    v.fill_zero();
    let mut adam = Adam::with_state(AdamConfig::with_lr(lr), m, v);
    let mut order = [0u16; N];
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u16;
    }
    let mut step = 0;
    for epoch in 1..=epochs {
        order.shuffle(&mut rng);
        let (mut loss_sum, mut batches, mut train_correct) = (0.0, 0, 0);
        for batch in order.chunks(DIGITS_BATCH) {
            let mut targets = [0u32; DIGITS_BATCH];
            x.fill(0.0);
            for (col, &i) in batch.iter().enumerate() {
                let i = usize::from(i);
                for (row, &p) in images[i].iter().enumerate() {
                    x[(row, col)] = f32::from(p) / 255.0;
                }
                targets[col] = u32::from(labels[i]);
            }
            step += 1;
            let loss = train_step(
                model,
                &mut adam,
                &SoftmaxCrossEntropy,
                x,
                &targets,
                batch.len(),
                step,
                cache,
                grads,
                grad_out,
            )?;
            let logits = Digits::train_output(cache);
            train_correct += staticnn::training::metrics::count_correct(logits, &targets, batch.len());
            loss_sum += loss;
            batches += 1;
        }
        report(DigitsEpoch { epoch, loss: loss_sum / batches.max(1) as f32, train_correct });
    }
    Ok(())
}

/// How many of `images` `model` classifies as `labels` says.
pub fn count_correct_digits(model: &Digits, images: &[Digit], labels: &[u8]) -> usize {
    let mut correct = 0;
    for (image, &label) in images.iter().zip(labels) {
        let x = DigitsInput::from_fn(|i, _| f32::from(image[i]) / 255.0);
        correct += usize::from(argmax(model.forward(&x).as_slice()) == usize::from(label));
    }
    correct
}
