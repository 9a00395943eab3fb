//! [`ImportError`]: why a TensorFlow Lite model could not become a `model!` declaration and
//! its weights.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::string::String;

use super::TfliteError;
use crate::io::WeightsError;

/// Why [`import`](super::import) or [`import_file`](super::import_file) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    Io {
        /// The model file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid TensorFlow Lite model.
    Read(TfliteError),
    /// An operator this library has no layer for.
    UnsupportedOperator {
        /// Its index in execution order.
        index: usize,
        /// Its builtin name (`MEAN`, `CONCATENATION`, …).
        op: String,
    },
    /// A supported operator used in a way the layers cannot express (a dilation, a fused
    /// activation, a padded pool, …).
    Unsupported {
        /// Its index in execution order.
        index: usize,
        /// Its builtin name.
        op: String,
        /// What it uses.
        what: String,
    },
    /// The graph is not a chain of layers with residual additions (several inputs, a tensor
    /// computed twice, a cycle, a weight of the wrong type, …).
    Graph(String),
    /// The weights could not be encoded or saved.
    Weights(WeightsError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            ImportError::Read(e) => write!(f, "not a TensorFlow Lite model: {e}"),
            ImportError::UnsupportedOperator { index, op } => write!(
                f,
                "operator {index} ({op}) has no equivalent layer; supported: CONV_2D, DEPTHWISE_CONV_2D, \
                 FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D, ADD (residual blocks), RESHAPE (flatten), \
                 SOFTMAX, RELU, RELU6, RELU_N1_TO_1, TANH, LOGISTIC"
            ),
            ImportError::Unsupported { index, op, what } => {
                write!(f, "operator {index} ({op}) uses {what}, which the layers cannot express")
            }
            ImportError::Graph(what) => write!(f, "unsupported graph: {what}"),
            ImportError::Weights(e) => write!(f, "the imported weights: {e}"),
        }
    }
}

impl Error for ImportError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ImportError::Io { source, .. } => Some(source),
            ImportError::Read(e) => Some(e),
            ImportError::Weights(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TfliteError> for ImportError {
    fn from(e: TfliteError) -> Self {
        ImportError::Read(e)
    }
}
