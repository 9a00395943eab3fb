//! Tests of the data module: synthetic IDX files (raw and gzipped) written to a temporary
//! directory, every error case, batching, shuffling, and the real MNIST files. The whole
//! file is compiled for tests only (`mod tests` in `mod.rs` is `#[cfg(test)]`).

#[cfg(test)]
use std::boxed::Box;
use std::error::Error as _;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{env, fs, io, process, vec};

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = env::temp_dir().join(std::format!("staticnn-data-{}-{test}", process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Writes `bytes` to `name` in the directory; returns its path.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// An IDX file: magic, dims, then `data` as given.
fn idx(type_byte: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_byte, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// 3 images of 2×2 `u8` pixels and their labels.
const PIXELS: [u8; 12] = [0, 255, 51, 102, 1, 2, 3, 4, 255, 0, 0, 255];
const LABELS: [u8; 3] = [2, 0, 1];

fn u8_images() -> Vec<u8> {
    idx(0x08, &[3, 2, 2], &PIXELS)
}

fn u8_labels() -> Vec<u8> {
    idx(0x08, &[3], &LABELS)
}

/// The error of `result`, which must have failed.
fn err<T>(result: Result<T, DataError>) -> DataError {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// Asserts that the message names `path`, and returns the message.
fn names(e: &DataError, path: &Path) -> String {
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()), "`{message}` does not name {}", path.display());
    message
}

fn load(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    Dataset::from_idx_files(images, labels, 4, 3)
}

#[test]
fn u8_round_trip_raw_and_gzipped() {
    let dir = TempDir::new("u8_round_trip");
    let raw = load(&dir.write("images", &u8_images()), &dir.write("labels", &u8_labels())).unwrap();
    // Gzip is detected by content, whatever the name.
    let gz =
        load(&dir.write("images.idx", &gzip(&u8_images())), &dir.write("labels.gz", &gzip(&u8_labels())))
            .unwrap();
    assert_eq!(raw, gz);
    assert_eq!((raw.len(), raw.features(), raw.classes()), (3, 4, 3));
    assert!(!raw.is_empty());
    assert_eq!(raw.image(0), &[0.0, 1.0, 0.2, 0.4]);
    assert_eq!(raw.image(2), &[1.0, 0.0, 0.0, 1.0]);
    assert_eq!(raw.image(1)[0], 1.0 / 255.0);
    assert_eq!(raw.labels(), &LABELS);
    assert_eq!(raw.label(0), 2);
    assert_eq!(raw.class_counts(), vec![1, 1, 1]);
    assert!(IdxReader::open(dir.0.join("images.idx")).unwrap().is_gzip());
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
        let ds = Dataset::from_idx_files(&images, &labels, 4, 2).unwrap();
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
        let ds = Dataset::from_idx_files(&images, &labels, 4, 1).unwrap();
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
        assert_eq!(load(&images, &labels).unwrap().labels(), &LABELS);
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
fn dimensions_disagreeing_with_the_input_width() {
    let dir = TempDir::new("width");
    let images = dir.write("images", &idx(0x08, &[2, 20, 20], &[0; 800]));
    let labels = dir.write("labels", &idx(0x08, &[2], &[0, 1]));
    let e = err(Dataset::from_idx_files(&images, &labels, 784, 10));
    let message = names(&e, &images);
    assert!(message.contains("[20, 20] = 400 values") && message.contains("784"), "{message}");
    assert!(
        matches!(e, DataError::InputWidth { input_width: 784, ref item_dims, .. } if item_dims == &[20, 20])
    );
    assert!(matches!(Dataset::from_idx_files(&images, &labels, 0, 10), Err(DataError::ZeroFeatures)));
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
fn truncated_data_raw_and_gzipped() {
    let dir = TempDir::new("truncated");
    let labels = dir.write("labels", &u8_labels());
    let short = idx(0x08, &[3, 2, 2], &PIXELS[..10]);
    for images in [dir.write("images", &short), dir.write("images.gz", &gzip(&short))] {
        let e = err(load(&images, &labels));
        let message = names(&e, &images);
        assert!(message.contains("3 items of 4 bytes") && message.contains("only 10 bytes"), "{message}");
        assert!(matches!(
            e,
            DataError::Truncated { items: 3, item_bytes: 4, expected_bytes: 12, found_bytes: 10, .. }
        ));
    }
}

#[test]
fn lying_header_fails_without_a_huge_allocation() {
    // The header claims 4 × 10⁹ × 4 f64 values (128 GB as f64, 64 GB as f32); the file has
    // a few bytes. Reserving for the header would abort the test process.
    let dir = TempDir::new("lying");
    let lie = idx(0x0E, &[4_000_000_000, 2, 2], &[0; 64]);
    let labels = dir.write("labels", &idx(0x08, &[4_000_000_000], &[0; 64]));
    let raw = dir.write("images", &lie);
    let gz = dir.write("images.gz", &gzip(&lie));
    for images in [&raw, &gz] {
        let reader = IdxReader::open(images).unwrap();
        assert_eq!(reader.header().items(), 4_000_000_000);
        let e = err(reader.into_images());
        names(&e, images);
        if images == &raw {
            assert!(matches!(e, DataError::Truncated { found_bytes: 64, .. }), "{e}");
        } else {
            // 128 GB cannot come out of a few dozen bytes of gzip: known before decompressing.
            assert!(
                matches!(e, DataError::ExceedsCompressedSize { expected_bytes: 128_000_000_016, .. }),
                "{e}"
            );
            assert!(e.to_string().contains("at most"), "{e}");
        }
        let e = err(Dataset::from_idx_files(images, &labels, 4, 10));
        assert!(matches!(e, DataError::Truncated { .. } | DataError::ExceedsCompressedSize { .. }), "{e}");
    }
}

#[test]
fn lying_gzip_header_is_counted_exactly_before_decoding() {
    // A header claiming 1000 items over 10 present, with a body of random bytes so that
    // the compressed size does not rule the claim out: the trailer disagrees with the
    // header, so the stream is counted first, and the exact shortfall reported.
    let dir = TempDir::new("lying_counted");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let body: Vec<u8> = (0..10 * 64)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let lie = gzip(&idx(0x08, &[1000, 8, 8], &body));
    for e in [
        err(IdxReader::open(dir.write("images.gz", &lie)).unwrap().into_images()),
        err(IdxReader::from_bytes(&lie).unwrap().into_images()),
        // A reader has no trailer to compare: the same error, found while decoding.
        err(IdxReader::from_reader(io::Cursor::new(lie.clone()), None).unwrap().into_images()),
    ] {
        assert!(matches!(e, DataError::Truncated { items: 1000, found_bytes: 640, .. }), "{e}");
    }
}

#[test]
fn trailing_data_raw_and_gzipped() {
    let dir = TempDir::new("trailing");
    let labels = dir.write("labels", &u8_labels());
    let long = idx(0x08, &[3, 2, 2], &[PIXELS.as_slice(), &[9; 5]].concat());
    for images in [dir.write("images", &long), dir.write("images.gz", &gzip(&long))] {
        let e = err(load(&images, &labels));
        assert!(names(&e, &images).contains("5 unexpected bytes"));
        assert!(matches!(e, DataError::TrailingData { expected_bytes: 12, extra_bytes: 5, .. }));
    }
}

#[test]
fn count_mismatch_names_both_files() {
    let dir = TempDir::new("count");
    let images = dir.write("images", &u8_images());
    let labels = dir.write("labels", &idx(0x08, &[2], &[0, 1]));
    let e = err(load(&images, &labels));
    let message = names(&e, &images);
    names(&e, &labels);
    assert!(message.contains("3 images") && message.contains("2 labels"), "{message}");
    assert!(matches!(e, DataError::CountMismatch { image_count: 3, label_count: 2, .. }));
}

#[test]
fn label_outside_the_classes() {
    let dir = TempDir::new("label_range");
    let images = dir.write("images", &u8_images());
    let labels = dir.write("labels", &idx(0x08, &[3], &[0, 1, 7]));
    let e = err(load(&images, &labels));
    let message = names(&e, &labels);
    assert!(message.contains("sample 2 has label 7") && message.contains("3 classes"), "{message}");
    assert!(matches!(
        e,
        DataError::LabelOutOfRange { index: 2, label: 7, classes: 3, origin: DataSource::File(_) }
    ));
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
    let ds = load(&images, &labels).unwrap();
    assert_eq!((ds.image(0)[0], ds.image(0)[1]), (f32::MAX, 0.0));
}

#[test]
fn corrupt_gzip_stream() {
    let dir = TempDir::new("gzip");
    let labels = dir.write("labels", &u8_labels());
    // A valid gzip header, then garbage instead of a deflate stream.
    let mut garbage = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    garbage.extend_from_slice(&[0xff; 40]);
    let images = dir.write("images.gz", &garbage);
    let e = err(load(&images, &labels));
    assert!(names(&e, &images).contains("gzip"));
    assert!(matches!(e, DataError::Gzip { .. }));
    assert!(e.source().is_some());
    // A gzip file cut short.
    let whole = gzip(&idx(0x08, &[300, 2, 2], &[7; 1200]));
    let images = dir.write("cut.gz", &whole[..whole.len() - 12]);
    let labels300 = dir.write("labels300", &idx(0x08, &[300], &[0; 300]));
    let e = err(load(&images, &labels300));
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
    // A damaged checksum.
    let mut bad_crc = whole.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 0xff;
    let images = dir.write("crc.gz", &bad_crc);
    let e = err(load(&images, &labels300));
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
}

#[test]
fn junk_after_the_gzip_stream_is_trailing_garbage() {
    let dir = TempDir::new("gzip_garbage");
    let labels = dir.write("labels", &u8_labels());
    let gz = gzip(&u8_images());
    let mut junky = gz.clone();
    junky.extend_from_slice(b"junk!!");
    let images = dir.write("images.gz", &junky);
    let e = err(load(&images, &labels));
    let message = names(&e, &images);
    let offset = gz.len() as u64;
    assert!(
        message.contains("6 bytes of trailing garbage")
            && message.contains(&std::format!("offset {offset}"))
            && !message.contains("corrupt"),
        "{message}"
    );
    assert!(matches!(e, DataError::GzipTrailingGarbage { offset: o, bytes: 6, .. } if o == offset), "{e}");
    // The same from bytes and from a reader; one stray byte too.
    let e = err(IdxReader::from_bytes(&junky).unwrap().into_images());
    assert!(matches!(e, DataError::GzipTrailingGarbage { origin: DataSource::Bytes, bytes: 6, .. }), "{e}");
    let mut one = gz.clone();
    one.push(0x1f);
    let e = err(IdxReader::from_reader(io::Cursor::new(one), None).unwrap().into_images());
    assert!(matches!(e, DataError::GzipTrailingGarbage { origin: DataSource::Reader, bytes: 1, .. }), "{e}");
    assert!(e.to_string().starts_with("<reader>: 1 bytes of trailing garbage"), "{e}");
    // A damaged second member is still a corrupt stream, not garbage.
    let mut second = gz.clone();
    second.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
    let e = err(IdxReader::from_bytes(&second).unwrap().into_images());
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
}

#[test]
fn multi_member_gzip_reads_as_one_stream() {
    let dir = TempDir::new("multi_member");
    let whole = idx(0x08, &[300, 2, 2], &(0..1200).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    // Three members, split inside the header and inside the data: the last trailer counts
    // only the last member, so the reader must count before trusting the header.
    let members = [gzip(&whole[..10]), gzip(&whole[10..700]), gzip(&whole[700..])].concat();
    let expected = IdxReader::from_bytes(&whole).unwrap().into_images().unwrap();
    let path = dir.write("multi.gz", &members);
    assert_eq!(IdxReader::open(&path).unwrap().into_images().unwrap(), expected);
    assert_eq!(IdxReader::from_bytes(&members).unwrap().into_images().unwrap(), expected);
    let reader = IdxReader::from_reader(io::Cursor::new(members.clone()), Some(members.len() as u64));
    assert_eq!(reader.unwrap().into_images().unwrap(), expected);
    // Multi-member and lying: 400 items announced, 300 present.
    let mut lie = whole.clone();
    lie[4..8].copy_from_slice(&400u32.to_be_bytes());
    let members = [gzip(&lie[..10]), gzip(&lie[10..])].concat();
    let e = err(IdxReader::open(dir.write("lie.gz", &members)).unwrap().into_images());
    assert!(matches!(e, DataError::Truncated { items: 400, found_bytes: 1200, .. }), "{e}");
}

#[test]
fn bytes_and_readers_load_like_files() {
    let dir = TempDir::new("bytes_readers");
    let raw = u8_images();
    let gz = gzip(&u8_images());
    let from_file = IdxReader::open(dir.write("images", &raw)).unwrap();
    assert_eq!(from_file.path(), Some(dir.0.join("images").as_path()));
    let expected = from_file.into_images().unwrap();
    for bytes in [&raw, &gz] {
        let reader = IdxReader::from_bytes(bytes).unwrap();
        assert_eq!((reader.origin(), reader.path()), (&DataSource::Bytes, None));
        assert_eq!(reader.is_gzip(), bytes == &gz);
        assert_eq!(reader.header().dims(), &[3, 2, 2]);
        assert_eq!(reader.into_images().unwrap(), expected);
        for len in [None, Some(bytes.len() as u64)] {
            let reader = IdxReader::from_reader(io::Cursor::new(bytes.to_vec()), len).unwrap();
            assert_eq!(reader.origin(), &DataSource::Reader);
            assert_eq!(reader.into_images().unwrap(), expected);
        }
        let labels = if bytes == &raw { u8_labels() } else { gzip(&u8_labels()) };
        assert_eq!(IdxReader::from_bytes(&labels).unwrap().into_labels().unwrap(), LABELS);
        let reader = IdxReader::from_reader(io::Cursor::new(labels), None).unwrap();
        assert_eq!(reader.into_labels().unwrap(), LABELS);
    }
    // Errors name the source instead of a path.
    let short = idx(0x08, &[3, 2, 2], &PIXELS[..10]);
    for bytes in [short.clone(), gzip(&short)] {
        let e = err(IdxReader::from_bytes(&bytes).unwrap().into_images());
        assert!(e.to_string().starts_with("<bytes>: truncated"), "{e}");
        assert_eq!((e.origin(), e.path()), (Some(&DataSource::Bytes), None));
        let e = err(IdxReader::from_reader(io::Cursor::new(bytes), None).unwrap().into_images());
        assert!(e.to_string().starts_with("<reader>: truncated"), "{e}");
        assert!(matches!(e, DataError::Truncated { found_bytes: 10, .. }), "{e}");
    }
    let e = err(IdxReader::from_bytes(b"<html>"));
    assert!(e.to_string().starts_with("<bytes>: not an IDX file"), "{e}");
    // A reader's announced length bounds it: a raw stream shorter than its header needs is
    // caught before its data is read, a gzip one whose header needs more than the length
    // allows before decompressing, and a reader yielding more than announced is an I/O
    // error.
    let e = err(IdxReader::from_reader(io::Cursor::new(raw[..26].to_vec()), Some(26)).unwrap().into_images());
    assert!(matches!(e, DataError::Truncated { found_bytes: 10, .. }), "{e}");
    let big = gzip(&idx(0x08, &[1 << 20, 8, 8], &[]));
    let e = err(IdxReader::from_reader(io::Cursor::new(big.clone()), Some(big.len() as u64))
        .unwrap()
        .into_images());
    assert!(matches!(e, DataError::ExceedsCompressedSize { origin: DataSource::Reader, .. }), "{e}");
    let e = err(IdxReader::from_reader(io::Cursor::new(gz.clone()), Some(20)).and_then(|r| r.into_images()));
    assert!(matches!(&e, DataError::Io { origin: DataSource::Reader, .. }), "{e}");
    assert!(e.to_string().contains("more than the 20 bytes announced"), "{e}");
    // A failing reader is an I/O error, not a corrupt stream.
    struct Failing;
    impl io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let e = err(IdxReader::from_reader(Failing, None));
    assert!(matches!(&e, DataError::Io { origin: DataSource::Reader, .. }), "{e}");
    assert!(e.to_string().contains("disk on fire"), "{e}");
    let failing_gz = io::Cursor::new(gz[..30].to_vec()).chain(Failing);
    let e = err(IdxReader::from_reader(failing_gz, None).and_then(|r| r.into_images()));
    assert!(matches!(&e, DataError::Io { .. }), "{e}");
}

#[test]
fn mnist_lists_the_names_it_tried() {
    let dir = TempDir::new("mnist_missing");
    dir.write("t10k-images-idx3-ubyte", &u8_images());
    let e = err(Dataset::mnist(&dir.0, Split::Test));
    let message = e.to_string();
    match &e {
        DataError::MnistNotFound { split: Split::Test, tried, .. } => {
            // Only the labels are missing.
            assert_eq!(tried.len(), 4);
            for path in tried {
                assert!(message.contains(&path.display().to_string()), "{message}");
            }
            assert!(tried[1].ends_with("t10k-labels-idx1-ubyte.gz"));
        }
        other => panic!("{other:?}"),
    }
    dir.write("t10k-labels.idx1-ubyte.gz", &gzip(&u8_labels()));
    let test = Dataset::mnist(&dir.0, Split::Test).unwrap();
    assert_eq!(test.labels(), &LABELS);
    let e = err(Dataset::mnist(&dir.0, Split::Train));
    assert!(matches!(e, DataError::MnistNotFound { ref tried, .. } if tried.len() == 8));
}

#[test]
fn from_vecs_is_validated() {
    let images = vec![0.0f32; 12];
    assert!(Dataset::from_vecs(images.clone(), LABELS.to_vec(), 4, 3).is_ok());
    assert!(matches!(
        Dataset::from_vecs(images.clone(), LABELS.to_vec(), 5, 3),
        Err(DataError::InvalidShape { images_len: 12, labels_len: 3, features: 5 })
    ));
    assert!(matches!(Dataset::from_vecs(Vec::new(), Vec::new(), 0, 3), Err(DataError::ZeroFeatures)));
    let e = err(Dataset::from_vecs(images.clone(), LABELS.to_vec(), 4, 2));
    assert!(e.to_string().starts_with("in-memory dataset: sample 0 has label 2"), "{e}");
    assert!(matches!(
        e,
        DataError::LabelOutOfRange { origin: DataSource::Vecs, index: 0, label: 2, classes: 2 }
    ));
    let mut infinite = images;
    infinite[5] = f32::INFINITY;
    assert!(matches!(
        Dataset::from_vecs(infinite, LABELS.to_vec(), 4, 3),
        Err(DataError::NonFinite { origin: DataSource::Vecs, sample: 1, feature: 1, .. })
    ));
}

/// 10 samples of 3 features: sample `i` is `[i, i + 0.25, i + 0.5]`, label `i % 4`.
fn counting(n: usize) -> Dataset {
    let images = (0..n).flat_map(|i| [i as f32, i as f32 + 0.25, i as f32 + 0.5]).collect();
    let labels = (0..n).map(|i| (i % 4) as u8).collect();
    Dataset::from_vecs(images, labels, 3, 4).unwrap()
}

#[test]
fn subset_and_class_counts() {
    let ds = counting(10);
    assert_eq!(ds.class_counts(), vec![3, 3, 2, 2]);
    let head = ds.subset(..4);
    assert_eq!((head.len(), head.features(), head.classes()), (4, 3, 4));
    assert_eq!(head.image(3), ds.image(3));
    let middle = ds.subset(2..=5);
    assert_eq!(middle.len(), 4);
    assert_eq!(middle.image(0), ds.image(2));
    assert_eq!(middle.labels(), &[2, 3, 0, 1]);
    assert_eq!(ds.subset(..1000).len(), 10);
    let (start, end) = (8, 3);
    assert!(ds.subset(start..end).is_empty());
    assert!(ds.subset(20..).is_empty());
}

#[test]
fn full_and_partial_batches() {
    let ds = counting(10);
    let mut batch = Batch::<f64, 3, 4>::zeroed_box();
    // Dirty the batch so that the zero padding is visible.
    batch.x.fill(9.0);
    batch.labels = [9; 4];
    ds.fill_batch(&[7, 0, 3, 9], &mut batch).unwrap();
    assert_eq!(batch.len, 4);
    assert_eq!(batch.sample(0), &[7.0, 7.25, 7.5]);
    assert_eq!(batch.sample(3), &[9.0, 9.25, 9.5]);
    assert_eq!(batch.x[(1, 0)], 7.25, "samples are columns");
    assert_eq!(batch.labels, [3, 0, 3, 1]);

    ds.fill_batch(&[5, 2], &mut batch).unwrap();
    assert_eq!(batch.len, 2);
    assert_eq!(&batch.x.as_slice()[..6], &[5.0, 5.25, 5.5, 2.0, 2.25, 2.5]);
    assert!(batch.x.as_slice()[6..].iter().all(|&v| v == 0.0));
    assert_eq!(batch.labels, [1, 2, 0, 0]);

    ds.fill_batch(&[], &mut batch).unwrap();
    assert_eq!(batch.len, 0);
    assert!(batch.x.iter().all(|&v| v == 0.0));
}

#[test]
fn bad_batches_are_errors_and_leave_the_batch_alone() {
    let ds = counting(10);
    let mut wide = Batch::<f32, 4, 2>::zeroed_box();
    assert!(matches!(
        ds.fill_batch(&[0], &mut wide),
        Err(DataError::BatchWidth { batch_rows: 4, features: 3 })
    ));
    let mut batch = Batch::<f32, 3, 2>::zeroed_box();
    ds.fill_batch(&[1, 2], &mut batch).unwrap();
    assert!(matches!(
        ds.fill_batch(&[0, 1, 2], &mut batch),
        Err(DataError::BatchOverflow { indices: 3, batch_size: 2 })
    ));
    assert!(matches!(
        ds.fill_batch(&[0, 10], &mut batch),
        Err(DataError::IndexOutOfRange { index: 10, len: 10 })
    ));
    assert_eq!((batch.len, batch.labels), (2, [1, 2]));
    assert_eq!(batch.sample(0), &[1.0, 1.25, 1.5]);
}

#[test]
fn seeded_shuffles_are_reproducible_permutations() {
    let ds = counting(100);
    let a = ds.shuffled_indices(&mut StdRng::seed_from_u64(7));
    let b = ds.shuffled_indices(&mut StdRng::seed_from_u64(7));
    let c = ds.shuffled_indices(&mut StdRng::seed_from_u64(8));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, (0..100).collect::<Vec<_>>());
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    // Successive epochs from one generator differ.
    let mut rng = StdRng::seed_from_u64(7);
    let first = ds.shuffled_indices(&mut rng);
    assert_eq!(first, a);
    assert_ne!(ds.shuffled_indices(&mut rng), first);
}

#[test]
fn an_epoch_covers_every_sample_once() {
    let ds = counting(10);
    let order = ds.shuffled_indices(&mut StdRng::seed_from_u64(1));
    let chunks: Vec<&[usize]> = ds.batches::<4>(&order).collect();
    assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), [4, 4, 2]);
    let mut batch: Box<Batch<f32, 3, 4>> = Batch::zeroed_box();
    let mut seen = Vec::new();
    for indices in ds.batches::<4>(&order) {
        ds.fill_batch(indices, &mut batch).unwrap();
        for b in 0..batch.len {
            seen.push(batch.sample(b)[0] as usize);
            assert_eq!(batch.labels[b], (batch.sample(b)[0] as u32) % 4);
        }
    }
    assert_eq!(seen, order);
}

#[test]
fn real_mnist() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    let start = std::time::Instant::now();
    let train = Dataset::mnist(&dir, Split::Train).unwrap();
    let test = Dataset::mnist(&dir, Split::Test).unwrap();
    std::eprintln!("loaded MNIST in {:?}", start.elapsed());
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!((train.features(), test.features()), (784, 784));
    assert_eq!(train.class_counts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(test.class_counts().iter().sum::<usize>(), 10_000);
    let (mut sum, mut in_range) = (0.0f64, true);
    for &v in train.images() {
        sum += f64::from(v);
        in_range &= (0.0..=1.0).contains(&v);
    }
    let mean = sum / train.images().len() as f64;
    assert!((mean - 33.32 / 255.0).abs() < 1e-3, "mean pixel {mean}");
    assert!(in_range, "a pixel is outside [0, 1]");
    // The first training image is a 5.
    assert_eq!(train.label(0), 5);
}
