//! Parameter sets: any model (or layer) whose tensors can be listed by name and viewed as
//! one flat slice of scalars.
//!
//! The flat view is what lets optimizers, gradient accumulation and finiteness checks be
//! written once, as a single pass over memory, for every generated model. The named view
//! ([`Tensor`]) is what weight files and error messages use.

use core::fmt;

use crate::scalar::Float;

/// How a tensor's elements are laid out in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Last index fastest (C order, PyTorch's and safetensors' order).
    RowMajor,
    /// A 2-D tensor whose first index is fastest (nalgebra's order): the transpose of
    /// row-major storage.
    ColumnMajor,
}

/// The logical shape of a tensor (up to 4 dimensions), in PyTorch's convention.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TensorShape {
    dims: [usize; 4],
    rank: usize,
}

impl TensorShape {
    /// A shape from its dimensions (at most 4).
    pub const fn new<const N: usize>(dims: [usize; N]) -> Self {
        assert!(N <= 4, "tensors have at most 4 dimensions");
        let mut all = [0; 4];
        let mut i = 0;
        while i < N {
            all[i] = dims[i];
            i += 1;
        }
        TensorShape { dims: all, rank: N }
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.dims().iter().product()
    }

    /// `true` for a shape with a zero dimension.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for TensorShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for TensorShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// A tensor's name: the layer's name (`0`, `hidden`, …) and the parameter's (`weight`, `bias`).
/// Displays as `layer.param`, PyTorch's state-dict key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorName {
    /// The layer's name: its index in the spec, or the name given to it.
    pub layer: &'static str,
    /// The parameter's name within the layer.
    pub param: &'static str,
}

impl TensorName {
    /// `true` when `key` is this tensor's `layer.param` key.
    pub fn matches(&self, key: &str) -> bool {
        key.len() == self.layer.len() + 1 + self.param.len()
            && key.starts_with(self.layer)
            && key.as_bytes()[self.layer.len()] == b'.'
            && key.ends_with(self.param)
    }
}

impl fmt::Display for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.layer, self.param)
    }
}

/// A read-only view of one named parameter tensor.
#[derive(Clone, Copy, Debug)]
pub struct Tensor<'a, T> {
    /// Its name.
    pub name: TensorName,
    /// Its logical (PyTorch) shape.
    pub shape: TensorShape,
    /// How `data` is ordered.
    pub storage: Storage,
    /// `false` for statistics that training estimates rather than optimises (a
    /// [`BatchNorm`](crate::BatchNorm)'s running mean and variance, PyTorch's buffers):
    /// optimizers leave them alone, weight files hold them like any other tensor.
    pub trainable: bool,
    /// The elements, in `storage` order.
    pub data: &'a [T],
}

/// A mutable view of one named parameter tensor.
#[derive(Debug)]
pub struct TensorMut<'a, T> {
    /// Its name.
    pub name: TensorName,
    /// Its logical (PyTorch) shape.
    pub shape: TensorShape,
    /// How `data` is ordered.
    pub storage: Storage,
    /// `false` for statistics that training estimates rather than optimises ([`Tensor::trainable`]).
    pub trainable: bool,
    /// The elements, in `storage` order.
    pub data: &'a mut [T],
}

/// A set of parameter tensors stored contiguously: a layer, or a whole generated model.
///
/// Gradients and optimizer moments have the same type as the parameters they belong to
/// (as JAX's pytrees do), so every parameter, gradient and moment lines up element for
/// element in [`as_slice`](Parameters::as_slice).
///
/// # Safety
/// The implementing type must consist of exactly [`LEN`](Parameters::LEN) values of
/// [`Scalar`](Parameters::Scalar), with no padding and nothing else (for example a
/// `#[repr(C)]` struct of nalgebra static matrices and other such structs), and
/// [`visit`](Parameters::visit) must list every tensor exactly once, in memory order.
/// `model!` generates implementations that satisfy this and checks the size at compile time.
pub unsafe trait Parameters: bytemuck::Zeroable {
    /// The element type.
    type Scalar: Float;
    /// The number of scalars in all tensors together.
    const LEN: usize;

    /// Calls `f` on every tensor, in memory order.
    fn visit<'a>(&'a self, f: &mut impl FnMut(Tensor<'a, Self::Scalar>));

    /// Calls `f` on every tensor mutably, in memory order.
    fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, Self::Scalar>));

    /// All parameters as one slice, in memory order.
    #[inline]
    fn as_slice(&self) -> &[Self::Scalar] {
        const { assert!(core::mem::size_of::<Self>() == Self::LEN * core::mem::size_of::<Self::Scalar>()) };
        // SAFETY: the trait's contract: `Self` is exactly `LEN` contiguous scalars
        // (size checked above; alignment is the scalar's since nothing else is inside).
        unsafe { core::slice::from_raw_parts(self as *const Self as *const Self::Scalar, Self::LEN) }
    }

    /// All parameters as one mutable slice, in memory order.
    #[inline]
    fn as_mut_slice(&mut self) -> &mut [Self::Scalar] {
        const { assert!(core::mem::size_of::<Self>() == Self::LEN * core::mem::size_of::<Self::Scalar>()) };
        // SAFETY: as in `as_slice`; every bit pattern is a valid scalar.
        unsafe { core::slice::from_raw_parts_mut(self as *mut Self as *mut Self::Scalar, Self::LEN) }
    }

    /// Sets every element to zero (used to clear gradients between steps).
    fn fill_zero(&mut self) {
        self.as_mut_slice().fill(Self::Scalar::ZERO);
    }

    /// Copies every element from `other`.
    fn copy_from(&mut self, other: &Self) {
        self.as_mut_slice().copy_from_slice(other.as_slice());
    }

    /// The name of the first tensor holding a NaN or infinity, if any.
    fn first_non_finite(&self) -> Option<TensorName> {
        let mut found = None;
        self.visit(&mut |t| {
            if found.is_none() && t.data.iter().any(|x| !x.finite()) {
                found = Some(t.name);
            }
        });
        found
    }

    /// A zero-filled value built directly on the heap (never on the stack).
    #[cfg(feature = "alloc")]
    fn zeroed_box() -> alloc::boxed::Box<Self>
    where
        Self: Sized,
    {
        bytemuck::zeroed_box()
    }

    /// A heap copy of `self`, made without a stack temporary.
    #[cfg(feature = "alloc")]
    fn boxed_copy(&self) -> alloc::boxed::Box<Self>
    where
        Self: Sized,
    {
        let mut b = Self::zeroed_box();
        b.copy_from(self);
        b
    }
}
