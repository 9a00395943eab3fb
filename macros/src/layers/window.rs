//! A window slid over an image — a convolution's kernel or a pool's window — and the
//! output size it gives, shared by [`conv2d`](super::conv2d),
//! [`depthwise_conv2d`](super::depthwise) and [`pool`](super::pool).
//!
//! Strides and paddings are per axis. Padding is either explicit, PyTorch's `padding =
//! (PH, PW)` (the same on both sides of an axis), or TensorFlow's `padding = same`: the
//! output keeps `⌈n / stride⌉` positions and the padding they need is split with the odd one
//! after the image, so that models imported from TensorFlow Lite compute the same values.

use crate::args::Padding;
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
    /// The strides along rows and columns.
    pub sh: usize,
    pub sw: usize,
    pub padding: Padding,
    /// `exact = true`: reject a stride that leaves inputs unused.
    pub exact: bool,
}

/// A checked window geometry: what the runtime types take as const arguments, and the
/// output rows and columns it gives.
#[derive(Clone, Copy)]
pub struct Geometry {
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    /// The padding before the image, above (`ph`) and to the left (`pw`); the padding after
    /// it follows from the output size (see the runtime's `window_axis`).
    pub ph: usize,
    pub pw: usize,
    /// Whether it was declared as `padding = same`.
    pub same: bool,
    pub oh: usize,
    pub ow: usize,
}

impl Geometry {
    /// The runtime types' const arguments `KH, KW, SH, SW, PH, PW`.
    pub fn dims(&self) -> [usize; 6] {
        [self.kh, self.kw, self.sh, self.sw, self.ph, self.pw]
    }

    /// `3×3, stride 2, padding 1` or, per axis, `10×4, stride 2×1, padding same`.
    pub fn describe(&self, with_padding: bool) -> String {
        let Geometry { kh, kw, sh, sw, ph, pw, same, .. } = *self;
        let mut s = format!("{kh}×{kw}, stride {}", pair(sh, sw));
        if same {
            s.push_str(", padding same");
        } else if with_padding {
            s.push_str(&format!(", padding {}", pair(ph, pw)));
        }
        s
    }
}

/// `2` or `2×1`.
fn pair(a: usize, b: usize) -> String {
    if a == b { a.to_string() } else { format!("{a}×{b}") }
}

impl Window<'_> {
    /// The geometry on an `h × w` input, reporting a window that does not fit the padded
    /// input, or (with `exact`) a stride that leaves inputs unused.
    pub fn output(
        &self,
        cx: &mut Ctxt,
        entry: &Entry,
        from: &Upstream,
        h: usize,
        w: usize,
    ) -> Option<Geometry> {
        let Window { name, what, kh, kw, sh, sw, padding, exact } = *self;
        let (rows, columns) = match padding {
            Padding::Same => (same(h, kh, sh), same(w, kw, sw)),
            Padding::Explicit(ph, pw) => (explicit(h, ph, kh, sh), explicit(w, pw, kw, sw)),
        };
        let (Some((ph, oh, left_h)), Some((pw, ow, left_w))) = (rows, columns) else {
            // Only explicit padding can leave the window outside: `same` pads to fit.
            let padded = match padding {
                Padding::Explicit(0, 0) | Padding::Same => String::new(),
                Padding::Explicit(ph, pw) => match (padded(h, ph), padded(w, pw)) {
                    (Some(th), Some(tw)) => format!(", which is {th}×{tw} with padding {}", pair(ph, pw)),
                    _ => format!(", padded by {}", pair(ph, pw)),
                },
            };
            cx.error(
                entry.kind.span(),
                format_args!(
                    "the {kh}×{kw} {what} of `{name}` does not fit its input: {}{padded}; \
                     use a smaller {what}{}",
                    from.describe(),
                    if name.ends_with("conv2d") { ", more padding or `padding = same`" } else { "" }
                ),
            );
            return None;
        };
        if exact && (left_h != 0 || left_w != 0) {
            let unused = match (left_h, left_w) {
                (0, n) => format!("{} {}", last(n, "column"), if n == 1 { "is" } else { "are" }),
                (n, 0) => format!("{} {}", last(n, "row"), if n == 1 { "is" } else { "are" }),
                (r, c) => format!("{} and {} are", last(r, "row"), last(c, "column")),
            };
            let padded = match padding {
                Padding::Explicit(0, 0) | Padding::Same => String::new(),
                Padding::Explicit(ph, pw) => {
                    // The window fits, so both padded sides exist.
                    let (th, tw) = (padded(h, ph).unwrap_or(0), padded(w, pw).unwrap_or(0));
                    format!(" padded to {th}×{tw}")
                }
            };
            cx.error(
                entry.kind.span(),
                format_args!(
                    "`{name}` asks for an exact fit, but its {kh}×{kw} {what} with stride {} does not tile \
                     its input exactly: {}{padded}, so {unused} never read; change the stride, {what} or \
                     padding, or remove `exact = true`",
                    pair(sh, sw),
                    from.describe()
                ),
            );
        }
        let same = matches!(padding, Padding::Same);
        Some(Geometry { kh, kw, sh, sw, ph, pw, same, oh, ow })
    }
}

/// Along one axis of `n` inputs padded by `pad` on both sides, a window of `k` moved by
/// `stride`: the padding before, the output size `(n + 2·pad − k) / stride + 1` and the
/// inputs the stride leaves unread at the end; `None` if the window is larger than the
/// padded input.
fn explicit(n: usize, pad: usize, k: usize, stride: usize) -> Option<(usize, usize, usize)> {
    let padded = padded(n, pad)?;
    (k <= padded && stride > 0).then(|| (pad, (padded - k) / stride + 1, (padded - k) % stride))
}

/// TensorFlow's `"same"` along one axis: `⌈n / stride⌉` outputs, the total padding they need,
/// `max((out − 1)·stride + k − n, 0)`, split with the larger half after the image. Returns the
/// padding before, the output size and the inputs left unread at the end (when the stride
/// exceeds the window).
fn same(n: usize, k: usize, stride: usize) -> Option<(usize, usize, usize)> {
    let out = n.div_ceil(stride);
    // `n`, `k` and `stride` are within the limits, so nothing here overflows.
    let reach = (out - 1) * stride + k;
    let total = reach.saturating_sub(n);
    Some((total / 2, out, n.saturating_sub(reach)))
}

/// `n + 2·pad`, or `None` on overflow.
fn padded(n: usize, pad: usize) -> Option<usize> {
    pad.checked_mul(2)?.checked_add(n)
}

/// `the last row`, `the last 2 columns`.
fn last(n: usize, noun: &str) -> String {
    if n == 1 { format!("the last {noun}") } else { format!("the last {n} {noun}s") }
}
