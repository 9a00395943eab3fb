//! Code generation: the checked IR becomes plain Rust over nalgebra's static matrices.
//!
//! For each model this emits the parameter struct, the cache struct its training pass
//! fills, input/output type aliases, and — inside `const _: () = { … }` — an inherent
//! `impl` with the straight-line passes plus the runtime traits that make the model
//! usable by the generic optimizers, losses and training loop. Each layer's statements
//! are emitted under `quote_spanned!` with the layer's span, so anything rustc rejects in
//! them is reported on the layer in the user's declaration.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::ast::ModelDecl;
use crate::check::{Layer, LayerKind, Model};

/// Generates all code for a checked model.
pub fn expand(model: &Model) -> TokenStream {
    let Model { attrs, vis, ident, scalar: t, krate, .. } = model;
    let (input, output) = (lit(model.input), lit(model.output()));
    let cache = format_ident!("{}Cache", ident);
    let input_alias = format_ident!("{}Input", ident);
    let output_alias = format_ident!("{}Output", ident);
    let Paths { smatrix, svector, zeroable } = Paths::new(krate);
    let rt = krate;

    let param_layers: Vec<&Layer> = model.layers.iter().filter(|l| l.has_params()).collect();
    let fields = param_layers.iter().map(|l| {
        let (field, ty) = (&l.field, layer_type(model, l));
        let doc = format!(" Layer `{}`: {}.", l.label, l.describe());
        quote_spanned!(l.span=> #[doc = #doc] pub #field: #ty,)
    });
    let field_names: Vec<&Ident> = param_layers.iter().map(|l| &l.field).collect();
    let field_types: Vec<TokenStream> = param_layers.iter().map(|l| layer_type(model, l)).collect();
    let labels: Vec<&str> = param_layers.iter().map(|l| l.label.as_str()).collect();

    let summary = summary_doc(model);
    let cache_doc = format!(
        " What [`{ident}`]'s training pass keeps for a batch of `BATCH` samples: each layer's output and the gradient flowing back into it."
    );
    let cache_fields = cache_fields(model);
    let input_doc =
        format!(" The input of [`{ident}`]: `BATCH` samples of {input} as columns (one sample by default).");
    let output_doc = format!(" The output of [`{ident}`]: `BATCH` columns of {output}.");

    let forward = forward_single(model);
    let forward_train = forward_train(model);
    let forward_batch = forward_batch(model);
    let backward_full = backward(model, true);
    let backward_params = backward(model, false);
    let train_out = model.trained_layers().last().map(out_field);

    quote! {
        #(#attrs)*
        #[doc = ""]
        #[doc = #summary]
        #[repr(C)]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #ident {
            #(#fields)*
        }

        #[doc = #cache_doc]
        #[derive(Clone, Debug)]
        #vis struct #cache<const BATCH: usize> {
            #cache_fields
        }

        #[doc = #input_doc]
        #vis type #input_alias<const BATCH: usize = 1> = #smatrix<#t, #input, BATCH>;
        #[doc = #output_doc]
        #vis type #output_alias<const BATCH: usize = 1> = #smatrix<#t, #output, BATCH>;

        // Everything below refers to other items by full path and names no item of its own,
        // so no name in the user's scope can collide with it.
        const _: () = {
            use #rt::{Activation as _, Initialize as _};

            impl #ident {
                /// The width of one input sample.
                pub const INPUT: usize = #input;
                /// The width of one output.
                pub const OUTPUT: usize = #output;
                /// The model with every parameter zero; usable in `const` and `static` items.
                pub const ZERO: Self = Self { #(#field_names: <#field_types>::ZERO,)* };

                #forward
                #forward_train
                #forward_batch
                #backward_full
                #backward_params
            }

            // Every field is a zeroable layer (checked below), and `repr(C)` packs them
            // with no padding (the size assertion below).
            unsafe impl #zeroable for #ident {}
            fn _assert_fields_zeroable() {
                fn is_zeroable<T: #zeroable>() {}
                #(is_zeroable::<#field_types>();)*
            }
            // SAFETY: a `repr(C)` struct of layers that are each `LEN` contiguous scalars;
            // the assertion proves there is no padding. `visit` lists fields in order.
            unsafe impl #rt::Parameters for #ident {
                type Scalar = #t;
                const LEN: usize = 0 #(+ <#field_types as #rt::Parameters>::LEN)*;

                fn visit<'a>(&'a self, f: &mut impl FnMut(#rt::Tensor<'a, #t>)) {
                    #(self.#field_names.visit_named(#labels, f);)*
                }

                fn visit_mut(&mut self, f: &mut impl FnMut(#rt::TensorMut<'_, #t>)) {
                    #(self.#field_names.visit_named_mut(#labels, f);)*
                }
            }
            const _: () = assert!(
                ::core::mem::size_of::<#ident>()
                    == <#ident as #rt::Parameters>::LEN * ::core::mem::size_of::<#t>(),
                "a model's layers must pack without padding",
            );

            impl #rt::Initialize for #ident {
                fn initialize<R: #rt::__private::rand::Rng + ?Sized>(&mut self, init: #rt::Init, rng: &mut R) {
                    #(self.#field_names.initialize(init, rng);)*
                }
            }

            // Every field is a nalgebra matrix of a `Pod` scalar.
            unsafe impl<const BATCH: usize> #zeroable for #cache<BATCH> {}

            impl #rt::Model<#input, #output> for #ident {
                type Cache<const BATCH: usize> = #cache<BATCH>;

                fn forward(&self, x: &#svector<#t, #input>) -> #svector<#t, #output> {
                    Self::forward(self, x)
                }
                fn forward_train<'c, const BATCH: usize>(
                    &self,
                    x: &#smatrix<#t, #input, BATCH>,
                    cache: &'c mut #cache<BATCH>,
                ) -> &'c #smatrix<#t, #output, BATCH> {
                    Self::forward_train(self, x, cache)
                }
                fn train_output<const BATCH: usize>(cache: &#cache<BATCH>) -> &#smatrix<#t, #output, BATCH> {
                    &cache.#train_out
                }
                fn forward_batch<'c, const BATCH: usize>(
                    &self,
                    x: &#smatrix<#t, #input, BATCH>,
                    cache: &'c mut #cache<BATCH>,
                ) -> &'c #smatrix<#t, #output, BATCH> {
                    Self::forward_batch(self, x, cache)
                }
                fn backward<'c, const BATCH: usize>(
                    &self,
                    x: &#smatrix<#t, #input, BATCH>,
                    cache: &'c mut #cache<BATCH>,
                    grad_out: &#smatrix<#t, #output, BATCH>,
                    grads: &mut Self,
                ) -> &'c #smatrix<#t, #input, BATCH> {
                    Self::backward(self, x, cache, grad_out, grads)
                }
                fn backward_params<const BATCH: usize>(
                    &self,
                    x: &#smatrix<#t, #input, BATCH>,
                    cache: &mut #cache<BATCH>,
                    grad_out: &#smatrix<#t, #output, BATCH>,
                    grads: &mut Self,
                ) {
                    Self::backward_params(self, x, cache, grad_out, grads)
                }
            }
        };
    }
}

/// What stands in for a model too broken to expand: an alias of an unresolvable type.
/// rustc turns it into its error type, so uses of the model raise no further errors and
/// only the declaration's own mistakes are reported.
pub fn fallback(decl: &ModelDecl) -> TokenStream {
    let ModelDecl { vis, ident, .. } = decl;
    quote!(#vis type #ident = __staticnn_invalid_model;)
}

/// A width as an unsuffixed literal (`784`, not `784usize`).
fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// The runtime type of a parameterised layer.
fn layer_type(model: &Model, layer: &Layer) -> TokenStream {
    let (krate, t, i, o) = (&model.krate, &model.scalar, lit(layer.input), lit(layer.output));
    match layer.kind {
        LayerKind::Dense => quote_spanned!(layer.span=> #krate::Dense<#t, #i, #o>),
        LayerKind::Activation(_) => quote!(()),
    }
}

fn out_field(layer: &Layer) -> Ident {
    format_ident!("{}_out", layer.field)
}

fn grad_field(layer: &Layer) -> Ident {
    format_ident!("{}_grad", layer.field)
}

/// A doc paragraph listing the architecture.
fn summary_doc(model: &Model) -> String {
    let mut doc = format!(" Generated by `staticnn::model!`: input {}", model.input);
    for l in &model.layers {
        doc.push_str(&format!(" → `{}` {}", l.label, l.describe()));
    }
    doc.push_str(&format!(
        " ({} parameters of `{}`).",
        model.layers.iter().filter(|l| l.has_params()).map(|l| l.output * l.input + l.output).sum::<usize>(),
        model.scalar
    ));
    doc
}

/// The cache's fields: every layer's output, the gradients flowing between trained
/// layers, and the gradient with respect to the input.
fn cache_fields(model: &Model) -> TokenStream {
    let t = &model.scalar;
    let smatrix = Paths::new(&model.krate).smatrix;
    let trained = model.trained_layers();
    let mut fields = TokenStream::new();
    for (k, l) in model.layers.iter().enumerate() {
        let (out, o) = (out_field(l), lit(l.output));
        let doc = format!(" Output of layer `{}` ({}).", l.label, l.describe());
        fields.extend(quote!(#[doc = #doc] pub #out: #smatrix<#t, #o, BATCH>,));
        if k + 1 < trained.len() {
            let grad = grad_field(l);
            let doc = format!(" Gradient of the loss with respect to the output of layer `{}`.", l.label);
            fields.extend(quote!(#[doc = #doc] pub #grad: #smatrix<#t, #o, BATCH>,));
        }
    }
    let i = lit(model.input);
    fields.extend(quote!(
        /// Gradient of the loss with respect to the input (written by `backward`).
        pub grad_input: #smatrix<#t, #i, BATCH>,
    ));
    fields
}

/// `forward`: one sample, by value, on the stack.
fn forward_single(model: &Model) -> TokenStream {
    let svector = Paths::new(&model.krate).svector;
    let (t, input, output, krate) = (&model.scalar, lit(model.input), lit(model.output()), &model.krate);
    // The previous layer's output: the borrowed input `x`, then each layer's local value.
    let mut prev: Option<Ident> = None;
    let mut body = TokenStream::new();
    for l in &model.layers {
        let h = out_field(l);
        let (by_ref, by_value) = match &prev {
            Some(p) => (quote!(&#p), quote!(#p)),
            None => (quote!(x), quote!(*x)),
        };
        body.extend(match &l.kind {
            LayerKind::Dense => {
                let f = &l.field;
                quote_spanned!(l.span=> let #h = self.#f.forward(#by_ref);)
            }
            LayerKind::Activation(a) => quote_spanned!(l.span=> let #h = #krate::#a.apply(#by_value);),
        });
        prev = Some(h);
    }
    quote! {
        /// Runs the model on one input, on the stack, without allocating (the `softmax`
        /// head, if any, included).
        #[inline]
        pub fn forward(&self, x: &#svector<#t, #input>) -> #svector<#t, #output> {
            #body
            #prev
        }
    }
}

/// The expression naming layer `k`'s input in the training pass.
fn layer_input(layers: &[Layer], k: usize) -> TokenStream {
    match k.checked_sub(1).and_then(|p| layers.get(p)) {
        Some(prev) => {
            let f = out_field(prev);
            quote!(&cache.#f)
        }
        None => quote!(x),
    }
}

/// `forward_train`: a batch, keeping every output in the cache.
fn forward_train(model: &Model) -> TokenStream {
    let smatrix = Paths::new(&model.krate).smatrix;
    let (t, input, output) = (&model.scalar, lit(model.input), lit(model.output()));
    let cache = format_ident!("{}Cache", model.ident);
    let layers = model.trained_layers();
    let mut body = TokenStream::new();
    for (k, l) in layers.iter().enumerate() {
        let (x, y) = (layer_input(layers, k), out_field(l));
        body.extend(match &l.kind {
            LayerKind::Dense => {
                let f = &l.field;
                quote_spanned!(l.span=> self.#f.forward_batch(#x, &mut cache.#y);)
            }
            LayerKind::Activation(a) => {
                let krate = &model.krate;
                quote_spanned!(l.span=> #krate::#a.forward(#x, &mut cache.#y);)
            }
        });
    }
    let result = layer_input(layers, layers.len());
    quote! {
        /// Runs the model on a batch of `BATCH` samples (columns), keeping every layer's output
        /// in `cache` for [`backward`](Self::backward). Returns the output (the logits, if
        /// the model ends in `softmax`).
        pub fn forward_train<'c, const BATCH: usize>(
            &self,
            x: &#smatrix<#t, #input, BATCH>,
            cache: &'c mut #cache<BATCH>,
        ) -> &'c #smatrix<#t, #output, BATCH> {
            #body
            #result
        }
    }
}

/// `forward_batch`: the training pass plus the `softmax` head, if any.
fn forward_batch(model: &Model) -> TokenStream {
    let smatrix = Paths::new(&model.krate).smatrix;
    let (t, input, output) = (&model.scalar, lit(model.input), lit(model.output()));
    let cache = format_ident!("{}Cache", model.ident);
    let head = match (model.has_head(), model.layers.as_slice()) {
        (true, [.., logits, head]) => {
            let (x, y, span, krate) = (out_field(logits), out_field(head), head.span, &model.krate);
            quote_spanned!(span=> #krate::Softmax.forward(&cache.#x, &mut cache.#y); &cache.#y)
        }
        _ => quote!(self.forward_train(x, cache)),
    };
    let prelude = if model.has_head() { quote!(self.forward_train(x, cache);) } else { quote!() };
    quote! {
        /// Runs the model on a batch of `BATCH` samples for inference (the `softmax` head, if
        /// any, included), using `cache` for the intermediate values.
        pub fn forward_batch<'c, const BATCH: usize>(
            &self,
            x: &#smatrix<#t, #input, BATCH>,
            cache: &'c mut #cache<BATCH>,
        ) -> &'c #smatrix<#t, #output, BATCH> {
            #prelude
            #head
        }
    }
}

/// `backward` (with the input gradient) or `backward_params` (without): the trained
/// layers in reverse, each reading its input and output from the cache.
fn backward(model: &Model, input_grad: bool) -> TokenStream {
    let smatrix = Paths::new(&model.krate).smatrix;
    let (t, input, output, krate) = (&model.scalar, lit(model.input), lit(model.output()), &model.krate);
    let cache = format_ident!("{}Cache", model.ident);
    let layers = model.trained_layers();
    // Without the input gradient, nothing below the first parameterised layer is needed.
    let lowest =
        if input_grad { 0 } else { layers.iter().position(Layer::has_params).unwrap_or(layers.len()) };
    let mut body = TokenStream::new();
    for (k, l) in layers.iter().enumerate().skip(lowest).rev() {
        let x = layer_input(layers, k);
        let dy = match layers.get(k + 1) {
            Some(_) => {
                let g = grad_field(l);
                quote!(&cache.#g)
            }
            None => quote!(grad_out),
        };
        let dx = match k.checked_sub(1).and_then(|p| layers.get(p)) {
            Some(prev) => {
                let g = grad_field(prev);
                quote!(&mut cache.#g)
            }
            None => quote!(&mut cache.grad_input),
        };
        body.extend(match &l.kind {
            LayerKind::Dense if k == lowest && !input_grad => {
                let f = &l.field;
                quote_spanned!(l.span=> self.#f.backward_params(#x, #dy, &mut grads.#f);)
            }
            LayerKind::Dense => {
                let f = &l.field;
                quote_spanned!(l.span=> self.#f.backward(#x, #dy, &mut grads.#f, #dx);)
            }
            LayerKind::Activation(a) => {
                let y = out_field(l);
                quote_spanned!(l.span=> #krate::#a.backward(#x, &cache.#y, #dy, #dx);)
            }
        });
    }
    if input_grad {
        quote! {
            /// Back-propagates `grad_out` (the loss gradient with respect to
            /// [`forward_train`](Self::forward_train)'s output for the same `x`), adds the
            /// parameter gradients to `grads` and returns the gradient with respect to `x`.
            pub fn backward<'c, const BATCH: usize>(
                &self,
                x: &#smatrix<#t, #input, BATCH>,
                cache: &'c mut #cache<BATCH>,
                grad_out: &#smatrix<#t, #output, BATCH>,
                grads: &mut Self,
            ) -> &'c #smatrix<#t, #input, BATCH> {
                #body
                &cache.grad_input
            }
        }
    } else {
        quote! {
            /// As [`backward`](Self::backward), without the gradient with respect to the
            /// input (cheaper; what training needs).
            pub fn backward_params<const BATCH: usize>(
                &self,
                x: &#smatrix<#t, #input, BATCH>,
                cache: &mut #cache<BATCH>,
                grad_out: &#smatrix<#t, #output, BATCH>,
                grads: &mut Self,
            ) {
                #body
            }
        }
    }
}

/// Full paths to the runtime items generated code names.
struct Paths {
    smatrix: TokenStream,
    svector: TokenStream,
    zeroable: TokenStream,
}

impl Paths {
    fn new(krate: &TokenStream) -> Self {
        Paths {
            smatrix: quote!(#krate::__private::nalgebra::SMatrix),
            svector: quote!(#krate::__private::nalgebra::SVector),
            zeroable: quote!(#krate::__private::bytemuck::Zeroable),
        }
    }
}
