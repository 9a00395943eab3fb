//! Dropout: in training, each value kept with probability `1 − rate` and scaled by
//! `1 / (1 − rate)`, or zeroed; in inference, the identity (PyTorch's `nn.Dropout`, Keras's
//! `Dropout`: "inverted" dropout, so nothing changes at inference).
//!
//! The masks are reproducible: whether a value is kept is a hash of the run's seed, the
//! step, the layer's stream and the value's place (row, and column within the whole batch)
//! — the [`TrainContext`] and nothing else. The same seed therefore trains the same model
//! whether a batch runs on one thread or is split over several, and a step's forward pass
//! can be repeated (as gradient checks do) with the same mask.

use nalgebra::{SMatrix, SVector};

use super::{Layer, TrainContext};
use crate::scalar::Float;

/// Dropout of a fraction `rate` (in `[0, 1)`) of the values in training; `stream` tells
/// the dropout layers of one model apart (generated models number them).
///
/// Its scratch is the mask of the last training pass (`0` or `1 / (1 − rate)` per value),
/// which `backward` applies to the gradient.
///
/// ```
/// use nalgebra::SMatrix;
/// use staticnn_runtime::{Dropout, Layer, layers::TrainContext};
///
/// let dropout = Dropout { rate: 0.5, stream: 0 };
/// let x = SMatrix::<f32, 1000, 1>::from_element(1.0);
/// assert_eq!(dropout.forward_one(&x), x); // inference: the identity
/// let (mut y, mut mask) = (SMatrix::zeros(), SMatrix::zeros());
/// dropout.forward_train(&x, &mut y, &mut mask, &TrainContext { step: 1, ..Default::default() });
/// let kept = y.iter().filter(|&&v| v == 2.0).count();
/// assert!((430..570).contains(&kept) && y.iter().all(|&v| v == 0.0 || v == 2.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// The probability that a value is zeroed, in `[0, 1)`.
    pub rate: f64,
    /// Which of the model's random streams the layer draws from.
    pub stream: u64,
}

impl Dropout {
    /// Whether the value at `row` of batch column `column` is kept in the step of `context`.
    pub fn keeps(&self, context: &TrainContext, row: usize, column: usize) -> bool {
        let mut h = mix(context.seed ^ mix(self.stream.wrapping_add(0x9e37_79b9_7f4a_7c15)));
        h = mix(h ^ context.step);
        h = mix(h ^ column as u64);
        h = mix(h ^ row as u64);
        // The top 53 bits as a uniform value in [0, 1).
        ((h >> 11) as f64) * (1.0 / (1u64 << 53) as f64) >= self.rate
    }
}

/// SplitMix64's finaliser: a bijection of `u64` whose every output bit depends on every
/// input bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<T: Float, const N: usize> Layer<T, N, N> for Dropout {
    type Grads = ();
    type Scratch<const B: usize> = SMatrix<T, N, B>;

    #[inline]
    fn forward_one_into(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        y.copy_from(x);
    }

    #[inline]
    fn forward<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        y: &mut SMatrix<T, N, B>,
        _scratch: &mut Self::Scratch<B>,
    ) {
        y.copy_from(x);
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        y: &mut SMatrix<T, N, B>,
        mask: &mut Self::Scratch<B>,
        context: &TrainContext,
    ) {
        let scale = T::of(1.0 / (1.0 - self.rate));
        for b in 0..B {
            for (row, m) in mask.column_mut(b).iter_mut().enumerate() {
                *m = if self.keeps(context, row, context.offset + b) { scale } else { T::ZERO };
            }
        }
        y.zip_zip_apply(x, mask, |y, x, m| *y = x * m);
    }

    fn backward<const B: usize>(
        &self,
        _x: &SMatrix<T, N, B>,
        _y: &SMatrix<T, N, B>,
        dy: &SMatrix<T, N, B>,
        dx: Option<&mut SMatrix<T, N, B>>,
        _grads: &mut (),
        mask: &mut Self::Scratch<B>,
    ) {
        if let Some(dx) = dx {
            dx.zip_zip_apply(dy, mask, |dx, dy, m| *dx = dy * m);
        }
    }
}
