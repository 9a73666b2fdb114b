//! Writing files whole or not at all: the bytes go to a temporary file in the same directory,
//! which is synced and then renamed over the target. A reader (or a crash) sees the old file or
//! the new one, never half of one, and a failed write leaves the old file as it was.
//!
//! Only a regular file (or a path where nothing is) is replaced by rename. A symbolic link is
//! followed and its target written (the link stays a link); a FIFO or a device is written
//! through, since renaming over it would replace the node itself with a regular file; a
//! directory, or a path ending in `/`, is refused; so is a read-only file, which a rename would
//! silently replace. A replaced file keeps its permissions. Anything under `/dev` or `/proc`
//! (`/dev/stdout`, say) is written through.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of concurrent writes from one process.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// How many symbolic links are followed before giving up (as Linux's `ELOOP` limit).
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path` atomically: through a temporary file beside it (named
/// `.NAME.PID.N.tmp`), synced to disk and renamed into place — or, for a FIFO or a device,
/// written straight to it. On any error the temporary file is removed and an existing file at
/// `path` is untouched.
///
/// # Errors
/// The I/O error of whichever step failed (resolving the path, creating, writing, syncing or
/// renaming), or [`io::ErrorKind::InvalidInput`] / [`io::ErrorKind::PermissionDenied`] for a
/// directory or a read-only file.
///
/// ```
/// use chainrule_train::write_atomically;
/// let path = std::env::temp_dir().join("chainrule-doc-atomic.txt");
/// write_atomically(&path, b"new contents").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_all_or_none(&[(path, bytes)]).map_err(|(_, error)| error)
}

/// Writes several files, all of them or none: every regular file is first written to its
/// temporary and synced, every FIFO or device written through, and only then is each temporary
/// renamed into place. If any step before the renames fails, every temporary is removed and no
/// existing file is touched.
///
/// # Errors
/// The index of the file at fault and its I/O error.
pub fn write_all_or_none(files: &[(&Path, &[u8])]) -> Result<(), (usize, io::Error)> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    // Each temporary is removed if the program is interrupted before its rename.
    #[cfg(unix)]
    let mut registered = Vec::new();
    let clean_up = |staged: &[(PathBuf, PathBuf)]| {
        for (temporary, _) in staged {
            // Best effort: it may not even exist, depending on where writing failed.
            let _ = fs::remove_file(temporary);
        }
    };
    let mut through: Vec<(usize, PathBuf)> = Vec::new();
    for (index, &(path, bytes)) in files.iter().enumerate() {
        let result = match target(path) {
            Ok(Target::Replace { path, permissions }) => temporary_path(&path).and_then(|temp| {
                #[cfg(unix)]
                registered.push(crate::interrupt::register(&temp));
                staged.push((temp.clone(), path));
                write_temporary(&temp, bytes, permissions)
            }),
            Ok(Target::WriteThrough { path }) => {
                through.push((index, path));
                Ok(())
            }
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            clean_up(&staged);
            return Err((index, error));
        }
    }
    for (index, path) in &through {
        let bytes = files[*index].1;
        let written = OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut file| file.write_all(bytes).and_then(|()| file.flush()));
        if let Err(error) = written {
            clean_up(&staged);
            return Err((*index, error));
        }
    }
    let replaced: Vec<usize> = (0..files.len())
        .filter(|i| !through.iter().any(|(j, _)| j == i))
        .collect();
    for (n, (temporary, path)) in staged.iter().enumerate() {
        if let Err(error) = fs::rename(temporary, path) {
            clean_up(&staged[n..]);
            return Err((replaced[n], error));
        }
    }
    Ok(())
}

/// Checks, without writing anything at `path`, that [`write_atomically`] could write there
/// now: the path resolves to a new or regular, writable file in a directory that takes a new
/// file (tried with an empty probe file, removed at once), or to a FIFO or device.
///
/// # Errors
/// As [`write_atomically`] would fail.
pub fn check_writable(path: &Path) -> io::Result<()> {
    match target(path)? {
        Target::Replace { path, .. } => {
            let probe = temporary_path(&path)?;
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)?;
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Target::WriteThrough { .. } => Ok(()),
    }
}

/// Where the bytes for `path` really go: the file at the end of any symbolic links, in the
/// same form for two paths that name the same file (so callers can refuse writing one file
/// twice).
///
/// # Errors
/// As [`write_atomically`] would fail on the path.
pub fn resolve_target(path: &Path) -> io::Result<PathBuf> {
    Ok(match target(path)? {
        Target::Replace { path, .. } | Target::WriteThrough { path } => {
            let directory = parent(&path);
            let name = path.file_name().expect("a resolved target names a file");
            fs::canonicalize(directory)?.join(name)
        }
    })
}

/// How a path is written.
enum Target {
    /// A regular file or nothing: replaced by rename, keeping the old file's permissions.
    Replace {
        path: PathBuf,
        permissions: Option<Permissions>,
    },
    /// A FIFO, a character or block device: opened and written.
    WriteThrough { path: PathBuf },
}

fn target(path: &Path) -> io::Result<Target> {
    let text = path.as_os_str().as_encoded_bytes();
    if text.ends_with(b"/") || text.ends_with(b"/.") || text.ends_with(b"/..") || text == b"." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names a directory, not a file",
        ));
    }
    // `/dev/stdout` and `/proc/self/fd/1` lead, through links the kernel makes up, to
    // whatever standard output is: always written through, never renamed over.
    if (path.starts_with("/dev") || path.starts_with("/proc"))
        && fs::metadata(path).is_ok_and(|m| !m.is_dir())
    {
        return Ok(Target::WriteThrough {
            path: path.to_path_buf(),
        });
    }
    let path = follow_links(path)?;
    let metadata = match fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Target::Replace {
                path,
                permissions: None,
            })
        }
        Err(e) => return Err(e),
    };
    let kind = metadata.file_type();
    if kind.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a directory",
        ));
    }
    if kind.is_file() {
        if metadata.permissions().readonly() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the file is read-only; make it writable or choose another path",
            ));
        }
        return Ok(Target::Replace {
            path,
            permissions: Some(metadata.permissions()),
        });
    }
    Ok(Target::WriteThrough { path })
}

/// `path` with every symbolic link along its last component followed (a link to a link, …);
/// the result may not exist yet (a dangling link is written through to where it points).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let link = fs::read_link(&path)?;
                path = if link.is_absolute() {
                    link
                } else {
                    parent(&path).join(link)
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("more than {MAX_LINKS} symbolic links in a row"),
    ))
}

/// The directory of `path` (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn temporary_path(path: &Path) -> io::Result<PathBuf> {
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    };
    let unique = NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed);
    Ok(parent(path).join(format!(
        ".{}.{}.{unique}.tmp",
        name.to_string_lossy(),
        std::process::id()
    )))
}

fn write_temporary(
    temporary: &Path,
    bytes: &[u8],
    permissions: Option<Permissions>,
) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temporary)?;
    file.write_all(bytes)?;
    if let Some(permissions) = permissions {
        file.set_permissions(permissions)?;
    }
    file.sync_all()
}
