//! The single-sample convolution, computed directly on the image (no patch matrix, no
//! scratch), in the two loop orders `Conv2d::forward_one_into` chooses between, the second
//! (registers, for 32-bit Arm) shared with `DepthwiseConv2d` through [`Window`]. Both give
//! every output as its bias plus every tap `(c, i, j)` in that order, taps in the padding
//! and zero weights skipped: the same bits (`tests` below compares them).

use super::{Conv2d, valid_range};
use crate::scalar::Float;

/// How many outputs along a row the single-sample convolution sums in registers at once.
pub(crate) const ROW_BLOCK: usize = 8;

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
    /// One image, each tap added to every output row it reaches (see `forward_one_into`).
    pub(super) fn convolve_by_rows(&self, x: &[T], out: &mut [T]) {
        for (oc, plane) in out.chunks_exact_mut(OH * OW).enumerate() {
            plane.fill(self.bias[oc]);
            let kernel = self.weight.column(oc);
            for c in 0..C {
                for i in 0..KH {
                    let (oh_lo, oh_hi) = valid_range(i, H, PH, SH, OH);
                    for j in 0..KW {
                        let w = kernel[(c * KH + i) * KW + j];
                        if w == T::ZERO {
                            continue;
                        }
                        let (ow_lo, ow_hi) = valid_range(j, W, PW, SW, OW);
                        for oh in oh_lo..oh_hi {
                            let row = &x[(c * H + oh * SH + i - PH) * W..][..W];
                            let dst = &mut plane[oh * OW..][..OW];
                            for ow in ow_lo..ow_hi {
                                dst[ow] += w * row[ow * SW + j - PW];
                            }
                        }
                    }
                }
            }
        }
    }

    /// One image, runs of outputs summed in registers over every tap (see
    /// `forward_one_into`): each output channel by [`channel_in_registers`].
    pub(super) fn convolve_in_registers(&self, x: &[T], out: &mut [T]) {
        let channels = out.chunks_exact_mut(OH * OW).zip(self.weight.as_slice().chunks_exact(K));
        for ((plane, kernel), &bias) in channels.zip(self.bias.iter()) {
            channel_in_registers::<Self, T>(x, kernel, bias, plane);
        }
    }
}

/// The geometry of a convolution as [`channel_in_registers`] reads it: `C` input planes of
/// `H × W` (one for a depthwise convolution's output channel), a `KH × KW` kernel, strides,
/// padding before the image, and rows of `OW` outputs.
pub(crate) trait Window {
    const C: usize;
    const H: usize;
    const W: usize;
    const KH: usize;
    const KW: usize;
    const SH: usize;
    const SW: usize;
    const PH: usize;
    const PW: usize;
    const OW: usize;

    /// The output columns whose every tap reads inside the input row (none of the padding):
    /// `ow·SW ≥ PW` and `ow·SW + KW ≤ W + PW`.
    const INSIDE_COLUMNS: core::ops::Range<usize> = {
        let start = Self::PW.div_ceil(Self::SW);
        let end =
            if Self::W + Self::PW >= Self::KW { (Self::W + Self::PW - Self::KW) / Self::SW + 1 } else { 0 };
        let end = if end < Self::OW { end } else { Self::OW };
        start..if end > start { end } else { start }
    };
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
> Window for Conv2d<T, C, H, W, OC, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, K, L>
{
    const C: usize = C;
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

/// One output plane (`OH × OW`, row-major) of a convolution over the `C` planes `x`, its
/// kernel `kernel` (`C·KH·KW` taps in `(c, i, j)` order) and `bias`: runs of outputs along a
/// row summed in registers over every tap and stored once, the columns that read no padding
/// in unchecked blocks of 8, then 4, the edges one by one. Every output is its bias plus
/// every tap in order, taps in the padding and zero weights skipped: the bits of the
/// row-wise loop order.
#[inline(always)]
pub(crate) fn channel_in_registers<G: Window, T: Float>(x: &[T], kernel: &[T], bias: T, plane: &mut [T]) {
    let inside = G::INSIDE_COLUMNS;
    for (oh, dst) in plane.chunks_exact_mut(G::OW).enumerate() {
        let mut ow = 0;
        while ow < G::OW {
            let rest = inside.end.saturating_sub(ow);
            if ow >= inside.start && rest >= ROW_BLOCK {
                row_block::<G, T, ROW_BLOCK, false>(x, kernel, bias, oh, ow, &mut dst[ow..ow + ROW_BLOCK]);
                ow += ROW_BLOCK;
            } else if ow >= inside.start && rest >= ROW_BLOCK / 2 {
                let block = &mut dst[ow..ow + ROW_BLOCK / 2];
                row_block::<G, T, { ROW_BLOCK / 2 }, false>(x, kernel, bias, oh, ow, block);
                ow += ROW_BLOCK / 2;
            } else {
                row_block::<G, T, 1, true>(x, kernel, bias, oh, ow, &mut dst[ow..ow + 1]);
                ow += 1;
            }
        }
    }
}

/// Outputs `ow..ow + N` (`dst`) of row `oh` of one output channel (`kernel`, `bias`): each
/// the bias plus every tap `(c, i, j)` in order, rows in the padding and zero weights
/// skipped, and (with `CHECK_COLUMNS`) columns in the padding too. Without `CHECK_COLUMNS`,
/// every tap of every one of the `N` outputs must read the row.
#[inline(always)]
fn row_block<G: Window, T: Float, const N: usize, const CHECK_COLUMNS: bool>(
    x: &[T],
    kernel: &[T],
    bias: T,
    oh: usize,
    ow: usize,
    dst: &mut [T],
) {
    let (h, w, kh, kw, pw) = (G::H, G::W, G::KH, G::KW, G::PW);
    let mut acc = [bias; N];
    for c in 0..G::C {
        for i in 0..kh {
            let Some(r) = (oh * G::SH + i).checked_sub(G::PH).filter(|&r| r < h) else { continue };
            let row = &x[(c * h + r) * w..][..w];
            for j in 0..kw {
                let wt = kernel[(c * kh + i) * kw + j];
                if wt == T::ZERO {
                    continue;
                }
                for (t, acc) in acc.iter_mut().enumerate() {
                    let column = (ow + t) * G::SW + j;
                    if CHECK_COLUMNS {
                        if let Some(&v) = column.checked_sub(pw).and_then(|col| row.get(col)) {
                            *acc += wt * v;
                        }
                    } else {
                        debug_assert!(column >= pw && column - pw < w);
                        // SAFETY: the caller passes only blocks within `INSIDE_COLUMNS`,
                        // whose every tap reads inside the row.
                        *acc += wt * unsafe { *row.get_unchecked(column - pw) };
                    }
                }
            }
        }
    }
    dst.copy_from_slice(&acc);
}

#[cfg(test)]
mod tests {
    use nalgebra::SMatrix;

    use super::*;

    /// Both loop orders on one geometry, weights and inputs with zeros: the same bits.
    fn same_bits<
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
    >() {
        let mut conv = Conv2d::<f32, C, H, W, OC, KH, KW, SH, SW, PH, PW, OH, OW, IN, OUT, K, L>::ZERO;
        conv.weight =
            SMatrix::from_fn(
                |k, oc| if (k + oc) % 5 == 0 { 0.0 } else { ((k * 7 + oc * 3) as f32 * 0.37).sin() },
            );
        conv.bias = SMatrix::from_fn(|oc, _| oc as f32 * 0.1 - 0.2);
        let x: SMatrix<f32, IN, 1> =
            SMatrix::from_fn(|i, _| if i % 4 == 1 { 0.0 } else { (i as f32 * 0.61).cos() });
        let (mut rows, mut blocks) = ([0.0f32; OUT], [1.0f32; OUT]);
        conv.convolve_by_rows(x.as_slice(), &mut rows);
        conv.convolve_in_registers(x.as_slice(), &mut blocks);
        assert!(
            rows.iter().zip(&blocks).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{C}×{H}×{W} → {OC}×{OH}×{OW}, {KH}×{KW} kernel, stride {SH}×{SW}, padding {PH}×{PW}"
        );
    }

    #[test]
    fn both_loop_orders_give_the_same_bits() {
        same_bits::<1, 28, 28, 4, 3, 3, 1, 1, 1, 1, 28, 28, 784, 3136, 9, 784>();
        same_bits::<3, 14, 14, 2, 3, 3, 1, 1, 1, 1, 14, 14, 588, 392, 27, 196>();
        same_bits::<2, 9, 8, 3, 2, 3, 2, 2, 1, 1, 5, 4, 144, 60, 12, 20>();
        same_bits::<2, 7, 6, 3, 3, 3, 2, 2, 1, 1, 4, 3, 84, 36, 18, 12>();
        same_bits::<3, 6, 5, 2, 2, 4, 1, 1, 0, 0, 5, 2, 90, 20, 24, 10>();
        same_bits::<1, 5, 5, 2, 5, 5, 1, 1, 2, 2, 5, 5, 25, 50, 25, 25>();
        same_bits::<2, 20, 3, 2, 1, 1, 1, 1, 0, 0, 20, 3, 120, 120, 2, 60>();
        // Per-axis strides and TensorFlow's "same" (the odd padding row and column after the image).
        same_bits::<1, 11, 6, 2, 10, 4, 2, 2, 4, 1, 6, 3, 66, 36, 40, 18>();
        same_bits::<2, 6, 5, 3, 3, 3, 2, 1, 0, 1, 2, 5, 60, 30, 18, 10>();
        same_bits::<2, 4, 5, 3, 2, 2, 1, 1, 0, 0, 4, 5, 40, 60, 8, 20>();
        same_bits::<3, 9, 12, 2, 3, 3, 1, 2, 1, 0, 9, 6, 324, 108, 27, 54>();
    }
}
