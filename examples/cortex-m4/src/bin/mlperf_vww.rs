//! The MLPerf Tiny VWW network on the Cortex-M4F, with the weights of its reference
//! TensorFlow Lite file baked into flash (see `staticnn_cortex_m4::mlperf`).
#![no_std]
#![no_main]

use staticnn_cortex_m4::mlperf::{self, Network};
use staticnn_cortex_m4::{Console, budget, entry, finish};

include!(concat!(env!("CARGO_MANIFEST_DIR"), "/target/mlperf/vww.rs"));

/// The network, in flash.
static MODEL: Vww = Vww::TRAINED;

#[entry]
fn main() -> ! {
    let Some(mut out) = Console::open() else { finish(false) };
    let network = Network {
        name: "vww",
        index: 3,
        channels: 3,
        expected: include_bytes!("../../../../tests/fixtures/mlperf_tiny/vww_float_outputs.f32"),
    };
    let mut x = VwwInput::zeros();
    let ok = mlperf::run(&mut out, &MODEL, &network, &mut x, budget!(Vww));
    finish(ok == Ok(true))
}
