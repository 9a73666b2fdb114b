//! Writing a file whole or not at all: the bytes go to a temporary file in the same directory,
//! which is synced and then renamed over the target. A reader (or a crash) sees the old file or
//! the new one, never half of one, and a failed write leaves the old file as it was.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of concurrent writes from one process.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: through a temporary file beside it (named
/// `.NAME.PID.N.tmp`), synced to disk and renamed into place. On any error the temporary file is
/// removed and an existing file at `path` is untouched.
///
/// # Errors
/// The I/O error of whichever step failed (creating, writing, syncing or renaming).
///
/// ```
/// use chainrule_train::write_atomically;
/// let path = std::env::temp_dir().join("chainrule-doc-atomic.txt");
/// write_atomically(&path, b"new contents").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = temporary_path(path)?;
    let result = write_then_rename(&temporary, path, bytes);
    if result.is_err() {
        // Best effort: the temporary file may not even exist, depending on where it failed.
        let _ = fs::remove_file(&temporary);
    }
    result
}

fn temporary_path(path: &Path) -> io::Result<PathBuf> {
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let unique = NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed);
    Ok(directory.join(format!(
        ".{}.{}.{unique}.tmp",
        name.to_string_lossy(),
        std::process::id()
    )))
}

fn write_then_rename(temporary: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temporary, path)
}
