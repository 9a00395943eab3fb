//! The activations — `relu`, `relu6`, `clamp(min, max)`, `leaky_relu(α)`, `sigmoid`, `tanh`,
//! `identity` — and the `softmax` inference head: parameterless runtime layers that keep
//! their input's shape.

use quote::quote;

use super::{Kind, Runtime};
use crate::args;
use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::int8::Int8;
use crate::ir::{Io, Shape};

/// An activation.
struct Activation {
    /// The DSL name (`leaky_relu`).
    name: &'static str,
    /// The arguments of the runtime type's constructor: `leaky_relu`'s negative slope,
    /// `clamp`'s range; none for the others.
    args: Vec<f64>,
}

/// The activations, by DSL name. Each is the runtime type of the same name in camel case
/// (`leaky_relu` is `LeakyRelu`), an `Elementwise` (or, for `softmax`, a `Layer`) of the
/// runtime crate.
pub const NAMES: &[&str] =
    &["relu", "relu6", "clamp", "leaky_relu", "sigmoid", "tanh", "identity", "softmax"];

/// `leaky_relu` → `LeakyRelu`.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name.split('_') {
        let mut chars = word.chars();
        out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        out.extend(chars);
    }
    out
}

/// Any activation; `leaky_relu` takes its slope, `clamp` its range, the others nothing, and
/// `softmax` needs a flat input.
pub fn infer(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    let written = entry.kind.to_string();
    let name = *NAMES.iter().find(|n| **n == written)?;
    let args = match name {
        "leaky_relu" => vec![leaky_slope(cx, entry)?],
        "clamp" => clamp_range(cx, entry)?,
        _ => {
            args::no_arguments(cx, entry);
            Vec::new()
        }
    };
    if name == "softmax" && matches!(from.shape, Shape::Image { .. }) {
        cx.error(
            entry.kind.span(),
            format_args!("`softmax` needs a flat input, but {}; insert `flatten` before it", from.describe()),
        );
    }
    Some((Box::new(Activation { name, args }), from.shape))
}

/// The range of `clamp(min, max)`: two finite numbers, `min < max`.
fn clamp_range(cx: &mut Ctxt, entry: &Entry) -> Option<Vec<f64>> {
    const USAGE: &str = "`clamp` takes its range, `clamp(min, max)`, e.g. `clamp(-1, 1)`";
    let Some(list) = &entry.args else {
        cx.error(entry.kind.span(), USAGE);
        return None;
    };
    let [min, max] = list.list.iter().collect::<Vec<_>>()[..] else {
        cx.error(list.paren.span.join(), USAGE);
        return None;
    };
    if let Some(arg) = [min, max].into_iter().find(|a| a.key.is_some() || a.arrow.is_some()) {
        cx.error(arg.span(), USAGE);
        return None;
    }
    let lo = args::float(cx, &min.value, USAGE, "the lower end of `clamp`");
    let hi = args::float(cx, &max.value, USAGE, "the upper end of `clamp`");
    let (lo, hi) = (lo?, hi?);
    if lo >= hi {
        cx.error(
            list.paren.span.join(),
            format_args!("`clamp({lo}, {hi})` is an empty range: the lower end must be below the upper"),
        );
        return None;
    }
    Some(vec![lo, hi])
}

/// The negative slope of `leaky_relu(α)` (PyTorch's default 0.01 when omitted).
fn leaky_slope(cx: &mut Ctxt, entry: &Entry) -> Option<f64> {
    const USAGE: &str = "`leaky_relu` takes one argument, its negative slope, e.g. `leaky_relu(0.01)`";
    let Some(list) = &entry.args else { return Some(0.01) };
    match list.list.iter().collect::<Vec<_>>().as_slice() {
        [arg] if arg.key.is_none() && arg.arrow.is_none() => {
            args::float(cx, &arg.value, USAGE, "the slope of `leaky_relu`")
        }
        _ => {
            cx.error(list.paren.span.join(), USAGE);
            None
        }
    }
}

impl Kind for Activation {
    fn describe(&self, _io: Io) -> String {
        match (self.name, &self.args[..]) {
            ("clamp", [min, max]) => format!("clamp({min}, {max})"),
            (name, _) => name.to_string(),
        }
    }

    fn runtime(&self, _io: Io) -> Runtime {
        let mut runtime = Runtime::unit(camel_case(self.name), Vec::new());
        let args = &self.args;
        runtime.constructor = (!args.is_empty()).then(|| quote!((#(#args),*)));
        runtime
    }

    fn is_head(&self) -> bool {
        self.name == "softmax"
    }

    /// ReLU, ReLU6 and clamps are clamps of the int8 values (folded into the layer before
    /// when it requantizes); `softmax` is TFLite's table-driven kernel. The others have no
    /// int8 kernel.
    fn int8(&self, _io: Io) -> Option<Int8> {
        match (self.name, &self.args[..]) {
            ("relu", _) => Some(Int8::Clamp(Some(0.0), None)),
            ("relu6", _) => Some(Int8::Clamp(Some(0.0), Some(6.0))),
            ("clamp", &[low, high]) => Some(Int8::Clamp(Some(low), Some(high))),
            ("identity", _) => Some(Int8::Identity),
            ("softmax", _) => Some(Int8::Softmax),
            _ => None,
        }
    }

    fn elementwise(&self) -> bool {
        self.name != "softmax"
    }
}
