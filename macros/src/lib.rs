//! The `model!` macro of [staticnn](https://docs.rs/staticnn).
//!
//! The pipeline mirrors thiserror's: [`ast`] parses the declaration into a borrowed syntax
//! tree, [`check`] infers every layer's shape into a small IR and collects every error it
//! finds (serde's `Ctxt` pattern, in [`ctxt`]), and [`expand`] turns the IR into plain Rust.
//! On errors the macro emits every collected `syn::Error` together with the full expansion
//! when the declaration still describes a consistent model (an unknown layer is skipped, a
//! misstated width corrected), or else a stand-in for the type, so one mistake does not
//! cascade into unrelated errors where the model is used.

mod ast;
mod check;
mod ctxt;
mod expand;
mod suggest;
mod unroll;
mod weights;

use proc_macro::TokenStream;

/// Declares a neural network and generates its statically shaped code.
///
/// See the `staticnn` crate documentation for the grammar and the generated API.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    let decl = match syn::parse::<ast::ModelDecl>(input) {
        Ok(decl) => decl,
        Err(err) => return err.to_compile_error().into(),
    };
    let checked = check::check(&decl);
    let errors = checked.errors.map(|e| e.to_compile_error());
    let code = match &checked.model {
        Some(model) => {
            let mut code = expand::expand(model);
            code.extend(weights::expand(model, errors.is_none()));
            code
        }
        None => expand::fallback(&decl),
    };
    quote::quote!(#errors #code).into()
}
