//! Code generation: the checked IR becomes plain Rust over nalgebra's static matrices.
//!
//! For each model this emits the parameter struct, the cache struct its training pass
//! fills and input/output type aliases, then — inside `const _: () = { … }` — the runtime
//! traits that make the model usable by the generic optimizers, losses and training loop,
//! with the straight-line passes in its `Model` impl. Every layer is called through the
//! runtime's one `Layer` protocol (`forward_one_into`, `forward`, `backward`), so nothing here
//! depends on the kind of a layer beyond what its [`Kind`](crate::layers::Kind) says.
//! Each layer's statements are emitted under `quote_spanned!` with the layer's span, so
//! anything rustc rejects in them is reported on the layer in the user's declaration.

mod batch;
mod points;
mod single;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use self::batch::{Flow, Grad, Val, out_field, plan, plan_output, scratch_field, skip_grad_field};
use crate::ast::ModelDecl;
use crate::cost::{self, grouped};
use crate::ir::{Layer, Model, Op};
use crate::layers::Runtime;

/// Generates all code for a checked model.
pub fn expand(model: &Model) -> TokenStream {
    let g = Gen::new(model);
    let Model { attrs, vis, ident, scalar: t, krate, .. } = model;
    let Gen { cache, input_alias, output_alias, .. } = &g;
    let smatrix = &g.smatrix;
    let (input, output) = (lit(model.input_width()), lit(model.output_width()));

    let param_layers = model.param_layers();
    let fields = param_layers.iter().map(|l| {
        let (field, ty) = (&l.field, g.layer_type(l));
        let doc = format!(" Layer `{}`: {}.", l.label, l.describe());
        quote_spanned!(l.span=> #[doc = #doc] pub #field: #ty,)
    });
    let names: Vec<&Ident> = param_layers.iter().map(|l| &l.field).collect();
    let types = param_layers.iter().map(|l| g.layer_type(l));
    let labels: Vec<&str> = param_layers.iter().map(|l| l.label.as_str()).collect();
    let len = lit(model.param_count());

    let summary = summary_doc(model);
    let cache_doc = format!(
        " What [`{ident}`]'s training pass keeps for a batch of `BATCH` samples: each layer's output and the gradient flowing back into it."
    );
    let input_doc = format!(" A batch of `BATCH` inputs of [`{ident}`] as columns (one by default).");
    let output_doc = format!(" A batch of `BATCH` outputs of [`{ident}`] as columns (one by default).");
    let cache_fields = g.cache_fields();
    let passes = g.passes();
    let costs = cost::costs(model).map(|c| cost::consts(model, c));
    let int8_points = g.int8_points();

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
            use #krate::{Elementwise as _, Initialize as _, Layer as _};

            impl #ident {
                /// The width of one input sample.
                pub const INPUT: usize = #input;
                /// The width of one output.
                pub const OUTPUT: usize = #output;
                /// The model with every parameter zero; usable in `const` and `static` items.
                pub const ZERO: Self = Self { #(#names: <#types>::ZERO,)* };
                #costs
                #int8_points
            }

            /// SAFETY: every field is a `Zeroable` layer, so the all-zero struct is valid.
            #[automatically_derived]
            unsafe impl #krate::__private::bytemuck::Zeroable for #ident {}

            /// SAFETY: a `repr(C)` struct of layers that are each contiguous scalars with no
            /// padding (asserted below); `visit` lists the fields in declaration order.
            #[automatically_derived]
            unsafe impl #krate::Parameters for #ident {
                type Scalar = #t;
                const LEN: usize = #len;

                fn visit<'a>(&'a self, f: &mut impl FnMut(#krate::Tensor<'a, #t>)) {
                    #(self.#names.visit_named(#labels, f);)*
                }

                fn visit_mut(&mut self, f: &mut impl FnMut(#krate::TensorMut<'_, #t>)) {
                    #(self.#names.visit_named_mut(#labels, f);)*
                }
            }
            const _: () = assert!(
                ::core::mem::size_of::<#ident>() == #len * ::core::mem::size_of::<#t>(),
                "a model's layers must pack without padding",
            );

            #[automatically_derived]
            impl #krate::Initialize for #ident {
                fn initialize<R: #krate::__private::rand::Rng + ?Sized>(&mut self, init: #krate::Init, rng: &mut R) {
                    #(self.#names.initialize(init, rng);)*
                }
            }

            /// SAFETY: every field is a matrix of floats or a layer's `Scratch`, which the
            /// `Layer` protocol requires to be `Zeroable`.
            #[automatically_derived]
            unsafe impl<const BATCH: usize> #krate::__private::bytemuck::Zeroable for #cache<BATCH> {}

            #[automatically_derived]
            impl #krate::Model<#input, #output> for #ident {
                type Cache<const BATCH: usize> = #cache<BATCH>;
                #passes
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

/// A number as an unsuffixed literal (`784`, not `784usize`).
fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// A doc paragraph listing the architecture.
fn summary_doc(model: &Model) -> String {
    let mut doc = format!(" Generated by `staticnn::model!`: input {}", model.input);
    fn list(doc: &mut String, layers: &[Layer]) {
        for l in layers {
            match &l.op {
                Op::Residual(block) => {
                    doc.push_str(&format!(" → `{}` residual {{", l.label));
                    list(doc, &block.main);
                    if block.shortcut.is_empty() {
                        doc.push_str(" } (+ its input)");
                    } else {
                        doc.push_str(" } + shortcut {");
                        list(doc, &block.shortcut);
                        doc.push_str(" }");
                    }
                }
                _ => doc.push_str(&format!(" → `{}` {}", l.label, l.describe())),
            }
        }
    }
    list(&mut doc, &model.layers);
    doc.push_str(&format!(" ({} parameters of `{}`).", model.param_count(), model.scalar));
    if let Some(c) = cost::costs(model) {
        doc.push_str(&format!(
            " Parameters: {} bytes. One `forward`: {} multiply-accumulates, {} bytes of activations at the \
             peak (input included), about {} bytes of stack.",
            grouped(c.param_bytes),
            grouped(c.macs),
            grouped(c.activation_bytes),
            grouped(c.forward_stack_bytes)
        ));
    }
    doc
}

/// The model being generated and the names its code uses.
struct Gen<'m> {
    model: &'m Model<'m>,
    /// `Name{Cache, Input, Output}`.
    cache: Ident,
    input_alias: Ident,
    output_alias: Ident,
    /// nalgebra's `SMatrix`, by full path.
    smatrix: TokenStream,
}

impl<'m> Gen<'m> {
    fn new(model: &'m Model<'m>) -> Self {
        let (ident, krate) = (model.ident, &model.krate);
        Gen {
            model,
            cache: format_ident!("{ident}Cache"),
            input_alias: format_ident!("{ident}Input"),
            output_alias: format_ident!("{ident}Output"),
            smatrix: quote!(#krate::nalgebra::SMatrix),
        }
    }

    /// The runtime type of a layer: `::staticnn::Dense<f32, 784, 128>`.
    fn layer_type(&self, layer: &Layer) -> TokenStream {
        self.runtime_path(layer, false)
    }

    /// A layer's value in the passes: `self.layer0`, `::staticnn::Relu`,
    /// `::staticnn::MaxPool2d::<…>`, `::staticnn::LeakyRelu(0.01)`.
    fn layer_value(&self, layer: &Layer) -> TokenStream {
        if layer.has_params() {
            let field = &layer.field;
            let adapter = layer.kind().and_then(|k| k.runtime(layer.io()).adapter).map(|a| a.call);
            return quote_spanned!(layer.span=> self.#field #adapter);
        }
        let path = self.runtime_path(layer, true);
        let constructor = layer.kind().and_then(|k| k.runtime(layer.io()).constructor);
        quote_spanned!(layer.span=> #path #constructor)
    }

    /// `Type<T, dims…>`, with a turbofish in expressions.
    fn runtime_path(&self, layer: &Layer, turbofish: bool) -> TokenStream {
        let Some(kind) = layer.kind() else { return quote!(()) };
        let runtime = kind.runtime(layer.io());
        self.generic_path(layer, &runtime.name, &runtime, None, turbofish)
    }

    /// The type implementing `Layer` for a layer: its runtime type, or the adapter that
    /// borrows its parameters (`BatchNormWithEps<'static, f32, …>`).
    fn layer_impl_type(&self, layer: &Layer) -> TokenStream {
        let Some(kind) = layer.kind() else { return quote!(()) };
        let runtime = kind.runtime(layer.io());
        match &runtime.adapter {
            Some(adapter) => self.generic_path(layer, &adapter.name, &runtime, Some(quote!('static)), false),
            None => self.layer_type(layer),
        }
    }

    /// `name<lifetime, T, dims…>` with the runtime's generic arguments.
    fn generic_path(
        &self,
        layer: &Layer,
        name: &str,
        runtime: &Runtime,
        lifetime: Option<TokenStream>,
        turbofish: bool,
    ) -> TokenStream {
        let (krate, t) = (&self.model.krate, &self.model.scalar);
        let name = Ident::new(name, layer.span);
        let scalar = runtime.scalar.then(|| quote!(#t));
        let dims = runtime.dims.iter().map(|&d| lit(d));
        let args: Vec<TokenStream> =
            lifetime.into_iter().chain(scalar).chain(dims.map(|d| quote!(#d))).collect();
        match (args.is_empty(), turbofish) {
            (true, _) => quote_spanned!(layer.span=> #krate::#name),
            (false, false) => quote_spanned!(layer.span=> #krate::#name<#(#args),*>),
            (false, true) => quote_spanned!(layer.span=> #krate::#name::<#(#args),*>),
        }
    }

    /// The `Layer` protocol's `Scratch` argument for a layer: its cache field, or `&mut ()`.
    fn scratch(&self, layer: &Layer) -> TokenStream {
        match layer.kind() {
            Some(kind) if kind.needs_scratch() => {
                let field = scratch_field(layer);
                quote!(&mut cache.#field)
            }
            _ => quote!(&mut ()),
        }
    }

    /// The training pass's flows: the trained layers, from `x` to the gradient `grad_out`.
    fn training_plan(&self) -> Vec<Flow<'m>> {
        plan(self.model.trained_layers(), Val::Input, Grad::Input, Grad::Out)
    }

    /// The cache's fields: every layer's output, the gradients flowing between trained
    /// layers, each layer's scratch memory, and the gradient with respect to the input.
    fn cache_fields(&self) -> TokenStream {
        let mut fields = TokenStream::new();
        self.cache_fields_of(&self.training_plan(), &mut fields);
        let (t, smatrix) = (&self.model.scalar, &self.smatrix);
        if let Some(head) = self.model.head() {
            let (out, o) = (out_field(head), lit(head.output.len()));
            let doc = format!(" Output of layer `{}` ({}).", head.label, head.describe());
            fields.extend(quote!(#[doc = #doc] pub #out: #smatrix<#t, #o, BATCH>,));
        }
        let (i, krate) = (lit(self.model.input_width()), &self.model.krate);
        fields.extend(quote!(
            /// Gradient of the loss with respect to the input (written by `backward`).
            pub grad_input: #smatrix<#t, #i, BATCH>,
            /// The step, seed and padding of the next training pass (set by trainers).
            pub context: #krate::TrainContext,
        ));
        fields
    }

    fn cache_fields_of(&self, flows: &[Flow], fields: &mut TokenStream) {
        let (t, smatrix, krate) = (&self.model.scalar, &self.smatrix, &self.model.krate);
        for f in flows {
            let l = f.layer;
            self.cache_fields_of(&f.inner, fields);
            self.cache_fields_of(&f.shortcut, fields);
            if !f.shortcut.is_empty() {
                let (grad, i) = (skip_grad_field(l), lit(l.input.len()));
                let doc = format!(
                    " Gradient of the loss with respect to the input of layer `{}` through its shortcut.",
                    l.label
                );
                fields.extend(quote!(#[doc = #doc] pub #grad: #smatrix<#t, #i, BATCH>,));
            }
            let o = lit(l.output.len());
            // The layer's own output field, unless its output lives elsewhere (in place).
            if let Some(out) = f.y.cache().filter(|out| **out == out_field(l)) {
                let doc = format!(" Output of layer `{}` ({}).", l.label, l.describe());
                fields.extend(quote!(#[doc = #doc] pub #out: #smatrix<#t, #o, BATCH>,));
            }
            if let Some(grad) = f.dy.cache().filter(|grad| **grad == format_ident!("{}_grad", l.field)) {
                let doc = format!(" Gradient of the loss with respect to the output of layer `{}`.", l.label);
                fields.extend(quote!(#[doc = #doc] pub #grad: #smatrix<#t, #o, BATCH>,));
            }
            if l.kind().is_some_and(|kind| kind.needs_scratch()) {
                let (scratch, ty, i) = (scratch_field(l), self.layer_impl_type(l), lit(l.input.len()));
                let doc = format!(" Scratch memory of layer `{}`.", l.label);
                fields.extend(quote!(
                    #[doc = #doc] pub #scratch: <#ty as #krate::Layer<#t, #i, #o>>::Scratch<BATCH>,
                ));
            }
        }
    }

    /// The `Model` impl's methods.
    fn passes(&self) -> TokenStream {
        let Gen { cache, input_alias: input, output_alias: output, .. } = self;
        let krate = &self.model.krate;
        let flows = self.training_plan();
        let (single_body, single_out) = self.forward_one(&self.model.layers, None);
        let train_body = self.forward_statements(&flows, true);
        let train_out = plan_output(&flows).by_ref();
        // A model whose layers all compute the same in training and inference runs its
        // training pass for inference too.
        let eval_body =
            if self.model.layers_where(|l| l.kind().is_some_and(|k| k.trains_differently())).is_empty() {
                quote!(self.forward_train(x, cache))
            } else {
                let body = self.forward_statements(&flows, false);
                quote!(#body #train_out)
            };
        let update_statistics = self.update_statistics();
        let backward = self.backward_statements(&flows, true);
        let backward_params = self.backward_statements(&flows, false);
        let batch = match self.model.head() {
            Some(head) => {
                let (value, y) = (self.layer_value(head), out_field(head));
                quote_spanned! {head.span=>
                    self.forward_eval(x, cache);
                    #value.forward(#train_out, &mut cache.#y, &mut ());
                    &cache.#y
                }
            }
            None => quote!(self.forward_eval(x, cache)),
        };
        quote! {
            fn forward(&self, x: &#input) -> #output {
                #single_body
                #single_out
            }

            fn forward_train<'c, const BATCH: usize>(
                &self,
                x: &#input<BATCH>,
                cache: &'c mut #cache<BATCH>,
            ) -> &'c #output<BATCH> {
                #train_body
                #train_out
            }

            fn train_output<const BATCH: usize>(cache: &#cache<BATCH>) -> &#output<BATCH> {
                #train_out
            }

            fn forward_eval<'c, const BATCH: usize>(
                &self,
                x: &#input<BATCH>,
                cache: &'c mut #cache<BATCH>,
            ) -> &'c #output<BATCH> {
                #eval_body
            }

            fn context<const BATCH: usize>(cache: &mut #cache<BATCH>) -> &mut #krate::TrainContext {
                &mut cache.context
            }

            fn update_statistics<'c, const BATCH: usize>(
                &mut self,
                caches: impl ::core::iter::Iterator<Item = &'c #cache<BATCH>> + ::core::clone::Clone,
            ) where
                #cache<BATCH>: 'c,
            {
                #update_statistics
            }

            fn forward_batch<'c, const BATCH: usize>(
                &self,
                x: &#input<BATCH>,
                cache: &'c mut #cache<BATCH>,
            ) -> &'c #output<BATCH> {
                #batch
            }

            fn backward<'c, const BATCH: usize>(
                &self,
                x: &#input<BATCH>,
                cache: &'c mut #cache<BATCH>,
                grad_out: &#output<BATCH>,
                grads: &mut Self,
            ) -> &'c #input<BATCH> {
                #backward
                &cache.grad_input
            }

            fn backward_params<const BATCH: usize>(
                &self,
                x: &#input<BATCH>,
                cache: &mut #cache<BATCH>,
                grad_out: &#output<BATCH>,
                grads: &mut Self,
            ) {
                #backward_params
            }
        }
    }
}
