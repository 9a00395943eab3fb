//! Collects every error found while checking a declaration, to report them all at once
//! (serde_derive's `Ctxt`).

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// An error sink: checks push errors here and carry on. It must be consumed by
/// [`finish`](Ctxt::finish); dropping one unfinished is a bug in the macro (errors would be
/// lost), caught by a panic in `Drop` as serde_derive does.
pub struct Ctxt {
    /// `None` once finished.
    errors: Option<Vec<syn::Error>>,
    /// The random streams handed out so far ([`next_stream`](Ctxt::next_stream)).
    streams: u64,
}

impl Default for Ctxt {
    fn default() -> Self {
        Ctxt { errors: Some(Vec::new()), streams: 0 }
    }
}

impl Ctxt {
    /// The random stream of the next layer that draws random numbers (`dropout`): `0, 1, …`
    /// in declaration order, so that every such layer of a model draws its own.
    pub fn next_stream(&mut self) -> u64 {
        self.streams += 1;
        self.streams - 1
    }

    /// Records an error at `span`.
    pub fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error covering all of `tokens` (`-3` as a whole, not just its sign).
    pub fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an already built error (from a literal that failed to parse, say).
    pub fn push(&mut self, error: syn::Error) {
        if let Some(errors) = &mut self.errors {
            errors.push(error);
        }
    }

    /// The number of errors recorded so far: a check compares it before and after a part
    /// to know whether that part reported anything.
    pub fn count(&self) -> usize {
        self.errors.as_ref().map_or(0, Vec::len)
    }

    /// Whether nothing has been recorded so far.
    pub fn is_clean(&self) -> bool {
        self.errors.as_ref().is_none_or(Vec::is_empty)
    }

    /// All errors combined into one, or `None` if nothing was recorded.
    pub fn finish(mut self) -> Option<syn::Error> {
        let mut errors = self.errors.take().unwrap_or_default().into_iter();
        let mut first = errors.next()?;
        first.extend(errors);
        Some(first)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if self.errors.is_some() && !std::thread::panicking() {
            panic!("staticnn-macros bug: a Ctxt was dropped without `finish`, losing its errors");
        }
    }
}
