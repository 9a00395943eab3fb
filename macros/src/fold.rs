//! `#[model(weights = "…", fold_batchnorm)]`: the deployment form of a network trained with
//! batch normalisation. Every `batchnorm` right after a dense or convolution layer leaves
//! the model, and [`weights`](crate::weights) bakes that layer's weights with the
//! normalisation's inference map folded in: per output channel `c`,
//! `scale = γ / √(running_var + ε)`, weights `× scale`, bias `scale · (b − running_mean) + β`,
//! computed in `f64` from the file and rounded once. The struct, the passes, the cost
//! constants and the budget are those of the model without the batch norms; the other
//! layers keep their labels, so their tensors are read under the same names.

use crate::ctxt::Ctxt;
use crate::ir::{Folded, Layer, Op};

/// Removes every batch norm from `layers` (and from the blocks in them), folding each into
/// the layer before it; reports those that follow no dense or convolution layer.
pub fn batchnorm(cx: &mut Ctxt, layers: Vec<Layer>) -> Vec<Layer> {
    let mut kept: Vec<Layer> = Vec::with_capacity(layers.len());
    for mut layer in layers {
        if let Op::Residual(block) = &mut layer.op {
            block.main = batchnorm(cx, std::mem::take(&mut block.main));
            block.shortcut = batchnorm(cx, std::mem::take(&mut block.shortcut));
        }
        let Some((eps, ignored)) = layer.kind().and_then(|k| Some((k.batchnorm_eps()?, k.ignored_tensors())))
        else {
            kept.push(layer);
            continue;
        };
        match kept.last_mut() {
            Some(before)
                if before.kind().is_some_and(|k| k.takes_folded_batchnorm()) && before.folded.is_none() =>
            {
                let channels = layer.input.chw().0;
                before.folded = Some(Folded { label: layer.label, eps, channels, ignored });
            }
            before => {
                let what = match before {
                    Some(before) => format!("it follows {}", before.describe_for_error()),
                    None => "it is the first layer of its list".to_string(),
                };
                cx.error(
                    layer.span,
                    format_args!(
                        "`fold_batchnorm` cannot fold {}: {what}; only a batch norm right after a \
                         `dense`, `conv2d` or `depthwise_conv2d` folds into its weights",
                        layer.describe_for_error()
                    ),
                );
                kept.push(layer);
            }
        }
    }
    kept
}
