//! The MLPerf Tiny KWS network on the Cortex-M4F, with the weights of its reference
//! TensorFlow Lite file baked into flash (see `staticnn_cortex_m4::mlperf`).
#![no_std]
#![no_main]

use staticnn_cortex_m4::mlperf::{self, Network};
use staticnn_cortex_m4::{Console, budget, entry, finish};

include!(concat!(env!("CARGO_MANIFEST_DIR"), "/target/mlperf/kws.rs"));

/// The network, in flash.
static MODEL: Kws = Kws::TRAINED;

#[entry]
fn main() -> ! {
    let Some(mut out) = Console::open() else { finish(false) };
    let network = Network {
        name: "kws",
        index: 2,
        channels: 1,
        expected: include_bytes!("../../../../tests/fixtures/mlperf_tiny/kws_dequant_float_outputs.f32"),
    };
    let mut x = KwsInput::zeros();
    let ok = mlperf::run(&mut out, &MODEL, &network, &mut x, budget!(Kws));
    finish(ok == Ok(true))
}
