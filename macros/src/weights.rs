//! Weights baked in at compile time: `#[model(weights = "file.safetensors")]`.
//!
//! The macro reads the safetensors file while it expands, checks it against the declared
//! layers exactly as a run-time load would (every tensor present under its state-dict key,
//! with PyTorch's shape and the model's dtype, and nothing else in the file), and emits
//!
//! ```text
//! impl Name { pub const TRAINED: Self = Self { layer0: Dense { weight: …, bias: … }, … }; }
//! ```
//!
//! with every parameter written as an exact float literal (Rust prints the shortest
//! decimal that reads back to the same bits), already in the runtime's memory layout, so
//! nothing is parsed or transposed at run time and `static MODEL: Name = Name::TRAINED;`
//! puts the weights in read-only memory. An `include_bytes!` of the file makes cargo
//! rebuild the crate when the file changes.
//!
//! A relative path is resolved from the directory of the source file holding the
//! `model!` call, as `include_bytes!` resolves its argument.
//!
//! Adding a layer kind with parameters means extending [`layer_tensors`] (what the file
//! must hold for it) and [`layer_value`] (how its runtime value is written).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};
use safetensors::{Dtype, SafeTensors};
use syn::LitStr;

use crate::check::{Layer, LayerKind, Model, Shape};

/// How many tensor names an error lists before eliding the rest.
const LISTED_NAMES: usize = 10;

/// One parameter tensor of a layer, as a weight file holds it.
pub struct TensorSpec {
    /// The parameter's name within the layer: the key is `label.param`.
    pub param: &'static str,
    /// Its shape in PyTorch's convention (row-major in the file).
    pub shape: Vec<usize>,
}

/// The tensors `layer` holds, in the order its runtime type stores them (its
/// `Parameters::visit` order). Empty for layers without parameters.
pub fn layer_tensors(layer: &Layer) -> Vec<TensorSpec> {
    match layer.kind {
        LayerKind::Dense => vec![
            TensorSpec { param: "weight", shape: vec![layer.output, layer.input] },
            TensorSpec { param: "bias", shape: vec![layer.output] },
        ],
        LayerKind::Conv2d(conv) => match (layer.input_shape, layer.output_shape) {
            (Shape::Image { c, .. }, Shape::Image { c: oc, .. }) => vec![
                TensorSpec { param: "weight", shape: vec![oc, c, conv.kh, conv.kw] },
                TensorSpec { param: "bias", shape: vec![oc] },
            ],
            _ => Vec::new(),
        },
        LayerKind::Activation(_)
        | LayerKind::MaxPool(_)
        | LayerKind::AvgPool(_)
        | LayerKind::GlobalAvgPool
        | LayerKind::Flatten
        | LayerKind::Residual(_) => Vec::new(),
    }
}

/// The constant expression building `layer`'s runtime value from its tensors, given in
/// [`layer_tensors`] order as row-major element literals.
fn layer_value(model: &Model, layer: &Layer, tensors: &[Vec<TokenStream>]) -> TokenStream {
    let krate = &model.krate;
    let na = quote!(#krate::__private::nalgebra);
    match (&layer.kind, tensors) {
        (LayerKind::Dense, [weight, bias]) => {
            // nalgebra stores the `O × I` weight column-major: PyTorch's `[O, I]` transposed.
            let weight = column_major(weight, layer.output, layer.input);
            quote! {
                #krate::Dense {
                    weight: #na::SMatrix::from_array_storage(#na::ArrayStorage(#weight)),
                    bias: #na::SMatrix::from_array_storage(#na::ArrayStorage([[#(#bias),*]])),
                }
            }
        }
        (LayerKind::Conv2d(_), [weight, bias]) => {
            // The `K × OC` weight is stored column-major, which is PyTorch's row-major
            // `[OC, C, KH, KW]`: each output channel's kernel is one column.
            let taps = weight.len() / bias.len().max(1);
            let columns = weight.chunks(taps.max(1)).map(|column| quote!([#(#column),*]));
            quote! {
                #krate::Conv2d {
                    weight: #na::SMatrix::from_array_storage(#na::ArrayStorage([#(#columns),*])),
                    bias: #na::SMatrix::from_array_storage(#na::ArrayStorage([[#(#bias),*]])),
                }
            }
        }
        // `layer_tensors` lists no tensors for these, so they have no field to fill.
        _ => quote!(()),
    }
}

/// `[[col 0], [col 1], …]`: the `rows × cols` row-major `data` as nalgebra's array storage.
fn column_major(data: &[TokenStream], rows: usize, cols: usize) -> TokenStream {
    let columns = (0..cols).map(|c| {
        let column = (0..rows).map(|r| &data[r * cols + c]);
        quote!([#(#column),*])
    });
    quote!([#(#columns),*])
}

/// The `TRAINED` constant for a model with a `weights` option (nothing without one).
///
/// On an error in the file, the errors are emitted together with a `TRAINED` equal to
/// `ZERO`, so that code using the constant reports nothing beyond the real problem. When
/// the declaration itself has errors (`spec_ok` false) the file is not checked against it.
pub fn expand(model: &Model, spec_ok: bool) -> TokenStream {
    let Some(file) = &model.weights else { return TokenStream::new() };
    let result = if spec_ok { bake(model, file) } else { Err(None) };
    result.unwrap_or_else(|error| {
        let (ident, error) = (model.ident, error.map(|e| e.to_compile_error()));
        quote! {
            #error
            impl #ident {
                #[allow(missing_docs)]
                pub const TRAINED: Self = Self::ZERO;
            }
        }
    })
}

/// Reads and checks the file, then writes the constant.
fn bake(model: &Model, file: &LitStr) -> Result<TokenStream, Option<syn::Error>> {
    let written = file.value();
    let fail = |message: String| syn::Error::new(file.span(), message);
    let path = resolve(file);
    let bytes = std::fs::read(&path).map_err(|e| {
        Some(fail(format!(
            "cannot read weight file `{written}`: {e}; a relative path is resolved from the \
             directory of the source file holding this `model!`, as `include_bytes!` does"
        )))
    })?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Some(fail(format!("weight file `{written}` is not a valid safetensors file: {e}"))))?;

    let scalar = model.scalar.to_string();
    let dtype = if scalar == "f64" { Dtype::F64 } else { Dtype::F32 };
    let mut errors: Vec<String> = Vec::new();
    let mut wrong_dtype: Vec<(String, Dtype)> = Vec::new();
    let mut expected = BTreeSet::new();
    let mut fields = Vec::new();
    for layer in model.param_layers() {
        let mut tensors = Vec::new();
        let mut missing = Vec::new();
        for spec in layer_tensors(layer) {
            let key = format!("{}.{}", layer.label, spec.param);
            expected.insert(key.clone());
            let Ok(view) = st.tensor(&key) else {
                missing.push(format!("`{key}`"));
                continue;
            };
            if view.shape() != spec.shape.as_slice() {
                errors.push(format!(
                    "weight file `{written}`: tensor `{key}` has shape {:?} in the file, but layer `{}` \
                     ({}) expects {:?}",
                    view.shape(),
                    layer.label,
                    layer.describe(),
                    spec.shape
                ));
            } else if view.dtype() != dtype {
                wrong_dtype.push((key, view.dtype()));
            } else {
                let values = literals(dtype == Dtype::F64, view.data());
                let expected_len: usize = spec.shape.iter().product();
                if values.len() != expected_len {
                    // safetensors validates this; a file that slips through is corrupt.
                    errors.push(format!(
                        "weight file `{written}`: tensor `{key}` holds {} values, but its shape {:?} \
                         needs {expected_len}",
                        values.len(),
                        spec.shape
                    ));
                }
                tensors.push(values);
            }
        }
        if !missing.is_empty() {
            let available = sorted_names(st.names().into_iter().map(str::to_string));
            let held = if available.is_empty() {
                "the file holds no tensors".to_string()
            } else {
                format!("the file holds {}", list(&available))
            };
            let (what, verb) = if missing.len() == 1 { ("tensor", "is") } else { ("tensors", "are") };
            errors.push(format!(
                "weight file `{written}`: {what} {} of layer `{}` ({}) {verb} missing; {held}",
                missing.join(" and "),
                layer.label,
                layer.describe()
            ));
        }
        if errors.is_empty() && wrong_dtype.is_empty() {
            let (field, value) = (&layer.field, layer_value(model, layer, &tensors));
            fields.push(quote!(#field: #value));
        }
    }
    if let Some((key, found)) = wrong_dtype.first() {
        let others = match wrong_dtype.len() {
            1 => String::new(),
            2 => " (as does 1 more tensor)".to_string(),
            n => format!(" (as do {} more tensors)", n - 1),
        };
        let fix = match found {
            Dtype::F32 => "declare `#[model(scalar = f32)]` to match the file, or convert the file",
            Dtype::F64 => "declare `#[model(scalar = f64)]` to match the file, or convert the file",
            _ => "convert the file to F32 or F64",
        };
        errors.push(format!(
            "weight file `{written}`: tensor `{key}` has dtype {found:?}{others}, but a model of `{scalar}` \
             needs {dtype:?}; dtypes are never converted: {fix}"
        ));
    }
    let unexpected =
        sorted_names(st.names().into_iter().filter(|n| !expected.contains(*n)).map(str::to_string));
    if !unexpected.is_empty() {
        errors.push(format!(
            "weight file `{written}` holds {} tensor{} the model does not declare: {}",
            unexpected.len(),
            if unexpected.len() == 1 { "" } else { "s" },
            list(&unexpected)
        ));
    }
    if let Some((first, rest)) = errors.split_first() {
        let mut error = fail(first.clone());
        for message in rest {
            error.combine(fail(message.clone()));
        }
        return Err(Some(error));
    }

    let ident = model.ident;
    let doc = format!(
        " The parameters stored in `{written}`, baked in at compile time (no parsing at run \
         time). Use it in a `static` (`static MODEL: {ident} = {ident}::TRAINED;`) to keep the \
         weights in read-only memory rather than copying them onto the stack."
    );
    // Only a path rustc can open from anywhere makes `include_bytes!` track the file.
    let tracked = std::path::absolute(&path).ok().and_then(|p| p.to_str().map(str::to_string));
    let track = tracked.map(|p| {
        quote!(
            const _: &[u8] = ::core::include_bytes!(#p);
        )
    });
    Ok(quote! {
        impl #ident {
            #[doc = #doc]
            pub const TRAINED: Self = Self { #(#fields,)* };
        }
        #track
    })
}

/// Where the file named by `file` is: relative paths are taken from the directory of the
/// source file holding the literal (or, when the compiler cannot tell which file that is,
/// from the crate's manifest directory).
fn resolve(file: &LitStr) -> PathBuf {
    let written = PathBuf::from(file.value());
    if written.is_absolute() {
        return written;
    }
    let base = file
        .span()
        .local_file()
        .and_then(|source| source.parent().map(Path::to_path_buf))
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from))
        .unwrap_or_default();
    base.join(written)
}

/// Every element of a tensor as an exact literal of the model's type, in row-major order
/// (`f64` when `wide`, else `f32`). Non-finite values, which have no literal, are written
/// as `from_bits` of their exact bit pattern.
fn literals(wide: bool, data: &[u8]) -> Vec<TokenStream> {
    if wide {
        let value = |b: &[u8]| {
            let x = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            if x.is_finite() {
                Literal::f64_suffixed(x).into_token_stream()
            } else {
                let bits = Literal::u64_suffixed(x.to_bits());
                quote!(::core::primitive::f64::from_bits(#bits))
            }
        };
        data.chunks_exact(8).map(value).collect()
    } else {
        let value = |b: &[u8]| {
            let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if x.is_finite() {
                Literal::f32_suffixed(x).into_token_stream()
            } else {
                let bits = Literal::u32_suffixed(x.to_bits());
                quote!(::core::primitive::f32::from_bits(#bits))
            }
        };
        data.chunks_exact(4).map(value).collect()
    }
}

/// Names sorted, for stable messages.
fn sorted_names(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.collect();
    names.sort_unstable();
    names
}

/// `` `a`, `b`, … and N more ``.
fn list(names: &[String]) -> String {
    let mut out = names.iter().take(LISTED_NAMES).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.len() > LISTED_NAMES {
        out.push_str(&format!(" and {} more", names.len() - LISTED_NAMES));
    }
    out
}
