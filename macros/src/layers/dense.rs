//! `dense(M)` / `dense(N -> M)`: the runtime's `Dense<T, N, M>`, `y = W x + b`.
//!
//! Below [`MAX_UNROLLED`] multiply-adds, the single-sample forward pass is emitted as one
//! expression per output (`b[o] + w[(o, 0)] * x[0] + …`): no loop, no call into the kernels
//! and no run-time CPU-feature dispatch, so a 2 → 4 → 1 network runs in a few nanoseconds.
//! Above it, the layer calls the runtime's vectorised kernels, which win once there is
//! enough work to fill vector registers.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Kind, Runtime, TensorSpec};
use crate::args;
use crate::ast::{Arg, Entry};
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::int8::Int8;
use crate::ir::{Io, Shape};

/// The largest layer (inputs × outputs) whose single-sample pass is unrolled. Chosen by
/// measurement (see BENCHMARKS.md, `cargo bench --bench mlp -- unroll` built with this set
/// to 0 and to a large value): unrolled code wins up to 16 × 16 (23 ns against 46 ns), ties
/// at 32 × 32 (94 ns each) and loses from 48 × 48 (222 ns against 196 ns).
pub const MAX_UNROLLED: usize = 512;

/// A dense layer (its widths are the layer's input and output).
struct Dense;

/// `dense(M)` or `dense(N -> M)`: checks a stated input width and that the input is flat.
pub fn infer(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    const USAGE: &str = "`dense` takes its output width, `dense(128)`, or both widths, `dense(784 -> 128)`";
    let arg = args::single(cx, entry, USAGE)?;
    let width = from.shape.len();
    let out = match &arg.arrow {
        None => args::width(cx, &arg.value),
        Some((_, out_value)) => {
            let stated = args::width(cx, &arg.value);
            let out = args::width(cx, out_value);
            check_stated_width(cx, arg, stated, out, from);
            out
        }
    };
    if let Shape::Image { .. } = from.shape {
        cx.error(
            entry.kind.span(),
            format_args!(
                "`dense` needs a flat input, but {}; insert `flatten` before it (the `dense` then takes {width} inputs)",
                from.describe()
            ),
        );
    }
    // Its weight and output are held to the limits by the checker (`limits`).
    Some((Box::new(Dense), Shape::Flat(out?)))
}

/// Reports a `dense(N -> M)` whose stated `N` disagrees with the running width.
fn check_stated_width(cx: &mut Ctxt, arg: &Arg, stated: Option<usize>, out: Option<usize>, from: &Upstream) {
    let width = from.shape.len();
    let Some(stated) = stated.filter(|&s| width != 0 && s != width) else { return };
    let from = match (from.prev, from.parent) {
        (Some(p), _) => format!("{} produces {width}", p.describe_for_error()),
        (None, None) => format!("the model's input is {width} wide"),
        (None, Some(_)) => format!("{} wide", from.describe()),
    };
    let out = out.map_or_else(|| "M".to_string(), |o| o.to_string());
    cx.error(
        arg.value.span(),
        format_args!(
            "`dense` is declared with {stated} inputs, but {from}; \
             write `dense({width} -> {out})`, or `dense({out})` to infer the input width"
        ),
    );
}

impl Kind for Dense {
    fn takes_folded_batchnorm(&self) -> bool {
        true
    }

    fn int8(&self, _io: Io) -> Option<Int8> {
        Some(Int8::Dense)
    }

    fn describe(&self, io: Io) -> String {
        format!("dense {} → {}", io.input.len(), io.output.len())
    }

    fn runtime(&self, io: Io) -> Runtime {
        Runtime::with_params("Dense", vec![io.input.len(), io.output.len()])
    }

    fn tensors(&self, io: Io) -> Vec<TensorSpec> {
        let (i, o) = (io.input.len(), io.output.len());
        // nalgebra stores the `O × I` weight column-major: PyTorch's `[O, I]` transposed.
        vec![
            TensorSpec { param: "weight", shape: vec![o, i], transposed: true },
            TensorSpec::new("bias", vec![o]),
        ]
    }

    /// One multiply-add per weight: `N · M`.
    fn macs(&self, io: Io) -> Option<usize> {
        io.input.len().checked_mul(io.output.len())
    }

    fn forward_one_inline(&self, io: Io, layer: &TokenStream, input: &TokenStream) -> Option<TokenStream> {
        let (i, o) = (io.input.len(), io.output.len());
        if i.saturating_mul(o) > MAX_UNROLLED {
            return None;
        }
        let rows = (0..o).map(|r| {
            let r = Literal::usize_unsuffixed(r);
            let terms = (0..i).map(|c| {
                let c = Literal::usize_unsuffixed(c);
                quote!(+ w[(#r, #c)] * x[#c])
            });
            quote!(b[#r] #(#terms)*)
        });
        Some(quote! {{
            let (w, b, x) = (&#layer.weight, &#layer.bias, #input);
            [#(#rows),*].into()
        }})
    }
}
