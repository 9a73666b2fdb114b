//! Temporary files removed when the program is interrupted (SIGINT from Ctrl-C, SIGTERM) while
//! they exist: the atomic writes of [`crate::atomic`] register each temporary here from its
//! creation until its rename.
//!
//! A signal handler may only call async-signal-safe functions, so the paths are kept as C
//! strings in a fixed table of atomic pointers that the handler reads without locking; it
//! unlinks each, restores the default action and raises the signal again, so the process ends
//! as interrupted. The handlers are installed only while a temporary exists, and the previous
//! actions restored after, so a program's own handling of these signals is untouched the rest
//! of the time. Written directly on `libc` (already in the build) rather than with a handler
//! crate such as `ctrlc`, which can be set only once per process and then holds Ctrl-C for the
//! program's whole life (with a thread of its own), where this needs it only while a file is
//! being written.

use std::ffi::CString;
use std::path::Path;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

/// How many temporaries can be registered at once; more are simply not cleaned up on
/// interrupt.
const SLOTS: usize = 32;

static TEMPORARIES: [AtomicPtr<libc::c_char>; SLOTS] =
    [const { AtomicPtr::new(null_mut()) }; SLOTS];

/// The signals handled, and while any temporary is registered, their previous actions.
const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];
static INSTALLED: Mutex<(usize, Vec<libc::sigaction>)> = Mutex::new((0, Vec::new()));

/// A temporary file registered for removal on interrupt, until this is dropped.
pub(crate) struct Registered {
    slot: Option<usize>,
}

/// Registers `path` for removal if the process is interrupted before the returned guard is
/// dropped.
pub(crate) fn register(path: &Path) -> Registered {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return Registered { slot: None };
    };
    let raw = c_path.into_raw();
    let slot = TEMPORARIES.iter().position(|entry| {
        entry
            .compare_exchange(null_mut(), raw, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    if slot.is_none() {
        // SAFETY: `raw` came from `CString::into_raw` just above and was stored nowhere.
        drop(unsafe { CString::from_raw(raw) });
        return Registered { slot: None };
    }
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed.0 == 0 {
        installed.1 = SIGNALS.iter().map(|&signal| install(signal)).collect();
    }
    installed.0 += 1;
    Registered { slot }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let Some(slot) = self.slot else { return };
        let raw = TEMPORARIES[slot].swap(null_mut(), Ordering::SeqCst);
        if !raw.is_null() {
            // SAFETY: every pointer in the table came from `CString::into_raw`, and the swap
            // took this one out, so it is freed once.
            drop(unsafe { CString::from_raw(raw) });
        }
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        installed.0 -= 1;
        if installed.0 == 0 {
            for (signal, previous) in SIGNALS.iter().zip(&installed.1) {
                // SAFETY: restores an action sigaction returned for this signal.
                unsafe { libc::sigaction(*signal, previous, null_mut()) };
            }
        }
    }
}

/// Installs [`on_signal`] for `signal`; returns the previous action.
fn install(signal: libc::c_int) -> libc::sigaction {
    // SAFETY: plain sigaction calls with zero-initialised structs, as POSIX specifies them.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        let mut previous: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, &action, &mut previous);
        previous
    }
}

/// Removes every registered temporary, then lets the signal end the process as it would have.
extern "C" fn on_signal(signal: libc::c_int) {
    for entry in &TEMPORARIES {
        let raw = entry.load(Ordering::SeqCst);
        if !raw.is_null() {
            // SAFETY: unlink, signal and raise are async-signal-safe; the pointer is a live C
            // string (it is freed only after being swapped out of the table).
            unsafe { libc::unlink(raw) };
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}
