//! Atomic saves: a synced temporary file renamed over the target, so a crash mid-save
//! never destroys the previous weights.

use std::ffi::OsStr;
use std::format;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};

use super::IoOperation;

/// Distinguishes the temporary files of concurrent saves within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The most bytes of the target's name kept in a temporary name, so that the temporary
/// name (prefix, hash, process id, counter) stays under the usual 255-byte limit.
const NAME_BYTES: usize = 120;

/// The start shared by every temporary file of saves to `file_name`:
/// `.{name, cut to NAME_BYTES}.{FNV-1a hash of the whole name}.`. The hash keeps targets
/// whose names share the cut prefix apart.
pub(super) fn temp_prefix(file_name: &OsStr) -> String {
    let bytes = file_name.as_encoded_bytes();
    let hash =
        bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let name = file_name.to_string_lossy();
    let mut cut = name.len().min(NAME_BYTES);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}.{hash:016x}.", &name[..cut])
}

/// Whether process `pid` may still be running. On Linux, `/proc` says; elsewhere every
/// process is assumed alive, so only the age of a temporary file can mark it stale.
fn may_be_running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Removes the temporary files that saves to the same target left behind when their
/// process was killed: those of processes no longer running (or, where that cannot be
/// told, older than a day). Best effort: errors are ignored.
fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else { continue };
        let Some(pid) =
            rest.strip_suffix(".tmp").and_then(|r| r.split_once('-')).and_then(|(p, _)| p.parse().ok())
        else {
            continue;
        };
        let old = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(24 * 3600)))
        };
        if pid != me && (!may_be_running(pid) || old()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Creates a new, uniquely named temporary file in `dir` for a save to `file_name`.
fn create_temp(dir: &Path, prefix: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut attempts = 0;
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!("{prefix}{pid}-{n}.tmp"));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            // A stale file of a crashed process that had the same id: try the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), (IoOperation, io::Error)> {
    let file_name = path.file_name().ok_or_else(|| {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file");
        (IoOperation::Write, e)
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let prefix = temp_prefix(file_name);
    remove_stale(dir, &prefix);
    let (temp, mut file) = create_temp(dir, &prefix).map_err(|e| (IoOperation::Write, e))?;
    let written = file.write_all(bytes).and_then(|()| file.flush()).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err((IoOperation::Write, e));
    }
    if let Err(e) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err((IoOperation::Replace, e));
    }
    // Make the rename itself durable. Best effort: not every platform or file system
    // lets a directory be opened and synced, and the new file is complete either way.
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
