//! Trains the 64 → 32 → 10 digits classifier with Adam on a Cortex-M4F, all training state
//! in a zero-initialised `static` (`.bss`), and prints the lines the x86_64 build prints
//! (`staticnn_embedded::programs`), then the instructions and stack the run took.
#![no_std]
#![no_main]

use core::fmt::Write;
use core::mem::MaybeUninit;

use staticnn_cortex_m4::{Console, InstructionCounter, entry, finish, free_stack};
use staticnn_embedded::{DigitsTraining, programs, stack};

/// The model, gradients, Adam's moments, cache and batch: zero bytes in `.bss`.
static mut STATE: MaybeUninit<DigitsTraining> = MaybeUninit::zeroed();

#[entry]
fn main() -> ! {
    let Some(mut console) = Console::open() else { finish(false) };
    let Some(peripherals) = cortex_m::Peripherals::take() else { finish(false) };
    let counter = InstructionCounter::start(peripherals.SYST);
    // SAFETY: the only reference ever taken to `STATE`; all zero bytes are a valid
    // `DigitsTraining` (it is `Zeroable`), and `MaybeUninit<T>` has `T`'s layout.
    let state: &'static mut DigitsTraining = unsafe { &mut *(&raw mut STATE).cast::<DigitsTraining>() };
    let region = free_stack();
    let started = counter.ticks();
    // SAFETY: `free_stack` is unused RAM below this frame (see `train_xor` on SysTick).
    let (reached, stack) = unsafe { stack::measure(region, || programs::digits(&mut console, state)) };
    let instructions = counter.instructions(counter.ticks() - started);
    let ok = writeln!(console, "trained in {instructions} instructions, peak stack {stack} bytes");
    finish(reached == Ok(true) && ok.is_ok())
}
