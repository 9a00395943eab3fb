//! The options tables of the synthetic models: each decoded, each checked, and the
//! quantization parameters.

use super::*;

#[test]
fn options_are_checked() {
    let with_options = |code: u8, fields: Option<Vec<Field>>| {
        let mut spec = conv_model();
        sg(&mut spec).operators[0].options = Some((code, fields));
        spec
    };
    let e = error(&with_options(5, Some(vec![Field::I32(1, 1)])));
    assert_eq!(
        e.to_string(),
        "operator 0 (CONV_2D): builtin options are Pool2DOptions (type 5), expected Conv2DOptions"
    );

    let mut spec = conv_model();
    sg(&mut spec).operators[0].options = None;
    let e = error(&spec);
    assert_eq!(
        e,
        TfliteError::WrongOptions { operator: 0, op: Op::Conv2d, expected: "Conv2DOptions", found: 0 }
    );
    assert!(e.to_string().contains("builtin options are NONE (type 0)"), "{e}");

    // Strides default to 0, which is refused.
    let e = error(&with_options(1, Some(vec![Field::I8(0, 1)])));
    assert_eq!(e.to_string(), "operator 0 (CONV_2D): option stride_h = 0 is out of range");
    let e = error(&with_options(1, Some(vec![Field::I8(0, 2), Field::I32(1, 1), Field::I32(2, 1)])));
    assert_eq!(e, TfliteError::BadOption { operator: 0, op: Op::Conv2d, field: "padding", value: 2 });
    let fields = vec![Field::I32(1, 1), Field::I32(2, 1), Field::I32(5, -1)];
    assert!(matches!(
        error(&with_options(1, Some(fields))),
        TfliteError::BadOption { field: "dilation_h_factor", .. }
    ));

    // A union type without its value is refused by the verifier.
    let e = error(&with_options(1, None));
    assert!(matches!(e, TfliteError::NotAFlatbuffer(ref m) if m.contains("union")), "{e}");
}

/// Each operator with an `Options` variant, built from its options table (and without one
/// where TFLite has defaults).
#[test]
fn every_decoded_options_table() {
    let with_op = |code: i32, options: Option<(u8, Option<Vec<Field>>)>| {
        let mut spec = conv_model();
        spec.opcodes[0] = (code.min(127) as i8, code);
        sg(&mut spec).operators[0].options = options;
        read_spec(&spec).map(|g| g.operators[0].options.clone())
    };
    let depthwise = vec![
        Field::I8(0, 0),
        Field::I32(1, 2),
        Field::I32(2, 3),
        Field::I32(3, 4),
        Field::I8(4, 3),
        Field::I32(5, 5),
        Field::I32(6, 6),
    ];
    assert_eq!(
        with_op(4, Some((2, Some(depthwise)))).expect("the options decode"),
        Options::DepthwiseConv2d {
            padding: Padding::Same,
            stride_h: 3,
            stride_w: 2,
            dilation_h: 6,
            dilation_w: 5,
            depth_multiplier: 4,
            activation: Activation::Relu6
        }
    );
    let pool = vec![
        Field::I8(0, 1),
        Field::I32(1, 2),
        Field::I32(2, 3),
        Field::I32(3, 4),
        Field::I32(4, 5),
        Field::I8(5, 4),
    ];
    let expected = Options::Pool2d {
        padding: Padding::Valid,
        stride_h: 3,
        stride_w: 2,
        filter_h: 5,
        filter_w: 4,
        activation: Activation::Tanh,
    };
    for code in [1, 17, 12] {
        assert_eq!(with_op(code, Some((5, Some(pool.clone())))).expect("the options decode"), expected);
    }
    assert!(matches!(with_op(17, None), Err(TfliteError::WrongOptions { expected: "Pool2DOptions", .. })));

    let fc = vec![Field::I8(0, 2), Field::I8(1, 1), Field::Bool(2, true)];
    assert_eq!(
        with_op(9, Some((8, Some(fc)))).expect("the options decode"),
        Options::FullyConnected {
            activation: Activation::ReluN1To1,
            keep_num_dims: true,
            weights_format: WeightsFormat::Shuffled4x16Int8
        }
    );
    assert_eq!(
        with_op(9, None).expect("the options decode"),
        Options::FullyConnected {
            activation: Activation::None,
            keep_num_dims: false,
            weights_format: WeightsFormat::Default
        }
    );
    assert_eq!(
        with_op(0, Some((11, Some(vec![Field::I8(0, 5)])))).expect("the options decode"),
        Options::Add { activation: Activation::SignBit }
    );
    assert_eq!(
        with_op(0, Some((11, Some(vec![Field::I8(0, 9)])))).expect("the options decode"),
        Options::Add { activation: Activation::Other(9) }
    );
    assert_eq!(with_op(0, None).expect("the options decode"), Options::Add { activation: Activation::None });
    assert_eq!(
        with_op(25, Some((9, Some(vec![Field::F32(0, 0.5)])))).expect("the options decode"),
        Options::Softmax { beta: 0.5 }
    );
    // The schema's default beta, also what TFLite uses without options.
    assert_eq!(
        with_op(25, Some((9, Some(vec![])))).expect("the options decode"),
        Options::Softmax { beta: 0.0 }
    );
    assert_eq!(with_op(25, None).expect("the options decode"), Options::Softmax { beta: 0.0 });
    assert_eq!(
        with_op(22, Some((17, Some(vec![Field::Ints(0, vec![1, -1])])))).expect("the options decode"),
        Options::Reshape { new_shape: Some(vec![1, -1]) }
    );
    assert_eq!(
        with_op(22, Some((17, Some(vec![])))).expect("the options decode"),
        Options::Reshape { new_shape: None }
    );
    assert!(matches!(
        with_op(25, Some((11, Some(vec![])))),
        Err(TfliteError::WrongOptions { op: Op::Softmax, .. })
    ));

    // Operators without a variant keep the options' type code, whatever it is.
    assert_eq!(
        with_op(40, Some((27, Some(vec![Field::Bool(0, true)])))).expect("the options decode"),
        Options::Other { type_code: 27 }
    );
    assert_eq!(
        with_op(18, Some((1, Some(vec![])))).expect("the options decode"),
        Options::Other { type_code: 1 }
    );
    assert_eq!(with_op(19, None).expect("the options decode"), Options::None);
}

#[test]
fn builtin_code_is_the_larger_field() {
    let op_for = |deprecated: i8, code: i32| {
        let mut spec = conv_model();
        spec.opcodes[0] = (deprecated, code);
        sg(&mut spec).operators[0].options = None;
        read_spec(&spec).expect("the synthetic model reads").operators[0].op
    };
    // Old files set only the byte; codes above 127 only fit the int (the byte holds 127).
    assert_eq!(op_for(9, 0), Op::FullyConnected);
    assert_eq!(op_for(127, 150), Op::Other { code: 150 });
    assert_eq!(op_for(127, 150).name(), "GELU");
    assert_eq!(op_for(40, 40), Op::Mean);
}

#[test]
fn quantization() {
    let quantize = |tensor: usize, scale: &[f32], zero_point: &[i64], dimension: i32| {
        let mut spec = conv_model();
        let q = Quant { scale: scale.to_vec(), zero_point: zero_point.to_vec(), dimension };
        sg(&mut spec).tensors[tensor].quant = Some(q);
        read_spec(&spec).map(|g| g.tensors[tensor].quantization.clone())
    };
    let q = quantize(1, &[0.5, 0.25], &[0], 0).expect("the model reads").expect("the tensor is quantized");
    assert_eq!(
        (q.scale.as_slice(), q.zero_point.as_slice(), q.quantized_dimension),
        (&[0.5, 0.25][..], &[0, 0][..], 0)
    );
    assert!(q.is_per_channel() && q.min.is_empty());
    let q = quantize(0, &[0.1], &[-128], 0).expect("the model reads").expect("the tensor is quantized");
    assert_eq!((q.zero_point.as_slice(), q.is_per_channel()), (&[-128][..], false));
    // No zero points: not quantized (as TFLite Micro).
    assert_eq!(quantize(0, &[0.1], &[], 0), Ok(None));
    assert_eq!(quantize(0, &[], &[], 0), Ok(None));

    let e = quantize(1, &[0.5, 0.25, 0.125], &[0], 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor 1 'weights': 3 quantization scales along dimension 0 do not fit shape [2, 3, 3, 1]"
    );
    let e = quantize(1, &[0.5, 0.25], &[0, 0, 0], 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor 1 'weights': quantization has 2 scales but 3 zero points (must be 1 or as many)"
    );
    assert!(matches!(
        quantize(1, &[0.5, 0.25], &[0], 4),
        Err(TfliteError::QuantizedDimension { dimension: 4, .. })
    ));
    assert!(matches!(
        quantize(1, &[0.5], &[0], -1),
        Err(TfliteError::QuantizedDimension { dimension: -1, .. })
    ));
}
