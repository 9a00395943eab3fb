//! The size limits of a model, in one place, and the checked arithmetic that enforces them.
//!
//! A model is statically sized: every tensor is a nalgebra array whose length is a const
//! generic, the model and its cache are plain structs, and `Name::ZERO` (and a baked
//! `Name::TRAINED`) are built by rustc's const evaluator, which holds every value in memory
//! several times over. A declaration must therefore stay far from what a compiler can
//! build, and every size the macro computes from it must be computed without overflow.
//! The limits below are documented in GRAMMAR.md (`# Limits`); a declaration beyond one is
//! a compile error on the offending layer naming its size and the limit.
//!
//! - [`MAX_TENSOR`]: the most values of any one tensor — a parameter tensor (a dense layer's
//!   weight matrix), one sample's activation (the input, any layer's output), or a
//!   convolution's per-sample scratch (its `C·KH·KW × OH·OW` patch matrix). 2²⁴ values is
//!   64 MiB of `f32`, 128 MiB of `f64`: a 4096 × 4096 dense layer, a 64×256×256 feature
//!   map, 64× the largest activation of a 32×28×28 MNIST CNN.
//! - [`MAX_PARAMS`]: the most parameters of a whole model, 2²⁶ (256 MiB of `f32`): 660× the
//!   MNIST MLP's 101 770, 15× a MobileNet's ~4.2 million.
//! - [`MAX_ARG`]: the largest kernel size, stride or padding, 2²⁴; with every activation
//!   within [`MAX_TENSOR`] it keeps each intermediate (a padded side is at most 3·2²⁴) far
//!   from overflowing even a 32-bit `usize`.
//! - [`MAX_NESTING`]: the deepest brackets may nest, 32, checked before syn parses the
//!   input (its token buffer is built recursively: 20 000 nested `(` overflowed the stack
//!   of the `model_spec` fuzz target).
//!
//! Beyond these the generated code would still be well-typed, but rustc would spend
//! minutes and gigabytes (a 2·10¹¹-wide input exhausted 21.5 GB evaluating `ZERO`), and
//! the model would not fit on any stack or, boxed, in memory.

use std::fmt::Display;

use proc_macro2::Span;

use crate::ctxt::Ctxt;

/// The most values any one tensor (parameter, activation or scratch) may hold: 2²⁴.
pub const MAX_TENSOR: usize = 1 << 24;

/// The most parameters a whole model may hold: 2²⁶.
pub const MAX_PARAMS: usize = 1 << 26;

/// The largest kernel size, stride or padding: 2²⁴.
pub const MAX_ARG: usize = 1 << 24;

/// The deepest brackets may nest in a declaration (the model's braces, a `residual` block's,
/// an argument list's parentheses, …): 32, ample for `residual` blocks nested 30 deep.
pub const MAX_NESTING: usize = 32;

/// `16777216 (2^24)`: how messages state a limit.
pub fn show(limit: usize) -> String {
    match limit.is_power_of_two() {
        true => format!("{limit} (2^{})", limit.trailing_zeros()),
        false => limit.to_string(),
    }
}

/// The product of `dims`, or `None` if it overflows a `usize`.
pub fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// `2 × 200000000000`, for messages.
pub fn times(dims: &[usize]) -> String {
    dims.iter().map(usize::to_string).collect::<Vec<_>>().join(" × ")
}

/// Checks that a tensor of shape `dims` holds at most [`MAX_TENSOR`] values, reporting at
/// `span` that `what` (``layer 1 (dense 4 → 2)'s `weight` ``) is too large; its length if
/// it fits.
pub fn tensor(cx: &mut Ctxt, span: Span, what: impl Display, dims: &[usize]) -> Option<usize> {
    match product(dims) {
        Some(n) if n <= MAX_TENSOR => Some(n),
        n => {
            let size = match (n, dims.len()) {
                (Some(n), 1) => format!("{n} values"),
                (Some(n), _) => format!("{} = {n} values", times(dims)),
                (None, _) => format!("{} values (more than a `usize` can count)", times(dims)),
            };
            cx.error(
                span,
                format_args!(
                    "{what} is {size}, over the limit of {} values for any one tensor \
                     (models are statically sized arrays that rustc builds at compile time)",
                    show(MAX_TENSOR)
                ),
            );
            None
        }
    }
}
