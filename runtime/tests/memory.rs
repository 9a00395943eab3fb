//! Peak memory of the loaders on inputs whose headers lie or whose size is absurd (issue
//! 11, item 3): the IDX reader on small gzip files, the safetensors loader on a huge file.
//! A binary of its own, so that its counting global allocator sees only these tests,
//! which take turns.
#![cfg(feature = "std")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Cursor, Write as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use staticnn_runtime::data::{DataError, IdxReader};

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            // Counted as if the old block were freed only after the new one is filled.
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests take turns, so that each one's peak is its own.
static TURN: Mutex<()> = Mutex::new(());

/// Runs `f`, returning its result and the most bytes allocated at once meanwhile, above
/// what was live before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let result = f();
    (result, PEAK.load(Ordering::SeqCst) - base)
}

const MIB: usize = 1 << 20;

/// An IDX header for `u8` data of `dims`.
fn header(dims: &[u32]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

/// `header`, then `body`, gzipped.
fn gzip(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(header).unwrap();
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

/// `n` pseudo-random bytes, which do not compress.
fn noise(n: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// Writes `bytes` to a fresh temporary file; returns its path.
fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("staticnn-idx-memory-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The case: a few KB of gzip whose header claims 2³¹ images of 28 × 28 bytes
/// (1.7 TB) over a body of 4 MB of zeros. The old reader reserved 64 MiB up front and
/// decoded the whole body to `f32` before noticing the shortfall.
#[test]
fn a_small_gzip_claiming_2_pow_31_images_stays_small() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let gz = gzip(&header(&[1 << 31, 28, 28]), &vec![0; 4 << 20]);
    assert!(gz.len() < 16 << 10, "{} bytes", gz.len());
    let path = temp_file("zeros.gz", &gz);
    let (result, peak) = peak_during(|| IdxReader::open(&path).and_then(IdxReader::into_images));
    let _ = std::fs::remove_file(&path);
    let e = result.unwrap_err();
    eprintln!("2^31 images claimed over 4 MB of zeros: {e}\n  peak {peak} bytes");
    assert!(matches!(e, DataError::ExceedsCompressedSize { .. }), "{e}");
    assert!(peak < 4 * MIB, "peak {peak} bytes");
    // From bytes, the same.
    let (result, peak) = peak_during(|| IdxReader::from_bytes(&gz).and_then(IdxReader::into_images));
    assert!(matches!(result, Err(DataError::ExceedsCompressedSize { .. })));
    assert!(peak < 4 * MIB, "peak {peak} bytes");
}

/// A header claiming 1 GiB over 4 MiB of incompressible data: the compressed size does
/// not rule the claim out, but the trailer disagrees, so the reader counts the stream
/// before keeping any of it.
#[test]
fn a_lying_header_over_real_data_is_counted_not_stored() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let gz = gzip(&header(&[1 << 20, 32, 32]), &noise(4 << 20));
    let path = temp_file("noise.gz", &gz);
    let (result, peak) = peak_during(|| IdxReader::open(&path).and_then(IdxReader::into_images));
    let _ = std::fs::remove_file(&path);
    let e = result.unwrap_err();
    eprintln!("1 GiB claimed over 4 MiB of noise, from a file: {e}\n  peak {peak} bytes");
    assert!(matches!(e, DataError::Truncated { found_bytes, .. } if found_bytes == 4 << 20), "{e}");
    assert!(peak < 4 * MIB, "peak {peak} bytes");

    // From bytes: the reader owns a copy of the compressed bytes; count what decoding adds.
    let reader = IdxReader::from_bytes(&gz).unwrap();
    let (result, peak) = peak_during(|| reader.into_images());
    assert!(matches!(result, Err(DataError::Truncated { .. })));
    assert!(peak < 4 * MIB, "peak {peak} bytes");

    // A forged trailer that agrees with the header, and a reader, which has no trailer to
    // compare: the data is decoded as it arrives, so memory follows the 4 MiB actually
    // there (16 MiB as f32, at most twice that while growing), not the 1 GiB claimed.
    let mut forged = gz.clone();
    let n = forged.len();
    let claimed = (16 + (1u64 << 30)) as u32;
    forged[n - 4..].copy_from_slice(&claimed.to_le_bytes());
    let path = temp_file("forged.gz", &forged);
    let (result, peak) = peak_during(|| IdxReader::open(&path).and_then(IdxReader::into_images));
    let _ = std::fs::remove_file(&path);
    eprintln!("forged trailer: {}\n  peak {peak} bytes", result.as_ref().unwrap_err());
    // The decompressor checks the trailer against the member it ends.
    assert!(matches!(result, Err(DataError::Gzip { .. })));
    assert!(peak < 40 * MIB, "peak {peak} bytes");
    let (result, peak) = peak_during(|| {
        IdxReader::from_reader(Cursor::new(gz.clone()), None).and_then(IdxReader::into_images)
    });
    eprintln!("reader: {}\n  peak {peak} bytes", result.as_ref().unwrap_err());
    assert!(matches!(result, Err(DataError::Truncated { .. })));
    assert!(peak < 40 * MIB + gz.len(), "peak {peak} bytes");
}

/// An honest gzip file costs its output, and at most as much again while the output grows
/// (counting a `realloc` as a fresh allocation; glibc moves large blocks without copying).
#[test]
fn an_honest_gzip_file_costs_its_output() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let body = noise(4 << 20);
    let gz = gzip(&header(&[4096, 32, 32]), &body);
    let path = temp_file("honest.gz", &gz);
    let (result, peak) = peak_during(|| IdxReader::open(&path).and_then(IdxReader::into_images));
    let _ = std::fs::remove_file(&path);
    let values = result.unwrap();
    eprintln!("honest 4 MiB gzip: peak {peak} bytes for {} bytes of output", values.len() * 4);
    assert_eq!(values.len(), 4 << 20);
    assert!(peak < 32 * MIB, "peak {peak} bytes");
}

#[test]
fn a_huge_weight_file_is_refused_without_reading_it() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    use staticnn_runtime::{Dense, WeightsError, load_safetensors, save_safetensors};
    let dir = std::env::temp_dir().join(format!("staticnn-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.safetensors");
    let layer = Dense::<f32, 16, 8>::ZERO;
    save_safetensors(&layer, &path).unwrap();
    // 6 GiB, sparse: its 8-byte header is all that needs reading.
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(6 << 30).unwrap();
    let mut into = Dense::<f32, 16, 8>::ZERO;
    let (result, peak) = peak_during(|| load_safetensors(&mut into, &path));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matches!(result, Err(WeightsError::TooLarge { .. })), "{result:?}");
    assert!(peak < MIB, "peak {peak} bytes");
}
