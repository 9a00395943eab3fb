//! int8 models baked in at compile time: `#[model(int8 = "file.safetensors")]`.
//!
//! The file is a quantized weights file (the runtime's `io::QuantizedWeights`: for a layer
//! labelled `L`, `L.weight` in `I8`, `L.weight_scale`, `L.bias` in `I32`, `L.scale` and
//! `L.zero_point` of its output, and `input.scale`, `input.zero_point`), as the TensorFlow
//! Lite converter writes it (`--int8-weights`). The macro reads it while it expands, checks
//! every tensor against the declared layers (present, with the layer's PyTorch shape and the
//! dtype its name calls for, nothing left over) and emits
//!
//! ```text
//! impl Name {
//!     pub const INT8_INPUT: QuantParams = …;   // how an input is quantized
//!     pub const INT8_OUTPUT: QuantParams = …;  // what the output bytes mean
//!     pub fn forward_int8(x: &[i8; IN]) -> [i8; OUT] { … }
//! }
//! ```
//!
//! `forward_int8` is straight-line: one block per layer calling TFLite's int8 kernel for it
//! (the runtime's `quant::kernels`), its constants `static`s evaluated by the compiler from
//! `include_bytes!` of the file through the runtime's `quant::baked` functions (a dense
//! weight packed, the input zero point folded into its bias, the multipliers TFLite's
//! `QuantizeMultiplier` of the scales), so the weights are in flash in the kernels' layout
//! and nothing is parsed or computed at run time. A ReLU, ReLU6 or clamp after a layer that
//! requantizes (a dense layer, a convolution, a `residual` addition) is folded into its
//! output clamp, as TFLite does. What each layer kind is in int8 is its
//! [`Kind::int8`](crate::layers::Kind::int8); a kind without an int8 kernel is an error at
//! the layer.

use std::collections::BTreeSet;
use std::io::Read;

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use safetensors::{Dtype, SafeTensors};
use syn::LitStr;

use crate::ctxt::Ctxt;
use crate::ir::{Io, Layer, Model, Op};
use crate::layers::window::Geometry;

/// The largest safetensors header, as the `safetensors` crate caps it.
const MAX_HEADER: u64 = 100_000_000;

/// The longest patch the runtime's `conv2d_packed` gathers (its `MAX_PATCH`).
const MAX_PATCH: usize = 4096;

/// What a layer is in an int8 model: which int8 kernel computes it.
pub enum Int8 {
    /// `FULLY_CONNECTED`.
    Dense,
    /// `CONV_2D`.
    Conv(Geometry),
    /// `DEPTHWISE_CONV_2D` with its channel multiplier.
    Depthwise(Geometry, usize),
    /// `MAX_POOL_2D` (`max`) or `AVERAGE_POOL_2D`.
    Pool { geometry: Geometry, max: bool },
    /// A clamp to the reals `[low, high]` (ReLU: `[0, ∞)`), folded into the clamp of a layer
    /// that requantizes, or else applied to the values as they are.
    Clamp(Option<f64>, Option<f64>),
    /// Nothing in inference (`dropout`, `identity`).
    Identity,
    /// `SOFTMAX` of the whole output (the inference head).
    Softmax,
}

/// The int8 items of a model with an `int8` option (nothing without one). Problems with the
/// file are recorded in `cx`, and then the items are stand-ins ([`fallback`]); nothing is
/// read while the declaration itself has errors.
pub fn expand(cx: &mut Ctxt, model: &Model) -> TokenStream {
    let Some(file) = &model.int8 else { return TokenStream::new() };
    let baked = if cx.is_clean() { bake(cx, model, file) } else { None };
    baked.unwrap_or_else(|| fallback(model))
}

/// The items with the same signatures, for a model whose int8 file has problems (already
/// reported): code using them reports nothing beyond the real problem.
fn fallback(model: &Model) -> TokenStream {
    let (ident, krate) = (model.ident, &model.krate);
    let (n_in, n_out) = (lit(model.input_width()), lit(model.output_width()));
    let params = quote!(#krate::quant::QuantParams { scale: 1.0, zero_point: 0 });
    quote! {
        impl #ident {
            #[allow(missing_docs)]
            pub const INT8_INPUT: #krate::quant::QuantParams = #params;
            #[allow(missing_docs)]
            pub const INT8_OUTPUT: #krate::quant::QuantParams = #params;
            #[allow(missing_docs)]
            pub const INT8_PARAM_BYTES: usize = 0;
            #[allow(missing_docs)]
            pub fn forward_int8(_: &[i8; #n_in]) -> [i8; #n_out] {
                [0; #n_out]
            }
        }
    }
}

/// Reads and checks the file, then writes the items; `None` after recording what is wrong.
fn bake(cx: &mut Ctxt, model: &Model, file: &LitStr) -> Option<TokenStream> {
    if cfg!(fuzzing) {
        cx.error(file.span(), format_args!("int8 file `{}` is not read when fuzzing", file.value()));
        return None;
    }
    let bytes = read(cx, model, file)?;
    let st = match SafeTensors::deserialize(&bytes) {
        Ok(st) => st,
        Err(e) => {
            let message = format!("int8 file `{}` is not a valid safetensors file: {e}", file.value());
            cx.error(file.span(), message);
            return None;
        }
    };
    // The tensors' data starts after the 8-byte header length and the header.
    let data_start = 8 + bytes.get(..8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let mut baker = Baker {
        model,
        st: &st,
        bytes: &bytes,
        data_start: data_start as usize,
        errors: Vec::new(),
        layer_errors: Vec::new(),
        used: BTreeSet::new(),
        param_bytes: 0,
    };
    let input = baker.params("input");
    let body = input.and_then(|input| baker.chain(&model.layers, quote!(*x), input));
    let mut unused: Vec<String> =
        st.names().into_iter().filter(|n| !baker.used.contains(*n)).map(str::to_string).collect();
    unused.sort();
    if !unused.is_empty() && baker.errors.is_empty() && baker.layer_errors.is_empty() {
        baker.errors.push(format!(
            "int8 file `{}` holds tensors the model does not use: {}",
            file.value(),
            unused.iter().take(10).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    let (errors, layer_errors) = (std::mem::take(&mut baker.errors), std::mem::take(&mut baker.layer_errors));
    let param_bytes = lit(baker.param_bytes);
    for message in &errors {
        cx.error(file.span(), format_args!("int8 file `{}`: {message}", file.value()));
    }
    for (span, message) in layer_errors {
        cx.error(span, message);
    }
    let (Some(input), Some((body, output))) = (input, body) else { return None };
    if !cx.is_clean() {
        return None;
    }
    let (ident, krate) = (model.ident, &model.krate);
    let (n_in, n_out) = (lit(model.input_width()), lit(model.output_width()));
    let (input_params, output_params) = (params_tokens(krate, input), params_tokens(krate, output));
    let Some(path) = std::path::absolute(resolve(file)).ok().and_then(|p| p.to_str().map(str::to_string))
    else {
        cx.error(file.span(), "the int8 file's path is not UTF-8, which `include_bytes!` needs");
        return None;
    };
    let written = file.value();
    let doc = format!(
        " The int8 forward pass of the model baked from `{written}` (TensorFlow Lite's int8 \
         scheme, bit for bit its reference kernels): `x` quantized as [`Self::INT8_INPUT`] \
         (`INT8_INPUT.quantize_i8(v)` for each value), the output as [`Self::INT8_OUTPUT`]. \
         The parameters are `static`s in the kernels' layout, computed by the compiler."
    );
    Some(quote! {
        impl #ident {
            /// How the int8 model's input is quantized (the int8 file's `input.scale` and
            /// `input.zero_point`).
            pub const INT8_INPUT: #krate::quant::QuantParams = #input_params;
            /// How the int8 model's output is quantized.
            pub const INT8_OUTPUT: #krate::quant::QuantParams = #output_params;
            /// The bytes of the int8 model's weights, biases and multipliers in flash.
            pub const INT8_PARAM_BYTES: usize = #param_bytes;

            #[doc = #doc]
            pub fn forward_int8(x: &[i8; #n_in]) -> [i8; #n_out] {
                #[allow(unused_imports)]
                use #krate::quant::{self as q, kernels as k};
                const FILE: &[u8] = ::core::include_bytes!(#path);
                #body
            }
        }
    })
}

/// The file's bytes, at most a header and four bytes per parameter (and per scale and bias)
/// long; `None` after recording why not.
fn read(cx: &mut Ctxt, model: &Model, file: &LitStr) -> Option<Vec<u8>> {
    let written = file.value();
    let max = (model.param_count() as u64).saturating_mul(8).saturating_add(MAX_HEADER + 8);
    let read = std::fs::File::open(resolve(file)).and_then(|f| {
        let mut bytes = Vec::new();
        f.take(max + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    match read {
        Ok(bytes) if bytes.len() as u64 > max => {
            let message = format!("int8 file `{written}` is larger than {max} bytes: is it the right file?");
            cx.error(file.span(), message);
            None
        }
        Ok(bytes) => Some(bytes),
        Err(e) => {
            let message = format!(
                "cannot read int8 file `{written}`: {e}; a relative path is resolved as for `weights`"
            );
            cx.error(file.span(), message);
            None
        }
    }
}

fn resolve(file: &LitStr) -> std::path::PathBuf {
    crate::weights::resolve(file)
}

fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// A tensor's quantization as read from the file.
#[derive(Clone, Copy, PartialEq)]
struct Params {
    scale: f32,
    zero_point: i32,
}

fn params_tokens(krate: &TokenStream, p: Params) -> TokenStream {
    let (scale, zero_point) = (Literal::f32_suffixed(p.scale), p.zero_point);
    quote!(#krate::quant::QuantParams { scale: #scale, zero_point: #zero_point })
}

/// Walks the layers, reading the file and writing the int8 steps.
struct Baker<'a> {
    model: &'a Model<'a>,
    st: &'a SafeTensors<'a>,
    bytes: &'a [u8],
    data_start: usize,
    /// Problems with the file.
    errors: Vec<String>,
    /// Layers without an int8 kernel.
    layer_errors: Vec<(Span, String)>,
    used: BTreeSet<String>,
    /// The bytes of the `static` weights, biases and multipliers written so far.
    param_bytes: usize,
}

impl Baker<'_> {
    /// The byte offset of tensor `name` in the file, checked to have `dtype` and `shape`;
    /// `None` after recording why not.
    fn tensor(&mut self, name: &str, dtype: Dtype, shape: &[usize]) -> Option<usize> {
        self.used.insert(name.to_string());
        let Ok(view) = self.st.tensor(name) else {
            self.errors.push(format!("tensor `{name}` is missing"));
            return None;
        };
        if view.dtype() != dtype {
            self.errors.push(format!("tensor `{name}` is {:?}, expected {dtype:?}", view.dtype()));
            return None;
        }
        if view.shape() != shape {
            self.errors
                .push(format!("tensor `{name}` has shape {:?}, the model expects {shape:?}", view.shape()));
            return None;
        }
        // The view borrows the file's bytes: its offset is where its data starts.
        let offset = view.data().as_ptr() as usize - self.bytes.as_ptr() as usize;
        debug_assert!(offset >= self.data_start);
        Some(offset)
    }

    /// The value of a one-element tensor.
    fn scalar(&mut self, name: &str, dtype: Dtype) -> Option<[u8; 4]> {
        let offset = self.tensor(name, dtype, &[1])?;
        self.bytes.get(offset..offset + 4)?.try_into().ok()
    }

    /// `label.scale` and `label.zero_point`.
    fn params(&mut self, label: &str) -> Option<Params> {
        let scale = f32::from_le_bytes(self.scalar(&format!("{label}.scale"), Dtype::F32)?);
        let zero_point = i32::from_le_bytes(self.scalar(&format!("{label}.zero_point"), Dtype::I32)?);
        if !(scale.is_finite() && scale > 0.0 && (-128..=127).contains(&zero_point)) {
            self.errors.push(format!(
                "`{label}` has scale {scale} and zero point {zero_point}; an int8 tensor needs a positive \
                 finite scale and a zero point in -128..=127"
            ));
            return None;
        }
        Some(Params { scale, zero_point })
    }

    /// Output quantization a layer that does not requantize may restate (the converter
    /// records every operator's output): accepted if it is the input's.
    fn restated(&mut self, layer: &Layer, input: Params) {
        if self.st.tensor(&format!("{}.scale", layer.label)).is_ok()
            && self.params(&layer.label).is_some_and(|p| p != input)
        {
            self.errors.push(format!(
                "`{}` ({}) keeps its input's quantization in int8, but the file gives it another",
                layer.label,
                layer.describe()
            ));
        }
    }

    /// The expression computing `layers` from `input` (an `[i8; N]` place), and the
    /// quantization of its result; `None` after recording what is wrong.
    fn chain(
        &mut self,
        layers: &[Layer],
        input: TokenStream,
        mut q: Params,
    ) -> Option<(TokenStream, Params)> {
        let mut expr = input;
        let mut k = 0;
        let mut ok = true;
        while k < layers.len() {
            let layer = &layers[k];
            // A clamp right after a layer that requantizes is folded into its output clamp.
            let fold = match layers
                .get(k + 1)
                .and_then(Layer::kind)
                .and_then(|kind| kind.int8(layers[k + 1].io()))
            {
                Some(Int8::Clamp(low, high)) if requantizes(layer) => {
                    self.restated(&layers[k + 1], q);
                    Some((low, high))
                }
                _ => None,
            };
            match self.step(layer, &expr, q, fold.unwrap_or((None, None))) {
                Some(Some((step, out))) => (expr, q) = (step, out),
                Some(None) => {}
                None => ok = false,
            }
            k += if fold.is_some() { 2 } else { 1 };
        }
        ok.then_some((expr, q))
    }

    /// One layer's block: `Some(None)` for a layer that changes nothing (flatten, dropout).
    fn step(
        &mut self,
        layer: &Layer,
        input: &TokenStream,
        q: Params,
        (low, high): (Option<f64>, Option<f64>),
    ) -> Option<Option<(TokenStream, Params)>> {
        let io = layer.io();
        let (n_in, n_out) = (lit(io.input.len()), lit(io.output.len()));
        let krate = &self.model.krate;
        let kind = match &layer.op {
            Op::Flatten => {
                self.restated(layer, q);
                return Some(None);
            }
            Op::Residual(block) => {
                let main = self.chain(&block.main, quote!(*x), q);
                let shortcut = self.chain(&block.shortcut, quote!(*x), q);
                let out = self.params(&layer.label);
                let ((main, qa), (shortcut, qb), out) = (main?, shortcut?, out?);
                let range = range(krate, out, low, high);
                let (a, b, o) =
                    (params_tokens(krate, qa), params_tokens(krate, qb), params_tokens(krate, out));
                let step = quote_spanned! {layer.span=> {
                    let x: &[i8; #n_in] = &#input;
                    const ADD: k::AddParams = k::AddParams::new(#a, #b, #o, #range);
                    let (a, b) = (#main, #shortcut);
                    let mut y = [0i8; #n_out];
                    k::add(&a, &b, &ADD, &mut y);
                    y
                }};
                return Some(Some((step, out)));
            }
            Op::Layer(kind) => kind,
        };
        let Some(int8) = kind.int8(io) else {
            self.layer_errors.push((
                layer.span,
                format!(
                    "`{}` has no int8 kernel, so the model cannot be baked as int8 (`#[model(int8 = …)]`)",
                    layer.describe()
                ),
            ));
            return None;
        };
        let label = &layer.label;
        let (zp_in, scale_in) = (q.zero_point, Literal::f32_suffixed(q.scale));
        let (body, out) = match int8 {
            Int8::Identity => {
                self.restated(layer, q);
                return Some(None);
            }
            Int8::Clamp(low, high) => {
                self.restated(layer, q);
                let range = range(krate, q, low, high);
                let body = quote! {
                    const RANGE: q::OutputRange = #range;
                    let mut y = *x;
                    for v in y.iter_mut() {
                        *v = (*v as i32).clamp(RANGE.min, RANGE.max) as i8;
                    }
                };
                (body, q)
            }
            Int8::Pool { geometry, max } => {
                self.restated(layer, q);
                let (window, range) = (window(io, geometry), range(krate, q, low, high));
                let kernel = if max { quote!(k::max_pool) } else { quote!(k::average_pool) };
                let body = quote! {
                    const WINDOW: k::Window = #window;
                    const RANGE: q::OutputRange = #range;
                    let mut y = [0i8; #n_out];
                    #kernel(x, &WINDOW, RANGE.min, RANGE.max, &mut y);
                };
                (body, q)
            }
            Int8::Softmax => {
                let out = self.params(label)?;
                let o = params_tokens(krate, out);
                let body = quote! {
                    let table = k::SoftmaxTable::new(#scale_in, 1.0, #o);
                    let mut y = [0i8; #n_out];
                    k::softmax(x, &table, &mut y);
                };
                (body, out)
            }
            Int8::Dense | Int8::Conv(_) | Int8::Depthwise(..) => {
                let tensors = kind.tensors(io);
                let weight_shape = tensors.first().map(|t| t.shape.clone()).unwrap_or_default();
                let outputs = io.output.chw().0;
                let weight = self.tensor(&format!("{label}.weight"), Dtype::I8, &weight_shape);
                let bias = self.tensor(&format!("{label}.bias"), Dtype::I32, &[outputs]);
                let scales_name = format!("{label}.weight_scale");
                let per_tensor = self.st.tensor(&scales_name).is_ok_and(|v| v.shape() == [1]);
                let n_scales = if per_tensor { 1 } else { outputs };
                let scales = self.tensor(&scales_name, Dtype::F32, &[n_scales]);
                let out = self.params(label);
                let (weight, bias, scales, out) = (weight?, bias?, scales?, out?);
                // Dense layers and convolutions (up to the kernel's longest patch) take their
                // weight packed, `[O, inputs]` with `inputs` each output's weights, the input
                // zero point folded into the biases; depthwise convolutions as they are.
                let per_output = weight_shape.iter().product::<usize>() / outputs.max(1);
                let packed = match int8 {
                    Int8::Dense => true,
                    Int8::Conv(_) => per_output <= MAX_PATCH,
                    _ => false,
                };
                let n_weight =
                    if packed { per_output.div_ceil(4) * 4 * outputs } else { per_output * outputs };
                // A `Requantize` is two `i32`s.
                self.param_bytes += n_weight + 4 * outputs + 8 * n_scales;
                let (n_scales, n_weight, n_bias, k_in) =
                    (lit(n_scales), lit(n_weight), lit(outputs), lit(per_output));
                let range = range(krate, out, low, high);
                let scale_out = Literal::f32_suffixed(out.scale);
                let parameters = if packed {
                    quote! {
                        static WEIGHT: [i8; #n_weight] = q::baked::packed_dense::<#n_weight>(FILE, #weight, #k_in, #n_bias);
                        static BIAS: [i32; #n_bias] = q::baked::folded_bias::<#n_bias>(FILE, #bias, #weight, #k_in, #zp_in);
                    }
                } else {
                    quote! {
                        static WEIGHT: [i8; #n_weight] = q::baked::i8s::<#n_weight>(FILE, #weight);
                        static BIAS: [i32; #n_bias] = q::baked::i32s::<#n_bias>(FILE, #bias);
                    }
                };
                let call = match int8 {
                    Int8::Dense => quote!(k::fully_connected(x, &WEIGHT, &BIAS, &REQUANTIZE, RANGE, &mut y)),
                    Int8::Conv(g) if packed => {
                        let window = window(io, g);
                        quote!(k::conv2d_packed(x, #zp_in, &WEIGHT, &BIAS, &REQUANTIZE, RANGE, &#window, &mut y))
                    }
                    Int8::Conv(g) => {
                        let window = window(io, g);
                        quote!(k::conv2d(x, #zp_in, &WEIGHT, &BIAS, &REQUANTIZE, RANGE, &#window, &mut y))
                    }
                    Int8::Depthwise(g, m) => {
                        let (window, m) = (window(io, g), lit(m));
                        quote!(k::depthwise_conv2d(x, #zp_in, &WEIGHT, &BIAS, &REQUANTIZE, RANGE, &#window, #m, &mut y))
                    }
                    _ => TokenStream::new(),
                };
                let body = quote! {
                    #parameters
                    static REQUANTIZE: [q::Requantize; #n_scales] =
                        q::baked::multipliers::<#n_scales>(FILE, #scales, #scale_in, #scale_out);
                    const RANGE: q::OutputRange = #range;
                    let mut y = [0i8; #n_out];
                    #call;
                };
                (body, out)
            }
        };
        let step = quote_spanned! {layer.span=> {
            let x: &[i8; #n_in] = &#input;
            #body
            y
        }};
        Some(Some((step, out)))
    }
}

/// The clamp `layers[k + 1]` is, if it is one.
fn clamp_after(layers: &[Layer], k: usize) -> Option<(Option<f64>, Option<f64>)> {
    let next = layers.get(k + 1)?;
    match next.kind()?.int8(next.io())? {
        Int8::Clamp(low, high) => Some((low, high)),
        _ => None,
    }
}

/// Whether `layers[k + 1]` is a clamp folded into the output clamp of `layers[k]`: a
/// clamp right after a layer that requantizes.
pub fn folded_clamp(layers: &[Layer], k: usize) -> bool {
    clamp_after(layers, k).is_some() && layers.get(k).is_some_and(requantizes)
}

/// Whether a clamp after `layer` can be folded into its output: it requantizes.
fn requantizes(layer: &Layer) -> bool {
    match &layer.op {
        Op::Residual(_) => true,
        Op::Layer(kind) => {
            matches!(kind.int8(layer.io()), Some(Int8::Dense | Int8::Conv(_) | Int8::Depthwise(..)))
        }
        Op::Flatten => false,
    }
}

/// `q::OutputRange::clamped(params, low, high)`.
fn range(krate: &TokenStream, p: Params, low: Option<f64>, high: Option<f64>) -> TokenStream {
    let bound = |b: Option<f64>| match b {
        Some(v) => {
            let v = Literal::f32_suffixed(v as f32);
            quote!(Some(#v))
        }
        None => quote!(None),
    };
    let (params, low, high) = (params_tokens(krate, p), bound(low), bound(high));
    quote!(q::OutputRange::clamped(#params, #low, #high))
}

/// The kernels' `Window` of a layer with `geometry` on its input.
fn window(io: Io, g: Geometry) -> TokenStream {
    let ((c, h, w), (_, oh, ow)) = (io.input.chw(), io.output.chw());
    let f = [c, h, w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, oh, ow].map(lit);
    let [c, h, w, kh, kw, sh, sw, ph, pw, oh, ow] = f;
    quote!(k::Window { c: #c, h: #h, w: #w, kh: #kh, kw: #kw, sh: #sh, sw: #sw, ph: #ph, pw: #pw, oh: #oh, ow: #ow })
}
