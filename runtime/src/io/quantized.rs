//! Quantized weights files: a model's int8 weights, int32 biases and the scales and zero
//! points of TensorFlow Lite's int8 scheme ([`quant`](crate::quant)) in one safetensors file,
//! under the names of the model's f32 file.
//!
//! The names and dtypes are documented on [`QuantizedWeights`].

use std::borrow::ToOwned;
use std::boxed::Box;
use std::collections::BTreeMap;
use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use safetensors::{Dtype as FileDtype, SafeTensors};

use super::{WeightsError, check_target, save_bytes};
use crate::quant::QuantParams;

/// The values of one tensor of a quantized weights file.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantValues {
    /// Weights (`I8`).
    I8(Vec<i8>),
    /// Biases and zero points (`I32`).
    I32(Vec<i32>),
    /// Scales (`F32`).
    F32(Vec<f32>),
}

impl QuantValues {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            QuantValues::I8(v) => v.len(),
            QuantValues::I32(v) => v.len(),
            QuantValues::F32(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The safetensors dtype.
    fn dtype(&self) -> FileDtype {
        match self {
            QuantValues::I8(_) => FileDtype::I8,
            QuantValues::I32(_) => FileDtype::I32,
            QuantValues::F32(_) => FileDtype::F32,
        }
    }

    /// The values as little-endian bytes.
    fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            QuantValues::I8(v) => v.iter().map(|&x| x as u8).collect(),
            QuantValues::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            QuantValues::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// The dtype a tensor's name calls for (see [`QuantizedWeights`]).
fn expected_dtype(name: &str) -> FileDtype {
    let last = name.rsplit('.').next().unwrap_or(name);
    match last {
        "weight" => FileDtype::I8,
        "bias" | "zero_point" => FileDtype::I32,
        _ => FileDtype::F32,
    }
}

/// A quantized model's tensors by name: what a quantized weights file holds.
///
/// For a layer labelled `L` as in the f32 file (`0`, `2`, `3.shortcut.0`: the prefix of its
/// `L.weight`), and for the model's input:
///
/// | tensor | dtype, shape | holds |
/// |---|---|---|
/// | `L.weight` | `I8`, PyTorch's shape (`[O, I]`, `[OC, C, KH, KW]`, …) | the weights, symmetric per output channel (zero point 0, `−127..=127`) |
/// | `L.weight_scale` | `F32`, `[O]` (or `[1]`: per tensor) | each output channel's weight scale |
/// | `L.bias` | `I32`, `[O]` | the biases, scale `input scale × weight_scale[o]`, zero point 0 |
/// | `L.scale`, `L.zero_point` | `F32` `[1]`, `I32` `[1]` | the layer's output quantization, after any activation folded into its clamp; also for a `residual` block (its addition) and other layers whose output is requantized |
/// | `input.scale`, `input.zero_point` | `F32` `[1]`, `I32` `[1]` | the model input's quantization |
///
/// The metadata is `{"format": "staticnn-int8"}`. A file is read whole and checked as it is
/// read (every dtype a name calls for, every shape against its data); [`QuantizedWeights::i8`]
/// and its siblings check a tensor's shape against the one the caller expects, so a file for
/// another model is an error naming the tensor, never a panic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuantizedWeights {
    /// Each tensor's shape and values, by name.
    pub tensors: BTreeMap<String, (Vec<usize>, QuantValues)>,
}

impl QuantizedWeights {
    /// Adds (or replaces) the tensor `name`.
    pub fn insert(&mut self, name: impl Into<String>, shape: Vec<usize>, values: QuantValues) {
        self.tensors.insert(name.into(), (shape, values));
    }

    /// Records the quantization `params` of layer `label`'s output (`label.scale`,
    /// `label.zero_point`; `input` for the model's input).
    pub fn insert_params(&mut self, label: &str, params: QuantParams) {
        self.insert(format!("{label}.scale"), std::vec![1], QuantValues::F32(std::vec![params.scale]));
        self.insert(
            format!("{label}.zero_point"),
            std::vec![1],
            QuantValues::I32(std::vec![params.zero_point]),
        );
    }

    /// The file's bytes.
    pub fn to_safetensors_bytes(&self) -> Result<Vec<u8>, WeightsError> {
        self.encode(None)
    }

    fn encode(&self, path: Option<&Path>) -> Result<Vec<u8>, WeightsError> {
        let encoding = |e: safetensors::SafeTensorError| WeightsError::Encode {
            path: path.map(Path::to_path_buf),
            source: Box::new(e),
        };
        let bytes: Vec<Vec<u8>> = self.tensors.values().map(|(_, v)| v.to_le_bytes()).collect();
        let views = self
            .tensors
            .iter()
            .zip(&bytes)
            .map(|((name, (shape, values)), bytes)| {
                safetensors::tensor::TensorView::new(values.dtype(), shape.clone(), bytes)
                    .map(|view| (name.clone(), view))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(encoding)?;
        let metadata = Some([("format".to_string(), "staticnn-int8".to_string())].into_iter().collect());
        safetensors::serialize(views, metadata).map_err(encoding)
    }

    /// Saves the file atomically (written beside `path`, then renamed over it), as
    /// [`save_safetensors`](super::save_safetensors) does.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), WeightsError> {
        let path = path.as_ref();
        check_target(path)?;
        save_bytes(path, &self.encode(Some(path))?)
    }

    /// Reads a quantized weights file from memory, checking every tensor's dtype against its
    /// name.
    pub fn from_safetensors_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        Self::decode(bytes, None)
    }

    /// Loads the quantized weights file `path` ([`from_safetensors_bytes`](Self::from_safetensors_bytes)).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, WeightsError> {
        let path = path.as_ref();
        let bytes = super::read_bounded(path, usize::MAX / 8)?;
        Self::decode(&bytes, Some(path))
    }

    fn decode(bytes: &[u8], path: Option<&Path>) -> Result<Self, WeightsError> {
        let path_buf = || path.map(Path::to_path_buf);
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| WeightsError::Format { path: path_buf(), source: Box::new(e) })?;
        let mut weights = QuantizedWeights::default();
        for (name, view) in file.tensors() {
            let expected = expected_dtype(&name);
            if view.dtype() != expected {
                return Err(WeightsError::QuantizedDtype {
                    path: path_buf(),
                    tensor: name,
                    file_dtype: format!("{:?}", view.dtype()),
                    expected: dtype_name(expected),
                });
            }
            let data = view.data();
            let values = match expected {
                FileDtype::I8 => QuantValues::I8(data.iter().map(|&b| b as i8).collect()),
                FileDtype::I32 => QuantValues::I32(
                    data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
                ),
                _ => QuantValues::F32(
                    data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
                ),
            };
            weights.insert(name, view.shape().to_owned(), values);
        }
        Ok(weights)
    }

    /// The tensor `name`, which must have `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Result<&QuantValues, WeightsError> {
        let Some((file_shape, values)) = self.tensors.get(name) else {
            return Err(WeightsError::Missing {
                path: None,
                tensor: name.to_string(),
                available: self.tensors.keys().cloned().collect(),
            });
        };
        if file_shape.as_slice() != shape {
            return Err(WeightsError::ShapeMismatch {
                path: None,
                tensor: name.to_string(),
                file_shape: file_shape.clone(),
                model_shape: shape.to_vec(),
            });
        }
        Ok(values)
    }

    /// The `I8` tensor `name` of shape `shape`.
    pub fn i8(&self, name: &str, shape: &[usize]) -> Result<&[i8], WeightsError> {
        match self.get(name, shape)? {
            QuantValues::I8(v) => Ok(v),
            other => Err(self.wrong_dtype(name, other, "I8")),
        }
    }

    /// The `I32` tensor `name` of shape `shape`.
    pub fn i32(&self, name: &str, shape: &[usize]) -> Result<&[i32], WeightsError> {
        match self.get(name, shape)? {
            QuantValues::I32(v) => Ok(v),
            other => Err(self.wrong_dtype(name, other, "I32")),
        }
    }

    /// The `F32` tensor `name` of shape `shape`.
    pub fn f32(&self, name: &str, shape: &[usize]) -> Result<&[f32], WeightsError> {
        match self.get(name, shape)? {
            QuantValues::F32(v) => Ok(v),
            other => Err(self.wrong_dtype(name, other, "F32")),
        }
    }

    /// The weight scales of layer `label` with `outputs` output channels: `[outputs]`, or one
    /// for all (`[1]`).
    pub fn weight_scales(&self, label: &str, outputs: usize) -> Result<&[f32], WeightsError> {
        let name = format!("{label}.weight_scale");
        match self.tensors.get(&name) {
            Some((shape, _)) if shape.as_slice() == [1] => self.f32(&name, &[1]),
            _ => self.f32(&name, &[outputs]),
        }
    }

    /// The output quantization of layer `label` (`input` for the model's input).
    pub fn params(&self, label: &str) -> Result<QuantParams, WeightsError> {
        Ok(QuantParams {
            scale: self.f32(&format!("{label}.scale"), &[1])?[0],
            zero_point: self.i32(&format!("{label}.zero_point"), &[1])?[0],
        })
    }

    fn wrong_dtype(&self, name: &str, values: &QuantValues, expected: &'static str) -> WeightsError {
        WeightsError::QuantizedDtype {
            path: None,
            tensor: name.to_string(),
            file_dtype: dtype_name(values.dtype()).to_string(),
            expected,
        }
    }
}

/// The safetensors name of a dtype used here.
fn dtype_name(dtype: FileDtype) -> &'static str {
    match dtype {
        FileDtype::I8 => "I8",
        FileDtype::I32 => "I32",
        FileDtype::F32 => "F32",
        _ => "another dtype",
    }
}
