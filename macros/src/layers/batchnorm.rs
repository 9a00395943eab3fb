//! `batchnorm`, `batchnorm1d`, `batchnorm2d`: the runtime's `BatchNorm<T, C, HW, N>`, one
//! scale and shift per channel (per feature of a flat input), normalised by the batch's
//! statistics in training and by running estimates in inference.
//!
//! Arguments, all optional: the channel count as PyTorch states it (`batchnorm2d(16)`),
//! checked against the input; `eps = 1e-5` and `momentum = 0.1`, PyTorch's defaults and
//! conventions (Keras's `momentum = 0.99` is `momentum = 0.01` here). `batchnorm1d` needs a
//! flat input and `batchnorm2d` an image, as PyTorch's classes do; `batchnorm` takes either.

use quote::quote;

use super::{Adapter, Kind, Runtime, TensorSpec};
use crate::args;
use crate::ast::Entry;
use crate::ctxt::Ctxt;
use crate::infer::Upstream;
use crate::ir::{Io, Shape};

/// The DSL names: any input, a flat one, an image.
pub const NAMES: &[&str] = &["batchnorm", "batchnorm1d", "batchnorm2d"];

/// A batch normalisation and its hyper-parameters.
struct BatchNorm {
    eps: f64,
    momentum: f64,
}

/// Reads the arguments and checks the input's kind and channel count.
pub fn infer(cx: &mut Ctxt, entry: &Entry, from: &Upstream) -> Option<(Box<dyn Kind>, Shape)> {
    let name = entry.kind.to_string();
    let usage = format!(
        "`{name}` takes the channel count and the keys `eps` and `momentum`, all optional: `{name}`, \
         `{name}(16)`, `{name}(eps = 1e-3, momentum = 0.01)`"
    );
    let [channels, eps, momentum] = args::slots(cx, entry, ["channels", "eps", "momentum"], 1, &usage)?;
    let eps = match eps {
        Some(value) => args::float(cx, value, &usage, "`eps`").filter(|&e| {
            let ok = e > 0.0;
            if !ok {
                cx.error(
                    value.span(),
                    format_args!("`eps` must be positive (PyTorch's default is 1e-5), not {e}"),
                );
            }
            ok
        }),
        None => Some(1e-5),
    };
    let momentum = match momentum {
        Some(value) => args::float(cx, value, &usage, "`momentum`").filter(|&m| {
            let ok = (0.0..=1.0).contains(&m);
            if !ok {
                cx.error(
                    value.span(),
                    format_args!(
                        "`momentum` is the weight of the new batch's statistics, in [0, 1] (PyTorch's \
                         convention; Keras's `momentum = 0.99` is `momentum = 0.01` here), not {m}"
                    ),
                );
            }
            ok
        }),
        None => Some(0.1),
    };
    let input_channels = match (name.as_str(), from.shape) {
        (_, shape) if !shape.is_known() => None,
        ("batchnorm2d", Shape::Flat(n)) => {
            cx.error(
                entry.kind.span(),
                format_args!(
                    "`batchnorm2d` normalises the channels of an image, but {} (flat); use `batchnorm1d` \
                     (or `batchnorm`) to normalise each of the {n} features",
                    from.describe()
                ),
            );
            None
        }
        ("batchnorm1d", Shape::Image { c, .. }) => {
            cx.error(
                entry.kind.span(),
                format_args!(
                    "`batchnorm1d` normalises the features of a flat input, but {}; use `batchnorm2d` \
                     (or `batchnorm`) to normalise each of its {c} channels",
                    from.describe()
                ),
            );
            None
        }
        (_, shape) => Some(shape.chw().0),
    };
    if let (Some(value), Some(input)) = (channels, input_channels) {
        let stated = args::width(cx, value);
        if let Some(stated) = stated.filter(|&s| s != input) {
            let what = if matches!(from.shape, Shape::Flat(_)) { "features" } else { "channels" };
            cx.error(
                value.span(),
                format_args!(
                    "`{name}({stated})` states {stated} {what}, but {}: {input} {what}",
                    from.describe()
                ),
            );
        }
    }
    Some((Box::new(BatchNorm { eps: eps?, momentum: momentum? }), from.shape))
}

impl BatchNorm {
    /// Channels and the values per channel of a sample.
    fn channels(io: Io) -> (usize, usize) {
        let (c, h, w) = io.input.chw();
        (c, h.saturating_mul(w))
    }
}

impl Kind for BatchNorm {
    fn describe(&self, io: Io) -> String {
        let (eps, momentum) = (self.eps, self.momentum);
        match io.input {
            Shape::Image { c, .. } => {
                format!("batchnorm {} ({c} channels, eps {eps:?}, momentum {momentum:?})", io.input)
            }
            Shape::Flat(_) => format!("batchnorm {} (eps {eps:?}, momentum {momentum:?})", io.input),
        }
    }

    fn runtime(&self, io: Io) -> Runtime {
        let (c, hw) = Self::channels(io);
        let mut runtime = Runtime::with_params("BatchNorm", vec![c, hw, io.input.len()]);
        let eps = self.eps;
        runtime.adapter = Some(Adapter { name: "BatchNormWithEps".into(), call: quote!(.with_eps(#eps)) });
        runtime
    }

    fn tensors(&self, io: Io) -> Vec<TensorSpec> {
        let (c, _) = Self::channels(io);
        ["weight", "bias", "running_mean", "running_var"]
            .into_iter()
            .map(|p| TensorSpec::new(p, vec![c]))
            .collect()
    }

    fn needs_scratch(&self) -> bool {
        true
    }

    /// One multiply-add per value in inference (`scale · x + shift`).
    fn macs(&self, io: Io) -> Option<usize> {
        Some(io.input.len())
    }

    fn trains_differently(&self) -> bool {
        true
    }

    fn statistics_momentum(&self) -> Option<f64> {
        Some(self.momentum)
    }

    fn batchnorm_eps(&self) -> Option<f64> {
        Some(self.eps)
    }

    fn ignored_tensors(&self) -> &'static [&'static str] {
        &["num_batches_tracked"]
    }
}
