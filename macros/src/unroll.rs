//! Fully unrolled code for tiny dense layers.
//!
//! Below [`MAX_MULTIPLY_ADDS`] multiply-adds, a dense layer's single-sample forward pass is
//! emitted as one expression per output (`b[o] + w[(o, 0)] * x[0] + …`): no loop, no call
//! into the kernels and no run-time CPU-feature dispatch, so a 2 → 4 → 1 network runs in a
//! few nanoseconds. Above it, the layer calls the runtime's vectorised kernels, which win
//! once there is enough work to fill vector registers.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{quote, quote_spanned};

use crate::check::{Layer, Model};

/// The largest layer (inputs × outputs) emitted unrolled. Chosen by measurement (see
/// BENCHMARKS.md, `cargo bench --bench mlp -- unroll` built with this set to 0 and to a
/// large value): unrolled code wins up to 16 × 16 (23 ns against 46 ns), ties at 32 × 32
/// (94 ns each) and loses from 48 × 48 (222 ns against 196 ns).
pub const MAX_MULTIPLY_ADDS: usize = 512;

/// `let out = { … };` computing a tiny dense layer's output from `input` (an expression
/// of type `&SVector<T, I>`), or `None` if the layer is too large to unroll.
pub fn dense(model: &Model, layer: &Layer, out: &Ident, input: &TokenStream) -> Option<TokenStream> {
    if layer.input * layer.output > MAX_MULTIPLY_ADDS {
        return None;
    }
    let field = &layer.field;
    let (t, o) = (&model.scalar, Literal::usize_unsuffixed(layer.output));
    let svector = crate::expand::svector_path(&model.krate);
    let rows = (0..layer.output).map(|r| {
        let r = Literal::usize_unsuffixed(r);
        let terms = (0..layer.input).map(|c| {
            let c = Literal::usize_unsuffixed(c);
            quote!(+ w[(#r, #c)] * x[#c])
        });
        quote!(b[#r] #(#terms)*)
    });
    Some(quote_spanned! {layer.span=>
        let #out = {
            let (w, b, x) = (&self.#field.weight, &self.#field.bias, #input);
            #svector::<#t, #o>::from([#(#rows),*])
        };
    })
}
