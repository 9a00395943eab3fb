//! Tests of the IDX reader's data stream: truncated and trailing data, lying headers
//! (without allocating what they claim), corrupt, junk-followed and multi-member gzip
//! streams, and bytes and readers read like files.

use std::error::Error as _;
use std::io::{self, Read as _};
use std::vec::Vec;

use super::*;

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
        let reader = IdxReader::open(images).expect("a valid IDX header");
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
        err(IdxReader::open(dir.write("images.gz", &lie)).expect("a valid IDX header").into_images()),
        err(IdxReader::from_bytes(&lie).expect("a valid IDX header").into_images()),
        // A reader has no trailer to compare: the same error, found while decoding.
        err(IdxReader::from_reader(io::Cursor::new(lie.clone()), None)
            .expect("a valid IDX header")
            .into_images()),
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
    let e = err(IdxReader::from_bytes(&junky).expect("a valid IDX header").into_images());
    assert!(matches!(e, DataError::GzipTrailingGarbage { origin: DataSource::Bytes, bytes: 6, .. }), "{e}");
    let mut one = gz.clone();
    one.push(0x1f);
    let e =
        err(IdxReader::from_reader(io::Cursor::new(one), None).expect("a valid IDX header").into_images());
    assert!(matches!(e, DataError::GzipTrailingGarbage { origin: DataSource::Reader, bytes: 1, .. }), "{e}");
    assert!(e.to_string().starts_with("<reader>: 1 bytes of trailing garbage"), "{e}");
    // A damaged second member is still a corrupt stream, not garbage.
    let mut second = gz.clone();
    second.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
    let e = err(IdxReader::from_bytes(&second).expect("a valid IDX header").into_images());
    assert!(matches!(e, DataError::Gzip { .. }), "{e}");
}

#[test]
fn multi_member_gzip_reads_as_one_stream() {
    let dir = TempDir::new("multi_member");
    let whole = idx(0x08, &[300, 2, 2], &(0..1200).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    // Three members, split inside the header and inside the data: the last trailer counts
    // only the last member, so the reader must count before trusting the header.
    let members = [gzip(&whole[..10]), gzip(&whole[10..700]), gzip(&whole[700..])].concat();
    let expected =
        IdxReader::from_bytes(&whole).expect("a valid IDX header").into_images().expect("valid IDX images");
    let path = dir.write("multi.gz", &members);
    assert_eq!(
        IdxReader::open(&path).expect("a valid IDX header").into_images().expect("valid IDX images"),
        expected
    );
    assert_eq!(
        IdxReader::from_bytes(&members).expect("a valid IDX header").into_images().expect("valid IDX images"),
        expected
    );
    let reader = IdxReader::from_reader(io::Cursor::new(members.clone()), Some(members.len() as u64));
    assert_eq!(reader.expect("a valid IDX header").into_images().expect("valid IDX images"), expected);
    // Multi-member and lying: 400 items announced, 300 present.
    let mut lie = whole.clone();
    lie[4..8].copy_from_slice(&400u32.to_be_bytes());
    let members = [gzip(&lie[..10]), gzip(&lie[10..])].concat();
    let e = err(IdxReader::open(dir.write("lie.gz", &members)).expect("a valid IDX header").into_images());
    assert!(matches!(e, DataError::Truncated { items: 400, found_bytes: 1200, .. }), "{e}");
}

#[test]
fn bytes_and_readers_load_like_files() {
    let dir = TempDir::new("bytes_readers");
    let raw = u8_images();
    let gz = gzip(&u8_images());
    let from_file = IdxReader::open(dir.write("images", &raw)).expect("a valid IDX header");
    assert_eq!(from_file.path(), Some(dir.0.join("images").as_path()));
    let expected = from_file.into_images().expect("valid IDX images");
    for bytes in [&raw, &gz] {
        let reader = IdxReader::from_bytes(bytes).expect("a valid IDX header");
        assert_eq!((reader.origin(), reader.path()), (&DataSource::Bytes, None));
        assert_eq!(reader.is_gzip(), bytes == &gz);
        assert_eq!(reader.header().dims(), &[3, 2, 2]);
        assert_eq!(reader.into_images().expect("valid IDX images"), expected);
        for len in [None, Some(bytes.len() as u64)] {
            let reader =
                IdxReader::from_reader(io::Cursor::new(bytes.to_vec()), len).expect("a valid IDX header");
            assert_eq!(reader.origin(), &DataSource::Reader);
            assert_eq!(reader.into_images().expect("valid IDX images"), expected);
        }
        let labels = if bytes == &raw { u8_labels() } else { gzip(&u8_labels()) };
        assert_eq!(
            IdxReader::from_bytes(&labels)
                .expect("a valid IDX header")
                .into_labels()
                .expect("valid IDX labels"),
            LABELS
        );
        let reader = IdxReader::from_reader(io::Cursor::new(labels), None).expect("a valid IDX header");
        assert_eq!(reader.into_labels().expect("valid IDX labels"), LABELS);
    }
    // Errors name the source instead of a path.
    let short = idx(0x08, &[3, 2, 2], &PIXELS[..10]);
    for bytes in [short.clone(), gzip(&short)] {
        let e = err(IdxReader::from_bytes(&bytes).expect("a valid IDX header").into_images());
        assert!(e.to_string().starts_with("<bytes>: truncated"), "{e}");
        assert_eq!((e.origin(), e.path()), (Some(&DataSource::Bytes), None));
        let e = err(IdxReader::from_reader(io::Cursor::new(bytes), None)
            .expect("a valid IDX header")
            .into_images());
        assert!(e.to_string().starts_with("<reader>: truncated"), "{e}");
        assert!(matches!(e, DataError::Truncated { found_bytes: 10, .. }), "{e}");
    }
    let e = err(IdxReader::from_bytes(b"<html>"));
    assert!(e.to_string().starts_with("<bytes>: not an IDX file"), "{e}");
    // A reader's announced length bounds it: a raw stream shorter than its header needs is
    // caught before its data is read, a gzip one whose header needs more than the length
    // allows before decompressing, and a reader yielding more than announced is an I/O
    // error.
    let e = err(IdxReader::from_reader(io::Cursor::new(raw[..26].to_vec()), Some(26))
        .expect("a valid IDX header")
        .into_images());
    assert!(matches!(e, DataError::Truncated { found_bytes: 10, .. }), "{e}");
    let big = gzip(&idx(0x08, &[1 << 20, 8, 8], &[]));
    let e = err(IdxReader::from_reader(io::Cursor::new(big.clone()), Some(big.len() as u64))
        .expect("a valid IDX header")
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
