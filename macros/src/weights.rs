//! Weights baked in at compile time: `#[model(weights = "file.safetensors")]`.
//!
//! The macro reads the safetensors file while it expands, checks it against the declared
//! layers exactly as a run-time load would (every tensor present under its state-dict key,
//! with PyTorch's shape and the model's dtype, and nothing else in the file), and emits
//!
//! ```text
//! impl Name { pub const TRAINED: Self = unsafe { transmute::<[f32; LEN], Self>([…]) }; }
//! ```
//!
//! with every parameter written as an exact float literal (Rust prints the shortest
//! decimal that reads back to the same bits), already in the runtime's memory layout, so
//! nothing is parsed or transposed at run time and `static MODEL: Name = Name::TRAINED;`
//! puts the weights in read-only memory. An `include_bytes!` of the file makes cargo
//! rebuild the crate when the file changes.
//!
//! A relative path is resolved from the directory of the source file holding the
//! `model!` call, as `include_bytes!` resolves its argument, and, if no such file is there
//! (or the compiler is too old to say which source file that is: before Rust 1.88), from
//! the crate's manifest directory.
//!
//! Nothing here depends on the kind of a layer: each [`Kind`](crate::layers::Kind) lists
//! its tensors ([`TensorSpec`](crate::layers::TensorSpec)) with their PyTorch shapes and whether the runtime stores
//! them transposed, and the model's memory is those tensors one after the other (the
//! `Parameters` layout the size assertion of [`expand`](crate::expand) proves), so the
//! constant is one array of the model's length reinterpreted as the model.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};
use safetensors::{Dtype, SafeTensors};
use syn::LitStr;

use crate::ctxt::Ctxt;
use crate::ir::Model;

/// The largest safetensors header, as the `safetensors` crate caps it.
const MAX_HEADER: u64 = 100_000_000;

/// How many tensor names an error lists before eliding the rest.
const LISTED_NAMES: usize = 10;

/// The `TRAINED` constant for a model with a `weights` option (nothing without one).
///
/// Problems with the file are recorded in `cx`, and then `TRAINED` equals `ZERO`, so that
/// code using the constant reports nothing beyond the real problem. When the declaration
/// itself has errors (`cx` not clean) the file is not checked against it.
pub fn expand(cx: &mut Ctxt, model: &Model) -> TokenStream {
    let Some(file) = &model.weights else { return TokenStream::new() };
    let baked = if cx.is_clean() { bake(cx, model, file) } else { None };
    let ident = model.ident;
    baked.unwrap_or_else(|| {
        quote! {
            impl #ident {
                #[allow(missing_docs)]
                pub const TRAINED: Self = Self::ZERO;
            }
        }
    })
}

/// Reads and checks the file, then writes the constant; `None` after recording what is
/// wrong with the file.
fn bake(cx: &mut Ctxt, model: &Model, file: &LitStr) -> Option<TokenStream> {
    let written = file.value();
    if cfg!(fuzzing) {
        // A fuzz target must not read arbitrary paths (`/dev/zero`); the file checks are
        // fuzzed through the runtime's loader (`fuzz/fuzz_targets/safetensors.rs`).
        cx.error(file.span(), format_args!("weight file `{written}` is not read when fuzzing"));
        return None;
    }
    let path = resolve(file);
    // The file holds a header (which safetensors caps at 100 MB) and the model's parameters,
    // at most 8 bytes each: reading no further keeps a wrong path (`/dev/zero`, a data set)
    // from exhausting the compiler's memory.
    let count = model.param_count();
    let max = (count as u64).saturating_mul(8).saturating_add(MAX_HEADER + 8);
    let read = std::fs::File::open(&path).and_then(|f| {
        let mut bytes = Vec::new();
        f.take(max + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    let bytes = match read {
        Ok(bytes) if bytes.len() as u64 > max => {
            cx.error(
                file.span(),
                format_args!(
                    "weight file `{written}` is larger than {max} bytes, more than a safetensors header \
                     and the model's {count} parameters take; is it the right file?"
                ),
            );
            return None;
        }
        Ok(bytes) => bytes,
        Err(e) => {
            cx.error(
                file.span(),
                format_args!(
                    "cannot read weight file `{written}`: {e}; a relative path is resolved from the \
                     directory of the source file holding this `model!`, as `include_bytes!` \
                     does, then from the crate's manifest directory"
                ),
            );
            return None;
        }
    };
    let st = match SafeTensors::deserialize(&bytes) {
        Ok(st) => st,
        Err(e) => {
            cx.error(
                file.span(),
                format_args!("weight file `{written}` is not a valid safetensors file: {e}"),
            );
            return None;
        }
    };

    let scalar = model.scalar.to_string();
    let dtype = if scalar == "f64" { Dtype::F64 } else { Dtype::F32 };
    let mut errors: Vec<String> = Vec::new();
    let mut wrong_dtype: Vec<(String, Dtype)> = Vec::new();
    let mut expected = BTreeSet::new();
    let mut values = Vec::new();
    let wide = dtype == Dtype::F64;
    for layer in model.param_layers() {
        // What other frameworks store for the layer and it does not keep: accepted, unread.
        let ignored = layer.kind().map_or(&[][..], |k| k.ignored_tensors());
        expected.extend(ignored.iter().map(|param| format!("{}.{param}", layer.label)));
        if let Some(norm) = &layer.folded {
            expected.extend(norm.ignored.iter().map(|param| format!("{}.{param}", norm.label)));
        }
        let mut missing = Vec::new();
        // Checks that `key` is in the file with `shape`, the model's dtype and (unless
        // allowed) finite values: its bytes, or `None` after recording why not.
        let mut check = |key: String, shape: &[usize]| {
            expected.insert(key.clone());
            let Ok(view) = st.tensor(&key) else {
                missing.push(format!("`{key}`"));
                return None;
            };
            if view.shape() != shape {
                errors.push(format!(
                    "weight file `{written}`: tensor `{key}` has shape {:?} in the file, but layer `{}` \
                     ({}) expects {shape:?}",
                    view.shape(),
                    layer.label,
                    layer.describe(),
                ));
                return None;
            }
            if view.dtype() != dtype {
                wrong_dtype.push((key, view.dtype()));
                return None;
            }
            let checked = !model.allow_non_finite;
            if let Some((index, value)) = checked.then(|| first_non_finite(wide, view.data())).flatten() {
                errors.push(format!(
                    "weight file `{written}`: tensor `{key}` holds {value} at index {index}; NaN and \
                     infinite weights are refused (`#[model(weights = \"…\", allow_non_finite)]` \
                     bakes them as they are)"
                ));
            }
            let count = shape.iter().product::<usize>();
            if view.data().len() != count * if wide { 8 } else { 4 } {
                // safetensors validates this; a file that slips through is corrupt.
                errors.push(format!(
                    "weight file `{written}`: tensor `{key}` does not hold the {count} values of its shape"
                ));
                return None;
            }
            Some(view.data())
        };
        // A batch norm folded into the layer: its inference map, per channel.
        let fold = layer.folded.as_ref().and_then(|norm| {
            let shape = [norm.channels];
            let [g, b, m, v] = ["weight", "bias", "running_mean", "running_var"]
                .map(|param| check(format!("{}.{param}", norm.label), &shape).map(|data| decode(wide, data)));
            let (g, b, m, v) = (g?, b?, m?, v?);
            let scale: Vec<f64> = (0..norm.channels).map(|c| g[c] / (v[c] + norm.eps).sqrt()).collect();
            let shift = (0..norm.channels).map(|c| b[c] - m[c] * scale[c]).collect::<Vec<f64>>();
            Some((scale, shift))
        });
        for spec in layer.tensors() {
            let Some(data) = check(format!("{}.{}", layer.label, spec.param), &spec.shape) else { continue };
            let tensor = match (&fold, spec.param) {
                // Output channel first in PyTorch's shape: a run of `len / channels` values each.
                (Some((scale, _)), "weight") => {
                    let run = spec.len() / scale.len().max(1);
                    let weights = decode(wide, data).into_iter().enumerate();
                    weights.map(|(i, w)| literal(wide, w * scale[i / run.max(1)])).collect()
                }
                (Some((scale, shift)), "bias") => {
                    let biases = decode(wide, data).into_iter().zip(scale.iter().zip(shift));
                    biases.map(|(b, (s, t))| literal(wide, s * b + t)).collect()
                }
                _ => literals(wide, data),
            };
            if spec.transposed && spec.shape.len() == 2 {
                let (rows, cols) = (spec.shape[0], spec.shape[1]);
                values.extend(
                    (0..cols).flat_map(|c| (0..rows).map(move |r| r * cols + c)).map(|i| tensor[i].clone()),
                );
            } else {
                values.extend(tensor);
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
    if !errors.is_empty() {
        for message in errors {
            cx.error(file.span(), message);
        }
        return None;
    }

    let (ident, t, len) = (model.ident, &model.scalar, Literal::usize_unsuffixed(values.len()));
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
    Some(quote! {
        impl #ident {
            #[doc = #doc]
            #[doc = ""]
            /// SAFETY of the `transmute`: the model is its tensors' scalars one after the other,
            /// with no padding (asserted where it implements `Parameters`), any bits are a valid
            /// float, and `transmute` checks that the sizes agree.
            pub const TRAINED: Self = unsafe { ::core::mem::transmute::<[#t; #len], Self>([#(#values),*]) };
        }
        #track
    })
}

/// Where the file named by `file` is: a relative path is taken from the directory of the
/// source file holding the literal if the file is there, else from the crate's manifest
/// directory (the only base a compiler before Rust 1.88 can tell; a path written relative
/// to the manifest directory therefore works on every compiler).
pub fn resolve(file: &LitStr) -> PathBuf {
    let written = PathBuf::from(file.value());
    if written.is_absolute() {
        return written;
    }
    let from_source = file.span().local_file().and_then(|source| Some(source.parent()?.join(&written)));
    let from_manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(|dir| PathBuf::from(dir).join(&written));
    match (from_source, from_manifest) {
        (Some(path), Some(fallback)) if !path.exists() && fallback.exists() => fallback,
        (Some(path), _) | (None, Some(path)) => path,
        (None, None) => written,
    }
}

/// The first NaN or infinity of little-endian data (`f64` when `wide`, else `f32`): its index
/// (in file order) and value.
fn first_non_finite(wide: bool, data: &[u8]) -> Option<(usize, f64)> {
    let size = if wide { 8 } else { 4 };
    data.chunks_exact(size)
        .map(|b| match b.try_into() {
            Ok(b8) if wide => f64::from_le_bytes(b8),
            _ => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        })
        .enumerate()
        .find(|(_, x)| !x.is_finite())
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

/// The values of little-endian data (`f64` when `wide`, else `f32`, widened exactly).
fn decode(wide: bool, data: &[u8]) -> Vec<f64> {
    if wide {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect()
    } else {
        data.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect()
    }
}

/// A computed value as a literal of the model's type (`f64` when `wide`, else rounded once
/// to `f32`).
fn literal(wide: bool, x: f64) -> TokenStream {
    let bits = if wide { x.to_le_bytes().to_vec() } else { (x as f32).to_le_bytes().to_vec() };
    literals(wide, &bits).into_iter().next().unwrap_or_default()
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
