//! `visit_int8_points`: one sample forward in inference mode, showing a callback the values
//! at every point where the model's int8 form quantizes (see [`int8`](crate::int8)) — the
//! input, and the output of each layer that requantizes (dense, convolutions, a `residual`
//! addition, after the clamp folded into it, and the `softmax` head) — with the point its
//! input comes from. Post-training quantization (the runtime's `quant::ptq`) calibrates
//! the activation ranges on it; pools, `flatten` and clamps that are not folded keep their
//! input's quantization, so they are not points of their own.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::Gen;
use crate::int8::{Int8, folded_clamp};
use crate::ir::{Layer, Op};

impl Gen<'_> {
    /// The `visit_int8_points` method.
    pub(super) fn int8_points(&self) -> TokenStream {
        let (krate, t, smatrix) = (&self.model.krate, &self.model.scalar, &self.smatrix);
        let input = super::lit(self.model.input_width());
        let (body, out, _) = self.points(&self.model.layers, quote!(x), "input");
        quote! {
            /// Runs one sample forward in inference mode and shows `f` the values at every
            /// point where the model's int8 form quantizes: `input`, then the output of each
            /// layer that requantizes (after the activation folded into it), labelled as in
            /// weight files, with the label of the point its input comes from. Calibrating
            /// post-training quantization (`staticnn::quant::ptq`) is its purpose.
            pub fn visit_int8_points(
                &self,
                x: &#smatrix<#t, #input, 1>,
                f: &mut impl FnMut(#krate::quant::ptq::Point<'_, #t>),
            ) {
                f(#krate::quant::ptq::Point { label: "input", input: "", values: x.as_slice(), softmax: false });
                #body
                let _ = #out;
            }
        }
    }

    /// The statements running `layers` from `x` (an expression of a `&SMatrix`), whose
    /// values come from point `from`; the expression of a reference to the result and the
    /// point it comes from.
    fn points(&self, layers: &[Layer], x: TokenStream, from: &str) -> (TokenStream, TokenStream, String) {
        let (krate, t, smatrix) = (&self.model.krate, &self.model.scalar, &self.smatrix);
        let (mut body, mut x, mut from) = (TokenStream::new(), x, from.to_string());
        let mut k = 0;
        while k < layers.len() {
            let layer = &layers[k];
            let fold = folded_clamp(layers, k);
            let n = super::lit(layer.output.len());
            let h = quote::format_ident!("{}_out", layer.field);
            let mut step = match &layer.op {
                Op::Flatten => {
                    k += 1;
                    continue;
                }
                Op::Residual(block) => {
                    let (main, main_out, _) = self.points(&block.main, x.clone(), &from);
                    let (skip, skip_out, _) = self.points(&block.shortcut, x.clone(), &from);
                    quote_spanned! {layer.span=>
                        let mut #h: #smatrix<#t, #n, 1> = { #skip *(#skip_out) };
                        { #main #h += #main_out; }
                    }
                }
                Op::Layer(kind) if kind.inference_identity() => {
                    k += 1;
                    continue;
                }
                Op::Layer(kind) => {
                    let value = self.layer_value(layer);
                    if kind.elementwise() {
                        quote_spanned! {layer.span=>
                            let mut #h: #smatrix<#t, #n, 1> = *(#x);
                            #value.apply_one(&mut #h);
                        }
                    } else {
                        quote_spanned! {layer.span=>
                            let mut #h = #smatrix::<#t, #n, 1>::zeros();
                            #value.forward_one_into(#x, &mut #h);
                        }
                    }
                }
            };
            if fold {
                let value = self.layer_value(&layers[k + 1]);
                step.extend(quote!(#value.apply_one(&mut #h);));
            }
            let int8 = layer.kind().and_then(|kind| kind.int8(layer.io()));
            let softmax = matches!(int8, Some(Int8::Softmax));
            let point = softmax
                || matches!(layer.op, Op::Residual(_))
                || matches!(int8, Some(Int8::Dense | Int8::Conv(_) | Int8::Depthwise(..)));
            if point {
                let label = &layer.label;
                step.extend(quote! {
                    f(#krate::quant::ptq::Point { label: #label, input: #from, values: #h.as_slice(), softmax: #softmax });
                });
                from = label.clone();
            }
            // Everything before is inside this step's block: its locals end with it, so the
            // stack holds a step's input and output only (as `forward` does).
            body = quote!(let #h = { #body #step #h };);
            x = quote!(&#h);
            k += if fold { 2 } else { 1 };
        }
        (body, x, from)
    }
}
