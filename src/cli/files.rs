//! The files a command was asked to write (`--dot`, `--svg`, `--save`, `--plot`): checked
//! before long work starts, so that a training run does not end in "cannot write" after
//! minutes of work, and then written all or none (through `chainrule_train::write_all_or_none`,
//! which replaces only regular files and writes through FIFOs, devices and symbolic links).
//!
//! `-` as a path means standard output (and so does a path to the file standard output is,
//! like `/dev/stdout`): that file is printed there in place of the report.

use std::path::Path;

use super::error::CliError;
use super::output;

/// One output: the kind of file (for messages), its flag and its path.
#[derive(Clone, Copy)]
pub struct Output<'a> {
    pub what: &'static str,
    pub flag: &'static str,
    pub path: &'a Path,
}

impl<'a> Output<'a> {
    /// The output `flag` asks for, when it was given: a file of kind `what` (for messages).
    pub fn requested(
        flag: &'static str,
        what: &'static str,
        path: Option<&'a Path>,
    ) -> Option<Self> {
        path.map(|path| Output { what, flag, path })
    }
}

impl Output<'_> {
    /// `-`, or a path to the very file standard output is (`/dev/stdout`, or the file it is
    /// redirected to): written as standard output, so that the file and the report do not
    /// overwrite each other.
    pub fn is_stdout(&self) -> bool {
        self.path.as_os_str() == "-" || is_standard_output(self.path)
    }

    fn error(&self, error: std::io::Error) -> CliError {
        CliError::Write {
            what: self.what,
            path: self.path.to_path_buf(),
            error,
        }
    }
}

/// Checks that every output could be written now, and that no two of them are the same file
/// (or both standard output), which would lose one of them.
pub fn check(outputs: &[Output<'_>]) -> Result<(), CliError> {
    let mut targets: Vec<(Output<'_>, Option<std::path::PathBuf>)> = Vec::new();
    for output in outputs {
        let target = if output.is_stdout() {
            None
        } else {
            chainrule_train::check_writable(output.path).map_err(|e| output.error(e))?;
            Some(chainrule_train::resolve_target(output.path).map_err(|e| output.error(e))?)
        };
        if let Some((first, _)) = targets.iter().find(|(_, other)| *other == target) {
            return Err(CliError::SameOutput {
                first: first.flag,
                second: output.flag,
                path: output.path.to_path_buf(),
            });
        }
        targets.push((*output, target));
    }
    Ok(())
}

/// [`write`] for outputs made as text, `texts[i]` the contents of `outputs[i]`.
pub fn write_texts(outputs: &[Output<'_>], texts: &[String]) -> Result<bool, CliError> {
    let written: Vec<(Output<'_>, &[u8])> = outputs
        .iter()
        .zip(texts)
        .map(|(output, text)| (*output, text.as_bytes()))
        .collect();
    write(&written)
}

/// Writes every output with its contents, all or none; those to standard output after the
/// files. Returns whether standard output was used (then the caller prints no report).
pub fn write(outputs: &[(Output<'_>, &[u8])]) -> Result<bool, CliError> {
    let files: Vec<(&Path, &[u8])> = outputs
        .iter()
        .filter(|(output, _)| !output.is_stdout())
        .map(|(output, bytes)| (output.path, *bytes))
        .collect();
    chainrule_train::write_all_or_none(&files).map_err(|(index, error)| {
        let output = outputs
            .iter()
            .filter(|(output, _)| !output.is_stdout())
            .nth(index)
            .expect("an index into the files");
        output.0.error(error)
    })?;
    let mut printed = false;
    for (_, bytes) in outputs.iter().filter(|(output, _)| output.is_stdout()) {
        output::print_bytes(bytes)?;
        printed = true;
    }
    Ok(printed)
}

#[cfg(unix)]
fn is_standard_output(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata(path),
        std::fs::metadata("/proc/self/fd/1"),
    ) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_standard_output(_: &Path) -> bool {
    false
}
