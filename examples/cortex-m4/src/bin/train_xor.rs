//! Trains XOR (2 → 8 → 1, tanh, sigmoid) with Adam on a Cortex-M4F, every piece of state on
//! the stack, and prints the lines the x86_64 build prints (`staticnn_embedded::programs`),
//! then the instructions and stack the run took.
#![no_std]
#![no_main]

use core::fmt::Write;

use staticnn_cortex_m4::{Console, InstructionCounter, entry, finish, free_stack};
use staticnn_embedded::{programs, stack};

#[entry]
fn main() -> ! {
    let Some(mut console) = Console::open() else { finish(false) };
    let Some(peripherals) = cortex_m::Peripherals::take() else { finish(false) };
    let counter = InstructionCounter::start(peripherals.SYST);
    let region = free_stack();
    let started = counter.ticks();
    // SAFETY: `free_stack` is unused RAM below this frame; the SysTick handler that may run
    // meanwhile uses a few words of it, below whatever the training touches only if the
    // training is at its deepest then (a measurement a few words high at worst).
    let (solved, stack) = unsafe { stack::measure(region, || programs::xor(&mut console)) };
    let instructions = counter.instructions(counter.ticks() - started);
    let ok = writeln!(
        console,
        "trained in {instructions} instructions, peak stack of the whole run {stack} bytes"
    );
    finish(solved == Ok(true) && ok.is_ok())
}
