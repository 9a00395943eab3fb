//! The owned description of a model that [`read`](super::read) returns: [`Graph`] with its
//! [`TensorInfo`]s and [`OperatorInfo`]s, and the small enums that name what TFLite stores as
//! codes ([`DType`], [`Op`], [`Options`], [`Padding`], [`Activation`], [`WeightsFormat`]).

use std::fmt;
use std::string::String;
use std::vec::Vec;

use super::names;

/// The one subgraph of a TFLite model: its tensors, its operators in execution order, and
/// which tensors are its inputs and outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// The model's schema version (3 for every file TFLite currently writes and runs).
    pub version: u32,
    /// The subgraph's name (often `main`; empty when the file has none).
    pub name: String,
    /// Every tensor of the subgraph; `tensors[i].index == i`.
    pub tensors: Vec<TensorInfo>,
    /// The operators, in the order TFLite runs them; `operators[i].index == i`.
    pub operators: Vec<OperatorInfo>,
    /// Indices into `tensors` of the graph's inputs, in order.
    pub inputs: Vec<usize>,
    /// Indices into `tensors` of the graph's outputs, in order.
    pub outputs: Vec<usize>,
}

/// One tensor: an activation, a graph input or output, or a constant (weights, biases,
/// shapes) whose bytes the file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Position in [`Graph::tensors`], as operators refer to it.
    pub index: usize,
    /// The name given by the converter (empty when the file has none).
    pub name: String,
    /// Dimensions, outermost first (NHWC for images). A leading `-1` (a dynamic batch) is
    /// read as 1; any other negative dimension is an error.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// The constant contents, little-endian, row-major: `None` for tensors without data
    /// (activations, inputs, outputs). For the dtypes of known size the length has been
    /// checked against `shape`.
    pub data: Option<Vec<u8>>,
    /// Affine quantization (`real = scale * (q - zero_point)`), when the tensor has any.
    pub quantization: Option<Quantization>,
}

/// Affine quantization parameters: per tensor (one scale) or per channel along
/// `quantized_dimension` (one scale per index of that dimension).
#[derive(Clone, Debug, PartialEq)]
pub struct Quantization {
    /// The scales; never empty.
    pub scale: Vec<f32>,
    /// The zero points, as many as `scale` (a file that stores a single zero point for
    /// several scales, as TFLite Micro allows, has it repeated here).
    pub zero_point: Vec<i64>,
    /// The axis the scales run along; checked to be a dimension of the tensor whose size is
    /// the number of scales, when there is more than one.
    pub quantized_dimension: usize,
    /// Calibration minima kept for re-import into TensorFlow (usually empty).
    pub min: Vec<f32>,
    /// Calibration maxima kept for re-import into TensorFlow (usually empty).
    pub max: Vec<f32>,
}

impl Quantization {
    /// Whether there is one scale per index of `quantized_dimension` rather than one for the
    /// whole tensor.
    pub fn is_per_channel(&self) -> bool {
        self.scale.len() > 1
    }
}

/// A tensor's element type (TFLite's `TensorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// `FLOAT32` (code 0).
    Float32,
    /// `INT32` (code 2).
    Int32,
    /// `UINT8` (code 3).
    UInt8,
    /// `INT64` (code 4).
    Int64,
    /// `INT16` (code 7).
    Int16,
    /// `INT8` (code 9).
    Int8,
    /// Any other `TensorType` code (float16, bool, string, int4, …); see [`DType::name`].
    Other(i8),
}

impl DType {
    /// The type for a `TensorType` code.
    pub fn from_code(code: i8) -> Self {
        match code {
            0 => Self::Float32,
            2 => Self::Int32,
            3 => Self::UInt8,
            4 => Self::Int64,
            7 => Self::Int16,
            9 => Self::Int8,
            other => Self::Other(other),
        }
    }

    /// The `TensorType` code.
    pub fn code(self) -> i8 {
        match self {
            Self::Float32 => 0,
            Self::Int32 => 2,
            Self::UInt8 => 3,
            Self::Int64 => 4,
            Self::Int16 => 7,
            Self::Int8 => 9,
            Self::Other(code) => code,
        }
    }

    /// Bytes per element for the named variants; `None` for [`DType::Other`].
    pub fn size(self) -> Option<usize> {
        match self {
            Self::Int8 | Self::UInt8 => Some(1),
            Self::Int16 => Some(2),
            Self::Float32 | Self::Int32 => Some(4),
            Self::Int64 => Some(8),
            Self::Other(_) => None,
        }
    }

    /// The schema's name (`FLOAT32`, `INT8`, …), or `UNKNOWN` for a code it does not list.
    pub fn name(self) -> &'static str {
        usize::try_from(self.code())
            .ok()
            .and_then(|i| names::TENSOR_TYPES.get(i))
            .copied()
            .unwrap_or("UNKNOWN")
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(code) if self.name() == "UNKNOWN" => write!(f, "tensor type {code}"),
            _ => f.write_str(self.name()),
        }
    }
}

/// One operator: what it computes, the tensors it reads and writes, and its options.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorInfo {
    /// Position in [`Graph::operators`] (execution order).
    pub index: usize,
    /// The builtin operator.
    pub op: Op,
    /// Indices into [`Graph::tensors`]; `None` where TFLite's `-1` marks an omitted optional
    /// input (such as a fully-connected layer without bias).
    pub inputs: Vec<Option<usize>>,
    /// Indices into [`Graph::tensors`].
    pub outputs: Vec<usize>,
    /// The builtin options, decoded for the operators [`Options`] has a variant for.
    pub options: Options,
}

/// A builtin operator (TFLite's `BuiltinOperator`). The common ones have variants; every other
/// code is [`Op::Other`], which still prints its schema name.
///
/// [`Op::from_code`] never returns `Other` for a code that has a variant, so comparing with
/// `==` is reliable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `ADD` (0).
    Add,
    /// `AVERAGE_POOL_2D` (1).
    AveragePool2d,
    /// `CONCATENATION` (2).
    Concatenation,
    /// `CONV_2D` (3).
    Conv2d,
    /// `DEPTHWISE_CONV_2D` (4).
    DepthwiseConv2d,
    /// `DEQUANTIZE` (6).
    Dequantize,
    /// `FULLY_CONNECTED` (9).
    FullyConnected,
    /// `LOGISTIC` (14).
    Logistic,
    /// `MAX_POOL_2D` (17).
    MaxPool2d,
    /// `MUL` (18).
    Mul,
    /// `RELU` (19).
    Relu,
    /// `RELU6` (21).
    Relu6,
    /// `RESHAPE` (22).
    Reshape,
    /// `SOFTMAX` (25).
    Softmax,
    /// `TANH` (28).
    Tanh,
    /// `PAD` (34).
    Pad,
    /// `MEAN` (40).
    Mean,
    /// `QUANTIZE` (114).
    Quantize,
    /// Any other builtin code (including `CUSTOM`, 32); [`Op::name`] gives its schema name.
    Other {
        /// The builtin operator code.
        code: i32,
    },
}

impl Op {
    /// The operator for a builtin code.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => Self::Add,
            1 => Self::AveragePool2d,
            2 => Self::Concatenation,
            3 => Self::Conv2d,
            4 => Self::DepthwiseConv2d,
            6 => Self::Dequantize,
            9 => Self::FullyConnected,
            14 => Self::Logistic,
            17 => Self::MaxPool2d,
            18 => Self::Mul,
            19 => Self::Relu,
            21 => Self::Relu6,
            22 => Self::Reshape,
            25 => Self::Softmax,
            28 => Self::Tanh,
            34 => Self::Pad,
            40 => Self::Mean,
            114 => Self::Quantize,
            code => Self::Other { code },
        }
    }

    /// The builtin code.
    pub fn code(self) -> i32 {
        match self {
            Self::Add => 0,
            Self::AveragePool2d => 1,
            Self::Concatenation => 2,
            Self::Conv2d => 3,
            Self::DepthwiseConv2d => 4,
            Self::Dequantize => 6,
            Self::FullyConnected => 9,
            Self::Logistic => 14,
            Self::MaxPool2d => 17,
            Self::Mul => 18,
            Self::Relu => 19,
            Self::Relu6 => 21,
            Self::Reshape => 22,
            Self::Softmax => 25,
            Self::Tanh => 28,
            Self::Pad => 34,
            Self::Mean => 40,
            Self::Quantize => 114,
            Self::Other { code } => code,
        }
    }

    /// The schema's name (`CONV_2D`, `MEAN`, …), or `UNKNOWN` for a code the schema this reader
    /// was written against does not list.
    pub fn name(self) -> &'static str {
        usize::try_from(self.code())
            .ok()
            .and_then(|i| names::BUILTIN_OPERATORS.get(i))
            .copied()
            .unwrap_or("UNKNOWN")
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            "UNKNOWN" => write!(f, "builtin operator {}", self.code()),
            name => f.write_str(name),
        }
    }
}

/// An operator's builtin options, decoded for the operators that have a variant here. An
/// operator with a variant always gets it (missing optional fields take the schema's
/// defaults); its options table being of another type is an error.
#[derive(Clone, Debug, PartialEq)]
pub enum Options {
    /// `Conv2DOptions`, for `CONV_2D`.
    Conv2d {
        /// How the borders are padded.
        padding: Padding,
        /// Vertical stride (≥ 1).
        stride_h: usize,
        /// Horizontal stride (≥ 1).
        stride_w: usize,
        /// Vertical dilation (≥ 1; the schema's default is 1).
        dilation_h: usize,
        /// Horizontal dilation (≥ 1; the schema's default is 1).
        dilation_w: usize,
        /// The fused activation.
        activation: Activation,
    },
    /// `DepthwiseConv2DOptions`, for `DEPTHWISE_CONV_2D`.
    DepthwiseConv2d {
        /// How the borders are padded.
        padding: Padding,
        /// Vertical stride (≥ 1).
        stride_h: usize,
        /// Horizontal stride (≥ 1).
        stride_w: usize,
        /// Vertical dilation (≥ 1; the schema's default is 1).
        dilation_h: usize,
        /// Horizontal dilation (≥ 1; the schema's default is 1).
        dilation_w: usize,
        /// Output channels per input channel, as stored. TFLite documents the field as
        /// redundant (newer kernels derive it from the shapes), so it is not checked.
        depth_multiplier: i32,
        /// The fused activation.
        activation: Activation,
    },
    /// `Pool2DOptions`, for `AVERAGE_POOL_2D`, `MAX_POOL_2D` and `L2_POOL_2D`.
    Pool2d {
        /// How the borders are padded.
        padding: Padding,
        /// Vertical stride (≥ 1).
        stride_h: usize,
        /// Horizontal stride (≥ 1).
        stride_w: usize,
        /// Window height (≥ 1).
        filter_h: usize,
        /// Window width (≥ 1).
        filter_w: usize,
        /// The fused activation.
        activation: Activation,
    },
    /// `FullyConnectedOptions`, for `FULLY_CONNECTED`.
    FullyConnected {
        /// The fused activation.
        activation: Activation,
        /// Whether the output keeps the input's rank instead of being flattened to 2-D.
        keep_num_dims: bool,
        /// How the weights are laid out.
        weights_format: WeightsFormat,
    },
    /// `AddOptions`, for `ADD`.
    Add {
        /// The fused activation.
        activation: Activation,
    },
    /// `SoftmaxOptions`, for `SOFTMAX`: `softmax(beta * x)`. The schema's default, used when
    /// the file stores none, is 0.0 (converters always store it, normally 1.0).
    Softmax {
        /// The input's multiplier.
        beta: f32,
    },
    /// `ReshapeOptions`, for `RESHAPE`.
    Reshape {
        /// The target shape, when stored in the options (converters often leave it out and
        /// give the shape as the operator's second input instead); may hold one `-1`.
        new_shape: Option<Vec<i32>>,
    },
    /// The operator has no options table.
    None,
    /// An options table of a type not decoded here, for an operator without a variant.
    Other {
        /// The `BuiltinOptions` union type code; [`Options::type_name`] names it.
        type_code: u8,
    },
}

impl Options {
    /// The schema's name for a `BuiltinOptions` union type code (`Conv2DOptions`, …; `NONE`
    /// for 0, `UNKNOWN` past the end of the union this reader knows).
    pub fn type_name(type_code: u8) -> &'static str {
        names::BUILTIN_OPTIONS.get(usize::from(type_code)).copied().unwrap_or("UNKNOWN")
    }
}

/// Border handling of convolutions and pools (TFLite's `Padding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// `SAME`: the output has `ceil(input / stride)` positions, the image padded with zeros,
    /// the odd pixel (if any) after it, as TensorFlow does.
    Same,
    /// `VALID`: no padding; windows stay inside the image.
    Valid,
}

impl Padding {
    /// The `Padding` code (0 for `SAME`, 1 for `VALID`).
    pub fn code(self) -> i8 {
        match self {
            Self::Same => 0,
            Self::Valid => 1,
        }
    }
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Same => "SAME",
            Self::Valid => "VALID",
        })
    }
}

/// An activation fused into the operator (TFLite's `ActivationFunctionType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `NONE` (0).
    None,
    /// `RELU` (1).
    Relu,
    /// `RELU_N1_TO_1` (2): clamp to [-1, 1].
    ReluN1To1,
    /// `RELU6` (3).
    Relu6,
    /// `TANH` (4).
    Tanh,
    /// `SIGN_BIT` (5).
    SignBit,
    /// A code the schema does not define.
    Other(i8),
}

impl Activation {
    /// The activation for an `ActivationFunctionType` code.
    pub fn from_code(code: i8) -> Self {
        match code {
            0 => Self::None,
            1 => Self::Relu,
            2 => Self::ReluN1To1,
            3 => Self::Relu6,
            4 => Self::Tanh,
            5 => Self::SignBit,
            other => Self::Other(other),
        }
    }

    /// The `ActivationFunctionType` code.
    pub fn code(self) -> i8 {
        match self {
            Self::None => 0,
            Self::Relu => 1,
            Self::ReluN1To1 => 2,
            Self::Relu6 => 3,
            Self::Tanh => 4,
            Self::SignBit => 5,
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("NONE"),
            Self::Relu => f.write_str("RELU"),
            Self::ReluN1To1 => f.write_str("RELU_N1_TO_1"),
            Self::Relu6 => f.write_str("RELU6"),
            Self::Tanh => f.write_str("TANH"),
            Self::SignBit => f.write_str("SIGN_BIT"),
            Self::Other(code) => write!(f, "activation {code}"),
        }
    }
}

/// The layout of a fully-connected layer's weights (`FullyConnectedOptionsWeightsFormat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightsFormat {
    /// `DEFAULT` (0): `[outputs, inputs]`, row-major.
    Default,
    /// `SHUFFLED4x16INT8` (1): int8 weights shuffled into 4×16 blocks for an optimized kernel.
    Shuffled4x16Int8,
    /// A code the schema does not define.
    Other(i8),
}

impl WeightsFormat {
    /// The format for a `FullyConnectedOptionsWeightsFormat` code.
    pub fn from_code(code: i8) -> Self {
        match code {
            0 => Self::Default,
            1 => Self::Shuffled4x16Int8,
            other => Self::Other(other),
        }
    }

    /// The `FullyConnectedOptionsWeightsFormat` code.
    pub fn code(self) -> i8 {
        match self {
            Self::Default => 0,
            Self::Shuffled4x16Int8 => 1,
            Self::Other(code) => code,
        }
    }
}
