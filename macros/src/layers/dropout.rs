//! `dropout(rate)`: the runtime's `Dropout`, which zeroes a fraction `rate` of the values in
//! training (scaling the rest by `1 / (1 − rate)`) and is the identity in inference, where
//! the single-sample `forward` skips it.

use quote::quote;

use super::{Kind, Runtime};
use crate::args;
use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::int8::Int8;
use crate::ir::{Io, Shape};

/// A dropout layer: its rate, and the random stream it draws from (the model's dropout
/// layers are numbered in declaration order).
struct Dropout {
    rate: f64,
    stream: u64,
}

/// `dropout(0.5)` or `dropout(rate = 0.5)`, the rate in `[0, 1)`.
pub fn infer(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    const USAGE: &str = "`dropout` takes the fraction of values it zeroes in training, `dropout(0.5)`";
    let [rate] = args::slots(cx, entry, ["rate"], 1, USAGE)?;
    let Some(value) = rate else {
        cx.error(entry.kind.span(), USAGE);
        return None;
    };
    let rate = args::float(cx, value, USAGE, "the rate of `dropout`")?;
    if !(0.0..1.0).contains(&rate) {
        cx.error(
            value.span(),
            format_args!("the rate of `dropout` is the fraction of values zeroed, in [0, 1), not {rate}"),
        );
        return None;
    }
    Some((Box::new(Dropout { rate, stream: cx.next_stream() }), from.shape))
}

impl Kind for Dropout {
    fn describe(&self, _io: Io) -> String {
        format!("dropout({})", self.rate)
    }

    fn int8(&self, _io: Io) -> Option<Int8> {
        Some(Int8::Identity)
    }

    fn runtime(&self, _io: Io) -> Runtime {
        let mut runtime = Runtime::unit("Dropout", Vec::new());
        let (rate, stream) = (self.rate, self.stream);
        runtime.constructor = Some(quote!({ rate: #rate, stream: #stream }));
        runtime
    }

    fn needs_scratch(&self) -> bool {
        true
    }

    /// The mask, one value per output.
    fn scratch_tensors(&self, io: Io) -> Vec<(&'static str, Vec<usize>)> {
        vec![("mask", io.output.dims())]
    }

    fn trains_differently(&self) -> bool {
        true
    }

    fn inference_identity(&self) -> bool {
        true
    }
}
