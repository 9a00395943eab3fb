//! The MLPerf Tiny AD network on the Cortex-M4F, with the weights of its reference
//! TensorFlow Lite file baked into flash (see `staticnn_cortex_m4::mlperf`).
#![no_std]
#![no_main]

use staticnn_cortex_m4::mlperf::{self, Network};
use staticnn_cortex_m4::{Console, budget, entry, finish};

include!(concat!(env!("CARGO_MANIFEST_DIR"), "/target/mlperf/ad.rs"));

/// The network, in flash.
static MODEL: Ad = Ad::TRAINED;

#[entry]
fn main() -> ! {
    let Some(mut out) = Console::open() else { finish(false) };
    let network = Network {
        name: "ad",
        index: 0,
        channels: 1,
        expected: include_bytes!("../../../../tests/fixtures/mlperf_tiny/ad_float_outputs.f32"),
    };
    let mut x = AdInput::zeros();
    let ok = mlperf::run(&mut out, &MODEL, &network, &mut x, budget!(Ad));
    finish(ok == Ok(true))
}
