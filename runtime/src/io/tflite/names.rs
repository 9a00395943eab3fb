//! Names from TensorFlow Lite's schema, by code: builtin operators, builtin-options union
//! members and tensor types. They only label things in messages and summaries: nothing the
//! reader decides depends on them. From the schema in tflite-micro at commit 90b983c (August
//! 2026): builtin operators 0..=209, options types 0..=126, tensor types 0..=22. Each line starts
//! with the code of its first name.

/// `BuiltinOperator` names; the code is the index.
#[rustfmt::skip]
pub(super) const BUILTIN_OPERATORS: [&str; 210] = [
    /*   0 */ "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
    /*   5 */ "DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED",
    /*  10 */ "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION",
    /*  14 */ "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL",
    /*  19 */ "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
    /*  24 */ "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
    /*  29 */ "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE",
    /*  34 */ "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND",
    /*  39 */ "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
    /*  44 */ "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2",
    /*  49 */ "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST",
    /*  54 */ "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS",
    /*  59 */ "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL",
    /*  64 */ "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE",
    /*  69 */ "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG",
    /*  74 */ "SUM", "SQRT", "RSQRT", "SHAPE", "POW",
    /*  79 */ "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
    /*  84 */ "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK",
    /*  89 */ "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE",
    /*  94 */ "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
    /*  99 */ "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE",
    /* 104 */ "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS",
    /* 109 */ "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG",
    /* 114 */ "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF",
    /* 119 */ "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2",
    /* 124 */ "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM",
    /* 129 */ "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D", "IMAG",
    /* 134 */ "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
    /* 139 */ "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
    /* 144 */ "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM",
    /* 149 */ "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD",
    /* 154 */ "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN",
    /* 159 */ "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT", "STABLEHLO_LOGISTIC", "STABLEHLO_ADD",
    /* 164 */ "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE",
    /* 168 */ "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
    /* 171 */ "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE",
    /* 175 */ "STABLEHLO_ABS", "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL",
    /* 179 */ "STABLEHLO_FLOOR", "STABLEHLO_LOG", "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR",
    /* 184 */ "STABLEHLO_POWER", "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT",
    /* 188 */ "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE",
    /* 192 */ "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    /* 195 */ "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW",
    /* 199 */ "STABLEHLO_SORT", "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE",
    /* 204 */ "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE", "STABLEHLO_SHIFT_LEFT",
    /* 208 */ "STABLEHLO_CBRT", "STABLEHLO_CASE",
];

/// `BuiltinOptions` union members; the type code is the index (0 is `NONE`).
#[rustfmt::skip]
pub(super) const BUILTIN_OPTIONS: [&str; 127] = [
    /*   0 */ "NONE", "Conv2DOptions", "DepthwiseConv2DOptions", "ConcatEmbeddingsOptions",
    /*   4 */ "LSHProjectionOptions", "Pool2DOptions", "SVDFOptions", "RNNOptions",
    /*   8 */ "FullyConnectedOptions", "SoftmaxOptions", "ConcatenationOptions", "AddOptions",
    /*  12 */ "L2NormOptions", "LocalResponseNormalizationOptions", "LSTMOptions", "ResizeBilinearOptions",
    /*  16 */ "CallOptions", "ReshapeOptions", "SkipGramOptions", "SpaceToDepthOptions",
    /*  20 */ "EmbeddingLookupSparseOptions", "MulOptions", "PadOptions", "GatherOptions",
    /*  24 */ "BatchToSpaceNDOptions", "SpaceToBatchNDOptions", "TransposeOptions", "ReducerOptions",
    /*  28 */ "SubOptions", "DivOptions", "SqueezeOptions", "SequenceRNNOptions",
    /*  32 */ "StridedSliceOptions", "ExpOptions", "TopKV2Options", "SplitOptions",
    /*  36 */ "LogSoftmaxOptions", "CastOptions", "DequantizeOptions", "MaximumMinimumOptions",
    /*  40 */ "ArgMaxOptions", "LessOptions", "NegOptions", "PadV2Options",
    /*  44 */ "GreaterOptions", "GreaterEqualOptions", "LessEqualOptions", "SelectOptions",
    /*  48 */ "SliceOptions", "TransposeConvOptions", "SparseToDenseOptions", "TileOptions",
    /*  52 */ "ExpandDimsOptions", "EqualOptions", "NotEqualOptions", "ShapeOptions",
    /*  56 */ "PowOptions", "ArgMinOptions", "FakeQuantOptions", "PackOptions",
    /*  60 */ "LogicalOrOptions", "OneHotOptions", "LogicalAndOptions", "LogicalNotOptions",
    /*  64 */ "UnpackOptions", "FloorDivOptions", "SquareOptions", "ZerosLikeOptions",
    /*  68 */ "FillOptions", "BidirectionalSequenceLSTMOptions", "BidirectionalSequenceRNNOptions",
    /*  71 */ "UnidirectionalSequenceLSTMOptions", "FloorModOptions", "RangeOptions",
    /*  74 */ "ResizeNearestNeighborOptions", "LeakyReluOptions", "SquaredDifferenceOptions",
    /*  77 */ "MirrorPadOptions", "AbsOptions", "SplitVOptions", "UniqueOptions",
    /*  81 */ "ReverseV2Options", "AddNOptions", "GatherNdOptions", "CosOptions",
    /*  85 */ "WhereOptions", "RankOptions", "ReverseSequenceOptions", "MatrixDiagOptions",
    /*  89 */ "QuantizeOptions", "MatrixSetDiagOptions", "HardSwishOptions", "IfOptions",
    /*  93 */ "WhileOptions", "DepthToSpaceOptions", "NonMaxSuppressionV4Options",
    /*  96 */ "NonMaxSuppressionV5Options", "ScatterNdOptions", "SelectV2Options", "DensifyOptions",
    /* 100 */ "SegmentSumOptions", "BatchMatMulOptions", "CumsumOptions", "CallOnceOptions",
    /* 104 */ "BroadcastToOptions", "Rfft2dOptions", "Conv3DOptions", "HashtableOptions",
    /* 108 */ "HashtableFindOptions", "HashtableImportOptions", "HashtableSizeOptions", "VarHandleOptions",
    /* 112 */ "ReadVariableOptions", "AssignVariableOptions", "RandomOptions", "BucketizeOptions",
    /* 116 */ "GeluOptions", "DynamicUpdateSliceOptions", "UnsortedSegmentProdOptions",
    /* 119 */ "UnsortedSegmentMaxOptions", "UnsortedSegmentMinOptions", "UnsortedSegmentSumOptions",
    /* 122 */ "ATan2Options", "SignOptions", "BitcastOptions", "BitwiseXorOptions",
    /* 126 */ "RightShiftOptions",
];

/// `TensorType` names; the code is the index.
#[rustfmt::skip]
pub(super) const TENSOR_TYPES: [&str; 23] = [
    /*   0 */ "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING",
    /*   6 */ "BOOL", "INT16", "COMPLEX64", "INT8", "FLOAT64", "COMPLEX128",
    /*  12 */ "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4",
    /*  18 */ "BFLOAT16", "INT2", "UINT4", "FLOAT8_E4M3FN", "FLOAT8_E5M2",
];
