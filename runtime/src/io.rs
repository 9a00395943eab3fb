//! Weight files in [safetensors](https://huggingface.co/docs/safetensors) format, with
//! PyTorch's conventions, so weights move freely between staticnn and PyTorch or numpy.
//!
//! - Every tensor is stored under its state-dict key `layer.param` (`0.weight`, `2.bias`,
//!   …; a bare layer with an empty name uses just `weight` / `bias`, as a bare
//!   `nn.Linear` does).
//! - Shapes are PyTorch's: a [`Dense`](crate::Dense) from `I` inputs to `O` outputs has a
//!   `weight` of shape `[O, I]` and a `bias` of shape `[O]`.
//! - Data is row-major (C order) and little-endian; nalgebra's column-major matrices are
//!   transposed on the way in and out.
//! - The dtype is `F32` or `F64`, following the model's scalar type. Loading never
//!   converts between dtypes: an `F64` file loaded into an `f32` model is an error.
//! - Files carry the metadata `{"format": "pt"}`, as the ones PyTorch writes do.
//!
//! Loading checks the whole file against the model before changing anything: every
//! declared tensor must be present with exactly the model's shape and dtype, and the file
//! may hold no tensor the model does not declare. On any error the model is left as it
//! was. Saving is atomic: the file is written next to its target under a temporary name,
//! synced, and renamed over the target, so a crash mid-save never destroys the previous
//! weights.
//!
//! ```no_run
//! # use staticnn_runtime::{Dense, io};
//! # fn main() -> Result<(), io::WeightsError> {
//! let mut layer = Dense::<f32, 784, 10>::ZERO;
//! io::load_safetensors(&mut layer, "linear.safetensors")?;
//! io::save_safetensors(&layer, "linear-copy.safetensors")?;
//! # Ok(())
//! # }
//! ```

use std::borrow::{Cow, ToOwned};
use std::boxed::Box;
use std::collections::HashMap;
use std::error::Error;
use std::ffi::OsString;
use std::fmt;
use std::format;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::vec::Vec;

use safetensors::{SafeTensors, View};

use crate::params::{Parameters, Shape, Storage, Tensor, TensorMut, TensorName};
use crate::scalar::{Dtype, Float};

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
/// in-memory [`to_safetensors_bytes`] / [`from_safetensors_bytes`]) and the tensor where
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
    /// The model lists two tensors under the same name, so they cannot be told apart in a
    /// file (a bug in a hand-written [`Parameters`] implementation).
    DuplicateTensor {
        /// The file, if there is one.
        path: Option<PathBuf>,
        /// The repeated name.
        tensor: String,
    },
    /// A tensor of the model holds a different number of elements than its declared
    /// shape has (a bug in a hand-written [`Parameters`] implementation).
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
            WeightsError::Io { path, .. } => Some(path),
            WeightsError::Format { path, .. }
            | WeightsError::Missing { path, .. }
            | WeightsError::Unexpected { path, .. }
            | WeightsError::ShapeMismatch { path, .. }
            | WeightsError::DtypeMismatch { path, .. }
            | WeightsError::DuplicateTensor { path, .. }
            | WeightsError::InconsistentModel { path, .. }
            | WeightsError::Encode { path, .. } => path.as_deref(),
        }
    }
}

/// Writes `weight file `path``, or `safetensors data` when there is no file.
struct Origin<'a>(Option<&'a Path>);

impl fmt::Display for Origin<'_> {
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
struct Dims<'a>(&'a [usize]);

impl fmt::Display for Dims<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = Origin(self.path());
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
                Dims(file_shape),
                Dims(model_shape)
            ),
            WeightsError::DtypeMismatch { tensor, file_dtype, model_dtype, .. } => write!(
                f,
                "{origin}: tensor `{tensor}`: the file has dtype {file_dtype} but the model \
                 expects {} (dtypes are never converted on load)",
                dtype_name(*model_dtype)
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
                Dims(shape),
                shape.iter().product::<usize>()
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

/// The safetensors dtype of a model dtype.
fn file_dtype(dtype: Dtype) -> safetensors::Dtype {
    match dtype {
        Dtype::F32 => safetensors::Dtype::F32,
        Dtype::F64 => safetensors::Dtype::F64,
    }
}

/// A tensor's key in a file: `layer.param`, or just `param` for an unnamed layer (a bare
/// `nn.Linear`'s state dict holds `weight` and `bias`).
fn key(name: TensorName) -> String {
    if name.layer.is_empty() { name.param.to_owned() } else { name.to_string() }
}

/// Calls `f` with the storage index of every element of a column-major tensor, in
/// logical row-major order (last index fastest).
///
/// Column-major storage is Fortran order, first index fastest: for `[R, C]` the element
/// `(r, c)` is at `r + c·R`, nalgebra's layout of an `R × C` matrix.
fn column_major_order(shape: &Shape, mut f: impl FnMut(usize)) {
    let dims = shape.dims();
    if shape.is_empty() {
        return;
    }
    let mut strides = [0usize; 4];
    let mut stride = 1;
    for (s, &d) in strides.iter_mut().zip(dims) {
        *s = stride;
        stride *= d;
    }
    let mut index = [0usize; 4];
    let mut offset = 0;
    for _ in 0..shape.len() {
        f(offset);
        // Advance the multi-index like an odometer, last dimension first.
        for k in (0..dims.len()).rev() {
            index[k] += 1;
            offset += strides[k];
            if index[k] < dims[k] {
                break;
            }
            offset -= strides[k] * dims[k];
            index[k] = 0;
        }
    }
}

/// `true` when `storage` holds the tensor's elements in row-major order.
fn is_row_major(shape: &Shape, storage: Storage) -> bool {
    match storage {
        Storage::RowMajor => true,
        // With at most one dimension longer than 1, both orders coincide.
        Storage::ColumnMajor => shape.dims().iter().filter(|&&d| d > 1).count() <= 1,
    }
}

/// Appends `x` as little-endian bytes.
fn push_le<T: Float>(out: &mut Vec<u8>, x: T) {
    let mut x = x;
    if cfg!(target_endian = "big") {
        bytemuck::bytes_of_mut(&mut x).reverse();
    }
    out.extend_from_slice(bytemuck::bytes_of(&x));
}

/// Reads a value from exactly `size_of::<T>()` little-endian bytes, at any alignment.
fn read_le<T: Float>(bytes: &[u8]) -> T {
    let mut x: T = bytemuck::pod_read_unaligned(bytes);
    if cfg!(target_endian = "big") {
        bytemuck::bytes_of_mut(&mut x).reverse();
    }
    x
}

/// One tensor ready to be written: its logical shape and row-major little-endian bytes.
struct Encoded<'a> {
    dtype: safetensors::Dtype,
    shape: Vec<usize>,
    bytes: Cow<'a, [u8]>,
}

impl View for Encoded<'_> {
    fn dtype(&self) -> safetensors::Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// A tensor's row-major little-endian bytes, borrowed when the memory already is.
fn encode_tensor<'a, T: Float>(t: &Tensor<'a, T>) -> Cow<'a, [u8]> {
    if is_row_major(&t.shape, t.storage) {
        if cfg!(target_endian = "little") {
            return Cow::Borrowed(bytemuck::cast_slice(t.data));
        }
        let mut out = Vec::with_capacity(core::mem::size_of_val(t.data));
        for &x in t.data {
            push_le(&mut out, x);
        }
        return Cow::Owned(out);
    }
    let mut out = Vec::with_capacity(core::mem::size_of_val(t.data));
    column_major_order(&t.shape, |i| push_le(&mut out, t.data[i]));
    Cow::Owned(out)
}

/// The first name that occurs twice in `names`, which gets sorted.
fn first_duplicate(names: &mut [String]) -> Option<String> {
    names.sort_unstable();
    names.windows(2).find(|w| w[0] == w[1]).map(|w| w[0].clone())
}

/// Encodes `model` as a safetensors file in memory; `path` only labels errors.
fn encode<M: Parameters>(model: &M, path: Option<&Path>) -> Result<Vec<u8>, WeightsError> {
    let dtype = file_dtype(M::Scalar::DTYPE);
    let mut tensors: Vec<(String, Encoded<'_>)> = Vec::new();
    let mut inconsistent = None;
    model.visit(&mut |t| {
        let name = key(t.name);
        if t.data.len() != t.shape.len() {
            inconsistent.get_or_insert((name, t.shape.dims().to_vec(), t.data.len()));
            return;
        }
        let bytes = encode_tensor(&t);
        tensors.push((name, Encoded { dtype, shape: t.shape.dims().to_vec(), bytes }));
    });
    let path_buf = || path.map(Path::to_path_buf);
    if let Some((tensor, shape, len)) = inconsistent {
        return Err(WeightsError::InconsistentModel { path: path_buf(), tensor, shape, len });
    }
    let mut names: Vec<String> = tensors.iter().map(|(n, _)| n.clone()).collect();
    if let Some(tensor) = first_duplicate(&mut names) {
        return Err(WeightsError::DuplicateTensor { path: path_buf(), tensor });
    }
    let metadata = HashMap::from([("format".to_owned(), "pt".to_owned())]);
    safetensors::serialize(tensors, Some(metadata))
        .map_err(|e| WeightsError::Encode { path: path_buf(), source: Box::new(e) })
}

/// Checks one declared tensor against the file and decodes it into `t`.
fn decode_tensor<T: Float>(
    file: &SafeTensors<'_>,
    name: &str,
    t: TensorMut<'_, T>,
    path: Option<&Path>,
) -> Result<(), WeightsError> {
    let path_buf = || path.map(Path::to_path_buf);
    let Ok(view) = file.tensor(name) else {
        let mut available: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
        available.sort_unstable();
        return Err(WeightsError::Missing { path: path_buf(), tensor: name.to_owned(), available });
    };
    if view.shape() != t.shape.dims() {
        return Err(WeightsError::ShapeMismatch {
            path: path_buf(),
            tensor: name.to_owned(),
            file_shape: view.shape().to_vec(),
            model_shape: t.shape.dims().to_vec(),
        });
    }
    if view.dtype() != file_dtype(T::DTYPE) {
        return Err(WeightsError::DtypeMismatch {
            path: path_buf(),
            tensor: name.to_owned(),
            file_dtype: view.dtype().to_string(),
            model_dtype: T::DTYPE,
        });
    }
    if t.data.len() != t.shape.len() {
        return Err(WeightsError::InconsistentModel {
            path: path_buf(),
            tensor: name.to_owned(),
            shape: t.shape.dims().to_vec(),
            len: t.data.len(),
        });
    }
    let size = core::mem::size_of::<T>();
    let bytes = view.data();
    if bytes.len() != core::mem::size_of_val(t.data) {
        return Err(WeightsError::Format {
            path: path_buf(),
            source: format!(
                "tensor `{name}` of shape {} holds {} bytes, not {}",
                Dims(view.shape()),
                bytes.len(),
                core::mem::size_of_val(t.data)
            )
            .into(),
        });
    }
    let mut chunks = bytes.chunks_exact(size);
    if is_row_major(&t.shape, t.storage) {
        for (x, chunk) in t.data.iter_mut().zip(chunks) {
            *x = read_le(chunk);
        }
    } else {
        let data = t.data;
        column_major_order(&t.shape, |i| {
            if let Some(chunk) = chunks.next() {
                data[i] = read_le(chunk);
            }
        });
    }
    Ok(())
}

/// Validates `bytes` against `model` completely, then copies the weights in; `path` only
/// labels errors.
fn decode<M: Parameters>(model: &mut M, bytes: &[u8], path: Option<&Path>) -> Result<(), WeightsError> {
    let path_buf = || path.map(Path::to_path_buf);
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| WeightsError::Format { path: path_buf(), source: Box::new(e) })?;

    let mut scratch = M::zeroed_box();
    let mut declared: Vec<String> = Vec::new();
    let mut result = Ok(());
    scratch.visit_mut(&mut |t| {
        let name = key(t.name);
        if result.is_ok() {
            result = decode_tensor(&file, &name, t, path);
        }
        declared.push(name);
    });
    result?;
    if let Some(tensor) = first_duplicate(&mut declared) {
        return Err(WeightsError::DuplicateTensor { path: path_buf(), tensor });
    }

    let mut unexpected: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| declared.binary_search_by(|d| d.as_str().cmp(n)).is_err())
        .map(str::to_owned)
        .collect();
    if !unexpected.is_empty() {
        unexpected.sort_unstable();
        return Err(WeightsError::Unexpected { path: path_buf(), tensors: unexpected });
    }

    model.copy_from(&scratch);
    Ok(())
}

/// Encodes `model`'s weights as a safetensors file in memory (see the [module
/// documentation](self) for the conventions).
pub fn to_safetensors_bytes<M: Parameters>(model: &M) -> Result<Vec<u8>, WeightsError> {
    encode(model, None)
}

/// Loads weights from safetensors data in memory into `model` (see
/// [`load_safetensors`]); the data may sit at any alignment.
///
/// On error the model is unchanged.
pub fn from_safetensors_bytes<M: Parameters>(model: &mut M, bytes: &[u8]) -> Result<(), WeightsError> {
    decode(model, bytes, None)
}

/// Saves `model`'s weights to the safetensors file `path`, replacing it atomically.
///
/// Every tensor is stored under its `layer.param` key with its PyTorch shape, row-major,
/// as `F32` or `F64` per the model's scalar type, with the metadata `{"format": "pt"}`;
/// `safetensors.torch.load_file` reads it into a PyTorch state dict.
///
/// The data is written to a uniquely named temporary file in the same directory, flushed
/// and synced to disk, then renamed over `path`: readers see either the old file or the
/// new one, and a crash mid-save leaves the previous file intact. On error the temporary
/// file is removed. (As with any rename-based save, a symlink at `path` is replaced
/// rather than followed, and the new file gets default permissions.)
pub fn save_safetensors<M: Parameters>(model: &M, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = encode(model, Some(path))?;
    write_atomically(path, &bytes).map_err(|(operation, source)| WeightsError::Io {
        path: path.to_path_buf(),
        operation,
        source,
    })
}

/// Loads weights from the safetensors file `path` into `model`.
///
/// The file must hold exactly the tensors the model declares, each under its
/// `layer.param` key with the model's PyTorch shape and dtype; the whole file is checked
/// and decoded before the model is touched, so on error the model is unchanged. Files
/// written by PyTorch (`safetensors.torch.save_file(model.state_dict(), …)`) load as long
/// as their keys, shapes and dtype match.
pub fn load_safetensors<M: Parameters>(model: &mut M, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        operation: IoOperation::Read,
        source,
    })?;
    decode(model, &bytes, Some(path))
}

/// Distinguishes the temporary files of concurrent saves within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a new, uniquely named temporary file in `dir` for a save to `file_name`.
fn create_temp(dir: &Path, file_name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut attempts = 0;
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".{pid}-{n}.tmp"));
        let temp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            // A stale file of a crashed process that had the same id: try the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), (IoOperation, io::Error)> {
    let file_name = path.file_name().ok_or_else(|| {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file");
        (IoOperation::Write, e)
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let (temp, mut file) = create_temp(dir, file_name).map_err(|e| (IoOperation::Write, e))?;
    let written = file.write_all(bytes).and_then(|()| file.flush()).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err((IoOperation::Write, e));
    }
    if let Err(e) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err((IoOperation::Replace, e));
    }
    // Make the rename itself durable. Best effort: not every platform or file system
    // lets a directory be opened and synced, and the new file is complete either way.
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::vec;

    use super::*;
    use crate::Dense;

    /// A two-layer model laid out exactly as `model!` generates one: layers `0` and `2`
    /// (an activation sits at index 1 and has no parameters).
    #[derive(Debug)]
    #[repr(C)]
    struct TwoLayer<T: Float, const I: usize, const H: usize, const O: usize> {
        l0: Dense<T, I, H>,
        l2: Dense<T, H, O>,
    }

    // SAFETY: a `repr(C)` pair of zeroable layers.
    unsafe impl<T: Float, const I: usize, const H: usize, const O: usize> bytemuck::Zeroable
        for TwoLayer<T, I, H, O>
    {
    }

    // SAFETY: two `Dense` of the same scalar, no padding, listed in memory order.
    unsafe impl<T: Float, const I: usize, const H: usize, const O: usize> Parameters for TwoLayer<T, I, H, O> {
        type Scalar = T;
        const LEN: usize = Dense::<T, I, H>::PARAMS + Dense::<T, H, O>::PARAMS;

        fn visit<'a>(&'a self, f: &mut impl FnMut(Tensor<'a, T>)) {
            self.l0.visit_named("0", f);
            self.l2.visit_named("2", f);
        }

        fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, T>)) {
            self.l0.visit_named_mut("0", f);
            self.l2.visit_named_mut("2", f);
        }
    }

    type Small<T> = TwoLayer<T, 3, 4, 2>;

    /// A model whose every parameter is distinct and not exactly representable in
    /// fewer bits than `T` has.
    fn filled<T: Float, const I: usize, const H: usize, const O: usize>() -> Box<TwoLayer<T, I, H, O>> {
        let mut m = TwoLayer::<T, I, H, O>::zeroed_box();
        for (k, x) in m.as_mut_slice().iter_mut().enumerate() {
            *x = T::of((k as f64 + 1.0) / 7.0 - 1.5);
        }
        m
    }

    /// A fresh, empty directory under the system's temporary directory.
    fn temp_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("staticnn-io-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        dir
    }

    /// The names of the entries of `dir`, sorted.
    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A safetensors file holding raw tensors `(name, dtype, shape, little-endian bytes)`.
    fn raw_file(tensors: &[(&str, safetensors::Dtype, &[usize], Vec<u8>)]) -> Vec<u8> {
        let views: Vec<(String, Encoded<'_>)> = tensors
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                let encoded = Encoded { dtype: *dtype, shape: shape.to_vec(), bytes: Cow::Borrowed(bytes) };
                ((*name).to_owned(), encoded)
            })
            .collect();
        safetensors::serialize(views, None).expect("serialize")
    }

    fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
        values.into_iter().flat_map(f32::to_le_bytes).collect()
    }

    /// The tensors of a valid file for `Small<f32>`, in the model's order.
    fn small_f32_tensors() -> Vec<(&'static str, safetensors::Dtype, &'static [usize], Vec<u8>)> {
        use safetensors::Dtype::F32;
        vec![
            ("0.weight", F32, &[4, 3], f32_bytes((0..12).map(|k| k as f32))),
            ("0.bias", F32, &[4], f32_bytes([1.0, 2.0, 3.0, 4.0])),
            ("2.weight", F32, &[2, 4], f32_bytes((0..8).map(|k| -(k as f32)))),
            ("2.bias", F32, &[2], f32_bytes([5.0, 6.0])),
        ]
    }

    fn bits<T: Float>(m: &impl Parameters<Scalar = T>) -> Vec<u8> {
        bytemuck::cast_slice(m.as_slice()).to_vec()
    }

    #[test]
    fn round_trip_f32_is_bit_identical() {
        let model = filled::<f32, 3, 4, 2>();
        let dir = temp_dir("round-trip-f32");
        let path = dir.join("model.safetensors");
        save_safetensors(&*model, &path).expect("save");
        let mut loaded = Small::<f32>::zeroed_box();
        load_safetensors(&mut *loaded, &path).expect("load");
        assert_eq!(bits(&*loaded), bits(&*model));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn round_trip_f64_is_bit_identical() {
        let model = filled::<f64, 3, 4, 2>();
        let dir = temp_dir("round-trip-f64");
        let path = dir.join("model.safetensors");
        save_safetensors(&*model, &path).expect("save");
        let mut loaded = Small::<f64>::zeroed_box();
        load_safetensors(&mut *loaded, &path).expect("load");
        assert_eq!(bits(&*loaded), bits(&*model));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn round_trip_in_memory_at_unaligned_offsets() {
        let model = filled::<f64, 3, 4, 2>();
        let bytes = to_safetensors_bytes(&*model).expect("encode");
        for shift in 0..8 {
            let mut buffer = vec![0xAAu8; shift];
            buffer.extend_from_slice(&bytes);
            let mut loaded = Small::<f64>::zeroed_box();
            from_safetensors_bytes(&mut *loaded, &buffer[shift..]).expect("decode");
            assert_eq!(bits(&*loaded), bits(&*model), "shift {shift}");
        }
    }

    #[test]
    fn file_layout_is_pytorch_row_major() {
        let mut model = Small::<f32>::zeroed_box();
        for o in 0..4 {
            for i in 0..3 {
                model.l0.weight[(o, i)] = (10 * o + i) as f32;
            }
            model.l0.bias[o] = 100.0 + o as f32;
        }
        let bytes = to_safetensors_bytes(&*model).expect("encode");
        let file = SafeTensors::deserialize(&bytes).expect("valid safetensors");

        let mut names = file.names();
        names.sort_unstable();
        assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);

        let weight = file.tensor("0.weight").expect("0.weight");
        assert_eq!(weight.dtype(), safetensors::Dtype::F32);
        assert_eq!(weight.shape(), [4, 3]);
        let values: Vec<f32> =
            weight.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        assert_eq!(values, [0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 20.0, 21.0, 22.0, 30.0, 31.0, 32.0]);

        let bias = file.tensor("0.bias").expect("0.bias");
        assert_eq!(bias.shape(), [4]);
        assert_eq!(bias.data(), f32_bytes([100.0, 101.0, 102.0, 103.0]));
        assert_eq!(file.tensor("2.weight").expect("2.weight").shape(), [2, 4]);
    }

    #[test]
    fn files_carry_pytorch_format_metadata() {
        let bytes = to_safetensors_bytes(&*filled::<f32, 3, 4, 2>()).expect("encode");
        let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("valid safetensors");
        let info = metadata.metadata().as_ref().expect("metadata present");
        assert_eq!(info.get("format").map(String::as_str), Some("pt"));
    }

    #[test]
    fn unnamed_layer_uses_bare_parameter_names() {
        let layer = Dense::<f32, 3, 2>::from_rows([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [7.0, 8.0]);
        let bytes = to_safetensors_bytes(&layer).expect("encode");
        let file = SafeTensors::deserialize(&bytes).expect("valid safetensors");
        let mut names = file.names();
        names.sort_unstable();
        assert_eq!(names, ["bias", "weight"]);
        let weight = file.tensor("weight").expect("weight");
        assert_eq!(weight.data(), f32_bytes([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));

        let mut loaded = Dense::<f32, 3, 2>::ZERO;
        from_safetensors_bytes(&mut loaded, &bytes).expect("decode");
        assert_eq!(loaded, layer);
    }

    #[test]
    fn loads_hand_written_file_in_model_layout() {
        let bytes = raw_file(&small_f32_tensors());
        let mut model = Small::<f32>::zeroed_box();
        from_safetensors_bytes(&mut *model, &bytes).expect("decode");
        // `0.weight` was 0..12 row-major over [4, 3]: element (o, i) is 3·o + i.
        assert_eq!(model.l0.weight[(1, 2)], 5.0);
        assert_eq!(model.l0.weight[(3, 0)], 9.0);
        assert_eq!(model.l2.weight[(1, 0)], -4.0);
        assert_eq!(model.l2.bias.as_slice(), [5.0, 6.0]);
    }

    #[test]
    fn missing_tensor_is_named_with_the_file_contents() {
        let mut tensors = small_f32_tensors();
        tensors.remove(2); // 2.weight
        let mut model = Small::<f32>::zeroed_box();
        let err = from_safetensors_bytes(&mut *model, &raw_file(&tensors)).expect_err("missing");
        match &err {
            WeightsError::Missing { tensor, available, path: None } => {
                assert_eq!(tensor, "2.weight");
                assert_eq!(available, &["0.bias", "0.weight", "2.bias"]);
            }
            other => panic!("unexpected error {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("`2.weight` is missing"), "{message}");
        assert!(message.contains("`0.bias`, `0.weight`, `2.bias`"), "{message}");
    }

    #[test]
    fn missing_tensor_lists_long_file_contents_truncated() {
        let names: Vec<String> = (0..25).map(|k| format!("layer{k:02}.weight")).collect();
        let tensors: Vec<_> = names
            .iter()
            .map(|n| (n.as_str(), safetensors::Dtype::F32, &[1usize][..], f32_bytes([0.0])))
            .collect();
        let mut model = Small::<f32>::zeroed_box();
        let err = from_safetensors_bytes(&mut *model, &raw_file(&tensors)).expect_err("missing");
        let message = err.to_string();
        assert!(message.contains("`0.weight` is missing"), "{message}");
        assert!(message.contains("`layer09.weight` and 15 more"), "{message}");
        assert!(!message.contains("layer10"), "{message}");
    }

    #[test]
    fn unexpected_tensors_are_named() {
        let mut tensors = small_f32_tensors();
        tensors.push(("4.weight", safetensors::Dtype::F32, &[1], f32_bytes([0.0])));
        tensors.push(("1.running_mean", safetensors::Dtype::F32, &[1], f32_bytes([0.0])));
        let mut model = Small::<f32>::zeroed_box();
        let err = from_safetensors_bytes(&mut *model, &raw_file(&tensors)).expect_err("extra");
        match &err {
            WeightsError::Unexpected { tensors, .. } => {
                assert_eq!(tensors, &["1.running_mean", "4.weight"]);
            }
            other => panic!("unexpected error {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("2 tensors the model does not declare"), "{message}");
        assert!(message.contains("`1.running_mean`, `4.weight`"), "{message}");
        assert!(model.as_slice().iter().all(|&x| x == 0.0));
    }

    #[test]
    fn shape_mismatch_names_tensor_and_both_shapes() {
        let dir = temp_dir("shape");
        let path = dir.join("wide.safetensors");
        save_safetensors(&*filled::<f32, 5, 4, 2>(), &path).expect("save");
        let mut model = Small::<f32>::zeroed_box();
        let err = load_safetensors(&mut *model, &path).expect_err("wrong shape");
        match &err {
            WeightsError::ShapeMismatch { tensor, file_shape, model_shape, path: Some(p) } => {
                assert_eq!(tensor, "0.weight");
                assert_eq!(file_shape, &[4, 5]);
                assert_eq!(model_shape, &[4, 3]);
                assert_eq!(p, &path);
            }
            other => panic!("unexpected error {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("tensor `0.weight`: the file has shape [4, 5] but the model expects [4, 3]"),
            "{message}"
        );
        assert!(message.contains("wide.safetensors"), "{message}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn dtype_mismatch_is_an_error_not_a_conversion() {
        let bytes = to_safetensors_bytes(&*filled::<f64, 3, 4, 2>()).expect("encode");
        let mut model = Small::<f32>::zeroed_box();
        let err = from_safetensors_bytes(&mut *model, &bytes).expect_err("wrong dtype");
        match &err {
            WeightsError::DtypeMismatch { tensor, file_dtype, model_dtype, .. } => {
                assert_eq!(tensor, "0.weight");
                assert_eq!(file_dtype, "F64");
                assert_eq!(*model_dtype, Dtype::F32);
            }
            other => panic!("unexpected error {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("`0.weight`"), "{message}");
        assert!(message.contains("dtype F64 but the model expects F32"), "{message}");

        // Nor the other way round, nor from non-float dtypes.
        let bytes = to_safetensors_bytes(&*filled::<f32, 3, 4, 2>()).expect("encode");
        let mut model64 = Small::<f64>::zeroed_box();
        let err = from_safetensors_bytes(&mut *model64, &bytes).expect_err("wrong dtype");
        assert!(err.to_string().contains("dtype F32 but the model expects F64"), "{err}");
        let mut tensors = small_f32_tensors();
        tensors[1] = ("0.bias", safetensors::Dtype::I32, &[4], vec![0; 16]);
        let err = from_safetensors_bytes(&mut *model, &raw_file(&tensors)).expect_err("int");
        assert!(err.to_string().contains("`0.bias`: the file has dtype I32"), "{err}");
    }

    #[test]
    fn invalid_files_are_errors_naming_the_file() {
        let dir = temp_dir("garbage");
        let valid = to_safetensors_bytes(&*filled::<f32, 3, 4, 2>()).expect("encode");
        let mut huge_header = valid.clone();
        huge_header[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let mut bad_json = valid.clone();
        bad_json[8] = b'[';
        let cases: [(&str, Vec<u8>); 6] = [
            ("empty", Vec::new()),
            ("text", b"this is not a safetensors file, just some text".to_vec()),
            ("truncated", valid[..valid.len() / 2].to_vec()),
            ("trailing", [&valid[..], b"xx"].concat()),
            ("huge-header", huge_header),
            ("bad-json", bad_json),
        ];
        for (name, bytes) in cases {
            let path = dir.join(format!("{name}.safetensors"));
            fs::write(&path, &bytes).expect("write");
            let mut model = Small::<f32>::zeroed_box();
            let err = load_safetensors(&mut *model, &path).expect_err(name);
            assert!(matches!(err, WeightsError::Format { .. }), "{name}: {err:?}");
            assert_eq!(err.path(), Some(path.as_path()));
            let message = err.to_string();
            assert!(message.contains(&format!("{name}.safetensors")), "{message}");
            assert!(message.contains("is not a valid safetensors file"), "{message}");
            assert!(err.source().is_some());
            assert!(model.as_slice().iter().all(|&x| x == 0.0));
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let dir = temp_dir("no-file");
        let path = dir.join("absent.safetensors");
        let mut model = Small::<f32>::zeroed_box();
        let err = load_safetensors(&mut *model, &path).expect_err("absent");
        match &err {
            WeightsError::Io { operation: IoOperation::Read, source, .. } => {
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("cannot read weight file"), "{err}");
        assert!(err.to_string().contains("absent.safetensors"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn failed_load_changes_nothing() {
        let before = filled::<f32, 3, 4, 2>();
        let snapshot = bits(&*before);

        // The first layer is fine, the second has the wrong shape.
        let mut tensors = small_f32_tensors();
        tensors[2] = ("2.weight", safetensors::Dtype::F32, &[2, 3], f32_bytes([0.0; 6]));
        let mut model = before.boxed_copy();
        let err = from_safetensors_bytes(&mut *model, &raw_file(&tensors)).expect_err("shape");
        assert!(matches!(err, WeightsError::ShapeMismatch { .. }), "{err:?}");
        assert_eq!(bits(&*model), snapshot);

        // The same with a wrong dtype in the last tensor.
        let mut tensors = small_f32_tensors();
        tensors[3] = ("2.bias", safetensors::Dtype::F64, &[2], vec![0; 16]);
        let err = from_safetensors_bytes(&mut *model, &raw_file(&tensors)).expect_err("dtype");
        assert!(matches!(err, WeightsError::DtypeMismatch { .. }), "{err:?}");
        assert_eq!(bits(&*model), snapshot);

        // And with every tensor valid but one extra.
        let mut tensors = small_f32_tensors();
        tensors.push(("extra", safetensors::Dtype::F32, &[1], f32_bytes([0.0])));
        let err = from_safetensors_bytes(&mut *model, &raw_file(&tensors)).expect_err("extra");
        assert!(matches!(err, WeightsError::Unexpected { .. }), "{err:?}");
        assert_eq!(bits(&*model), snapshot);
    }

    #[test]
    fn saving_twice_replaces_the_file_and_leaves_no_temporary_files() {
        let dir = temp_dir("atomic");
        let path = dir.join("model.safetensors");
        save_safetensors(&*Small::<f32>::zeroed_box(), &path).expect("first save");
        let model = filled::<f32, 3, 4, 2>();
        save_safetensors(&*model, &path).expect("second save");
        assert_eq!(entries(&dir), ["model.safetensors"]);
        let mut loaded = Small::<f32>::zeroed_box();
        load_safetensors(&mut *loaded, &path).expect("load");
        assert_eq!(bits(&*loaded), bits(&*model));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn saving_into_a_missing_directory_is_an_error() {
        let dir = temp_dir("missing-dir");
        let path = dir.join("no").join("such").join("model.safetensors");
        let err = save_safetensors(&*filled::<f32, 3, 4, 2>(), &path).expect_err("no dir");
        match &err {
            WeightsError::Io { operation: IoOperation::Write, path: p, .. } => assert_eq!(p, &path),
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("cannot write weight file"), "{err}");
        assert!(err.to_string().contains("model.safetensors"), "{err}");
        assert!(entries(&dir).is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn failed_save_removes_its_temporary_file_and_keeps_the_target() {
        let dir = temp_dir("failed-save");
        // A directory cannot be replaced by a file: the rename fails.
        let path = dir.join("model.safetensors");
        fs::create_dir(&path).expect("create dir");
        fs::write(path.join("keep"), b"previous").expect("write");
        let err = save_safetensors(&*filled::<f32, 3, 4, 2>(), &path).expect_err("a dir");
        assert!(matches!(err, WeightsError::Io { operation: IoOperation::Replace, .. }), "{err:?}");
        assert_eq!(entries(&dir), ["model.safetensors"]);
        assert_eq!(fs::read(path.join("keep")).expect("read"), b"previous");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn path_without_a_file_name_is_an_error() {
        let err = save_safetensors(&*filled::<f32, 3, 4, 2>(), "..").expect_err("no name");
        assert!(matches!(err, WeightsError::Io { .. }), "{err:?}");
    }

    /// A model that (wrongly) lists two tensors under the same name.
    #[repr(C)]
    struct Clash {
        a: Dense<f32, 2, 1>,
        b: Dense<f32, 2, 1>,
    }

    // SAFETY: a `repr(C)` pair of zeroable layers.
    unsafe impl bytemuck::Zeroable for Clash {}

    // SAFETY: two `Dense` of the same scalar, no padding, listed in memory order.
    unsafe impl Parameters for Clash {
        type Scalar = f32;
        const LEN: usize = 6;

        fn visit<'a>(&'a self, f: &mut impl FnMut(Tensor<'a, f32>)) {
            self.a.visit_named("x", f);
            self.b.visit_named("x", f);
        }

        fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, f32>)) {
            self.a.visit_named_mut("x", f);
            self.b.visit_named_mut("x", f);
        }
    }

    #[test]
    fn duplicate_tensor_names_are_rejected() {
        let mut model = Clash::zeroed_box();
        let err = to_safetensors_bytes(&*model).expect_err("duplicate");
        assert!(matches!(&err, WeightsError::DuplicateTensor { tensor, .. } if tensor == "x.bias"));
        let file = raw_file(&[
            ("x.weight", safetensors::Dtype::F32, &[1, 2], f32_bytes([1.0, 2.0])),
            ("x.bias", safetensors::Dtype::F32, &[1], f32_bytes([3.0])),
        ]);
        let err = from_safetensors_bytes(&mut *model, &file).expect_err("duplicate");
        assert!(matches!(err, WeightsError::DuplicateTensor { .. }), "{err:?}");
        assert!(model.as_slice().iter().all(|&x| x == 0.0));
    }

    /// A model whose tensor's data does not match its declared shape.
    #[repr(C)]
    struct Lying {
        w: [f32; 6],
    }

    // SAFETY: six `f32`.
    unsafe impl bytemuck::Zeroable for Lying {}

    // SAFETY: six scalars, no padding; the one tensor lists them all (its shape lies).
    unsafe impl Parameters for Lying {
        type Scalar = f32;
        const LEN: usize = 6;

        fn visit<'a>(&'a self, f: &mut impl FnMut(Tensor<'a, f32>)) {
            let name = TensorName { layer: "0", param: "weight" };
            let (shape, storage) = (Shape::new([3, 3]), Storage::ColumnMajor);
            f(Tensor { name, shape, storage, data: &self.w });
        }

        fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, f32>)) {
            let name = TensorName { layer: "0", param: "weight" };
            let (shape, storage) = (Shape::new([3, 3]), Storage::ColumnMajor);
            f(TensorMut { name, shape, storage, data: &mut self.w });
        }
    }

    #[test]
    fn inconsistent_model_is_an_error_not_a_panic() {
        let mut model = Lying::zeroed_box();
        let err = to_safetensors_bytes(&*model).expect_err("inconsistent");
        assert!(matches!(err, WeightsError::InconsistentModel { len: 6, .. }), "{err:?}");
        assert!(err.to_string().contains("shape [3, 3] (9 elements) but holds 6"), "{err}");
        let file = raw_file(&[("0.weight", safetensors::Dtype::F32, &[3, 3], f32_bytes([1.0; 9]))]);
        let err = from_safetensors_bytes(&mut *model, &file).expect_err("inconsistent");
        assert!(matches!(err, WeightsError::InconsistentModel { .. }), "{err:?}");
    }

    #[test]
    fn column_major_order_transposes_any_rank() {
        let mut seen = Vec::new();
        column_major_order(&Shape::new([2, 3]), |i| seen.push(i));
        assert_eq!(seen, [0, 2, 4, 1, 3, 5]);
        seen.clear();
        column_major_order(&Shape::new([2, 2, 2]), |i| seen.push(i));
        assert_eq!(seen, [0, 4, 2, 6, 1, 5, 3, 7]);
        seen.clear();
        column_major_order(&Shape::new([3]), |i| seen.push(i));
        assert_eq!(seen, [0, 1, 2]);
        seen.clear();
        column_major_order(&Shape::new([0, 3]), |i| seen.push(i));
        assert!(seen.is_empty());
    }
}
