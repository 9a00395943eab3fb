//! The fully connected layer `y = W x + b`.

use nalgebra::{SMatrix, SVector};
use rand::Rng;

use super::Layer;
use crate::init::{Init, Initialize};
use crate::kernels;
use crate::params::{Parameters, Storage, Tensor, TensorMut, TensorShape};
use crate::scalar::Float;

/// A dense (fully connected) layer from `I` inputs to `O` outputs: `y = W x + b`.
///
/// The weight is nalgebra's `O × I` matrix (column-major); in weight files it is
/// PyTorch's `[O, I]` row-major tensor `weight` and the bias is `bias`, `[O]`.
/// As a [`Layer`], its gradients are a `Dense` of the same shape and it needs no scratch.
///
/// The products skip every input that is exactly zero (without a branch per row), which
/// makes sparse inputs cheap. IEEE arithmetic would turn `NaN × 0` into NaN; here a NaN or
/// infinite weight whose input is zero does not reach the output. Weight files, trainers
/// and initialisers never produce non-finite weights (see `WeightsError::NonFinite` and
/// `Divergence`); check hand-set ones with [`Parameters::first_non_finite`].
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Dense<T: Float, const I: usize, const O: usize> {
    /// The `O × I` weight matrix.
    pub weight: SMatrix<T, O, I>,
    /// The `O` biases.
    pub bias: SVector<T, O>,
}

// SAFETY: a `repr(C)` pair of zeroable nalgebra arrays.
unsafe impl<T: Float, const I: usize, const O: usize> bytemuck::Zeroable for Dense<T, I, O> {}

impl<T: Float, const I: usize, const O: usize> Dense<T, I, O> {
    /// All weights and biases zero; usable in `const` and `static` items.
    pub const ZERO: Self = Dense {
        weight: SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; O]; I])),
        bias: SVector::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; O]; 1])),
    };

    /// The number of parameters, `O·I + O`.
    pub const PARAMS: usize = O * I + O;

    /// Builds the layer from PyTorch-ordered data: `weight[o][i]` and `bias[o]`, in `const`
    /// contexts too (for weights baked into a binary).
    pub const fn from_rows(weight: [[T; I]; O], bias: [T; O]) -> Self {
        let mut w = [[T::ZERO; O]; I];
        let mut o = 0;
        while o < O {
            let mut i = 0;
            while i < I {
                w[i][o] = weight[o][i];
                i += 1;
            }
            o += 1;
        }
        Dense {
            weight: SMatrix::from_array_storage(nalgebra::ArrayStorage(w)),
            bias: SVector::from_array_storage(nalgebra::ArrayStorage([bias])),
        }
    }

    /// Lists this layer's tensors under the layer name `layer` (for generated models).
    #[doc(hidden)]
    pub fn visit_named<'a>(&'a self, layer: &'static str, f: &mut impl FnMut(Tensor<'a, T>)) {
        let weight = (TensorShape::new([O, I]), Storage::ColumnMajor);
        super::visit_weight_and_bias(layer, weight, self.weight.as_slice(), self.bias.as_slice(), f);
    }

    /// Lists this layer's tensors mutably under the layer name `layer` (for generated models).
    #[doc(hidden)]
    pub fn visit_named_mut(&mut self, layer: &'static str, f: &mut impl FnMut(TensorMut<'_, T>)) {
        let weight = (TensorShape::new([O, I]), Storage::ColumnMajor);
        super::visit_weight_and_bias_mut(
            layer,
            weight,
            self.weight.as_mut_slice(),
            self.bias.as_mut_slice(),
            f,
        );
    }
}

impl<T: Float, const I: usize, const O: usize> Layer<T, I, O> for Dense<T, I, O> {
    type Grads = Self;
    type Scratch<const B: usize> = ();

    /// `W x + b`.
    #[inline]
    fn forward_one_into(&self, x: &SVector<T, I>, y: &mut SVector<T, O>) {
        y.copy_from(&self.bias);
        kernels::matmul(&self.weight, x, y, true);
    }

    /// `Y = W X + b 1ᵀ`.
    #[inline]
    fn forward<const B: usize>(&self, x: &SMatrix<T, I, B>, y: &mut SMatrix<T, O, B>, _scratch: &mut ()) {
        for mut col in y.column_iter_mut() {
            col.copy_from(&self.bias);
        }
        kernels::matmul(&self.weight, x, y, true);
    }

    /// `∂W += δ Xᵀ`, `∂b += Σ δ`, and `dx = Wᵀ δ`.
    #[inline]
    fn backward<const B: usize>(
        &self,
        x: &SMatrix<T, I, B>,
        _y: &SMatrix<T, O, B>,
        dy: &SMatrix<T, O, B>,
        dx: Option<&mut SMatrix<T, I, B>>,
        grads: &mut Self,
        _scratch: &mut (),
    ) {
        kernels::matmul_add_nt(dy, x, &mut grads.weight);
        kernels::add_row_sums(dy.as_slice(), grads.bias.as_mut_slice());
        if let Some(dx) = dx {
            kernels::matmul_tn(&self.weight, dy, dx);
        }
    }
}

// SAFETY: `repr(C)` of `O·I + O` scalars with no padding; `visit` lists weight then bias.
unsafe impl<T: Float, const I: usize, const O: usize> Parameters for Dense<T, I, O> {
    type Scalar = T;
    const LEN: usize = Self::PARAMS;

    fn visit<'a>(&'a self, f: &mut impl FnMut(Tensor<'a, T>)) {
        self.visit_named("", f);
    }

    fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, T>)) {
        self.visit_named_mut("", f);
    }
}

impl<T: Float, const I: usize, const O: usize> Initialize for Dense<T, I, O> {
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        init.fill(I, O, self.weight.as_mut_slice(), self.bias.as_mut_slice(), rng);
    }
}
