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
mod budget;
mod cost;
mod ctxt;
mod expand;
mod fold;
mod infer;
mod int8;
mod ir;
mod layers;
mod limits;
mod suggest;
#[cfg(test)]
mod tests;
mod weights;

use proc_macro2::TokenStream;

// Under `--cfg fuzzing` (which cargo-fuzz passes, with an explicit `--target`, so the
// proc macro built for the host is never affected) these sources are not a proc-macro crate
// but an ordinary library of the fuzz crate (`fuzz/Cargo.toml`): a proc-macro crate cannot
// be linked into a fuzz target. There `model` is left out (it would need the compiler's
// `proc_macro` bridge) and `fuzz_spec` is the entry point.
#[cfg(not(fuzzing))]
#[doc = include_str!("../GRAMMAR.md")]
#[proc_macro]
pub fn model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    match ast::parse(input.into()) {
        Ok(decl) => generate(&decl).into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// The `model_spec` fuzz target's entry point: what `model!` would emit for a declaration written as
/// `source` (its body, `struct Name { … }`), or `None` if `source` is not even Rust tokens.
/// Weight files are not read (see [`weights`]).
#[cfg(fuzzing)]
pub fn fuzz_spec(source: &str) -> Option<TokenStream> {
    let tokens: TokenStream = source.parse().ok()?;
    Some(match ast::parse(tokens) {
        Ok(decl) => generate(&decl),
        Err(err) => err.to_compile_error(),
    })
}

/// Everything the macro emits for a parsed declaration: the errors, and the model's code
/// (or its stand-in).
fn generate(decl: &ast::ModelDecl) -> TokenStream {
    let infer::Checked { model, errors: mut cx } = infer::check(decl);
    let code = match &model {
        Some(model) => {
            budget::check(&mut cx, model);
            let mut code = expand::expand(model);
            code.extend(weights::expand(&mut cx, model));
            code.extend(int8::expand(&mut cx, model));
            code
        }
        None => expand::fallback(decl),
    };
    let errors = cx.finish().map(|e| e.to_compile_error());
    quote::quote!(#errors #code)
}
