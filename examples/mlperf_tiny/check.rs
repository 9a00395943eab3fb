//! The four MLPerf Tiny networks against TensorFlow Lite's reference interpreter: the inputs
//! of `tests/fixtures/mlperf_tiny/generate.py` (an xorshift generator, reproduced here), the
//! weights imported from the float `.tflite` files in `data/mlperf-tiny/`, and the
//! interpreter's outputs recorded by that script. Shared by `cargo run --example
//! mlperf_tiny` and `tests/mlperf_tiny.rs`.

use std::boxed::Box;
use std::path::{Path, PathBuf};

use staticnn::io::tflite;
use staticnn::prelude::*;

#[path = "fixture.rs"]
mod fixture;
pub use fixture::{Inputs, relative_difference, values};

/// The samples the fixture script recorded for each network.
pub const SAMPLES: usize = 100;

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One network of the benchmark: its fixture name, its model index in the generator, its
/// `.tflite` file and the file of reference outputs.
pub struct Network {
    pub name: &'static str,
    pub index: u32,
    pub file: &'static str,
    pub outputs: &'static str,
}

/// AD, IC, KWS and VWW, in the generator's order. KWS's reference is the run with its int8
/// filters dequantized, what a float implementation computes (see the fixtures' README).
pub const NETWORKS: [Network; 4] = [
    Network { name: "ad", index: 0, file: "ad01_fp32.tflite", outputs: "ad_float_outputs.f32" },
    Network { name: "ic", index: 1, file: "pretrainedResnet.tflite", outputs: "ic_float_outputs.f32" },
    Network {
        name: "kws",
        index: 2,
        file: "kws_ref_model_float32.tflite",
        outputs: "kws_dequant_float_outputs.f32",
    },
    Network { name: "vww", index: 3, file: "vww_96_float.tflite", outputs: "vww_float_outputs.f32" },
];

/// Reads a raw little-endian `f32` file of the fixtures.
pub fn read_f32(path: &Path) -> Result<Vec<f32>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(values(&bytes).collect())
}

/// Imports `network`'s `.tflite` file.
pub fn import(network: &Network) -> Result<tflite::Imported, String> {
    let path = root().join("data/mlperf-tiny").join(network.file);
    tflite::import_file(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A boxed `M` with `network`'s imported weights (the importer's names and shapes must be
/// exactly the model's).
pub fn load<M, const IN: usize, const OUT: usize>(network: &Network) -> Result<Box<M>, String>
where
    M: Model<IN, OUT, Scalar = f32>,
{
    let imported = import(network)?;
    let mut model: Box<M> = staticnn::zeroed_box();
    let bytes = imported.to_safetensors_bytes().map_err(|e| e.to_string())?;
    staticnn::io::from_safetensors_bytes(&mut *model, &bytes).map_err(|e| e.to_string())?;
    Ok(model)
}

/// Loads `network` ([`load`]), then runs the fixture's inputs through it in batches of `B` and
/// returns the largest relative difference from the recorded outputs: per sample
/// `max |ours − theirs| / max |theirs|`.
pub fn max_relative_difference<M, const IN: usize, const OUT: usize, const B: usize>(
    network: &Network,
    channels: usize,
) -> Result<(Box<M>, f64), String>
where
    M: Model<IN, OUT, Scalar = f32>,
{
    let model = load::<M, IN, OUT>(network)?;
    let expected = read_f32(&root().join("tests/fixtures/mlperf_tiny").join(network.outputs))?;
    if expected.len() != SAMPLES * OUT {
        return Err(format!("{}: {} outputs, expected {}", network.outputs, expected.len(), SAMPLES * OUT));
    }
    let mut inputs = Inputs::new(network.index);
    let mut x: Box<SMatrix<f32, IN, B>> = staticnn::zeroed_box();
    let mut cache = M::zeroed_cache::<B>();
    let mut worst = 0.0f64;
    for batch in expected.chunks(B * OUT) {
        for column in x.as_mut_slice().chunks_exact_mut(IN) {
            inputs.sample_into(channels, column);
        }
        let y = model.forward_batch(&x, &mut cache);
        for (ours, theirs) in y.as_slice().chunks_exact(OUT).zip(batch.chunks_exact(OUT)) {
            worst = worst.max(relative_difference(ours, theirs.iter().copied()));
        }
    }
    Ok((model, worst))
}
