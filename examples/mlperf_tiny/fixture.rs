//! The fixture of `tests/fixtures/mlperf_tiny/generate.py` as the checks read it, without
//! `std` (shared by the host check, `check.rs`, and the Cortex-M4 programs of
//! `examples/cortex-m4`): its inputs, reproduced, and the measure of a difference from its
//! recorded outputs.

/// The fixture generator: xorshift32 from `0x9E3779B9 ^ index·0x85EBCA6B` (the network's
/// index: AD 0, IC 1, KWS 2, VWW 3), each value `((state >> 8) / 2²⁴)·2 − 1`, exact in `f32`,
/// in TensorFlow's NHWC order, samples one after the other.
pub struct Inputs(u32);

impl Inputs {
    /// The generator of network `index`, at its first sample.
    pub fn new(index: u32) -> Self {
        Inputs(0x9E37_79B9 ^ index.wrapping_mul(0x85EB_CA6B))
    }

    /// The next value.
    pub fn next(&mut self) -> f32 {
        let s = &mut self.0;
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        ((*s >> 8) as f32 / 16_777_216.0) * 2.0 - 1.0
    }

    /// The next sample, generated in NHWC order and written into `chw` in CHW order (`c`
    /// channels of `chw.len() / c` positions; `c = 1` for a flat input).
    pub fn sample_into(&mut self, c: usize, chw: &mut [f32]) {
        let hw = chw.len() / c;
        for p in 0..hw {
            for ch in 0..c {
                chw[ch * hw + p] = self.next();
            }
        }
    }
}

/// TensorFlow Lite's outputs as the fixture stores them: raw little-endian `f32`.
pub fn values(bytes: &[u8]) -> impl Iterator<Item = f32> + Clone + '_ {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The relative difference of one sample's outputs from TensorFlow Lite's:
/// `max |ours − theirs| / max |theirs|`, in `f64`.
pub fn relative_difference(ours: &[f32], theirs: impl Iterator<Item = f32> + Clone) -> f64 {
    let scale = theirs.clone().fold(0.0f64, |m, v| m.max(f64::from(v).abs()));
    let diff = ours.iter().zip(theirs).fold(0.0f64, |m, (&a, b)| m.max((f64::from(a) - f64::from(b)).abs()));
    diff / scale.max(f64::MIN_POSITIVE)
}
