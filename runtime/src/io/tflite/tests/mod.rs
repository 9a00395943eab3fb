//! Tests of the TFLite reader on the eight MLPerf Tiny models (against a summary written by an
//! independent reader, and facts about the networks), on truncated and corrupted copies of
//! them, and (in `synthetic`) on small models built here to reach every error.

mod synthetic;

use std::format;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{fs, vec};

use super::*;

/// The MLPerf Tiny models, vendored in the repository's `data/mlperf-tiny/`.
fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mlperf-tiny")
}

fn bytes(file: &str) -> Vec<u8> {
    let path = models_dir().join(file);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(file: &str) -> Graph {
    read(&bytes(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn ops(graph: &Graph) -> Vec<Op> {
    graph.operators.iter().map(|op| op.op).collect()
}

fn shape_of(graph: &Graph, tensor: usize) -> &[usize] {
    &graph.tensors[tensor].shape
}

/// FNV-1a, 64 bits, as `testdata/summarize.py` hashes.
fn fnv(bytes: impl IntoIterator<Item = u8>) -> String {
    let hash = bytes
        .into_iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{hash:016x}")
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

/// The graph in the format of `testdata/mlperf_tiny.txt`.
fn summary(file: &str, graph: &Graph) -> Vec<String> {
    let mut lines = vec![format!(
        "model {file} version {} tensors {} operators {} inputs {} outputs {}",
        graph.version,
        graph.tensors.len(),
        graph.operators.len(),
        join(&graph.inputs),
        join(&graph.outputs)
    )];
    for t in &graph.tensors {
        let data = t.data.as_deref().unwrap_or_default();
        let quant = t.quantization.as_ref().map_or_else(
            || "-".to_string(),
            |q| {
                let scales = fnv(q.scale.iter().flat_map(|s| s.to_le_bytes()));
                let zero_points = fnv(q.zero_point.iter().flat_map(|z| z.to_le_bytes()));
                format!("{}:{scales}:{zero_points}:{}", q.scale.len(), q.quantized_dimension)
            },
        );
        lines.push(format!(
            "tensor {} {} type {} shape [{}] data {}:{} quant {quant}",
            t.index,
            fnv(t.name.bytes()),
            t.dtype.code(),
            join(&t.shape),
            data.len(),
            fnv(data.iter().copied())
        ));
    }
    for op in &graph.operators {
        let options = match &op.options {
            Options::Conv2d { padding, stride_h, stride_w, dilation_h, dilation_w, activation } => format!(
                "1 {} {stride_h} {stride_w} {dilation_h} {dilation_w} {}",
                padding.code(),
                activation.code()
            ),
            Options::DepthwiseConv2d {
                padding,
                stride_h,
                stride_w,
                dilation_h,
                dilation_w,
                depth_multiplier,
                activation,
            } => format!(
                "2 {} {stride_h} {stride_w} {dilation_h} {dilation_w} {depth_multiplier} {}",
                padding.code(),
                activation.code()
            ),
            Options::Pool2d { padding, stride_h, stride_w, filter_h, filter_w, activation } => {
                format!(
                    "5 {} {stride_h} {stride_w} {filter_h} {filter_w} {}",
                    padding.code(),
                    activation.code()
                )
            }
            Options::FullyConnected { activation, keep_num_dims, weights_format } => {
                format!("8 {} {} {}", activation.code(), u8::from(*keep_num_dims), weights_format.code())
            }
            Options::Softmax { beta } => format!("9 {}", beta.to_bits()),
            Options::Add { activation } => format!("11 {}", activation.code()),
            // The models' RESHAPEs have no options table (the shape is their second input).
            Options::Reshape { new_shape: None } => "0 ".to_string(),
            Options::Reshape { new_shape: Some(shape) } => format!("17 [{}]", join(shape)),
            Options::None => "0 ".to_string(),
            Options::Other { type_code } => format!("{type_code} "),
        };
        let inputs = op.inputs.iter().map(|i| i.map_or(-1, |i| i as i64));
        lines.push(format!(
            "op {} code {} in {} out {} options {options}",
            op.index,
            op.op.code(),
            join(inputs),
            join(&op.outputs)
        ));
    }
    lines
}

/// All eight models read to exactly what the `tflite` package from PyPI (flatc's Python
/// accessors for the full schema) reads: tensors (types, shapes, names, constant bytes,
/// quantization) and operators (codes, tensor indices, every option field).
#[test]
fn models_match_independent_summary() {
    let expected = include_str!("../testdata/mlperf_tiny.txt");
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in expected.lines() {
        if line.starts_with("model ") {
            blocks.push(Vec::new());
        }
        blocks.last_mut().expect("the summary starts with a model line").push(line.trim_end());
    }
    assert_eq!(blocks.len(), 8);
    for block in blocks {
        let file = block[0].split(' ').nth(1).expect("model line names the file");
        let ours = summary(file, &load(file));
        for (line, (want, got)) in block.iter().zip(&ours).enumerate() {
            assert_eq!(*want, got.trim_end(), "{file}, summary line {line}");
        }
        assert_eq!(block.len(), ours.len(), "{file}: number of summary lines");
    }
}

#[test]
fn kws_float_is_a_ds_cnn() {
    let g = load("kws_ref_model_float32.tflite");
    assert_eq!((g.version, g.name.as_str()), (3, "main"));
    let input = &g.tensors[g.inputs[0]];
    assert_eq!(
        (input.dtype, input.shape.as_slice(), input.data.is_none()),
        (DType::Float32, &[1, 49, 10, 1][..], true)
    );
    assert_eq!(shape_of(&g, g.outputs[0]), [1, 12]);
    use Op::*;
    #[rustfmt::skip]
    let expected = [
        Conv2d, DepthwiseConv2d, Conv2d, DepthwiseConv2d, Conv2d, DepthwiseConv2d, Conv2d, DepthwiseConv2d,
        Conv2d, AveragePool2d, Reshape, FullyConnected, Softmax,
    ];
    assert_eq!(ops(&g), expected);

    // The first layer: 64 filters of 10×4, stride 2, SAME, fused ReLU (the DS-CNN of the
    // MLPerf Tiny KWS reference). In this "float" file its weights are int8 with one scale
    // (hybrid quantization); the depthwise and dense weights are float.
    let first = &g.operators[0];
    assert_eq!(
        first.options,
        Options::Conv2d {
            padding: Padding::Same,
            stride_h: 2,
            stride_w: 2,
            dilation_h: 1,
            dilation_w: 1,
            activation: Activation::Relu
        }
    );
    assert_eq!(first.inputs[0], Some(g.inputs[0]));
    let weights = &g.tensors[first.inputs[1].expect("the operator has that input")];
    assert_eq!((weights.dtype, weights.shape.as_slice()), (DType::Int8, &[64, 10, 4, 1][..]));
    assert_eq!(weights.data.as_ref().map(Vec::len), Some(64 * 10 * 4));
    assert_eq!(
        weights.quantization.as_ref().map(|q| (q.scale.len(), q.zero_point.as_slice())),
        Some((1, &[0][..]))
    );
    let bias = &g.tensors[first.inputs[2].expect("the operator has that input")];
    assert_eq!(
        (bias.dtype, bias.shape.as_slice(), bias.data.as_ref().map(Vec::len)),
        (DType::Float32, &[64][..], Some(256))
    );
    assert_eq!(shape_of(&g, first.outputs[0]), [1, 25, 5, 64]);

    for op in &g.operators[1..9] {
        assert_eq!(shape_of(&g, op.outputs[0]), [1, 25, 5, 64]);
        if op.op == DepthwiseConv2d {
            assert!(matches!(
                op.options,
                Options::DepthwiseConv2d {
                    padding: Padding::Same,
                    stride_h: 1,
                    stride_w: 1,
                    depth_multiplier: 1,
                    ..
                }
            ));
            assert_eq!(shape_of(&g, op.inputs[1].expect("the operator has that input")), [1, 3, 3, 64]);
        }
    }
    assert_eq!(
        g.operators[9].options,
        Options::Pool2d {
            padding: Padding::Valid,
            stride_h: 25,
            stride_w: 5,
            filter_h: 25,
            filter_w: 5,
            activation: Activation::None
        }
    );
    assert_eq!(shape_of(&g, g.operators[9].outputs[0]), [1, 1, 1, 64]);
    // RESHAPE takes its target shape as a constant second input, [-1, 64].
    let reshape = &g.operators[10];
    assert_eq!(reshape.options, Options::Reshape { new_shape: None });
    let target = g.tensors[reshape.inputs[1].expect("the operator has that input")]
        .data
        .as_deref()
        .expect("the new shape is a constant");
    assert_eq!(target, [-1i32, 64].iter().flat_map(|d| d.to_le_bytes()).collect::<Vec<_>>());
    assert!(matches!(g.operators[11].options, Options::FullyConnected { activation: Activation::None, .. }));
    assert_eq!(shape_of(&g, g.operators[11].inputs[1].expect("the operator has that input")), [12, 64]);
    assert_eq!(g.operators[12].options, Options::Softmax { beta: 1.0 });
    assert_eq!(g.operators[12].outputs, g.outputs);
}

#[test]
fn ad_is_a_dense_autoencoder() {
    for file in ["ad01_fp32.tflite", "ad01_int8.tflite"] {
        let g = load(file);
        assert_eq!(ops(&g), [Op::FullyConnected; 10], "{file}");
        assert_eq!(shape_of(&g, g.inputs[0]), [1, 640]);
        assert_eq!(shape_of(&g, g.outputs[0]), [1, 640]);
        // 640 → 128 ×4 → 8 → 128 ×4 → 640, ReLU everywhere but on the output.
        let widths: Vec<usize> = g.operators.iter().map(|op| shape_of(&g, op.outputs[0])[1]).collect();
        assert_eq!(widths, [128, 128, 128, 128, 8, 128, 128, 128, 128, 640], "{file}");
        for (i, op) in g.operators.iter().enumerate() {
            let activation = if i == 9 { Activation::None } else { Activation::Relu };
            assert_eq!(
                op.options,
                Options::FullyConnected {
                    activation,
                    keep_num_dims: false,
                    weights_format: WeightsFormat::Default
                }
            );
            // Each layer's input is the previous layer's output.
            let previous = if i == 0 { g.inputs[0] } else { g.operators[i - 1].outputs[0] };
            assert_eq!(op.inputs[0], Some(previous));
        }
    }
}

#[test]
fn resnet_has_strided_shortcuts() {
    let g = load("pretrainedResnet.tflite");
    use Op::*;
    #[rustfmt::skip]
    let expected = [
        Conv2d, Conv2d, Conv2d, Add, Conv2d, Conv2d, Conv2d, Add, Conv2d, Conv2d, Conv2d, Add,
        AveragePool2d, Reshape, FullyConnected, Softmax,
    ];
    assert_eq!(ops(&g), expected);
    assert_eq!(shape_of(&g, g.inputs[0]), [1, 32, 32, 3]);
    assert_eq!(shape_of(&g, g.outputs[0]), [1, 10]);
    // Stage 2 and 3: a 3×3 stride-2 path and a 1×1 stride-2 shortcut, both from the previous
    // ADD's output, summed (shortcut first) by the next ADD.
    for (first, channels, side) in [(4, 32, 16), (8, 64, 8)] {
        let block_input = g.operators[first - 1].outputs[0];
        let [main, second, shortcut, add] = [first, first + 1, first + 2, first + 3].map(|i| &g.operators[i]);
        assert_eq!(main.inputs[0], Some(block_input));
        assert_eq!(shortcut.inputs[0], Some(block_input));
        assert_eq!(shape_of(&g, main.inputs[1].expect("the operator has that input"))[..3], [channels, 3, 3]);
        assert_eq!(
            shape_of(&g, shortcut.inputs[1].expect("the operator has that input"))[..3],
            [channels, 1, 1]
        );
        for op in [main, shortcut] {
            assert!(matches!(
                op.options,
                Options::Conv2d { padding: Padding::Same, stride_h: 2, stride_w: 2, .. }
            ));
        }
        assert_eq!(add.inputs, [Some(shortcut.outputs[0]), Some(second.outputs[0])]);
        assert_eq!(add.options, Options::Add { activation: Activation::Relu });
        assert_eq!(shape_of(&g, add.outputs[0]), [1, side, side, channels]);
    }
}

#[test]
fn vww_is_a_mobilenet() {
    let g = load("vww_96_float.tflite");
    assert_eq!(shape_of(&g, g.inputs[0]), [1, 96, 96, 3]);
    assert_eq!(shape_of(&g, g.outputs[0]), [1, 2]);
    let mut expected = vec![Op::Conv2d];
    for _ in 0..13 {
        expected.extend([Op::DepthwiseConv2d, Op::Conv2d]);
    }
    expected.extend([Op::AveragePool2d, Op::Reshape, Op::FullyConnected, Op::Softmax]);
    assert_eq!(ops(&g), expected);
    assert!(matches!(g.operators[0].options, Options::Conv2d { stride_h: 2, stride_w: 2, .. }));
    assert_eq!(shape_of(&g, g.operators[0].outputs[0]), [1, 48, 48, 8]);
}

/// The int8 files: int8 activations with one scale, conv weights int8 with one scale per
/// output channel (dimension 0; depthwise: dimension 3) and zero points 0, int32 biases.
#[test]
fn int8_models_are_quantized_per_channel() {
    for (file, float_file) in [
        ("kws_ref_model.tflite", "kws_ref_model_float32.tflite"),
        ("pretrainedResnet_quant.tflite", "pretrainedResnet.tflite"),
        ("vww_96_int8.tflite", "vww_96_float.tflite"),
        ("ad01_int8.tflite", "ad01_fp32.tflite"),
    ] {
        let g = load(file);
        assert_eq!(ops(&g), ops(&load(float_file)), "{file}: same operators as the float model");
        for &io in g.inputs.iter().chain(&g.outputs) {
            let t = &g.tensors[io];
            let q = t.quantization.as_ref().expect("the tensor is quantized");
            assert_eq!((t.dtype, q.scale.len()), (DType::Int8, 1), "{file}: {}", t.name);
        }
        for op in &g.operators {
            let [Some(input), Some(weights), Some(bias)] = op.inputs[..] else { continue };
            let (input, weights, bias) = (&g.tensors[input], &g.tensors[weights], &g.tensors[bias]);
            assert_eq!((input.dtype, weights.dtype, bias.dtype), (DType::Int8, DType::Int8, DType::Int32));
            let q = weights.quantization.as_ref().expect("the tensor is quantized");
            assert!(q.zero_point.iter().all(|&z| z == 0), "{file}: symmetric weights");
            let channel_axis = match op.op {
                Op::Conv2d => 0,
                Op::DepthwiseConv2d => 3,
                _ => continue,
            };
            let channels = weights.shape[channel_axis];
            assert!(q.is_per_channel(), "{file}: {} weights {}", op.op, weights.name);
            assert_eq!((q.scale.len(), q.quantized_dimension), (channels, channel_axis));
            assert!(q.scale.iter().all(|&s| s > 0.0 && s.is_finite()));
            assert_eq!(bias.quantization.as_ref().expect("the tensor is quantized").scale.len(), channels);
        }
    }
}

#[test]
fn op_codes_and_names() {
    let named = [
        (Op::Add, 0, "ADD"),
        (Op::AveragePool2d, 1, "AVERAGE_POOL_2D"),
        (Op::Concatenation, 2, "CONCATENATION"),
        (Op::Conv2d, 3, "CONV_2D"),
        (Op::DepthwiseConv2d, 4, "DEPTHWISE_CONV_2D"),
        (Op::Dequantize, 6, "DEQUANTIZE"),
        (Op::FullyConnected, 9, "FULLY_CONNECTED"),
        (Op::Logistic, 14, "LOGISTIC"),
        (Op::MaxPool2d, 17, "MAX_POOL_2D"),
        (Op::Mul, 18, "MUL"),
        (Op::Relu, 19, "RELU"),
        (Op::Relu6, 21, "RELU6"),
        (Op::Reshape, 22, "RESHAPE"),
        (Op::Softmax, 25, "SOFTMAX"),
        (Op::Tanh, 28, "TANH"),
        (Op::Pad, 34, "PAD"),
        (Op::Mean, 40, "MEAN"),
        (Op::Quantize, 114, "QUANTIZE"),
    ];
    for (op, code, name) in named {
        assert_eq!(
            (Op::from_code(code), op.code(), op.name(), op.to_string()),
            (op, code, name, name.to_string())
        );
    }
    // Every code maps to a named variant or to `Other` with the same code, never both.
    for code in -2..300 {
        let op = Op::from_code(code);
        assert_eq!(op.code(), code);
        assert_eq!(matches!(op, Op::Other { .. }), !named.iter().any(|(_, c, _)| *c == code));
    }
    for (code, name) in [
        (5, "DEPTH_TO_SPACE"),
        (127, "PLACEHOLDER_FOR_GREATER_OP_CODES"),
        (150, "GELU"),
        (209, "STABLEHLO_CASE"),
    ] {
        assert_eq!(Op::from_code(code).name(), name);
    }
    assert_eq!(Op::from_code(210).name(), "UNKNOWN");
    assert_eq!(Op::from_code(-1).to_string(), "builtin operator -1");
    assert_eq!(names::BUILTIN_OPERATORS.len(), 210);

    for (code, name) in [
        (0, "NONE"),
        (1, "Conv2DOptions"),
        (27, "ReducerOptions"),
        (126, "RightShiftOptions"),
        (127, "UNKNOWN"),
    ] {
        assert_eq!(Options::type_name(code), name);
    }
    for (dtype, code, name) in [
        (DType::Float32, 0, "FLOAT32"),
        (DType::Int32, 2, "INT32"),
        (DType::UInt8, 3, "UINT8"),
        (DType::Int64, 4, "INT64"),
        (DType::Int16, 7, "INT16"),
        (DType::Int8, 9, "INT8"),
        (DType::Other(1), 1, "FLOAT16"),
        (DType::Other(22), 22, "FLOAT8_E5M2"),
    ] {
        assert_eq!((DType::from_code(code), dtype.code(), dtype.name()), (dtype, code, name));
    }
    assert_eq!(DType::Other(-3).to_string(), "tensor type -3");
}

/// The union member codes written in `schema.rs` agree with the schema's union order.
#[test]
fn options_union_codes_match_the_schema() {
    fn check<'a, T: schema::OptionsTable<'a>>() {
        assert_eq!(Options::type_name(T::TYPE), T::NAME);
    }
    check::<schema::Conv2DOptions>();
    check::<schema::DepthwiseConv2DOptions>();
    check::<schema::Pool2DOptions>();
    check::<schema::FullyConnectedOptions>();
    check::<schema::SoftmaxOptions>();
    check::<schema::AddOptions>();
    check::<schema::ReshapeOptions>();
}

#[test]
fn short_or_foreign_data_is_refused() {
    assert_eq!(read(&[]), Err(TfliteError::TooShort { len: 0 }));
    assert_eq!(read(&[0; 7]), Err(TfliteError::TooShort { len: 7 }));
    assert!(read(&[]).unwrap_err().to_string().contains("0 bytes is too short"));
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let error = read(png).unwrap_err();
    assert_eq!(error, TfliteError::NotTflite { identifier: *b"\r\n\x1a\n" });
    assert_eq!(
        error.to_string(),
        "not a TFLite model: the file identifier is \"\\r\\n\\x1a\\n\", not \"TFL3\""
    );
    // The identifier alone does not make a model: an empty table at offset 0 verifies (the
    // verifier accepts its 0-byte vtable) but has no subgraph; a wild root offset does not.
    assert_eq!(read(b"\0\0\0\0TFL3"), Err(TfliteError::NoSubgraph));
    assert!(matches!(read(b"\xff\xff\xff\xffTFL3\0\0\0\0"), Err(TfliteError::NotAFlatbuffer(_))));
}

/// What every successfully read graph guarantees, whatever the file.
fn check_invariants(g: &Graph) {
    let n = g.tensors.len();
    for (i, t) in g.tensors.iter().enumerate() {
        assert_eq!(t.index, i);
        if let (Some(data), Some(size)) = (&t.data, t.dtype.size()) {
            assert_eq!(data.len(), t.shape.iter().product::<usize>() * size);
        }
        if let Some(q) = &t.quantization {
            assert!(!q.scale.is_empty());
            assert_eq!(q.scale.len(), q.zero_point.len());
            if q.scale.len() > 1 {
                assert_eq!(t.shape[q.quantized_dimension], q.scale.len());
            }
        }
    }
    for (i, op) in g.operators.iter().enumerate() {
        assert_eq!(op.index, i);
        assert!(op.inputs.iter().flatten().chain(&op.outputs).all(|&t| t < n));
    }
    assert!(g.inputs.iter().chain(&g.outputs).all(|&t| t < n));
}

/// Every 97th prefix of the smallest model, every prefix up to 300 bytes and the last 64:
/// no panic, and a prefix either fails verification or reads to exactly the whole file's
/// graph (it only lacks bytes the reader does not use: the file ends with operator-code
/// tables whose `version` field is not read).
#[test]
fn truncated_files_are_errors() {
    let file = bytes("kws_ref_model_float32.tflite");
    let whole = read(&file).expect("the model reads");
    let lengths = (0..300).chain((300..file.len()).step_by(97)).chain(file.len() - 64..file.len());
    let mut read_whole = 0;
    for len in lengths {
        match read(&file[..len]) {
            Ok(graph) => {
                assert_eq!(graph, whole, "prefix of {len} bytes");
                read_whole += 1;
            }
            // What the reader uses is verified before anything is decoded, so a prefix fails
            // verification or decodes exactly as the whole file.
            Err(TfliteError::TooShort { .. } | TfliteError::NotAFlatbuffer(_)) => {}
            Err(e) => panic!("prefix of {len} bytes: {e}"),
        }
    }
    assert!(read_whole < 8, "{read_whole} prefixes read");
    std::eprintln!("{read_whole} of the prefixes read as the whole model");
}

/// Deterministic single-byte corruptions of the smallest float and int8 models: 400 at
/// random positions, and 3000 spread evenly over the bytes that are not inside a tensor's
/// constant data (the flatbuffer's tables, vtables, offsets, vectors of indices, strings,
/// quantization). Each read returns `Ok` or `Err`, never panics, and an `Ok` graph keeps
/// every invariant.
#[test]
fn corrupted_files_never_panic() {
    for file in ["kws_ref_model_float32.tflite", "kws_ref_model.tflite"] {
        let original = bytes(file);
        let graph = read(&original).expect("the model reads");

        // Positions inside constant data: where each tensor's bytes sit in the file.
        let mut in_data = vec![false; original.len()];
        for data in graph.tensors.iter().filter_map(|t| t.data.as_deref()).filter(|d| d.len() >= 16) {
            let start = original.windows(data.len()).position(|w| w == data).expect("data is in the file");
            in_data[start..start + data.len()].fill(true);
        }
        let structure: Vec<usize> = (0..original.len()).filter(|&i| !in_data[i]).collect();
        assert!(structure.len() > 1000, "{file}: {} structure bytes", structure.len());

        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut corruptions: Vec<(usize, u8)> = (0..400)
            .map(|_| ((random() % original.len() as u64) as usize, (random() % 255 + 1) as u8))
            .collect();
        let stride = structure.len().div_ceil(3000);
        corruptions.extend(structure.iter().step_by(stride).map(|&i| (i, (random() % 255 + 1) as u8)));

        let (mut ok, mut err) = (0, 0);
        let mut corrupted = original.clone();
        for (position, flip) in corruptions {
            corrupted[position] ^= flip;
            match read(&corrupted) {
                Ok(g) => {
                    check_invariants(&g);
                    ok += 1;
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    err += 1;
                }
            }
            corrupted[position] = original[position];
        }
        // Flips in weights read fine; flips in the structure mostly do not.
        assert!(ok > 0 && err > 0, "{file}: {ok} read, {err} refused");
        std::eprintln!("{file}: {} corruptions, {ok} read, {err} refused", ok + err);
    }
}
