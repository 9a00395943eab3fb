//! Small models built here with `flatbuffers::FlatBufferBuilder` (using TFLite's field ids,
//! written out independently of `schema.rs`), mutated to reach each error of the reader.

use std::string::ToString;
use std::vec::Vec;
use std::{format, vec};

use flatbuffers::{FlatBufferBuilder, WIPOffset};

use super::super::*;

mod options;

/// A scalar or `[int]` field of an options table: (field id, value).
#[derive(Clone, Debug)]
enum Field {
    I8(u16, i8),
    I32(u16, i32),
    F32(u16, f32),
    Bool(u16, bool),
    Ints(u16, Vec<i32>),
}

#[derive(Clone, Debug)]
struct Quant {
    scale: Vec<f32>,
    zero_point: Vec<i64>,
    dimension: i32,
}

#[derive(Clone, Debug)]
struct TensorSpec {
    name: &'static str,
    shape: Vec<i32>,
    dtype: i8,
    buffer: u32,
    quant: Option<Quant>,
    sparse: bool,
}

#[derive(Clone, Debug)]
struct OpSpec {
    opcode: u32,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    /// Union type code and the options table's fields; `(code, None)` sets only the type.
    options: Option<(u8, Option<Vec<Field>>)>,
}

#[derive(Clone, Debug, Default)]
struct BufferSpec {
    data: Vec<u8>,
    offset: u64,
    size: u64,
}

#[derive(Clone, Debug)]
struct SubgraphSpec {
    tensors: Vec<TensorSpec>,
    operators: Vec<OpSpec>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
}

#[derive(Clone, Debug)]
struct ModelSpec {
    /// (deprecated_builtin_code, builtin_code).
    opcodes: Vec<(i8, i32)>,
    subgraphs: Vec<SubgraphSpec>,
    buffers: Vec<BufferSpec>,
}

/// The vtable slot of field `id`.
fn slot(id: u16) -> u16 {
    4 + 2 * id
}

fn tensor(name: &'static str, shape: &[i32], buffer: u32) -> TensorSpec {
    TensorSpec { name, shape: shape.to_vec(), dtype: 0, buffer, quant: None, sparse: false }
}

fn floats(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A 3×3 VALID convolution with ReLU from a 4×4×1 image to 2×2×2.
fn conv_model() -> ModelSpec {
    let weights: Vec<f32> = (0..18).map(|i| i as f32 / 10.0).collect();
    ModelSpec {
        opcodes: vec![(3, 3)],
        subgraphs: vec![SubgraphSpec {
            tensors: vec![
                tensor("input", &[1, 4, 4, 1], 0),
                tensor("weights", &[2, 3, 3, 1], 1),
                tensor("bias", &[2], 2),
                tensor("output", &[1, 2, 2, 2], 0),
            ],
            operators: vec![OpSpec {
                opcode: 0,
                inputs: vec![0, 1, 2],
                outputs: vec![3],
                options: Some((
                    1,
                    Some(vec![Field::I8(0, 1), Field::I32(1, 1), Field::I32(2, 1), Field::I8(3, 1)]),
                )),
            }],
            inputs: vec![0],
            outputs: vec![3],
        }],
        buffers: vec![
            BufferSpec::default(),
            BufferSpec { data: floats(&weights), ..BufferSpec::default() },
            BufferSpec { data: floats(&[0.5, -0.5]), ..BufferSpec::default() },
        ],
    }
}

fn build(spec: &ModelSpec) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let table_of = |fbb: &mut FlatBufferBuilder<'_>, fields: &[Field]| {
        let vectors: Vec<_> = fields
            .iter()
            .filter_map(|f| match f {
                Field::Ints(id, values) => Some((*id, fbb.create_vector(values))),
                _ => None,
            })
            .collect();
        let start = fbb.start_table();
        for field in fields {
            match *field {
                Field::I8(id, v) => fbb.push_slot_always(slot(id), v),
                Field::I32(id, v) => fbb.push_slot_always(slot(id), v),
                Field::F32(id, v) => fbb.push_slot_always(slot(id), v),
                Field::Bool(id, v) => fbb.push_slot_always(slot(id), v),
                Field::Ints(..) => {}
            }
        }
        for (id, vector) in vectors {
            fbb.push_slot_always(slot(id), vector);
        }
        fbb.end_table(start)
    };

    let buffers: Vec<_> = spec
        .buffers
        .iter()
        .map(|b| {
            let data = (!b.data.is_empty()).then(|| fbb.create_vector(&b.data));
            let start = fbb.start_table();
            if let Some(data) = data {
                fbb.push_slot_always(slot(0), data);
            }
            fbb.push_slot(slot(1), b.offset, 0);
            fbb.push_slot(slot(2), b.size, 0);
            fbb.end_table(start)
        })
        .collect();
    let buffers = fbb.create_vector(&buffers);

    let opcodes: Vec<_> = spec
        .opcodes
        .iter()
        .map(|&(deprecated, code)| {
            let start = fbb.start_table();
            fbb.push_slot(slot(0), deprecated, 0);
            fbb.push_slot(slot(3), code, 0);
            fbb.end_table(start)
        })
        .collect();
    let opcodes = fbb.create_vector(&opcodes);

    let mut subgraphs = Vec::new();
    for sg in &spec.subgraphs {
        let mut tensors = Vec::new();
        for t in &sg.tensors {
            let shape = fbb.create_vector(&t.shape);
            let name = fbb.create_shared_string(t.name);
            let quant = t.quant.as_ref().map(|q| {
                let scale = fbb.create_vector(&q.scale);
                let zero_point = fbb.create_vector(&q.zero_point);
                let start = fbb.start_table();
                fbb.push_slot_always(slot(2), scale);
                fbb.push_slot_always(slot(3), zero_point);
                fbb.push_slot(slot(6), q.dimension, 0);
                fbb.end_table(start)
            });
            let sparsity = t.sparse.then(|| {
                let start = fbb.start_table();
                fbb.end_table(start)
            });
            let start = fbb.start_table();
            fbb.push_slot_always(slot(0), shape);
            fbb.push_slot(slot(1), t.dtype, 0);
            fbb.push_slot(slot(2), t.buffer, 0);
            fbb.push_slot_always(slot(3), name);
            if let Some(quant) = quant {
                fbb.push_slot_always(slot(4), quant);
            }
            if let Some(sparsity) = sparsity {
                fbb.push_slot_always(slot(6), sparsity);
            }
            tensors.push(fbb.end_table(start));
        }
        let tensors = fbb.create_vector(&tensors);
        let mut operators = Vec::new();
        for op in &sg.operators {
            let inputs = fbb.create_vector(&op.inputs);
            let outputs = fbb.create_vector(&op.outputs);
            let options = op
                .options
                .as_ref()
                .map(|(code, fields)| (*code, fields.as_ref().map(|f| table_of(&mut fbb, f))));
            let start = fbb.start_table();
            fbb.push_slot(slot(0), op.opcode, 0);
            fbb.push_slot_always(slot(1), inputs);
            fbb.push_slot_always(slot(2), outputs);
            if let Some((code, table)) = options {
                fbb.push_slot_always(slot(3), code);
                if let Some(table) = table {
                    fbb.push_slot_always(slot(4), table);
                }
            }
            operators.push(fbb.end_table(start));
        }
        let operators = fbb.create_vector(&operators);
        let inputs = fbb.create_vector(&sg.inputs);
        let outputs = fbb.create_vector(&sg.outputs);
        let name = fbb.create_string("main");
        let start = fbb.start_table();
        fbb.push_slot_always(slot(0), tensors);
        fbb.push_slot_always(slot(1), inputs);
        fbb.push_slot_always(slot(2), outputs);
        fbb.push_slot_always(slot(3), operators);
        fbb.push_slot_always(slot(4), name);
        subgraphs.push(fbb.end_table(start));
    }
    let subgraphs = fbb.create_vector(&subgraphs);
    let description = fbb.create_string("built by the tests");

    let start = fbb.start_table();
    fbb.push_slot(slot(0), 3u32, 0);
    fbb.push_slot_always(slot(1), opcodes);
    fbb.push_slot_always(slot(2), subgraphs);
    fbb.push_slot_always(slot(3), description);
    fbb.push_slot_always(slot(4), buffers);
    let root: WIPOffset<flatbuffers::TableFinishedWIPOffset> = fbb.end_table(start);
    fbb.finish(root, Some("TFL3"));
    fbb.finished_data().to_vec()
}

fn read_spec(spec: &ModelSpec) -> Result<Graph, TfliteError> {
    read(&build(spec))
}

fn error(spec: &ModelSpec) -> TfliteError {
    match read_spec(spec) {
        Ok(_) => panic!("the model should be refused"),
        Err(e) => e,
    }
}

fn sg(spec: &mut ModelSpec) -> &mut SubgraphSpec {
    &mut spec.subgraphs[0]
}

#[test]
fn conv_model_reads() {
    let g = read_spec(&conv_model()).expect("the synthetic model reads");
    assert_eq!(
        (g.version, g.name.as_str(), g.inputs.as_slice(), g.outputs.as_slice()),
        (3, "main", &[0][..], &[3][..])
    );
    let names: Vec<&str> = g.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["input", "weights", "bias", "output"]);
    assert_eq!(g.tensors[1].shape, [2, 3, 3, 1]);
    assert_eq!(
        g.tensors[1].data.as_deref(),
        Some(&floats(&(0..18).map(|i| i as f32 / 10.0).collect::<Vec<_>>())[..])
    );
    assert_eq!(g.tensors[0].data, None);
    let op = &g.operators[0];
    assert_eq!(
        (op.op, op.inputs.as_slice(), op.outputs.as_slice()),
        (Op::Conv2d, &[Some(0), Some(1), Some(2)][..], &[3][..])
    );
    // The dilations are not stored: the schema's default, 1.
    assert_eq!(
        op.options,
        Options::Conv2d {
            padding: Padding::Valid,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            activation: Activation::Relu
        }
    );
}

#[test]
fn subgraph_count() {
    let mut spec = conv_model();
    spec.subgraphs.clear();
    assert_eq!(error(&spec), TfliteError::NoSubgraph);
    let mut spec = conv_model();
    spec.subgraphs.push(spec.subgraphs[0].clone());
    let e = error(&spec);
    assert_eq!(e, TfliteError::ManySubgraphs(2));
    assert!(e.to_string().contains("has 2 subgraphs"), "{e}");
}

#[test]
fn operator_indices_are_checked() {
    let mut spec = conv_model();
    sg(&mut spec).operators[0].opcode = 5;
    let e = error(&spec);
    assert_eq!(e, TfliteError::OpcodeIndex { operator: 0, index: 5, opcode_count: 1 });
    assert_eq!(e.to_string(), "operator 0: opcode index 5 is out of range (the model has 1 operator codes)");

    let mut spec = conv_model();
    sg(&mut spec).operators[0].inputs[1] = 9;
    let e = error(&spec);
    assert_eq!(
        e.to_string(),
        "operator 0 (CONV_2D): input 1 refers to tensor 9, but the subgraph has 4 tensors"
    );

    let mut spec = conv_model();
    sg(&mut spec).operators[0].inputs[2] = -2;
    assert!(matches!(error(&spec), TfliteError::TensorIndex { output: false, position: 2, index: -2, .. }));

    let mut spec = conv_model();
    sg(&mut spec).operators[0].outputs[0] = -1;
    let e = error(&spec);
    assert_eq!(e.to_string(), "operator 0 (CONV_2D): output 0 is -1 (omitted), which only inputs may be");

    let mut spec = conv_model();
    sg(&mut spec).operators[0].outputs[0] = 4;
    assert!(matches!(error(&spec), TfliteError::TensorIndex { output: true, index: 4, tensor_count: 4, .. }));

    // -1 marks an omitted optional input.
    let mut spec = conv_model();
    sg(&mut spec).operators[0].inputs[2] = -1;
    assert_eq!(
        read_spec(&spec).expect("the synthetic model reads").operators[0].inputs,
        [Some(0), Some(1), None]
    );
}

#[test]
fn graph_indices_are_checked() {
    let mut spec = conv_model();
    sg(&mut spec).inputs = vec![0, 7];
    let e = error(&spec);
    assert_eq!(e, TfliteError::GraphInput { position: 1, index: 7, tensor_count: 4 });
    assert_eq!(e.to_string(), "graph input 1 refers to tensor 7, but the subgraph has 4 tensors");
    let mut spec = conv_model();
    sg(&mut spec).outputs = vec![-1];
    assert_eq!(error(&spec), TfliteError::GraphOutput { position: 0, index: -1, tensor_count: 4 });
}

#[test]
fn buffers_are_checked() {
    let mut spec = conv_model();
    sg(&mut spec).tensors[1].buffer = 9;
    let e = error(&spec);
    assert_eq!(e.to_string(), "tensor 1 'weights': buffer index 9 is out of range (the model has 3 buffers)");

    let mut spec = conv_model();
    spec.buffers[1].data.pop();
    let e = error(&spec);
    assert_eq!(
        e.to_string(),
        "tensor 1 'weights': shape [2, 3, 3, 1] of FLOAT32 needs 72 bytes, but its buffer holds 71"
    );

    // A model may leave out the buffers if no tensor has data (buffer 0 means none).
    let mut spec = conv_model();
    spec.buffers.clear();
    for t in &mut sg(&mut spec).tensors {
        t.buffer = 0;
    }
    assert!(read_spec(&spec).expect("the synthetic model reads").tensors.iter().all(|t| t.data.is_none()));

    // Data of other types is not checked against the shape (strings, float16, …).
    let mut spec = conv_model();
    sg(&mut spec).tensors[1].dtype = 5;
    assert_eq!(read_spec(&spec).expect("the synthetic model reads").tensors[1].dtype, DType::Other(5));
}

/// Large models keep data outside the flatbuffer, at an offset from the start of the file.
#[test]
fn external_buffers() {
    let payload: Vec<u8> = (0..72).collect();
    let mut spec = conv_model();
    spec.buffers[1] = BufferSpec { data: Vec::new(), offset: 2, size: 72 };
    // The flatbuffer's length does not depend on the offset's value.
    let offset = build(&spec).len().next_multiple_of(16);
    spec.buffers[1].offset = offset as u64;
    let mut file = build(&spec);
    file.resize(offset, 0);
    file.extend_from_slice(&payload);
    assert_eq!(read(&file).expect("the model reads").tensors[1].data.as_deref(), Some(&payload[..]));

    // One byte short.
    let e = read(&file[..file.len() - 1]).unwrap_err();
    let message = format!(
        "tensor 1 'weights': its data (72 bytes at offset {offset}) reaches past the end of the file ({} bytes)",
        file.len() - 1
    );
    assert_eq!(e.to_string(), message);

    // Offsets and sizes that overflow.
    for (offset, size) in [(u64::MAX, 72), (offset as u64, u64::MAX), (u64::MAX - 8, 16)] {
        let mut spec = spec.clone();
        spec.buffers[1].offset = offset;
        spec.buffers[1].size = size;
        assert!(matches!(read(&build(&spec)), Err(TfliteError::BufferOutOfRange { tensor: 1, .. })));
    }

    // Offset 1 is the converter's placeholder: no data.
    let mut spec = conv_model();
    spec.buffers[1] = BufferSpec { data: Vec::new(), offset: 1, size: 72 };
    assert_eq!(read_spec(&spec).expect("the synthetic model reads").tensors[1].data, None);
}

#[test]
fn shapes() {
    let mut spec = conv_model();
    sg(&mut spec).tensors[0].shape = vec![-1, 4, 4, 1];
    assert_eq!(read_spec(&spec).expect("the synthetic model reads").tensors[0].shape, [1, 4, 4, 1]);

    let mut spec = conv_model();
    sg(&mut spec).tensors[3].shape = vec![1, -1, 2, 2];
    let e = error(&spec);
    assert_eq!(
        e.to_string(),
        "tensor 3 'output': shape [1, -1, 2, 2] has a negative dimension (only a leading -1 batch is accepted)"
    );

    // A constant whose size overflows.
    let mut spec = conv_model();
    sg(&mut spec).tensors[1].shape = vec![i32::MAX, i32::MAX, i32::MAX, 2];
    assert!(matches!(error(&spec), TfliteError::SizeOverflow { tensor: 1, .. }));
}

#[test]
fn sparse_tensors_are_refused() {
    let mut spec = conv_model();
    sg(&mut spec).tensors[1].sparse = true;
    assert_eq!(error(&spec).to_string(), "tensor 1 'weights': sparse tensors are not supported");
}

/// Tensors sharing one buffer may copy it, but not without bound.
#[test]
fn shared_buffers_are_bounded() {
    let mut spec = conv_model();
    spec.buffers[1].data = vec![0; 4096];
    sg(&mut spec).tensors[1].shape = vec![4096];
    sg(&mut spec).tensors[1].dtype = 9;
    let shared = sg(&mut spec).tensors[1].clone();
    sg(&mut spec).tensors.extend(vec![shared.clone(); 2]);
    assert_eq!(read_spec(&spec).expect("the synthetic model reads").tensors.len(), 6);
    sg(&mut spec).tensors.extend(vec![shared; 4]);
    let e = error(&spec);
    assert!(matches!(e, TfliteError::TooMuchData { .. }), "{e}");
}

/// Tables may share strings (here every tensor's name), but not without bound.
#[test]
fn shared_strings_are_bounded() {
    let mut spec = conv_model();
    let name: &'static str = "n".repeat(2000).leak();
    let shared = tensor(name, &[1], 0);
    sg(&mut spec).tensors.extend(vec![shared.clone(); 4]);
    assert_eq!(read_spec(&spec).expect("the synthetic model reads").tensors[4].name.len(), 2000);
    sg(&mut spec).tensors.extend(vec![shared; 60]);
    let e = error(&spec);
    assert!(matches!(e, TfliteError::NotAFlatbuffer(ref m) if m.contains("pparent")), "{e}");
}

/// Strings must be UTF-8: the verifier refuses a corrupted name.
#[test]
fn invalid_utf8_is_refused() {
    let mut file = build(&conv_model());
    let at = file.windows(7).position(|w| w == b"weights").expect("a tensor is named `weights`");
    file[at] = 0xff;
    let e = read(&file).unwrap_err();
    assert!(matches!(e, TfliteError::NotAFlatbuffer(ref m) if m.contains("Utf8")), "{e}");
    assert!(!e.to_string().contains('\n'));
}

/// Every prefix and every single-byte corruption (three ways) of a small model: no panic, a
/// prefix reads as the whole model or not at all, and nothing is out of bounds in what reads.
#[test]
fn every_corruption_of_a_small_model() {
    let file = build(&conv_model());
    let whole = read(&file).expect("the model reads");
    for len in 0..file.len() {
        match read(&file[..len]) {
            Ok(g) => assert_eq!(g, whole, "prefix of {len} bytes"),
            Err(TfliteError::TooShort { .. } | TfliteError::NotAFlatbuffer(_)) => {}
            Err(e) => panic!("prefix of {len} bytes: {e}"),
        }
    }
    let mut corrupted = file.clone();
    for position in 0..file.len() {
        for flip in [0x01, 0x80, 0xff] {
            corrupted[position] ^= flip;
            if let Ok(g) = read(&corrupted) {
                super::check_invariants(&g);
            }
            corrupted[position] = file[position];
        }
    }
}
