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

pub mod baked;
pub mod dot;
mod fixed_point;
pub mod kernels;
pub mod ptq;

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
    pub const fn quantize(&self, x: f32) -> i32 {
        self.zero_point + round_half_away((x / self.scale) as f64) as i32
    }

    /// `x` quantized and clamped to int8: an input as an int8 model takes it.
    pub const fn quantize_i8(&self, x: f32) -> i8 {
        let q = self.quantize(x);
        if q < i8::MIN as i32 {
            i8::MIN
        } else if q > i8::MAX as i32 {
            i8::MAX
        } else {
            q as i8
        }
    }

    /// The real value `q` stands for.
    pub const fn dequantize(&self, q: i32) -> f32 {
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
    pub const fn new(params: QuantParams, activation: FusedActivation) -> Self {
        match activation {
            FusedActivation::None => Self::clamped(params, None, None),
            FusedActivation::Relu => Self::clamped(params, Some(0.0), None),
            FusedActivation::Relu6 => Self::clamped(params, Some(0.0), Some(6.0)),
            FusedActivation::ReluN1To1 => Self::clamped(params, Some(-1.0), Some(1.0)),
        }
    }

    /// The int8 range of an output with `params` clamped to the reals `[low, high]` (either
    /// bound optional), each bound quantized as TFLite quantizes its fused activations'.
    pub const fn clamped(params: QuantParams, low: Option<f32>, high: Option<f32>) -> Self {
        let (lo, hi) = (i8::MIN as i32, i8::MAX as i32);
        let min = match low {
            Some(x) if params.quantize(x) > lo => params.quantize(x),
            _ => lo,
        };
        let max = match high {
            Some(x) if params.quantize(x) < hi => params.quantize(x),
            _ => hi,
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
        *r = channel_multiplier(input_scale, weight_scale, output_scale);
    }
}

/// One channel's multiplier of [`channel_multipliers`].
pub const fn channel_multiplier(input_scale: f32, weight_scale: f32, output_scale: f32) -> Requantize {
    Requantize::from_real(input_scale as f64 * weight_scale as f64 / output_scale as f64)
}
