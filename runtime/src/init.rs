//! Parameter initialisation: the schemes of He, Glorot/Xavier, PyTorch and Keras, seeded.

use nalgebra::ComplexField;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::scalar::Float;

/// How to draw a layer's initial weights and biases from its fan-in and fan-out.
///
/// The schemes follow their frameworks exactly, including how biases are treated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// He/Kaiming uniform for ReLU networks: `U(±√(6 / fan_in))`, zero biases.
    HeUniform,
    /// He/Kaiming normal: `N(0, 2 / fan_in)`, zero biases.
    HeNormal,
    /// Glorot/Xavier uniform: `U(±√(6 / (fan_in + fan_out)))`, zero biases (Keras's default).
    GlorotUniform,
    /// Glorot/Xavier normal: `N(0, 2 / (fan_in + fan_out))`, zero biases.
    GlorotNormal,
    /// PyTorch's `nn.Linear`/`nn.Conv2d` default: weights and biases `U(±1/√fan_in)`.
    PyTorch,
    /// Every weight and bias drawn from `N(mean, std²)`.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
    /// Every weight and bias drawn from `U(low, high)`.
    Uniform {
        /// The lower bound.
        low: f64,
        /// The upper bound.
        high: f64,
    },
    /// All zeros.
    Zeros,
}

impl Init {
    /// Fills one layer's weights and biases for the given fan-in and fan-out.
    pub fn fill<T: Float, R: Rng + ?Sized>(
        &self,
        fan_in: usize,
        fan_out: usize,
        weight: &mut [T],
        bias: &mut [T],
        rng: &mut R,
    ) {
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        match *self {
            Init::HeUniform => {
                uniform(ComplexField::sqrt(6.0 / fi), weight, rng);
                bias.fill(T::ZERO);
            }
            Init::HeNormal => {
                normal(0.0, ComplexField::sqrt(2.0 / fi), weight, rng);
                bias.fill(T::ZERO);
            }
            Init::GlorotUniform => {
                uniform(ComplexField::sqrt(6.0 / (fi + fo)), weight, rng);
                bias.fill(T::ZERO);
            }
            Init::GlorotNormal => {
                normal(0.0, ComplexField::sqrt(2.0 / (fi + fo)), weight, rng);
                bias.fill(T::ZERO);
            }
            Init::PyTorch => {
                let bound = 1.0 / ComplexField::sqrt(fi);
                uniform(bound, weight, rng);
                uniform(bound, bias, rng);
            }
            Init::Normal { mean, std } => {
                normal(mean, std, weight, rng);
                normal(mean, std, bias, rng);
            }
            Init::Uniform { low, high } => {
                uniform_range(low, high, weight, rng);
                uniform_range(low, high, bias, rng);
            }
            Init::Zeros => {
                weight.fill(T::ZERO);
                bias.fill(T::ZERO);
            }
        }
    }
}

fn uniform<T: Float, R: Rng + ?Sized>(bound: f64, out: &mut [T], rng: &mut R) {
    uniform_range(-bound, bound, out, rng);
}

fn uniform_range<T: Float, R: Rng + ?Sized>(low: f64, high: f64, out: &mut [T], rng: &mut R) {
    match Uniform::new_inclusive(low, high) {
        Ok(dist) => out.iter_mut().for_each(|x| *x = T::of(dist.sample(rng))),
        // An empty or non-finite range leaves nothing to draw: use its lower end.
        Err(_) => out.fill(T::of(low)),
    }
}

fn normal<T: Float, R: Rng + ?Sized>(mean: f64, std: f64, out: &mut [T], rng: &mut R) {
    match Normal::new(mean, std) {
        Ok(dist) => out.iter_mut().for_each(|x| *x = T::of(dist.sample(rng))),
        // A negative or non-finite deviation: nothing sensible to draw, use the mean.
        Err(_) => out.fill(T::of(mean)),
    }
}

/// Something whose parameters can be initialised by an [`Init`] scheme: a layer or a model.
pub trait Initialize {
    /// Draws every parameter afresh from `init`, consuming randomness from `rng`
    /// layer by layer in declaration order.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R);
}
