//! The board support the Cortex-M4 programs share, for qemu's MPS2-AN386 (a Cortex-M4F):
//!
//! - [`Console`]: text to the host through semihosting (qemu prints it on its stdout);
//! - [`InstructionCounter`]: executed instructions, read from SysTick while qemu runs with
//!   `-icount shift=0` (its virtual clock then advances one nanosecond per instruction);
//!   calibrated at start-up against a loop of known length, so it does not depend on the
//!   clock qemu gives SysTick;
//! - [`finish`]: the exit status, through semihosting, so `qemu-system-arm` returns it;
//! - [`free_stack`]: how much stack lies unused below the caller, for painting, and
//!   [`painted_stack`], a call measured that way;
//! - [`Budget`] (`budget!(Model)`): a model's compile-time constants, printed next to what
//!   is measured;
//! - [`mlperf`]: the run of an MLPerf Tiny network against TensorFlow Lite's outputs.
//!
//! The programs themselves are in `src/bin/`; what they compute comes from the shared
//! deployable library, `examples/embedded` (`staticnn_embedded`).
#![no_std]

use core::arch::asm;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;
use cortex_m_semihosting::{debug, hio};

pub use cortex_m_rt::entry;

pub mod mlperf;

/// Text output to the host's stdout through semihosting.
pub struct Console(hio::HostStream);

impl Console {
    /// Opens the host's stdout; `None` if the debugger (qemu) does not answer.
    pub fn open() -> Option<Self> {
        hio::hstdout().ok().map(Console)
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_all(s.as_bytes()).map_err(|()| fmt::Error)
    }
}

/// Ends the program: exit status 0 (`success`) or 1, returned by `qemu-system-arm`.
pub fn finish(success: bool) -> ! {
    debug::exit(if success { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    // Only reached without a debugger: stop here.
    loop {
        cortex_m::asm::wfi();
    }
}

/// SysTick's reload value: the largest its 24-bit counter takes.
const RELOAD: u32 = 0x00ff_ffff;

/// How many times SysTick has wrapped since [`InstructionCounter::start`].
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Counts SysTick wraps, so intervals longer than 2²⁴ ticks are measured too.
#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Executed instructions, from SysTick under qemu's `-icount shift=0`.
///
/// qemu then runs virtual time at one nanosecond per instruction and clocks SysTick (with
/// the processor clock source) from that virtual time, so SysTick ticks count instructions
/// at a fixed ratio. [`start`](Self::start) measures that ratio on a loop of known length;
/// [`instructions`](Self::instructions) converts. The SysTick interrupt that counts wraps
/// adds a few instructions every 2²⁴ ticks, well below a part per million.
///
/// On real hardware use the DWT cycle counter instead: SysTick then counts cycles, not
/// instructions, and the calibration loop's cycle count depends on the core.
pub struct InstructionCounter {
    /// Owned, so nothing else reconfigures SysTick while it counts.
    _syst: SYST,
    /// Instructions per SysTick tick, times 2¹⁶.
    per_tick_q16: u64,
}

/// Iterations of the calibration loop: two instructions each.
const CALIBRATION_ITERATIONS: u32 = 4_000_000;

impl InstructionCounter {
    /// Starts SysTick from the processor clock, free-running over its full 24-bit range
    /// with the wrap interrupt on, and calibrates it.
    pub fn start(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        // The counter reads 0 from `clear_current` until its first reload.
        while SYST::get_current() == 0 {}
        let mut counter = InstructionCounter { _syst: syst, per_tick_q16: 1 << 16 };
        let before = counter.ticks();
        spin(CALIBRATION_ITERATIONS);
        let ticks = counter.ticks().saturating_sub(before).max(1);
        counter.per_tick_q16 = (u64::from(CALIBRATION_ITERATIONS) * 2 << 16) / ticks;
        counter
    }

    /// SysTick ticks since [`start`](Self::start).
    pub fn ticks(&self) -> u64 {
        loop {
            let wraps = WRAPS.load(Ordering::Acquire);
            let current = SYST::get_current();
            // A wrap between the two reads shows as a changed count or a pending
            // interrupt; read again.
            if wraps == WRAPS.load(Ordering::Acquire) && !SCB::is_pendst_pending() {
                return u64::from(wraps) * u64::from(RELOAD + 1) + u64::from(RELOAD - current);
            }
        }
    }

    /// Converts a tick interval to instructions.
    pub fn instructions(&self, ticks: u64) -> u64 {
        (ticks * self.per_tick_q16 + (1 << 15)) >> 16
    }

    /// Instructions per tick, as measured by [`start`](Self::start), times 1000.
    pub fn per_tick_milli(&self) -> u64 {
        (self.per_tick_q16 * 1000 + (1 << 15)) >> 16
    }
}

/// A loop of exactly `2 · n` instructions (`subs` and a taken `bne` per iteration).
#[inline(never)]
fn spin(n: u32) {
    // SAFETY: counts a register down to zero; touches no memory.
    unsafe {
        asm!(
            "2:",
            "subs {n}, #1",
            "bne 2b",
            n = inout(reg) n => _,
            options(nomem, nostack),
        );
    }
}

unsafe extern "C" {
    /// The first address past `.bss` and `.uninit` (cortex-m-rt's `link.x`).
    static __sheap: u32;
}

/// Bytes of RAM between the end of the static data and the caller's stack pointer, less a
/// margin of 256 bytes: the region [`staticnn_embedded::stack::measure`] may paint.
#[inline(always)]
pub fn free_stack() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer; touches no memory.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    let end_of_statics = (&raw const __sheap) as usize;
    sp.saturating_sub(end_of_statics).saturating_sub(256) & !7
}

/// Runs `f` on a painted stack (all free RAM below the caller, SysTick masked meanwhile) and
/// returns its result and the bytes of stack it used (see `staticnn_embedded::stack`).
///
/// Keep `R` small (a model's output of a few dozen bytes): the painting routine holds it in its
/// own frame, inside the 256-byte margin [`free_stack`] leaves above the static data; consume a
/// large output inside `f` instead (`|| { let y = model.forward(x); black_box(&y); }`).
#[inline(always)]
pub fn painted_stack<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let region = free_stack();
    // SAFETY: `free_stack` is unused RAM below this frame, and the only interrupt (SysTick)
    // is masked while the stack is painted and measured.
    cortex_m::interrupt::free(|_| unsafe { staticnn_embedded::stack::measure(region, f) })
}

/// A model's compile-time cost constants (see `model!`), to print next to measurements.
pub struct Budget {
    /// `PARAM_BYTES`.
    pub param_bytes: usize,
    /// `MACS`.
    pub macs: usize,
    /// `ACTIVATION_BYTES`.
    pub activation_bytes: usize,
    /// `FORWARD_STACK_BYTES`.
    pub forward_stack_bytes: usize,
    /// `RAM_BYTES`.
    pub ram_bytes: usize,
}

/// The [`Budget`] of a model type: `budget!(Mnist)`.
#[macro_export]
macro_rules! budget {
    ($model:ty) => {
        $crate::Budget {
            param_bytes: <$model>::PARAM_BYTES,
            macs: <$model>::MACS,
            activation_bytes: <$model>::ACTIVATION_BYTES,
            forward_stack_bytes: <$model>::FORWARD_STACK_BYTES,
            ram_bytes: <$model>::RAM_BYTES,
        }
    };
}

impl Budget {
    /// Writes the constants and the painted stacks they estimate (of `forward` alone, and of
    /// one inference with its input built on the stack), in the two lines `bars.sh` reads.
    pub fn write(
        &self,
        out: &mut impl fmt::Write,
        forward_stack: usize,
        inference_stack: usize,
    ) -> fmt::Result {
        let Budget { param_bytes, macs, activation_bytes, forward_stack_bytes, ram_bytes } = self;
        writeln!(
            out,
            "constants: PARAM_BYTES {param_bytes}, MACS {macs}, ACTIVATION_BYTES {activation_bytes}, \
             FORWARD_STACK_BYTES {forward_stack_bytes}, RAM_BYTES {ram_bytes}"
        )?;
        writeln!(out, "measured: forward stack {forward_stack}, classification stack {inference_stack}")
    }
}

/// Prints where the program panicked, if there is a console, and exits with status 1.
///
/// Only the location: formatting the message would link `core`'s general formatting
/// machinery, a kilobyte and a half of flash in every program.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if let Some(mut console) = Console::open() {
        let _ = fmt::Write::write_str(&mut console, "panicked");
        if let Some(location) = info.location() {
            let _ = fmt::Write::write_str(&mut console, " at ");
            let _ = fmt::Write::write_str(&mut console, location.file());
            let _ = fmt::Write::write_fmt(&mut console, format_args!(":{}", location.line()));
        }
        let _ = fmt::Write::write_str(&mut console, "\n");
    }
    finish(false)
}
