//! TFLite's reference int8 kernels on this library's layout: images are `C × H × W` in CHW
//! order, a dense weight packed in groups of four inputs ([`dot`](super::dot)), a
//! convolution's `[OC, C, KH, KW]` and a depthwise convolution's `[C·M, 1, KH, KW]`
//! (PyTorch's shapes). Each kernel computes
//! exactly what the TFLite kernel of the same name computes; the dimensions come in a
//! [`Window`] and the slices must have the lengths they imply (the kernels index them, so
//! a short slice panics rather than reading out of bounds).

use super::{OutputRange, QuantParams, Requantize};

/// The geometry of a convolution or pool over a `c × h × w` input: a `kh × kw` window with
/// strides `sh`, `sw` and `ph` rows and `pw` columns of padding before the image, giving
/// `oh × ow` outputs per channel. Positions in the padding are left out of sums, as TFLite's
/// kernels skip them (for a convolution, the same as padding with the input zero point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Input channels.
    pub c: usize,
    /// Input rows.
    pub h: usize,
    /// Input columns.
    pub w: usize,
    /// Window rows.
    pub kh: usize,
    /// Window columns.
    pub kw: usize,
    /// Row stride.
    pub sh: usize,
    /// Column stride.
    pub sw: usize,
    /// Padding rows before the image.
    pub ph: usize,
    /// Padding columns before the image.
    pub pw: usize,
    /// Output rows.
    pub oh: usize,
    /// Output columns.
    pub ow: usize,
}

impl Window {
    /// The input positions `(i, j)` under the window of output `(oy, ox)` with their tap
    /// `(ky, kx)`, padding left out.
    #[inline]
    fn taps(&self, oy: usize, ox: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..self.kh).flat_map(move |ky| {
            (0..self.kw).filter_map(move |kx| {
                let i = (oy * self.sh + ky).checked_sub(self.ph).filter(|&i| i < self.h)?;
                let j = (ox * self.sw + kx).checked_sub(self.pw).filter(|&j| j < self.w)?;
                Some((ky * self.kw + kx, i, j))
            })
        })
    }
}

/// `FULLY_CONNECTED`: `y[o] = requantize(Σᵢ (x[i] − input_zero_point) · w[o][i] + bias[o])`,
/// with one multiplier per output or one for all (`requantize.len() == 1`); single rounding.
///
/// The weight comes packed ([`dot::pack`](super::dot::pack)) and the input zero point folded
/// into the biases ([`dot::fold_zero_point`](super::dot::fold_zero_point)), as the TFLite
/// reader's `QuantizedDense` prepares them; groups of four inputs at −128 are skipped
/// ([`dot::accumulate`](super::dot::accumulate)).
pub fn fully_connected(
    x: &[i8],
    packed_weight: &[i8],
    folded_bias: &[i32],
    requantize: &[Requantize],
    out: OutputRange,
    y: &mut [i8],
) {
    // Sums of at most 256 outputs at a time, on the stack.
    const BLOCK: usize = 256;
    let outputs = y.len();
    for (b, ys) in y.chunks_mut(BLOCK).enumerate() {
        let first = b * BLOCK;
        let mut acc = [0i32; BLOCK];
        let acc = &mut acc[..ys.len()];
        acc.copy_from_slice(&folded_bias[first..first + ys.len()]);
        super::dot::accumulate(x, &packed_weight[first * super::dot::GROUP..], outputs, acc);
        let requantize = match requantize {
            [one] => core::slice::from_ref(one),
            all => &all[first..first + ys.len()],
        };
        crate::kernels::run_widest(RequantizeAll { acc, requantize, out, y: ys });
    }
}

/// The single-rounding requantization of a block of sums, one multiplier each or one for all,
/// as a loop the compiler vectorises for the widest instruction set
/// ([`run_widest`](crate::kernels::run_widest): 64-bit products and variable shifts in
/// vector lanes), the same arithmetic as [`OutputRange::requantize`].
struct RequantizeAll<'a> {
    acc: &'a [i32],
    requantize: &'a [Requantize],
    out: OutputRange,
    y: &'a mut [i8],
}

impl crate::kernels::Kernel for RequantizeAll<'_> {
    #[inline(always)]
    fn run(self) {
        let RequantizeAll { acc, requantize, out, y } = self;
        if let [r] = requantize {
            for (y, &acc) in y.iter_mut().zip(acc) {
                *y = out.requantize(acc, *r);
            }
        } else {
            for ((y, &acc), &r) in y.iter_mut().zip(acc).zip(requantize) {
                *y = out.requantize(acc, r);
            }
        }
    }
}

/// `CONV_2D` with per-channel multipliers (TFLite's `ConvPerChannel`): `oc` output channels
/// of `window.oh × window.ow`; double rounding.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[i8],
    input_zero_point: i32,
    weight: &[i8],
    bias: &[i32],
    requantize: &[Requantize],
    out: OutputRange,
    window: &Window,
    y: &mut [i8],
) {
    let (k, plane) = (window.kh * window.kw, window.h * window.w);
    let oc = y.len() / (window.oh * window.ow).max(1);
    convolve(window, oc, bias, requantize, out, y, |o, oy, ox| {
        let kernel = &weight[o * window.c * k..(o + 1) * window.c * k];
        let mut acc = 0;
        for (tap, i, j) in window.taps(oy, ox) {
            for c in 0..window.c {
                let v = i32::from(x[c * plane + i * window.w + j]) - input_zero_point;
                acc += i32::from(kernel[c * k + tap]) * v;
            }
        }
        acc
    });
}

/// The longest patch (`C·KH·KW`) [`conv2d_packed`] gathers on the stack.
pub const MAX_PATCH: usize = 4096;

/// [`conv2d`] on a packed weight, through the dot-product kernels of
/// [`dot`](super::dot) (AVX-512 VNNI, AVX2, the Cortex-M DSP extension): the weight
/// `[OC, C, KH, KW]` packed as a dense `[OC, C·KH·KW]` one ([`dot::pack`](super::dot::pack)),
/// the input zero point folded into the biases ([`dot::fold_zero_point`](super::dot::fold_zero_point)).
/// For each output position the window's values are gathered into a patch, positions in
/// the padding as the input zero point (which adds exactly nothing), and every output
/// channel's sum is one dot product. The same bits as [`conv2d`]; double rounding. A patch
/// longer than [`MAX_PATCH`] is a caller's error (it panics).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_packed(
    x: &[i8],
    input_zero_point: i32,
    packed_weight: &[i8],
    folded_bias: &[i32],
    requantize: &[Requantize],
    out: OutputRange,
    window: &Window,
    y: &mut [i8],
) {
    const BLOCK: usize = 256;
    let (k, plane, positions) =
        (window.c * window.kh * window.kw, window.h * window.w, window.oh * window.ow);
    let channels = y.len() / positions.max(1);
    let padding = input_zero_point.clamp(-128, 127) as i8;
    let mut patch = [0i8; MAX_PATCH];
    let patch = &mut patch[..k];
    for oy in 0..window.oh {
        for ox in 0..window.ow {
            patch.fill(padding);
            for (tap, i, j) in window.taps(oy, ox) {
                for c in 0..window.c {
                    patch[c * window.kh * window.kw + tap] = x[c * plane + i * window.w + j];
                }
            }
            for first in (0..channels).step_by(BLOCK) {
                let n = BLOCK.min(channels - first);
                let mut acc = [0i32; BLOCK];
                let acc = &mut acc[..n];
                acc.copy_from_slice(&folded_bias[first..first + n]);
                super::dot::accumulate(patch, &packed_weight[first * super::dot::GROUP..], channels, acc);
                for (o, &acc) in acc.iter().enumerate() {
                    let r = requantize[(first + o).min(requantize.len() - 1)];
                    y[(first + o) * positions + oy * window.ow + ox] = out.requantize_double(acc, r);
                }
            }
        }
    }
}

/// `DEPTHWISE_CONV_2D` with per-channel multipliers: output channel `c·M + m` is input
/// channel `c` convolved with its kernel `m`, `M = multiplier`; double rounding.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_conv2d(
    x: &[i8],
    input_zero_point: i32,
    weight: &[i8],
    bias: &[i32],
    requantize: &[Requantize],
    out: OutputRange,
    window: &Window,
    multiplier: usize,
    y: &mut [i8],
) {
    let (k, plane) = (window.kh * window.kw, window.h * window.w);
    convolve(window, window.c * multiplier, bias, requantize, out, y, |o, oy, ox| {
        let (c, kernel) = (o / multiplier, &weight[o * k..(o + 1) * k]);
        let mut acc = 0;
        for (tap, i, j) in window.taps(oy, ox) {
            acc += i32::from(kernel[tap]) * (i32::from(x[c * plane + i * window.w + j]) - input_zero_point);
        }
        acc
    });
}

/// The output loop the convolutions share: for every output channel `o` and position
/// `(oy, ox)`, `sum(o, oy, ox)` plus the channel's bias, requantized by its multiplier with
/// double rounding, moved to the output zero point and clamped, into `y` (CHW).
fn convolve(
    window: &Window,
    channels: usize,
    bias: &[i32],
    requantize: &[Requantize],
    out: OutputRange,
    y: &mut [i8],
    sum: impl Fn(usize, usize, usize) -> i32,
) {
    for o in 0..channels {
        let (bias, r) = (bias.get(o).copied().unwrap_or(0), requantize[o.min(requantize.len() - 1)]);
        for oy in 0..window.oh {
            for ox in 0..window.ow {
                y[(o * window.oh + oy) * window.ow + ox] = out.requantize_double(bias + sum(o, oy, ox), r);
            }
        }
    }
}

/// `AVERAGE_POOL_2D`: the mean of the positions under the window (padding left out of the
/// count), rounded half away from zero as an integer division, clamped to `[min, max]`.
/// Input and output share their quantization, as TFLite requires.
pub fn average_pool(x: &[i8], window: &Window, min: i32, max: i32, y: &mut [i8]) {
    let plane = window.h * window.w;
    for c in 0..window.c {
        for oy in 0..window.oh {
            for ox in 0..window.ow {
                let (mut sum, mut count) = (0i32, 0i32);
                for (_, i, j) in window.taps(oy, ox) {
                    sum += i32::from(x[c * plane + i * window.w + j]);
                    count += 1;
                }
                let mean = match count {
                    0 => 0,
                    n if sum > 0 => (sum + n / 2) / n,
                    n => (sum - n / 2) / n,
                };
                y[(c * window.oh + oy) * window.ow + ox] = mean.clamp(min, max) as i8;
            }
        }
    }
}

/// `MAX_POOL_2D`: the largest value under the window, clamped to `[min, max]`.
pub fn max_pool(x: &[i8], window: &Window, min: i32, max: i32, y: &mut [i8]) {
    let plane = window.h * window.w;
    for c in 0..window.c {
        for oy in 0..window.oh {
            for ox in 0..window.ow {
                let largest =
                    window.taps(oy, ox).map(|(_, i, j)| i32::from(x[c * plane + i * window.w + j])).max();
                y[(c * window.oh + oy) * window.ow + ox] = largest.unwrap_or(min).clamp(min, max) as i8;
            }
        }
    }
}

/// The constants of an int8 `ADD` (TFLite's `PrepareGeneralSubOp` for int8): both inputs
/// moved to a common scale `2 · max(scale₁, scale₂)` with 20 bits of headroom, summed, and the
/// sum requantized to the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddParams {
    /// Minus each input's zero point.
    pub offsets: [i32; 2],
    /// Each input's multiplier to the common scale (an exponent ≤ 0).
    pub inputs: [Requantize; 2],
    /// The sum's multiplier to the output scale.
    pub output: Requantize,
    /// The output's zero point and range.
    pub range: OutputRange,
}

impl AddParams {
    /// The headroom, in bits, TFLite gives the inputs of an int8 addition.
    pub const LEFT_SHIFT: u32 = 20;

    /// The constants for inputs quantized as `a` and `b` and an output as `out`, clamped to `range`.
    pub const fn new(a: QuantParams, b: QuantParams, out: QuantParams, range: OutputRange) -> Self {
        // As TFLite computes them: the doubled maximum in f32, the quotients in f64.
        let twice_max = (2.0 * if a.scale > b.scale { a.scale } else { b.scale }) as f64;
        let output = twice_max / ((1u32 << Self::LEFT_SHIFT) as f32 * out.scale) as f64;
        AddParams {
            offsets: [-a.zero_point, -b.zero_point],
            inputs: [
                Requantize::from_real(a.scale as f64 / twice_max),
                Requantize::from_real(b.scale as f64 / twice_max),
            ],
            output: Requantize::from_real(output),
            range,
        }
    }
}

/// `ADD` of two int8 tensors of the same shape; double rounding.
pub fn add(a: &[i8], b: &[i8], params: &AddParams, y: &mut [i8]) {
    let shifted = |q: i8, k: usize| (i32::from(q) + params.offsets[k]) * (1 << AddParams::LEFT_SHIFT);
    for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
        let sum = params.inputs[0].apply_double_rounding(shifted(a, 0))
            + params.inputs[1].apply_double_rounding(shifted(b, 1));
        *y = params.range.requantize_double(sum, params.output);
    }
}

/// The exponentials of an int8 `SOFTMAX` (TFLite's `PopulateSoftmaxLookupTable`):
/// `table[255 − d] = exp(−input scale · β · d)` in `f32` for every difference `d` in
/// `0..=255` from a row's maximum, and the output's quantization.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxTable {
    /// The exponentials, indexed by `255 − d`.
    pub table: [f32; 256],
    /// The output's quantization (TFLite's is scale 1/256, zero point −128).
    pub output: QuantParams,
}

impl SoftmaxTable {
    /// The table for an input of scale `input_scale`, `beta` (1 for a plain softmax) and an
    /// output quantized as `output`.
    pub fn new(input_scale: f32, beta: f32, output: QuantParams) -> Self {
        let scale = -input_scale * beta;
        let mut table = [0.0f32; 256];
        for d in 0..=255u8 {
            table[255 - usize::from(d)] = libm::expf(scale * f32::from(d));
        }
        SoftmaxTable { table, output }
    }
}

/// `SOFTMAX` of one int8 row (TFLite's table-driven kernel): the exponentials of the
/// differences from the row's maximum summed in `f32` in order, each divided through
/// `1 / (sum · output scale)`, rounded half away from zero, moved to the output zero point
/// and clamped to int8.
pub fn softmax(x: &[i8], table: &SoftmaxTable, y: &mut [i8]) {
    let largest = x.iter().copied().max().map_or(0, i32::from);
    let exp = |q: i8| table.table[(255 - largest + i32::from(q)) as usize];
    let sum = x.iter().fold(0.0f32, |sum, &q| sum + exp(q));
    let inverse = 1.0 / (sum * table.output.scale);
    for (y, &q) in y.iter_mut().zip(x) {
        let p = super::round_half_away(f64::from(exp(q) * inverse)) as i32 + table.output.zero_point;
        *y = p.clamp(i32::from(i8::MIN), i32::from(i8::MAX)) as i8;
    }
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::super::{FusedActivation, dot};
    use super::*;

    /// The packed convolution gives the reference convolution's bits: padding before and
    /// after, strides, rectangular windows, every zero point, more channels than a block.
    #[test]
    fn packed_convolution_equals_the_reference() {
        let mut state = 0x2545_f491u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8 as i8
        };
        let cases = [
            (3, 7, 6, 3, 3, 1, 1, 1, 1, 5),
            (2, 9, 8, 3, 2, 2, 1, 0, 1, 300),
            (5, 4, 4, 1, 1, 1, 1, 0, 0, 17),
        ];
        for (c, h, w, kh, kw, sh, sw, ph, pw, oc) in cases {
            let (oh, ow) = ((h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1);
            let window = Window { c, h, w, kh, kw, sh, sw, ph, pw, oh, ow };
            for zero_point in [-128, -3, 0, 100] {
                let x: Vec<i8> = (0..c * h * w).map(|_| next()).collect();
                let weight: Vec<i8> = (0..oc * c * kh * kw).map(|_| next().max(-127)).collect();
                let bias: Vec<i32> = (0..oc as i32).map(|o| o * 37 - 500).collect();
                let requantize: Vec<Requantize> =
                    (0..oc).map(|o| Requantize::from_real(0.001 + o as f64 * 1e-5)).collect();
                let out =
                    OutputRange::new(QuantParams { scale: 0.05, zero_point: -7 }, FusedActivation::Relu);
                let mut want = vec![0i8; oc * oh * ow];
                conv2d(&x, zero_point, &weight, &bias, &requantize, out, &window, &mut want);
                let k = c * kh * kw;
                let mut packed = vec![0i8; dot::packed_len(k, oc)];
                dot::pack(k, oc, |i, o| weight[o * k + i], &mut packed);
                let mut folded = bias.clone();
                dot::fold_zero_point(&packed, zero_point, &mut folded);
                let mut got = vec![0i8; oc * oh * ow];
                conv2d_packed(&x, zero_point, &packed, &folded, &requantize, out, &window, &mut got);
                assert_eq!(
                    got, want,
                    "{c}×{h}×{w}, {kh}×{kw} stride {sh}×{sw}, {oc} channels, zero point {zero_point}"
                );
            }
        }
    }
}
