//! `depthwise_conv2d(K | (KH, KW), multiplier = M, stride = S | (SH, SW),
//! padding = P | (PH, PW) | same, exact = true)`:
//! the runtime's `DepthwiseConv2d`, PyTorch's `nn.Conv2d` with `groups = in_channels` and
//! `out_channels = M · in_channels`, TFLite's `DEPTHWISE_CONV_2D` with depth multiplier `M`.

use super::window::{Geometry, Window};
use super::{Kind, Runtime, TensorSpec};
use crate::args::{self, Padding};
use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::int8::Int8;
use crate::ir::{Io, Shape};
use crate::limits;

/// A depthwise convolution: its channel multiplier and its window's geometry (its input
/// and output shapes are the layer's).
struct Depthwise {
    multiplier: usize,
    geometry: Geometry,
}

/// `depthwise_conv2d(kernel = K, multiplier = M, stride = S, padding = P, exact = true)`,
/// the kernel also by position: `depthwise_conv2d(3, padding = 1)` (multiplier 1).
pub fn infer(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    const USAGE: &str = "write `depthwise_conv2d(kernel, multiplier = M, stride = S, padding = P)`, \
                         e.g. `depthwise_conv2d(3, padding = 1)`";
    let Some(list) = &entry.args else {
        cx.error(entry.kind.span(), format_args!("`depthwise_conv2d` needs its kernel size; {USAGE}"));
        return None;
    };
    let [kernel, multiplier, stride, padding, exact] =
        args::slots(cx, entry, ["kernel", "multiplier", "stride", "padding", "exact"], 1, USAGE)?;
    let Some(kernel) = kernel else {
        cx.error(list.paren.span.join(), format_args!("`depthwise_conv2d` needs its kernel size; {USAGE}"));
        return None;
    };
    let kernel = args::kernel(cx, kernel);
    let multiplier = multiplier.map_or(Some(1), |m| args::int(cx, m, "the channel multiplier", 1));
    let stride = stride.map_or(Some((1, 1)), |s| args::stride(cx, s));
    let padding = padding.map_or(Some(Padding::Explicit(0, 0)), |p| args::padding(cx, p));
    let exact = exact.map_or(Some(false), |e| args::flag(cx, e, "exact"));
    let image = args::expect_image(cx, entry, from);
    let ((kh, kw), multiplier, (sh, sw), padding, exact) = (kernel?, multiplier?, stride?, padding?, exact?);
    let (c, h, w) = image?;
    let window = Window { name: "depthwise_conv2d", what: "kernel", kh, kw, sh, sw, padding, exact };
    let geometry = window.output(cx, entry, from, h, w)?;
    let Some(oc) = c.checked_mul(multiplier) else {
        cx.error(
            entry.kind.span(),
            format_args!("`depthwise_conv2d`: {c} channels times a multiplier of {multiplier} overflows"),
        );
        return None;
    };
    // Its weight and output are held to the limits by the checker (`limits`).
    let shape = Shape::Image { c: oc, h: geometry.oh, w: geometry.ow };
    Some((Box::new(Depthwise { multiplier, geometry }), shape))
}

impl Kind for Depthwise {
    fn takes_folded_batchnorm(&self) -> bool {
        true
    }

    fn int8(&self, _io: Io) -> Option<Int8> {
        Some(Int8::Depthwise(self.geometry, self.multiplier))
    }

    fn describe(&self, io: Io) -> String {
        let (geometry, multiplier) = (self.geometry.describe(true), self.multiplier);
        format!("depthwise_conv2d {} → {} ({geometry}, multiplier {multiplier})", io.input, io.output)
    }

    fn runtime(&self, io: Io) -> Runtime {
        let ((c, h, w), (oc, oh, ow)) = (io.input.chw(), io.output.chw());
        let multiplier = self.multiplier;
        let [kh, kw, sh, sw, ph, pw] = self.geometry.dims();
        // Every product is within `limits::MAX_TENSOR`: the checker has checked the input,
        // the output and the weight (`OC · KH·KW`).
        let (len, out_len) = (io.input.len(), io.output.len());
        let dims = vec![c, h, w, multiplier, kh, kw, sh, sw, ph, pw, oh, ow, len, out_len, oc, kh * kw];
        Runtime::with_params("DepthwiseConv2d", dims)
    }

    fn tensors(&self, io: Io) -> Vec<TensorSpec> {
        let (oc, ..) = io.output.chw();
        // The runtime's `K × OC` weight, column-major, is PyTorch's row-major `[OC, 1, KH, KW]`.
        vec![
            TensorSpec::new("weight", vec![oc, 1, self.geometry.kh, self.geometry.kw]),
            TensorSpec::new("bias", vec![oc]),
        ]
    }

    /// One multiply-add per weight per output position, `OC·OH·OW · KH·KW`, padding taps
    /// included.
    fn macs(&self, io: Io) -> Option<usize> {
        limits::product(&[io.output.len(), self.geometry.kh, self.geometry.kw])
    }
}
