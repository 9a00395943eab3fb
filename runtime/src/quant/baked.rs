//! The constant functions behind `#[model(int8 = "file.safetensors")]`: the macro checks a
//! quantized weights file ([`QuantizedWeights`](crate::io::QuantizedWeights)'s format) while
//! it expands, then emits `include_bytes!` of it and, for each constant a layer needs, one
//! of these functions applied to the tensor's byte offset in the file. The compiler
//! evaluates them, so the weights land in flash in the kernels' layout (a dense weight packed
//! and its bias with the input zero point folded in, as [`dot`](super::dot) describes) and
//! the multipliers are TFLite's `QuantizeMultiplier` of the file's scales, with nothing
//! computed at run time and no second implementation of either in the macro.
//!
//! Offsets are in bytes from the start of the file; values are little-endian, as
//! safetensors stores them. An offset out of the file stops compilation (a constant
//! evaluation error), which a file the macro has checked never gives.

use super::dot::GROUP;
use super::{Requantize, channel_multiplier};

/// `N` `i8` values at `offset`.
pub const fn i8s<const N: usize>(file: &[u8], offset: usize) -> [i8; N] {
    let mut out = [0i8; N];
    let mut k = 0;
    while k < N {
        out[k] = file[offset + k] as i8;
        k += 1;
    }
    out
}

/// The `i32` at `offset`.
const fn i32_at(file: &[u8], offset: usize) -> i32 {
    i32::from_le_bytes([file[offset], file[offset + 1], file[offset + 2], file[offset + 3]])
}

/// `N` `i32` values at `offset`.
pub const fn i32s<const N: usize>(file: &[u8], offset: usize) -> [i32; N] {
    let mut out = [0i32; N];
    let mut k = 0;
    while k < N {
        out[k] = i32_at(file, offset + 4 * k);
        k += 1;
    }
    out
}

/// `N` `f32` values at `offset`.
pub const fn f32s<const N: usize>(file: &[u8], offset: usize) -> [f32; N] {
    let mut out = [0f32; N];
    let mut k = 0;
    while k < N {
        out[k] = f32::from_bits(i32_at(file, offset + 4 * k) as u32);
        k += 1;
    }
    out
}

/// The dense weight `[outputs, inputs]` (row-major `i8`) at `offset`, packed for
/// [`kernels::fully_connected`](super::kernels::fully_connected); `P` must be
/// [`packed_len`](super::dot::packed_len)`(inputs, outputs)`.
pub const fn packed_dense<const P: usize>(
    file: &[u8],
    offset: usize,
    inputs: usize,
    outputs: usize,
) -> [i8; P] {
    let mut out = [0i8; P];
    let mut k = 0;
    while k < P {
        let (group, o, lane) = (k / (GROUP * outputs), k / GROUP % outputs, k % GROUP);
        let i = group * GROUP + lane;
        if i < inputs {
            out[k] = file[offset + o * inputs + i] as i8;
        }
        k += 1;
    }
    out
}

/// The `O` int32 biases at `bias_offset` with the input zero point folded in for the packed
/// weight ([`dot::fold_zero_point`](super::dot::fold_zero_point)): `bias[o] − (128 +
/// zero_point) · Σᵢ w[o][i]` (wrapping), the weight `[O, inputs]` at `weight_offset`.
pub const fn folded_bias<const O: usize>(
    file: &[u8],
    bias_offset: usize,
    weight_offset: usize,
    inputs: usize,
    zero_point: i32,
) -> [i32; O] {
    let mut out = i32s::<O>(file, bias_offset);
    let mut o = 0;
    while o < O {
        let (mut sum, mut i) = (0i32, 0);
        while i < inputs {
            sum += file[weight_offset + o * inputs + i] as i8 as i32;
            i += 1;
        }
        out[o] = out[o].wrapping_sub((128 + zero_point).wrapping_mul(sum));
        o += 1;
    }
    out
}

/// The per-channel multipliers ([`channel_multipliers`](super::channel_multipliers)) for the
/// `N` weight scales at `offset` (`N = 1`: one for every channel).
pub const fn multipliers<const N: usize>(
    file: &[u8],
    offset: usize,
    input_scale: f32,
    output_scale: f32,
) -> [Requantize; N] {
    let scales = f32s::<N>(file, offset);
    let mut out = [Requantize { multiplier: 0, shift: 0 }; N];
    let mut k = 0;
    while k < N {
        out[k] = channel_multiplier(input_scale, scales[k], output_scale);
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::super::{channel_multipliers, dot};
    use super::*;

    /// The constant functions give what the run-time ones do on the same values.
    #[test]
    fn constants_equal_the_run_time_preparation() {
        const INPUTS: usize = 13;
        const OUTPUTS: usize = 5;
        const P: usize = dot::packed_len(INPUTS, OUTPUTS);
        let weight: Vec<i8> = (0..INPUTS * OUTPUTS).map(|k| (k as i32 * 37 % 255 - 127) as i8).collect();
        let bias: Vec<i32> = (0..OUTPUTS as i32).map(|o| o * 1000 - 77).collect();
        let scales = [0.01f32, 0.02, 0.003, 0.5, 1e-4];
        // A file: 3 bytes of something, the weight, the bias, the scales.
        let mut file = vec![7u8; 3];
        file.extend(weight.iter().map(|&w| w as u8));
        let bias_at = file.len();
        file.extend(bias.iter().flat_map(|b| b.to_le_bytes()));
        let scales_at = file.len();
        file.extend(scales.iter().flat_map(|s| s.to_le_bytes()));

        let mut packed = vec![0i8; P];
        dot::pack(INPUTS, OUTPUTS, |i, o| weight[o * INPUTS + i], &mut packed);
        assert_eq!(packed_dense::<P>(&file, 3, INPUTS, OUTPUTS).to_vec(), packed);
        let mut folded = bias.clone();
        dot::fold_zero_point(&packed, -3, &mut folded);
        assert_eq!(folded_bias::<OUTPUTS>(&file, bias_at, 3, INPUTS, -3).to_vec(), folded);
        let mut want = [Requantize::default(); OUTPUTS];
        channel_multipliers(0.05, &scales, 0.2, &mut want);
        assert_eq!(multipliers::<OUTPUTS>(&file, scales_at, 0.05, 0.2), want);
        assert_eq!(i8s::<4>(&file, 3).to_vec(), weight[..4]);
        assert_eq!(i32s::<OUTPUTS>(&file, bias_at).to_vec(), bias);
    }
}
