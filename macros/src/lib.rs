//! The `model!` macro of [staticnn](https://docs.rs/staticnn).
//!
//! The pipeline mirrors thiserror's: [`ast`] parses the declaration into a borrowed syntax
//! tree, [`check`] infers every layer's shape into a small IR and collects every error it
//! finds (serde's `Ctxt` pattern, in [`ctxt`]), and [`expand`] turns the IR into plain Rust.
//! On any error the macro emits every collected `syn::Error` together with a stub of the
//! declared struct, so one mistake does not cascade into unrelated errors at use sites.

mod ast;
mod check;
mod ctxt;
mod expand;
mod suggest;

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
    match check::check(&decl) {
        Ok(ir) => expand::expand(&ir),
        Err(err) => {
            let stub = expand::fallback(&decl);
            let errors = err.to_compile_error();
            quote::quote!(#errors #stub)
        }
    }
    .into()
}
