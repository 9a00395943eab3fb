//! Batch normalisation (PyTorch's `nn.BatchNorm1d`/`nn.BatchNorm2d`, Keras's
//! `BatchNormalization`): each channel standardised, then scaled by `weight` (γ) and shifted
//! by `bias` (β).
//!
//! - **Training** ([`Layer::forward_train`]) standardises with the batch's own mean and
//!   biased variance over the samples (and, for images, every position of the channel),
//!   leaving out the padding columns of a short final batch ([`TrainContext::padding`]).
//!   The statistics are kept in the layer's scratch, a [`BatchStatistics`], for `backward`
//!   and for [`BatchNorm::update_statistics`], which trainers call after each step.
//! - **Inference** ([`Layer::forward`], [`Layer::forward_one_into`]) uses the running
//!   estimates instead: `y = γ (x − running_mean) / √(running_var + ε) + β`, an affine map per
//!   channel that [`BatchNorm::scale_and_shift`] gives and [`BatchNorm::fold_into`] folds into
//!   the dense or convolution layer before it for deployment (any [`FoldBatchNorm`]).
//!
//! Conventions: momentum as PyTorch defines it, `running ← (1 − momentum) · running +
//! momentum · batch`, default 0.1, ε default 1e-5, and the running variance updated with the
//! *unbiased* batch variance (`n / (n − 1)` times the biased one), as PyTorch does. Keras's
//! `momentum` is the weight of the old value: Keras's `momentum = 0.99` is PyTorch's (and
//! this library's) `0.01`, and its default ε is 1e-3; Keras updates the moving variance with
//! the biased batch variance, a difference of `n / (n − 1)` in that estimate only.
//!
//! The parameters are four `[C]` tensors with PyTorch's names: `weight`, `bias` (trained)
//! and `running_mean`, `running_var` (statistics: [`Tensor::trainable`] is `false`, so
//! optimizers and weight decay leave them alone). PyTorch's `num_batches_tracked` counter is
//! not kept; weight loaders accept and ignore it.

use nalgebra::{SMatrix, SVector};
use rand::Rng;

use super::{Conv2d, Dense, DepthwiseConv2d, Layer, TrainContext};
use crate::init::{Init, Initialize};
use crate::params::{Parameters, Storage, Tensor, TensorMut, TensorName, TensorShape};
use crate::scalar::Float;

/// The parameters and running statistics of a batch normalisation over `C` channels of
/// `HW` values each (`HW = 1` after a dense layer, `H·W` for an image); `N = C·HW` is the
/// width of a sample, which stable Rust cannot compute in a type ([`CHECK`](Self::CHECK)
/// asserts it).
///
/// `BatchNorm` holds data only. Its [`Layer`] is [`BatchNormWithEps`], which pairs it with
/// the ε added to the variance: `bn.with_eps(1e-5).forward(…)`.
///
/// ```
/// use nalgebra::SMatrix;
/// use staticnn_runtime::{BatchNorm, Layer};
///
/// let mut bn = BatchNorm::<f64, 2, 1, 2>::ZERO;
/// bn.weight.fill(1.0);
/// bn.running_var.fill(1.0);
/// bn.running_mean[1] = 3.0;
/// let y = bn.with_eps(0.0).forward_one(&SMatrix::<f64, 2, 1>::new(1.0, 5.0));
/// assert_eq!(y, SMatrix::<f64, 2, 1>::new(1.0, 2.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct BatchNorm<T: Float, const C: usize, const HW: usize, const N: usize> {
    /// The scale γ of each channel (PyTorch's `weight`, Keras's `gamma`).
    pub weight: SVector<T, C>,
    /// The shift β of each channel (PyTorch's `bias`, Keras's `beta`).
    pub bias: SVector<T, C>,
    /// The running estimate of each channel's mean (Keras's `moving_mean`).
    pub running_mean: SVector<T, C>,
    /// The running estimate of each channel's variance (Keras's `moving_variance`).
    pub running_var: SVector<T, C>,
}

// SAFETY: a `repr(C)` struct of four zeroable nalgebra arrays.
unsafe impl<T: Float, const C: usize, const HW: usize, const N: usize> bytemuck::Zeroable
    for BatchNorm<T, C, HW, N>
{
}

impl<T: Float, const C: usize, const HW: usize, const N: usize> BatchNorm<T, C, HW, N> {
    /// Fails to compile (at monomorphisation) unless the dimensions are consistent.
    pub const CHECK: () = {
        assert!(C > 0 && HW > 0, "BatchNorm: C and HW must be at least 1");
        assert!(N == C * HW, "BatchNorm: N must be C * HW");
    };

    /// Every value zero; usable in `const` and `static` items. (A fresh layer is
    /// [`IDENTITY`](Self::IDENTITY), which [`Initialize`] sets.)
    pub const ZERO: Self = Self::filled(T::ZERO, T::ZERO);

    /// γ = 1, β = 0, running mean 0 and running variance 1: what PyTorch and Keras start
    /// from, and what [`Initialize::initialize`] sets whatever the scheme.
    pub const IDENTITY: Self = Self::filled(T::ONE, T::ONE);

    /// The number of values: `4·C`.
    pub const PARAMS: usize = 4 * C;

    const fn filled(scale: T, var: T) -> Self {
        BatchNorm {
            weight: vector(scale),
            bias: vector(T::ZERO),
            running_mean: vector(T::ZERO),
            running_var: vector(var),
        }
    }

    /// The layer that normalises with these parameters, `eps` being added to the variance
    /// (PyTorch's default 1e-5, Keras's 1e-3).
    pub fn with_eps(&self, eps: f64) -> BatchNormWithEps<'_, T, C, HW, N> {
        BatchNormWithEps { params: self, eps: T::of(eps) }
    }

    /// The inference map of each channel as `y = scale · x + shift`:
    /// `scale = γ / √(running_var + ε)`, `shift = β − running_mean · scale`.
    pub fn scale_and_shift(&self, eps: f64) -> (SVector<T, C>, SVector<T, C>) {
        self.inference_map(T::of(eps))
    }

    /// [`scale_and_shift`](Self::scale_and_shift) with ε in `T`.
    fn inference_map(&self, eps: T) -> (SVector<T, C>, SVector<T, C>) {
        let scale = SVector::<T, C>::from_fn(|c, _| self.weight[c] / (self.running_var[c] + eps).sqrt());
        let shift = SVector::<T, C>::from_fn(|c, _| self.bias[c] - self.running_mean[c] * scale[c]);
        (scale, shift)
    }

    /// Folds this normalisation's inference map (with ε = `eps`) into `layer`, the layer
    /// before it, whose output channels it normalises: afterwards `layer` alone computes
    /// what `layer` then the normalisation did, up to rounding — the deployment form, one
    /// layer and no extra pass. Keep the folded layer in a model declared without the
    /// `batchnorm`.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use staticnn_runtime::{BatchNorm, Dense, Layer};
    ///
    /// let mut dense = Dense::<f64, 2, 2>::from_rows([[1.0, 2.0], [3.0, -1.0]], [0.5, 0.0]);
    /// let mut bn = BatchNorm::<f64, 2, 1, 2>::IDENTITY;
    /// (bn.weight[0], bn.running_mean[1], bn.running_var[1]) = (2.0, 1.0, 4.0);
    /// let x = SMatrix::<f64, 2, 1>::new(1.0, -2.0);
    /// let before = bn.with_eps(0.0).forward_one(&dense.forward_one(&x));
    /// bn.fold_into(0.0, &mut dense);
    /// assert!((dense.forward_one(&x) - before).norm() < 1e-12);
    /// ```
    pub fn fold_into(&self, eps: f64, layer: &mut impl FoldBatchNorm<T, C>) {
        let (scale, shift) = self.scale_and_shift(eps);
        layer.scale_and_shift_channels(&scale, &shift);
    }

    /// Moves the running statistics towards those of one training step: `momentum` is
    /// PyTorch's (`running ← (1 − momentum) · running + momentum · batch`). `batches` are
    /// the statistics of the step's passes — one, or one per shard of a
    /// [`ParallelTrainer`](crate::ParallelTrainer) — pooled into the statistics of the whole
    /// batch exactly; the running variance takes the unbiased variance (the biased one for a
    /// single value). Passes without samples count for nothing, and a step without any
    /// leaves the statistics as they are.
    pub fn update_statistics<'s>(
        &mut self,
        batches: impl Iterator<Item = &'s BatchStatistics<T, C>> + Clone,
        momentum: f64,
    ) where
        T: 's,
    {
        let counts = batches.clone().map(|s| (s.samples * HW) as f64);
        let total: f64 = counts.sum();
        if total == 0.0 {
            return;
        }
        for c in 0..C {
            let pooled = |f: &dyn Fn(&BatchStatistics<T, C>) -> f64| {
                batches.clone().filter(|s| s.samples > 0).map(|s| (s.samples * HW) as f64 * f(s)).sum::<f64>()
            };
            let mean = pooled(&|s| s.mean[c].as_f64()) / total;
            // Each pass's spread around its mean, plus its mean's distance from the pooled one.
            let spread = |s: &BatchStatistics<T, C>| {
                let d = s.mean[c].as_f64() - mean;
                s.var[c].as_f64() + d * d
            };
            let biased = pooled(&spread) / total;
            let var = if total > 1.0 { biased * total / (total - 1.0) } else { biased };
            let blend = |old: T, new: f64| T::of((1.0 - momentum) * old.as_f64() + momentum * new);
            self.running_mean[c] = blend(self.running_mean[c], mean);
            self.running_var[c] = blend(self.running_var[c], var);
        }
    }

    /// Lists this layer's tensors under the layer name `layer` (for generated models).
    #[doc(hidden)]
    pub fn visit_named<'a>(&'a self, layer: &'static str, f: &mut impl FnMut(Tensor<'a, T>)) {
        let shape = TensorShape::new([C]);
        let tensors = [
            ("weight", true, &self.weight),
            ("bias", true, &self.bias),
            ("running_mean", false, &self.running_mean),
            ("running_var", false, &self.running_var),
        ];
        for (param, trainable, data) in tensors {
            let name = TensorName { layer, param };
            f(Tensor { name, shape, storage: Storage::RowMajor, trainable, data: data.as_slice() });
        }
    }

    /// Lists this layer's tensors mutably under the layer name `layer` (for generated models).
    #[doc(hidden)]
    pub fn visit_named_mut(&mut self, layer: &'static str, f: &mut impl FnMut(TensorMut<'_, T>)) {
        let shape = TensorShape::new([C]);
        let tensors = [
            ("weight", true, &mut self.weight),
            ("bias", true, &mut self.bias),
            ("running_mean", false, &mut self.running_mean),
            ("running_var", false, &mut self.running_var),
        ];
        for (param, trainable, data) in tensors {
            let name = TensorName { layer, param };
            f(TensorMut { name, shape, storage: Storage::RowMajor, trainable, data: data.as_mut_slice() });
        }
    }
}

/// A vector of `C` copies of `v`, in `const` contexts.
const fn vector<T: Float, const C: usize>(v: T) -> SVector<T, C> {
    SVector::from_array_storage(nalgebra::ArrayStorage([[v; C]; 1]))
}

// SAFETY: `repr(C)`, four `[T; C]` arrays and nothing else, listed in memory order.
unsafe impl<T: Float, const C: usize, const HW: usize, const N: usize> Parameters for BatchNorm<T, C, HW, N> {
    type Scalar = T;
    const LEN: usize = 4 * C;

    fn visit<'a>(&'a self, f: &mut impl FnMut(Tensor<'a, T>)) {
        self.visit_named("", f);
    }

    fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, T>)) {
        self.visit_named_mut("", f);
    }
}

impl<T: Float, const C: usize, const HW: usize, const N: usize> Initialize for BatchNorm<T, C, HW, N> {
    /// [`IDENTITY`](Self::IDENTITY) whatever the scheme, as PyTorch and Keras initialise;
    /// draws nothing from `rng`.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        let () = Self::CHECK;
        let _ = (init, rng);
        *self = Self::IDENTITY;
    }
}

/// The statistics of one training pass through a [`BatchNorm`] (its [`Layer::Scratch`]):
/// each channel's batch mean, biased variance and `1 / √(variance + ε)`, and the number of
/// samples they cover.
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct BatchStatistics<T: Float, const C: usize> {
    /// Each channel's mean over the samples (and positions).
    pub mean: SVector<T, C>,
    /// Each channel's biased variance.
    pub var: SVector<T, C>,
    /// `1 / √(var + ε)`.
    pub inv_std: SVector<T, C>,
    /// The batch columns that were samples (the first `samples`; the rest was padding).
    pub samples: usize,
}

// SAFETY: zeroable arrays and an integer.
unsafe impl<T: Float, const C: usize> bytemuck::Zeroable for BatchStatistics<T, C> {}

/// A [`BatchNorm`] with its ε: the [`Layer`] that normalises (made by [`BatchNorm::with_eps`]).
///
/// Its gradients are a `BatchNorm` (only `weight` and `bias` receive any) and its scratch is
/// the [`BatchStatistics`] of the last training pass, which `backward` reads.
#[derive(Clone, Copy, Debug)]
pub struct BatchNormWithEps<'a, T: Float, const C: usize, const HW: usize, const N: usize> {
    /// The parameters and running statistics.
    pub params: &'a BatchNorm<T, C, HW, N>,
    /// Added to the variance before its square root.
    pub eps: T,
}

impl<T: Float, const C: usize, const HW: usize, const N: usize> BatchNormWithEps<'_, T, C, HW, N> {
    /// `y = scale · x + shift` per channel, over samples stored one after another.
    fn affine(x: &[T], y: &mut [T], scale: &SVector<T, C>, shift: &SVector<T, C>) {
        for (k, (x, y)) in x.chunks_exact(HW).zip(y.chunks_exact_mut(HW)).enumerate() {
            let (scale, shift) = (scale[k % C], shift[k % C]);
            for (y, &x) in y.iter_mut().zip(x) {
                *y = scale * x + shift;
            }
        }
    }
}

impl<T: Float, const C: usize, const HW: usize, const N: usize> Layer<T, N, N>
    for BatchNormWithEps<'_, T, C, HW, N>
{
    type Grads = BatchNorm<T, C, HW, N>;
    type Scratch<const B: usize> = BatchStatistics<T, C>;

    fn forward_one_into(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        let () = BatchNorm::<T, C, HW, N>::CHECK;
        let (scale, shift) = self.params.inference_map(self.eps);
        Self::affine(x.as_slice(), y.as_mut_slice(), &scale, &shift);
    }

    fn forward<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        y: &mut SMatrix<T, N, B>,
        _scratch: &mut Self::Scratch<B>,
    ) {
        let () = BatchNorm::<T, C, HW, N>::CHECK;
        let (scale, shift) = self.params.inference_map(self.eps);
        Self::affine(x.as_slice(), y.as_mut_slice(), &scale, &shift);
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        y: &mut SMatrix<T, N, B>,
        stats: &mut Self::Scratch<B>,
        context: &TrainContext,
    ) {
        let () = BatchNorm::<T, C, HW, N>::CHECK;
        let samples = context.samples(B);
        stats.samples = samples;
        let count = T::of((samples * HW).max(1) as f64);
        let x = x.as_slice();
        // Two passes per channel (mean, then the spread around it): exact enough in f32.
        for c in 0..C {
            let values = || (0..samples).flat_map(move |b| &x[b * N + c * HW..b * N + (c + 1) * HW]);
            let mean = values().fold(T::ZERO, |s, &v| s + v) / count;
            let var = values().fold(T::ZERO, |s, &v| s + (v - mean) * (v - mean)) / count;
            (stats.mean[c], stats.var[c], stats.inv_std[c]) = (mean, var, T::ONE / (var + self.eps).sqrt());
        }
        let p = self.params;
        let scale = SVector::<T, C>::from_fn(|c, _| p.weight[c] * stats.inv_std[c]);
        let shift = SVector::<T, C>::from_fn(|c, _| p.bias[c] - stats.mean[c] * scale[c]);
        Self::affine(x, y.as_mut_slice(), &scale, &shift);
    }

    /// With `m` values per channel and `x̂ = (x − mean) · inv_std`: `∂β = Σ dy`,
    /// `∂γ = Σ dy · x̂`, and `dx = γ · inv_std / m · (m · dy − Σ dy − x̂ · Σ dy · x̂)` for
    /// the samples, zero for the padding (which the statistics did not see).
    fn backward<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        _y: &SMatrix<T, N, B>,
        dy: &SMatrix<T, N, B>,
        dx: Option<&mut SMatrix<T, N, B>>,
        grads: &mut Self::Grads,
        stats: &mut Self::Scratch<B>,
    ) {
        let samples = stats.samples.min(B);
        let (x, dy) = (x.as_slice(), dy.as_slice());
        let mut dx = dx;
        for c in 0..C {
            let (mean, inv_std) = (stats.mean[c], stats.inv_std[c]);
            let range = |b: usize| b * N + c * HW..b * N + (c + 1) * HW;
            let (mut sum_dy, mut sum_dy_xhat) = (T::ZERO, T::ZERO);
            for b in 0..samples {
                for (&x, &dy) in x[range(b)].iter().zip(&dy[range(b)]) {
                    sum_dy += dy;
                    sum_dy_xhat += dy * (x - mean) * inv_std;
                }
            }
            grads.bias[c] += sum_dy;
            grads.weight[c] += sum_dy_xhat;
            let Some(dx) = dx.as_deref_mut() else { continue };
            let dx = dx.as_mut_slice();
            let m = T::of((samples * HW).max(1) as f64);
            let k = self.params.weight[c] * inv_std / m;
            for b in 0..B {
                let span = range(b);
                for ((dx, &x), &dy) in dx[span.clone()].iter_mut().zip(&x[span.clone()]).zip(&dy[span]) {
                    *dx = if b < samples {
                        k * (m * dy - sum_dy - (x - mean) * inv_std * sum_dy_xhat)
                    } else {
                        T::ZERO
                    };
                }
            }
        }
    }
}

/// A layer whose output has `C` channels, each an affine function of the input with its own
/// weights and bias, so that a per-channel `y ← scale · y + shift` after it can be folded
/// into its parameters ([`BatchNorm::fold_into`]): [`Dense`], [`Conv2d`], [`DepthwiseConv2d`].
pub trait FoldBatchNorm<T: Float, const C: usize> {
    /// Makes every output channel `c` compute `scale[c] · y + shift[c]` of what it computed.
    fn scale_and_shift_channels(&mut self, scale: &SVector<T, C>, shift: &SVector<T, C>);
}

impl<T: Float, const I: usize, const O: usize> FoldBatchNorm<T, O> for Dense<T, I, O> {
    fn scale_and_shift_channels(&mut self, scale: &SVector<T, O>, shift: &SVector<T, O>) {
        for (o, mut row) in self.weight.row_iter_mut().enumerate() {
            row *= scale[o];
        }
        self.bias.zip_zip_apply(scale, shift, |b, s, t| *b = s * *b + t);
    }
}

/// Scales the columns of a `K × OC` weight (one per output channel, as the convolutions
/// store them) and shifts the biases.
fn fold_columns<T: Float, const K: usize, const OC: usize>(
    weight: &mut SMatrix<T, K, OC>,
    bias: &mut SVector<T, OC>,
    scale: &SVector<T, OC>,
    shift: &SVector<T, OC>,
) {
    for (oc, mut column) in weight.column_iter_mut().enumerate() {
        column *= scale[oc];
    }
    bias.zip_zip_apply(scale, shift, |b, s, t| *b = s * *b + t);
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
> FoldBatchNorm<T, OC> for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, K, L>
{
    fn scale_and_shift_channels(&mut self, scale: &SVector<T, OC>, shift: &SVector<T, OC>) {
        fold_columns(&mut self.weight, &mut self.bias, scale, shift);
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
> FoldBatchNorm<T, OC> for DepthwiseConv2d<T, C, H, W, M, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, OC, K>
{
    fn scale_and_shift_channels(&mut self, scale: &SVector<T, OC>, shift: &SVector<T, OC>) {
        fold_columns(&mut self.weight, &mut self.bias, scale, shift);
    }
}
