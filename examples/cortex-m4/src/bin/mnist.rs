//! The deployment: the reference MNIST MLP (784 → 128 → relu → 10), baked into flash,
//! classifies the first 1 000 MNIST test images (also in flash) on a Cortex-M4F and prints,
//! through semihosting, the report lines CI compares with the std build and the x86-64
//! freestanding one:
//!
//! ```text
//! predictions: 7210414959…
//! accuracy: 97.30% (973 of 1000)
//! logits fnv1a: 0x…
//! ```
//!
//! Nothing else, so its sections are what a deployment of this model costs (see
//! `mnist_profile` for instruction counts and stack depth).
#![no_std]
#![no_main]

use core::fmt::Write;

use staticnn_cortex_m4::{Console, entry, finish};
use staticnn_embedded::data::TEST_COUNT;
use staticnn_embedded::{classify, report};

#[entry]
fn main() -> ! {
    let Some(mut console) = Console::open() else { finish(false) };
    let eval = report::evaluate(TEST_COUNT, classify);
    finish(write!(console, "{eval}").is_ok())
}
