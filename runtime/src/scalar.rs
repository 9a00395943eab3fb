//! The element types a model can be built over: `f32` (the default) and `f64`.

use core::fmt::{Debug, Display};

/// The on-disk element type of a tensor, as weight files name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// 32-bit IEEE float (`F32` in safetensors).
    F32,
    /// 64-bit IEEE float (`F64` in safetensors).
    F64,
}

/// A floating-point element type for parameters, activations and gradients.
///
/// Implemented for `f32` and `f64`. It is nalgebra's [`RealField`](nalgebra::RealField)
/// plus the plain-old-data guarantees that let a model be viewed as one flat slice.
pub trait Float:
    nalgebra::RealField + Copy + bytemuck::Pod + Default + Debug + Display + Send + Sync + 'static
{
    /// `0`, usable in `const` contexts.
    const ZERO: Self;
    /// `1`, usable in `const` contexts.
    const ONE: Self;
    /// The tag weight files use for this type.
    const DTYPE: Dtype;

    /// Converts from `f64`, rounding to nearest.
    fn of(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn as_f64(self) -> f64;
    /// `true` unless the value is NaN or infinite.
    fn finite(self) -> bool;
    /// `true` if the value is NaN.
    fn nan(self) -> bool;
}

impl Float for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const DTYPE: Dtype = Dtype::F32;

    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn nan(self) -> bool {
        self.is_nan()
    }
}

impl Float for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const DTYPE: Dtype = Dtype::F64;

    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn nan(self) -> bool {
        self.is_nan()
    }
}

/// The length of the blocks of [`BlockedSum`] and of the other blocked sums (bias
/// gradients, long products).
pub(crate) const SUM_BLOCK: usize = 256;

/// A sum that stays accurate over long sequences: values are added into a block of at
/// most [`SUM_BLOCK`], and each full block into the total, so the rounding error grows
/// like `SUM_BLOCK + n / SUM_BLOCK` instead of `n`. Up to `SUM_BLOCK` values it is the
/// plain running sum, bit for bit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockedSum<T> {
    total: T,
    block: T,
    count: usize,
}

impl<T: Float> BlockedSum<T> {
    /// An empty sum.
    pub(crate) const ZERO: Self = BlockedSum { total: T::ZERO, block: T::ZERO, count: 0 };

    /// Adds `x`.
    #[inline]
    pub(crate) fn add(&mut self, x: T) {
        self.block += x;
        self.count += 1;
        if self.count == SUM_BLOCK {
            self.total += self.block;
            self.block = T::ZERO;
            self.count = 0;
        }
    }

    /// The sum so far.
    #[inline]
    pub(crate) fn value(&self) -> T {
        self.total + self.block
    }
}
