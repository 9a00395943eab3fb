//! The single-sample `forward`: one sample on the stack, each layer's output written in
//! place and alive only while it is needed.
//!
//! A layer writes its output into a local (`Layer::forward_one_into` on a zeroed matrix: a
//! value returned by the layer would be built in the layer's frame and copied), and the
//! element-wise activations after it update that local in place (`Elementwise::apply_one`).
//! Each step's input is declared in a block that ends right after the step has read it,
//! and each output is declared, uninitialised, just outside the block that computes it:
//!
//! ```text
//! let mut layer2_out: SMatrix<f32, 10, 1>;
//! {
//!     let mut layer0_out: SMatrix<f32, 128, 1>;
//!     layer0_out = SMatrix::zeros();
//!     self.layer0.forward_one_into(x, &mut layer0_out);
//!     Relu.apply_one(&mut layer0_out);
//!     layer2_out = SMatrix::zeros();
//!     self.layer2.forward_one_into(&layer0_out, &mut layer2_out);
//! }
//! layer2_out
//! ```
//!
//! A local's storage ends with its block, and the optimiser starts it at its first write,
//! so the stack holds only the step's input and output at any time (plus, inside a
//! residual block, the block's input and output): what [`cost`](crate::cost) counts. A
//! residual block copies its input (or its shortcut's result) into its output and adds its
//! layers' result to it.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::{Gen, lit, out_field};
use crate::ir::{Layer, Op, OutputStep as Step, output_steps};

impl Gen<'_> {
    /// `forward`'s statements over `layers`, whose input is the local `input` (a residual
    /// block's) or, without one, the borrowed `x`. Returns the statements and the
    /// expression of the result.
    pub(super) fn forward_one(&self, layers: &[Layer], input: Option<&Ident>) -> (TokenStream, TokenStream) {
        let steps = output_steps(layers);
        let Some(last) = steps.len().checked_sub(1) else {
            return (TokenStream::new(), input.map_or(quote!(*x), |p| quote!(#p)));
        };
        let (body, mutated) = self.nested(&steps, last, input);
        let declaration = self.declaration(&steps[last], mutated);
        let result = out_field(steps[last].layer);
        (quote!(#declaration #body), quote!(#result))
    }

    /// The statements computing step `k`'s output into its local (declared by the caller):
    /// step `k - 1`'s local is declared in a block with everything before it, which ends
    /// after step `k` has read it. Also whether step `k` mutates its local after
    /// initialising it (whether the declaration needs `mut`).
    fn nested(&self, steps: &[Step], k: usize, input: Option<&Ident>) -> (TokenStream, bool) {
        let Some(before) = k.checked_sub(1) else {
            return self.compute(&steps[k], input);
        };
        let (body, mutated) = self.nested(steps, before, input);
        let declaration = self.declaration(&steps[before], mutated);
        let previous = out_field(steps[before].layer);
        let (step, step_mutated) = self.compute(&steps[k], Some(&previous));
        (quote!({ #declaration #body #step }), step_mutated)
    }

    /// `let mut layerN_out: SMatrix<T, N, 1>;` (without `mut` if it is only initialised).
    fn declaration(&self, step: &Step, mutated: bool) -> TokenStream {
        let (t, smatrix) = (&self.model.scalar, &self.smatrix);
        let (h, o) = (out_field(step.layer), lit(step.layer.output.len()));
        let binding = if mutated { quote!(mut #h) } else { quote!(#h) };
        quote_spanned!(step.layer.span=> let #binding: #smatrix<#t, #o, 1>;)
    }

    /// One step: its output written into its (declared) local from `input` (a local, or
    /// the borrowed `x`), then its activations in place. Also whether it mutates the local
    /// after initialising it.
    fn compute(&self, step: &Step, input: Option<&Ident>) -> (TokenStream, bool) {
        let (l, h, smatrix) = (step.layer, out_field(step.layer), &self.smatrix);
        let x = input.map_or(quote!(x), |p| quote!(&#p));
        let (mut body, mut mutated) = match &l.op {
            Op::Layer(kind) => {
                let value = self.layer_value(l);
                match kind.forward_one_inline(l.io(), &value, &x) {
                    Some(inline) => (quote_spanned!(l.span=> #h = #inline;), false),
                    None => {
                        let statements = quote_spanned! {l.span=>
                            #h = #smatrix::zeros();
                            #value.forward_one_into(#x, &mut #h);
                        };
                        (statements, true)
                    }
                }
            }
            Op::Residual(block) => {
                let (inner_body, inner_out) = self.forward_one(&block.main, input);
                // The skip path first: the block's input, or its shortcut's output, in a
                // block of its own so that the shortcut's locals end before the main path's.
                let skip = if block.shortcut.is_empty() {
                    let skip = input.map_or(quote!(*x), |p| quote!(#p));
                    quote!(#h = #skip;)
                } else {
                    let (body, out) = self.forward_one(&block.shortcut, input);
                    quote!({ #body #h = #out; })
                };
                let statements = quote_spanned! {l.span=>
                    #skip
                    {
                        #inner_body
                        #h += &#inner_out;
                    }
                };
                (statements, true)
            }
            Op::Flatten => (TokenStream::new(), false),
        };
        for activation in &step.activations {
            let value = self.layer_value(activation);
            body.extend(quote_spanned!(activation.span=> #value.apply_one(&mut #h);));
            mutated = true;
        }
        (body, mutated)
    }
}
