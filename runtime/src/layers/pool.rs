//! Pooling layers over images stored as CHW columns (see [`conv`](super::conv)): max and
//! average pooling over rectangular windows, and global average pooling.
//!
//! Like activations they have no parameters, so they are plain values (unit structs) whose
//! type carries the shapes, and a [`Layer`] for every scalar type with `Grads` and `Scratch`
//! both `()`; like [`Conv2d`](super::Conv2d) each has an associated `CHECK` constant that
//! rejects inconsistent dimensions at compile time.

use nalgebra::{SMatrix, SVector};

use super::Layer;
use crate::scalar::Float;

/// Max pooling (PyTorch's `nn.MaxPool2d((KH, KW), (SH, SW))`): `C` channels of `H × W` to
/// `C × OH × OW`, each output the maximum of a `KH × KW` window, windows `SH` rows and `SW`
/// columns apart, no padding.
///
/// `OH = (H − KH)/SH + 1`, `OW = (W − KW)/SW + 1` (rows or columns the stride leaves over are not
/// used, as in PyTorch), `IN = C·H·W`, `OUT = C·OH·OW`. Backward routes each output's
/// gradient to the first maximum of its window (PyTorch's choice on ties), found again from
/// the input rather than stored.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MaxPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
>;

/// Average pooling (PyTorch's `nn.AvgPool2d((KH, KW), (SH, SW))`): as [`MaxPool2d`], each
/// output the mean of its `KH × KW` window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AvgPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
>;

/// Global average pooling: the mean of each of `C` channels of `H × W` (`IN = C·H·W`), a
/// flat vector of `C` (PyTorch's `nn.AdaptiveAvgPool2d(1)` followed by `nn.Flatten()`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GlobalAvgPool<const C: usize, const H: usize, const W: usize, const IN: usize>;

macro_rules! windowed_pool {
    ($pool:ident) => {
        impl<
            const C: usize,
            const H: usize,
            const W: usize,
            const KH: usize,
            const KW: usize,
            const SH: usize,
            const SW: usize,
            const OH: usize,
            const OW: usize,
            const IN: usize,
            const OUT: usize,
        > $pool<C, H, W, KH, KW, SH, SW, OH, OW, IN, OUT>
        {
            /// Fails to compile (at monomorphisation) unless the dimensions are consistent.
            pub const CHECK: () = {
                assert!(C > 0 && H > 0 && W > 0, "pooling: C, H and W must be at least 1");
                assert!(
                    KH > 0 && KW > 0 && SH > 0 && SW > 0,
                    "pooling: the window KH × KW and the strides must be at least 1"
                );
                assert!(KH <= H && KW <= W, "pooling: the window KH × KW is larger than the input H × W");
                assert!(OH == (H - KH) / SH + 1, "pooling: OH must be (H - KH) / SH + 1");
                assert!(OW == (W - KW) / SW + 1, "pooling: OW must be (W - KW) / SW + 1");
                assert!(IN == C * H * W, "pooling: IN must be C * H * W");
                assert!(OUT == C * OH * OW, "pooling: OUT must be C * OH * OW");
            };
        }

        impl<
            T: Float,
            const C: usize,
            const H: usize,
            const W: usize,
            const KH: usize,
            const KW: usize,
            const SH: usize,
            const SW: usize,
            const OH: usize,
            const OW: usize,
            const IN: usize,
            const OUT: usize,
        > Layer<T, IN, OUT> for $pool<C, H, W, KH, KW, SH, SW, OH, OW, IN, OUT>
        {
            type Grads = ();
            type Scratch<const B: usize> = ();

            fn forward_one_into(&self, x: &SVector<T, IN>, y: &mut SVector<T, OUT>) {
                let () = Self::CHECK;
                Self::pool(x.as_slice(), y.as_mut_slice());
            }

            #[inline]
            fn forward<const B: usize>(
                &self,
                x: &SMatrix<T, IN, B>,
                y: &mut SMatrix<T, OUT, B>,
                _scratch: &mut (),
            ) {
                let () = Self::CHECK;
                for (x, y) in x.as_slice().chunks_exact(IN).zip(y.as_mut_slice().chunks_exact_mut(OUT)) {
                    Self::pool(x, y);
                }
            }

            #[inline]
            fn backward<const B: usize>(
                &self,
                x: &SMatrix<T, IN, B>,
                y: &SMatrix<T, OUT, B>,
                dy: &SMatrix<T, OUT, B>,
                dx: Option<&mut SMatrix<T, IN, B>>,
                _grads: &mut (),
                _scratch: &mut (),
            ) {
                let () = Self::CHECK;
                let Some(dx) = dx else { return };
                let columns = x.as_slice().chunks_exact(IN).zip(y.as_slice().chunks_exact(OUT));
                let grads = dy.as_slice().chunks_exact(OUT).zip(dx.as_mut_slice().chunks_exact_mut(IN));
                for ((x, y), (dy, dx)) in columns.zip(grads) {
                    dx.fill(T::ZERO);
                    Self::unpool(x, y, dy, dx);
                }
            }
        }
    };
}

windowed_pool!(MaxPool2d);
windowed_pool!(AvgPool2d);

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
> MaxPool2d<C, H, W, KH, KW, SH, SW, OH, OW, IN, OUT>
{
    /// The offset, in `rows` (the `KH` input rows of one output row), of the first maximum
    /// of the window starting at column `col`.
    #[inline(always)]
    fn window_argmax<T: Float>(rows: &[T], col: usize) -> usize {
        let mut best = col;
        let mut max = rows[col];
        for r in 0..KH {
            for (offset, &v) in rows[r * W + col..][..KW].iter().enumerate() {
                if v > max || v.nan() {
                    (best, max) = (r * W + col + offset, v);
                }
            }
        }
        best
    }

    fn pool<T: Float>(x: &[T], y: &mut [T]) {
        for (plane, out) in x.chunks_exact(H * W).zip(y.chunks_exact_mut(OH * OW)) {
            for (oh, out) in out.chunks_exact_mut(OW).enumerate() {
                let rows = &plane[oh * SH * W..][..KH * W];
                for (ow, out) in out.iter_mut().enumerate() {
                    let mut max = rows[ow * SW];
                    for r in 0..KH {
                        for &v in &rows[r * W + ow * SW..][..KW] {
                            if v > max || v.nan() {
                                max = v;
                            }
                        }
                    }
                    *out = max;
                }
            }
        }
    }

    fn unpool<T: Float>(x: &[T], _y: &[T], dy: &[T], dx: &mut [T]) {
        let planes = x.chunks_exact(H * W).zip(dx.chunks_exact_mut(H * W));
        for ((plane, dplane), dout) in planes.zip(dy.chunks_exact(OH * OW)) {
            for (oh, dout) in dout.chunks_exact(OW).enumerate() {
                let rows = &plane[oh * SH * W..][..KH * W];
                let drows = &mut dplane[oh * SH * W..][..KH * W];
                for (ow, &d) in dout.iter().enumerate() {
                    if d != T::ZERO {
                        drows[Self::window_argmax(rows, ow * SW)] += d;
                    }
                }
            }
        }
    }
}

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const OH: usize,
    const OW: usize,
    const IN: usize,
    const OUT: usize,
> AvgPool2d<C, H, W, KH, KW, SH, SW, OH, OW, IN, OUT>
{
    fn pool<T: Float>(x: &[T], y: &mut [T]) {
        let scale = T::ONE / T::of((KH * KW) as f64);
        for (plane, out) in x.chunks_exact(H * W).zip(y.chunks_exact_mut(OH * OW)) {
            for oh in 0..OH {
                for (ow, out) in out[oh * OW..][..OW].iter_mut().enumerate() {
                    let mut sum = T::ZERO;
                    for r in oh * SH..oh * SH + KH {
                        for &v in &plane[r * W + ow * SW..][..KW] {
                            sum += v;
                        }
                    }
                    *out = sum * scale;
                }
            }
        }
    }

    fn unpool<T: Float>(_x: &[T], _y: &[T], dy: &[T], dx: &mut [T]) {
        let scale = T::ONE / T::of((KH * KW) as f64);
        for (dplane, dout) in dx.chunks_exact_mut(H * W).zip(dy.chunks_exact(OH * OW)) {
            for oh in 0..OH {
                for (ow, &d) in dout[oh * OW..][..OW].iter().enumerate() {
                    let share = d * scale;
                    for r in oh * SH..oh * SH + KH {
                        for v in &mut dplane[r * W + ow * SW..][..KW] {
                            *v += share;
                        }
                    }
                }
            }
        }
    }
}

impl<const C: usize, const H: usize, const W: usize, const IN: usize> GlobalAvgPool<C, H, W, IN> {
    /// Fails to compile (at monomorphisation) unless `IN = C·H·W`.
    pub const CHECK: () = {
        assert!(C > 0 && H > 0 && W > 0, "GlobalAvgPool: C, H and W must be at least 1");
        assert!(IN == C * H * W, "GlobalAvgPool: IN must be C * H * W");
    };

    fn pool<T: Float>(x: &[T], y: &mut [T]) {
        let scale = T::ONE / T::of((H * W) as f64);
        for (plane, y) in x.chunks_exact(H * W).zip(y) {
            *y = plane.iter().fold(T::ZERO, |s, &v| s + v) * scale;
        }
    }
}

impl<T: Float, const C: usize, const H: usize, const W: usize, const IN: usize> Layer<T, IN, C>
    for GlobalAvgPool<C, H, W, IN>
{
    type Grads = ();
    type Scratch<const B: usize> = ();

    /// The channel means of one image.
    fn forward_one_into(&self, x: &SVector<T, IN>, y: &mut SVector<T, C>) {
        let () = Self::CHECK;
        Self::pool(x.as_slice(), y.as_mut_slice());
    }

    #[inline]
    fn forward<const B: usize>(&self, x: &SMatrix<T, IN, B>, y: &mut SMatrix<T, C, B>, _scratch: &mut ()) {
        let () = Self::CHECK;
        for (x, y) in x.as_slice().chunks_exact(IN).zip(y.as_mut_slice().chunks_exact_mut(C)) {
            Self::pool(x, y);
        }
    }

    /// Each channel's output gradient spread evenly over its `H·W` inputs.
    #[inline]
    fn backward<const B: usize>(
        &self,
        _x: &SMatrix<T, IN, B>,
        _y: &SMatrix<T, C, B>,
        dy: &SMatrix<T, C, B>,
        dx: Option<&mut SMatrix<T, IN, B>>,
        _grads: &mut (),
        _scratch: &mut (),
    ) {
        let () = Self::CHECK;
        let Some(dx) = dx else { return };
        let scale = T::ONE / T::of((H * W) as f64);
        for (dy, dx) in dy.as_slice().chunks_exact(C).zip(dx.as_mut_slice().chunks_exact_mut(IN)) {
            for (&d, dplane) in dy.iter().zip(dx.chunks_exact_mut(H * W)) {
                dplane.fill(d * scale);
            }
        }
    }
}
