//! int8 inference in TensorFlow Lite's quantization scheme, bit for bit.
//!
//! - Weights are int8, symmetric, per output channel (zero point 0); activations int8,
//!   asymmetric, per tensor (`real = scale · (q − zero_point)`, [`QuantParams`]); biases
//!   int32 with scale `input scale × weight scale`.
//! - A layer accumulates `Σ (x − input zero point) · w + bias` exactly in `i32`, multiplies
//!   the accumulator by `input scale × weight scale / output scale` in fixed point
//!   ([`Requantize`], TFLite's `QuantizeMultiplier` and `MultiplyByQuantizedMultiplier`, in
//!   the rounding each of TensorFlow's reference kernels uses), adds the output zero point and clamps to the output range, in
//!   which TFLite folds ReLU and ReLU6 ([`OutputRange`]).
//! - The kernels ([`kernels`]) are TFLite's reference int8 kernels — fully connected,
//!   convolution and depthwise convolution with per-channel multipliers, average and max
//!   pooling, the residual addition with its own requantization, and softmax from a table
//!   of exponentials — on this library's layout (images in CHW order, weights in PyTorch's).
//!   Integer sums are exact, so the order of summation, and with it the layout, changes no
//!   bit: `tests/mlperf_tiny_int8.rs` runs the four int8 MLPerf Tiny networks through them
//!   and compares every output byte with TFLite's reference interpreter.
//!
//! Everything here is `no_std` and allocation-free.

pub mod dot;
mod fixed_point;
pub mod kernels;

use self::fixed_point::round_half_away;
pub use self::fixed_point::{Requantize, rounding_divide_by_pot, saturating_rounding_doubling_high_mul};

/// How an int8 tensor encodes real numbers: `real = scale · (q − zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    /// The real value of one step.
    pub scale: f32,
    /// The integer that stands for 0.0.
    pub zero_point: i32,
}

impl QuantParams {
    /// `zero_point + round(x / scale)`, the division in `f32` and the rounding half away
    /// from zero, as TFLite computes the limits of a fused activation (not clamped).
    pub fn quantize(&self, x: f32) -> i32 {
        self.zero_point + round_half_away(f64::from(x / self.scale)) as i32
    }

    /// The real value `q` stands for.
    pub fn dequantize(&self, q: i32) -> f32 {
        self.scale * (q - self.zero_point) as f32
    }
}

/// The activation TFLite fuses into a layer's output clamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FusedActivation {
    /// None: the full int8 range.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `min(max(x, −1), 1)`.
    ReluN1To1,
}

/// Where a requantized output lands: its zero point, and the range it is clamped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputRange {
    /// Added after requantization.
    pub zero_point: i32,
    /// The smallest output.
    pub min: i32,
    /// The largest output.
    pub max: i32,
}

impl OutputRange {
    /// TFLite's `CalculateActivationRangeQuantized` for an int8 output with `params`.
    pub fn new(params: QuantParams, activation: FusedActivation) -> Self {
        let (lo, hi) = (i32::from(i8::MIN), i32::from(i8::MAX));
        let (min, max) = match activation {
            FusedActivation::None => (lo, hi),
            FusedActivation::Relu => (lo.max(params.quantize(0.0)), hi),
            FusedActivation::Relu6 => (lo.max(params.quantize(0.0)), hi.min(params.quantize(6.0))),
            FusedActivation::ReluN1To1 => (lo.max(params.quantize(-1.0)), hi.min(params.quantize(1.0))),
        };
        OutputRange { zero_point: params.zero_point, min, max }
    }

    /// `acc` requantized by `r` (single rounding), moved to the zero point and clamped.
    #[inline]
    pub fn requantize(&self, acc: i32, r: Requantize) -> i8 {
        (r.apply(acc) + self.zero_point).clamp(self.min, self.max) as i8
    }

    /// [`requantize`](Self::requantize) with double rounding
    /// ([`Requantize::apply_double_rounding`]).
    #[inline]
    pub fn requantize_double(&self, acc: i32, r: Requantize) -> i8 {
        (r.apply_double_rounding(acc) + self.zero_point).clamp(self.min, self.max) as i8
    }
}

/// The per-output-channel multipliers of a layer with weights, TFLite's
/// `PopulateConvolutionQuantizationParams`: `input scale × weight scale[c] / output scale`,
/// each product and quotient in `f64` from the `f32` scales. One weight scale (per-tensor
/// quantization) gives every channel the same multiplier.
pub fn channel_multipliers(
    input_scale: f32,
    weight_scales: &[f32],
    output_scale: f32,
    out: &mut [Requantize],
) {
    for (c, r) in out.iter_mut().enumerate() {
        let weight_scale = weight_scales.get(c).or(weight_scales.first()).copied().unwrap_or(0.0);
        *r =
            Requantize::from_real(f64::from(input_scale) * f64::from(weight_scale) / f64::from(output_scale));
    }
}
