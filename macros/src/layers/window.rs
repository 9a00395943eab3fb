//! A window slid over an image — a convolution's kernel or a pool's window — and the
//! output size it gives, shared by [`conv2d`](super::conv2d),
//! [`depthwise_conv2d`](super::depthwise) and [`pool`](super::pool).

use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;

/// The geometry of a window, as declared.
pub struct Window<'a> {
    /// The layer's name (`conv2d`, `maxpool`, …) and what its window is called.
    pub name: &'a str,
    pub what: &'a str,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub padding: usize,
    /// `exact = true`: reject a stride that leaves inputs unused.
    pub exact: bool,
}

impl Window<'_> {
    /// The output rows and columns on an `h × w` input, reporting a window that does not
    /// fit the padded input, or (with `exact`) a stride that leaves inputs unused.
    pub fn output(
        &self,
        cx: &mut Ctxt,
        entry: &Entry,
        from: &Upstream,
        h: usize,
        w: usize,
    ) -> Option<(usize, usize)> {
        let Window { name, what, kh, kw, stride, padding, exact } = *self;
        // Sides within `MAX_TENSOR` and paddings within `MAX_ARG` cannot overflow here; a
        // side that would is reported as a window that does not fit.
        let (ph, pw) = (padded(h, padding), padded(w, padding));
        let (Some(oh), Some(ow)) = (along(h, padding, kh, stride), along(w, padding, kw, stride)) else {
            let padded = match (ph, pw) {
                _ if padding == 0 => String::new(),
                (Some(ph), Some(pw)) => format!(", which is {ph}×{pw} with padding {padding}"),
                _ => format!(", padded by {padding}"),
            };
            cx.error(
                entry.kind.span(),
                format_args!(
                    "the {kh}×{kw} {what} of `{name}` does not fit its input: {}{padded}; \
                     use a smaller {what}{}",
                    from.describe(),
                    if name.ends_with("conv2d") { " or more padding" } else { "" }
                ),
            );
            return None;
        };
        // `along` succeeded, so both padded sides exist and hold the window.
        let (ph, pw) = (ph.unwrap_or(0), pw.unwrap_or(0));
        let (left_h, left_w) = ((ph - kh) % stride, (pw - kw) % stride);
        if exact && (left_h != 0 || left_w != 0) {
            let unused = match (left_h, left_w) {
                (0, n) => format!("{} {}", last(n, "column"), if n == 1 { "is" } else { "are" }),
                (n, 0) => format!("{} {}", last(n, "row"), if n == 1 { "is" } else { "are" }),
                (r, c) => format!("{} and {} are", last(r, "row"), last(c, "column")),
            };
            let padded = if padding == 0 { String::new() } else { format!(" padded to {ph}×{pw}") };
            cx.error(
                entry.kind.span(),
                format_args!(
                    "`{name}` asks for an exact fit, but its {kh}×{kw} {what} with stride {stride} does not tile \
                     its input exactly: {}{padded}, so {unused} never read; change the stride, {what} or \
                     padding, or remove `exact = true`",
                    from.describe()
                ),
            );
        }
        Some((oh, ow))
    }
}

/// The output size along one axis of `n` inputs (padded by `pad` on both sides) for a
/// window of `k` moved by `stride`: `(n + 2·pad − k) / stride + 1`, or `None` if the
/// window is larger than the padded input.
fn along(n: usize, pad: usize, k: usize, stride: usize) -> Option<usize> {
    let padded = padded(n, pad)?;
    (k <= padded && stride > 0).then(|| (padded - k) / stride + 1)
}

/// `n + 2·pad`, or `None` on overflow.
fn padded(n: usize, pad: usize) -> Option<usize> {
    pad.checked_mul(2)?.checked_add(n)
}

/// `the last row`, `the last 2 columns`.
fn last(n: usize, noun: &str) -> String {
    if n == 1 { format!("the last {noun}") } else { format!("the last {n} {noun}s") }
}
