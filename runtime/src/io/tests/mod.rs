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

mod files;
