//! Collects every error found while checking a declaration, to report them all at once.

use std::fmt::Display;

use proc_macro2::Span;

/// An error sink: checks push errors here and carry on.
#[derive(Default)]
pub struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error at `span`.
    pub fn error(&mut self, span: Span, message: impl Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records an already built error (from a literal that failed to parse, say).
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// `Ok(value)` if nothing was recorded, otherwise all errors combined into one.
    pub fn finish<T>(self, value: T) -> syn::Result<T> {
        let mut errors = self.errors.into_iter();
        match errors.next() {
            None => Ok(value),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}
