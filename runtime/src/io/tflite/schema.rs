//! Zero-copy accessors for the part of TensorFlow Lite's flatbuffer schema that the reader
//! uses, written by hand in the style of `flatc --rust` output: a struct wrapping
//! [`flatbuffers::Table`] per table, `VT_*` vtable slots (`4 + 2 * field id`), and
//! [`Follow`] and [`Verifiable`] impls. `schema.fbs` beside this file lists the same subset
//! with TFLite's field ids (flatc 2.0.8 generates the same slots from it, but its Rust output
//! does not compile against flatbuffers 25, hence the hand-written code).
//!
//! # Safety
//!
//! `Table::get` is `unsafe`: it trusts that the slot holds the type asked for and that the
//! offsets inside are in bounds. Both hold here because:
//!
//! 1. an accessor struct is only ever made by `Follow`, from the root returned by
//!    [`flatbuffers::root_with_opts`] (which runs [`Verifiable::run_verifier`] over the buffer
//!    first) or from a field of a table so reached, and the `Verifiable` impls visit every field that
//!    an accessor reads, recursively, so the whole reachable tree has been checked;
//! 2. the `tables!` macro generates each field's accessor and its verification step from one
//!    line, with the same slot and the same flatbuffers type, so they cannot disagree; the one
//!    hand-written pair, the `builtin_options` union, reads a member table only when the
//!    union's type field holds that member's code, which `verify_builtin_options` checked the
//!    value against, both from the same `options_union!` line.

use flatbuffers::{
    Follow, ForwardsUOffset, InvalidFlatbuffer, Table, TableVerifier, VOffsetT, Vector, Verifiable, Verifier,
};

/// The vtable slot of field `id`: the vtable starts with its own size and the table's size.
const fn slot(id: VOffsetT) -> VOffsetT {
    4 + 2 * id
}

/// Declares accessor structs. Each field line is `name(VT_CONST = field_id): Type` for an
/// offset field (the accessor returns `Option<Type::Inner>`) or `... : Type = default` for a
/// scalar (the accessor returns the value, or the schema default when absent).
macro_rules! tables {
    ($(
        $(#[$meta:meta])*
        $name:ident {
            $( $field:ident($vt:ident = $id:literal): $ty:ty $(= $default:expr)?; )*
        } $(+ $extra:path)?
    )*) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy)]
        pub(super) struct $name<'a>(
            #[allow(dead_code, reason = "SparsityParameters reads no field")] Table<'a>,
        );

        impl<'a> Follow<'a> for $name<'a> {
            type Inner = Self;

            unsafe fn follow(buf: &'a [u8], loc: usize) -> Self {
                // SAFETY: `Follow::follow`'s contract: the caller has a verified table of this
                // type at `loc` (see the module comment).
                Self(unsafe { Table::new(buf, loc) })
            }
        }

        impl<'a> $name<'a> {
            $( const $vt: VOffsetT = slot($id); )*

            $( accessor!($field, $vt, $ty $(, $default)?); )*

            /// Visits every field the accessors read, as the types they read them as.
            fn verify_fields<'v, 'o, 'b>(
                table: TableVerifier<'v, 'o, 'b>,
            ) -> Result<TableVerifier<'v, 'o, 'b>, InvalidFlatbuffer> {
                $( let table = table.visit_field::<$ty>(stringify!($field), Self::$vt, false)?; )*
                Ok(table)
            }
        }

        impl Verifiable for $name<'_> {
            fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
                let table = $name::verify_fields(v.visit_table(pos)?)?;
                $( let table = $extra(table)?; )?
                table.finish();
                Ok(())
            }
        }
    )*};
}

/// One field accessor of [`tables!`].
macro_rules! accessor {
    ($field:ident, $vt:ident, $ty:ty) => {
        pub(super) fn $field(&self) -> Option<<$ty as Follow<'a>>::Inner> {
            // SAFETY: `verify_fields` visited this slot as a `$ty` (module comment).
            unsafe { self.0.get::<$ty>(Self::$vt, None) }
        }
    };
    ($field:ident, $vt:ident, $ty:ty, $default:expr) => {
        pub(super) fn $field(&self) -> $ty {
            // SAFETY: `verify_fields` visited this slot as a `$ty` (module comment).
            unsafe { self.0.get::<$ty>(Self::$vt, Some($default)) }.unwrap_or($default)
        }
    };
}

tables! {
    /// `tflite.Model`, the root table.
    Model {
        version(VT_VERSION = 0): u32 = 0;
        operator_codes(VT_OPERATOR_CODES = 1): ForwardsUOffset<Vector<'a, ForwardsUOffset<OperatorCode<'a>>>>;
        subgraphs(VT_SUBGRAPHS = 2): ForwardsUOffset<Vector<'a, ForwardsUOffset<SubGraph<'a>>>>;
        // 3: description
        buffers(VT_BUFFERS = 4): ForwardsUOffset<Vector<'a, ForwardsUOffset<Buffer<'a>>>>;
    }

    /// `tflite.OperatorCode`: which builtin operator an `Operator::opcode_index` means.
    OperatorCode {
        deprecated_builtin_code(VT_DEPRECATED_BUILTIN_CODE = 0): i8 = 0;
        // 1: custom_code, 2: version
        builtin_code(VT_BUILTIN_CODE = 3): i32 = 0;
    }

    /// `tflite.SubGraph`.
    SubGraph {
        tensors(VT_TENSORS = 0): ForwardsUOffset<Vector<'a, ForwardsUOffset<Tensor<'a>>>>;
        inputs(VT_INPUTS = 1): ForwardsUOffset<Vector<'a, i32>>;
        outputs(VT_OUTPUTS = 2): ForwardsUOffset<Vector<'a, i32>>;
        operators(VT_OPERATORS = 3): ForwardsUOffset<Vector<'a, ForwardsUOffset<Operator<'a>>>>;
        name(VT_NAME = 4): ForwardsUOffset<&'a str>;
    }

    /// `tflite.Tensor`.
    Tensor {
        shape(VT_SHAPE = 0): ForwardsUOffset<Vector<'a, i32>>;
        tensor_type(VT_TYPE = 1): i8 = 0;
        buffer(VT_BUFFER = 2): u32 = 0;
        name(VT_NAME = 3): ForwardsUOffset<&'a str>;
        quantization(VT_QUANTIZATION = 4): ForwardsUOffset<QuantizationParameters<'a>>;
        // 5: is_variable
        sparsity(VT_SPARSITY = 6): ForwardsUOffset<SparsityParameters<'a>>;
    }

    /// `tflite.QuantizationParameters`.
    QuantizationParameters {
        min(VT_MIN = 0): ForwardsUOffset<Vector<'a, f32>>;
        max(VT_MAX = 1): ForwardsUOffset<Vector<'a, f32>>;
        scale(VT_SCALE = 2): ForwardsUOffset<Vector<'a, f32>>;
        zero_point(VT_ZERO_POINT = 3): ForwardsUOffset<Vector<'a, i64>>;
        // 4, 5: details (a union: type and value)
        quantized_dimension(VT_QUANTIZED_DIMENSION = 6): i32 = 0;
    }

    /// `tflite.SparsityParameters`: only its presence is used (sparse tensors are refused), so
    /// no field is read and only the table itself is verified.
    SparsityParameters {}

    /// `tflite.Buffer`: constant data, inline or (for models over 2 GB) at `offset` from the
    /// start of the file.
    Buffer {
        data(VT_DATA = 0): ForwardsUOffset<Vector<'a, u8>>;
        offset(VT_OFFSET = 1): u64 = 0;
        size(VT_SIZE = 2): u64 = 0;
    }

    /// `tflite.Operator`.
    Operator {
        opcode_index(VT_OPCODE_INDEX = 0): u32 = 0;
        inputs(VT_INPUTS = 1): ForwardsUOffset<Vector<'a, i32>>;
        outputs(VT_OUTPUTS = 2): ForwardsUOffset<Vector<'a, i32>>;
        builtin_options_type(VT_BUILTIN_OPTIONS_TYPE = 3): u8 = 0;
        // 4: builtin_options, the union's value: see `Operator::builtin_options`.
    } + verify_builtin_options_field

    /// `tflite.Conv2DOptions`.
    Conv2DOptions {
        padding(VT_PADDING = 0): i8 = 0;
        stride_w(VT_STRIDE_W = 1): i32 = 0;
        stride_h(VT_STRIDE_H = 2): i32 = 0;
        fused_activation_function(VT_FUSED_ACTIVATION_FUNCTION = 3): i8 = 0;
        dilation_w_factor(VT_DILATION_W_FACTOR = 4): i32 = 1;
        dilation_h_factor(VT_DILATION_H_FACTOR = 5): i32 = 1;
    }

    /// `tflite.DepthwiseConv2DOptions`.
    DepthwiseConv2DOptions {
        padding(VT_PADDING = 0): i8 = 0;
        stride_w(VT_STRIDE_W = 1): i32 = 0;
        stride_h(VT_STRIDE_H = 2): i32 = 0;
        depth_multiplier(VT_DEPTH_MULTIPLIER = 3): i32 = 0;
        fused_activation_function(VT_FUSED_ACTIVATION_FUNCTION = 4): i8 = 0;
        dilation_w_factor(VT_DILATION_W_FACTOR = 5): i32 = 1;
        dilation_h_factor(VT_DILATION_H_FACTOR = 6): i32 = 1;
    }

    /// `tflite.Pool2DOptions`.
    Pool2DOptions {
        padding(VT_PADDING = 0): i8 = 0;
        stride_w(VT_STRIDE_W = 1): i32 = 0;
        stride_h(VT_STRIDE_H = 2): i32 = 0;
        filter_width(VT_FILTER_WIDTH = 3): i32 = 0;
        filter_height(VT_FILTER_HEIGHT = 4): i32 = 0;
        fused_activation_function(VT_FUSED_ACTIVATION_FUNCTION = 5): i8 = 0;
    }

    /// `tflite.FullyConnectedOptions`.
    FullyConnectedOptions {
        fused_activation_function(VT_FUSED_ACTIVATION_FUNCTION = 0): i8 = 0;
        weights_format(VT_WEIGHTS_FORMAT = 1): i8 = 0;
        keep_num_dims(VT_KEEP_NUM_DIMS = 2): bool = false;
    }

    /// `tflite.SoftmaxOptions`.
    SoftmaxOptions {
        beta(VT_BETA = 0): f32 = 0.0;
    }

    /// `tflite.AddOptions`.
    AddOptions {
        fused_activation_function(VT_FUSED_ACTIVATION_FUNCTION = 0): i8 = 0;
    }

    /// `tflite.ReshapeOptions`.
    ReshapeOptions {
        new_shape(VT_NEW_SHAPE = 0): ForwardsUOffset<Vector<'a, i32>>;
    }
}

/// A member of the `BuiltinOptions` union.
pub(super) trait OptionsTable<'a>: Follow<'a, Inner = Self> + 'a {
    /// The union's type code for this member.
    const TYPE: u8;
    /// The member's name in the schema.
    const NAME: &'static str;
}

/// Declares the decoded members of the `BuiltinOptions` union with their type codes, and the
/// verification of the union's value for them.
macro_rules! options_union {
    ($($member:ident = $code:literal,)*) => {
        $( impl<'a> OptionsTable<'a> for $member<'a> {
            const TYPE: u8 = $code;
            const NAME: &'static str = stringify!($member);
        } )*

        /// Verifies the union's value as the table its type code says, for the members decoded
        /// here; the values of other members are never read, so they are left alone.
        fn verify_builtin_options(type_code: u8, v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
            match type_code {
                $( $code => v.verify_union_variant::<ForwardsUOffset<$member>>(
                    concat!("BuiltinOptions::", stringify!($member)),
                    pos,
                ), )*
                _ => Ok(()),
            }
        }
    };
}

options_union! {
    Conv2DOptions = 1,
    DepthwiseConv2DOptions = 2,
    Pool2DOptions = 5,
    FullyConnectedOptions = 8,
    SoftmaxOptions = 9,
    AddOptions = 11,
    ReshapeOptions = 17,
}

/// The `builtin_options` union's value slot (field id 4; its type is field 3).
const VT_BUILTIN_OPTIONS: VOffsetT = slot(4);

/// Verifies `Operator`'s `builtin_options` union (type and value must both be present or both
/// absent; the value must be the table its type says).
fn verify_builtin_options_field<'v, 'o, 'b>(
    table: TableVerifier<'v, 'o, 'b>,
) -> Result<TableVerifier<'v, 'o, 'b>, InvalidFlatbuffer> {
    table.visit_union::<u8, _>(
        "builtin_options_type",
        Operator::VT_BUILTIN_OPTIONS_TYPE,
        "builtin_options",
        VT_BUILTIN_OPTIONS,
        false,
        verify_builtin_options,
    )
}

impl<'a> Operator<'a> {
    /// The options table, if the union holds a `T`.
    pub(super) fn builtin_options<T: OptionsTable<'a>>(&self) -> Option<T> {
        if self.builtin_options_type() != T::TYPE {
            return None;
        }
        // SAFETY: the type field (the same slot `verify_builtin_options_field` read) holds
        // `T::TYPE`, for which `verify_builtin_options` verified the value as a `T` table.
        unsafe { self.0.get::<ForwardsUOffset<T>>(VT_BUILTIN_OPTIONS, None) }
    }
}
