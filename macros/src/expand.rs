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
use crate::check::{Layer, LayerKind, Model, Shape};

/// Generates all code for a checked model.
pub fn expand(model: &Model) -> TokenStream {
    let Model { attrs, vis, ident, scalar: t, krate, .. } = model;
    let (input, output) = (lit(model.input), lit(model.output()));
    let cache = format_ident!("{}Cache", ident);
    let input_alias = format_ident!("{}Input", ident);
    let output_alias = format_ident!("{}Output", ident);
    let Paths { smatrix, svector, zeroable } = Paths::new(krate);
    let rt = krate;

    let param_layers: Vec<&Layer> = model.param_layers();
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
    let train_out = train_output(model);

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

            // Every field is a nalgebra matrix of a `Pod` scalar, or a convolution's
            // `Conv2dScratch` of such matrices.
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
                    #train_out
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

/// The image dimensions of a shape (a flat shape of `n` as `n × 1 × 1`; never used so).
fn chw(shape: Shape) -> (Literal, Literal, Literal) {
    match shape {
        Shape::Image { c, h, w } => (lit(c), lit(h), lit(w)),
        Shape::Flat(n) => (lit(n), lit(1), lit(1)),
    }
}

/// The runtime type of a parameterised layer (`()` for others).
fn layer_type(model: &Model, layer: &Layer) -> TokenStream {
    let (krate, t, i, o) = (&model.krate, &model.scalar, lit(layer.input), lit(layer.output));
    match &layer.kind {
        LayerKind::Dense => quote_spanned!(layer.span=> #krate::Dense<#t, #i, #o>),
        LayerKind::Conv2d(conv) => {
            let ((c, h, w), (oc, oh, ow)) = (chw(layer.input_shape), chw(layer.output_shape));
            let (kh, kw, s, p) = (lit(conv.kh), lit(conv.kw), lit(conv.stride), lit(conv.padding));
            let k = lit(conv_taps(layer));
            quote_spanned!(layer.span=> #krate::Conv2d<#t, #c, #h, #w, #oc, #kh, #kw, #s, #p, #oh, #ow, #i, #o, #k>)
        }
        _ => quote!(()),
    }
}

/// `K = C·KH·KW`, the taps of a convolution's kernel.
fn conv_taps(layer: &Layer) -> usize {
    match (&layer.kind, layer.input_shape) {
        (LayerKind::Conv2d(conv), Shape::Image { c, .. }) => c * conv.kh * conv.kw,
        _ => 0,
    }
}

/// The number of parameters a layer holds.
fn param_count(layer: &Layer) -> usize {
    match (&layer.kind, layer.output_shape) {
        (LayerKind::Dense, _) => layer.output * layer.input + layer.output,
        (LayerKind::Conv2d(_), Shape::Image { c: oc, .. }) => conv_taps(layer) * oc + oc,
        (LayerKind::Residual(inner), _) => inner.iter().map(param_count).sum(),
        _ => 0,
    }
}

/// The value of a parameterless layer with shapes, as an expression (`::staticnn::MaxPool2d::<…>`).
fn shaped_layer(model: &Model, layer: &Layer) -> TokenStream {
    let (krate, i, o) = (&model.krate, lit(layer.input), lit(layer.output));
    let ((c, h, w), (_, oh, ow)) = (chw(layer.input_shape), chw(layer.output_shape));
    match &layer.kind {
        LayerKind::MaxPool(p) => {
            let (k, s) = (lit(p.k), lit(p.stride));
            quote_spanned!(layer.span=> #krate::MaxPool2d::<#c, #h, #w, #k, #s, #oh, #ow, #i, #o>)
        }
        LayerKind::AvgPool(p) => {
            let (k, s) = (lit(p.k), lit(p.stride));
            quote_spanned!(layer.span=> #krate::AvgPool2d::<#c, #h, #w, #k, #s, #oh, #ow, #i, #o>)
        }
        LayerKind::GlobalAvgPool => quote_spanned!(layer.span=> #krate::GlobalAvgPool::<#c, #h, #w, #i>),
        LayerKind::Activation(a) => quote_spanned!(layer.span=> #krate::#a),
        _ => quote!(()),
    }
}

fn out_field(layer: &Layer) -> Ident {
    format_ident!("{}_out", layer.field)
}

fn grad_field(layer: &Layer) -> Ident {
    format_ident!("{}_grad", layer.field)
}

fn scratch_field(layer: &Layer) -> Ident {
    format_ident!("{}_scratch", layer.field)
}

/// A doc paragraph listing the architecture.
fn summary_doc(model: &Model) -> String {
    let mut doc = format!(" Generated by `staticnn::model!`: input {}", model.input_shape);
    fn list(doc: &mut String, layers: &[Layer]) {
        for l in layers {
            match &l.kind {
                LayerKind::Residual(inner) => {
                    doc.push_str(&format!(" → `{}` residual {{", l.label));
                    list(doc, inner);
                    doc.push_str(" } (+ its input)");
                }
                _ => doc.push_str(&format!(" → `{}` {}", l.label, l.describe())),
            }
        }
    }
    list(&mut doc, &model.layers);
    doc.push_str(&format!(
        " ({} parameters of `{}`).",
        model.layers.iter().map(param_count).sum::<usize>(),
        model.scalar
    ));
    doc
}

/// Where a value of the training pass is kept.
#[derive(Clone)]
enum Val {
    /// The batch `x` itself.
    Input,
    /// A cache field.
    Cache(Ident),
}

impl Val {
    /// `x` or `&cache.field`.
    fn by_ref(&self) -> TokenStream {
        match self {
            Val::Input => quote!(x),
            Val::Cache(f) => quote!(&cache.#f),
        }
    }
}

/// Where the gradient of the loss with respect to a value of the training pass is kept.
#[derive(Clone)]
enum Grad {
    /// `cache.grad_input`, for the model's input.
    Input,
    /// A cache field.
    Cache(Ident),
    /// The `grad_out` argument, for the model's output.
    Out,
}

impl Grad {
    /// The gradient read by a layer's backward pass.
    fn by_ref(&self) -> TokenStream {
        match self {
            Grad::Input => quote!(&cache.grad_input),
            Grad::Cache(f) => quote!(&cache.#f),
            Grad::Out => quote!(grad_out),
        }
    }

    /// The gradient written by a layer's backward pass.
    fn by_mut(&self) -> TokenStream {
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
struct Flow<'l> {
    layer: &'l Layer,
    x: Val,
    y: Val,
    dx: Grad,
    dy: Grad,
    /// The flows of a `residual` block's layers.
    inner: Vec<Flow<'l>>,
}

/// Places the values of a list of layers that reads `input` (whose gradient goes to
/// `input_grad`) and whose final output's gradient is `output_grad`.
fn plan<'l>(layers: &'l [Layer], input: Val, input_grad: Grad, output_grad: Grad) -> Vec<Flow<'l>> {
    let last = layers.iter().rposition(|l| !matches!(l.kind, LayerKind::Flatten));
    let (mut x, mut dx) = (input, input_grad);
    let mut flows = Vec::new();
    for (k, layer) in layers.iter().enumerate() {
        let (y, dy) = match layer.kind {
            LayerKind::Flatten => (x.clone(), dx.clone()),
            _ if Some(k) == last => (Val::Cache(out_field(layer)), output_grad.clone()),
            _ => (Val::Cache(out_field(layer)), Grad::Cache(grad_field(layer))),
        };
        let inner = match &layer.kind {
            LayerKind::Residual(inner) => plan(inner, x.clone(), dx.clone(), dy.clone()),
            _ => Vec::new(),
        };
        flows.push(Flow { layer, x: x.clone(), y: y.clone(), dx: dx.clone(), dy: dy.clone(), inner });
        (x, dx) = (y, dy);
    }
    flows
}

/// The training pass's flows: the trained layers, from `x` to the gradient `grad_out`.
fn training_plan<'m>(model: &'m Model) -> Vec<Flow<'m>> {
    plan(model.trained_layers(), Val::Input, Grad::Input, Grad::Out)
}

/// The output of a list of flows.
fn plan_output(flows: &[Flow]) -> Val {
    flows.last().map_or(Val::Input, |f| f.y.clone())
}

/// The cache's fields: every layer's output, the gradients flowing between trained
/// layers, each convolution's im2col scratch, and the gradient with respect to the input.
fn cache_fields(model: &Model) -> TokenStream {
    let t = &model.scalar;
    let krate = &model.krate;
    let smatrix = Paths::new(krate).smatrix;
    let mut fields = TokenStream::new();
    fn walk(
        flows: &[Flow],
        t: &TokenStream,
        krate: &TokenStream,
        smatrix: &TokenStream,
        fields: &mut TokenStream,
    ) {
        for f in flows {
            let l = f.layer;
            walk(&f.inner, t, krate, smatrix, fields);
            let o = lit(l.output);
            if let Val::Cache(out) = &f.y
                && *out == out_field(l)
            {
                let doc = format!(" Output of layer `{}` ({}).", l.label, l.describe());
                fields.extend(quote!(#[doc = #doc] pub #out: #smatrix<#t, #o, BATCH>,));
            }
            if let Grad::Cache(grad) = &f.dy
                && *grad == grad_field(l)
            {
                let doc = format!(" Gradient of the loss with respect to the output of layer `{}`.", l.label);
                fields.extend(quote!(#[doc = #doc] pub #grad: #smatrix<#t, #o, BATCH>,));
            }
            if let (LayerKind::Conv2d(_), Shape::Image { c, h, w }) = (&l.kind, l.output_shape) {
                let (scratch, positions, taps, channels) =
                    (scratch_field(l), lit(h * w), lit(conv_taps(l)), lit(c));
                let doc = format!(
                    " The scratch buffers of layer `{}` (its im2col matrix of {h}·{w} positions × {} kernel \
                     taps), reused for every sample.",
                    l.label,
                    conv_taps(l)
                );
                fields.extend(quote!(#[doc = #doc] pub #scratch: #krate::Conv2dScratch<#t, #positions, #taps, #channels>,));
            }
        }
    }
    walk(&training_plan(model), t, krate, &smatrix, &mut fields);
    if let (true, Some(head)) = (model.has_head(), model.layers.last()) {
        let (out, o) = (out_field(head), lit(head.output));
        let doc = format!(" Output of layer `{}` ({}).", head.label, head.describe());
        fields.extend(quote!(#[doc = #doc] pub #out: #smatrix<#t, #o, BATCH>,));
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
    let (t, input, output) = (&model.scalar, lit(model.input), lit(model.output()));
    // Each layer's output is a local named after its cache field; `x` is borrowed.
    fn sequence(model: &Model, layers: &[Layer], input: Option<&Ident>) -> (TokenStream, Option<Ident>) {
        let mut prev = input.cloned();
        let mut body = TokenStream::new();
        for l in layers {
            let h = out_field(l);
            let (by_ref, by_value) = match &prev {
                Some(p) => (quote!(&#p), quote!(#p)),
                None => (quote!(x), quote!(*x)),
            };
            body.extend(match &l.kind {
                LayerKind::Flatten => continue,
                LayerKind::Dense => crate::unroll::dense(model, l, &h, &by_ref).unwrap_or_else(|| {
                    let f = &l.field;
                    quote_spanned!(l.span=> let #h = self.#f.forward(#by_ref);)
                }),
                LayerKind::Conv2d(_) => {
                    let f = &l.field;
                    quote_spanned!(l.span=> let #h = self.#f.forward(#by_ref);)
                }
                LayerKind::Activation(_) => {
                    let a = shaped_layer(model, l);
                    quote_spanned!(l.span=> let #h = #a.apply(#by_value);)
                }
                LayerKind::MaxPool(_) | LayerKind::AvgPool(_) | LayerKind::GlobalAvgPool => {
                    let pool = shaped_layer(model, l);
                    quote_spanned!(l.span=> let #h = #pool.forward(#by_ref);)
                }
                LayerKind::Residual(inner) => {
                    let (inner_body, inner_out) = sequence(model, inner, prev.as_ref());
                    quote_spanned!(l.span=> let #h = { #inner_body #by_value + #inner_out };)
                }
            });
            prev = Some(h);
        }
        (body, prev)
    }
    let (body, result) = sequence(model, &model.layers, None);
    quote! {
        /// Runs the model on one input, on the stack, without allocating (the `softmax`
        /// head, if any, included).
        #[inline]
        pub fn forward(&self, x: &#svector<#t, #input>) -> #svector<#t, #output> {
            #body
            #result
        }
    }
}

/// The training pass's statements for a list of flows.
fn forward_statements(model: &Model, flows: &[Flow]) -> TokenStream {
    let mut body = TokenStream::new();
    for flow in flows {
        let (l, x) = (flow.layer, flow.x.by_ref());
        let Val::Cache(y) = &flow.y else { continue };
        body.extend(match &l.kind {
            LayerKind::Flatten => continue,
            LayerKind::Dense => {
                let f = &l.field;
                quote_spanned!(l.span=> self.#f.forward_batch(#x, &mut cache.#y);)
            }
            LayerKind::Conv2d(_) => {
                let (f, scratch) = (&l.field, scratch_field(l));
                quote_spanned!(l.span=> self.#f.forward_batch(#x, &mut cache.#y, &mut cache.#scratch);)
            }
            LayerKind::Activation(_) => {
                let a = shaped_layer(model, l);
                quote_spanned!(l.span=> #a.forward(#x, &mut cache.#y);)
            }
            LayerKind::MaxPool(_) | LayerKind::AvgPool(_) | LayerKind::GlobalAvgPool => {
                let pool = shaped_layer(model, l);
                quote_spanned!(l.span=> #pool.forward_batch(#x, &mut cache.#y);)
            }
            LayerKind::Residual(_) => {
                let (inner, fx, krate) =
                    (forward_statements(model, &flow.inner), plan_output(&flow.inner).by_ref(), &model.krate);
                quote_spanned!(l.span=> #inner #krate::residual::forward(#x, #fx, &mut cache.#y);)
            }
        });
    }
    body
}

/// `forward_train`: a batch, keeping every output in the cache.
fn forward_train(model: &Model) -> TokenStream {
    let smatrix = Paths::new(&model.krate).smatrix;
    let (t, input, output) = (&model.scalar, lit(model.input), lit(model.output()));
    let cache = format_ident!("{}Cache", model.ident);
    let flows = training_plan(model);
    let body = forward_statements(model, &flows);
    let result = plan_output(&flows).by_ref();
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

/// The field `Model::train_output` returns: the training pass's output.
fn train_output(model: &Model) -> TokenStream {
    plan_output(&training_plan(model)).by_ref()
}

/// `forward_batch`: the training pass plus the `softmax` head, if any.
fn forward_batch(model: &Model) -> TokenStream {
    let smatrix = Paths::new(&model.krate).smatrix;
    let (t, input, output) = (&model.scalar, lit(model.input), lit(model.output()));
    let cache = format_ident!("{}Cache", model.ident);
    let head = match (model.has_head(), model.layers.last()) {
        (true, Some(head)) => {
            let (x, y, span, krate) = (train_output(model), out_field(head), head.span, &model.krate);
            quote_spanned!(span=> #krate::Softmax.forward(#x, &mut cache.#y); &cache.#y)
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

/// The backward statements for a list of flows, last layer first. Without `input_grad`
/// nothing below the first layer holding parameters runs, and that layer skips its input
/// gradient.
fn backward_statements(model: &Model, flows: &[Flow], input_grad: bool) -> TokenStream {
    let krate = &model.krate;
    let lowest = if input_grad {
        0
    } else {
        flows.iter().position(|f| f.layer.contains_params()).unwrap_or(flows.len())
    };
    let mut body = TokenStream::new();
    for (k, flow) in flows.iter().enumerate().skip(lowest).rev() {
        let l = flow.layer;
        let needs_dx = input_grad || k > lowest;
        let (x, y, dy, dx) = (flow.x.by_ref(), flow.y.by_ref(), flow.dy.by_ref(), flow.dx.by_mut());
        body.extend(match &l.kind {
            LayerKind::Flatten => continue,
            LayerKind::Dense if !needs_dx => {
                let f = &l.field;
                quote_spanned!(l.span=> self.#f.backward_params(#x, #dy, &mut grads.#f);)
            }
            LayerKind::Dense => {
                let f = &l.field;
                quote_spanned!(l.span=> self.#f.backward(#x, #dy, &mut grads.#f, #dx);)
            }
            LayerKind::Conv2d(_) if !needs_dx => {
                let (f, scratch) = (&l.field, scratch_field(l));
                quote_spanned!(l.span=> self.#f.backward_params(#x, #dy, &mut grads.#f, &mut cache.#scratch);)
            }
            LayerKind::Conv2d(_) => {
                let (f, scratch) = (&l.field, scratch_field(l));
                quote_spanned!(l.span=> self.#f.backward(#x, #dy, &mut grads.#f, #dx, &mut cache.#scratch);)
            }
            LayerKind::Activation(_)
            | LayerKind::MaxPool(_)
            | LayerKind::AvgPool(_)
            | LayerKind::GlobalAvgPool => {
                let layer = shaped_layer(model, l);
                quote_spanned!(l.span=> #layer.backward(#x, #y, #dy, #dx);)
            }
            LayerKind::Residual(_) => {
                let inner = backward_statements(model, &flow.inner, needs_dx);
                let skip = needs_dx.then(|| quote_spanned!(l.span=> #krate::residual::backward(#dy, #dx);));
                quote!(#inner #skip)
            }
        });
    }
    body
}

/// `backward` (with the input gradient) or `backward_params` (without): the trained
/// layers in reverse, each reading its input and output from the cache.
fn backward(model: &Model, input_grad: bool) -> TokenStream {
    let smatrix = Paths::new(&model.krate).smatrix;
    let (t, input, output) = (&model.scalar, lit(model.input), lit(model.output()));
    let cache = format_ident!("{}Cache", model.ident);
    let body = backward_statements(model, &training_plan(model), input_grad);
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

/// The path of nalgebra's `SVector` as generated code names it.
pub fn svector_path(krate: &TokenStream) -> TokenStream {
    Paths::new(krate).svector
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
