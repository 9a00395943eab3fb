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
//! Quantized (int8) models have files of their own, [`QuantizedWeights`], under the same
//! layer names.
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

mod atomic;
mod codec;
mod quantized;
#[cfg(test)]
mod tests;
pub mod tflite;
mod weights_error;

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;
use std::string::String;
use std::vec::Vec;

use self::atomic::write_atomically;
use self::codec::{Group, decode, decode_groups, encode, encode_groups};
pub use self::quantized::{QuantValues, QuantizedWeights};
pub use self::weights_error::{IoOperation, WeightsError};
use crate::params::Parameters;
use crate::training::OptimizerState;

/// Choices for reading and writing weights; [`Default`] is the strict policy: every
/// tensor present and nothing else, no prefix, no NaN or infinity.
///
/// ```
/// # use staticnn_runtime::io::WeightOptions;
/// // PyTorch's `load_state_dict(…, strict=False)` on the `model.` tensors of a checkpoint.
/// let options = WeightOptions::default().non_strict().prefix("model.");
/// assert!(!options.strict);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WeightOptions {
    /// Accept NaN and infinite values (by default they are refused with
    /// [`WeightsError::NonFinite`]: no trainer or initialiser produces them, so a file
    /// holding them is damaged, and the kernels skip products with inputs that are exactly
    /// zero, so such a weight could even go unnoticed).
    pub allow_non_finite: bool,
    /// Loading: every tensor the model declares must be in the file, and the file may hold
    /// no other (under [`prefix`](WeightOptions::prefix)). Off, missing tensors keep the
    /// model's values and extra ones are ignored, both listed in the [`LoadReport`], as
    /// PyTorch's `strict=False` does. Shapes and dtypes must match either way.
    pub strict: bool,
    /// Loading: look the tensors up under this prefix (`model.` in a checkpoint) and ignore
    /// every tensor outside it.
    pub prefix: String,
}

impl Default for WeightOptions {
    fn default() -> Self {
        WeightOptions { allow_non_finite: false, strict: true, prefix: String::new() }
    }
}

impl WeightOptions {
    /// These options, accepting NaN and infinite values.
    pub fn allow_non_finite(self) -> Self {
        WeightOptions { allow_non_finite: true, ..self }
    }

    /// These options, loading what matches and reporting the rest ([`LoadReport`]).
    pub fn non_strict(self) -> Self {
        WeightOptions { strict: false, ..self }
    }

    /// These options, loading the tensors under `prefix`.
    pub fn prefix(self, prefix: impl Into<String>) -> Self {
        WeightOptions { prefix: prefix.into(), ..self }
    }
}

/// What a non-strict load ([`WeightOptions::strict`] off) did not match; both empty after a
/// strict load.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Tensors the model declares that the file does not hold (their values were kept),
    /// with the prefix.
    pub missing: Vec<String>,
    /// Tensors of the file (under the prefix) that the model does not declare, sorted.
    pub unexpected: Vec<String>,
}

/// Encodes `model`'s weights as a safetensors file in memory (see the [module
/// documentation](self) for the conventions). Refuses NaN and infinite weights.
pub fn to_safetensors_bytes<M: Parameters>(model: &M) -> Result<Vec<u8>, WeightsError> {
    to_safetensors_bytes_with(model, &WeightOptions::default())
}

/// [`to_safetensors_bytes`] with explicit [`WeightOptions`].
pub fn to_safetensors_bytes_with<M: Parameters>(
    model: &M,
    options: &WeightOptions,
) -> Result<Vec<u8>, WeightsError> {
    encode(model, options, None)
}

/// Loads weights from safetensors data in memory into `model` (see
/// [`load_safetensors`]); the data may sit at any alignment.
///
/// On error the model is unchanged.
pub fn from_safetensors_bytes<M: Parameters>(model: &mut M, bytes: &[u8]) -> Result<(), WeightsError> {
    from_safetensors_bytes_with(model, bytes, &WeightOptions::default()).map(drop)
}

/// [`from_safetensors_bytes`] with explicit [`WeightOptions`].
pub fn from_safetensors_bytes_with<M: Parameters>(
    model: &mut M,
    bytes: &[u8],
    options: &WeightOptions,
) -> Result<LoadReport, WeightsError> {
    decode(model, bytes, options, None)
}

/// Saves `model`'s weights to the safetensors file `path`, replacing it atomically.
///
/// Every tensor is stored under its `layer.param` key with its PyTorch shape, row-major,
/// as `F32` or `F64` per the model's scalar type, with the metadata `{"format": "pt"}`;
/// `safetensors.torch.load_file` reads it into a PyTorch state dict. NaN and infinite
/// weights are refused ([`WeightsError::NonFinite`]; see [`save_safetensors_with`]).
///
/// The data is written to a uniquely named temporary file in the same directory, flushed
/// and synced to disk, then renamed over `path`: readers see either the old file or the
/// new one, and a crash mid-save leaves the previous file intact. On error the temporary
/// file is removed; temporary files that a killed save of the same target left behind
/// are removed by the next save. A `path` that exists but is not a regular file (a
/// directory, a device, a FIFO) is refused with [`WeightsError::NotAFile`]. (As with any
/// rename-based save, a symlink at `path` is replaced rather than followed, and the new
/// file gets default permissions.)
pub fn save_safetensors<M: Parameters>(model: &M, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    save_safetensors_with(model, path, &WeightOptions::default())
}

/// [`save_safetensors`] with explicit [`WeightOptions`].
pub fn save_safetensors_with<M: Parameters>(
    model: &M,
    path: impl AsRef<Path>,
    options: &WeightOptions,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    check_target(path)?;
    save_bytes(path, &encode(model, options, Some(path))?)
}

/// Refuses a save target that exists but is not a regular file (or a symlink).
fn check_target(path: &Path) -> Result<(), WeightsError> {
    if let Ok(metadata) = fs::symlink_metadata(path)
        && !metadata.is_file()
        && !metadata.file_type().is_symlink()
    {
        return Err(WeightsError::NotAFile { path: path.to_path_buf() });
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically.
fn save_bytes(path: &Path, bytes: &[u8]) -> Result<(), WeightsError> {
    write_atomically(path, bytes).map_err(|(operation, source)| WeightsError::Io {
        path: path.to_path_buf(),
        operation,
        source,
    })
}

/// Loads weights from the safetensors file `path` into `model`.
///
/// The file must hold exactly the tensors the model declares, each under its
/// `layer.param` key with the model's PyTorch shape and dtype, and no NaN or infinity
/// (see [`load_safetensors_with`]); the whole file is checked and decoded before the model
/// is touched, so on error the model is unchanged. Files written by PyTorch
/// (`safetensors.torch.save_file(model.state_dict(), …)`) load as long as their keys,
/// shapes and dtype match.
///
/// Only regular files are read ([`WeightsError::NotAFile`] for a FIFO or device, which
/// could block or never end), and the header is read first: a file holding more tensor
/// data than the model could take ([`WeightsError::TooLarge`]) is refused before its data
/// is read, so memory stays bounded by the model's size whatever the file. (A non-strict
/// or prefixed load, [`WeightOptions`], expects other tensors too and reads the file
/// whole.)
pub fn load_safetensors<M: Parameters>(model: &mut M, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    load_safetensors_with(model, path, &WeightOptions::default()).map(drop)
}

/// [`load_safetensors`] with explicit [`WeightOptions`].
pub fn load_safetensors_with<M: Parameters>(
    model: &mut M,
    path: impl AsRef<Path>,
    options: &WeightOptions,
) -> Result<LoadReport, WeightsError> {
    let path = path.as_ref();
    // A strict load without a prefix reads a file of exactly the model's tensors; any
    // other may hold more, which are ignored.
    let values = if options.strict && options.prefix.is_empty() { M::LEN } else { usize::MAX / 8 };
    let bytes = read_bounded(path, values)?;
    decode(model, &bytes, options, Some(path))
}

/// Saves a training checkpoint: `model`'s weights and `optimizer`'s state
/// ([`OptimizerState`]) in one safetensors file, replaced atomically, under the names
///
/// | tensor | holds |
/// |---|---|
/// | `model.{layer}.{param}` | the parameters, as [`save_safetensors`] stores them |
/// | `optimizer.{layer}.{param}.{state}` | each optimizer state tensor: `exp_avg`, `exp_avg_sq` (Adam), `momentum_buffer` (momentum), PyTorch's names |
/// | `optimizer.step` | the number of updates applied, an `F64` scalar (as PyTorch keeps `step`) |
///
/// [`load_checkpoint`] restores both, so that training resumes bit for bit; the model
/// part loads on its own with `WeightOptions::default().prefix("model.")`.
pub fn save_checkpoint<M, O>(model: &M, optimizer: &O, path: impl AsRef<Path>) -> Result<(), WeightsError>
where
    M: Parameters,
    O: OptimizerState<M>,
{
    let path = path.as_ref();
    check_target(path)?;
    let steps = optimizer.steps() as f64;
    let mut bytes = Err(WeightsError::NotAFile { path: path.to_path_buf() });
    optimizer.state(&mut |state| {
        let mut groups = std::vec![Group { params: model, prefix: "model.", state: "" }];
        groups.extend(state.iter().map(|&(name, tensor)| Group {
            params: tensor,
            prefix: "optimizer.",
            state: name,
        }));
        bytes = encode_groups(&groups, &[("optimizer.step", steps)], &WeightOptions::default(), Some(path));
    });
    save_bytes(path, &bytes?)
}

/// Loads a checkpoint written by [`save_checkpoint`] into `model` and `optimizer` (an
/// optimizer of the same kind, e.g. `Adam` for a file saved from `Adam`). Everything is
/// checked before anything is changed; on error both are left as they were.
pub fn load_checkpoint<M, O>(
    model: &mut M,
    optimizer: &mut O,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError>
where
    M: Parameters,
    O: OptimizerState<M>,
{
    let path = path.as_ref();
    let bytes = read_bounded(path, M::LEN.saturating_mul(3))?;
    let mut steps = 0.0;
    let mut result = Ok(LoadReport::default());
    optimizer.state_mut(&mut |state| {
        let mut groups = std::vec![Group { params: &mut *model, prefix: "model.", state: "" }];
        groups.extend(state.iter_mut().map(|(name, tensor)| Group {
            params: &mut **tensor,
            prefix: "optimizer.",
            state: name,
        }));
        let mut scalars = [("optimizer.step", &mut steps)];
        result = decode_groups(&mut groups, &mut scalars, &bytes, &WeightOptions::default(), Some(path));
    });
    result?;
    optimizer.set_steps(steps as u64);
    Ok(())
}

/// The largest safetensors header read (the `safetensors` crate's own limit).
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Reads the safetensors file `path` whole, after checking from its header that its data
/// could hold `values` values (at most 8 bytes each, the widest dtype).
fn read_bounded(path: &Path, values: usize) -> Result<Vec<u8>, WeightsError> {
    let io_error =
        |source| WeightsError::Io { path: path.to_path_buf(), operation: IoOperation::Read, source };
    let not_a_file = || WeightsError::NotAFile { path: path.to_path_buf() };
    // Checked before opening: opening a FIFO for reading blocks until a writer appears.
    if !fs::metadata(path).map_err(io_error)?.is_file() {
        return Err(not_a_file());
    }
    let mut file = File::open(path).map_err(io_error)?;
    let metadata = file.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        return Err(not_a_file());
    }
    let file_len = metadata.len();
    let mut prefix = [0u8; 8];
    let prefix_len = file.by_ref().take(8).read(&mut prefix).map_err(io_error)?;
    let header_len = u64::from_le_bytes(prefix);
    // Room for the values and a few scalars (a checkpoint's step count).
    let limit = (values as u64).saturating_mul(8).saturating_add(64);
    if prefix_len == 8 && header_len <= MAX_HEADER_BYTES && header_len <= file_len - 8 {
        let data_bytes = file_len - 8 - header_len;
        if data_bytes > limit {
            return Err(WeightsError::TooLarge { path: path.to_path_buf(), data_bytes, limit });
        }
    }
    // Anything else is malformed in a way `decode` reports; the file is small then, or
    // its header is: read no more than header and data could hold.
    let cap = (8 + MAX_HEADER_BYTES.min(file_len)).saturating_add(limit);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&prefix[..prefix_len]);
    file.take(cap).read_to_end(&mut bytes).map_err(io_error)?;
    Ok(bytes)
}
