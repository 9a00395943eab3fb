//! Reading TensorFlow Lite models (`.tflite` flatbuffers) into an owned [`Graph`]: tensors with
//! their shapes, types, quantization and constant data, and operators with their inputs,
//! outputs and decoded options.
//!
//! [`read`] verifies the flatbuffer (with the `flatbuffers` crate's verifier, over every table
//! it reads) before touching it, then checks everything the file refers to by index or offset:
//! a truncated, corrupt or inconsistent file is an error naming what is wrong, never a panic.
//! Only models with exactly one subgraph are supported.
//!
//! ```no_run
//! # use staticnn_runtime::io::tflite;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let graph = tflite::read(&std::fs::read("kws_ref_model_float32.tflite")?)?;
//! for op in &graph.operators {
//!     println!("{} {:?}", op.op, op.options);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! `schema.fbs` beside this file lists the part of TFLite's schema that is read, with its
//! field ids; `schema.rs` holds the accessors.

mod error;
mod graph;
mod import;
mod import_error;
mod imported;
mod names;
mod quantized;
mod schema;
#[cfg(test)]
mod tests;

use std::string::{String, ToString};
use std::vec::Vec;

use flatbuffers::{Follow, Vector};

pub use error::TfliteError;
pub use graph::{
    Activation, DType, Graph, Op, OperatorInfo, Options, Padding, Quantization, TensorInfo, WeightsFormat,
};
pub use import::import;
pub use import_error::ImportError;
pub use imported::{Imported, ImportedTensor, Layer};
pub use quantized::{QuantizedDense, fused_activation};

use schema::{
    AddOptions, Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions, OptionsTable, Pool2DOptions,
    ReshapeOptions, SoftmaxOptions,
};

/// TFLite's file identifier, at bytes 4..8 of every model.
const IDENTIFIER: [u8; 4] = *b"TFL3";

/// How far a file may expand when read, as a multiple of its length. Tables may share strings
/// and vectors, and tensors buffers, so a small crafted file could otherwise make the reader
/// copy the same bytes without end. Two budgets of this many times the file's length apply:
/// the verifier's "apparent size" (the bytes it checks, counted once per reference: the eight
/// MLPerf Tiny models come to 1.00–1.04 times their length) and the tensors' copied constant
/// data.
const EXPANSION_LIMIT: usize = 4;

/// Reads a `.tflite` model (the whole file, as buffers stored outside the flatbuffer are
/// located by their offset from its start) into an owned [`Graph`].
///
/// The model must have exactly one subgraph. Every table read is verified first, and every
/// index and offset in the file is bounds-checked; constant data is checked against its
/// tensor's shape and type.
pub fn read(bytes: &[u8]) -> Result<Graph, TfliteError> {
    let Some(&[a, b, c, d]) = bytes.get(4..8) else {
        return Err(TfliteError::TooShort { len: bytes.len() });
    };
    if [a, b, c, d] != IDENTIFIER {
        return Err(TfliteError::NotTflite { identifier: [a, b, c, d] });
    }
    // `flatbuffers::root`, with a tighter apparent-size limit than its default (2 GiB); the
    // 4 KiB spare keeps tiny models from a tiny budget.
    let limits = flatbuffers::VerifierOptions {
        max_apparent_size: bytes.len().saturating_mul(EXPANSION_LIMIT).saturating_add(4096),
        ..flatbuffers::VerifierOptions::default()
    };
    let model = flatbuffers::root_with_opts::<schema::Model>(&limits, bytes)
        .map_err(|e| TfliteError::NotAFlatbuffer(one_line(&e)))?;

    let subgraph = match model.subgraphs() {
        Some(subgraphs) if subgraphs.len() > 1 => return Err(TfliteError::ManySubgraphs(subgraphs.len())),
        Some(subgraphs) => element(subgraphs, 0),
        None => None,
    };
    let subgraph = subgraph.ok_or(TfliteError::NoSubgraph)?;

    let mut data_budget = bytes.len().saturating_mul(EXPANSION_LIMIT);
    let tensors = subgraph
        .tensors()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, tensor)| read_tensor(index, tensor, model.buffers(), bytes, &mut data_budget))
        .collect::<Result<Vec<_>, _>>()?;
    let tensor_count = tensors.len();

    let opcodes: Vec<Op> = model
        .operator_codes()
        .into_iter()
        .flatten()
        // As TFLite's `GetBuiltinCode`: old files only set the byte field, codes above 127
        // only fit in the int one, and the unused one is 0 (or 127, a placeholder).
        .map(|code| Op::from_code(i32::from(code.deprecated_builtin_code()).max(code.builtin_code())))
        .collect();

    let operators = subgraph
        .operators()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, operator)| read_operator(index, operator, &opcodes, tensor_count))
        .collect::<Result<Vec<_>, _>>()?;

    let graph_tensor = |position: usize, index: i32, output: bool| match usize::try_from(index) {
        Ok(i) if i < tensor_count => Ok(i),
        _ if output => Err(TfliteError::GraphOutput { position, index, tensor_count }),
        _ => Err(TfliteError::GraphInput { position, index, tensor_count }),
    };
    let inputs = ints(subgraph.inputs())
        .enumerate()
        .map(|(position, index)| graph_tensor(position, index, false))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = ints(subgraph.outputs())
        .enumerate()
        .map(|(position, index)| graph_tensor(position, index, true))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Graph {
        version: model.version(),
        name: subgraph.name().unwrap_or_default().to_string(),
        tensors,
        operators,
        inputs,
        outputs,
    })
}

/// The verifier's message (which may list where the error is on further lines) on one line.
fn one_line(error: &flatbuffers::InvalidFlatbuffer) -> String {
    let message = error.to_string();
    message.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join("; ")
}

/// The elements of an optional `[int]` field (absent reads as empty).
fn ints(vector: Option<Vector<'_, i32>>) -> impl Iterator<Item = i32> + '_ {
    vector.into_iter().flatten()
}

/// Element `index` of a flatbuffer vector, or `None` past its end (`Vector::get` asserts).
fn element<'a, T: Follow<'a> + 'a>(vector: Vector<'a, T>, index: usize) -> Option<T::Inner> {
    (index < vector.len()).then(|| vector.get(index))
}

/// Reads tensor `index`, copying its constant data out of `file` and charging it to
/// `data_budget`.
fn read_tensor(
    index: usize,
    tensor: schema::Tensor<'_>,
    buffers: Option<Vector<'_, flatbuffers::ForwardsUOffset<schema::Buffer<'_>>>>,
    file: &[u8],
    data_budget: &mut usize,
) -> Result<TensorInfo, TfliteError> {
    let name = tensor.name().unwrap_or_default().to_string();
    if tensor.sparsity().is_some() {
        return Err(TfliteError::SparseTensor { tensor: index, name });
    }
    let stored_shape: Vec<i32> = ints(tensor.shape()).collect();
    let mut shape = Vec::with_capacity(stored_shape.len());
    for (axis, &dim) in stored_shape.iter().enumerate() {
        shape.push(match usize::try_from(dim) {
            Ok(dim) => dim,
            Err(_) if axis == 0 && dim == -1 => 1,
            Err(_) => {
                return Err(TfliteError::NegativeDimension { tensor: index, name, shape: stored_shape });
            }
        });
    }
    let dtype = DType::from_code(tensor.tensor_type());

    // Buffer 0 is by convention the empty buffer, and a model may even leave `buffers` out.
    let buffer_index = tensor.buffer();
    let buffer_count = buffers.map_or(0, |b| b.len());
    let buffer = match buffers.and_then(|b| element(b, usize::try_from(buffer_index).ok()?)) {
        Some(buffer) => Some(buffer),
        None if buffer_index == 0 => None,
        None => {
            return Err(TfliteError::BufferIndex { tensor: index, name, index: buffer_index, buffer_count });
        }
    };
    let data = match buffer {
        None => None,
        Some(buffer) => match buffer.data() {
            Some(data) if !data.is_empty() => Some(data.bytes()),
            // As TFLite: data outside the flatbuffer has an offset above 1 (1 is the
            // converter's placeholder) from the start of the file.
            _ if buffer.offset() > 1 && buffer.size() > 0 => {
                let (offset, size) = (buffer.offset(), buffer.size());
                let range = usize::try_from(offset)
                    .ok()
                    .zip(usize::try_from(size).ok())
                    .and_then(|(start, len)| file.get(start..start.checked_add(len)?));
                match range {
                    Some(range) => Some(range),
                    None => {
                        let file_len = file.len();
                        return Err(TfliteError::BufferOutOfRange {
                            tensor: index,
                            name,
                            offset,
                            size,
                            file_len,
                        });
                    }
                }
            }
            _ => None,
        },
    };
    if let Some(data) = data {
        if let Some(element_size) = dtype.size() {
            let expected = shape.iter().try_fold(element_size, |bytes, &dim| bytes.checked_mul(dim));
            let Some(expected) = expected else {
                return Err(TfliteError::SizeOverflow { tensor: index, name, shape });
            };
            if expected != data.len() {
                let found = data.len();
                return Err(TfliteError::DataSize { tensor: index, name, dtype, shape, expected, found });
            }
        }
        match data_budget.checked_sub(data.len()) {
            Some(rest) => *data_budget = rest,
            None => {
                let limit = file.len().saturating_mul(EXPANSION_LIMIT);
                return Err(TfliteError::TooMuchData { tensor: index, name, limit });
            }
        }
    }

    let quantization = read_quantization(index, &name, tensor.quantization(), &shape)?;
    Ok(TensorInfo { index, name, shape, dtype, data: data.map(<[u8]>::to_vec), quantization })
}

/// Reads a tensor's affine quantization: present when it has scales and zero points (as
/// TFLite Micro decides; min/max alone are only calibration ranges).
fn read_quantization(
    tensor: usize,
    name: &str,
    quantization: Option<schema::QuantizationParameters<'_>>,
    shape: &[usize],
) -> Result<Option<Quantization>, TfliteError> {
    let Some(q) = quantization else { return Ok(None) };
    let scale: Vec<f32> = q.scale().into_iter().flatten().collect();
    let mut zero_point: Vec<i64> = q.zero_point().into_iter().flatten().collect();
    if scale.is_empty() || zero_point.is_empty() {
        return Ok(None);
    }
    if zero_point.len() == 1 {
        zero_point.resize(scale.len(), zero_point.first().copied().unwrap_or_default());
    } else if zero_point.len() != scale.len() {
        let (scales, zero_points) = (scale.len(), zero_point.len());
        return Err(TfliteError::QuantizationLength { tensor, name: name.to_string(), scales, zero_points });
    }
    let dimension = q.quantized_dimension();
    let quantized_dimension = usize::try_from(dimension).ok().filter(|&axis| match shape.get(axis) {
        Some(&size) => scale.len() == 1 || size == scale.len(),
        // A per-tensor scale on a scalar keeps the default dimension 0.
        None => scale.len() == 1 && shape.is_empty() && axis == 0,
    });
    let Some(quantized_dimension) = quantized_dimension else {
        return Err(TfliteError::QuantizedDimension {
            tensor,
            name: name.to_string(),
            dimension,
            shape: shape.to_vec(),
            scales: scale.len(),
        });
    };
    Ok(Some(Quantization {
        scale,
        zero_point,
        quantized_dimension,
        min: q.min().into_iter().flatten().collect(),
        max: q.max().into_iter().flatten().collect(),
    }))
}

/// Reads operator `index`, resolving its opcode and checking its tensor indices.
fn read_operator(
    index: usize,
    operator: schema::Operator<'_>,
    opcodes: &[Op],
    tensor_count: usize,
) -> Result<OperatorInfo, TfliteError> {
    let opcode_index = operator.opcode_index();
    let op = usize::try_from(opcode_index).ok().and_then(|i| opcodes.get(i)).copied().ok_or(
        TfliteError::OpcodeIndex { operator: index, index: opcode_index, opcode_count: opcodes.len() },
    )?;
    let tensor_error = |output: bool, position: usize, tensor: i32| TfliteError::TensorIndex {
        operator: index,
        op,
        output,
        position,
        index: tensor,
        tensor_count,
    };
    let inputs = ints(operator.inputs())
        .enumerate()
        .map(|(position, tensor)| match usize::try_from(tensor) {
            Ok(i) if i < tensor_count => Ok(Some(i)),
            Err(_) if tensor == -1 => Ok(None),
            _ => Err(tensor_error(false, position, tensor)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = ints(operator.outputs())
        .enumerate()
        .map(|(position, tensor)| match usize::try_from(tensor) {
            Ok(i) if i < tensor_count => Ok(i),
            _ => Err(tensor_error(true, position, tensor)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = read_options(index, op, operator)?;
    Ok(OperatorInfo { index, op, inputs, outputs, options })
}

/// Decodes the builtin options of operator `index` (see [`Options`] for which).
fn read_options(index: usize, op: Op, operator: schema::Operator<'_>) -> Result<Options, TfliteError> {
    let found = operator.builtin_options_type();
    let wrong = |expected| TfliteError::WrongOptions { operator: index, op, expected, found };
    let positive = |field: &'static str, value: i32| match usize::try_from(value) {
        Ok(value) if value >= 1 => Ok(value),
        _ => Err(TfliteError::BadOption { operator: index, op, field, value }),
    };
    let padding = |value: i8| match value {
        0 => Ok(Padding::Same),
        1 => Ok(Padding::Valid),
        _ => Err(TfliteError::BadOption { operator: index, op, field: "padding", value: i32::from(value) }),
    };
    Ok(match op {
        Op::Conv2d => {
            let o = required::<Conv2DOptions>(&operator).map_err(wrong)?;
            Options::Conv2d {
                padding: padding(o.padding())?,
                stride_h: positive("stride_h", o.stride_h())?,
                stride_w: positive("stride_w", o.stride_w())?,
                dilation_h: positive("dilation_h_factor", o.dilation_h_factor())?,
                dilation_w: positive("dilation_w_factor", o.dilation_w_factor())?,
                activation: Activation::from_code(o.fused_activation_function()),
            }
        }
        Op::DepthwiseConv2d => {
            let o = required::<DepthwiseConv2DOptions>(&operator).map_err(wrong)?;
            Options::DepthwiseConv2d {
                padding: padding(o.padding())?,
                stride_h: positive("stride_h", o.stride_h())?,
                stride_w: positive("stride_w", o.stride_w())?,
                dilation_h: positive("dilation_h_factor", o.dilation_h_factor())?,
                dilation_w: positive("dilation_w_factor", o.dilation_w_factor())?,
                depth_multiplier: o.depth_multiplier(),
                activation: Activation::from_code(o.fused_activation_function()),
            }
        }
        // AVERAGE_POOL_2D, MAX_POOL_2D and L2_POOL_2D (12) share Pool2DOptions.
        Op::AveragePool2d | Op::MaxPool2d | Op::Other { code: 12 } => {
            let o = required::<Pool2DOptions>(&operator).map_err(wrong)?;
            Options::Pool2d {
                padding: padding(o.padding())?,
                stride_h: positive("stride_h", o.stride_h())?,
                stride_w: positive("stride_w", o.stride_w())?,
                filter_h: positive("filter_height", o.filter_height())?,
                filter_w: positive("filter_width", o.filter_width())?,
                activation: Activation::from_code(o.fused_activation_function()),
            }
        }
        Op::FullyConnected => {
            let o = optional::<FullyConnectedOptions>(&operator).map_err(wrong)?;
            Options::FullyConnected {
                activation: Activation::from_code(o.map_or(0, |o| o.fused_activation_function())),
                keep_num_dims: o.is_some_and(|o| o.keep_num_dims()),
                weights_format: WeightsFormat::from_code(o.map_or(0, |o| o.weights_format())),
            }
        }
        Op::Add => {
            let o = optional::<AddOptions>(&operator).map_err(wrong)?;
            Options::Add { activation: Activation::from_code(o.map_or(0, |o| o.fused_activation_function())) }
        }
        Op::Softmax => {
            let o = optional::<SoftmaxOptions>(&operator).map_err(wrong)?;
            Options::Softmax { beta: o.map_or(0.0, |o| o.beta()) }
        }
        Op::Reshape => {
            let o = optional::<ReshapeOptions>(&operator).map_err(wrong)?;
            Options::Reshape { new_shape: o.and_then(|o| o.new_shape()).map(|shape| shape.iter().collect()) }
        }
        _ if found == 0 => Options::None,
        _ => Options::Other { type_code: found },
    })
}

/// The operator's options table, which must be a `T` (convolutions and pools have no usable
/// defaults: TFLite would run them with stride 0); `Err` holds the name of `T`.
fn required<'a, T: OptionsTable<'a>>(operator: &schema::Operator<'a>) -> Result<T, &'static str> {
    operator.builtin_options::<T>().ok_or(T::NAME)
}

/// The operator's options table if it is a `T`, `None` if it has none (the caller then uses
/// the schema's defaults, as TFLite does); `Err` holds the name of `T` if it is of another type.
fn optional<'a, T: OptionsTable<'a>>(operator: &schema::Operator<'a>) -> Result<Option<T>, &'static str> {
    match operator.builtin_options::<T>() {
        Some(table) => Ok(Some(table)),
        None if operator.builtin_options_type() == 0 => Ok(None),
        None => Err(T::NAME),
    }
}

/// Reads the `.tflite` file at `path` and [`import`]s it: the `model!` declaration and the
/// weights of a float model (see [`Imported`]).
pub fn import_file(path: impl AsRef<std::path::Path>) -> Result<Imported, ImportError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    import(&read(&bytes)?)
}
