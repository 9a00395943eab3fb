//! Post-training quantization: from a trained f32 model and a calibration set to the int8
//! parameters of TensorFlow Lite's scheme, as a quantized weights file
//! ([`QuantizedWeights`](crate::io::QuantizedWeights)) that `#[model(int8 = "…")]` bakes.
//!
//! 1. Calibration: every model has `visit_int8_points`, which runs a sample forward and
//!    shows each [`Point`] where its int8 form quantizes (the input, each requantizing
//!    layer's output after its folded activation). A [`Calibrator`] observes them over the
//!    calibration samples and keeps each point's range: the extremes ([`Range::MinMax`]) or
//!    two percentiles ([`Range::Percentile`]), which ignores outliers at the cost of clipping
//!    them.
//! 2. Quantization ([`Calibrator::quantize`]): each range, widened to hold 0, becomes an
//!    asymmetric int8 tensor (`scale = (max − min) / 255`, the zero point the integer that
//!    stands for 0, as TFLite's converter computes them; a `softmax` output gets TFLite's
//!    fixed scale 1/256 and zero point −128); each weight becomes int8, symmetric per output
//!    channel (`scale = max |w| / 127`, rounded to nearest), and each bias int32 with scale
//!    `input scale × weight scale`.
//!
//! `examples/mnist_quantize.rs` runs the whole path; `tests/ptq.rs` bakes its output.

/// The values at one point where a model's int8 form quantizes, as `visit_int8_points`
/// shows them.
#[derive(Clone, Copy, Debug)]
pub struct Point<'a, T> {
    /// The point's label: `input`, or the label of the layer whose output it is.
    pub label: &'a str,
    /// The label of the point the layer's input comes from (empty for `input`).
    pub input: &'a str,
    /// The values.
    pub values: &'a [T],
    /// Whether the point is a `softmax` output, which TFLite quantizes with the fixed scale
    /// 1/256 and zero point −128.
    pub softmax: bool,
}

#[cfg(feature = "std")]
pub use self::calibrate::{Calibrator, PtqError, Range};

#[cfg(feature = "std")]
mod calibrate {
    use core::fmt;
    use std::collections::BTreeMap;
    use std::format;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    use safetensors::{Dtype, SafeTensors};

    use super::Point;
    use crate::Parameters;
    use crate::io::{QuantValues, QuantizedWeights, WeightsError};
    use crate::quant::QuantParams;
    use crate::scalar::Float;

    /// How a point's range is taken from the values observed there.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum Range {
        /// The smallest and largest value.
        MinMax,
        /// The `p`-th and `(100 − p)`-th percentiles (`p` in `50..=100`, e.g. 99.99): the
        /// values beyond are clipped.
        Percentile(f64),
    }

    /// What went wrong quantizing a model.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum PtqError {
        /// No sample was observed at a point the model's parameters need.
        Unobserved(String),
        /// A value observed, or a weight, is NaN or infinite.
        NonFinite(String),
        /// The model holds parameters that have no int8 form (a batch norm's statistics).
        Unsupported(String),
        /// The model's parameters could not be read.
        Weights(WeightsError),
    }

    impl fmt::Display for PtqError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                PtqError::Unobserved(point) => write!(
                    f,
                    "no calibration values were observed at point `{point}`; show the calibrator some \
                     samples through the model's `visit_int8_points` first"
                ),
                PtqError::NonFinite(what) => {
                    write!(f, "{what} holds NaN or an infinity, which int8 cannot represent")
                }
                PtqError::Unsupported(tensor) => write!(
                    f,
                    "tensor `{tensor}` has no int8 form (only dense layers and convolutions have int8 weights; \
                     fold batch norms into the layer before them first)"
                ),
                PtqError::Weights(e) => e.fmt(f),
            }
        }
    }

    impl std::error::Error for PtqError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            match self {
                PtqError::Weights(e) => Some(e),
                _ => None,
            }
        }
    }

    impl From<WeightsError> for PtqError {
        fn from(e: WeightsError) -> Self {
            PtqError::Weights(e)
        }
    }

    /// One point's observations.
    #[derive(Clone, Debug, Default)]
    struct Observed {
        input: String,
        softmax: bool,
        min: f32,
        max: f32,
        /// Every value, for percentiles.
        values: Vec<f32>,
        count: usize,
    }

    /// Observes the values at a model's int8 points over calibration samples, then quantizes
    /// the model ([module documentation](super)).
    #[derive(Clone, Debug)]
    pub struct Calibrator {
        range: Range,
        points: BTreeMap<String, Observed>,
    }

    impl Calibrator {
        /// A calibrator taking ranges by `range`.
        pub fn new(range: Range) -> Self {
            Calibrator { range, points: BTreeMap::new() }
        }

        /// Observes one point: pass `&mut |p| calibrator.observe(p)` to `visit_int8_points`.
        pub fn observe<T: Float>(&mut self, point: Point<'_, T>) {
            let entry = self.points.entry(point.label.to_string()).or_insert_with(|| Observed {
                input: point.input.to_string(),
                softmax: point.softmax,
                min: f32::INFINITY,
                max: f32::NEG_INFINITY,
                ..Observed::default()
            });
            for &v in point.values {
                let v = v.as_f64() as f32;
                // NaN fails both comparisons and is caught by `params`.
                if v < entry.min || v.is_nan() {
                    entry.min = if v.is_nan() { f32::NAN } else { v };
                }
                if v > entry.max {
                    entry.max = v;
                }
                if matches!(self.range, Range::Percentile(_)) {
                    entry.values.push(v);
                }
            }
            entry.count += 1;
        }

        /// The range observed at `label`: `(min, max)` as [`Range`] takes them.
        pub fn range(&self, label: &str) -> Option<(f32, f32)> {
            let observed = self.points.get(label)?;
            match self.range {
                Range::MinMax => Some((observed.min, observed.max)),
                Range::Percentile(p) => {
                    let mut sorted = observed.values.clone();
                    sorted.sort_by(f32::total_cmp);
                    let at = |q: f64| {
                        let k = (q / 100.0 * (sorted.len() - 1) as f64).round() as usize;
                        sorted.get(k.min(sorted.len().saturating_sub(1))).copied()
                    };
                    let p = p.clamp(50.0, 100.0);
                    Some((at(100.0 - p)?, at(p)?))
                }
            }
        }

        /// The int8 quantization of point `label`.
        pub fn params(&self, label: &str) -> Result<QuantParams, PtqError> {
            let (min, max) = self.range(label).ok_or_else(|| PtqError::Unobserved(label.to_string()))?;
            if !(min.is_finite() && max.is_finite()) {
                return Err(PtqError::NonFinite(format!("point `{label}`")));
            }
            Ok(asymmetric(min, max))
        }

        /// The model's int8 parameters under the names of
        /// [`QuantizedWeights`]: each layer with a `weight` and a `bias` quantized with the
        /// scale of the point its input comes from, each observed point's output
        /// quantization.
        pub fn quantize<M: Parameters>(&self, model: &M) -> Result<QuantizedWeights, PtqError> {
            let bytes = crate::io::to_safetensors_bytes(model)?;
            let file = SafeTensors::deserialize(&bytes)
                .map_err(|e| WeightsError::Format { path: None, source: std::boxed::Box::new(e) })?;
            let tensor = |name: &str| -> Option<(Vec<usize>, Vec<f64>)> {
                let view = file.tensor(name).ok()?;
                let values = match view.dtype() {
                    Dtype::F64 => view
                        .data()
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                        .collect(),
                    _ => view
                        .data()
                        .chunks_exact(4)
                        .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap_or([0; 4]))))
                        .collect(),
                };
                Some((view.shape().to_vec(), values))
            };
            let mut out = QuantizedWeights::default();
            out.insert_params("input", self.params("input")?);
            let mut names: Vec<String> = file.names().into_iter().map(str::to_string).collect();
            names.sort();
            for name in &names {
                let Some(label) = name.strip_suffix(".weight") else {
                    if !name.ends_with(".bias") {
                        return Err(PtqError::Unsupported(name.clone()));
                    }
                    continue;
                };
                let observed = self.points.get(label).ok_or_else(|| PtqError::Unsupported(name.clone()))?;
                let input = self.params(&observed.input)?;
                let output = self.params(label)?;
                let (shape, weight) = tensor(name).ok_or_else(|| PtqError::Unsupported(name.clone()))?;
                let outputs = shape.first().copied().unwrap_or(1);
                let per_channel = weight.len() / outputs.max(1);
                let (mut q, mut scales) = (Vec::with_capacity(weight.len()), Vec::with_capacity(outputs));
                for channel in weight.chunks(per_channel.max(1)) {
                    if channel.iter().any(|w| !w.is_finite()) {
                        return Err(PtqError::NonFinite(format!("tensor `{name}`")));
                    }
                    let largest = channel.iter().fold(0f64, |m, w| m.max(w.abs()));
                    let scale = if largest > 0.0 { (largest / 127.0) as f32 } else { 1.0 };
                    q.extend(
                        channel.iter().map(|&w| (w / f64::from(scale)).round().clamp(-127.0, 127.0) as i8),
                    );
                    scales.push(scale);
                }
                let bias = match tensor(&format!("{label}.bias")) {
                    Some((_, b)) => b,
                    None => vec![0.0; outputs],
                };
                let bias: Vec<i32> = bias
                    .iter()
                    .zip(&scales)
                    .map(|(&b, &s)| {
                        let scale = f64::from(input.scale) * f64::from(s);
                        (b / scale).round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
                    })
                    .collect();
                out.insert(format!("{label}.weight"), shape, QuantValues::I8(q));
                out.insert(format!("{label}.weight_scale"), vec![scales.len()], QuantValues::F32(scales));
                out.insert(format!("{label}.bias"), vec![outputs], QuantValues::I32(bias));
                out.insert_params(label, output);
            }
            // The points without weights: residual additions and softmax heads.
            for (label, observed) in self.points.iter().filter(|(l, _)| *l != "input") {
                if out.tensors.contains_key(&format!("{label}.scale")) {
                    continue;
                }
                let params = if observed.softmax {
                    QuantParams { scale: 1.0 / 256.0, zero_point: -128 }
                } else {
                    self.params(label)?
                };
                out.insert_params(label, params);
            }
            Ok(out)
        }
    }

    /// TFLite's asymmetric int8 quantization of the reals `[min, max]`, widened to hold 0:
    /// `scale = (max − min) / 255`, the zero point `−128 − min / scale` rounded and clamped.
    pub(super) fn asymmetric(min: f32, max: f32) -> QuantParams {
        let (min, max) = (f64::from(min.min(0.0)), f64::from(max.max(0.0)));
        if max == min {
            return QuantParams { scale: 1.0, zero_point: 0 };
        }
        let scale = (max - min) / 255.0;
        let zero_point = (-128.0 - min / scale).round().clamp(-128.0, 127.0) as i32;
        QuantParams { scale: scale as f32, zero_point }
    }
}
