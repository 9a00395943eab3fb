//! Weight files on disk: atomic saves (temporary files, failures, odd targets), duplicate and
//! conflicting names, bounded reads, and checkpoints.

use super::*;

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
        f(Tensor { name, shape, storage, trainable: true, data: &self.w });
    }

    fn visit_mut(&mut self, f: &mut impl FnMut(TensorMut<'_, f32>)) {
        let name = TensorName { layer: "0", param: "weight" };
        let (shape, storage) = (TensorShape::new([3, 3]), Storage::ColumnMajor);
        f(TensorMut { name, shape, storage, trainable: true, data: &mut self.w });
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
