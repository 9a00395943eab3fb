//! 2-D convolution over images stored as columns, lowered to matrix products (im2col).
//!
//! An image of `C` channels, `H` rows and `W` columns is a column of `C·H·W` scalars in
//! PyTorch's CHW order (element `(c, h, w)` at `c·H·W + h·W + w`), and a batch of `B` images
//! is an `SMatrix<T, {C·H·W}, B>`, exactly like the activations of dense layers. So a
//! flattened image is the same column (flattening moves no data) and a dense layer after it
//! sees PyTorch's `nn.Flatten` order.
//!
//! Every dimension is a const generic, because stable Rust cannot compute `C·H·W` in a type.
//! Each layer type carries an associated `CHECK` constant asserting that the dimensions are
//! consistent (for a convolution with padding `P` on both sides `OH = (H + 2P − KH)/S + 1`,
//! `IN = C·H·W`, …); every
//! constructor and pass refers to it, so a hand-written wrong instantiation fails to
//! compile, at monomorphisation, with a message naming the broken relation.
//!
//! ## Lowering
//!
//! For one sample, with `L = OH·OW` output positions and `K = C·KH·KW` kernel taps, the
//! output viewed as an `L × OC` matrix (column `oc` is output channel `oc`, so the storage is
//! CHW) is `Y = Cols · W`, where `Cols` is the `L × K` im2col matrix whose column `k` is
//! input channel `c` shifted by the tap `(i, j)` (zero where it falls into the padding; for
//! stride 1 each of its rows is a copy of an input row), and the weight is stored as the
//! `K × OC` matrix `weight` — which is PyTorch's row-major `[OC, C, KH, KW]` tensor,
//! unchanged. Backward computes `∂Wᵀ += δᵀ · Cols` (with `δ`, `L × OC`, transposed into the
//! scratch, and `∂Wᵀ` accumulated over the batch and added to `∂W` once at the end), and
//! `∂Cols = δ · Wᵀ`, which col2im adds back onto the input, row by row. All three products go
//! through [`kernels`], the same code as dense layers. The scratch buffers
//! are a [`Conv2dScratch`] owned by the caller (a generated model keeps one per convolution in
//! its cache), so no pass allocates or puts anything large on the stack.

use nalgebra::{SMatrix, SVector};
use rand::Rng;

pub(crate) mod direct;

use super::Layer;
use crate::init::{Init, Initialize};
use crate::kernels;
use crate::params::{Parameters, Storage, Tensor, TensorMut, TensorShape};
use crate::scalar::Float;

/// A 2-D convolution (PyTorch's `nn.Conv2d` with `groups = 1`, `dilation = 1`): `C`
/// input channels of `H × W`, `OC` output channels of `OH × OW`, a `KH × KW` kernel,
/// strides `SH` (rows) and `SW` (columns), and `PH` rows and `PW` columns of zero padding
/// before the image (above and to the left).
///
/// The remaining parameters are the products stable Rust cannot compute in types:
/// `IN = C·H·W`, `OUT = OC·OH·OW`, `K = C·KH·KW` kernel taps and `L = OH·OW` output
/// positions. The padding after the image follows from `OH` and `OW`: with PyTorch's
/// symmetric padding `OH = (H + 2·PH − KH)/SH + 1` (rows that the stride leaves over are not
/// used), and TensorFlow's `"same"` padding, which puts the odd row of padding below, is
/// `OH = ⌈H/SH⌉` with `PH` half the total, rounded down; likewise for columns. So `OH`
/// must satisfy `(OH − 1)·SH + KH ≤ H + 2·PH + 1` (at most one more row of padding below
/// than above) and `OH·SH + KH > H + 2·PH`. [`CHECK`](Self::CHECK) asserts all of them.
///
/// As a [`Layer`] its gradients are a `Conv2d` of the same shape and its scratch is a
/// [`Conv2dScratch<T, L, K, OC>`](Conv2dScratch), the im2col buffers of a batch; the single
/// sample path, [`forward_one`](Layer::forward_one), convolves directly and needs none.
///
/// The weight is the `K × OC` matrix whose column `oc` is output channel `oc`'s kernel in
/// `(c, i, j)` order: in memory it is PyTorch's `[OC, C, KH, KW]` weight, row-major, and
/// weight files store it under that shape as `weight`, with `bias` `[OC]`.
///
/// Like [`Dense`](crate::Dense), the products skip inputs that are exactly zero, so a
/// non-finite weight meeting only zero inputs does not reach the output.
///
/// ```
/// use nalgebra::SMatrix;
/// use staticnn_runtime::{Conv2d, Conv2dScratch, Layer};
///
/// // 1×8×8 → 4×4×4: a 3×3 kernel, stride 2 both ways, padding 1 both ways
/// // (4 = (8 + 2 − 3)/2 + 1); K = 1·3·3 taps, L = 4·4 positions.
/// type Conv = Conv2d<f32, 1, 8, 8, 4, 3, 3, 2, 2, 1, 1, 4, 4, 64, 64, 9, 16>;
/// let mut conv = Conv::ZERO;
/// conv.weight = SMatrix::from_fn(|k, oc| (k as f32 - 4.0) * (oc as f32 + 1.0) / 10.0);
/// let x = SMatrix::<f32, 64, 2>::from_fn(|i, b| ((i * 7 + b) % 5) as f32);
/// let mut y = SMatrix::<f32, 64, 2>::zeros();
/// let mut scratch = Conv2dScratch::<f32, 16, 9, 4>::ZERO; // L positions, K taps, OC
/// conv.forward(&x, &mut y, &mut scratch);
/// assert!((y.column(1) - conv.forward_one(&x.column(1).into_owned())).abs().max() < 1e-5);
///
/// // Backward: the weight and bias gradients accumulate in `grads`; `dx` is overwritten.
/// let dy = SMatrix::<f32, 64, 2>::from_element(1.0);
/// let (mut grads, mut dx) = (Conv::ZERO, SMatrix::<f32, 64, 2>::zeros());
/// conv.backward(&x, &y, &dy, Some(&mut dx), &mut grads, &mut scratch);
/// assert_eq!(grads.bias[0], 32.0); // 16 positions × 2 samples
/// ```
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Conv2d<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
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
    const K: usize,
    const L: usize,
> {
    /// The `K × OC` weight: column `oc` holds output channel `oc`'s kernel in `(c, i, j)`
    /// order (PyTorch's `[OC, C, KH, KW]`, row-major).
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
    const OC: usize,
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
    const K: usize,
    const L: usize,
> bytemuck::Zeroable for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, K, L>
{
}

/// The scratch buffers of a [`Conv2d`] with `L = OH·OW` output positions, `K = C·KH·KW`
/// taps and `OC` output channels: one sample's `L × K` im2col matrix (its gradient, in
/// backward) and `L × OC` output gradient (transposed), and the batch's weight gradient
/// (transposed), reused for every sample of a batch.
///
/// Build it on the heap for large layers
/// (`staticnn::zeroed_box::<Conv2dScratch<f32, 784, 9, 16>>()`); generated models keep one
/// per convolution in their cache.
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Conv2dScratch<T: Float, const L: usize, const K: usize, const OC: usize> {
    cols: SMatrix<T, L, K>,
    deltas: SMatrix<T, OC, L>,
    dweight: SMatrix<T, OC, K>,
}

// SAFETY: a `repr(C)` triple of zeroable nalgebra arrays.
unsafe impl<T: Float, const L: usize, const K: usize, const OC: usize> bytemuck::Zeroable
    for Conv2dScratch<T, L, K, OC>
{
}

impl<T: Float, const L: usize, const K: usize, const OC: usize> Conv2dScratch<T, L, K, OC> {
    /// All zeros; usable in `const` and `static` items.
    pub const ZERO: Self = Conv2dScratch {
        cols: SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; L]; K])),
        deltas: SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; OC]; L])),
        dweight: SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; OC]; K])),
    };
}

/// `Σ xᵢ`, with eight independent partial sums so the loop vectorises.
#[inline]
fn sum<T: Float>(x: &[T]) -> T {
    let mut acc = [T::ZERO; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder().iter().fold(T::ZERO, |s, &v| s + v);
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    acc.iter().fold(rest, |s, &a| s + a)
}

/// Writes the `R × C` matrix `m` transposed into `t`, in blocks of rows so that the
/// strided writes stay within a few cache lines.
#[inline]
fn transpose_into<T: Float, const R: usize, const C: usize>(m: &SMatrix<T, R, C>, t: &mut SMatrix<T, C, R>) {
    const BLOCK: usize = 32;
    let (m, t) = (m.as_slice(), t.as_mut_slice());
    for start in (0..R).step_by(BLOCK) {
        let rows = BLOCK.min(R - start);
        for (c, column) in m.chunks_exact(R).enumerate() {
            for (r, &v) in column[start..start + rows].iter().enumerate() {
                t[(start + r) * C + c] = v;
            }
        }
    }
}

/// The output positions `[lo, hi)` along one axis whose tap `j` reads an input position
/// rather than padding: `0 ≤ o·stride + j − pad < n`, `pad` being the padding before the
/// first input.
#[inline]
pub(crate) const fn valid_range(j: usize, n: usize, pad: usize, stride: usize, out: usize) -> (usize, usize) {
    let lo = if j >= pad { 0 } else { (pad - j).div_ceil(stride) };
    let hi = (n + pad).saturating_sub(j).div_ceil(stride);
    let hi = if hi < out { hi } else { out };
    (if lo < hi { lo } else { hi }, hi)
}

/// Whether `out` windows of `k` inputs, `stride` apart, over `n` inputs with `pad` zeros
/// before the first, is the geometry of a layer (convolution or pool) along one axis.
///
/// The padding after the last input is whatever the windows need:
/// `(out − 1)·stride + k − n − pad` (none if that is negative, when the stride leaves the
/// last inputs unread). It may equal `pad` — PyTorch's symmetric `padding`, where
/// `out = ⌊(n + 2·pad − k)/stride⌋ + 1` — or exceed it by one, as TensorFlow's `"same"`
/// padding does when the total is odd (`out = ⌈n/stride⌉`, `pad = ⌊total/2⌋`). So `out`
/// must satisfy `(out − 1)·stride + k ≤ n + 2·pad + 1` and, so that no further window fits
/// with the padding symmetric, `out·stride + k > n + 2·pad`.
pub(crate) const fn window_axis(n: usize, k: usize, stride: usize, pad: usize, out: usize) -> bool {
    n > 0
        && k > 0
        && stride > 0
        && out > 0
        && (out - 1) * stride + k <= n + 2 * pad + 1
        && out * stride + k > n + 2 * pad
}

impl<
    T: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
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
    const K: usize,
    const L: usize,
> Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, K, L>
{
    /// Fails to compile (at monomorphisation) unless the dimensions are consistent.
    pub const CHECK: () = {
        assert!(C > 0 && H > 0 && W > 0 && OC > 0, "Conv2d: C, H, W and OC must be at least 1");
        assert!(
            KH > 0 && KW > 0 && SH > 0 && SW > 0,
            "Conv2d: the kernel KH × KW and the strides must be at least 1"
        );
        assert!(
            window_axis(H, KH, SH, PH, OH),
            "Conv2d: OH must be (H + 2PH - KH) / SH + 1, or that with one more row of padding at the end (TensorFlow's same)"
        );
        assert!(
            window_axis(W, KW, SW, PW, OW),
            "Conv2d: OW must be (W + 2PW - KW) / SW + 1, or that with one more column of padding at the end (TensorFlow's same)"
        );
        assert!(IN == C * H * W, "Conv2d: IN must be C * H * W");
        assert!(OUT == OC * OH * OW, "Conv2d: OUT must be OC * OH * OW");
        assert!(K == C * KH * KW, "Conv2d: K must be C * KH * KW");
        assert!(L == OH * OW, "Conv2d: L must be OH * OW");
    };

    /// Whether this is a pointwise convolution (1 × 1, stride 1, no padding), whose image is
    /// its own `L × K` patch matrix.
    const POINTWISE: bool =
        KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0 && OH == H && OW == W;

    /// A pointwise convolution of one image: each output channel its bias plus `X · W`, `X`
    /// the image seen as its `L × C` patch matrix (column `c` is channel `c`).
    fn pointwise(&self, x: &SMatrix<T, L, K>, y: &mut SMatrix<T, L, OC>) {
        for (channel, &b) in y.as_mut_slice().chunks_exact_mut(L).zip(self.bias.iter()) {
            channel.fill(b);
        }
        kernels::matmul(x, &self.weight, y, true);
    }

    /// All weights and biases zero; usable in `const` and `static` items.
    pub const ZERO: Self = {
        let () = Self::CHECK;
        Conv2d {
            weight: SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; K]; OC])),
            bias: SVector::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; OC]; 1])),
        }
    };

    /// The number of parameters, `K·OC + OC`.
    pub const PARAMS: usize = {
        let () = Self::CHECK;
        K * OC + OC
    };

    /// Writes the `L × K` im2col matrix of one image: column `(c, i, j)` is channel `c` read
    /// at every output position shifted by the tap `(i, j)`, zero in the padding.
    fn im2col(x: &[T], cols: &mut [T]) {
        let mut columns = cols.chunks_exact_mut(OH * OW);
        for c in 0..C {
            let plane = &x[c * H * W..][..H * W];
            for i in 0..KH {
                let (oh_lo, oh_hi) = valid_range(i, H, PH, SH, OH);
                for j in 0..KW {
                    let Some(column) = columns.next() else { return };
                    let (ow_lo, ow_hi) = valid_range(j, W, PW, SW, OW);
                    if let Some((lo, hi, from)) = Self::shifted(i, j) {
                        // The plane shifted as a whole, then the wrapped columns cleared.
                        column[..lo].fill(T::ZERO);
                        column[hi..].fill(T::ZERO);
                        column[lo..hi].copy_from_slice(&plane[from..from + (hi - lo)]);
                        for row in column.chunks_exact_mut(OW) {
                            row[..ow_lo].fill(T::ZERO);
                            row[ow_hi..].fill(T::ZERO);
                        }
                        continue;
                    }
                    column[..oh_lo * OW].fill(T::ZERO);
                    column[oh_hi * OW..].fill(T::ZERO);
                    for oh in oh_lo..oh_hi {
                        let src = &plane[(oh * SH + i - PH) * W..][..W];
                        let dst = &mut column[oh * OW..][..OW];
                        dst[..ow_lo].fill(T::ZERO);
                        dst[ow_hi..].fill(T::ZERO);
                        if SW == 1 {
                            dst[ow_lo..ow_hi].copy_from_slice(&src[ow_lo + j - PW..ow_hi + j - PW]);
                        } else {
                            for ow in ow_lo..ow_hi {
                                dst[ow] = src[ow * SW + j - PW];
                            }
                        }
                    }
                }
            }
        }
    }

    /// Overwrites `dx` (one image) with the adjoint of [`im2col`](Self::im2col): each
    /// column of `dcols` added back onto the input channel it was read from, shifted back.
    /// `dcols` is scratch: its entries that fall into the padding are cleared on the way.
    fn col2im(dcols: &mut [T], dx: &mut [T]) {
        dx.fill(T::ZERO);
        let mut columns = dcols.chunks_exact_mut(OH * OW);
        for c in 0..C {
            let plane = &mut dx[c * H * W..][..H * W];
            for i in 0..KH {
                let (oh_lo, oh_hi) = valid_range(i, H, PH, SH, OH);
                for j in 0..KW {
                    let Some(column) = columns.next() else { return };
                    let (ow_lo, ow_hi) = valid_range(j, W, PW, SW, OW);
                    if let Some((lo, hi, to)) = Self::shifted(i, j) {
                        for row in column.chunks_exact_mut(OW) {
                            row[..ow_lo].fill(T::ZERO);
                            row[ow_hi..].fill(T::ZERO);
                        }
                        for (d, &s) in plane[to..to + (hi - lo)].iter_mut().zip(&column[lo..hi]) {
                            *d += s;
                        }
                        continue;
                    }
                    for oh in oh_lo..oh_hi {
                        let dst = &mut plane[(oh * SH + i - PH) * W..][..W];
                        let src = &column[oh * OW..][..OW];
                        if SW == 1 {
                            let dst = &mut dst[ow_lo + j - PW..ow_hi + j - PW];
                            for (d, &s) in dst.iter_mut().zip(&src[ow_lo..ow_hi]) {
                                *d += s;
                            }
                        } else {
                            for ow in ow_lo..ow_hi {
                                dst[ow * SW + j - PW] += src[ow];
                            }
                        }
                    }
                }
            }
        }
    }

    /// With stride 1 and the width kept (`OW = W`, as "same" padding does), tap `(i, j)`
    /// reads the channel shifted as a whole by `(i − PH)·W + (j − PW)` elements: output
    /// position `l` reads input element `l + (i − PH)·W + (j − PW)`, except in the `|j − PW|`
    /// columns of each row that wrap around into the next or previous row. Returns the
    /// positions `[lo, hi)` that read inside the channel and the element `lo` reads, or `None`
    /// when the layer's geometry is not of that kind.
    #[inline]
    fn shifted(i: usize, j: usize) -> Option<(usize, usize, usize)> {
        if SH != 1 || SW != 1 || OW != W {
            return None;
        }
        let (lo, from) = match (i * W + j).checked_sub(PH * W + PW) {
            Some(shift) => (0, shift),
            None => ((PH * W + PW) - (i * W + j), 0),
        };
        // Positions reading past the channel's end: l + shift ≥ H·W.
        let hi = (H * W + PH * W + PW).saturating_sub(i * W + j).min(OH * OW);
        Some(if lo < hi { (lo, hi, from) } else { (0, 0, 0) })
    }

    /// Lists this layer's tensors under the layer name `layer`: `weight` `[OC, C, KH, KW]`
    /// and `bias` `[OC]`, both row-major (for generated models).
    #[doc(hidden)]
    pub fn visit_named<'a>(&'a self, layer: &'static str, f: &mut impl FnMut(Tensor<'a, T>)) {
        let weight = (TensorShape::new([OC, C, KH, KW]), Storage::RowMajor);
        super::visit_weight_and_bias(layer, weight, self.weight.as_slice(), self.bias.as_slice(), f);
    }

    /// Lists this layer's tensors mutably under the layer name `layer` (for generated models).
    #[doc(hidden)]
    pub fn visit_named_mut(&mut self, layer: &'static str, f: &mut impl FnMut(TensorMut<'_, T>)) {
        let weight = (TensorShape::new([OC, C, KH, KW]), Storage::RowMajor);
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
    const OC: usize,
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
    const K: usize,
    const L: usize,
> Layer<T, IN, OUT> for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, K, L>
{
    type Grads = Self;
    type Scratch<const B: usize> = Conv2dScratch<T, L, K, OC>;

    /// The convolution of one image, computed directly (no scratch), into `y`: `OUT`
    /// scalars (49 KiB for 16 × 28 × 28 `f32`).
    ///
    /// A pointwise convolution (1 × 1, stride 1, no padding: the image itself is its patch
    /// matrix) is one matrix product, `Y = X · W` through the [`kernels`] of dense layers,
    /// with their results (the same bits wherever the portable kernels run, `no_std` x86-64
    /// and Cortex-M; the std build's SIMD kernels may differ in the last bits): 2.05 M of the
    /// 2.66 M multiply-accumulates of MLPerf Tiny's DS-CNN are pointwise.
    ///
    /// Any other convolution is computed directly: every output is its bias plus every tap
    /// `(c, i, j)` in that order (taps in the padding and zero weights skipped), whichever
    /// of the two loop orders runs, so the results are the same bits on every target:
    ///
    /// - on 32-bit Arm (a Cortex-M has no SIMD for `f32`), runs of outputs along a row are
    ///   summed in registers over all taps and stored once: one MNIST CNN inference on a
    ///   Cortex-M4 executes 4.30 M instructions instead of 5.67 M (`examples/cortex-m4`);
    /// - elsewhere each tap is added to a whole row of outputs, a loop the compiler
    ///   vectorises: on x86-64 without AVX (`examples/embedded`'s `mnist_cnn`) 161–210 µs
    ///   per image against 227–308 µs with the blocks, three runs each.
    fn forward_one_into(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
        let () = Self::CHECK;
        if let (true, Ok(x), Ok(y)) = (Self::POINTWISE, bytemuck::try_cast_ref(x), bytemuck::try_cast_mut(y))
        {
            return self.pointwise(x, y);
        }
        let (x, out) = (x.as_slice(), y.as_mut_slice());
        if cfg!(target_arch = "arm") {
            self.convolve_in_registers(x, out);
        } else {
            self.convolve_by_rows(x, out);
        }
    }

    /// The convolution of a batch, each image through the im2col `scratch`: `Y = Cols · W`.
    #[inline]
    fn forward<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        y: &mut SMatrix<T, OUT, B>,
        scratch: &mut Conv2dScratch<T, L, K, OC>,
    ) {
        let () = Self::CHECK;
        let outputs: &mut [SMatrix<T, L, OC>] = bytemuck::cast_slice_mut(y.as_mut_slice());
        for (x, y) in x.as_slice().chunks_exact(IN).zip(outputs) {
            Self::im2col(x, scratch.cols.as_mut_slice());
            for (channel, &b) in y.as_mut_slice().chunks_exact_mut(L).zip(self.bias.iter()) {
                channel.fill(b);
            }
            kernels::matmul(&scratch.cols, &self.weight, y, true);
        }
    }

    /// `∂Wᵀ += δᵀ · Cols` and `∂b += Σ δ` per image, and, when `dx` is given,
    /// `∂Cols = δ · Wᵀ` added back onto the input by col2im.
    #[inline]
    fn backward<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        _y: &SMatrix<T, OUT, B>,
        dy: &SMatrix<T, OUT, B>,
        mut dx: Option<&mut SMatrix<T, IN, B>>,
        grads: &mut Self,
        scratch: &mut Conv2dScratch<T, L, K, OC>,
    ) {
        let () = Self::CHECK;
        let deltas: &[SMatrix<T, L, OC>] = bytemuck::cast_slice(dy.as_slice());
        scratch.dweight.as_mut_slice().fill(T::ZERO);
        for (b, (x, dy)) in x.as_slice().chunks_exact(IN).zip(deltas).enumerate() {
            // ∂Wᵀ += δᵀ · Cols and ∂b += Σ δ over positions.
            Self::im2col(x, scratch.cols.as_mut_slice());
            transpose_into(dy, &mut scratch.deltas);
            kernels::matmul(&scratch.deltas, &scratch.cols, &mut scratch.dweight, true);
            for (g, channel) in grads.bias.iter_mut().zip(dy.as_slice().chunks_exact(L)) {
                *g += sum(channel);
            }
            // ∂Cols = δ · Wᵀ, added back onto the input.
            if let Some(dx) = dx.as_deref_mut() {
                scratch.cols.as_mut_slice().fill(T::ZERO);
                kernels::matmul_add_nt(dy, &self.weight, &mut scratch.cols);
                Self::col2im(scratch.cols.as_mut_slice(), &mut dx.as_mut_slice()[b * IN..][..IN]);
            }
        }
        // ∂W += (∂Wᵀ)ᵀ, once per batch.
        let dweight = scratch.dweight.as_slice();
        for (oc, column) in grads.weight.as_mut_slice().chunks_exact_mut(K).enumerate() {
            for (k, g) in column.iter_mut().enumerate() {
                *g += dweight[k * OC + oc];
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
    const OC: usize,
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
    const K: usize,
    const L: usize,
> Parameters for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, K, L>
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
    const OC: usize,
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
    const K: usize,
    const L: usize,
> Initialize for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, K, L>
{
    /// Fan-in `C·KH·KW` and fan-out `OC·KH·KW`, as PyTorch and Keras compute them.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        let () = Self::CHECK;
        init.fill(K, OC * KH * KW, self.weight.as_mut_slice(), self.bias.as_mut_slice(), rng);
    }
}
