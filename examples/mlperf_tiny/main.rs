//! The four MLPerf Tiny reference networks, declared with `model!` (`models.rs`, printed by
//! the TensorFlow Lite importer), their weights imported from the float files in
//! `data/mlperf-tiny/`: for each, the parameters, the static costs the macro computes, the
//! largest relative difference from TensorFlow Lite's reference interpreter over the 100
//! recorded inputs of `tests/fixtures/mlperf_tiny/`, and the time of one single-sample
//! `forward` on this machine.
//!
//! ```text
//! cargo run --release --example mlperf_tiny
//! ```

mod check;
mod models;

use std::time::Instant;

use check::{Inputs, NETWORKS, max_relative_difference};
use models::{Ad, Ic, Kws, Vww};
use staticnn::prelude::*;

/// One network's figures.
fn report<M, const IN: usize, const OUT: usize>(index: usize, channels: usize, costs: [usize; 4])
where
    M: Model<IN, OUT, Scalar = f32>,
{
    let network = &NETWORKS[index];
    let (model, worst) = match max_relative_difference::<M, IN, OUT, 10>(network, channels) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("{}: {e}", network.name);
            std::process::exit(1);
        }
    };
    // The median of 201 single-sample forwards of one seeded input.
    let mut x: Box<SVector<f32, IN>> = staticnn::zeroed_box();
    Inputs::new(network.index).sample_into(channels, x.as_mut_slice());
    let mut times: Vec<f64> = (0..201)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(model.forward(std::hint::black_box(&x)));
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let [macs, param_bytes, activation_bytes, ram_bytes] = costs;
    println!(
        "{:>3}: {:>7} parameters ({param_bytes} bytes), {macs:>9} MACs, activations {activation_bytes} bytes, \
         RAM {ram_bytes} bytes; max relative difference from TFLite {worst:.2e}; forward {:.1} µs",
        network.name.to_uppercase(),
        M::LEN,
        times[100] * 1e6,
    );
}

fn main() {
    report::<Ad, 640, 640>(0, 1, [Ad::MACS, Ad::PARAM_BYTES, Ad::ACTIVATION_BYTES, Ad::RAM_BYTES]);
    report::<Ic, { 3 * 32 * 32 }, 10>(1, 3, [Ic::MACS, Ic::PARAM_BYTES, Ic::ACTIVATION_BYTES, Ic::RAM_BYTES]);
    report::<Kws, { 49 * 10 }, 12>(
        2,
        1,
        [Kws::MACS, Kws::PARAM_BYTES, Kws::ACTIVATION_BYTES, Kws::RAM_BYTES],
    );
    report::<Vww, { 3 * 96 * 96 }, 2>(
        3,
        3,
        [Vww::MACS, Vww::PARAM_BYTES, Vww::ACTIVATION_BYTES, Vww::RAM_BYTES],
    );
}
