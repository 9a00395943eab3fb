//! `maxpool(K | (KH, KW), stride = S | (SH, SW))`, `avgpool(…)` and `global_avgpool`: the
//! runtime's `MaxPool2d`, `AvgPool2d` and `GlobalAvgPool`, windows without padding.

use super::window::{Geometry, Window};
use super::{Kind, Runtime};
use crate::args::{self, Padding};
use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::int8::Int8;
use crate::ir::{Io, Shape};

/// A `maxpool` or `avgpool` layer.
struct Pool {
    /// `maxpool` or `avgpool`.
    name: &'static str,
    geometry: Geometry,
}

/// `maxpool(K)` / `avgpool((KH, KW))`, with `stride = S` or `(SH, SW)` (the window by
/// default) and `exact = true`.
pub fn infer(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    let name = if entry.kind == "maxpool" { "maxpool" } else { "avgpool" };
    let usage = format!("write `{name}(K)` or `{name}(K, stride = S)`, e.g. `{name}(2)`");
    let Some(list) = &entry.args else {
        cx.error(entry.kind.span(), format_args!("`{name}` needs its window size; {usage}"));
        return None;
    };
    let [kernel, stride, exact] = args::slots(cx, entry, ["kernel", "stride", "exact"], 1, &usage)?;
    let Some(kernel) = kernel else {
        cx.error(list.paren.span.join(), format_args!("`{name}` needs its window size; {usage}"));
        return None;
    };
    let kernel = args::kernel(cx, kernel);
    let stride = stride.map(|s| args::stride(cx, s));
    let exact = exact.map_or(Some(false), |e| args::flag(cx, e, "exact"));
    let image = args::expect_image(cx, entry, from);
    let ((kh, kw), exact) = (kernel?, exact?);
    let (sh, sw) = stride.unwrap_or(Some((kh, kw)))?;
    let (c, h, w) = image?;
    let padding = Padding::Explicit(0, 0);
    let window = Window { name, what: "window", kh, kw, sh, sw, padding, exact };
    let geometry = window.output(cx, entry, from, h, w)?;
    let shape = Shape::Image { c, h: geometry.oh, w: geometry.ow };
    Some((Box::new(Pool { name, geometry }), shape))
}

/// `global_avgpool`: the mean of each channel.
pub fn infer_global(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    args::no_arguments(cx, entry);
    let (c, ..) = args::expect_image(cx, entry, from)?;
    Some((Box::new(GlobalAvgPool), Shape::Flat(c)))
}

impl Kind for Pool {
    fn describe(&self, io: Io) -> String {
        format!("{} {} → {} ({})", self.name, io.input, io.output, self.geometry.describe(false))
    }

    fn runtime(&self, io: Io) -> Runtime {
        let ((c, h, w), (_, oh, ow)) = (io.input.chw(), io.output.chw());
        let name = if self.name == "maxpool" { "MaxPool2d" } else { "AvgPool2d" };
        let [kh, kw, sh, sw, ..] = self.geometry.dims();
        Runtime::unit(name, vec![c, h, w, kh, kw, sh, sw, oh, ow, io.input.len(), io.output.len()])
    }

    fn int8(&self, _io: Io) -> Option<Int8> {
        Some(Int8::Pool { geometry: self.geometry, max: self.name == "maxpool" })
    }
}

/// A `global_avgpool` layer.
struct GlobalAvgPool;

impl Kind for GlobalAvgPool {
    fn describe(&self, io: Io) -> String {
        format!("global_avgpool {} → {}", io.input, io.output)
    }

    fn runtime(&self, io: Io) -> Runtime {
        let (c, h, w) = io.input.chw();
        Runtime::unit("GlobalAvgPool", vec![c, h, w, io.input.len()])
    }

    /// An average pool whose window is the whole image.
    fn int8(&self, io: Io) -> Option<Int8> {
        let (_, kh, kw) = io.input.chw();
        let geometry = Geometry { kh, kw, sh: 1, sw: 1, ph: 0, pw: 0, same: false, oh: 1, ow: 1 };
        Some(Int8::Pool { geometry, max: false })
    }
}
