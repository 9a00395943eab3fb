//! Weight files: round trips, PyTorch's layout, every error (named and leaving the model
//! unchanged), atomic saves.

use std::borrow::{Cow, ToOwned};
use std::boxed::Box;
use std::error::Error;
use std::format;
use std::fs;
use std::io;
#[cfg(unix)]
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use safetensors::SafeTensors;

use super::codec::{Encoded, column_major_order};
use super::*;
use crate::Dense;
use crate::params::{Storage, Tensor, TensorMut, TensorName, TensorShape};
use crate::scalar::{Dtype, Float};

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
    assert!(matches!(err, WeightsError::NotAFile { .. }), "{err:?}");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert_eq!(entries(&dir), ["model.safetensors"]);
    assert_eq!(fs::read(path.join("keep")).expect("read"), b"previous");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn path_without_a_file_name_is_an_error() {
    // `..` is a directory (refused as such); `dir/..` too, and a path ending in `..`
    // names no file even where it does not exist.
    let err = save_safetensors(&*filled::<f32, 3, 4, 2>(), "..").expect_err("no name");
    assert!(matches!(err, WeightsError::NotAFile { .. }), "{err:?}");
    let err = save_safetensors(&*filled::<f32, 3, 4, 2>(), "no-such-dir/..").expect_err("no name");
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
        let (shape, storage) = (TensorShape::new([3, 3]), Storage::ColumnMajor);
        f(Tensor { name, shape, storage, data: &self.w });
    }

    fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, f32>)) {
        let name = TensorName { layer: "0", param: "weight" };
        let (shape, storage) = (TensorShape::new([3, 3]), Storage::ColumnMajor);
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
    column_major_order(&TensorShape::new([2, 3]), |i| seen.push(i));
    assert_eq!(seen, [0, 2, 4, 1, 3, 5]);
    seen.clear();
    column_major_order(&TensorShape::new([2, 2, 2]), |i| seen.push(i));
    assert_eq!(seen, [0, 4, 2, 6, 1, 5, 3, 7]);
    seen.clear();
    column_major_order(&TensorShape::new([3]), |i| seen.push(i));
    assert_eq!(seen, [0, 1, 2]);
    seen.clear();
    column_major_order(&TensorShape::new([0, 3]), |i| seen.push(i));
    assert!(seen.is_empty());
}

#[test]
fn non_finite_weights_are_refused_on_save_and_load_unless_allowed() {
    let dir = temp_dir("non-finite");
    let path = dir.join("model.safetensors");
    let mut model = filled::<f32, 3, 4, 2>();
    // Row 1, column 2 of the first weight: row-major index 1·3 + 2 = 5.
    model.l0.weight[(1, 2)] = f32::NAN;
    let err = save_safetensors(&*model, &path).expect_err("NaN");
    let WeightsError::NonFinite { tensor, index: 5, .. } = &err else { panic!("{err:?}") };
    assert_eq!(tensor, "0.weight");
    assert!(err.to_string().contains("holds NaN at index 5"), "{err}");
    assert!(entries(&dir).is_empty(), "nothing written");
    let in_memory = to_safetensors_bytes(&*model).expect_err("NaN");
    assert!(matches!(in_memory, WeightsError::NonFinite { index: 5, .. }), "{in_memory:?}");

    // Allowed explicitly, it is saved; loading refuses it, and leaves the model alone.
    save_safetensors_with(&*model, &path, &WeightOptions::default().allow_non_finite()).expect("allowed");
    let mut loaded = filled::<f32, 3, 4, 2>();
    let err = load_safetensors(&mut *loaded, &path).expect_err("NaN");
    assert!(matches!(&err, WeightsError::NonFinite { index: 5, .. }), "{err:?}");
    assert_eq!(bits(&*loaded), bits(&*filled::<f32, 3, 4, 2>()));
    load_safetensors_with(&mut *loaded, &path, &WeightOptions::default().allow_non_finite())
        .expect("allowed");
    assert!(loaded.l0.weight[(1, 2)].is_nan());

    // Infinity in an f64 bias, from bytes.
    let mut model = filled::<f64, 3, 4, 2>();
    model.l2.bias[1] = f64::NEG_INFINITY;
    let bytes =
        to_safetensors_bytes_with(&*model, &WeightOptions::default().allow_non_finite()).expect("allowed");
    let err = from_safetensors_bytes(&mut *filled::<f64, 3, 4, 2>(), &bytes).expect_err("inf");
    let WeightsError::NonFinite { tensor, index: 1, value, .. } = &err else { panic!("{err:?}") };
    assert_eq!((tensor.as_str(), *value), ("2.bias", f64::NEG_INFINITY));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_tensor_named_twice_in_a_file_is_refused() {
    // Two entries `0.bias` in the header: JSON parsers keep one silently.
    let bytes = raw_file(&small_f32_tensors());
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).expect("a UTF-8 header");
    let entry = header.split("\"0.bias\":").nth(1).expect("the header names 0.bias");
    let entry = &entry[..=entry.find('}').expect("the entry ends")];
    let doubled = header.replacen('{', &format!("{{\"0.bias\":{entry},"), 1);
    let mut file = (doubled.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(doubled.as_bytes());
    file.extend_from_slice(&bytes[8 + n..]);
    let mut model = Small::<f32>::zeroed_box();
    let err = from_safetensors_bytes(&mut *model, &file).expect_err("duplicate");
    let WeightsError::DuplicateInFile { tensor, .. } = &err else { panic!("{err:?}") };
    assert_eq!(tensor, "0.bias");
    assert!(err.to_string().contains("names tensor `0.bias` more than once"), "{err}");
}

#[test]
fn a_huge_file_is_refused_from_its_header_before_its_data_is_read() {
    let dir = temp_dir("huge");
    let path = dir.join("model.safetensors");
    save_safetensors(&*filled::<f32, 3, 4, 2>(), &path).expect("save");
    // A valid file followed by 64 GiB of (sparse) data: reading it would take minutes
    // and exhaust memory; the header shows it cannot be this model's.
    let file = fs::OpenOptions::new().write(true).open(&path).expect("open");
    file.set_len(64 << 30).expect("sparse file");
    drop(file);
    let start = std::time::Instant::now();
    let err = load_safetensors(&mut *Small::<f32>::zeroed_box(), &path).expect_err("too large");
    let WeightsError::TooLarge { data_bytes, limit, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*limit, 8 * Small::<f32>::LEN as u64 + 64);
    assert!(*data_bytes > 60 << 30);
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    assert!(err.to_string().contains("cannot be this model's weights"), "{err}");
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn special_files_are_neither_read_nor_replaced() {
    let dir = temp_dir("special");
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        // Opening a FIFO would block forever without a writer.
        let err = load_safetensors(&mut *Small::<f32>::zeroed_box(), &fifo).expect_err("fifo");
        assert!(matches!(err, WeightsError::NotAFile { .. }), "{err:?}");
        let err = save_safetensors(&*filled::<f32, 3, 4, 2>(), &fifo).expect_err("fifo");
        assert!(matches!(err, WeightsError::NotAFile { .. }), "{err:?}");
        assert!(fs::metadata(&fifo).expect("still there").file_type().is_fifo());
    }
    let err = load_safetensors(&mut *Small::<f32>::zeroed_box(), &dir).expect_err("a directory");
    assert!(matches!(err, WeightsError::NotAFile { .. }), "{err:?}");
    if Path::new("/dev/null").exists() {
        let err = save_safetensors(&*filled::<f32, 3, 4, 2>(), "/dev/null").expect_err("a device");
        assert!(matches!(err, WeightsError::NotAFile { .. }), "{err:?}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn names_up_to_255_bytes_can_be_saved() {
    let dir = temp_dir("long-name");
    for len in [200, 245, 255] {
        let name = format!("{}.st", "w".repeat(len - 3));
        let path = dir.join(&name);
        save_safetensors(&*filled::<f32, 3, 4, 2>(), &path).expect("long name");
        let mut loaded = Small::<f32>::zeroed_box();
        load_safetensors(&mut *loaded, &path).expect("load");
    }
    assert_eq!(entries(&dir).len(), 3, "no temporary file left: {:?}", entries(&dir));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn temporary_files_of_killed_saves_are_removed_by_the_next_save() {
    let dir = temp_dir("stale");
    let path = dir.join("model.safetensors");
    let prefix = super::atomic::temp_prefix(std::ffi::OsStr::new("model.safetensors"));
    // Left by processes that no longer exist (pids above Linux's maximum), and by a
    // process that does (ours: a concurrent save in this process must be left alone).
    let dead = [format!("{prefix}4000000000-0.tmp"), format!("{prefix}4000000001-7.tmp")];
    let live = format!("{prefix}{}-999999.tmp", std::process::id());
    let other = ".other.safetensors.0123456789abcdef.4000000000-0.tmp".to_string();
    for name in dead.iter().chain([&live, &other]) {
        fs::write(dir.join(name), vec![0u8; 1024]).expect("write");
    }
    save_safetensors(&*filled::<f32, 3, 4, 2>(), &path).expect("save");
    let mut expected = vec!["model.safetensors".to_string(), live, other];
    if !Path::new("/proc/self").exists() {
        // Without /proc, only a day-old temporary file counts as stale.
        expected.extend(dead);
    }
    expected.sort();
    assert_eq!(entries(&dir), expected);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn non_strict_loads_report_missing_and_unexpected_tensors() {
    // The file lacks `2.bias` and holds an extra `3.weight`.
    let mut tensors = small_f32_tensors();
    tensors.pop();
    tensors.push(("3.weight", safetensors::Dtype::F32, &[1], f32_bytes([9.0])));
    let bytes = raw_file(&tensors);
    let mut model = filled::<f32, 3, 4, 2>();
    let err = from_safetensors_bytes(&mut *model, &bytes).expect_err("strict");
    assert!(matches!(err, WeightsError::Missing { .. }), "{err:?}");
    let report = from_safetensors_bytes_with(&mut *model, &bytes, &WeightOptions::default().non_strict())
        .expect("non-strict");
    assert_eq!(report.missing, ["2.bias"]);
    assert_eq!(report.unexpected, ["3.weight"]);
    // What was there is loaded; the missing bias kept its value.
    assert_eq!(model.l0.bias.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(model.l2.bias.as_slice(), filled::<f32, 3, 4, 2>().l2.bias.as_slice());
    // A shape mismatch is an error even then.
    let mut tensors = small_f32_tensors();
    tensors[1] = ("0.bias", safetensors::Dtype::F32, &[3], f32_bytes([1.0, 2.0, 3.0]));
    let err =
        from_safetensors_bytes_with(&mut *model, &raw_file(&tensors), &WeightOptions::default().non_strict())
            .expect_err("shape");
    assert!(matches!(err, WeightsError::ShapeMismatch { .. }), "{err:?}");
}

#[test]
fn a_prefix_selects_the_tensors_to_load() {
    let renamed: Vec<(String, safetensors::Dtype, &[usize], Vec<u8>)> = small_f32_tensors()
        .into_iter()
        .map(|(name, dtype, shape, bytes)| (format!("model.{name}"), dtype, shape, bytes))
        .chain([(
            "optimizer.step".to_owned(),
            safetensors::Dtype::F64,
            &[][..],
            3.0f64.to_le_bytes().to_vec(),
        )])
        .collect();
    let borrowed: Vec<(&str, safetensors::Dtype, &[usize], Vec<u8>)> =
        renamed.iter().map(|(n, d, s, b)| (n.as_str(), *d, *s, b.clone())).collect();
    let bytes = raw_file(&borrowed);
    let mut model = Small::<f32>::zeroed_box();
    assert!(from_safetensors_bytes(&mut *model, &bytes).is_err(), "no prefix: nothing matches");
    let report = from_safetensors_bytes_with(&mut *model, &bytes, &WeightOptions::default().prefix("model."))
        .expect("the model's part");
    assert_eq!(report, LoadReport::default());
    assert_eq!(model.l2.bias.as_slice(), &[5.0, 6.0]);
}

#[test]
fn checkpoints_hold_the_model_and_the_optimizer_state() {
    use crate::training::{Adam, AdamConfig, Momentum, Optimizer, OptimizerState};
    let dir = temp_dir("checkpoint");
    let path = dir.join("run.safetensors");
    let model = filled::<f32, 3, 4, 2>();
    let mut adam = Adam::<Box<Small<f32>>>::new(AdamConfig::default());
    for _ in 0..3 {
        let mut params = model.boxed_copy();
        assert_eq!(adam.step(&mut params, &filled::<f32, 3, 4, 2>()), None);
    }
    save_checkpoint(&*model, &adam, &path).expect("save");

    let file_bytes = fs::read(&path).expect("read");
    let file = SafeTensors::deserialize(&file_bytes).expect("a safetensors file");
    let mut names: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
    names.sort();
    assert_eq!(names.len(), 4 * 3 + 1);
    assert!(names.contains(&"model.0.weight".to_owned()));
    assert!(names.contains(&"optimizer.0.weight.exp_avg".to_owned()));
    assert!(names.contains(&"optimizer.2.bias.exp_avg_sq".to_owned()));
    assert!(names.contains(&"optimizer.step".to_owned()));

    let (mut loaded, mut resumed) =
        (Small::<f32>::zeroed_box(), Adam::<Box<Small<f32>>>::new(AdamConfig::default()));
    load_checkpoint(&mut *loaded, &mut resumed, &path).expect("load");
    assert_eq!(bits(&*loaded), bits(&*model));
    assert_eq!(OptimizerState::<Small<f32>>::steps(&resumed), 3);
    let state = |o: &Adam<Box<Small<f32>>>| {
        let mut out = Vec::new();
        o.state(&mut |s| out = s.iter().map(|(n, t)| (*n, bits(*t))).collect());
        out
    };
    assert_eq!(state(&resumed), state(&adam));

    // The weights alone load from the checkpoint under the `model.` prefix.
    let mut weights = Small::<f32>::zeroed_box();
    load_safetensors_with(&mut *weights, &path, &WeightOptions::default().prefix("model."))
        .expect("model part");
    assert_eq!(bits(&*weights), bits(&*model));

    // A checkpoint of another optimizer does not load, and changes nothing.
    let mut momentum = Momentum::<Box<Small<f32>>>::new(0.1, 0.9);
    let mut untouched = Small::<f32>::zeroed_box();
    let err = load_checkpoint(&mut *untouched, &mut momentum, &path).expect_err("not momentum");
    assert!(matches!(err, WeightsError::Missing { .. }), "{err:?}");
    assert_eq!(bits(&*untouched), bits(&*Small::<f32>::zeroed_box()));
    let _ = fs::remove_dir_all(&dir);
}
