//! The TensorFlow Lite converter: reads a float `.tflite` model, prints the `model!`
//! declaration that computes the same function, and writes its weights as safetensors in
//! this library's names and layout, ready for `#[model(weights = "…")]` or
//! `io::load_safetensors`. A fully int8 model is read as the float model its dequantized
//! weights describe, and `--int8-weights` writes its int8 parameters as they are
//! (`staticnn::io::QuantizedWeights`: int8 weights, int32 biases, scales and zero points under
//! the declaration's layer names).
//!
//! ```text
//! cargo run --example tflite_import -- data/mlperf-tiny/kws_ref_model_float32.tflite \
//!     --name Kws --weights kws.safetensors
//! ```
//!
//! With `--bake` the declaration names the weights file (`#[model(weights =
//! "kws.safetensors")]`), so that the model is compiled with its weights in read-only memory
//! (`Kws::TRAINED`): how `examples/cortex-m4/run.sh` builds the networks for the Cortex-M4.

use std::path::PathBuf;
use std::process::ExitCode;

use staticnn::io::tflite;

const USAGE: &str = "usage: tflite_import MODEL.tflite [--name STRUCT] [--weights OUT.safetensors [--bake]] \
    [--int8-weights OUT.safetensors]\n\
    --int8-weights: for a fully int8 model, its int8 weights, int32 biases, scales and zero points \
    (staticnn::io::QuantizedWeights)\n\
    --bake: declare the weights in the printed model (`#[model(weights = \"OUT.safetensors\")]`, by \
    file name: keep the declaration beside the weights)";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    use lexopt::prelude::*;
    let (mut model, mut name, mut weights) = (None::<PathBuf>, "Model".to_string(), None::<PathBuf>);
    let (mut bake, mut int8_weights) = (false, None::<PathBuf>);
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next().map_err(|e| e.to_string())? {
        match arg {
            Long("name") => {
                name = args.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?
            }
            Long("weights") => weights = Some(args.value().map_err(|e| e.to_string())?.into()),
            Long("bake") => bake = true,
            Long("int8-weights") => int8_weights = Some(args.value().map_err(|e| e.to_string())?.into()),
            Long("help") | Short('h') => {
                println!("{USAGE}");
                return Ok(());
            }
            Value(path) if model.is_none() => model = Some(path.into()),
            other => return Err(format!("{}; {USAGE}", other.unexpected())),
        }
    }
    let model = model.ok_or(USAGE)?;
    let imported = tflite::import_file(&model).map_err(|e| format!("{}: {e}", model.display()))?;
    let file_name = weights.as_ref().and_then(|w| w.file_name()).and_then(|f| f.to_str());
    match (bake, file_name) {
        (false, _) => print!("{}", imported.declaration(&name)),
        (true, Some(file)) => print!("{}", imported.baked_declaration(&name, file)),
        (true, None) => return Err(format!("--bake needs --weights FILE.safetensors; {USAGE}")),
    }
    eprintln!("{} parameters in {} tensors", imported.parameter_count(), imported.tensors.len());
    if let Some(path) = weights {
        imported.save_safetensors(&path).map_err(|e| e.to_string())?;
        eprintln!("weights written to {}", path.display());
    }
    if let Some(path) = int8_weights {
        let quantized = imported.quantized.as_ref().ok_or("--int8-weights: the model is not fully int8")?;
        quantized.save(&path).map_err(|e| e.to_string())?;
        eprintln!("int8 weights, scales and zero points written to {}", path.display());
    }
    Ok(())
}
