//! The batch passes: where each value of the training pass lives in the cache (the
//! [`Flow`] of every layer, planned once by [`plan`]), and the statements of the training
//! pass, the inference pass over the same buffers, the backward pass and the update of
//! running statistics.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::Gen;
use crate::ir::{Layer, Op};

/// Where a value of the training pass is kept.
#[derive(Clone)]
pub(super) enum Val {
    /// The batch `x` itself.
    Input,
    /// A cache field.
    Cache(Ident),
}

impl Val {
    /// The cache field, if the value lives in one.
    pub(super) fn cache(&self) -> Option<&Ident> {
        match self {
            Val::Cache(field) => Some(field),
            Val::Input => None,
        }
    }
}

impl Val {
    /// `x` or `&cache.field`.
    pub(super) fn by_ref(&self) -> TokenStream {
        match self {
            Val::Input => quote!(x),
            Val::Cache(f) => quote!(&cache.#f),
        }
    }
}

/// Where the gradient of the loss with respect to a value of the training pass is kept.
#[derive(Clone)]
pub(super) enum Grad {
    /// `cache.grad_input`, for the model's input.
    Input,
    /// A cache field.
    Cache(Ident),
    /// The `grad_out` argument, for the model's output.
    Out,
}

impl Grad {
    /// The cache field, if the gradient lives in one.
    pub(super) fn cache(&self) -> Option<&Ident> {
        match self {
            Grad::Cache(field) => Some(field),
            Grad::Input | Grad::Out => None,
        }
    }

    /// The gradient read by a layer's backward pass.
    pub(super) fn by_ref(&self) -> TokenStream {
        match self {
            Grad::Input => quote!(&cache.grad_input),
            Grad::Cache(f) => quote!(&cache.#f),
            Grad::Out => quote!(grad_out),
        }
    }

    /// The gradient written by a layer's backward pass.
    pub(super) fn by_mut(&self) -> TokenStream {
        match self {
            Grad::Input => quote!(&mut cache.grad_input),
            Grad::Cache(f) => quote!(&mut cache.#f),
            Grad::Out => quote!(grad_out),
        }
    }
}

/// One layer of the training pass with the places of its input, output and their
/// gradients. `flatten` reads and writes in place (its output is its input), so the
/// layers around it share buffers and it generates no code.
pub(super) struct Flow<'l> {
    pub(super) layer: &'l Layer,
    pub(super) x: Val,
    pub(super) y: Val,
    pub(super) dx: Grad,
    pub(super) dy: Grad,
    /// The flows of a `residual` block's layers.
    pub(super) inner: Vec<Flow<'l>>,
    /// The flows of a `residual` block's shortcut (none for the identity), whose input
    /// gradient goes to the block's `skip_grad` field.
    pub(super) shortcut: Vec<Flow<'l>>,
}

/// Places the values of a list of layers that reads `input` (whose gradient goes to
/// `input_grad`) and whose final output's gradient is `output_grad`.
pub(super) fn plan<'l>(
    layers: &'l [Layer],
    input: Val,
    input_grad: Grad,
    output_grad: Grad,
) -> Vec<Flow<'l>> {
    let last = layers.iter().rposition(|l| !matches!(l.op, Op::Flatten));
    let (mut x, mut dx) = (input, input_grad);
    let mut flows = Vec::new();
    for (k, layer) in layers.iter().enumerate() {
        let (y, dy) = match layer.op {
            Op::Flatten => (x.clone(), dx.clone()),
            _ if Some(k) == last => (Val::Cache(out_field(layer)), output_grad.clone()),
            _ => (Val::Cache(out_field(layer)), Grad::Cache(format_ident!("{}_grad", layer.field))),
        };
        let (inner, shortcut) = match &layer.op {
            Op::Residual(block) => {
                let skip_grad = Grad::Cache(skip_grad_field(layer));
                let shortcut = plan(&block.shortcut, x.clone(), skip_grad, dy.clone());
                (plan(&block.main, x.clone(), dx.clone(), dy.clone()), shortcut)
            }
            _ => (Vec::new(), Vec::new()),
        };
        let flow =
            Flow { layer, x: x.clone(), y: y.clone(), dx: dx.clone(), dy: dy.clone(), inner, shortcut };
        flows.push(flow);
        (x, dx) = (y, dy);
    }
    flows
}

/// The output of a list of flows.
pub(super) fn plan_output(flows: &[Flow]) -> Val {
    flows.last().map_or(Val::Input, |f| f.y.clone())
}

/// The cache field holding a layer's output.
pub(super) fn out_field(layer: &Layer) -> Ident {
    format_ident!("{}_out", layer.field)
}

/// The cache field holding the gradient with respect to a `residual` block's input through
/// its shortcut.
pub(super) fn skip_grad_field(layer: &Layer) -> Ident {
    format_ident!("{}_skip_grad", layer.field)
}

/// The cache field holding a layer's scratch memory.
pub(super) fn scratch_field(layer: &Layer) -> Ident {
    format_ident!("{}_scratch", layer.field)
}

impl Gen<'_> {
    /// `update_statistics`' statements: each layer with running statistics moves them
    /// towards its statistics in `caches`.
    pub(super) fn update_statistics(&self) -> TokenStream {
        let layers = self.model.layers_where(|l| l.kind().is_some_and(|k| k.statistics_momentum().is_some()));
        if layers.is_empty() {
            return quote!(let _ = caches;);
        }
        let updates = layers.iter().map(|l| {
            let (field, scratch) = (&l.field, scratch_field(l));
            let momentum = l.kind().and_then(|k| k.statistics_momentum());
            quote_spanned! {l.span=>
                self.#field.update_statistics(caches.clone().map(|cache| &cache.#scratch), #momentum);
            }
        });
        quote!(#(#updates)*)
    }

    /// The statements of a pass over a list of flows: the training pass (`train`, layers
    /// that train differently called with `forward_train` and the cache's context) or the
    /// inference pass into the same buffers.
    pub(super) fn forward_statements(&self, flows: &[Flow], train: bool) -> TokenStream {
        let krate = &self.model.krate;
        let mut body = TokenStream::new();
        for flow in flows {
            let (l, x) = (flow.layer, flow.x.by_ref());
            let Val::Cache(y) = &flow.y else { continue };
            body.extend(match &l.op {
                Op::Flatten => continue,
                Op::Layer(kind) => {
                    let (value, scratch) = (self.layer_value(l), self.scratch(l));
                    if train && kind.trains_differently() {
                        quote_spanned!(l.span=> #value.forward_train(#x, &mut cache.#y, #scratch, &cache.context);)
                    } else {
                        quote_spanned!(l.span=> #value.forward(#x, &mut cache.#y, #scratch);)
                    }
                }
                Op::Residual(_) => {
                    let (inner, fx) =
                        (self.forward_statements(&flow.inner, train), plan_output(&flow.inner).by_ref());
                    let shortcut = self.forward_statements(&flow.shortcut, train);
                    let sx = if flow.shortcut.is_empty() { x } else { plan_output(&flow.shortcut).by_ref() };
                    quote_spanned!(l.span=> #inner #shortcut #krate::residual::add(#sx, #fx, &mut cache.#y);)
                }
            });
        }
        body
    }

    /// The backward statements for a list of flows, last layer first. Without `input_grad`
    /// nothing below the first layer holding parameters runs, and that layer skips its input
    /// gradient.
    pub(super) fn backward_statements(&self, flows: &[Flow], input_grad: bool) -> TokenStream {
        let krate = &self.model.krate;
        let lowest = if input_grad {
            0
        } else {
            flows.iter().position(|f| f.layer.contains_params()).unwrap_or(flows.len())
        };
        let mut body = TokenStream::new();
        for (k, flow) in flows.iter().enumerate().skip(lowest).rev() {
            let l = flow.layer;
            let needs_dx = input_grad || k > lowest;
            let (x, y, dy) = (flow.x.by_ref(), flow.y.by_ref(), flow.dy.by_ref());
            body.extend(match &l.op {
                Op::Flatten => continue,
                Op::Layer(_) => {
                    let (value, scratch) = (self.layer_value(l), self.scratch(l));
                    let dx = if needs_dx {
                        let dx = flow.dx.by_mut();
                        quote!(Some(#dx))
                    } else {
                        quote!(None)
                    };
                    let grads = if l.has_params() {
                        let field = &l.field;
                        quote!(&mut grads.#field)
                    } else {
                        quote!(&mut ())
                    };
                    quote_spanned!(l.span=> #value.backward(#x, #y, #dy, #dx, #grads, #scratch);)
                }
                Op::Residual(_) => {
                    let inner = self.backward_statements(&flow.inner, needs_dx);
                    let shortcut = self.backward_statements(&flow.shortcut, needs_dx);
                    let dx = flow.dx.by_mut();
                    // The skip path's gradient: `dy` itself, or what the shortcut sent back.
                    let skip = if flow.shortcut.is_empty() {
                        dy
                    } else {
                        let field = skip_grad_field(l);
                        quote!(&cache.#field)
                    };
                    let add =
                        needs_dx.then(|| quote_spanned!(l.span=> #krate::residual::add_grad(#skip, #dx);));
                    quote!(#inner #shortcut #add)
                }
            });
        }
        body
    }
}
