//! Writing the files a command was asked for: whole or not at all (through
//! `chainrule_train::write_atomically`), and checked before long work starts, so that a
//! training run does not end in "cannot write" after minutes of work.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use super::error::CliError;

/// Writes `contents` to `path` atomically; `what` names the kind of file in the message.
pub fn write(path: &Path, what: &'static str, contents: &[u8]) -> Result<(), CliError> {
    chainrule_train::write_atomically(path, contents).map_err(|error| CliError::Write {
        what,
        path: path.to_path_buf(),
        error,
    })
}

/// Checks that a file could be written at `path` now: the path is not a directory and its
/// directory takes a new file (tried with an empty probe file, removed at once). An existing
/// file at `path` is not touched.
pub fn check_writable(path: &Path, what: &'static str) -> Result<(), CliError> {
    let fail = |error: io::Error| CliError::Write {
        what,
        path: path.to_path_buf(),
        error,
    };
    if path.is_dir() {
        return Err(fail(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    let Some(name) = path.file_name() else {
        return Err(fail(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        )));
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let probe = directory.join(format!(
        ".{}.{}.probe",
        name.to_string_lossy(),
        std::process::id()
    ));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(fail)?;
    let _ = fs::remove_file(&probe);
    Ok(())
}
