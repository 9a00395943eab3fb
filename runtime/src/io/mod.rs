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

mod atomic;
mod codec;
#[cfg(test)]
mod tests;
mod weights_error;

use std::fs;
use std::path::Path;
use std::vec::Vec;

use self::atomic::write_atomically;
use self::codec::{decode, encode};
pub use self::weights_error::{IoOperation, WeightsError};
use crate::params::Parameters;

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
