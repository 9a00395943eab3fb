//! Tests of the IDX reader's header and element decoding: every element type (raw and
//! gzipped), and every header and value error, naming the file.

use std::error::Error as _;
use std::io;
use std::vec::Vec;

use super::*;

#[test]
fn u8_round_trip_raw_and_gzipped() {
    let dir = TempDir::new("u8_round_trip");
    let raw = load(&dir.write("images", &u8_images()), &dir.write("labels", &u8_labels()))
        .expect("the test files load");
    // Gzip is detected by content, whatever the name.
    let gz =
        load(&dir.write("images.idx", &gzip(&u8_images())), &dir.write("labels.gz", &gzip(&u8_labels())))
            .expect("the test files load");
    assert_eq!(raw, gz);
    assert_eq!((raw.len(), raw.features(), raw.classes()), (3, 4, 3));
    assert!(!raw.is_empty());
    assert_eq!(raw.image(0), &[0.0, 1.0, 0.2, 0.4]);
    assert_eq!(raw.image(2), &[1.0, 0.0, 0.0, 1.0]);
    assert_eq!(raw.image(1)[0], 1.0 / 255.0);
    assert_eq!(raw.labels(), &LABELS);
    assert_eq!(raw.label(0), 2);
    assert_eq!(raw.class_counts(), vec![1, 1, 1]);
    assert!(IdxReader::open(dir.0.join("images.idx")).expect("a valid IDX header").is_gzip());
}

#[test]
fn f32_and_f64_images_are_taken_as_is() {
    let dir = TempDir::new("float_images");
    let values = [0.5f32, -1.25, 3.0e-8, 1.0e6, 0.0, -0.0, 42.0, 7.5];
    let f32_data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let f64_data: Vec<u8> = values.iter().flat_map(|&v| f64::from(v).to_be_bytes()).collect();
    let labels = dir.write("labels", &idx(0x08, &[2], &[0, 1]));
    for (type_byte, data) in [(0x0D, f32_data), (0x0E, f64_data)] {
        let images = dir.write("images", &gzip(&idx(type_byte, &[2, 4], &data)));
        let ds = Dataset::from_idx_files(&images, &labels, 4, 2).expect("the test files load");
        assert_eq!(ds.images(), &values);
    }
}

#[test]
fn integer_images_are_scaled_by_their_type_max() {
    let dir = TempDir::new("int_images");
    let labels = dir.write("labels", &idx(0x08, &[1], &[0]));
    let i8_data: Vec<u8> = [0i8, 127, -127, -128].iter().map(|&v| v as u8).collect();
    let i16_data: Vec<u8> = [0i16, 32767, -32767, 16384].iter().flat_map(|v| v.to_be_bytes()).collect();
    let i32_data: Vec<u8> =
        [0i32, i32::MAX, -i32::MAX, 1 << 30].iter().flat_map(|v| v.to_be_bytes()).collect();
    let cases = [
        (0x09, i8_data, [0.0, 1.0, -1.0, -128.0 / 127.0]),
        (0x0B, i16_data, [0.0, 1.0, -1.0, 16384.0 / 32767.0]),
        (0x0C, i32_data, [0.0, 1.0, -1.0, 0.5]),
    ];
    for (type_byte, data, expected) in cases {
        let images = dir.write("images", &idx(type_byte, &[1, 2, 2], &data));
        let ds = Dataset::from_idx_files(&images, &labels, 4, 1).expect("the test files load");
        for (got, want) in ds.image(0).iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "type {type_byte:#x}: {got} vs {want}");
        }
    }
}

#[test]
fn integer_label_types() {
    let dir = TempDir::new("int_labels");
    let images = dir.write("images", &u8_images());
    let i16_labels: Vec<u8> = [2i16, 0, 1].iter().flat_map(|v| v.to_be_bytes()).collect();
    let i32_labels: Vec<u8> = [2i32, 0, 1].iter().flat_map(|v| v.to_be_bytes()).collect();
    for (type_byte, data) in [(0x09, LABELS.to_vec()), (0x0B, i16_labels), (0x0C, i32_labels)] {
        let labels = dir.write("labels", &idx(type_byte, &[3], &data));
        assert_eq!(load(&images, &labels).expect("the test files load").labels(), &LABELS);
    }
}

#[test]
fn missing_file_is_an_io_error_with_source() {
    let dir = TempDir::new("missing");
    let labels = dir.write("labels", &u8_labels());
    let images = dir.0.join("no-such-file");
    let e = err(load(&images, &labels));
    names(&e, &images);
    assert!(matches!(&e, DataError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound));
    assert!(e.source().is_some());
}

#[test]
fn wrong_magic_shows_the_bytes() {
    let dir = TempDir::new("magic");
    let labels = dir.write("labels", &u8_labels());
    let images = dir.write("images", b"<html><body>404</body></html>");
    let e = err(load(&images, &labels));
    let message = names(&e, &images);
    assert!(matches!(e, DataError::BadMagic { found: [b'<', b'h', b't', b'm'], .. }));
    assert!(message.contains("3c 68 74 6d"), "{message}");
    // The same inside a gzip stream.
    let images = dir.write("images.gz", &gzip(b"\x01\x02\x08\x03rest"));
    let e = err(load(&images, &labels));
    assert!(matches!(e, DataError::BadMagic { found: [1, 2, 8, 3], .. }));
}

#[test]
fn truncated_header() {
    let dir = TempDir::new("short_header");
    let labels = dir.write("labels", &u8_labels());
    let empty = dir.write("empty", b"");
    let e = err(load(&empty, &labels));
    assert!(names(&e, &empty).contains("empty"));
    assert!(matches!(e, DataError::TruncatedHeader { expected_bytes: 4, found_bytes: 0, .. }));
    // Rank 3 needs 12 bytes of dimensions; give 5.
    let short = dir.write("short", &[0, 0, 8, 3, 0, 0, 0, 3, 0]);
    let e = err(load(&short, &labels));
    names(&e, &short);
    assert!(matches!(e, DataError::TruncatedHeader { expected_bytes: 16, found_bytes: 9, .. }));
}

#[test]
fn data_shorter_than_the_magic_number_is_a_truncated_header() {
    let dir = TempDir::new("three_bytes");
    // Starts like IDX (00 00 08) but stops before the rank byte; and a short non-IDX file.
    for bytes in [&[0u8, 0, 8][..], b"hi\n", &[0, 0]] {
        let found = bytes.len();
        for path in [dir.write("short", bytes), dir.write("short.gz", &gzip(bytes))] {
            let e = err(IdxReader::open(&path));
            let message = names(&e, &path);
            assert!(
                message.contains(&std::format!("has only {found} bytes"))
                    && message.contains("needs at least 4"),
                "{message}"
            );
            assert!(!message.contains("starts with"), "{message}");
            assert!(
                matches!(e, DataError::TruncatedHeader { expected_bytes: 4, found_bytes, .. } if found_bytes == found),
                "{e}"
            );
        }
        let e = err(IdxReader::from_bytes(bytes));
        assert!(e.to_string().starts_with("<bytes>: too short for an IDX file"), "{e}");
    }
}

#[test]
fn unsupported_type_byte() {
    let dir = TempDir::new("type_byte");
    let labels = dir.write("labels", &u8_labels());
    let images = dir.write("images", &idx(0x0A, &[3, 2, 2], &PIXELS));
    let e = err(load(&images, &labels));
    assert!(names(&e, &images).contains("0x0A"));
    assert!(matches!(e, DataError::UnsupportedType { type_byte: 0x0A, .. }));
}

#[test]
fn wrong_rank() {
    let dir = TempDir::new("rank");
    let images = dir.write("images", &u8_images());
    let labels = dir.write("labels", &u8_labels());
    // Swapped arguments: the labels file as images and vice versa.
    let e = err(load(&labels, &images));
    assert!(names(&e, &labels).contains("labels file?"));
    assert!(matches!(e, DataError::WrongRank { expected: IdxContents::Images, .. }));
    let labels_2d = dir.write("labels2d", &idx(0x08, &[3, 1], &LABELS));
    let e = err(load(&images, &labels_2d));
    names(&e, &labels_2d);
    assert!(
        matches!(e, DataError::WrongRank { expected: IdxContents::Labels, ref dims, .. } if dims == &[3, 1])
    );
}

#[test]
fn dimensions_overflowing_usize() {
    let dir = TempDir::new("overflow");
    let labels = dir.write("labels", &u8_labels());
    let huge = u32::MAX;
    let images = dir.write("images", &idx(0x0E, &[huge, huge, huge, huge, 2], &[]));
    let e = err(load(&images, &labels));
    names(&e, &images);
    assert!(matches!(e, DataError::DimensionsOverflow { ref dims, .. } if dims.len() == 5));
}

#[test]
fn labels_that_do_not_fit_a_byte() {
    let dir = TempDir::new("label_byte");
    let images = dir.write("images", &u8_images());
    let i16_labels: Vec<u8> = [0i16, 300, 1].iter().flat_map(|v| v.to_be_bytes()).collect();
    let labels = dir.write("labels", &idx(0x0B, &[3], &i16_labels));
    let e = err(load(&images, &labels));
    names(&e, &labels);
    assert!(matches!(e, DataError::LabelNotByte { index: 1, value: 300, .. }));
    let labels = dir.write("labels", &idx(0x09, &[3], &[0, 1, 0xFF]));
    let e = err(load(&images, &labels));
    assert!(matches!(e, DataError::LabelNotByte { index: 2, value: -1, .. }));
}

#[test]
fn labels_with_a_float_type() {
    let dir = TempDir::new("label_float");
    let images = dir.write("images", &u8_images());
    let labels = dir.write("labels", &idx(0x0D, &[3], &[0; 12]));
    let e = err(load(&images, &labels));
    assert!(names(&e, &labels).contains("f32 (0x0D)"));
    assert!(matches!(e, DataError::NonIntegerLabels { element: ElementType::F32, .. }));
}

#[test]
fn non_finite_float_images() {
    let dir = TempDir::new("nan");
    let labels = dir.write("labels", &u8_labels());
    let mut values = [0.5f32; 12];
    values[6] = f32::NAN;
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let images = dir.write("images", &idx(0x0D, &[3, 2, 2], &data));
    let e = err(load(&images, &labels));
    names(&e, &images);
    assert!(matches!(e, DataError::NonFinite { sample: 1, feature: 2, .. }));
    let mut values = [0.5f64; 12];
    values[3] = f64::NEG_INFINITY;
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let images = dir.write("images", &idx(0x0E, &[3, 2, 2], &data));
    let e = err(load(&images, &labels));
    assert!(names(&e, &images).contains("is -inf, not a finite number"), "{e}");
    assert!(
        matches!(e, DataError::NonFinite { sample: 0, feature: 3, value, .. } if value == f64::NEG_INFINITY)
    );
}

#[test]
fn f64_beyond_f32_range_is_reported_with_its_value() {
    let dir = TempDir::new("f64_range");
    let labels = dir.write("labels", &u8_labels());
    let mut values = [0.5f64; 12];
    values[5] = 1e300;
    // Finite values that round to f32's extremes are fine.
    values[0] = f64::from(f32::MAX);
    values[1] = 1e-300;
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let images = dir.write("images", &idx(0x0E, &[3, 2, 2], &data));
    let e = err(load(&images, &labels));
    let message = names(&e, &images);
    assert!(
        message.contains("sample 1, value 1 is 1e300") && message.contains("does not fit f32"),
        "{message}"
    );
    assert!(!message.contains("inf"), "{message}");
    assert!(matches!(e, DataError::OutOfF32Range { sample: 1, feature: 1, value, .. } if value == 1e300));
    values[5] = -1e39;
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let images = dir.write("images", &idx(0x0E, &[3, 2, 2], &data));
    let e = err(load(&images, &labels));
    assert!(e.to_string().contains("is -1e39"), "{e}");
    values[5] = 0.5;
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let images = dir.write("images", &idx(0x0E, &[3, 2, 2], &data));
    let ds = load(&images, &labels).expect("the test files load");
    assert_eq!((ds.image(0)[0], ds.image(0)[1]), (f32::MAX, 0.0));
}
