//! The integer products under the int8 fully connected kernel, dispatched at run time: AVX2
//! on x86-64 CPUs that have it (with `std`), plain loops everywhere else.
//!
//! The weight is column-major — the `O` weights of input `i` together, the transpose of
//! PyTorch's `[O, I]`, as the f32 [`Dense`](crate::Dense) stores it — so that an input equal
//! to the zero point (`x − zp = 0`: MNIST's blank pixels, ReLU's zeros) is skipped whole.
//! Integer sums are exact and cannot overflow (see [`accumulate`]), so skipping and every
//! path give the same bits; the tests compare them.

/// `acc[o] += Σᵢ w[i·stride + o] · (x[i] − zero_point)` for `o < acc.len()`, `i < x.len()`:
/// column `i` of a column-major weight whose columns are `stride` long, from its first row
/// (the slice may start further down the columns, for a block of outputs).
///
/// Each product is at most `128 · 255` in magnitude, so rows of up to 65 000 inputs fit in
/// an `i32` accumulator with room to spare; longer ones are a caller's error (checked in
/// debug builds).
pub fn accumulate(x: &[i8], zero_point: i32, weight: &[i8], stride: usize, acc: &mut [i32]) {
    debug_assert!(x.len() <= 65_000 && acc.len() <= stride);
    debug_assert!(x.is_empty() || weight.len() >= (x.len() - 1) * stride + acc.len());
    // Fewer than 16 outputs fill no vector: the plain loops.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if acc.len() >= 16 && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2.
        unsafe { x86::accumulate_avx2(x, zero_point, weight, stride, acc) };
        return;
    }
    accumulate_portable(x, zero_point, weight, stride, acc);
}

/// [`accumulate`] in plain Rust: the reference every other path must equal.
pub fn accumulate_portable(x: &[i8], zero_point: i32, weight: &[i8], stride: usize, acc: &mut [i32]) {
    let outputs = acc.len();
    for (i, &x) in x.iter().enumerate() {
        let v = i32::from(x) - zero_point;
        if v != 0 {
            for (acc, &w) in acc.iter_mut().zip(&weight[i * stride..i * stride + outputs]) {
                *acc += i32::from(w) * v;
            }
        }
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use core::arch::x86_64::*;

    /// Inputs gathered at a time (their nonzero values on the stack).
    const CHUNK: usize = 256;

    /// [`accumulate`](super::accumulate) with AVX2. The nonzero inputs of each chunk are
    /// gathered, then taken two at a time: for every 16 outputs, the two inputs' weights
    /// are widened to `i16`, interleaved, and `vpmaddwd` adds `w_a · v_a + w_b · v_b` into
    /// eight `i32` lanes per register (an odd input out is paired with a zero). The lanes
    /// come out in the order `0–3, 8–11` and `4–7, 12–15`, put back in order when stored.
    /// Outputs past the last multiple of 16 take a plain loop over the gathered inputs.
    ///
    /// # Safety
    /// The CPU must support AVX2; `weight` must hold `x.len()` columns of `stride`, the last
    /// one at least `acc.len()` long.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn accumulate_avx2(
        x: &[i8],
        zero_point: i32,
        weight: &[i8],
        stride: usize,
        acc: &mut [i32],
    ) {
        let outputs = acc.len();
        let blocks = outputs / 16;
        for (c, xs) in x.chunks(CHUNK).enumerate() {
            // Compact on the stack: a column within the chunk (< 256) and `x − zp` (|·| ≤ 255).
            let (mut column, mut value) = ([0u8; CHUNK + 1], [0i16; CHUNK + 1]);
            let mut n = 0;
            for (k, &x) in xs.iter().enumerate() {
                let v = i32::from(x) - zero_point;
                if v != 0 {
                    (column[n], value[n]) = (k as u8, v as i16);
                    n += 1;
                }
            }
            if n == 0 {
                continue;
            }
            if n % 2 == 1 {
                // A partner of value zero for the odd one out.
                (column[n], value[n]) = (column[n - 1], 0);
                n += 1;
            }
            let index = |p: usize| c * CHUNK + usize::from(column[p]);
            for b in 0..blocks {
                let o = b * 16;
                let (mut low, mut high) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                for p in (0..n).step_by(2) {
                    let (ia, ib) = (index(p), index(p + 1));
                    // SAFETY: column `i` starts at `i·stride`, with `outputs ≥ o + 16` weights.
                    let wa = unsafe { _mm_loadu_si128(weight.as_ptr().add(ia * stride + o).cast()) };
                    let wb = unsafe { _mm_loadu_si128(weight.as_ptr().add(ib * stride + o).cast()) };
                    let (wa, wb) = (_mm256_cvtepi8_epi16(wa), _mm256_cvtepi8_epi16(wb));
                    let pair = i32::from(value[p] as u16) | (i32::from(value[p + 1]) << 16);
                    let vv = _mm256_set1_epi32(pair);
                    low = _mm256_add_epi32(low, _mm256_madd_epi16(_mm256_unpacklo_epi16(wa, wb), vv));
                    high = _mm256_add_epi32(high, _mm256_madd_epi16(_mm256_unpackhi_epi16(wa, wb), vv));
                }
                let first = _mm256_permute2x128_si256::<0x20>(low, high);
                let second = _mm256_permute2x128_si256::<0x31>(low, high);
                // SAFETY: `o + 16 ≤ acc.len()`.
                unsafe {
                    let at = acc.as_mut_ptr().add(o);
                    _mm256_storeu_si256(at.cast(), _mm256_add_epi32(_mm256_loadu_si256(at.cast()), first));
                    let at = at.add(8);
                    _mm256_storeu_si256(at.cast(), _mm256_add_epi32(_mm256_loadu_si256(at.cast()), second));
                }
            }
            let tail = blocks * 16;
            if tail < outputs {
                for p in 0..n {
                    let weights = &weight[index(p) * stride + tail..index(p) * stride + outputs];
                    for (acc, &w) in acc[tail..].iter_mut().zip(weights) {
                        *acc += i32::from(w) * i32::from(value[p]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::*;

    /// Every input count around the chunks, every output count around the blocks of 16,
    /// zero-point inputs, extreme values and odd numbers of nonzero inputs: the dispatched
    /// path equals the plain loops.
    #[test]
    fn every_path_gives_the_same_sums() {
        let mut state = 0x1234_5678u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8 as i8
        };
        for inputs in [1, 2, 3, 17, 255, 256, 257, 784] {
            for outputs in [1, 10, 15, 16, 17, 33, 128] {
                for zero_point in [-128, -5, 0, 127] {
                    let x: Vec<i8> = (0..inputs)
                        .map(|i| match i % 3 {
                            0 => zero_point.clamp(-128, 127) as i8,
                            _ if i % 11 == 0 => -128,
                            _ => next(),
                        })
                        .collect();
                    let w: Vec<i8> =
                        (0..inputs * outputs).map(|i| if i % 5 == 0 { -128 } else { next() }).collect();
                    let (mut a, mut b) = (vec![7i32; outputs], vec![7i32; outputs]);
                    accumulate(&x, zero_point, &w, outputs, &mut a);
                    accumulate_portable(&x, zero_point, &w, outputs, &mut b);
                    assert_eq!(a, b, "{inputs} inputs, {outputs} outputs, zero point {zero_point}");
                    // A block of outputs further down the columns.
                    if outputs > 5 {
                        let (mut c, mut d) = (vec![0i32; outputs - 5], vec![0i32; outputs - 5]);
                        accumulate(&x, zero_point, &w[3..], outputs, &mut c);
                        accumulate_portable(&x, zero_point, &w[3..], outputs, &mut d);
                        assert_eq!(c, d);
                    }
                    // And the plain definition, column by column.
                    let exact: Vec<i32> = (0..outputs)
                        .map(|o| {
                            7 + (0..inputs)
                                .map(|i| i32::from(w[i * outputs + o]) * (i32::from(x[i]) - zero_point))
                                .sum::<i32>()
                        })
                        .collect();
                    assert_eq!(b, exact);
                }
            }
        }
    }
}
