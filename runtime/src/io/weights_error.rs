//! [`WeightsError`]: every way saving or loading weights can fail, and its messages, which
//! name the file and the tensor concerned.

use std::boxed::Box;
use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::string::String;
use std::vec::Vec;

use crate::scalar::Dtype;

/// How many tensor names an error message lists before eliding the rest.
const LISTED_NAMES: usize = 10;

/// What was being done to a weight file when an I/O error occurred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoOperation {
    /// Reading the file.
    Read,
    /// Creating, writing or syncing the temporary file a save writes first.
    Write,
    /// Renaming the fully written temporary file over the target.
    Replace,
}

/// Why weights could not be saved or loaded.
///
/// Every variant names the file where there is one (`path` is `None` only for the
/// in-memory [`to_safetensors_bytes`](super::to_safetensors_bytes) /
/// [`from_safetensors_bytes`](super::from_safetensors_bytes)) and the tensor where
/// there is one. Tensors are named by their state-dict key, e.g. `0.weight`.
#[derive(Debug)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be read, written or replaced.
    Io {
        /// The weight file (the target, for a save).
        path: PathBuf,
        /// What was being done.
        operation: IoOperation,
        /// The underlying error.
        source: io::Error,
    },
    /// The data is not a valid safetensors file.
    Format {
        /// The file, if the data came from one.
        path: Option<PathBuf>,
        /// What is wrong with it.
        source: Box<dyn Error + Send + Sync + 'static>,
    },
    /// A tensor the model declares is not in the file.
    Missing {
        /// The file, if the data came from one.
        path: Option<PathBuf>,
        /// The first missing tensor, in the model's declaration order.
        tensor: String,
        /// Every tensor the file does hold, sorted.
        available: Vec<String>,
    },
    /// The file holds tensors the model does not declare.
    Unexpected {
        /// The file, if the data came from one.
        path: Option<PathBuf>,
        /// Every such tensor, sorted.
        tensors: Vec<String>,
    },
    /// A tensor's shape in the file differs from the model's.
    ShapeMismatch {
        /// The file, if the data came from one.
        path: Option<PathBuf>,
        /// The tensor.
        tensor: String,
        /// Its shape in the file.
        file_shape: Vec<usize>,
        /// Its shape in the model (PyTorch's convention).
        model_shape: Vec<usize>,
    },
    /// A tensor's element type in the file differs from the model's.
    DtypeMismatch {
        /// The file, if the data came from one.
        path: Option<PathBuf>,
        /// The tensor.
        tensor: String,
        /// Its dtype in the file, as safetensors names it (`F64`, `BF16`, …).
        file_dtype: String,
        /// The model's dtype.
        model_dtype: Dtype,
    },
    /// A tensor of a quantized weights file ([`QuantizedWeights`](super::QuantizedWeights))
    /// has another element type than its name calls for.
    QuantizedDtype {
        /// The file, if the data came from one.
        path: Option<PathBuf>,
        /// The tensor.
        tensor: String,
        /// Its dtype in the file, as safetensors names it.
        file_dtype: String,
        /// The dtype expected (`I8`, `I32` or `F32`).
        expected: &'static str,
    },
    /// The model lists two tensors under the same name, so they cannot be told apart in a
    /// file (a bug in a hand-written [`Parameters`](crate::Parameters) implementation).
    DuplicateTensor {
        /// The file, if there is one.
        path: Option<PathBuf>,
        /// The repeated name.
        tensor: String,
    },
    /// A tensor of the model holds a different number of elements than its declared
    /// shape has (a bug in a hand-written [`Parameters`](crate::Parameters) implementation).
    InconsistentModel {
        /// The file, if there is one.
        path: Option<PathBuf>,
        /// The tensor.
        tensor: String,
        /// Its declared shape.
        shape: Vec<usize>,
        /// The number of elements it actually holds.
        len: usize,
    },
    /// A tensor holds NaN or an infinity, which loading and saving refuse unless
    /// [`WeightOptions::allow_non_finite`](super::WeightOptions::allow_non_finite) is set.
    NonFinite {
        /// The file, if there is one.
        path: Option<PathBuf>,
        /// The tensor.
        tensor: String,
        /// The element's index in the tensor's row-major (PyTorch) order.
        index: usize,
        /// The value.
        value: f64,
    },
    /// The file names the same tensor twice; safetensors readers would silently keep one
    /// of the two.
    DuplicateInFile {
        /// The file, if the data came from one.
        path: Option<PathBuf>,
        /// The repeated name.
        tensor: String,
    },
    /// The path exists but is not a regular file (a directory, device, FIFO or socket):
    /// loading would block or read a stream, saving would replace it.
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file holds more tensor data than the model's parameters could take in any
    /// dtype: it is refused before its data is read.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The bytes of tensor data the file holds.
        data_bytes: u64,
        /// The most this model's tensors can take (8 bytes per parameter).
        limit: u64,
    },
    /// The safetensors encoder rejected the model's tensors.
    Encode {
        /// The file being saved, if any.
        path: Option<PathBuf>,
        /// What went wrong.
        source: Box<dyn Error + Send + Sync + 'static>,
    },
}

impl WeightsError {
    /// The weight file concerned, if the error is about a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            WeightsError::Io { path, .. }
            | WeightsError::NotAFile { path }
            | WeightsError::TooLarge { path, .. } => Some(path),
            WeightsError::Format { path, .. }
            | WeightsError::Missing { path, .. }
            | WeightsError::Unexpected { path, .. }
            | WeightsError::ShapeMismatch { path, .. }
            | WeightsError::DtypeMismatch { path, .. }
            | WeightsError::QuantizedDtype { path, .. }
            | WeightsError::DuplicateTensor { path, .. }
            | WeightsError::InconsistentModel { path, .. }
            | WeightsError::NonFinite { path, .. }
            | WeightsError::DuplicateInFile { path, .. }
            | WeightsError::Encode { path, .. } => path.as_deref(),
        }
    }
}

/// Writes `weight file `path``, or `safetensors data` when there is no file.
struct WeightSource<'a>(Option<&'a Path>);

impl fmt::Display for WeightSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "weight file `{}`", path.display()),
            None => f.write_str("safetensors data"),
        }
    }
}

/// Writes a list of names as `` `a`, `b`, … and N more ``.
struct Names<'a>(&'a [String]);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().take(LISTED_NAMES).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{name}`")?;
        }
        if self.0.len() > LISTED_NAMES {
            write!(f, " and {} more", self.0.len() - LISTED_NAMES)?;
        }
        Ok(())
    }
}

/// Writes a shape as `[a, b]`.
pub(super) struct ShapeList<'a>(pub(super) &'a [usize]);

impl fmt::Display for ShapeList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = WeightSource(self.path());
        match self {
            WeightsError::Io { path, operation, source } => {
                let verb = match operation {
                    IoOperation::Read => "read",
                    IoOperation::Write => "write",
                    IoOperation::Replace => "replace",
                };
                write!(f, "cannot {verb} weight file `{}`: {source}", path.display())
            }
            WeightsError::Format { source, .. } => {
                write!(f, "{origin} is not a valid safetensors file: {source}")
            }
            WeightsError::Missing { tensor, available, .. } => {
                write!(f, "{origin}: tensor `{tensor}` is missing; ")?;
                if available.is_empty() {
                    f.write_str("the file holds no tensors")
                } else {
                    write!(f, "the file holds {}", Names(available))
                }
            }
            WeightsError::Unexpected { tensors, .. } => write!(
                f,
                "{origin}: the file holds {} tensor{} the model does not declare: {}",
                tensors.len(),
                if tensors.len() == 1 { "" } else { "s" },
                Names(tensors)
            ),
            WeightsError::ShapeMismatch { tensor, file_shape, model_shape, .. } => write!(
                f,
                "{origin}: tensor `{tensor}`: the file has shape {} but the model expects {}",
                ShapeList(file_shape),
                ShapeList(model_shape)
            ),
            WeightsError::DtypeMismatch { tensor, file_dtype, model_dtype, .. } => write!(
                f,
                "{origin}: tensor `{tensor}`: the file has dtype {file_dtype} but the model \
                 expects {} (dtypes are never converted on load)",
                dtype_name(*model_dtype)
            ),
            WeightsError::QuantizedDtype { tensor, file_dtype, expected, .. } => write!(
                f,
                "{origin}: tensor `{tensor}`: the file has dtype {file_dtype} but a quantized model \
                 expects {expected}"
            ),
            WeightsError::DuplicateTensor { tensor, .. } => write!(
                f,
                "{origin}: the model declares tensor `{tensor}` more than once, so it cannot \
                 be stored by name"
            ),
            WeightsError::InconsistentModel { tensor, shape, len, .. } => write!(
                f,
                "{origin}: the model's tensor `{tensor}` declares shape {} ({} elements) but \
                 holds {len} elements",
                ShapeList(shape),
                shape.iter().product::<usize>()
            ),
            WeightsError::NonFinite { tensor, index, value, .. } => write!(
                f,
                "{origin}: tensor `{tensor}` holds {value} at index {index}; NaN and infinite weights \
                 are refused (WeightOptions::allow_non_finite accepts them)"
            ),
            WeightsError::DuplicateInFile { tensor, .. } => {
                write!(f, "{origin} names tensor `{tensor}` more than once")
            }
            WeightsError::NotAFile { path } => write!(
                f,
                "`{}` is not a regular file (a directory, device, FIFO or socket); weights are \
                 only read from and saved to regular files",
                path.display()
            ),
            WeightsError::TooLarge { data_bytes, limit, .. } => write!(
                f,
                "{origin} holds {data_bytes} bytes of tensor data, more than the model's \
                 parameters take in any dtype ({limit} bytes): it cannot be this model's weights"
            ),
            WeightsError::Encode { source, .. } => {
                write!(f, "{origin}: cannot encode the model's tensors: {source}")
            }
        }
    }
}

impl Error for WeightsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            WeightsError::Io { source, .. } => Some(source),
            WeightsError::Format { source, .. } | WeightsError::Encode { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// The safetensors name of a dtype.
fn dtype_name(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F32 => "F32",
        Dtype::F64 => "F64",
    }
}
