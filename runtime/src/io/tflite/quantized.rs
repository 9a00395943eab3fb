//! The int8 layers of a fully int8 TensorFlow Lite graph in [`quant`](crate::quant)'s terms:
//! a tensor's quantization ([`TensorInfo::quant_params`]), a fused activation as an output
//! clamp ([`fused_activation`]), and a `FULLY_CONNECTED` operator with everything its kernel
//! needs ([`QuantizedDense`]), for whatever runs such a graph (the bit-exactness tests, the
//! benchmarks, a build script generating a firmware's constants).

use std::format;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

use super::{Activation, DType, Graph, ImportError, Op, OperatorInfo, Options, TensorInfo};
use crate::io::{QuantizedWeights, WeightsError};
use crate::quant::{
    FusedActivation, OutputRange, QuantParams, Requantize, channel_multipliers, dot, kernels,
};

impl TensorInfo {
    /// Its per-tensor quantization (the first scale and zero point), if it is quantized.
    pub fn quant_params(&self) -> Option<QuantParams> {
        let q = self.quantization.as_ref()?;
        Some(QuantParams {
            scale: *q.scale.first()?,
            zero_point: i32::try_from(*q.zero_point.first()?).ok()?,
        })
    }
}

/// The output clamp TFLite fuses for `activation`, or `None` for one an int8 kernel cannot
/// fuse (`TANH`, `SIGN_BIT`).
pub fn fused_activation(activation: Activation) -> Option<FusedActivation> {
    match activation {
        Activation::None => Some(FusedActivation::None),
        Activation::Relu => Some(FusedActivation::Relu),
        Activation::Relu6 => Some(FusedActivation::Relu6),
        Activation::ReluN1To1 => Some(FusedActivation::ReluN1To1),
        _ => None,
    }
}

/// A quantized `FULLY_CONNECTED` operator, ready for
/// [`kernels::fully_connected`](crate::quant::kernels::fully_connected).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedDense {
    /// Inputs `I`.
    pub inputs: usize,
    /// Outputs `O`.
    pub outputs: usize,
    /// The weight, packed for the kernel ([`dot::pack`]).
    pub weight: Vec<i8>,
    /// The biases (zeros if the operator has none) with the input zero point folded in
    /// ([`dot::fold_zero_point`]).
    pub bias: Vec<i32>,
    /// One multiplier per output (or one for all, for per-tensor weights).
    pub requantize: Vec<Requantize>,
    /// The output's zero point and clamp.
    pub range: OutputRange,
}

impl QuantizedDense {
    /// Reads `op` of `graph`: an int8 `FULLY_CONNECTED` with quantized input, weights and
    /// output, int32 biases (or none) and a fusable activation.
    pub fn from_operator(graph: &Graph, op: &OperatorInfo) -> Result<Self, ImportError> {
        let unsupported = |what: &str| ImportError::Unsupported {
            index: op.index,
            op: op.op.name().to_string(),
            what: what.to_string(),
        };
        let (Op::FullyConnected, Options::FullyConnected { activation, .. }) = (op.op, &op.options) else {
            return Err(unsupported("an operator other than an int8 FULLY_CONNECTED"));
        };
        let activation =
            fused_activation(*activation).ok_or_else(|| unsupported("an activation int8 cannot fuse"))?;
        let tensor = |slot: usize| op.inputs.get(slot).copied().flatten().and_then(|t| graph.tensors.get(t));
        let output = op.outputs.first().and_then(|&t| graph.tensors.get(t));
        let (Some(input), Some(weight), Some(output)) = (tensor(0), tensor(1), output) else {
            return Err(unsupported("a missing input, weight or output"));
        };
        let quantized = |t: &TensorInfo| t.quant_params().ok_or_else(|| unsupported("an unquantized tensor"));
        let (input_params, output_params) = (quantized(input)?, quantized(output)?);
        let (&[outputs, inputs], DType::Int8, Some(data)) =
            (weight.shape.as_slice(), weight.dtype, &weight.data)
        else {
            return Err(unsupported("weights that are not a constant int8 [O, I] matrix"));
        };
        if data.len() != outputs * inputs {
            return Err(unsupported(&format!("a weight of {} bytes for [{outputs}, {inputs}]", data.len())));
        }
        let weight_scales =
            &weight.quantization.as_ref().ok_or_else(|| unsupported("unquantized weights"))?.scale;
        let bias = match tensor(2) {
            None => vec![0; outputs],
            Some(b) => match (&b.data, b.dtype) {
                (Some(bytes), DType::Int32) if bytes.len() == 4 * outputs => {
                    bytes.chunks_exact(4).map(|v| i32::from_le_bytes([v[0], v[1], v[2], v[3]])).collect()
                }
                _ => return Err(unsupported(&format!("a bias that is not {outputs} constant int32 values"))),
            },
        };
        let weight: &[i8] = bytemuck::cast_slice(data);
        let (params, range) =
            ((input_params, weight_scales.as_slice()), OutputRange::new(output_params, activation));
        Ok(Self::prepare(weight, (inputs, outputs), bias, params, output_params.scale, range))
    }

    /// The dense layer `label` of a quantized weights file ([`QuantizedWeights`]: `label.weight`
    /// of shape `[outputs, inputs]`, its scales, biases and output quantization), on an input
    /// quantized as `input`, with `activation` folded into its output clamp. A tensor that is
    /// missing or of another shape or dtype is an error naming it.
    pub fn from_weights(
        weights: &QuantizedWeights,
        label: &str,
        (inputs, outputs): (usize, usize),
        input: QuantParams,
        activation: FusedActivation,
    ) -> Result<Self, WeightsError> {
        let weight = weights.i8(&format!("{label}.weight"), &[outputs, inputs])?;
        let scales = weights.weight_scales(label, outputs)?;
        let bias = weights.i32(&format!("{label}.bias"), &[outputs])?.to_vec();
        let output = weights.params(label)?;
        let range = OutputRange::new(output, activation);
        Ok(Self::prepare(weight, (inputs, outputs), bias, (input, scales), output.scale, range))
    }

    /// The layer of the row-major `[outputs, inputs]` weight with its `bias` and per-channel
    /// (or per-tensor) weight scales on an input quantized as `input`: the weight packed, the
    /// input zero point folded into the biases, TFLite's multipliers.
    fn prepare(
        weight: &[i8],
        (inputs, outputs): (usize, usize),
        mut bias: Vec<i32>,
        (input, weight_scales): (QuantParams, &[f32]),
        output_scale: f32,
        range: OutputRange,
    ) -> Self {
        let mut requantize = vec![Requantize::default(); weight_scales.len()];
        channel_multipliers(input.scale, weight_scales, output_scale, &mut requantize);
        let mut packed = vec![0; dot::packed_len(inputs, outputs)];
        dot::pack(inputs, outputs, |i, o| weight[o * inputs + i], &mut packed);
        dot::fold_zero_point(&packed, input.zero_point, &mut bias);
        QuantizedDense { inputs, outputs, weight: packed, bias, requantize, range }
    }

    /// Runs the operator on `x` (`inputs` values) into `y` (`outputs` values).
    pub fn forward(&self, x: &[i8], y: &mut [i8]) {
        let QuantizedDense { weight, bias, requantize, range, .. } = self;
        kernels::fully_connected(x, weight, bias, requantize, *range, y);
    }
}
