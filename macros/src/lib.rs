//! The `model!` macro of [staticnn](https://docs.rs/staticnn).
//!
//! The pipeline mirrors thiserror's: `ast` parses the declaration into a borrowed syntax
//! tree; `infer` walks it, reading each layer's arguments (`args`) through the layer
//! kinds of `layers`, and infers every shape into the small IR of `ir`, collecting every
//! error it finds (serde's `Ctxt` pattern, in `ctxt`); `expand` turns the IR into plain
//! Rust and `weights` bakes a weight file into it. On errors the macro emits every
//! collected `syn::Error` together with the full expansion when the declaration still
//! describes a consistent model (an unknown layer is skipped, a misstated width corrected),
//! or else a stand-in for the type, so one mistake does not cascade into unrelated errors
//! where the model is used. The size limits of a model, and the checked arithmetic that
//! enforces them, are in `limits`.

mod args;
mod ast;
mod ctxt;
mod expand;
mod infer;
mod ir;
mod layers;
mod limits;
mod suggest;
#[cfg(test)]
mod tests;
mod weights;

use proc_macro2::TokenStream;

#[doc = include_str!("../GRAMMAR.md")]
#[proc_macro]
pub fn model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    match syn::parse::<ast::ModelDecl>(input) {
        Ok(decl) => generate(&decl).into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Everything the macro emits for a parsed declaration: the errors, and the model's code
/// (or its stand-in).
fn generate(decl: &ast::ModelDecl) -> TokenStream {
    let infer::Checked { model, errors: mut cx } = infer::check(decl);
    let code = match &model {
        Some(model) => {
            let mut code = expand::expand(model);
            code.extend(weights::expand(&mut cx, model));
            code
        }
        None => expand::fallback(decl),
    };
    let errors = cx.finish().map(|e| e.to_compile_error());
    quote::quote!(#errors #code)
}
