//! The integer products under the int8 fully connected kernel, on a packed weight, dispatched
//! at run time: AVX-512 VNNI (`vpdpbusd`) or AVX2 on x86-64 CPUs that have them (with `std`),
//! plain loops everywhere else.
//!
//! # The packed weight
//! Inputs go in groups of [`GROUP`] = 4, the four 8-bit products one `vpdpbusd` lane sums:
//! byte `(g·O + o)·4 + k` of the packed weight is `w[4g + k][o]`, the weight from input
//! `4g + k` to output `o` (zeros past the last input). [`pack`] builds it from any layout.
//!
//! # The arithmetic
//! The products are taken with `u = x + 128` (`0..=255`, the unsigned operand of
//! `vpdpbusd`) rather than `x − zero_point` (which may not fit a byte), and the difference,
//! `(128 + zero_point) · Σᵢ w[i][o]`, is taken off the bias once, when a layer is prepared
//! ([`fold_zero_point`]). A group whose four inputs are all −128 (`u = 0`: MNIST's blank
//! pixels, ReLU's zeros under the usual zero point −128) adds nothing and is skipped. Sums
//! wrap in `i32`: the result is the exact one modulo 2³², hence exact wherever the true sum
//! `bias + Σ w·(x − zero_point)` fits an `i32`, as TFLite requires of its accumulators. Every
//! path computes that same sum, so every path gives the same bits; the tests compare them.

use core::sync::atomic::{AtomicU8, Ordering};

/// Inputs per group of the packed weight.
pub const GROUP: usize = 4;

/// Bytes of the packed weight of a layer with `inputs` inputs and `outputs` outputs.
pub const fn packed_len(inputs: usize, outputs: usize) -> usize {
    inputs.div_ceil(GROUP) * outputs * GROUP
}

/// Packs the weight `weight(i, o)` (input `i`, output `o`) into `packed`, which must hold
/// [`packed_len`]`(inputs, outputs)` bytes.
pub fn pack(inputs: usize, outputs: usize, weight: impl Fn(usize, usize) -> i8, packed: &mut [i8]) {
    debug_assert_eq!(packed.len(), packed_len(inputs, outputs));
    for (k, w) in packed.iter_mut().enumerate() {
        let (group, o, lane) = (k / (GROUP * outputs), k / GROUP % outputs, k % GROUP);
        let i = group * GROUP + lane;
        *w = if i < inputs { weight(i, o) } else { 0 };
    }
}

/// Folds the input zero point into the biases, for [`accumulate`]:
/// `bias[o] −= (128 + zero_point) · Σᵢ w[i][o]` (wrapping), with `bias.len()` outputs.
pub fn fold_zero_point(packed: &[i8], zero_point: i32, bias: &mut [i32]) {
    let outputs = bias.len();
    for (o, bias) in bias.iter_mut().enumerate() {
        let sum: i32 = packed
            .chunks_exact(GROUP * outputs)
            .flat_map(|group| &group[o * GROUP..(o + 1) * GROUP])
            .map(|&w| i32::from(w))
            .sum();
        *bias = bias.wrapping_sub((128 + zero_point).wrapping_mul(sum));
    }
}

/// The implementations of [`accumulate`], narrowest first. All give the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Path {
    /// Plain Rust loops, on every target.
    Portable,
    /// The Cortex-M DSP extension (`SMLAD`: two 16-bit products per instruction), on Arm
    /// targets that have it (`thumbv7em`: Cortex-M4 and M7).
    ArmDsp,
    /// AVX2 (`vpmaddwd` on widened weights), x86-64 with `std`.
    Avx2,
    /// AVX-512 VNNI (`vpdpbusd`), x86-64 with `std`.
    Avx512Vnni,
}

/// The widest path [`accumulate`] may take, as set by [`limit_path`] (`Path as u8`).
static WIDEST: AtomicU8 = AtomicU8::new(Path::Avx512Vnni as u8);

/// Limits the path [`accumulate`] takes to `widest` or a narrower one, for the whole process
/// (to compare the paths end to end, or to time them); [`Path::Avx512Vnni`] lifts the limit.
pub fn limit_path(widest: Path) {
    WIDEST.store(widest as u8, Ordering::Relaxed);
}

impl Path {
    /// Whether this CPU and build can take the path.
    pub fn is_available(self) -> bool {
        match self {
            Path::Portable => true,
            Path::ArmDsp => cfg!(all(target_arch = "arm", target_feature = "dsp")),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Path::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            Path::Avx512Vnni => {
                std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
            Path::Avx2 | Path::Avx512Vnni => false,
        }
    }

    /// The path [`accumulate`] takes now: the widest available within [`limit_path`]'s limit.
    pub fn current() -> Path {
        let widest = WIDEST.load(Ordering::Relaxed);
        [Path::Avx512Vnni, Path::Avx2, Path::ArmDsp]
            .into_iter()
            .find(|&path| path as u8 <= widest && path.is_available())
            .unwrap_or(Path::Portable)
    }
}

/// `acc[o] += Σᵢ w[i][o] · (x[i] + 128)` (wrapping) for `o < acc.len()`, `i < x.len()`, on a
/// packed weight whose groups hold `stride` outputs, from its first output (the slice may
/// start further on, for a block of outputs: at byte `4·first`), on [`Path::current`].
pub fn accumulate(x: &[i8], packed: &[i8], stride: usize, acc: &mut [i32]) {
    // SAFETY: `current` offers only what the CPU supports.
    unsafe { accumulate_on(Path::current(), x, packed, stride, acc) }
}

/// [`accumulate`] on `path`.
///
/// # Safety
/// The CPU must support `path` ([`Path::is_available`]).
unsafe fn accumulate_on(path: Path, x: &[i8], packed: &[i8], stride: usize, acc: &mut [i32]) {
    debug_assert!(acc.len() <= stride);
    debug_assert!(x.is_empty() || packed.len() >= ((x.len() - 1) / GROUP * stride + acc.len()) * GROUP);
    match path {
        // SAFETY: the caller's; the lengths are checked by the paths' slicing or, for the
        // vector loads, follow from `packed` holding the groups of `x` (debug-checked above).
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Path::Avx512Vnni => unsafe { x86::accumulate_vnni(x, packed, stride, acc) },
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Path::Avx2 if acc.len() >= 8 => unsafe { x86::accumulate_avx2(x, packed, stride, acc) },
        #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
        Path::ArmDsp => arm::accumulate_dsp(x, packed, stride, acc),
        _ => accumulate_portable(x, packed, stride, acc),
    }
}

/// The four inputs of group `g` as unsigned bytes `x + 128` in one little-endian word (the
/// missing ones past the end as 0).
#[inline]
fn group_word(x: &[i8], g: usize) -> u32 {
    if let Some(&[a, b, c, d]) = x.get(g * GROUP..(g + 1) * GROUP) {
        return u32::from_le_bytes([a as u8, b as u8, c as u8, d as u8]) ^ 0x8080_8080;
    }
    let mut word = 0;
    for (k, &x) in x[g * GROUP..].iter().take(GROUP).enumerate() {
        word |= u32::from(x as u8 ^ 0x80) << (8 * k);
    }
    word
}

/// Calls `f(group, word)` for each group with an input above −128, in order.
#[inline]
fn for_each_active_group(x: &[i8], mut f: impl FnMut(usize, u32)) {
    for g in 0..x.len().div_ceil(GROUP) {
        let word = group_word(x, g);
        if word != 0 {
            f(g, word);
        }
    }
}

/// [`accumulate`] in plain Rust: the reference every other path must equal.
pub fn accumulate_portable(x: &[i8], packed: &[i8], stride: usize, acc: &mut [i32]) {
    let outputs = acc.len();
    for_each_active_group(x, |g, word| {
        let u = word.to_le_bytes().map(i32::from);
        let weights = &packed[g * stride * GROUP..][..outputs * GROUP];
        for (acc, w) in acc.iter_mut().zip(weights.chunks_exact(GROUP)) {
            let sum = i32::from(w[0]) * u[0]
                + i32::from(w[1]) * u[1]
                + i32::from(w[2]) * u[2]
                + i32::from(w[3]) * u[3];
            *acc = acc.wrapping_add(sum);
        }
    });
}

#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod arm {
    use core::arch::asm;

    use super::{GROUP, for_each_active_group};

    /// `SXTB16`: bytes 0 and 2 of `x`, sign-extended into two halfwords.
    #[inline(always)]
    fn sxtb16(x: u32) -> u32 {
        let r;
        // SAFETY: a register-only DSP instruction.
        unsafe { asm!("sxtb16 {r}, {x}", r = lateout(reg) r, x = in(reg) x, options(pure, nomem, nostack)) };
        r
    }

    /// `SXTB16 …, ROR #8`: bytes 1 and 3 of `x`, sign-extended into two halfwords.
    #[inline(always)]
    fn sxtb16_ror8(x: u32) -> u32 {
        let r;
        // SAFETY: as `sxtb16`.
        unsafe {
            asm!("sxtb16 {r}, {x}, ror #8", r = lateout(reg) r, x = in(reg) x, options(pure, nomem, nostack))
        };
        r
    }

    /// `SMLAD`: `acc + a.low · b.low + a.high · b.high`, the halfwords signed, wrapping.
    #[inline(always)]
    fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let r;
        // SAFETY: as `sxtb16` (the Q flag it may set is read by nothing here).
        unsafe {
            asm!("smlad {r}, {a}, {b}, {c}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, c = in(reg) acc,
                 options(pure, nomem, nostack))
        };
        r
    }

    /// [`accumulate`](super::accumulate) with the DSP extension: per active group, the inputs
    /// `x + 128` as two pairs of halfwords (bytes 0, 2 and 1, 3; `UXTB16` by masking), and for
    /// each output its four weights, one word, split the same way (`SXTB16`) and multiplied
    /// and added two at a time (`SMLAD`).
    pub(super) fn accumulate_dsp(x: &[i8], packed: &[i8], stride: usize, acc: &mut [i32]) {
        let outputs = acc.len();
        for_each_active_group(x, |g, word| {
            let (u02, u13) = (word & 0x00ff_00ff, (word >> 8) & 0x00ff_00ff);
            let weights = &packed[g * stride * GROUP..][..outputs * GROUP];
            let word = |w: &[i8]| u32::from_le_bytes([w[0] as u8, w[1] as u8, w[2] as u8, w[3] as u8]);
            let step = |acc: i32, w: u32| smlad(sxtb16_ror8(w), u13, smlad(sxtb16(w), u02, acc));
            // Two outputs a turn: half the loop's own instructions.
            let mut pairs = acc.chunks_exact_mut(2);
            let mut weight_pairs = weights.chunks_exact(2 * GROUP);
            for (acc, w) in (&mut pairs).zip(&mut weight_pairs) {
                acc[0] = step(acc[0], word(&w[..GROUP]));
                acc[1] = step(acc[1], word(&w[GROUP..]));
            }
            for (acc, w) in
                pairs.into_remainder().iter_mut().zip(weight_pairs.remainder().chunks_exact(GROUP))
            {
                *acc = step(*acc, word(w));
            }
        });
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use core::arch::x86_64::*;

    use super::{GROUP, for_each_active_group};

    /// Groups gathered at a time (their indices and words on the stack).
    const CHUNK: usize = 256;

    /// The active groups among the [`CHUNK`] from group `first` on: how many, their indices
    /// from `first` and their words.
    #[inline(always)]
    fn gather(x: &[i8], first: usize, index: &mut [u8; CHUNK], word: &mut [u32; CHUNK]) -> usize {
        let end = (first + CHUNK) * GROUP;
        let mut n = 0;
        for_each_active_group(&x[first * GROUP..end.min(x.len())], |g, w| {
            (index[n], word[n]) = (g as u8, w);
            n += 1;
        });
        n
    }

    /// [`accumulate`](super::accumulate) with AVX-512 VNNI: for every 16 outputs and active
    /// group, one `vpdpbusd` adds the four products of each output into its `i32` lane. Four
    /// blocks of 16 outputs at a time keep four independent sums in flight; a last partial
    /// block is masked.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512 VNNI; the lengths as `accumulate` requires.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn accumulate_vnni(x: &[i8], packed: &[i8], stride: usize, acc: &mut [i32]) {
        let outputs = acc.len();
        let (mut index, mut word) = ([0u8; CHUNK], [0u32; CHUNK]);
        let mask = |o: usize| -> __mmask16 {
            let left = outputs.saturating_sub(o);
            if left >= 16 { 0xffff } else { (1u16 << left) - 1 }
        };
        let groups = x.len().div_ceil(GROUP);
        for first in (0..groups).step_by(CHUNK) {
            let n = gather(x, first, &mut index, &mut word);
            if n == 0 {
                continue;
            }
            for o in (0..outputs).step_by(64) {
                let masks = [mask(o), mask(o + 16), mask(o + 32), mask(o + 48)];
                let mut sums = [_mm512_setzero_si512(); 4];
                for p in 0..n {
                    let u = _mm512_set1_epi32(word[p] as i32);
                    // SAFETY: group `g` of outputs `o..o + 64` starts at `(g·stride + o)·4`;
                    // masked-off lanes are not read.
                    let at = unsafe {
                        packed.as_ptr().add(((first + usize::from(index[p])) * stride + o) * GROUP)
                    };
                    for (j, sum) in sums.iter_mut().enumerate() {
                        if masks[j] != 0 {
                            let w = unsafe { _mm512_maskz_loadu_epi32(masks[j], at.add(64 * j).cast()) };
                            *sum = _mm512_dpbusd_epi32(*sum, u, w);
                        }
                    }
                }
                for (j, sum) in sums.iter().enumerate() {
                    if masks[j] != 0 {
                        // SAFETY: the mask keeps to `acc`.
                        unsafe {
                            let at = acc.as_mut_ptr().add(o + 16 * j);
                            let old = _mm512_maskz_loadu_epi32(masks[j], at.cast());
                            _mm512_mask_storeu_epi32(at.cast(), masks[j], _mm512_add_epi32(old, *sum));
                        }
                    }
                }
            }
        }
    }

    /// [`accumulate`](super::accumulate) with AVX2, which has no 8-bit product that cannot
    /// saturate: the weights of 4 outputs (16 bytes) are widened to `i16` and `vpmaddwd` with
    /// the group's four inputs gives each output two `i32` partial sums, added pairwise at
    /// the end (`vphaddd`, which interleaves 128-bit lanes: put back in order by a
    /// permutation). Outputs past the last multiple of 8 take the plain loop.
    ///
    /// # Safety
    /// The CPU must support AVX2; the lengths as `accumulate` requires.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn accumulate_avx2(x: &[i8], packed: &[i8], stride: usize, acc: &mut [i32]) {
        let outputs = acc.len();
        let blocks = outputs / 8;
        let (mut index, mut word) = ([0u8; CHUNK], [0u32; CHUNK]);
        let groups = x.len().div_ceil(GROUP);
        for first in (0..groups).step_by(CHUNK) {
            let n = gather(x, first, &mut index, &mut word);
            if n == 0 {
                continue;
            }
            for b in 0..blocks {
                let o = b * 8;
                let (mut low, mut high) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                for p in 0..n {
                    let [u0, u1, u2, u3] = word[p].to_le_bytes().map(i64::from);
                    let u = _mm256_set1_epi64x(u0 | (u1 << 16) | (u2 << 32) | (u3 << 48));
                    // SAFETY: group `g` of outputs `o..o + 8` is 32 bytes at `(g·stride + o)·4`.
                    let at = unsafe {
                        packed.as_ptr().add(((first + usize::from(index[p])) * stride + o) * GROUP)
                    };
                    let (w0, w1) =
                        unsafe { (_mm_loadu_si128(at.cast()), _mm_loadu_si128(at.add(16).cast())) };
                    low = _mm256_add_epi32(low, _mm256_madd_epi16(_mm256_cvtepi8_epi16(w0), u));
                    high = _mm256_add_epi32(high, _mm256_madd_epi16(_mm256_cvtepi8_epi16(w1), u));
                }
                // Lanes `0 1 4 5 | 2 3 6 7` after the pairwise sums.
                let sums = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(low, high));
                // SAFETY: `o + 8 ≤ acc.len()`.
                unsafe {
                    let at = acc.as_mut_ptr().add(o);
                    _mm256_storeu_si256(at.cast(), _mm256_add_epi32(_mm256_loadu_si256(at.cast()), sums));
                }
            }
            let tail = blocks * 8;
            for p in 0..n {
                let u = word[p].to_le_bytes().map(i32::from);
                let weights = &packed[((first + usize::from(index[p])) * stride + tail) * GROUP..]
                    [..(outputs - tail) * GROUP];
                for (acc, w) in acc[tail..].iter_mut().zip(weights.chunks_exact(GROUP)) {
                    let sum = (0..GROUP).map(|k| i32::from(w[k]) * u[k]).sum::<i32>();
                    *acc = acc.wrapping_add(sum);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::format;
    use std::vec;
    use std::vec::Vec;

    use super::*;

    /// Every input count around the groups and chunks, every output count around the
    /// vector blocks, zero points, extreme values, inactive groups: each SIMD path this CPU
    /// has, and the dispatched one, equal the plain loops, which equal the definition
    /// `bias + Σ w·(x − zero_point)` once the zero point is folded.
    #[test]
    fn every_path_gives_the_same_sums() {
        let mut state = 0x1234_5678u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8 as i8
        };
        for inputs in [1, 2, 3, 4, 5, 17, 255, 1023, 1024, 1025, 1031, 784] {
            for outputs in [1, 7, 8, 10, 15, 16, 17, 33, 64, 65, 128, 200] {
                for zero_point in [-128, -5, 0, 127] {
                    let x: Vec<i8> = (0..inputs)
                        .map(|i| match i % 7 {
                            0 | 1 if i % 3 != 0 => -128,
                            2 => zero_point as i8,
                            _ if i % 11 == 0 => 127,
                            _ => next(),
                        })
                        .collect();
                    let w: Vec<i8> =
                        (0..inputs * outputs).map(|i| if i % 5 == 0 { -128 } else { next() }).collect();
                    let mut packed = vec![0i8; packed_len(inputs, outputs)];
                    pack(inputs, outputs, |i, o| w[o * inputs + i], &mut packed);
                    let bias: Vec<i32> = (0..outputs as i32).map(|o| 1000 * o - 7).collect();
                    let mut folded = bias.clone();
                    fold_zero_point(&packed, zero_point, &mut folded);
                    let mut portable = folded.clone();
                    accumulate_portable(&x, &packed, outputs, &mut portable);
                    let exact: Vec<i32> = (0..outputs)
                        .map(|o| {
                            bias[o]
                                + (0..inputs)
                                    .map(|i| i32::from(w[o * inputs + i]) * (i32::from(x[i]) - zero_point))
                                    .sum::<i32>()
                        })
                        .collect();
                    let case = format!("{inputs} inputs, {outputs} outputs, zero point {zero_point}");
                    assert_eq!(portable, exact, "{case}");
                    let mut dispatched = folded.clone();
                    accumulate(&x, &packed, outputs, &mut dispatched);
                    assert_eq!(dispatched, exact, "{case}: dispatched");
                    let paths = [Path::Portable, Path::ArmDsp, Path::Avx2, Path::Avx512Vnni];
                    for path in paths.into_iter().filter(|path| path.is_available()) {
                        let name = format!("{path:?}");
                        let mut sums = folded.clone();
                        // SAFETY: the CPU supports `path`.
                        unsafe { accumulate_on(path, &x, &packed, outputs, &mut sums) };
                        assert_eq!(sums, exact, "{case}: {name}");
                        // A block of outputs further on.
                        if outputs > 5 {
                            let mut block = folded[3..].to_vec();
                            let mut want = block.clone();
                            accumulate_portable(&x, &packed[3 * GROUP..], outputs, &mut want);
                            unsafe { accumulate_on(path, &x, &packed[3 * GROUP..], outputs, &mut block) };
                            assert_eq!(block, want, "{case}: {name}, from output 3");
                            assert_eq!(block, exact[3..], "{case}: {name}, from output 3");
                        }
                    }
                }
            }
        }
    }

    /// The folded sums wrap where the unfolded ones would not overflow: the result is still
    /// the exact one.
    #[test]
    fn wrapping_intermediates_give_the_exact_sum() {
        let (inputs, outputs) = (40_000, 2);
        let x = vec![127i8; inputs];
        let w: Vec<i8> = (0..inputs * outputs).map(|k| if k % 2 == 0 { 127 } else { -127 }).collect();
        let mut packed = vec![0i8; packed_len(inputs, outputs)];
        pack(inputs, outputs, |i, o| w[i * outputs + o], &mut packed);
        // x − zero_point = 0: the exact sums are the biases.
        let mut sums = vec![5, -5];
        fold_zero_point(&packed, 127, &mut sums);
        accumulate(&x, &packed, outputs, &mut sums);
        assert_eq!(sums, [5, -5]);
    }
}
