//! `maxpool(K, stride = S)`, `avgpool(K, stride = S)` and `global_avgpool`: the runtime's
//! `MaxPool2d`, `AvgPool2d` and `GlobalAvgPool`, square windows without padding.

use super::window::Window;
use super::{Kind, Runtime};
use crate::args;
use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::ir::{Io, Shape};

/// A `maxpool` or `avgpool` layer.
struct Pool {
    /// `maxpool` or `avgpool`.
    name: &'static str,
    k: usize,
    stride: usize,
}

/// `maxpool(K)` / `avgpool(K)`, with `stride = S` (`K` by default) and `exact = true`.
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
    let kernel = args::kernel(cx, kernel, true);
    let stride = stride.map(|s| args::int(cx, s, "the stride", 1));
    let exact = exact.map_or(Some(false), |e| args::flag(cx, e, "exact"));
    let image = args::expect_image(cx, entry, from);
    let ((k, _), exact) = (kernel?, exact?);
    let stride = stride.unwrap_or(Some(k))?;
    let (c, h, w) = image?;
    let window = Window { name, what: "window", kh: k, kw: k, stride, padding: 0, exact };
    let (oh, ow) = window.output(cx, entry, from, h, w)?;
    Some((Box::new(Pool { name, k, stride }), Shape::Image { c, h: oh, w: ow }))
}

/// `global_avgpool`: the mean of each channel.
pub fn infer_global(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    args::no_arguments(cx, entry);
    let (c, ..) = args::expect_image(cx, entry, from)?;
    Some((Box::new(GlobalAvgPool), Shape::Flat(c)))
}

impl Kind for Pool {
    fn describe(&self, io: Io) -> String {
        let Pool { name, k, stride } = self;
        format!("{name} {} → {} ({k}×{k}, stride {stride})", io.input, io.output)
    }

    fn runtime(&self, io: Io) -> Runtime {
        let ((c, h, w), (_, oh, ow)) = (io.input.chw(), io.output.chw());
        let name = if self.name == "maxpool" { "MaxPool2d" } else { "AvgPool2d" };
        Runtime::unit(name, vec![c, h, w, self.k, self.stride, oh, ow, io.input.len(), io.output.len()])
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
}
