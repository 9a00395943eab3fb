//! From a TensorFlow Lite graph ([`Graph`]) to this library: the `model!` layers that compute
//! the same function, and the weights in this library's names and layout.
//!
//! The graph is read backwards from its output. Every operator has one data input except
//! `ADD`, whose two inputs meet again at the tensor where they forked: the longer path
//! between the fork and the `ADD` becomes a `residual` block, the shorter its `shortcut` (or
//! the identity when one input is the fork itself). Weights move from TensorFlow's NHWC
//! layouts to PyTorch's: a convolution's `[OC, KH, KW, IC]` filter becomes `[OC, IC, KH,
//! KW]`, a depthwise one's `[1, KH, KW, OC]` becomes `[OC, 1, KH, KW]`, and a dense layer
//! after a `RESHAPE` of an image has its input columns reordered from HWC to CHW, the order
//! of this library's `flatten`. Constant int8 filters (the "hybrid" float models) are
//! dequantized, `(q − zero point) · scale` per channel.

use core::cell::RefCell;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use super::graph::{DType, Graph, Op, OperatorInfo, Options, TensorInfo};
use super::{ImportError, Imported, ImportedTensor, Layer};
use crate::io::{QuantValues, QuantizedWeights};
use crate::quant::QuantParams;

mod operators;
#[cfg(test)]
mod tests;

/// An entry being built, with the weights of a layer that has them (named once the entry's
/// place in the model is known).
/// In a fully int8 graph, `output` is the int8 quantization of what the entry computes.
enum Entry {
    Simple { text: String, params: Option<Params>, output: Option<QuantParams> },
    Residual { main: Vec<Entry>, shortcut: Vec<Entry>, output: Option<QuantParams> },
}

/// A layer's weight (PyTorch's shape, row-major) and bias, and in a fully int8 graph the
/// int8 values they were dequantized from.
struct Params {
    weight_shape: Vec<usize>,
    weight: Vec<f32>,
    bias: Vec<f32>,
    int8: Option<Int8Params>,
}

/// A layer's int8 weight (the layout of [`Params::weight`]), its per-channel (or per-tensor)
/// scales, and its int32 bias.
struct Int8Params {
    weight: Vec<i8>,
    scales: Vec<f32>,
    bias: Vec<i32>,
}

impl Entry {
    fn simple(text: impl Into<String>) -> Self {
        Entry::Simple { text: text.into(), params: None, output: None }
    }
}

/// Converts a TensorFlow Lite graph into `model!` layers and weights: float32 weights, or
/// int8 weights with their scales (and, in a fully int8 graph, int32 biases with theirs),
/// which are dequantized — a fully int8 graph becomes the float model its weights describe. Operators it cannot
/// express are an error naming the operator and its index.
pub fn import(graph: &Graph) -> Result<Imported, ImportError> {
    let (&[input], &[output]) = (graph.inputs.as_slice(), graph.outputs.as_slice()) else {
        return Err(ImportError::Graph(format!(
            "the model has {} inputs and {} outputs; only models with one of each can be imported",
            graph.inputs.len(),
            graph.outputs.len()
        )));
    };
    let input_tensor = tensor(graph, input)?;
    // A fully int8 graph is imported as the float model its dequantized weights describe
    // (its int8 arithmetic is `quant`'s; the input's own scale is the caller's business).
    let quantized_input = input_tensor.dtype == DType::Int8 && input_tensor.quantization.is_some();
    if input_tensor.dtype != DType::Float32 && !quantized_input {
        return Err(ImportError::Graph(format!(
            "the input `{}` is {:?}, not float32 or quantized int8",
            input_tensor.name, input_tensor.dtype
        )));
    }
    let input_shape = match layout(input_tensor)? {
        Layout::Image { h, w, c } => std::vec![c, h, w],
        Layout::Flat(n) => std::vec![n],
    };
    let walker = Walker {
        graph,
        producers: producers(graph)?,
        back: RefCell::new(std::vec![None; graph.tensors.len()]),
    };
    let entries = walker.chain(input, output, 0)?;
    let mut layers = Vec::new();
    let mut tensors = Vec::new();
    let mut quantized = QuantizedWeights::default();
    name_entries(entries, None, &mut layers, &mut tensors, &mut quantized);
    let quantized = match input_tensor.quant_params() {
        Some(params) if quantized_input => {
            quantized.insert_params("input", params);
            Some(quantized)
        }
        _ => None,
    };
    Ok(Imported { input: input_shape, layers, tensors, quantized })
}

/// Gives every entry its label (its index, within a block `block.index`, within a shortcut
/// `block.shortcut.index`, as `model!` does) and its weights their names.
fn name_entries(
    entries: Vec<Entry>,
    prefix: Option<&str>,
    out: &mut Vec<Layer>,
    tensors: &mut Vec<ImportedTensor>,
    quantized: &mut QuantizedWeights,
) {
    for (index, entry) in entries.into_iter().enumerate() {
        let label = match prefix {
            Some(prefix) => format!("{prefix}.{index}"),
            None => index.to_string(),
        };
        match entry {
            Entry::Simple { text, params, output } => {
                if let Some(Params { weight_shape, weight, bias, int8 }) = params {
                    let bias_shape = std::vec![bias.len()];
                    if let Some(Int8Params { weight, scales, bias }) = int8 {
                        quantized.insert(
                            format!("{label}.weight"),
                            weight_shape.clone(),
                            QuantValues::I8(weight),
                        );
                        let scale_shape = std::vec![scales.len()];
                        quantized.insert(
                            format!("{label}.weight_scale"),
                            scale_shape,
                            QuantValues::F32(scales),
                        );
                        quantized.insert(format!("{label}.bias"), bias_shape.clone(), QuantValues::I32(bias));
                    }
                    tensors.push(ImportedTensor {
                        name: format!("{label}.weight"),
                        shape: weight_shape,
                        data: weight,
                    });
                    tensors.push(ImportedTensor {
                        name: format!("{label}.bias"),
                        shape: bias_shape,
                        data: bias,
                    });
                }
                if let Some(params) = output {
                    quantized.insert_params(&label, params);
                }
                out.push(Layer::Simple(text));
            }
            Entry::Residual { main, shortcut, output } => {
                if let Some(params) = output {
                    quantized.insert_params(&label, params);
                }
                let (mut main_layers, mut shortcut_layers) = (Vec::new(), Vec::new());
                name_entries(main, Some(&label), &mut main_layers, tensors, quantized);
                let shortcut_label = format!("{label}.shortcut");
                name_entries(shortcut, Some(&shortcut_label), &mut shortcut_layers, tensors, quantized);
                out.push(Layer::Residual { main: main_layers, shortcut: shortcut_layers });
            }
        }
    }
}

/// Which operator computes each tensor.
fn producers(graph: &Graph) -> Result<Vec<Option<usize>>, ImportError> {
    let mut producers = std::vec![None; graph.tensors.len()];
    for (position, op) in graph.operators.iter().enumerate() {
        for &t in &op.outputs {
            let slot = producers.get_mut(t).ok_or_else(|| bad_index(op, t))?;
            if slot.replace(position).is_some() {
                return Err(ImportError::Graph(format!("tensor {t} is written by more than one operator")));
            }
        }
    }
    Ok(producers)
}

fn bad_index(op: &OperatorInfo, t: usize) -> ImportError {
    ImportError::Graph(format!(
        "operator {} ({}) names tensor {t}, which does not exist",
        op.index,
        op.op.name()
    ))
}

fn tensor(graph: &Graph, t: usize) -> Result<&TensorInfo, ImportError> {
    graph.tensors.get(t).ok_or_else(|| ImportError::Graph(format!("tensor {t} does not exist")))
}

/// A tensor's layout between layers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `[1, H, W, C]`.
    Image { h: usize, w: usize, c: usize },
    /// `[1, N]` (or `[N]`).
    Flat(usize),
}

fn layout(t: &TensorInfo) -> Result<Layout, ImportError> {
    match *t.shape.as_slice() {
        [1, h, w, c] => Ok(Layout::Image { h, w, c }),
        [1, n] | [n] => Ok(Layout::Flat(n)),
        _ => Err(ImportError::Graph(format!(
            "tensor {} (`{}`) has shape {:?}; only a batch of one image [1, H, W, C] or vector [1, N] \
             can flow between layers",
            t.index, t.name, t.shape
        ))),
    }
}

/// How deeply residual blocks may nest (a guard against a crafted graph exhausting the
/// stack: each level is a few calls deep).
const MAX_NESTING: usize = 64;

/// Reads the graph backwards.
struct Walker<'g> {
    graph: &'g Graph,
    producers: Vec<Option<usize>>,
    /// [`Walker::back`] of each tensor, once known: each is found once, so the walk stays
    /// quadratic at worst however many blocks follow one another.
    back: RefCell<Vec<Option<usize>>>,
}

impl<'g> Walker<'g> {
    /// The operator computing tensor `t`.
    fn producer(&self, t: usize) -> Result<&'g OperatorInfo, ImportError> {
        let graph = self.graph;
        self.producers
            .get(t)
            .copied()
            .flatten()
            .and_then(|p| graph.operators.get(p))
            .ok_or_else(|| ImportError::Graph(format!("tensor {t} is not computed from the model's input")))
    }

    /// The data inputs of `op`: both of an `ADD`, the first of every other operator.
    fn data_inputs(&self, op: &OperatorInfo) -> Result<Vec<usize>, ImportError> {
        let wanted = if op.op == Op::Add { 2 } else { 1 };
        let inputs: Vec<usize> = op.inputs.iter().take(wanted).flatten().copied().collect();
        if inputs.len() != wanted {
            return Err(ImportError::Graph(format!(
                "operator {} ({}) lacks its data input",
                op.index,
                op.op.name()
            )));
        }
        for &t in &inputs {
            if tensor(self.graph, t)?.data.is_some() {
                return Err(ImportError::Unsupported {
                    index: op.index,
                    op: op.op.name().to_string(),
                    what: format!("a constant tensor ({t}) as its data input"),
                });
            }
        }
        Ok(inputs)
    }

    /// The tensor before `t` on the way back to the input: an operator's data input, or
    /// for an `ADD` the tensor where its two inputs forked.
    fn back(&self, t: usize, depth: usize) -> Result<usize, ImportError> {
        if let Some(known) = self.back.borrow().get(t).copied().flatten() {
            return Ok(known);
        }
        let op = self.producer(t)?;
        let inputs = self.data_inputs(op)?;
        let before = match *inputs.as_slice() {
            [a, b] => self.fork(a, b, depth + 1)?,
            [x] => x,
            _ => return Err(ImportError::Graph(format!("operator {} has no data input", op.index))),
        };
        if let Some(slot) = self.back.borrow_mut().get_mut(t) {
            *slot = Some(before);
        }
        Ok(before)
    }

    /// The last tensor on both `a`'s and `b`'s ways back to the input.
    fn fork(&self, a: usize, b: usize, depth: usize) -> Result<usize, ImportError> {
        Self::nesting(depth)?;
        let input = self.graph.inputs.first().copied();
        let mut seen = std::vec![false; self.graph.tensors.len()];
        let mut t = a;
        for steps in 0.. {
            if let Some(seen) = seen.get_mut(t) {
                *seen = true;
            }
            if Some(t) == input {
                break;
            }
            self.guard(steps)?;
            t = self.back(t, depth)?;
        }
        let mut t = b;
        for steps in 0.. {
            if seen.get(t).copied().unwrap_or(false) {
                return Ok(t);
            }
            self.guard(steps)?;
            t = self.back(t, depth)?;
        }
        Err(ImportError::Graph("the graph has no common input".to_string()))
    }

    /// Refuses to walk further than the graph has operators (a cycle in a damaged file).
    fn guard(&self, steps: usize) -> Result<(), ImportError> {
        if steps > self.graph.operators.len() + 1 {
            return Err(ImportError::Graph("the operators form a cycle".to_string()));
        }
        Ok(())
    }

    /// Refuses residual blocks nested beyond [`MAX_NESTING`].
    fn nesting(depth: usize) -> Result<(), ImportError> {
        if depth > MAX_NESTING {
            return Err(ImportError::Graph(format!(
                "residual additions nested more than {MAX_NESTING} deep"
            )));
        }
        Ok(())
    }

    /// The entries computing `to` from `from`, in order.
    fn chain(&self, from: usize, to: usize, depth: usize) -> Result<Vec<Entry>, ImportError> {
        Self::nesting(depth)?;
        let mut reversed: Vec<Entry> = Vec::new();
        let mut t = to;
        let mut steps = 0;
        while t != from {
            steps += 1;
            self.guard(steps)?;
            let op = self.producer(t)?;
            let inputs = self.data_inputs(op)?;
            if let &[a, b] = inputs.as_slice() {
                let fork = self.fork(a, b, depth + 1)?;
                let (first, second) = (self.chain(fork, a, depth + 1)?, self.chain(fork, b, depth + 1)?);
                let (main, shortcut) =
                    if first.len() >= second.len() { (first, second) } else { (second, first) };
                let Options::Add { activation } = op.options else { return Err(wrong_options(op)) };
                reversed.extend(self.activation(op, activation)?);
                reversed.push(Entry::Residual { main, shortcut, output: self.output_params(op) });
                t = fork;
                continue;
            }
            let x = inputs[0];
            let mut entries = self.convert(op, x, t)?;
            entries.reverse();
            reversed.extend(entries);
            t = x;
        }
        reversed.reverse();
        Ok(reversed)
    }
}

fn wrong_options(op: &OperatorInfo) -> ImportError {
    ImportError::Graph(format!(
        "operator {} ({}) carries the options of another operator",
        op.index,
        op.op.name()
    ))
}
