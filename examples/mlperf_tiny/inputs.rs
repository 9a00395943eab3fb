//! The inputs of `tests/fixtures/mlperf_tiny/generate.py`, reproduced without `std` (shared by
//! the host check, `check.rs`, and the Cortex-M4 programs of `examples/cortex-m4`).

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
