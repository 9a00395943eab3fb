//! Reading a layer's arguments: the slots it takes, by position or `key = value`, and the
//! numbers, kernel sizes and flags in them. Every rejection is recorded in the [`Ctxt`]
//! with the span of the offending argument.

use syn::Lit;

use crate::ast::{Arg, Entry, Value};
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::ir::Shape;
use crate::limits;
use crate::suggest;

/// Reports arguments on a layer that takes none.
pub fn no_arguments(cx: &mut Ctxt, entry: &Entry) {
    if let Some(args) = &entry.args {
        let name = &entry.kind;
        cx.error(args.paren.span.join(), format_args!("`{name}` takes no arguments; write `{name}` alone"));
    }
}

/// The input shape of a layer that needs an image, reporting a flat one.
pub fn expect_image(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(usize, usize, usize)> {
    match from.shape {
        Shape::Image { c, h, w } => Some((c, h, w)),
        Shape::Flat(0) => None,
        Shape::Flat(_) => {
            let name = &entry.kind;
            let fix = if from.prev.is_none() && from.parent.is_none() {
                "declare the input as an image, `input(channels, height, width)`"
            } else {
                "image layers must come before `flatten` and `dense`"
            };
            cx.error(
                entry.kind.span(),
                format_args!("`{name}` needs an image input, but {} (flat); {fix}", from.describe()),
            );
            None
        }
    }
}

/// A layer's arguments sorted into named slots: the first `positional` slots may be given
/// by position, every slot by `key = value`.
pub fn slots<'e, const N: usize>(
    cx: &mut Ctxt,
    entry: &'e Entry,
    slots: [&str; N],
    positional: usize,
    usage: &str,
) -> Option<[Option<&'e Value>; N]> {
    let mut values: [Option<&Value>; N] = [None; N];
    let Some(args) = &entry.args else { return Some(values) };
    let mut ok = true;
    let mut position = 0;
    for arg in &args.list {
        if let Some((arrow, _)) = &arg.arrow {
            cx.error(arrow.spans[0], usage);
            ok = false;
            continue;
        }
        let slot = match &arg.key {
            None if position < positional => {
                position += 1;
                position - 1
            }
            None => {
                cx.error(arg.value.span(), format_args!("too many arguments; {usage}"));
                ok = false;
                continue;
            }
            Some(key) => {
                let name = key.to_string();
                match slots.iter().position(|s| *s == name) {
                    Some(slot) => slot,
                    None => {
                        let known = slots.map(|s| format!("`{s}`")).join(", ");
                        let hint = match suggest::closest(&name, &slots) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => format!("its arguments are {known}"),
                        };
                        cx.error(
                            key.span(),
                            format_args!("`{}` has no argument `{name}`; {hint}", entry.kind),
                        );
                        ok = false;
                        continue;
                    }
                }
            }
        };
        if values[slot].is_some() {
            cx.error(arg.span(), format_args!("`{}` is given twice", slots[slot]));
            ok = false;
            continue;
        }
        values[slot] = Some(&arg.value);
    }
    ok.then_some(values)
}

/// The single unnamed argument of a layer that takes exactly one, reporting anything else
/// with `usage`.
pub fn single<'e>(cx: &mut Ctxt, entry: &'e Entry, usage: &str) -> Option<&'e Arg> {
    let Some(args) = &entry.args else {
        cx.error(entry.kind.span(), usage);
        return None;
    };
    let list: Vec<&Arg> = args.list.iter().collect();
    match list.as_slice() {
        [arg] if arg.key.is_none() => Some(arg),
        [arg] => {
            cx.error(arg.span(), usage);
            None
        }
        _ => {
            cx.error(args.paren.span.join(), usage);
            None
        }
    }
}

/// A non-negative integer literal, at least `min`, described as `what` in errors.
pub fn int(cx: &mut Ctxt, value: &Value, what: &str, min: usize) -> Option<usize> {
    // Kernels, strides and paddings beyond this are mistakes; the cap also keeps every
    // later shape computation far from overflow.
    const MAX: usize = limits::MAX_ARG;
    match value {
        Value::Number { neg: None, lit: Lit::Int(lit) } => match lit.base10_parse::<usize>() {
            Ok(n) if n > MAX => {
                cx.error(lit.span(), format_args!("{what} is too large (at most {MAX})"));
                None
            }
            Ok(n) if n >= min => Some(n),
            Ok(_) => {
                cx.error(lit.span(), format_args!("{what} must be at least {min}"));
                None
            }
            Err(_) => {
                cx.error(lit.span(), format_args!("{what} is too large"));
                None
            }
        },
        _ => {
            cx.error(value.span(), format_args!("expected {what}: an integer such as `{}`", min.max(2)));
            None
        }
    }
}

/// A kernel size: `3` or `(3, 5)` (rows, columns).
pub fn kernel(cx: &mut Ctxt, value: &Value) -> Option<(usize, usize)> {
    pair(cx, value, "the kernel size", 1, "`(3, 5)`")
}

/// A stride: `2` or `(2, 1)` (rows, columns).
pub fn stride(cx: &mut Ctxt, value: &Value) -> Option<(usize, usize)> {
    pair(cx, value, "the stride", 1, "`(2, 1)`")
}

/// How a convolution pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// `padding = P` or `(PH, PW)`: that many zero rows (columns) on each side, as PyTorch.
    Explicit(usize, usize),
    /// `padding = same`: TensorFlow's rule, `⌈n / stride⌉` outputs along each axis, the odd
    /// row or column of padding after the image.
    Same,
}

/// A padding: `1`, `(1, 2)` (rows, columns), `same` (TensorFlow's) or `valid` (none).
pub fn padding(cx: &mut Ctxt, value: &Value) -> Option<Padding> {
    match value {
        Value::Ident(ident) if ident == "same" => Some(Padding::Same),
        Value::Ident(ident) if ident == "valid" => Some(Padding::Explicit(0, 0)),
        Value::Ident(ident) => {
            let hint = match suggest::closest(&ident.to_string(), &["same", "valid"]) {
                Some(close) => format!("did you mean `{close}`? "),
                None => String::new(),
            };
            cx.error(
                ident.span(),
                format_args!(
                    "unknown padding `{ident}`; {hint}write a number `P`, a pair `(PH, PW)`, `same` \
                     (TensorFlow's) or `valid` (none)"
                ),
            );
            None
        }
        other => pair(cx, other, "the padding", 0, "`(1, 2)`").map(|(h, w)| Padding::Explicit(h, w)),
    }
}

/// `N` for both axes or `(rows, columns)`: integers of at least `min`, described as `what`.
fn pair(cx: &mut Ctxt, value: &Value, what: &str, min: usize, example: &str) -> Option<(usize, usize)> {
    match value {
        Value::Tuple { items, paren } => {
            let items: Vec<&Value> = items.iter().collect();
            match items.as_slice() {
                [h, w] => {
                    let (h, w) = (int(cx, h, what, min), int(cx, w, what, min));
                    Some((h?, w?))
                }
                _ => {
                    cx.error(
                        paren.span.join(),
                        format_args!("expected {what} as `N` or a pair `(rows, columns)`, e.g. {example}"),
                    );
                    None
                }
            }
        }
        other => int(cx, other, what, min).map(|n| (n, n)),
    }
}

/// `exact = true|false`.
pub fn flag(cx: &mut Ctxt, value: &Value, what: &str) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b.value),
        other => {
            cx.error(other.span(), format_args!("expected `{what} = true` or `{what} = false`"));
            None
        }
    }
}

/// A layer width: a positive integer literal.
pub fn width(cx: &mut Ctxt, value: &Value) -> Option<usize> {
    match value {
        Value::Number { neg: None, lit: Lit::Int(lit) } => match lit.base10_parse::<usize>() {
            Ok(0) => {
                cx.error(lit.span(), "a layer width must be at least 1");
                None
            }
            Ok(n) => Some(n),
            Err(_) => {
                cx.error(
                    lit.span(),
                    format_args!(
                        "this width does not fit in a `usize` (a tensor holds at most {} values)",
                        limits::show(limits::MAX_TENSOR)
                    ),
                );
                None
            }
        },
        // Blame `-3` as a whole, not just its sign (a joined span is not available on stable).
        Value::Number { neg: Some(neg), lit } => {
            cx.error_spanned_by(
                quote::quote!(#neg #lit),
                "a layer width cannot be negative; write a positive integer such as `128`",
            );
            None
        }
        Value::Number { lit: Lit::Float(_), .. } => {
            cx.error(value.span(), "a layer width must be a whole number, such as `128`");
            None
        }
        Value::Ident(ident) => {
            cx.error(
                ident.span(),
                format_args!(
                    "expected a width, found `{ident}`: widths must be integer literals such as `128` \
                     (the macro cannot read the value of a constant)"
                ),
            );
            None
        }
        other => {
            cx.error(other.span(), "expected a width: a positive integer such as `128`");
            None
        }
    }
}

/// A finite number, possibly negative (`0.01`, `-1`).
pub fn float(cx: &mut Ctxt, value: &Value, usage: &str, what: &str) -> Option<f64> {
    let (neg, parsed) = match value {
        Value::Number { neg, lit: Lit::Float(f) } => (neg.is_some(), f.base10_parse::<f64>()),
        Value::Number { neg, lit: Lit::Int(i) } => (neg.is_some(), i.base10_parse::<f64>()),
        other => {
            cx.error(other.span(), usage);
            return None;
        }
    };
    match parsed {
        Ok(v) if v.is_finite() => Some(if neg { -v } else { v }),
        Ok(_) => {
            cx.error(value.span(), format_args!("{what} must be finite"));
            None
        }
        Err(e) => {
            cx.push(e);
            None
        }
    }
}
