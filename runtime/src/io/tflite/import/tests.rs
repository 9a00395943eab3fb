//! The importer on small graphs built here: the layout changes it makes, the residual
//! structure it finds, and its errors.

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use crate::io::tflite::graph::{
    Activation, DType, Graph, Op, OperatorInfo, Options, Padding, TensorInfo, WeightsFormat,
};
use crate::io::tflite::{Layer, import};

/// A float tensor, constant when `data` is given.
fn tensor(index: usize, shape: &[usize], data: Option<Vec<f32>>) -> TensorInfo {
    TensorInfo {
        index,
        name: format!("t{index}"),
        shape: shape.to_vec(),
        dtype: DType::Float32,
        data: data.map(|d| d.iter().flat_map(|v| v.to_le_bytes()).collect()),
        quantization: None,
    }
}

fn operator(index: usize, op: Op, inputs: &[Option<usize>], output: usize, options: Options) -> OperatorInfo {
    OperatorInfo { index, op, inputs: inputs.to_vec(), outputs: vec![output], options }
}

fn conv(padding: Padding, stride: usize, activation: Activation) -> Options {
    Options::Conv2d { padding, stride_h: stride, stride_w: stride, dilation_h: 1, dilation_w: 1, activation }
}

fn dense() -> Options {
    Options::FullyConnected {
        activation: Activation::None,
        keep_num_dims: false,
        weights_format: WeightsFormat::Default,
    }
}

/// `x [1,2,2,3] → conv 1×1 (3 → 3, relu) → reshape [1,12] → fully connected 12 → 2`.
fn conv_then_dense() -> Graph {
    let conv_filter: Vec<f32> = (0..9).map(|v| v as f32).collect(); // [OC=3, 1, 1, IC=3]
    let dense_weight: Vec<f32> = (0..24).map(|v| v as f32).collect(); // [2, 12], HWC columns
    Graph {
        version: 3,
        name: String::new(),
        tensors: vec![
            tensor(0, &[1, 2, 2, 3], None),
            tensor(1, &[3, 1, 1, 3], Some(conv_filter)),
            tensor(2, &[3], Some(vec![0.5, 0.25, 0.125])),
            tensor(3, &[1, 2, 2, 3], None),
            tensor(4, &[1, 12], None),
            tensor(5, &[2, 12], Some(dense_weight)),
            tensor(6, &[1, 2], None),
        ],
        operators: vec![
            operator(
                0,
                Op::Conv2d,
                &[Some(0), Some(1), Some(2)],
                3,
                conv(Padding::Same, 1, Activation::Relu),
            ),
            operator(1, Op::Reshape, &[Some(3)], 4, Options::Reshape { new_shape: None }),
            operator(2, Op::FullyConnected, &[Some(4), Some(5), None], 6, dense()),
        ],
        inputs: vec![0],
        outputs: vec![6],
    }
}

#[test]
fn layouts_become_pytorchs() {
    let imported = import(&conv_then_dense()).expect("imports");
    assert_eq!(imported.input, [3, 2, 2]);
    let layers: Vec<String> = imported
        .layers
        .iter()
        .map(|l| match l {
            Layer::Simple(text) => text.clone(),
            Layer::Residual { .. } => "residual".to_string(),
        })
        .collect();
    // A 1×1 "same" convolution pads nothing: no `padding = same`.
    assert_eq!(layers, ["conv2d(3, 1)", "relu", "flatten", "dense(2)"]);
    let names: Vec<&str> = imported.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["0.weight", "0.bias", "3.weight", "3.bias"]);
    // [OC, KH, KW, IC] → [OC, IC, KH, KW]: the same for a 1×1 kernel.
    assert_eq!(imported.tensors[0].shape, [3, 3, 1, 1]);
    // A missing bias is zeros.
    assert_eq!(imported.tensors[3].data, [0.0, 0.0]);
    // Dense columns from TensorFlow's (h, w, c) order to (c, h, w): column c·4 + p (p = h·2 + w)
    // of ours is column p·3 + c of theirs.
    let weight = &imported.tensors[2].data;
    for row in 0..2 {
        for c in 0..3 {
            for p in 0..4 {
                assert_eq!(weight[row * 12 + c * 4 + p], (row * 12 + p * 3 + c) as f32);
            }
        }
    }
}

/// A 3×3 convolution's filter moves from `[OC, KH, KW, IC]` to `[OC, IC, KH, KW]`.
#[test]
fn convolution_filters_are_transposed() {
    let mut graph = conv_then_dense();
    graph.tensors[1] = tensor(1, &[3, 3, 3, 3], Some((0..81).map(|v| v as f32).collect()));
    let imported = import(&graph).expect("imports");
    let weight = &imported.tensors[0].data;
    for (o, i, r, s) in
        (0..3).flat_map(|o| (0..3).flat_map(move |i| (0..9).map(move |k| (o, i, k / 3, k % 3))))
    {
        assert_eq!(weight[((o * 3 + i) * 3 + r) * 3 + s], (((o * 3 + r) * 3 + s) * 3 + i) as f32);
    }
    assert!(matches!(&imported.layers[0], Layer::Simple(t) if t == "conv2d(3, 3, padding = same)"));
}

/// `x → conv a → ADD(x, a)` and `x → conv a → conv b → ADD(conv c (x), b)`: an identity
/// block and a block whose shorter branch becomes its shortcut.
#[test]
fn additions_become_residual_blocks() {
    let filter = || Some(vec![1.0; 4]); // [2, 1, 1, 2]
    let bias = || Some(vec![0.0; 2]);
    let none = || conv(Padding::Valid, 1, Activation::None);
    let add = |activation| Options::Add { activation };
    let mut tensors = vec![tensor(0, &[1, 1, 1, 2], None)];
    for k in 1..=3 {
        tensors.push(tensor(tensors.len(), &[2, 1, 1, 2], filter()));
        tensors.push(tensor(tensors.len(), &[2], bias()));
        let _ = k;
    }
    // Activations 7..=12.
    for index in 7..=12 {
        tensors.push(tensor(index, &[1, 1, 1, 2], None));
    }
    let graph = Graph {
        version: 3,
        name: String::new(),
        tensors,
        operators: vec![
            operator(0, Op::Conv2d, &[Some(0), Some(1), Some(2)], 7, none()),
            operator(1, Op::Add, &[Some(0), Some(7)], 8, add(Activation::Relu)),
            operator(2, Op::Conv2d, &[Some(8), Some(1), Some(2)], 9, none()),
            operator(3, Op::Conv2d, &[Some(9), Some(3), Some(4)], 10, none()),
            operator(4, Op::Conv2d, &[Some(8), Some(5), Some(6)], 11, none()),
            operator(5, Op::Add, &[Some(11), Some(10)], 12, add(Activation::None)),
        ],
        inputs: vec![0],
        outputs: vec![12],
    };
    let imported = import(&graph).expect("imports");
    let declaration = imported.declaration("Blocks");
    let expected = "staticnn::model! {
    pub struct Blocks {
        input(2, 1, 1),
        residual {
            conv2d(2, 1),
        },
        relu,
        residual {
            conv2d(2, 1),
            conv2d(2, 1),
        } shortcut {
            conv2d(2, 1),
        },
    }
}
";
    assert_eq!(declaration, expected);
    let names: Vec<&str> = imported.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["0.0.weight", "0.0.bias", "2.0.weight", "2.0.bias", "2.1.weight", "2.1.bias"]
            .iter()
            .chain(&["2.shortcut.0.weight", "2.shortcut.0.bias"])
            .copied()
            .collect::<Vec<_>>()
    );
}

fn error(graph: &Graph) -> String {
    match import(graph) {
        Ok(_) => panic!("imported"),
        Err(e) => e.to_string(),
    }
}

/// TensorFlow Lite's `RELU_N1_TO_1`, fused or as an operator, is `clamp(-1, 1)`.
#[test]
fn relu_n1_to_1_is_a_clamp() {
    let mut graph = conv_then_dense();
    graph.operators[0].options = conv(Padding::Same, 1, Activation::ReluN1To1);
    let imported = import(&graph).expect("imports");
    assert_eq!(imported.layers[1], Layer::Simple("clamp(-1, 1)".to_string()));

    let mut graph = conv_then_dense();
    graph.operators[1] = operator(1, Op::Other { code: 20 }, &[Some(3)], 4, Options::None);
    graph.tensors[4].shape = vec![1, 2, 2, 3];
    graph.operators.insert(2, operator(2, Op::Reshape, &[Some(4)], 7, Options::Reshape { new_shape: None }));
    graph.operators[3].index = 3;
    graph.operators[3].inputs[0] = Some(7);
    graph.tensors.push(tensor(7, &[1, 12], None));
    let imported = import(&graph).expect("imports");
    let layers: Vec<&Layer> = imported.layers.iter().collect();
    assert_eq!(layers[2], &Layer::Simple("clamp(-1, 1)".to_string()));
}

#[test]
fn what_cannot_be_expressed_is_an_error_naming_the_operator() {
    let mut graph = conv_then_dense();
    graph.operators[1].op = Op::Mean;
    let message = error(&graph);
    assert!(message.starts_with("operator 1 (MEAN) has no equivalent layer"), "{message}");

    let mut graph = conv_then_dense();
    graph.operators[0].options = Options::Conv2d {
        padding: Padding::Same,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 2,
        dilation_w: 2,
        activation: Activation::None,
    };
    assert_eq!(error(&graph), "operator 0 (CONV_2D) uses dilation 2×2, which the layers cannot express");

    let mut graph = conv_then_dense();
    graph.operators[0].options = conv(Padding::Same, 1, Activation::SignBit);
    assert_eq!(
        error(&graph),
        "operator 0 (CONV_2D) uses the fused activation SignBit, which the layers cannot express"
    );

    let mut graph = conv_then_dense();
    graph.operators[2].options = Options::FullyConnected {
        activation: Activation::None,
        keep_num_dims: false,
        weights_format: WeightsFormat::Shuffled4x16Int8,
    };
    assert_eq!(
        error(&graph),
        "operator 2 (FULLY_CONNECTED) uses the weights format Shuffled4x16Int8, which the layers cannot express"
    );

    // A grouped convolution (the filter is one channel deep on a three-channel image).
    let mut graph = conv_then_dense();
    graph.tensors[1] = tensor(1, &[3, 1, 1, 1], Some(vec![1.0; 3]));
    assert_eq!(
        error(&graph),
        "operator 0 (CONV_2D) uses a filter for 1 input channels on 3 (groups), which the layers cannot express"
    );

    let mut graph = conv_then_dense();
    graph.tensors[5] = tensor(5, &[2, 10], Some(vec![0.0; 20]));
    assert_eq!(
        error(&graph),
        "operator 2 (FULLY_CONNECTED) uses weights for 10 inputs on 12 values, which the layers cannot express"
    );

    let mut graph = conv_then_dense();
    graph.inputs.push(4);
    assert!(error(&graph).contains("2 inputs and 1 outputs"));

    let mut graph = conv_then_dense();
    graph.tensors[0].dtype = DType::Int8;
    assert!(error(&graph).contains("is Int8, not float32 or quantized int8"));

    // A cycle: the reshape reads the dense layer's output.
    let mut graph = conv_then_dense();
    graph.operators[1].inputs = vec![Some(6)];
    graph.tensors[6].shape = vec![1, 12];
    let message = error(&graph);
    assert!(message.contains("cycle") || message.contains("not computed"), "{message}");
}
