//! Runs a fully int8 TensorFlow Lite graph through `staticnn::quant`'s kernels, operator by
//! operator, for the bit-exactness tests (`tests/mlperf_tiny_int8.rs`, `tests/mnist_int8.rs`).
//!
//! Each tensor's quantization and weights are read from the `.tflite` file and moved from
//! TFLite's layouts to the library's (CHW images, PyTorch-shaped weights; a dense layer
//! after a flattened image gets its columns reordered from HWC to CHW); the arithmetic is
//! all the library's.

use std::collections::HashMap;

use staticnn::io::tflite::{
    Activation, DType, Graph, Op, Options, Padding, QuantizedDense, TensorInfo, fused_activation,
};
use staticnn::quant::kernels::{self, AddParams, SoftmaxTable, Window};
use staticnn::quant::{FusedActivation, OutputRange, QuantParams, Requantize, channel_multipliers};

/// A tensor's (per-tensor) quantization.
pub fn params(t: &TensorInfo) -> QuantParams {
    t.quant_params().expect("an int8 tensor is quantized")
}

fn fused(a: Activation) -> FusedActivation {
    fused_activation(a).unwrap_or_else(|| panic!("no int8 kernel fuses {a:?}"))
}

fn int8_data(t: &TensorInfo) -> Vec<i8> {
    assert_eq!(t.dtype, DType::Int8, "tensor {} is int8", t.name);
    t.data.as_ref().expect("constant").iter().map(|&b| b as i8).collect()
}

fn int32_data(t: &TensorInfo) -> Vec<i32> {
    assert_eq!(t.dtype, DType::Int32, "tensor {} is int32", t.name);
    t.data
        .as_ref()
        .expect("constant")
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `[1, H, W, C]` (or `[1, N]`, `N × 1 × 1`) as `(C, H, W)`.
fn chw(t: &TensorInfo) -> (usize, usize, usize) {
    match t.shape[..] {
        [1, h, w, c] => (c, h, w),
        [1, n] => (n, 1, 1),
        ref s => panic!("unexpected activation shape {s:?}"),
    }
}

/// An NHWC activation as CHW.
fn to_chw(x: &[i8], (c, h, w): (usize, usize, usize)) -> Vec<i8> {
    let mut y = vec![0; x.len()];
    for ch in 0..c {
        for i in 0..h {
            for j in 0..w {
                y[(ch * h + i) * w + j] = x[(i * w + j) * c + ch];
            }
        }
    }
    y
}

/// The kernels' window for a `kh × kw` window with strides `(sh, sw)` over a `c × h × w`
/// input giving `oh × ow`, padded by TensorFlow's rule.
fn window(
    padding: Padding,
    (c, h, w): (usize, usize, usize),
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    (oh, ow): (usize, usize),
) -> Window {
    let (ph, pw) = (pad_before(padding, h, kh, sh, oh), pad_before(padding, w, kw, sw, ow));
    Window { c, h, w, kh, kw, sh, sw, ph, pw, oh, ow }
}

/// Before-padding of TensorFlow's rule along one axis.
fn pad_before(padding: Padding, input: usize, kernel: usize, stride: usize, output: usize) -> usize {
    match padding {
        Padding::Valid => 0,
        Padding::Same => ((output - 1) * stride + kernel).saturating_sub(input) / 2,
    }
}

/// Runs the graph on one NHWC input; returns the output (flat, which for `[1, N]` outputs
/// is TFLite's order).
pub fn run(graph: &Graph, input: &[i8]) -> Vec<i8> {
    let mut values: HashMap<usize, Vec<i8>> = HashMap::new();
    // Flat tensors made from an image by `RESHAPE`: their CHW shape (TFLite flattens HWC).
    let mut flattened: HashMap<usize, (usize, usize, usize)> = HashMap::new();
    let first = &graph.tensors[graph.inputs[0]];
    values.insert(first.index, to_chw(input, chw(first)));
    for op in &graph.operators {
        let tensor = |k: usize| &graph.tensors[op.inputs[k].expect("input present")];
        let out = &graph.tensors[op.outputs[0]];
        // Shape arithmetic (Keras's `SHAPE`, `STRIDED_SLICE`, `PACK` feeding a `RESHAPE`)
        // yields int32 metadata: a reshape's target shape is its output tensor's anyway.
        if out.dtype != DType::Int8 {
            continue;
        }
        let x = values[&op.inputs[0].expect("input present")].clone();
        let (c, h, w) = chw(tensor(0));
        let (oc, oh, ow) = chw(out);
        let mut y = vec![0i8; oc * oh * ow];
        match (&op.op, &op.options) {
            (Op::FullyConnected, _) => {
                let dense = QuantizedDense::from_operator(graph, op).expect("an int8 FULLY_CONNECTED");
                let mut x = x;
                if let Some(&(fc, fh, fw)) = flattened.get(&op.inputs[0].expect("input present")) {
                    // TFLite flattens (h, w, c): put the (c, h, w) values in its order.
                    let chw = x.clone();
                    for ch in 0..fc {
                        for i in 0..fh * fw {
                            x[i * fc + ch] = chw[ch * fh * fw + i];
                        }
                    }
                }
                dense.forward(&x, &mut y);
            }
            (Op::Conv2d | Op::DepthwiseConv2d, options) => {
                let (padding, sh, sw, activation) = match *options {
                    Options::Conv2d {
                        padding,
                        stride_h,
                        stride_w,
                        dilation_h: 1,
                        dilation_w: 1,
                        activation,
                    }
                    | Options::DepthwiseConv2d {
                        padding,
                        stride_h,
                        stride_w,
                        dilation_h: 1,
                        dilation_w: 1,
                        activation,
                        ..
                    } => (padding, stride_h, stride_w, activation),
                    ref o => panic!("unsupported options {o:?}"),
                };
                let weights = tensor(1);
                let [a, kh, kw, b] = weights.shape[..] else { panic!("4-D filter") };
                let window = window(padding, (c, h, w), (kh, kw), (sh, sw), (oh, ow));
                let data = int8_data(weights);
                let bias = int32_data(tensor(2));
                let q = weights.quantization.as_ref().expect("quantized weights");
                let mut requantize = vec![Requantize::default(); oc];
                channel_multipliers(params(tensor(0)).scale, &q.scale, params(out).scale, &mut requantize);
                let range = OutputRange::new(params(out), fused(activation));
                let zp = params(tensor(0)).zero_point;
                if op.op == Op::Conv2d {
                    // [OC, KH, KW, C] → [OC, C, KH, KW].
                    let (taps, filter) = (
                        kh * kw,
                        (0..a * b * kh * kw).map(|i| {
                            let (o, rest) = (i / (b * kh * kw), i % (b * kh * kw));
                            let (ch, tap) = (rest / (kh * kw), rest % (kh * kw));
                            data[(o * kh * kw + tap) * b + ch]
                        }),
                    );
                    let _ = taps;
                    let filter: Vec<i8> = filter.collect();
                    kernels::conv2d(&x, zp, &filter, &bias, &requantize, range, &window, &mut y);
                } else {
                    // [1, KH, KW, OC] → [OC, KH, KW].
                    let filter: Vec<i8> =
                        (0..b * kh * kw).map(|i| data[(i % (kh * kw)) * b + i / (kh * kw)]).collect();
                    kernels::depthwise_conv2d(
                        &x,
                        zp,
                        &filter,
                        &bias,
                        &requantize,
                        range,
                        &window,
                        oc / c,
                        &mut y,
                    );
                }
            }
            (
                Op::AveragePool2d | Op::MaxPool2d,
                Options::Pool2d { padding, stride_h, stride_w, filter_h, filter_w, activation },
            ) => {
                let window =
                    window(*padding, (c, h, w), (*filter_h, *filter_w), (*stride_h, *stride_w), (oh, ow));
                assert_eq!(params(tensor(0)), params(out), "pools keep their quantization");
                let range = OutputRange::new(params(out), fused(*activation));
                if op.op == Op::AveragePool2d {
                    kernels::average_pool(&x, &window, range.min, range.max, &mut y);
                } else {
                    kernels::max_pool(&x, &window, range.min, range.max, &mut y);
                }
            }
            (Op::Add, Options::Add { activation }) => {
                let other = &values[&op.inputs[1].expect("two inputs")];
                let range = OutputRange::new(params(out), fused(*activation));
                let add = AddParams::new(params(tensor(0)), params(tensor(1)), params(out), range);
                kernels::add(&x, other, &add, &mut y);
            }
            (Op::Reshape, _) => {
                // CHW data stays as it is; a flattened image is remembered for the dense layer.
                if h * w > 1 && oh * ow == 1 {
                    flattened.insert(out.index, (c, h, w));
                }
                y.copy_from_slice(&x);
            }
            (Op::Softmax, Options::Softmax { beta }) => {
                let table = SoftmaxTable::new(params(tensor(0)).scale, *beta, params(out));
                kernels::softmax(&x, &table, &mut y);
            }
            (other, _) => panic!("no int8 kernel for {other:?} (operator {})", op.index),
        }
        values.insert(out.index, y);
    }
    values.remove(&graph.outputs[0]).expect("the output was computed")
}
