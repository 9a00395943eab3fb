//! [`Imported`]: a TensorFlow Lite model as this library declares it, the `model!` source
//! and the weights under the names that source gives them.

use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use super::ImportError;
use crate::io::{QuantizedWeights, WeightsError};

/// A TensorFlow Lite model as this library declares it: [`Imported::declaration`] gives the
/// `model!` source, [`Imported::tensors`] the weights under the names that declaration
/// gives them (save them with [`Imported::to_safetensors_bytes`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// The input: `[C, H, W]` for an image (TensorFlow's `[1, H, W, C]`), `[N]` for a vector.
    pub input: Vec<usize>,
    /// The layers, in order, as `model!` entries (`conv2d(8, 3, stride = 2, padding = same)`,
    /// `relu`, `residual { … } shortcut { … }`, …), without the `input` entry.
    pub layers: Vec<Layer>,
    /// The weights, in the order the model declares them, PyTorch's shapes, row-major.
    pub tensors: Vec<ImportedTensor>,
    /// For a fully int8 graph, its int8 weights, int32 biases, scales and zero points as a
    /// quantized weights file holds them ([`QuantizedWeights`], the same layer names;
    /// [`tensors`](Self::tensors) holds their dequantized values). `None` for a float graph.
    pub quantized: Option<QuantizedWeights>,
}

/// One entry of an imported model's layer list.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// A layer as written in `model!`: `dense(10)`, `relu`.
    Simple(String),
    /// `residual { main } shortcut { shortcut }` (no `shortcut` when it is empty).
    Residual {
        /// The block's layers.
        main: Vec<Layer>,
        /// The shortcut's layers; empty for the identity.
        shortcut: Vec<Layer>,
    },
}

/// One weight tensor of an imported model.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedTensor {
    /// Its state-dict key, `3.weight`, `4.shortcut.0.bias`.
    pub name: String,
    /// Its shape, PyTorch's convention.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

impl Imported {
    /// The `model!` declaration of the model as a struct called `name`: paste it into a
    /// source file, or write it next to the weights with the converter
    /// (`cargo run --example tflite_import`).
    pub fn declaration(&self, name: &str) -> String {
        self.render(name, None)
    }

    /// [`declaration`](Self::declaration) with the weights baked in at compile time:
    /// `#[model(weights = "weights_file")]`, the file written by
    /// [`save_safetensors`](Self::save_safetensors) (a relative path is resolved from the
    /// directory of the source file that holds the declaration).
    pub fn baked_declaration(&self, name: &str, weights_file: &str) -> String {
        self.render(name, Some(weights_file))
    }

    fn render(&self, name: &str, weights_file: Option<&str>) -> String {
        let input: Vec<String> = self.input.iter().map(ToString::to_string).collect();
        let mut out = String::from("staticnn::model! {\n");
        if let Some(file) = weights_file {
            out.push_str(&format!("    #[model(weights = {file:?})]\n"));
        }
        out.push_str(&format!("    pub struct {name} {{\n        input({}),\n", input.join(", ")));
        write_layers(&mut out, &self.layers, 2);
        out.push_str("    }\n}\n");
        out
    }

    /// The number of weights.
    pub fn parameter_count(&self) -> usize {
        self.tensors.iter().map(|t| t.data.len()).sum()
    }

    /// The weights as a safetensors file in memory (`F32`, PyTorch's names and shapes, the
    /// format of [`save_safetensors`](crate::io::save_safetensors)), for
    /// [`from_safetensors_bytes`](crate::io::from_safetensors_bytes) or a file.
    pub fn to_safetensors_bytes(&self) -> Result<Vec<u8>, ImportError> {
        let encoding = |e: safetensors::SafeTensorError| {
            ImportError::Weights(WeightsError::Format { path: None, source: std::boxed::Box::new(e) })
        };
        let little_endian: Vec<Vec<u8>> =
            self.tensors.iter().map(|t| t.data.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = self
            .tensors
            .iter()
            .zip(&little_endian)
            .map(|(t, bytes)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, t.shape.clone(), bytes)
                    .map(|view| (t.name.clone(), view))
            })
            .collect::<Result<_, _>>()
            .map_err(encoding)?;
        let metadata = Some([("format".to_string(), "pt".to_string())].into_iter().collect());
        safetensors::serialize(views, metadata).map_err(encoding)
    }

    /// Saves the weights to the safetensors file `path`, atomically (written beside it, then
    /// renamed over it), as [`save_safetensors`](crate::io::save_safetensors) does.
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<(), ImportError> {
        let path = path.as_ref();
        crate::io::check_target(path).map_err(ImportError::Weights)?;
        crate::io::save_bytes(path, &self.to_safetensors_bytes()?).map_err(ImportError::Weights)
    }
}

/// The activations written on the line of the layer they follow.
const ACTIVATIONS: [&str; 4] = ["relu", "relu6", "tanh", "sigmoid"];

/// Writes `layers` one per line at `depth` levels of indentation, an activation on the line
/// of the layer before it.
fn write_layers(out: &mut String, layers: &[Layer], depth: usize) {
    let indent = "    ".repeat(depth);
    let mut after_layer = false;
    for layer in layers {
        let joins =
            after_layer && matches!(layer, Layer::Simple(text) if ACTIVATIONS.contains(&text.as_str()));
        after_layer = matches!(layer, Layer::Simple(_)) && !joins;
        match layer {
            Layer::Simple(text) if joins => {
                out.truncate(out.len() - ",\n".len());
                out.push_str(&format!(", {text},\n"));
            }
            Layer::Simple(text) => out.push_str(&format!("{indent}{text},\n")),
            Layer::Residual { main, shortcut } => {
                out.push_str(&format!("{indent}residual {{\n"));
                write_layers(out, main, depth + 1);
                if shortcut.is_empty() {
                    out.push_str(&format!("{indent}}},\n"));
                } else {
                    out.push_str(&format!("{indent}}} shortcut {{\n"));
                    write_layers(out, shortcut, depth + 1);
                    out.push_str(&format!("{indent}}},\n"));
                }
            }
        }
    }
}
