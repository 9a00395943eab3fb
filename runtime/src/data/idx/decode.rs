//! Decoding the data: big-endian elements into `f32` sample values ([`decode_images`]:
//! the `u8` table, the scaling of signed integers, finite floats within `f32`'s range) or
//! byte labels ([`decode_labels`]), appended to outputs that grow only with the data that
//! has arrived ([`make_room`]).

use std::vec::Vec;

use super::header::ElementType;

/// `u8` pixel values scaled to `[0, 1]`.
const U8_SCALE: [f32; 256] = {
    let mut table = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = i as f32 / 255.0;
        i += 1;
    }
    table
};

/// Makes room in `out` for `more` values, growing it at most to `cap` in total and at
/// most to double its length (plus `more`): memory follows the data that has arrived.
pub(super) fn make_room<T>(out: &mut Vec<T>, more: usize, cap: usize) {
    if out.capacity() - out.len() >= more {
        return;
    }
    let target = out.len().saturating_mul(2).max(out.len() + more).min(cap.max(out.len() + more));
    // If this fails, `extend` grows the vector as usual.
    let _ = out.try_reserve_exact(target - out.len());
}

/// Appends whole big-endian elements of `bytes` to `out` as `f32` sample values. On a
/// float that is not finite or (`f64`) does not fit `f32`, stops and returns its index
/// within `bytes` and its value as stored.
pub(super) fn decode_images(
    element: ElementType,
    bytes: &[u8],
    out: &mut Vec<f32>,
) -> Result<(), (usize, f64)> {
    match element {
        ElementType::U8 => out.extend(bytes.iter().map(|&b| U8_SCALE[usize::from(b)])),
        ElementType::I8 => out.extend(bytes.iter().map(|&b| f32::from(b as i8) / 127.0)),
        ElementType::I16 => {
            out.extend(bytes.chunks_exact(2).map(|b| f32::from(i16::from_be_bytes([b[0], b[1]])) / 32767.0))
        }
        ElementType::I32 => out.extend(bytes.chunks_exact(4).map(|b| {
            let v = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            (f64::from(v) / f64::from(i32::MAX)) as f32
        })),
        ElementType::F32 => {
            for (i, b) in bytes.chunks_exact(4).enumerate() {
                let v = f32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                if !v.is_finite() {
                    return Err((i, f64::from(v)));
                }
                out.push(v);
            }
        }
        ElementType::F64 => {
            for (i, b) in bytes.chunks_exact(8).enumerate() {
                let v = f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                // Rounds to the nearest `f32`; infinite if `v` is beyond `f32::MAX`.
                let narrow = v as f32;
                if !narrow.is_finite() {
                    return Err((i, v));
                }
                out.push(narrow);
            }
        }
    }
    Ok(())
}

/// Appends whole big-endian integer elements of `bytes` to `out` as labels; on a value
/// outside `0..=255`, returns its index (counting all labels so far) and the value.
pub(super) fn decode_labels(
    element: ElementType,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), (usize, i64)> {
    fn push(out: &mut Vec<u8>, values: impl Iterator<Item = i64>) -> Result<(), (usize, i64)> {
        for v in values {
            let label = u8::try_from(v).map_err(|_| (out.len(), v))?;
            out.push(label);
        }
        Ok(())
    }
    match element {
        ElementType::U8 => {
            out.extend_from_slice(bytes);
            Ok(())
        }
        ElementType::I8 => push(out, bytes.iter().map(|&b| i64::from(b as i8))),
        ElementType::I16 => {
            push(out, bytes.chunks_exact(2).map(|b| i64::from(i16::from_be_bytes([b[0], b[1]]))))
        }
        ElementType::I32 => {
            push(out, bytes.chunks_exact(4).map(|b| i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))))
        }
        // `check_label_header` rejects float labels before any data is read.
        ElementType::F32 | ElementType::F64 => Ok(()),
    }
}
