//! `conv2d(OC, K | (KH, KW), stride = S | (SH, SW), padding = P | (PH, PW) | same,
//! exact = true)`: the runtime's `Conv2d`, PyTorch's `nn.Conv2d` with `groups = 1`,
//! TensorFlow's `Conv2D`.

use super::window::{Geometry, Window};
use super::{Kind, Runtime, TensorSpec};
use crate::args::{self, Padding};
use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::int8::Int8;
use crate::ir::{Io, Shape};
use crate::limits;

/// A convolution: its window's geometry (its input and output shapes are the layer's).
struct Conv2d(Geometry);

/// `conv2d(OC, kernel = K, stride = S, padding = P, exact = true)`, the kernel also by
/// position: `conv2d(16, 3, padding = 1)`.
pub fn infer(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    const USAGE: &str = "write `conv2d(out_channels, kernel = K, stride = S, padding = P)`, \
                         e.g. `conv2d(16, 3, padding = 1)` or `conv2d(64, (10, 4), stride = 2, padding = same)`";
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
    let kernel = args::kernel(cx, kernel);
    let stride = stride.map_or(Some((1, 1)), |s| args::stride(cx, s));
    let padding = padding.map_or(Some(Padding::Explicit(0, 0)), |p| args::padding(cx, p));
    let exact = exact.map_or(Some(false), |e| args::flag(cx, e, "exact"));
    let image = args::expect_image(cx, entry, from);
    let (oc, (kh, kw), (sh, sw), padding, exact) = (oc?, kernel?, stride?, padding?, exact?);
    let (_, h, w) = image?;
    let window = Window { name: "conv2d", what: "kernel", kh, kw, sh, sw, padding, exact };
    let geometry = window.output(cx, entry, from, h, w)?;
    // Its weight, output and patch matrix are held to the limits by the checker (`limits`).
    let shape = Shape::Image { c: oc, h: geometry.oh, w: geometry.ow };
    Some((Box::new(Conv2d(geometry)), shape))
}

impl Kind for Conv2d {
    fn takes_folded_batchnorm(&self) -> bool {
        true
    }

    fn int8(&self, _io: Io) -> Option<Int8> {
        Some(Int8::Conv(self.0))
    }

    fn describe(&self, io: Io) -> String {
        format!("conv2d {} → {} ({})", io.input, io.output, self.0.describe(true))
    }

    fn runtime(&self, io: Io) -> Runtime {
        let ((c, h, w), (oc, oh, ow)) = (io.input.chw(), io.output.chw());
        let [kh, kw, sh, sw, ph, pw] = self.0.dims();
        // Every product is within `limits::MAX_TENSOR`: the checker has checked the input,
        // the output and the patch matrix (`C·KH·KW × OH·OW`).
        let (len, out_len) = (io.input.len(), io.output.len());
        let dims = vec![c, h, w, oc, kh, kw, sh, sw, ph, pw, oh, ow, len, out_len, c * kh * kw, oh * ow];
        Runtime::with_params("Conv2d", dims)
    }

    fn tensors(&self, io: Io) -> Vec<TensorSpec> {
        let ((c, ..), (oc, ..)) = (io.input.chw(), io.output.chw());
        // The runtime's `K × OC` weight, column-major, is PyTorch's row-major `[OC, C, KH, KW]`.
        vec![TensorSpec::new("weight", vec![oc, c, self.0.kh, self.0.kw]), TensorSpec::new("bias", vec![oc])]
    }

    /// One multiply-add per weight per output position, `OC·OH·OW · C·KH·KW`: the nominal
    /// count, padding taps included (the direct convolution of `forward_one` skips those, so
    /// a padded layer does slightly fewer).
    fn macs(&self, io: Io) -> Option<usize> {
        let (c, ..) = io.input.chw();
        limits::product(&[io.output.len(), c, self.0.kh, self.0.kw])
    }

    fn needs_scratch(&self) -> bool {
        true
    }

    fn scratch_tensors(&self, io: Io) -> Vec<(&'static str, Vec<usize>)> {
        let ((c, ..), (_, oh, ow)) = (io.input.chw(), io.output.chw());
        // The runtime's per-sample `L × K` patch matrix (and as large a gradient of it).
        vec![("patch matrix (C·KH·KW × OH·OW)", vec![c, self.0.kh, self.0.kw, oh, ow])]
    }
}
