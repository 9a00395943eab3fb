//! `conv2d(OC, K | (KH, KW), stride = S, padding = P, exact = true)`: the runtime's
//! `Conv2d`, PyTorch's `nn.Conv2d` with `groups = 1`.

use super::window::Window;
use super::{Kind, Runtime, TensorSpec};
use crate::args;
use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::ir::{Io, Shape};
use crate::limits;

/// The geometry of a convolution (its input and output shapes are the layer's).
struct Conv2d {
    kh: usize,
    kw: usize,
    stride: usize,
    padding: usize,
}

/// `conv2d(OC, kernel = K, stride = S, padding = P, exact = true)`, the kernel also by
/// position: `conv2d(16, 3, padding = 1)`.
pub fn infer(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    const USAGE: &str = "write `conv2d(out_channels, kernel = K, stride = S, padding = P)`, \
                         e.g. `conv2d(16, 3, padding = 1)`";
    let Some(list) = &entry.args else {
        cx.error(
            entry.kind.span(),
            format_args!("`conv2d` needs its output channels and kernel size; {USAGE}"),
        );
        return None;
    };
    let [oc, kernel, stride, padding, exact] =
        args::slots(cx, entry, ["out_channels", "kernel", "stride", "padding", "exact"], 2, USAGE)?;
    let Some(oc) = oc else {
        cx.error(
            list.paren.span.join(),
            format_args!("`conv2d` needs its number of output channels; {USAGE}"),
        );
        return None;
    };
    let Some(kernel) = kernel else {
        cx.error(list.paren.span.join(), format_args!("`conv2d` needs its kernel size; {USAGE}"));
        return None;
    };
    let oc = args::int(cx, oc, "the number of output channels", 1);
    let kernel = args::kernel(cx, kernel, false);
    let stride = stride.map_or(Some(1), |s| args::int(cx, s, "the stride", 1));
    let padding = padding.map_or(Some(0), |p| args::int(cx, p, "the padding", 0));
    let exact = exact.map_or(Some(false), |e| args::flag(cx, e, "exact"));
    let image = args::expect_image(cx, entry, from);
    let (oc, (kh, kw), stride, padding, exact) = (oc?, kernel?, stride?, padding?, exact?);
    let (_, h, w) = image?;
    let window = Window { name: "conv2d", what: "kernel", kh, kw, stride, padding, exact };
    let (oh, ow) = window.output(cx, entry, from, h, w)?;
    // Its weight, output and patch matrix are held to the limits by the checker (`limits`).
    Some((Box::new(Conv2d { kh, kw, stride, padding }), Shape::Image { c: oc, h: oh, w: ow }))
}

impl Kind for Conv2d {
    fn describe(&self, io: Io) -> String {
        let Conv2d { kh, kw, stride, padding } = self;
        format!("conv2d {} → {} ({kh}×{kw}, stride {stride}, padding {padding})", io.input, io.output)
    }

    fn runtime(&self, io: Io) -> Runtime {
        let ((c, h, w), (oc, oh, ow)) = (io.input.chw(), io.output.chw());
        let Conv2d { kh, kw, stride, padding } = *self;
        // Every product is within `limits::MAX_TENSOR`: the checker has checked the input,
        // the output and the patch matrix (`C·KH·KW × OH·OW`).
        let (len, out_len) = (io.input.len(), io.output.len());
        let dims = vec![c, h, w, oc, kh, kw, stride, padding, oh, ow, len, out_len, c * kh * kw, oh * ow];
        Runtime::with_params("Conv2d", dims)
    }

    fn tensors(&self, io: Io) -> Vec<TensorSpec> {
        let ((c, ..), (oc, ..)) = (io.input.chw(), io.output.chw());
        // The runtime's `K × OC` weight, column-major, is PyTorch's row-major `[OC, C, KH, KW]`.
        vec![TensorSpec::new("weight", vec![oc, c, self.kh, self.kw]), TensorSpec::new("bias", vec![oc])]
    }

    /// One multiply-add per weight per output position, `OC·OH·OW · C·KH·KW`: the nominal
    /// count, padding taps included (the direct convolution of `forward_one` skips those, so
    /// a padded layer does slightly fewer).
    fn macs(&self, io: Io) -> Option<usize> {
        let (c, ..) = io.input.chw();
        limits::product(&[io.output.len(), c, self.kh, self.kw])
    }

    fn needs_scratch(&self) -> bool {
        true
    }

    fn scratch_tensors(&self, io: Io) -> Vec<(&'static str, Vec<usize>)> {
        let ((c, ..), (_, oh, ow)) = (io.input.chw(), io.output.chw());
        // The runtime's per-sample `L × K` patch matrix (and as large a gradient of it).
        vec![("patch matrix (C·KH·KW × OH·OW)", vec![c, self.kh, self.kw, oh, ow])]
    }
}
