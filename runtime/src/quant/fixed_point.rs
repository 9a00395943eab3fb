//! The integer arithmetic of TensorFlow Lite's int8 kernels, bit for bit: a real multiplier
//! as a 31-bit fixed-point significand and a power-of-two exponent
//! ([`Requantize::from_real`], TFLite's `QuantizeMultiplier`), and the multiplication of an
//! `i32` accumulator by it ([`Requantize::apply`], TFLite's `MultiplyByQuantizedMultiplier`).
//!
//! **Rounding.** TFLite has two forms of `MultiplyByQuantizedMultiplier`, and they differ in
//! the last bit for some inputs:
//!
//! - *single rounding* ([`Requantize::apply`]): `(x · m + 2^(s − 1)) >> s` in 64 bits with
//!   `s = 31 − shift`, one rounding, ties upwards;
//! - *double rounding* ([`Requantize::apply_double_rounding`]), gemmlowp's: a saturating
//!   rounding doubling high multiplication (`(a·b + 2³⁰) >> 31`, the nudge `1 − 2³⁰` for a
//!   negative product, truncating towards zero), then a rounding right shift (ties away from
//!   zero).
//!
//! Which one a kernel uses is pinned by measurement against TensorFlow 2.21's reference
//! kernels (PyPI's `tensorflow`, `tf.lite.Interpreter` with `BUILTIN_REF`): the fully
//! connected kernel rounds once; the convolutions, the depthwise convolution and the
//! addition round twice. With any other choice `tests/mlperf_tiny_int8.rs` loses bit
//! exactness (hundreds of bytes of the AD network for double rounding in the fully connected
//! layers, a few of ResNet-8's for single rounding in its additions); with these, all four
//! MLPerf Tiny networks match on every byte. Each kernel of [`kernels`](super::kernels) says
//! which it uses.

/// A real multiplier `m · 2^shift / 2³¹` in TFLite's fixed-point form: `multiplier` in
/// `[2³⁰, 2³¹)` (or 0), `shift` the power of two (positive: a left shift).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requantize {
    /// The significand, a Q0.31 fixed-point number in `[0.5, 1)` (or exactly 0).
    pub multiplier: i32,
    /// The exponent: `> 0` shifts the accumulator left before multiplying, `< 0` right after.
    pub shift: i32,
}

impl Requantize {
    /// TFLite's `QuantizeMultiplier`: `real = q · 2^shift` with `q` in `[0.5, 1)` (C's
    /// `frexp`), `multiplier = round(q · 2³¹)` (half away from zero); a `q` that rounds up to
    /// `2³¹` becomes `2³⁰` with `shift + 1`, a multiplier below `2⁻³¹` is 0 and one of `2³⁰`
    /// or more saturates to the largest (as TFLite's single-rounding build does). A negative
    /// or non-finite `real` (never produced from valid scales) gives 0.
    pub const fn from_real(real: f64) -> Self {
        if real.is_nan() || real <= 0.0 || real.is_infinite() {
            return Requantize { multiplier: 0, shift: 0 };
        }
        let (q, mut shift) = frexp(real);
        let mut fixed = round_half_away(q * (1u64 << 31) as f64) as i64;
        if fixed == 1 << 31 {
            fixed /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Requantize { multiplier: 0, shift: 0 };
        }
        // Single rounding cannot shift left by more than 30: TFLite saturates.
        if shift > 30 {
            return Requantize { multiplier: i32::MAX, shift: 30 };
        }
        Requantize { multiplier: fixed as i32, shift }
    }

    /// TFLite's `MultiplyByQuantizedMultiplier` with single rounding (see the module
    /// documentation; TFLite's fully connected kernel): `x · multiplier · 2^shift / 2³¹`,
    /// rounded to nearest with ties upwards, saturated to `i32`.
    #[inline]
    pub fn apply(self, x: i32) -> i32 {
        let total_shift = (31 - self.shift).clamp(1, 62) as u32;
        let round = 1i64 << (total_shift - 1);
        let result = (i64::from(x) * i64::from(self.multiplier) + round) >> total_shift;
        result.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }

    /// TFLite's `MultiplyByQuantizedMultiplier` with gemmlowp's double rounding (see the
    /// module documentation; TFLite's convolutions and addition).
    #[inline]
    pub fn apply_double_rounding(self, x: i32) -> i32 {
        let (left, right) = if self.shift > 0 { (self.shift, 0) } else { (0, -self.shift) };
        let x = x.wrapping_mul(1i32.wrapping_shl(left as u32));
        rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, self.multiplier), right)
    }
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2·a·b`, rounded to
/// nearest (a product's nudge is `2³⁰`, or `1 − 2³⁰` if negative, and the division by `2³¹`
/// truncates towards zero); `i32::MIN · i32::MIN` saturates to `i32::MAX`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let product = i64::from(a) * i64::from(b);
    let nudge = if product >= 0 { 1i64 << 30 } else { 1 - (1i64 << 30) };
    ((product + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from
/// zero. `exponent` in `0..=31`.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31) as u32;
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// C's `round`: to nearest, halves away from zero.
pub(crate) const fn round_half_away(x: f64) -> f64 {
    let t = trunc(x);
    if (x - t).abs() >= 0.5 { t + x.signum() } else { t }
}

/// `x` truncated towards zero (no `std` needed).
const fn trunc(x: f64) -> f64 {
    if x.abs() >= (1u64 << 52) as f64 { x } else { (x as i64) as f64 }
}

/// C's `frexp` for a positive finite `x`: `(q, e)` with `x = q · 2^e` and `q` in `[0.5, 1)`.
const fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    if exponent == 0 {
        // Subnormal: scale into the normal range first.
        let (q, e) = frexp(x * (1u64 << 54) as f64);
        return (q, e - 54);
    }
    let q = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (q, exponent - 1022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_multiplier_matches_tflite() {
        // Values worked out from TFLite's definition by hand.
        assert_eq!(Requantize::from_real(0.5), Requantize { multiplier: 1 << 30, shift: 0 });
        assert_eq!(Requantize::from_real(1.0), Requantize { multiplier: 1 << 30, shift: 1 });
        assert_eq!(Requantize::from_real(1e10), Requantize { multiplier: i32::MAX, shift: 30 });
        assert_eq!(Requantize::from_real(0.25), Requantize { multiplier: 1 << 30, shift: -1 });
        assert_eq!(Requantize::from_real(0.75), Requantize { multiplier: 3 << 29, shift: 0 });
        // q · 2³¹ rounding up to 2³¹ moves to the next power of two.
        assert_eq!(Requantize::from_real(1.0 - 1e-12), Requantize { multiplier: 1 << 30, shift: 1 });
        assert_eq!(Requantize::from_real(0.0), Requantize::default());
        // Below 2⁻³¹ (an exponent under −31): flushed to zero.
        assert_eq!(Requantize::from_real(1e-12), Requantize::default());
        let third = Requantize::from_real(1.0 / 3.0);
        assert_eq!(third, Requantize { multiplier: 1_431_655_765, shift: -1 });
    }

    #[test]
    fn frexp_and_rounding_follow_c() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.375), (0.75, -1));
        assert_eq!(frexp(f64::MIN_POSITIVE / 4.0), (0.5, -1023));
        assert_eq!(round_half_away(2.5), 3.0);
        assert_eq!(round_half_away(-2.5), -3.0);
        assert_eq!(round_half_away(-2.4), -2.0);
    }

    #[test]
    fn the_two_roundings_follow_gemmlowp() {
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        // 2·a·b / 2³² = a·b / 2³¹: 3 · 2³⁰ / 2³¹ = 1.5 → 2, and −1.5 → −1: the nudge
        // 1 − 2³⁰ and the truncation send ties upwards for negative products too.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2);
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2);
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
    }

    #[test]
    fn applying_a_multiplier_rounds_to_the_nearest() {
        // Against exact rational arithmetic, for multipliers below and above 1: single
        // rounding is within half a unit; in double rounding each rounding adds half a unit
        // of its own, so it is within 1/2 + 2^(shift − 1) of the exact product.
        for real in [0.000_731, 0.01, 0.3, 0.9999, 1.7, 3.25] {
            let r = Requantize::from_real(real);
            let exact = |x: i32| (i128::from(x) * i128::from(r.multiplier)) as f64 * 2f64.powi(r.shift - 31);
            for x in [-100_000, -3_001, -1, 0, 1, 77, 65_535, 1_000_000] {
                let single = r.apply(x);
                assert!(
                    (f64::from(single) - exact(x)).abs() <= 0.5,
                    "{real} · {x}: {single} vs {}",
                    exact(x)
                );
                let double = r.apply_double_rounding(x);
                let bound = 0.5 + 2f64.powi(r.shift.min(0) - 1) + 1e-9;
                assert!(
                    (f64::from(double) - exact(x)).abs() <= bound,
                    "{real} · {x}: {double} vs {}",
                    exact(x)
                );
            }
        }
        // Where the two differ: 1548 · m / 2³⁶ = 32.4979 (TFLite's AD network, layer 1).
        let r = Requantize { multiplier: 1_442_659_867, shift: -5 };
        assert_eq!((r.apply(1548), r.apply_double_rounding(1548)), (32, 33));
        // Ties go upwards in single rounding: −2.5 → −2, 2.5 → 3.
        let half = Requantize { multiplier: 1 << 30, shift: 0 };
        assert_eq!((half.apply(-5), half.apply(5)), (-2, 3));
    }
}
