//! [`TfliteError`]: every way reading a `.tflite` file can fail, with messages that name the
//! operator (index and op name) or the tensor (index and name) concerned.

use std::error::Error;
use std::fmt;
use std::string::String;
use std::vec::Vec;

use super::graph::{DType, Op, Options};

/// Why a `.tflite` file could not be read.
///
/// Tensors are named by their index in the subgraph and their name in the file, operators by
/// their index (execution order) and builtin operator.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TfliteError {
    /// The data is shorter than a flatbuffer's header (root offset and file identifier).
    TooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// The file identifier (bytes 4..8) is not TFLite's `TFL3`.
    NotTflite {
        /// The identifier found.
        identifier: [u8; 4],
    },
    /// The flatbuffer failed verification: it is truncated or corrupt (an offset out of
    /// bounds, a misaligned field, a string that is not UTF-8, …), or its tables share data so
    /// much that reading it would expand it over four times.
    NotAFlatbuffer(String),
    /// The model has no subgraph.
    NoSubgraph,
    /// The model has more than one subgraph (control flow or multiple signatures), which is
    /// not supported; the number is how many.
    ManySubgraphs(usize),
    /// A graph input names a tensor that does not exist.
    GraphInput {
        /// Position in the subgraph's input list.
        position: usize,
        /// The tensor index found.
        index: i32,
        /// How many tensors the subgraph has.
        tensor_count: usize,
    },
    /// A graph output names a tensor that does not exist.
    GraphOutput {
        /// Position in the subgraph's output list.
        position: usize,
        /// The tensor index found.
        index: i32,
        /// How many tensors the subgraph has.
        tensor_count: usize,
    },
    /// An operator's opcode index is past the model's list of operator codes.
    OpcodeIndex {
        /// The operator.
        operator: usize,
        /// The opcode index found.
        index: u32,
        /// How many operator codes the model has.
        opcode_count: usize,
    },
    /// An operator's input or output names a tensor that does not exist (or an output is the
    /// `-1` that only inputs may use).
    TensorIndex {
        /// The operator.
        operator: usize,
        /// Its builtin operator.
        op: Op,
        /// Whether the index is in the outputs (else the inputs).
        output: bool,
        /// Position in the operator's input or output list.
        position: usize,
        /// The tensor index found.
        index: i32,
        /// How many tensors the subgraph has.
        tensor_count: usize,
    },
    /// A tensor's buffer index is past the model's list of buffers.
    BufferIndex {
        /// The tensor.
        tensor: usize,
        /// Its name.
        name: String,
        /// The buffer index found.
        index: u32,
        /// How many buffers the model has.
        buffer_count: usize,
    },
    /// A buffer stored outside the flatbuffer (`offset`, `size`) reaches past the end of the
    /// file.
    BufferOutOfRange {
        /// The tensor.
        tensor: usize,
        /// Its name.
        name: String,
        /// The data's offset from the start of the file.
        offset: u64,
        /// The data's size in bytes.
        size: u64,
        /// The file's length.
        file_len: usize,
    },
    /// A tensor's shape has a negative dimension other than a leading `-1` (dynamic batch).
    NegativeDimension {
        /// The tensor.
        tensor: usize,
        /// Its name.
        name: String,
        /// The shape as stored.
        shape: Vec<i32>,
    },
    /// A constant tensor's element count or byte size overflows `usize`.
    SizeOverflow {
        /// The tensor.
        tensor: usize,
        /// Its name.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A constant tensor's data does not have the size its shape and type call for.
    DataSize {
        /// The tensor.
        tensor: usize,
        /// Its name.
        name: String,
        /// Its element type.
        dtype: DType,
        /// Its shape.
        shape: Vec<usize>,
        /// The bytes the shape and type call for.
        expected: usize,
        /// The bytes the buffer holds.
        found: usize,
    },
    /// The tensors' constant data adds up to more than four times the file's length: tensors
    /// share buffers far more than models do.
    TooMuchData {
        /// The tensor whose data crossed the limit.
        tensor: usize,
        /// Its name.
        name: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The tensor is stored in TFLite's sparse format, which is not supported.
    SparseTensor {
        /// The tensor.
        tensor: usize,
        /// Its name.
        name: String,
    },
    /// A tensor's quantization has a number of zero points that is neither 1 nor the number
    /// of scales.
    QuantizationLength {
        /// The tensor.
        tensor: usize,
        /// Its name.
        name: String,
        /// How many scales it has.
        scales: usize,
        /// How many zero points it has.
        zero_points: usize,
    },
    /// A tensor's `quantized_dimension` is not one of its dimensions, or, with several scales,
    /// that dimension's size is not the number of scales.
    QuantizedDimension {
        /// The tensor.
        tensor: usize,
        /// Its name.
        name: String,
        /// The quantized dimension found.
        dimension: i32,
        /// The tensor's shape.
        shape: Vec<usize>,
        /// How many scales it has.
        scales: usize,
    },
    /// An operator's options table is not of the type its operator takes.
    WrongOptions {
        /// The operator.
        operator: usize,
        /// Its builtin operator.
        op: Op,
        /// The options type the operator takes (`Conv2DOptions`, …).
        expected: &'static str,
        /// The `BuiltinOptions` type code found (0 for none).
        found: u8,
    },
    /// An operator's option has a value that is out of range (an unknown padding, a stride,
    /// dilation or window size below 1).
    BadOption {
        /// The operator.
        operator: usize,
        /// Its builtin operator.
        op: Op,
        /// The option's name in the schema (`stride_h`, `padding`, …).
        field: &'static str,
        /// The value found.
        value: i32,
    },
}

/// Formats `tensor 5 'conv/Relu'`.
struct TensorName<'a>(usize, &'a str);

impl fmt::Display for TensorName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tensor {} '{}'", self.0, self.1)
    }
}

impl fmt::Display for TfliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => {
                write!(f, "not a TFLite model: {len} bytes is too short for a flatbuffer header (8 bytes)")
            }
            Self::NotTflite { identifier } => write!(
                f,
                "not a TFLite model: the file identifier is \"{}\", not \"TFL3\"",
                identifier.escape_ascii()
            ),
            Self::NotAFlatbuffer(message) => {
                write!(f, "corrupt or truncated TFLite model (flatbuffer verification failed): {message}")
            }
            Self::NoSubgraph => f.write_str("the TFLite model has no subgraph"),
            Self::ManySubgraphs(count) => write!(
                f,
                "the TFLite model has {count} subgraphs; only models with exactly one (no control flow, \
                 one signature) are supported"
            ),
            Self::GraphInput { position, index, tensor_count } => write!(
                f,
                "graph input {position} refers to tensor {index}, but the subgraph has {tensor_count} tensors"
            ),
            Self::GraphOutput { position, index, tensor_count } => write!(
                f,
                "graph output {position} refers to tensor {index}, but the subgraph has {tensor_count} tensors"
            ),
            Self::OpcodeIndex { operator, index, opcode_count } => write!(
                f,
                "operator {operator}: opcode index {index} is out of range (the model has {opcode_count} \
                 operator codes)"
            ),
            Self::TensorIndex { operator, op, output, position, index, tensor_count } => {
                let role = if *output { "output" } else { "input" };
                if *output && *index == -1 {
                    write!(
                        f,
                        "operator {operator} ({op}): {role} {position} is -1 (omitted), which only inputs may be"
                    )
                } else {
                    write!(
                        f,
                        "operator {operator} ({op}): {role} {position} refers to tensor {index}, but the subgraph \
                         has {tensor_count} tensors"
                    )
                }
            }
            Self::BufferIndex { tensor, name, index, buffer_count } => write!(
                f,
                "{}: buffer index {index} is out of range (the model has {buffer_count} buffers)",
                TensorName(*tensor, name)
            ),
            Self::BufferOutOfRange { tensor, name, offset, size, file_len } => write!(
                f,
                "{}: its data ({size} bytes at offset {offset}) reaches past the end of the file ({file_len} \
                 bytes)",
                TensorName(*tensor, name)
            ),
            Self::NegativeDimension { tensor, name, shape } => write!(
                f,
                "{}: shape {shape:?} has a negative dimension (only a leading -1 batch is accepted)",
                TensorName(*tensor, name)
            ),
            Self::SizeOverflow { tensor, name, shape } => {
                write!(f, "{}: shape {shape:?} is too large to address", TensorName(*tensor, name))
            }
            Self::DataSize { tensor, name, dtype, shape, expected, found } => write!(
                f,
                "{}: shape {shape:?} of {dtype} needs {expected} bytes, but its buffer holds {found}",
                TensorName(*tensor, name)
            ),
            Self::TooMuchData { tensor, name, limit } => write!(
                f,
                "{}: the tensors' constant data adds up to more than {limit} bytes, {} times the file's \
                 length (tensors sharing buffers)",
                TensorName(*tensor, name),
                super::EXPANSION_LIMIT
            ),
            Self::SparseTensor { tensor, name } => {
                write!(f, "{}: sparse tensors are not supported", TensorName(*tensor, name))
            }
            Self::QuantizationLength { tensor, name, scales, zero_points } => write!(
                f,
                "{}: quantization has {scales} scales but {zero_points} zero points (must be 1 or as many)",
                TensorName(*tensor, name)
            ),
            Self::QuantizedDimension { tensor, name, dimension, shape, scales } => write!(
                f,
                "{}: {scales} quantization scales along dimension {dimension} do not fit shape {shape:?}",
                TensorName(*tensor, name)
            ),
            Self::WrongOptions { operator, op, expected, found } => write!(
                f,
                "operator {operator} ({op}): builtin options are {} (type {found}), expected {expected}",
                Options::type_name(*found)
            ),
            Self::BadOption { operator, op, field, value } => {
                write!(f, "operator {operator} ({op}): option {field} = {value} is out of range")
            }
        }
    }
}

impl Error for TfliteError {}
