//! `#[model(budget(flash = "128K", ram = "16K"))]`: memory budgets checked while the macro
//! expands, so a model that outgrows its target is a compile error on the layer that
//! crosses the line.
//!
//! - `flash` bounds the bytes of the parameters, `PARAM_BYTES` (what a baked `TRAINED` puts
//!   in read-only memory); the code is extra and not counted. The error lands on the first
//!   layer, in declaration order, at which the parameters so far exceed it.
//! - `ram` bounds the RAM of one single-sample inference: `ACTIVATION_BYTES` (the peak of the
//!   activations live at once, the input included) plus [`FORWARD_FRAME_OVERHEAD`]. The
//!   error lands on the first layer whose live bytes, with the overhead, exceed it, and
//!   names the layers whose outputs hold the most.
//!
//! The figures are those of [`cost`]. A value is a string holding a whole number
//! and an optional unit — `B`, `K` or `KiB` (1024 bytes), `M` or `MiB` (1024² bytes) — or an
//! integer literal of bytes.

use std::cmp::Reverse;

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Lit, UnOp};

use crate::cost::{self, FORWARD_FRAME_OVERHEAD, Step, grouped};
use crate::ctxt::Ctxt;
use crate::ir::{Layer, Model};

/// The accepted forms, for messages.
const FORMS: &str = "a string with a whole number and an optional unit, `\"128K\"`, `\"16 KiB\"`, `\"1M\"`, \
                     `\"1 MiB\"` or `\"512B\"` (K = 1024), or an integer number of bytes such as `16384`";

/// The budgets of a model, as declared.
#[derive(Default)]
pub struct Budget {
    /// Where `budget(…)` was written, to report it given twice.
    declared: Option<Span>,
    /// The bound on the parameters' bytes.
    pub flash: Option<Limit>,
    /// The bound on the RAM of one inference.
    pub ram: Option<Limit>,
}

/// One budget, in bytes.
#[derive(Clone, Copy)]
pub struct Limit {
    pub bytes: usize,
}

impl Limit {
    /// `131 072 bytes (128 KiB)`.
    fn describe(self) -> String {
        let bytes = self.bytes;
        let unit = match (bytes % (1 << 20), bytes % (1 << 10)) {
            (0, _) => format!(" ({} MiB)", grouped(bytes >> 20)),
            (_, 0) => format!(" ({} KiB)", grouped(bytes >> 10)),
            _ => String::new(),
        };
        format!("{} bytes{unit}", grouped(bytes))
    }
}

/// Reads `budget(flash = …, ram = …)` (`meta` is at `budget`) into `budget`, recording every
/// mistake in `cx`. Errors that leave the attribute unreadable are returned.
pub fn parse(cx: &mut Ctxt, meta: &ParseNestedMeta, budget: &mut Budget) -> syn::Result<()> {
    const USAGE: &str = "write the budgets in parentheses: `budget(flash = \"128K\", ram = \"16K\")`";
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(USAGE));
    }
    let span = meta.path.span();
    if budget.declared.is_some() {
        cx.error(
            span,
            "`budget` is given twice; give both budgets in one: `budget(flash = \"128K\", ram = \"16K\")`",
        );
    }
    budget.declared = Some(span);
    let fork = meta.input.fork();
    let content;
    syn::parenthesized!(content in fork);
    if content.is_empty() {
        cx.error(span, "`budget()` is empty; give `flash = \"128K\"`, `ram = \"16K\"` or both");
        let _empty;
        syn::parenthesized!(_empty in meta.input);
        return Ok(());
    }
    meta.parse_nested_meta(|inner| {
        let (slot, name) = if inner.path.is_ident("flash") {
            (&mut budget.flash, "flash")
        } else if inner.path.is_ident("ram") {
            (&mut budget.ram, "ram")
        } else {
            let key = inner.path.get_ident().map_or_else(|| "?".to_string(), |i| i.to_string());
            return Err(inner.error(format_args!(
                "unknown budget `{key}`; the budgets are `flash = \"128K\"` (the bytes of the parameters) \
                 and `ram = \"16K\"` (the RAM of one inference)"
            )));
        };
        let value: Expr = inner.value()?.parse()?;
        if slot.is_some() {
            cx.error(inner.path.span(), format_args!("the `{name}` budget is given twice"));
            return Ok(());
        }
        if let Some(bytes) = size(cx, &value, name) {
            *slot = Some(Limit { bytes });
        }
        Ok(())
    })
}

/// The bytes a budget's value states, reporting a value that is not one of the [`FORMS`].
fn size(cx: &mut Ctxt, value: &Expr, name: &str) -> Option<usize> {
    let parsed = match value {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => parse_size(&s.value()),
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => match i.base10_parse::<usize>() {
            Ok(n) => Ok(n),
            Err(_) => Err(format!("this {name} budget does not fit in a `usize`")),
        },
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), .. }) => Err(format!("a {name} budget cannot be negative")),
        _ => Err(format!("expected the {name} budget")),
    };
    let message = match parsed {
        Ok(0) => format!("a {name} budget of 0 bytes leaves no room for any model"),
        Ok(bytes) => return Some(bytes),
        Err(problem) => problem,
    };
    cx.error_spanned_by(value, format_args!("{message}; write {FORMS}"));
    None
}

/// `"128K"`, `"16 KiB"`, `"1M"`, `"512B"`, `"4096"`: a byte count, or what is wrong with it.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim_start());
    if number.is_empty() {
        return Err(match text {
            "" => "this budget is empty".to_string(),
            _ => format!("`{text}` does not start with a whole number of bytes"),
        });
    }
    let scale: usize = match unit {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "k" | "KB" | "kB" | "kiB" | "MB" | "mB" | "m" | "Mb" | "Kb" | "kb" => {
            return Err(format!(
                "`{unit}` is ambiguous; write `K` or `KiB` for 1024 bytes, `M` or `MiB` for 1024²"
            ));
        }
        _ if unit.starts_with('.') => return Err(format!("`{text}` is not a whole number of bytes")),
        _ => return Err(format!("`{unit}` is not a unit of bytes")),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("`{text}` is more bytes than a `usize` holds"))
}

/// Checks a checked model against its budgets, reporting each one it exceeds on the layer
/// that crosses it.
pub fn check(cx: &mut Ctxt, model: &Model) {
    let Model { budget, ident, .. } = model;
    let Some(costs) = cost::costs(model) else {
        // Beyond a 64-bit `usize`: only a 32-bit host could get here within the limits.
        cx.error(ident.span(), "this model's sizes overflow a `usize` on this host");
        return;
    };
    if let Some(flash) = budget.flash {
        check_flash(cx, model, flash, costs.param_bytes);
    }
    if let Some(ram) = budget.ram {
        check_ram(cx, model, ram, costs.ram_bytes);
    }
}

/// The `flash` budget: on the first layer at which the parameters so far exceed it.
fn check_flash(cx: &mut Ctxt, model: &Model, flash: Limit, total: usize) {
    if total <= flash.bytes {
        return;
    }
    let Some(layers) = cost::param_bytes_by_layer(model) else { return };
    let mut so_far = 0usize;
    let crossing = layers.iter().find_map(|&(layer, bytes)| {
        so_far = so_far.saturating_add(bytes);
        (so_far > flash.bytes).then_some((layer, so_far))
    });
    let Some((layer, so_far)) = crossing else { return };
    let largest = largest(layers.iter().copied());
    let (ident, scalar) = (model.ident, &model.scalar);
    let message = format!(
        "model `{ident}` needs {} bytes of `{scalar}` parameters (`{ident}::PARAM_BYTES`; code is extra), \
         over its flash budget of {}; the parameters up to this layer take {}; the largest: {largest}",
        grouped(total),
        flash.describe(),
        grouped(so_far),
    );
    cx.error(layer.span, message);
}

/// The `ram` budget: on the first layer whose live bytes, with the frame overhead and the
/// returned output, exceed it.
fn check_ram(cx: &mut Ctxt, model: &Model, ram: Limit, needed: usize) {
    if needed <= ram.bytes {
        return;
    }
    let Some(steps) = cost::forward_steps(model) else { return };
    // The slot the caller receives the output in is live throughout, beside the frames.
    let Some(output) = cost::output_bytes(model) else { return };
    let fixed = FORWARD_FRAME_OVERHEAD.saturating_add(output);
    let Some(step) = steps.iter().find(|s| s.live.saturating_add(fixed) > ram.bytes) else {
        return;
    };
    let mut by_size: Vec<&Step> = steps.iter().collect();
    by_size.sort_by_key(|s| Reverse(s.own));
    by_size.truncate(3);
    let largest = largest(by_size.iter().map(|s| (s.layer, s.own)));
    let ident = model.ident;
    let message = format!(
        "model `{ident}` needs {} bytes of RAM for one inference (`{ident}::RAM_BYTES`), over its ram budget \
         of {}: {} bytes of activations at the peak, input included (`{ident}::ACTIVATION_BYTES`), {} for \
         the output it returns and {FORWARD_FRAME_OVERHEAD} of stack frames; {} bytes are live while this \
         layer runs; the layers holding the most: {largest}",
        grouped(needed),
        ram.describe(),
        grouped(needed.saturating_sub(fixed)),
        grouped(output),
        grouped(step.live),
    );
    cx.error(step.layer.span, message);
}

/// `layer 0 (dense 784 → 128) with 401 920, layer 2 (dense 128 → 10) with 5 160`: the three
/// layers with the most bytes, the first written first among equals.
fn largest<'l>(layers: impl Iterator<Item = (&'l Layer, usize)>) -> String {
    let mut layers: Vec<(&Layer, usize)> = layers.collect();
    layers.sort_by_key(|&(_, bytes)| Reverse(bytes));
    let top: Vec<String> = layers
        .iter()
        .take(3)
        .map(|(l, bytes)| format!("{} with {}", l.describe_for_error(), grouped(*bytes)))
        .collect();
    top.join(", ")
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_every_accepted_form() {
        let cases = [
            ("128K", 131_072),
            ("128 KiB", 131_072),
            (" 16K ", 16_384),
            ("1M", 1 << 20),
            ("2 MiB", 2 << 20),
            ("512B", 512),
            ("4096", 4096),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in ["", "K", "12X", "1.5M", "16KB", "16k", "-3K", "99999999999999999999M"] {
            assert!(parse_size(bad).is_err(), "{bad} should be rejected");
        }
    }
}
