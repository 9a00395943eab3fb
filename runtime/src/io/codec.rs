//! The safetensors encoding of a model's tensors: PyTorch's keys and shapes, row-major
//! little-endian data, and the checks that a file matches a model before it is loaded.

use std::borrow::{Cow, ToOwned};
use std::boxed::Box;
use std::collections::HashMap;
use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use safetensors::{SafeTensors, View};

use super::weights_error::{ShapeList, WeightsError};
use super::{LoadReport, WeightOptions};
use crate::params::{Parameters, Storage, Tensor, TensorMut, TensorName, TensorShape};
use crate::scalar::{Dtype, Float};

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
pub(super) fn column_major_order(shape: &TensorShape, mut f: impl FnMut(usize)) {
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
fn is_row_major(shape: &TensorShape, storage: Storage) -> bool {
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
pub(super) struct Encoded<'a> {
    pub(super) dtype: safetensors::Dtype,
    pub(super) shape: Vec<usize>,
    pub(super) bytes: Cow<'a, [u8]>,
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

/// The first NaN or infinity of a tensor in row-major (file) order: its row-major index
/// and its value.
fn first_non_finite<T: Float>(shape: &TensorShape, storage: Storage, data: &[T]) -> Option<(usize, f64)> {
    if data.iter().all(|x| x.finite()) {
        return None;
    }
    if is_row_major(shape, storage) {
        let index = data.iter().position(|x| !x.finite())?;
        return Some((index, data[index].as_f64()));
    }
    let (mut k, mut found) = (0, None);
    column_major_order(shape, |i| {
        if found.is_none() && !data[i].finite() {
            found = Some((k, data[i].as_f64()));
        }
        k += 1;
    });
    found
}

/// The tensor names of a safetensors header (`__metadata__` excluded), in file order,
/// duplicates kept: serde maps keep only the last of two equal keys.
fn header_names(bytes: &[u8]) -> Option<Vec<String>> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut names = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if name != "__metadata__" {
                    names.push(name);
                }
            }
            Ok(names)
        }
    }
    let n = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header = bytes.get(8..8usize.checked_add(n)?)?;
    serde_json::Deserializer::from_slice(header).deserialize_map(Names).ok()
}

/// The first name that occurs twice in `names`, which gets sorted.
fn first_duplicate(names: &mut [String]) -> Option<String> {
    names.sort_unstable();
    names.windows(2).find(|w| w[0] == w[1]).map(|w| w[0].clone())
}

/// A set of tensors of one [`Parameters`] type stored under `{prefix}{layer.param}` or,
/// for an optimizer's state tensor, `{prefix}{layer.param}.{state}`: a model (`""`, `""`),
/// or `optimizer.0.weight.exp_avg` in a checkpoint (`"optimizer."`, `"exp_avg"`).
pub(super) struct Group<P> {
    pub(super) params: P,
    pub(super) prefix: &'static str,
    pub(super) state: &'static str,
}

impl<P> Group<P> {
    fn name(&self, t: TensorName) -> String {
        let dot = if self.state.is_empty() { "" } else { "." };
        format!("{}{}{dot}{}", self.prefix, key(t), self.state)
    }
}

/// Encodes `model` as a safetensors file in memory; `path` only labels errors.
pub(super) fn encode<M: Parameters>(
    model: &M,
    options: &WeightOptions,
    path: Option<&Path>,
) -> Result<Vec<u8>, WeightsError> {
    encode_groups(&[Group { params: model, prefix: "", state: "" }], &[], options, path)
}

/// Encodes every tensor of `groups` and the `F64` scalars `scalars` as one safetensors file
/// in memory; `path` only labels errors.
pub(super) fn encode_groups<M: Parameters>(
    groups: &[Group<&M>],
    scalars: &[(&str, f64)],
    options: &WeightOptions,
    path: Option<&Path>,
) -> Result<Vec<u8>, WeightsError> {
    let dtype = file_dtype(M::Scalar::DTYPE);
    let mut tensors: Vec<(String, Encoded<'_>)> = Vec::new();
    let mut inconsistent = None;
    let mut non_finite = None;
    for group in groups {
        group.params.visit(&mut |t| {
            let name = group.name(t.name);
            if t.data.len() != t.shape.len() {
                inconsistent.get_or_insert((name, t.shape.dims().to_vec(), t.data.len()));
                return;
            }
            if !options.allow_non_finite
                && non_finite.is_none()
                && let Some((index, value)) = first_non_finite(&t.shape, t.storage, t.data)
            {
                non_finite = Some((name.clone(), index, value));
            }
            let bytes = encode_tensor(&t);
            tensors.push((name, Encoded { dtype, shape: t.shape.dims().to_vec(), bytes }));
        });
    }
    for &(name, value) in scalars {
        let bytes = Cow::Owned(value.to_le_bytes().to_vec());
        tensors.push((name.to_owned(), Encoded { dtype: safetensors::Dtype::F64, shape: Vec::new(), bytes }));
    }
    let path_buf = || path.map(Path::to_path_buf);
    if let Some((tensor, shape, len)) = inconsistent {
        return Err(WeightsError::InconsistentModel { path: path_buf(), tensor, shape, len });
    }
    if let Some((tensor, index, value)) = non_finite {
        return Err(WeightsError::NonFinite { path: path_buf(), tensor, index, value });
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
                ShapeList(view.shape()),
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
pub(super) fn decode<M: Parameters>(
    model: &mut M,
    bytes: &[u8],
    options: &WeightOptions,
    path: Option<&Path>,
) -> Result<LoadReport, WeightsError> {
    let mut groups = [Group { params: model, prefix: "", state: "" }];
    decode_groups(&mut groups, &mut [], bytes, options, path)
}

/// Validates `bytes` against every tensor of `groups` and the `F64` scalars `scalars`,
/// then, only if all of it fits, copies them in. Tensors are looked up under
/// `options.prefix` followed by their group's name; file tensors outside that prefix are
/// ignored. `path` only labels errors.
pub(super) fn decode_groups<M: Parameters>(
    groups: &mut [Group<&mut M>],
    scalars: &mut [(&str, &mut f64)],
    bytes: &[u8],
    options: &WeightOptions,
    path: Option<&Path>,
) -> Result<LoadReport, WeightsError> {
    let path_buf = || path.map(Path::to_path_buf);
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| WeightsError::Format { path: path_buf(), source: Box::new(e) })?;
    if let Some(tensor) = header_names(bytes).and_then(|mut names| first_duplicate(&mut names)) {
        return Err(WeightsError::DuplicateInFile { path: path_buf(), tensor });
    }
    let prefix = options.prefix.as_str();

    let mut report = LoadReport::default();
    let mut declared: Vec<String> = Vec::new();
    let mut scratches: Vec<Box<M>> = Vec::new();
    for group in groups.iter() {
        let mut scratch = group.params.boxed_copy();
        let mut result = Ok(());
        scratch.visit_mut(&mut |t| {
            let name = format!("{prefix}{}", group.name(t.name));
            if result.is_ok() {
                if !options.strict && file.tensor(&name).is_err() {
                    report.missing.push(name.clone());
                } else {
                    result = decode_tensor(&file, &name, t, path);
                }
            }
            declared.push(name);
        });
        result?;
        if !options.allow_non_finite {
            let mut non_finite = None;
            scratch.visit(&mut |t| {
                if non_finite.is_none()
                    && let Some((index, value)) = first_non_finite(&t.shape, t.storage, t.data)
                {
                    non_finite = Some((format!("{prefix}{}", group.name(t.name)), index, value));
                }
            });
            if let Some((tensor, index, value)) = non_finite {
                return Err(WeightsError::NonFinite { path: path_buf(), tensor, index, value });
            }
        }
        scratches.push(scratch);
    }
    let mut values = Vec::new();
    for (name, _) in scalars.iter() {
        let name = format!("{prefix}{name}");
        values.push(decode_scalar(&file, &name, path, options.strict)?);
        if values.last() == Some(&None) {
            report.missing.push(name.clone());
        }
        declared.push(name);
    }
    if let Some(tensor) = first_duplicate(&mut declared) {
        return Err(WeightsError::DuplicateTensor { path: path_buf(), tensor });
    }

    let mut unexpected: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| n.starts_with(prefix) && !is_declared(&declared, n) && !is_ignored_buffer(&declared, n))
        .map(str::to_owned)
        .collect();
    unexpected.sort_unstable();
    if options.strict && !unexpected.is_empty() {
        return Err(WeightsError::Unexpected { path: path_buf(), tensors: unexpected });
    }
    report.unexpected = unexpected;

    for (group, scratch) in groups.iter_mut().zip(&scratches) {
        group.params.copy_from(scratch);
    }
    for ((_, target), value) in scalars.iter_mut().zip(values) {
        if let Some(value) = value {
            **target = value;
        }
    }
    Ok(report)
}

/// Whether `name` is among the sorted `declared` names.
fn is_declared(declared: &[String], name: &str) -> bool {
    declared.binary_search_by(|d| d.as_str().cmp(name)).is_ok()
}

/// Whether `name` is PyTorch's `num_batches_tracked` counter of a batch norm the model
/// declares (one whose `running_mean` it has): a buffer this library does not keep
/// (PyTorch reads it only when `momentum=None`), accepted and ignored so that a state dict
/// loads unchanged.
fn is_ignored_buffer(declared: &[String], name: &str) -> bool {
    name.strip_suffix(".num_batches_tracked")
        .is_some_and(|layer| is_declared(declared, &format!("{layer}.running_mean")))
}

/// Reads the `F64` scalar `name`: `None` if it is missing and `strict` is off.
fn decode_scalar(
    file: &SafeTensors<'_>,
    name: &str,
    path: Option<&Path>,
    strict: bool,
) -> Result<Option<f64>, WeightsError> {
    let path_buf = || path.map(Path::to_path_buf);
    let Ok(view) = file.tensor(name) else {
        if !strict {
            return Ok(None);
        }
        let mut available: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
        available.sort_unstable();
        return Err(WeightsError::Missing { path: path_buf(), tensor: name.to_owned(), available });
    };
    if !view.shape().is_empty() {
        return Err(WeightsError::ShapeMismatch {
            path: path_buf(),
            tensor: name.to_owned(),
            file_shape: view.shape().to_vec(),
            model_shape: Vec::new(),
        });
    }
    if view.dtype() != safetensors::Dtype::F64 {
        return Err(WeightsError::DtypeMismatch {
            path: path_buf(),
            tensor: name.to_owned(),
            file_dtype: view.dtype().to_string(),
            model_dtype: Dtype::F64,
        });
    }
    Ok(Some(read_le::<f64>(view.data())))
}
