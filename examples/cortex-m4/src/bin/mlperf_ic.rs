//! The MLPerf Tiny IC network on the Cortex-M4F, with the weights of its reference
//! TensorFlow Lite file baked into flash (see `staticnn_cortex_m4::mlperf`).
#![no_std]
#![no_main]

use staticnn_cortex_m4::mlperf::{self, Network};
use staticnn_cortex_m4::{Console, budget, entry, finish};

include!(concat!(env!("CARGO_MANIFEST_DIR"), "/target/mlperf/ic.rs"));

/// The network, in flash.
static MODEL: Ic = Ic::TRAINED;

#[entry]
fn main() -> ! {
    let Some(mut out) = Console::open() else { finish(false) };
    let network = Network {
        name: "ic",
        index: 1,
        channels: 3,
        expected: include_bytes!("../../../../tests/fixtures/mlperf_tiny/ic_float_outputs.f32"),
    };
    let mut x = IcInput::zeros();
    let ok = mlperf::run(&mut out, &MODEL, &network, &mut x, budget!(Ic));
    finish(ok == Ok(true))
}
