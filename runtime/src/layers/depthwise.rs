//! Depthwise 2-D convolution: each input channel convolved with `M` kernels of its own
//! (PyTorch's `nn.Conv2d` with `groups = in_channels`, TFLite's `DEPTHWISE_CONV_2D`).
//!
//! Images are columns in CHW order, as everywhere (see [`conv`](super::conv)). Output channel
//! `oc = c·M + m` is input channel `c` convolved with kernel `m` of that channel, the order
//! PyTorch's grouped convolution and TFLite's channel multiplier both use. A depthwise layer
//! has only `C·M·KH·KW` weights and no sum over channels, so it is computed directly, with
//! no patch matrix and no scratch, one plane at a time.

use nalgebra::{SMatrix, SVector};
use rand::Rng;

use super::Layer;
use super::conv::direct::{ROW_BLOCK, Window, channel_in_registers};
use super::conv::{valid_range, window_axis};
use crate::init::{Init, Initialize};
use crate::params::{Parameters, Storage, Tensor, TensorMut, TensorShape};
use crate::scalar::Float;

/// A depthwise 2-D convolution: `C` input channels of `H × W`, each convolved with its own
/// `M` kernels of `KH × KW` (the channel multiplier), strides `SH` and `SW`, `PH` rows and
/// `PW` columns of zero padding before the image, into `OC = C·M` channels of `OH × OW`.
///
/// The remaining parameters are the products stable Rust cannot compute in types:
/// `IN = C·H·W`, `OUT = OC·OH·OW` and `K = KH·KW`; the padding after the image follows from
/// `OH` and `OW` as for [`Conv2d`](crate::Conv2d) (PyTorch's symmetric padding or
/// TensorFlow's `"same"`). [`CHECK`](Self::CHECK) asserts all of them.
///
/// The weight is the `K × OC` matrix whose column `oc` is output channel `oc`'s kernel, row
/// by row: in memory it is PyTorch's `[OC, 1, KH, KW]` weight of the grouped convolution,
/// row-major, and weight files store it under that shape as `weight`, with `bias` `[OC]`.
/// As a [`Layer`] its gradients are a `DepthwiseConv2d` of the same shape and it needs no
/// scratch. Taps whose weight is exactly zero are skipped, like the zero inputs of
/// [`Dense`](crate::Dense).
///
/// ```
/// use nalgebra::SMatrix;
/// use staticnn_runtime::{DepthwiseConv2d, Layer};
///
/// // 2×4×4 → 4×4×4: multiplier 2, a 3×3 kernel, stride 1, padding 1 (both ways); K = 9 taps.
/// type Depthwise = DepthwiseConv2d<f32, 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, 4, 4, 32, 64, 4, 9>;
/// let mut layer = Depthwise::ZERO;
/// layer.weight[(4, 3)] = 1.0; // channel 3 (input 1, kernel 1): the centre tap
/// let x = SMatrix::<f32, 32, 1>::from_fn(|i, _| i as f32);
/// let y = layer.forward_one(&x);
/// assert_eq!(y.rows(48, 16), x.rows(16, 16)); // input channel 1, unchanged
/// ```
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct DepthwiseConv2d<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const M: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
    const OC: usize,
    const K: usize,
> {
    /// The `K × OC` weight: column `oc` holds output channel `oc`'s kernel, row-major
    /// (PyTorch's `[OC, 1, KH, KW]`, row-major).
    pub weight: SMatrix<T, K, OC>,
    /// The `OC` biases.
    pub bias: SVector<T, OC>,
}

// SAFETY: a `repr(C)` pair of zeroable nalgebra arrays.
unsafe impl<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const M: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
    const OC: usize,
    const K: usize,
> bytemuck::Zeroable for DepthwiseConv2d<T, C, H, W, M, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, OC, K>
{
}

impl<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const M: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
    const OC: usize,
    const K: usize,
> DepthwiseConv2d<T, C, H, W, M, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, OC, K>
{
    /// Fails to compile (at monomorphisation) unless the dimensions are consistent.
    pub const CHECK: () = {
        assert!(C > 0 && H > 0 && W > 0 && M > 0, "DepthwiseConv2d: C, H, W and M must be at least 1");
        assert!(
            KH > 0 && KW > 0 && SH > 0 && SW > 0,
            "DepthwiseConv2d: the kernel KH × KW and the strides must be at least 1"
        );
        assert!(
            window_axis(H, KH, SH, PH, OH),
            "DepthwiseConv2d: OH must be (H + 2PH - KH) / SH + 1, or that with one more row of padding at the end (TensorFlow's same)"
        );
        assert!(
            window_axis(W, KW, SW, PW, OW),
            "DepthwiseConv2d: OW must be (W + 2PW - KW) / SW + 1, or that with one more column of padding at the end (TensorFlow's same)"
        );
        assert!(IN == C * H * W, "DepthwiseConv2d: IN must be C * H * W");
        assert!(OC == C * M, "DepthwiseConv2d: OC must be C * M");
        assert!(OUT == OC * OH * OW, "DepthwiseConv2d: OUT must be OC * OH * OW");
        assert!(K == KH * KW, "DepthwiseConv2d: K must be KH * KW");
    };

    /// All weights and biases zero; usable in `const` and `static` items.
    pub const ZERO: Self = {
        let () = Self::CHECK;
        DepthwiseConv2d {
            weight: SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; K]; OC])),
            bias: SVector::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; OC]; 1])),
        }
    };

    /// The number of parameters, `K·OC + OC`.
    pub const PARAMS: usize = {
        let () = Self::CHECK;
        K * OC + OC
    };

    /// Calls `f(oc, tap, oh, row, ows)` for every output channel `oc`, kernel tap
    /// `tap = i·KW + j`, and output row `oh` whose tap reads input row `row = oh·SH + i − PH`
    /// (not padding), with the output columns `ows` whose tap reads an input column: the
    /// one loop nest forward and backward share.
    #[inline(always)]
    fn for_each_row(mut f: impl FnMut(usize, usize, usize, usize, core::ops::Range<usize>)) {
        for oc in 0..OC {
            for i in 0..KH {
                let (oh_lo, oh_hi) = valid_range(i, H, PH, SH, OH);
                for j in 0..KW {
                    let (ow_lo, ow_hi) = valid_range(j, W, PW, SW, OW);
                    for oh in oh_lo..oh_hi {
                        f(oc, i * KW + j, oh, oh * SH + i - PH, ow_lo..ow_hi);
                    }
                }
            }
        }
    }

    /// One image into `y`: each plane set to its bias, then every tap added in.
    fn convolve(&self, x: &[T], y: &mut [T]) {
        for (plane, &b) in y.chunks_exact_mut(OH * OW).zip(self.bias.iter()) {
            plane.fill(b);
        }
        let weight = self.weight.as_slice();
        Self::for_each_row(|oc, tap, oh, row, ows| {
            let w = weight[oc * K + tap];
            if w == T::ZERO {
                return;
            }
            let (c, j) = (oc / M, tap % KW);
            let src = &x[(c * H + row) * W..][..W];
            let dst = &mut y[(oc * OH + oh) * OW..][..OW];
            for ow in ows {
                dst[ow] += w * src[ow * SW + j - PW];
            }
        });
    }

    /// One image into `y`, each output channel's runs of outputs summed in registers over
    /// its taps (the Cortex-M path: a convolution with one input plane, see
    /// `conv::direct::channel_in_registers`): the same bits as [`convolve`](Self::convolve).
    fn convolve_in_registers(&self, x: &[T], y: &mut [T]) {
        let kernels = self.weight.as_slice().chunks_exact(K).zip(self.bias.iter());
        for (oc, (plane, (kernel, &bias))) in y.chunks_exact_mut(OH * OW).zip(kernels).enumerate() {
            let input = &x[(oc / M) * H * W..][..H * W];
            channel_in_registers::<Self, T>(input, kernel, bias, plane);
        }
    }

    /// Lists this layer's tensors under the layer name `layer`: `weight` `[OC, 1, KH, KW]`
    /// and `bias` `[OC]`, both row-major (for generated models).
    #[doc(hidden)]
    pub fn visit_named<'a>(&'a self, layer: &'static str, f: &mut impl FnMut(Tensor<'a, T>)) {
        let weight = (TensorShape::new([OC, 1, KH, KW]), Storage::RowMajor);
        super::visit_weight_and_bias(layer, weight, self.weight.as_slice(), self.bias.as_slice(), f);
    }

    /// Lists this layer's tensors mutably under the layer name `layer` (for generated models).
    #[doc(hidden)]
    pub fn visit_named_mut(&mut self, layer: &'static str, f: &mut impl FnMut(TensorMut<'_, T>)) {
        let weight = (TensorShape::new([OC, 1, KH, KW]), Storage::RowMajor);
        super::visit_weight_and_bias_mut(
            layer,
            weight,
            self.weight.as_mut_slice(),
            self.bias.as_mut_slice(),
            f,
        );
    }
}

impl<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const M: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
    const OC: usize,
    const K: usize,
> Layer<T, IN, OUT> for DepthwiseConv2d<T, C, H, W, M, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, OC, K>
{
    type Grads = Self;
    type Scratch<const B: usize> = ();

    fn forward_one_into(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        let () = Self::CHECK;
        // Registers pay on a Cortex-M where rows hold a block of outputs that read no
        // padding (MobileNet's 48 × 48 to 6 × 6 planes: VWW from 28.97 M to 28.49 M
        // instructions); on narrower rows (DS-CNN's 25 × 5) the loop over rows is cheaper.
        if cfg!(target_arch = "arm") && <Self as Window>::INSIDE_COLUMNS.len() >= ROW_BLOCK / 2 {
            self.convolve_in_registers(x.as_slice(), y.as_mut_slice());
        } else {
            self.convolve(x.as_slice(), y.as_mut_slice());
        }
    }

    /// Each image of the batch convolved directly.
    fn forward<const B: usize>(&self, x: &SMatrix<T, IN, B>, y: &mut SMatrix<T, OUT, B>, _scratch: &mut ()) {
        let () = Self::CHECK;
        for (x, y) in x.as_slice().chunks_exact(IN).zip(y.as_mut_slice().chunks_exact_mut(OUT)) {
            self.convolve(x, y);
        }
    }

    /// `∂w(oc, i, j) += Σ δ(oc, oh, ow) · x(c, oh·SH + i − PH, ow·SW + j − PW)`, `∂b += Σ δ`, and
    /// `dx(c, …) = Σ w · δ` over the channel's `M` kernels, image by image.
    fn backward<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        _y: &SMatrix<T, OUT, B>,
        dy: &SMatrix<T, OUT, B>,
        mut dx: Option<&mut SMatrix<T, IN, B>>,
        grads: &mut Self,
        _scratch: &mut (),
    ) {
        let () = Self::CHECK;
        let weight = self.weight.as_slice();
        for (b, (x, dy)) in x.as_slice().chunks_exact(IN).zip(dy.as_slice().chunks_exact(OUT)).enumerate() {
            for (g, plane) in grads.bias.iter_mut().zip(dy.chunks_exact(OH * OW)) {
                *g = plane.iter().fold(*g, |s, &d| s + d);
            }
            let dweight = grads.weight.as_mut_slice();
            Self::for_each_row(|oc, tap, oh, row, ows| {
                let (c, j) = (oc / M, tap % KW);
                let src = &x[(c * H + row) * W..][..W];
                let delta = &dy[(oc * OH + oh) * OW..][..OW];
                let mut sum = T::ZERO;
                for ow in ows {
                    sum += delta[ow] * src[ow * SW + j - PW];
                }
                dweight[oc * K + tap] += sum;
            });
            if let Some(dx) = dx.as_deref_mut() {
                let dx = &mut dx.as_mut_slice()[b * IN..][..IN];
                dx.fill(T::ZERO);
                Self::for_each_row(|oc, tap, oh, row, ows| {
                    let (c, j, w) = (oc / M, tap % KW, weight[oc * K + tap]);
                    let delta = &dy[(oc * OH + oh) * OW..][..OW];
                    let dst = &mut dx[(c * H + row) * W..][..W];
                    for ow in ows {
                        dst[ow * SW + j - PW] += w * delta[ow];
                    }
                });
            }
        }
    }
}

// SAFETY: `repr(C)` of `K·OC + OC` scalars with no padding; `visit` lists weight then bias.
unsafe impl<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const M: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
    const OC: usize,
    const K: usize,
> Parameters for DepthwiseConv2d<T, C, H, W, M, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, OC, K>
{
    type Scalar = T;
    const LEN: usize = Self::PARAMS;

    fn visit<'a>(&'a self, f: &mut impl FnMut(Tensor<'a, T>)) {
        self.visit_named("", f);
    }

    fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, T>)) {
        self.visit_named_mut("", f);
    }
}

impl<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const M: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
    const OC: usize,
    const K: usize,
> Initialize for DepthwiseConv2d<T, C, H, W, M, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, OC, K>
{
    /// Fan-in `KH·KW` and fan-out `M·KH·KW`, as PyTorch computes them for a grouped
    /// convolution with one input channel per group.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        let () = Self::CHECK;
        init.fill(K, M * K, self.weight.as_mut_slice(), self.bias.as_mut_slice(), rng);
    }
}

impl<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const M: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
    const OC: usize,
    const K: usize,
> Window for DepthwiseConv2d<T, C, H, W, M, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, OC, K>
{
    /// One input plane per output channel.
    const C: usize = 1;
    const H: usize = H;
    const W: usize = W;
    const KH: usize = KH;
    const KW: usize = KW;
    const SH: usize = SH;
    const SW: usize = SW;
    const PH: usize = PH;
    const PW: usize = PW;
    const OW: usize = OW;
}

#[cfg(test)]
mod tests {
    use nalgebra::SMatrix;

    use super::*;

    /// The register-blocked order (the Cortex-M path) and the row-wise one, on weights and
    /// inputs with zeros: the same bits.
    fn same_bits<
        const C: usize,
        const H: usize,
        const W: usize,
        const M: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
        const OH: usize,
        const OW: usize,
        const IN: usize,
        const OUT: usize,
        const OC: usize,
        const K: usize,
    >() {
        let mut layer =
            DepthwiseConv2d::<f32, C, H, W, M, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, OC, K>::ZERO;
        layer.weight =
            SMatrix::from_fn(
                |k, oc| if (k + oc) % 5 == 0 { 0.0 } else { ((k * 7 + oc * 3) as f32 * 0.37).sin() },
            );
        layer.bias = SMatrix::from_fn(|oc, _| oc as f32 * 0.1 - 0.2);
        let x: SMatrix<f32, IN, 1> =
            SMatrix::from_fn(|i, _| if i % 4 == 1 { 0.0 } else { (i as f32 * 0.61).cos() });
        let (mut rows, mut blocks) = ([0.0f32; OUT], [1.0f32; OUT]);
        layer.convolve(x.as_slice(), &mut rows);
        layer.convolve_in_registers(x.as_slice(), &mut blocks);
        assert!(
            rows.iter().zip(&blocks).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{C}×{H}×{W} (multiplier {M}), {KH}×{KW} kernel, stride {SH}×{SW}, padding {PH}×{PW}"
        );
    }

    #[test]
    fn both_loop_orders_give_the_same_bits() {
        // DS-CNN's 3×3 "same" on 25×5, multiplier 2; MobileNet's stride-2 "same"; a 2×4
        // kernel without padding; per-axis strides.
        same_bits::<3, 25, 5, 2, 3, 3, 1, 1, 1, 1, 25, 5, 375, 750, 6, 9>();
        same_bits::<2, 12, 12, 1, 3, 3, 2, 2, 0, 0, 6, 6, 288, 72, 2, 9>();
        same_bits::<2, 6, 5, 3, 2, 4, 1, 1, 0, 0, 5, 2, 60, 60, 6, 8>();
        same_bits::<2, 9, 12, 1, 3, 3, 1, 2, 1, 0, 9, 6, 216, 108, 2, 9>();
    }
}
