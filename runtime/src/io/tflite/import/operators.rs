//! Each TensorFlow Lite operator as `model!` entries, with its weights in this library's
//! layout (see the [parent module](super)).

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use super::{Entry, Int8Params, Layout, Params, Walker, layout, tensor, wrong_options};
use crate::io::tflite::ImportError;
use crate::io::tflite::graph::{
    Activation, DType, Op, OperatorInfo, Options, Padding, TensorInfo, WeightsFormat,
};
use crate::quant::QuantParams;

impl Walker<'_> {
    /// The entries of one operator from `x` to `y`, in order.
    pub(super) fn convert(&self, op: &OperatorInfo, x: usize, y: usize) -> Result<Vec<Entry>, ImportError> {
        let (graph, name) = (self.graph, op.op.name());
        let (x_layout, y_layout) = (layout(tensor(graph, x)?)?, layout(tensor(graph, y)?)?);
        let unsupported =
            |what: String| ImportError::Unsupported { index: op.index, op: name.to_string(), what };
        let mut entries = Vec::new();
        let activation = match (&op.op, &op.options) {
            (
                Op::Conv2d,
                &Options::Conv2d { padding, stride_h, stride_w, dilation_h, dilation_w, activation },
            ) => {
                if (dilation_h, dilation_w) != (1, 1) {
                    return Err(unsupported(format!("dilation {dilation_h}×{dilation_w}")));
                }
                let (filter, shape) = self.constant(op, 1)?;
                let &[oc, kh, kw, ic] = shape.as_slice() else {
                    return Err(unsupported(format!("a filter of shape {shape:?}")));
                };
                let Layout::Image { h, w, c } = x_layout else {
                    return Err(unsupported("a flat input".to_string()));
                };
                if ic != c {
                    // A grouped convolution: TFLite infers groups from the filter's depth.
                    return Err(unsupported(format!("a filter for {ic} input channels on {c} (groups)")));
                }
                let mut source = std::vec![0; filter.len()];
                for (o, i, r, s) in indices4(oc, ic, kh, kw) {
                    source[((o * ic + i) * kh + r) * kw + s] = ((o * kh + r) * kw + s) * ic + i;
                }
                let (weight, int8) = (gather(&filter, &source), self.int8_params(op, &source, oc)?);
                let bias = self.bias(op, 2, oc)?;
                let window = window_args(padding, (stride_h, stride_w), (h, w), (kh, kw));
                let text = format!("conv2d({oc}, {}{window})", pair(kh, kw));
                entries.push(Entry::Simple {
                    text,
                    params: Some(Params { weight_shape: std::vec![oc, ic, kh, kw], weight, bias, int8 }),
                    output: None,
                });
                activation
            }
            (
                Op::DepthwiseConv2d,
                &Options::DepthwiseConv2d {
                    padding,
                    stride_h,
                    stride_w,
                    dilation_h,
                    dilation_w,
                    activation,
                    ..
                },
            ) => {
                if (dilation_h, dilation_w) != (1, 1) {
                    return Err(unsupported(format!("dilation {dilation_h}×{dilation_w}")));
                }
                let (filter, shape) = self.constant(op, 1)?;
                let (&[1, kh, kw, oc], Layout::Image { h, w, c }) = (shape.as_slice(), x_layout) else {
                    return Err(unsupported(format!("a filter of shape {shape:?}")));
                };
                if c == 0 || oc % c != 0 {
                    return Err(unsupported(format!("{oc} output channels from {c} input channels")));
                }
                let mut source = std::vec![0; filter.len()];
                for o in 0..oc {
                    for r in 0..kh * kw {
                        source[o * kh * kw + r] = r * oc + o;
                    }
                }
                let (weight, int8) = (gather(&filter, &source), self.int8_params(op, &source, oc)?);
                let bias = self.bias(op, 2, oc)?;
                let multiplier = if oc == c { String::new() } else { format!(", multiplier = {}", oc / c) };
                let text = format!(
                    "depthwise_conv2d({}{multiplier}{})",
                    pair(kh, kw),
                    window_args(padding, (stride_h, stride_w), (h, w), (kh, kw))
                );
                let params = Params { weight_shape: std::vec![oc, 1, kh, kw], weight, bias, int8 };
                entries.push(Entry::Simple { text, params: Some(params), output: None });
                activation
            }
            (
                Op::AveragePool2d | Op::MaxPool2d,
                &Options::Pool2d { padding, stride_h, stride_w, filter_h, filter_w, activation },
            ) => {
                let (Layout::Image { h, w, .. }, Layout::Image { h: oh, w: ow, .. }) = (x_layout, y_layout)
                else {
                    return Err(unsupported("a flat input".to_string()));
                };
                // Padded pooling (which TensorFlow computes over the valid inputs only) is not
                // a layer here; "same" without any padding is the same as "valid".
                let valid = |n: usize, k: usize, s: usize| if n >= k && s > 0 { (n - k) / s + 1 } else { 0 };
                if padding == Padding::Same
                    && (valid(h, filter_h, stride_h), valid(w, filter_w, stride_w)) != (oh, ow)
                {
                    return Err(unsupported(
                        "padding = SAME that pads (pools take no padding here)".to_string(),
                    ));
                }
                let kind = if op.op == Op::MaxPool2d { "maxpool" } else { "avgpool" };
                let stride = if (stride_h, stride_w) == (filter_h, filter_w) {
                    String::new()
                } else {
                    format!(", stride = {}", pair(stride_h, stride_w))
                };
                entries.push(Entry::simple(format!("{kind}({}{stride})", pair(filter_h, filter_w))));
                activation
            }
            (Op::Reshape, _) => {
                match (x_layout, y_layout) {
                    (Layout::Image { h, w, c }, Layout::Flat(n)) if h * w * c == n => {
                        entries.push(Entry::simple("flatten"))
                    }
                    (Layout::Flat(a), Layout::Flat(b)) if a == b => {}
                    _ => {
                        return Err(unsupported(format!(
                            "a reshape from {:?} to {:?}",
                            tensor(graph, x)?.shape,
                            tensor(graph, y)?.shape
                        )));
                    }
                }
                Activation::None
            }
            (Op::FullyConnected, &Options::FullyConnected { activation, keep_num_dims, weights_format }) => {
                if weights_format != WeightsFormat::Default {
                    return Err(unsupported(format!("the weights format {weights_format:?}")));
                }
                if keep_num_dims && matches!(x_layout, Layout::Image { .. }) {
                    return Err(unsupported(
                        "keep_num_dims on an image (a per-position dense layer)".to_string(),
                    ));
                }
                let (filter, shape) = self.constant(op, 1)?;
                let &[o, i] = shape.as_slice() else {
                    return Err(unsupported(format!("weights of shape {shape:?}")));
                };
                let inputs = match x_layout {
                    Layout::Image { h, w, c } => h * w * c,
                    Layout::Flat(n) => n,
                };
                if i != inputs {
                    return Err(unsupported(format!("weights for {i} inputs on {inputs} values")));
                }
                // Its input columns in this library's flatten order: CHW rather than HWC.
                let hwc = match x_layout {
                    Layout::Image { h, w, c } => {
                        entries.push(Entry::simple("flatten"));
                        Some((h, w, c))
                    }
                    Layout::Flat(_) => self.flattened_image(x)?,
                };
                let mut source: Vec<usize> = (0..filter.len()).collect();
                if let Some((h, w, c)) = hwc.filter(|&(h, w, c)| h * w > 1 && c > 1 && h * w * c == i) {
                    for row in 0..o {
                        for (ci, r, s) in
                            (0..c).flat_map(|ci| (0..h).flat_map(move |r| (0..w).map(move |s| (ci, r, s))))
                        {
                            source[row * i + (ci * h + r) * w + s] = row * i + (r * w + s) * c + ci;
                        }
                    }
                }
                let (weight, int8) = (gather(&filter, &source), self.int8_params(op, &source, o)?);
                let bias = self.bias(op, 2, o)?;
                entries.push(Entry::Simple {
                    text: format!("dense({o})"),
                    params: Some(Params { weight_shape: std::vec![o, i], weight, bias, int8 }),
                    output: None,
                });
                activation
            }
            (Op::Softmax, &Options::Softmax { beta }) => {
                if beta != 1.0 {
                    return Err(unsupported(format!("beta = {beta} (only 1 is a `softmax` here)")));
                }
                entries.push(Entry::simple("softmax"));
                Activation::None
            }
            (Op::Relu, _) => Activation::Relu,
            // RELU_N1_TO_1, which has no variant of its own.
            (Op::Other { code: 20 }, _) => Activation::ReluN1To1,
            (Op::Relu6, _) => Activation::Relu6,
            (Op::Tanh, _) => Activation::Tanh,
            (Op::Logistic, _) => {
                entries.push(Entry::simple("sigmoid"));
                Activation::None
            }
            (
                Op::Conv2d
                | Op::DepthwiseConv2d
                | Op::AveragePool2d
                | Op::MaxPool2d
                | Op::FullyConnected
                | Op::Softmax,
                _,
            ) => {
                return Err(wrong_options(op));
            }
            _ => return Err(ImportError::UnsupportedOperator { index: op.index, op: name.to_string() }),
        };
        entries.extend(self.activation(op, activation)?);
        // The output's quantization, on the layer with the weights (its activation is folded
        // into its clamp) or else on the last.
        if let Some(params) = self.output_params(op) {
            let with_weights =
                entries.iter().position(|e| matches!(e, Entry::Simple { params: Some(_), .. }));
            if let Some(Entry::Simple { output, .. }) =
                with_weights.or(entries.len().checked_sub(1)).and_then(|k| entries.get_mut(k))
            {
                *output = Some(params);
            }
        }
        Ok(entries)
    }

    /// The int8 quantization of `op`'s output, if the graph computes it in int8.
    pub(super) fn output_params(&self, op: &OperatorInfo) -> Option<QuantParams> {
        let info = op.outputs.first().and_then(|&t| self.graph.tensors.get(t))?;
        if info.dtype != DType::Int8 {
            return None;
        }
        info.quant_params()
    }

    /// The int8 weights of a fully int8 `op` (filter in slot 1, `source` giving each weight's
    /// index in it, as for the float weights), their scales and the int32 biases of slot 2;
    /// `None` if `op` does not compute in int8.
    fn int8_params(
        &self,
        op: &OperatorInfo,
        source: &[usize],
        outputs: usize,
    ) -> Result<Option<Int8Params>, ImportError> {
        let unsupported =
            |what: String| ImportError::Unsupported { index: op.index, op: op.op.name().to_string(), what };
        let slot = |k: usize| op.inputs.get(k).copied().flatten().and_then(|t| self.graph.tensors.get(t));
        let (Some(filter), Some(_)) = (slot(1), self.output_params(op)) else { return Ok(None) };
        let (DType::Int8, Some(data), Some(q)) = (filter.dtype, &filter.data, &filter.quantization) else {
            return Ok(None);
        };
        if q.zero_point.iter().any(|&z| z != 0) {
            return Err(unsupported("int8 weights with a nonzero zero point (not symmetric)".to_string()));
        }
        if q.scale.len() != 1 && q.scale.len() != outputs {
            return Err(unsupported(format!("{} weight scales for {outputs} outputs", q.scale.len())));
        }
        let raw: Vec<i8> = data.iter().map(|&b| b as i8).collect();
        let bias = match slot(2) {
            None => std::vec![0; outputs],
            Some(b) => match (&b.data, b.dtype) {
                (Some(bytes), DType::Int32) if bytes.len() == 4 * outputs => {
                    bytes.chunks_exact(4).map(|v| i32::from_le_bytes([v[0], v[1], v[2], v[3]])).collect()
                }
                _ => return Err(unsupported(format!("a bias that is not {outputs} constant int32 values"))),
            },
        };
        if source.iter().any(|&k| k >= raw.len()) {
            return Err(unsupported(format!("an int8 filter of {} bytes", raw.len())));
        }
        Ok(Some(Int8Params { weight: gather(&raw, source), scales: q.scale.clone(), bias }))
    }

    /// If `t` is a `RESHAPE` of an image (TensorFlow's HWC order), that image's `(H, W, C)`.
    fn flattened_image(&self, t: usize) -> Result<Option<(usize, usize, usize)>, ImportError> {
        let Ok(op) = self.producer(t) else { return Ok(None) };
        if op.op != Op::Reshape {
            return Ok(None);
        }
        let Some(&Some(x)) = op.inputs.first() else { return Ok(None) };
        Ok(match layout(tensor(self.graph, x)?)? {
            Layout::Image { h, w, c } => Some((h, w, c)),
            Layout::Flat(_) => None,
        })
    }

    /// The entry of a fused activation (none for `NONE`).
    pub(super) fn activation(
        &self,
        op: &OperatorInfo,
        activation: Activation,
    ) -> Result<Option<Entry>, ImportError> {
        Ok(match activation {
            Activation::None => None,
            Activation::Relu => Some(Entry::simple("relu")),
            Activation::Relu6 => Some(Entry::simple("relu6")),
            Activation::Tanh => Some(Entry::simple("tanh")),
            Activation::ReluN1To1 => Some(Entry::simple("clamp(-1, 1)")),
            other => {
                return Err(ImportError::Unsupported {
                    index: op.index,
                    op: op.op.name().to_string(),
                    what: format!("the fused activation {other:?}"),
                });
            }
        })
    }

    /// The constant input `slot` of `op` as float32 (int8 dequantized), with its shape.
    fn constant(&self, op: &OperatorInfo, slot: usize) -> Result<(Vec<f32>, Vec<usize>), ImportError> {
        let missing = || ImportError::Unsupported {
            index: op.index,
            op: op.op.name().to_string(),
            what: format!("a computed or missing input {slot} where a constant was expected"),
        };
        let t = op.inputs.get(slot).copied().flatten().ok_or_else(missing)?;
        let info = tensor(self.graph, t)?;
        let data = info.data.as_deref().ok_or_else(missing)?;
        let len = info.shape.iter().product::<usize>();
        let values = match info.dtype {
            DType::Float32 if data.len() == len * 4 => {
                data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
            }
            DType::Int8 if data.len() == len => dequantize(info, data.iter().map(|&b| f64::from(b as i8)))?,
            DType::Int32 if data.len() == len * 4 => {
                let values =
                    data.chunks_exact(4).map(|b| f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])));
                dequantize(info, values)?
            }
            _ => {
                return Err(ImportError::Graph(format!(
                    "tensor {t} (`{}`) is {:?} with {} bytes for shape {:?}; expected float32, or quantized int8 or \
                     int32, data of that shape",
                    info.name,
                    info.dtype,
                    data.len(),
                    info.shape
                )));
            }
        };
        Ok((values, info.shape.clone()))
    }

    /// The bias (input `slot`), or zeros when the operator has none.
    fn bias(&self, op: &OperatorInfo, slot: usize, len: usize) -> Result<Vec<f32>, ImportError> {
        if op.inputs.get(slot).copied().flatten().is_none() {
            return Ok(std::vec![0.0; len]);
        }
        let (bias, shape) = self.constant(op, slot)?;
        if bias.len() != len {
            return Err(ImportError::Graph(format!(
                "operator {} ({}) has a bias of shape {shape:?} for {len} outputs",
                op.index,
                op.op.name()
            )));
        }
        Ok(bias)
    }
}

/// `values[source[k]]` for each `k`: the values in another layout.
fn gather<T: Copy>(values: &[T], source: &[usize]) -> Vec<T> {
    source.iter().map(|&k| values[k]).collect()
}

/// `(q − zero point) · scale` of the quantized `values` of `info`, per channel along the
/// quantized dimension (or per tensor).
fn dequantize(info: &TensorInfo, values: impl Iterator<Item = f64>) -> Result<Vec<f32>, ImportError> {
    let bad = |what: &str| ImportError::Graph(format!("tensor {} (`{}`): {what}", info.index, info.name));
    let q = info.quantization.as_ref().ok_or_else(|| bad("integer data without quantization parameters"))?;
    let channels = q.scale.len();
    let dim = q.quantized_dimension;
    let (extent, inner) = if channels == 1 {
        (1, 1)
    } else {
        let extent = *info.shape.get(dim).ok_or_else(|| bad("a quantized dimension beyond its shape"))?;
        (extent, info.shape[dim + 1..].iter().product::<usize>())
    };
    if channels != extent || !(q.zero_point.len() == channels || q.zero_point.len() == 1) {
        return Err(bad("scales and zero points that do not match its shape"));
    }
    Ok(values
        .enumerate()
        .map(|(k, v)| {
            let channel = if channels == 1 { 0 } else { k / inner % channels };
            let zero = q.zero_point.get(channel).or(q.zero_point.first()).copied().unwrap_or(0);
            (v - zero as f64) as f32 * q.scale[channel]
        })
        .collect())
}

/// Every `(o, i, r, s)` of an `O × I × R × S` box.
fn indices4(o: usize, i: usize, r: usize, s: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..o).flat_map(move |a| {
        (0..i).flat_map(move |b| (0..r).flat_map(move |c| (0..s).map(move |d| (a, b, c, d))))
    })
}

/// `3` or `(10, 4)`.
fn pair(a: usize, b: usize) -> String {
    if a == b { a.to_string() } else { format!("({a}, {b})") }
}

/// `, stride = 2, padding = same` for a `k` window over an image of `n` (both `(rows,
/// columns)`), leaving out the defaults: stride 1, and no padding (also when "same" pads
/// nothing, as for a 1×1 kernel).
fn window_args(padding: Padding, (sh, sw): (usize, usize), n: (usize, usize), k: (usize, usize)) -> String {
    // TensorFlow's "same": ⌈n/s⌉ outputs, padded by max((out − 1)·s + k − n, 0).
    let pads = |n: usize, k: usize, s: usize| (n.div_ceil(s).max(1) - 1) * s + k > n;
    let mut args = String::new();
    if (sh, sw) != (1, 1) {
        args.push_str(&format!(", stride = {}", pair(sh, sw)));
    }
    if padding == Padding::Same && (pads(n.0, k.0, sh) || pads(n.1, k.1, sw)) {
        args.push_str(", padding = same");
    }
    args
}
