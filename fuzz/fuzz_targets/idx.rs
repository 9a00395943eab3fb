//! Fuzzes the IDX reader (MNIST's file format) on bytes in memory: any header, truncated
//! data or gzip stream must give a `DataError`, never a panic or an allocation the header
//! merely claims.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnn_runtime::data::IdxReader;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = IdxReader::from_bytes(data) {
        let _ = reader.into_images();
    }
    if let Ok(reader) = IdxReader::from_bytes(data) {
        let _ = reader.into_labels();
    }
});
