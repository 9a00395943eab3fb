//! The 32-bit Arm hard-float kernel: one block of 16 rows of `C += A · B` on the VFP's 32
//! single-precision registers (Cortex-M4F, Cortex-M7, Cortex-A), used by the portable
//! product for its full blocks.
//!
//! Compiled code needs two instructions per multiply-accumulate (a `vldr` of the entry of
//! `A`, a `vmla`), since the register allocator never hands the loads consecutive registers
//! for a `vldm`. Here the 16 sums stay in `s16`–`s31` for the whole run of multipliers,
//! and each column of `A` is two `vldm`s of eight entries into `s0`–`s7`: 24 instructions
//! per 16 multiply-accumulates, whatever the stride of the multipliers. `vmla.f32` rounds the product and then the sum, exactly as
//! `acc + s * x` does, so the results are the bits the portable loop computes (CI compares
//! the Cortex-M4's logits with the x86-64 build's).

use core::arch::asm;

/// `y[r] += Σ b[i·rs] · a[i·lda + r]` for `r < 16` over the positions `i` in `nonzero`, in
/// order.
///
/// # Safety
/// For every listed `i`, `a + i·lda` must point at 16 readable `f32`s and `b + i·rs` at one.
#[inline(always)]
pub(super) unsafe fn gather16(
    y: &mut [f32; 16],
    (a, lda): (*const f32, usize),
    (b, rs): (*const f32, usize),
    nonzero: &[u8],
) {
    if nonzero.is_empty() {
        return;
    }
    let range = nonzero.as_ptr_range();
    // SAFETY: `y` is 16 writable floats; the positions are read from `nonzero` up to its
    // end; the columns and multipliers read are the caller's contract. The asm touches no
    // other memory and leaves the stack alone.
    unsafe {
        asm!(
            "vldmia {y}, {{s16-s31}}",
            "2:",
            "ldrb {i}, [{list}], #1",
            "mla {at}, {i}, {rs}, {b}",
            "vldr s8, [{at}]",
            "mla {at}, {i}, {lda}, {a}",
            "vldmia {at}!, {{s0-s7}}",
            "vmla.f32 s16, s8, s0",
            "vmla.f32 s17, s8, s1",
            "vmla.f32 s18, s8, s2",
            "vmla.f32 s19, s8, s3",
            "vmla.f32 s20, s8, s4",
            "vmla.f32 s21, s8, s5",
            "vmla.f32 s22, s8, s6",
            "vmla.f32 s23, s8, s7",
            "vldmia {at}, {{s0-s7}}",
            "vmla.f32 s24, s8, s0",
            "vmla.f32 s25, s8, s1",
            "vmla.f32 s26, s8, s2",
            "vmla.f32 s27, s8, s3",
            "vmla.f32 s28, s8, s4",
            "vmla.f32 s29, s8, s5",
            "vmla.f32 s30, s8, s6",
            "vmla.f32 s31, s8, s7",
            "cmp {list}, {end}",
            "bne 2b",
            "vstmia {y}, {{s16-s31}}",
            y = in(reg) y.as_mut_ptr(),
            a = in(reg) a,
            lda = in(reg) lda * 4,
            b = in(reg) b,
            rs = in(reg) rs * 4,
            list = inout(reg) range.start => _,
            end = in(reg) range.end,
            i = out(reg) _,
            at = out(reg) _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _, out("s8") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            out("s24") _, out("s25") _, out("s26") _, out("s27") _,
            out("s28") _, out("s29") _, out("s30") _, out("s31") _,
            options(nostack),
        );
    }
}
