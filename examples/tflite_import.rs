//! The TensorFlow Lite converter: reads a float `.tflite` model, prints the `model!`
//! declaration that computes the same function, and writes its weights as safetensors in
//! this library's names and layout, ready for `#[model(weights = "…")]` or
//! `io::load_safetensors`.
//!
//! ```text
//! cargo run --example tflite_import -- data/mlperf-tiny/kws_ref_model_float32.tflite \
//!     --name Kws --weights kws.safetensors
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use staticnn::io::tflite;

const USAGE: &str = "usage: tflite_import MODEL.tflite [--name STRUCT] [--weights OUT.safetensors]";

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
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next().map_err(|e| e.to_string())? {
        match arg {
            Long("name") => {
                name = args.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?
            }
            Long("weights") => weights = Some(args.value().map_err(|e| e.to_string())?.into()),
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
    print!("{}", imported.declaration(&name));
    eprintln!("{} parameters in {} tensors", imported.parameter_count(), imported.tensors.len());
    if let Some(path) = weights {
        imported.save_safetensors(&path).map_err(|e| e.to_string())?;
        eprintln!("weights written to {}", path.display());
    }
    Ok(())
}
