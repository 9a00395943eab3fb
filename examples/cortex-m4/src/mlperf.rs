//! The four MLPerf Tiny networks on the Cortex-M4F: each program (`mlperf_ad`, `mlperf_ic`,
//! `mlperf_kws`, `mlperf_vww`) bakes one network, as the TensorFlow Lite importer declares
//! it with its weights (`run.sh` writes `target/mlperf/<name>.rs` and `.safetensors` with
//! `cargo run --example tflite_import -- … --bake` on the host), runs the first inputs of the
//! fixture generator through it and prints the largest relative difference from TensorFlow
//! Lite's reference interpreter (`tests/fixtures/mlperf_tiny/`), the executed instructions
//! per inference and the painted stack of `forward`, next to the model's constants.

use core::fmt::{self, Write};
use core::hint::black_box;

use staticnn::Model;
use staticnn::nalgebra::SVector;

use crate::{Budget, InstructionCounter, painted_stack};

#[path = "../../mlperf_tiny/fixture.rs"]
mod fixture;
pub use fixture::{Inputs, relative_difference, values};

/// The inferences each program runs (the host test runs all 100 of the fixture).
pub const SAMPLES: usize = 10;

/// The bar of the equivalence with TensorFlow Lite: the largest relative difference of a
/// sample, `max |ours − theirs| / max |theirs|`.
pub const BAR: f64 = 1e-4;

/// One network: its name, its index in the generator, its input's channels (1 for a flat
/// input), and TensorFlow Lite's outputs (raw little-endian `f32`, sample after sample).
pub struct Network {
    pub name: &'static str,
    pub index: u32,
    pub channels: usize,
    pub expected: &'static [u8],
}

/// Runs [`SAMPLES`] inferences of `model` and prints, in the lines `bars.sh` and BENCHMARKS.md
/// read, the difference from TensorFlow Lite, the instructions per inference (the mean) and
/// the stack. `x` is the input's buffer (a `static` for the large ones). Whether the
/// difference is within [`BAR`].
pub fn run<M, const IN: usize, const OUT: usize>(
    out: &mut impl Write,
    model: &M,
    network: &Network,
    x: &mut SVector<f32, IN>,
    budget: Budget,
) -> Result<bool, fmt::Error>
where
    M: Model<IN, OUT, Scalar = f32>,
{
    let Some(peripherals) = cortex_m::Peripherals::take() else { return Ok(false) };
    let counter = InstructionCounter::start(peripherals.SYST);
    let mut inputs = Inputs::new(network.index);
    let (mut worst, mut instructions) = (0.0f64, 0u64);
    for sample in 0..SAMPLES {
        inputs.sample_into(network.channels, x.as_mut_slice());
        let started = counter.ticks();
        let y = black_box(model.forward(black_box(x)));
        instructions += counter.instructions(counter.ticks() - started);
        let Some(bytes) = network.expected.get(sample * OUT * 4..(sample + 1) * OUT * 4) else {
            return Ok(false);
        };
        worst = worst.max(relative_difference(y.as_slice(), values(bytes)));
    }
    // The output is consumed where it is made: its bytes are counted, but no copy of it.
    let ((), stack) = painted_stack(|| {
        let y = model.forward(black_box(x));
        black_box(&y);
    });
    let name = network.name;
    let Budget { param_bytes, macs, activation_bytes, forward_stack_bytes, ram_bytes } = budget;
    writeln!(
        out,
        "{name}: largest relative difference from TensorFlow Lite over {SAMPLES} inputs {worst:e} (bar {BAR:e})"
    )?;
    writeln!(
        out,
        "{name}: instructions per inference: {} (mean of {SAMPLES})",
        instructions / SAMPLES as u64
    )?;
    writeln!(
        out,
        "{name}: PARAM_BYTES {param_bytes}, MACS {macs}, ACTIVATION_BYTES {activation_bytes}, RAM_BYTES {ram_bytes}"
    )?;
    writeln!(
        out,
        "{name}: forward stack {stack} with the caller's output slot (FORWARD_STACK_BYTES {forward_stack_bytes} + {} \
         output bytes = {})",
        OUT * 4,
        forward_stack_bytes + OUT * 4
    )?;
    Ok(worst <= BAR)
}

/// The whole program of one network: its declaration and weights as `run.sh` wrote them
/// (`target/mlperf/<name>.rs` and `.safetensors`), the model in flash, and a `main` that
/// [`run`]s it against TensorFlow Lite's outputs (a file of `tests/fixtures/mlperf_tiny/`) and
/// exits with the verdict.
///
/// ```text
/// mlperf_program!("kws", Kws, KwsInput, index = 2, channels = 1, outputs = "kws_dequant_float_outputs.f32");
/// ```
#[macro_export]
macro_rules! mlperf_program {
    ($name:literal, $model:ident, $input:ident, index = $index:literal, channels = $channels:literal,
     outputs = $outputs:literal) => {
        include!(concat!(env!("CARGO_MANIFEST_DIR"), "/target/mlperf/", $name, ".rs"));

        /// The network, in flash.
        static MODEL: $model = $model::TRAINED;

        #[$crate::entry]
        fn main() -> ! {
            let Some(mut out) = $crate::Console::open() else { $crate::finish(false) };
            let network = $crate::mlperf::Network {
                name: $name,
                index: $index,
                channels: $channels,
                expected: include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../tests/fixtures/mlperf_tiny/",
                    $outputs
                )),
            };
            let mut x = $input::zeros();
            let ok = $crate::mlperf::run(&mut out, &MODEL, &network, &mut x, $crate::budget!($model));
            $crate::finish(ok == Ok(true))
        }
    };
}
