//! The bench binary's allocator: mimalloc, counting live bytes for `scaling`'s bytes per node.
//!
//! **Why mimalloc.** glibc's `malloc` hands the 8 MB blocks of a large convolution back to the
//! system when they are freed and maps them afresh for the next call, so every step pays page
//! faults on its first writes, and at two threads the shootdowns of the unmapped pages between
//! them. mimalloc keeps freed memory for reuse. Alternating the two builds (3 rounds each,
//! 2026-12-01, AMD EPYC, medians): conv-32 29.7 → 35.1 GFLOP/s at 1 thread and 47.4 → 69.3 at
//! 2; the other workloads unchanged within the noise. `configure_once` tunes it so that memory is
//! committed as it is used (mlp-digits' whole process peaks at ~9 MB, as with glibc, instead of
//! 27 MB) and freed memory goes back to the system after 10 s idle, not 1 s. A library user
//! chooses the allocator of their own program in the same two lines (README, "Big tensors want an allocator that keeps memory").
//!
//! **Why `mi_malloc` for most blocks.** The `mimalloc` crate's `GlobalAlloc` asks for every
//! block through `mi_malloc_aligned`, whose path for a small block is longer than `mi_malloc`'s,
//! though every mimalloc block is word-aligned anyway. Blocks that need no more than that
//! (nearly all: a tensor's buffer, a node list) go to `mi_malloc` and `mi_zalloc` directly, as
//! the C allocator's own `malloc` does; the others to the crate. A small tensor op allocates one
//! block, so this shows on `op-overhead`: 88 → 82.5 ns/op (4 alternations, 2026-12-01).
//!
//! **Why counting.** The graph's own accounting would count the tape (`size_of::<Node>` ×
//! nodes) but not what hangs off it — the gradient table, input lists that spill, values that do
//! not fit inline — so the binary wraps its allocator and counts every live byte. The counts are
//! per thread, so a measurement sees only its own thread's allocations, whatever else runs (the
//! tests run side by side); counting is switched on only around a measurement, so the timed
//! workloads run the plain allocator but for one thread-local flag check.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ffi::c_long;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use libmimalloc_sys::{mi_malloc, mi_option_get, mi_option_set, mi_option_t, mi_zalloc};
use mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` and `mi_option_purge_delay`, by their place in
/// `mi_option_e` (v3's `mimalloc.h`): `libmimalloc-sys` leaves these two out of its constants,
/// which is why the workspace pins its exact version. The test below holds the numbers to
/// their documented defaults.
const ARENA_EAGER_COMMIT: mi_option_t = 4;
const PURGE_DELAY: mi_option_t = 15;
/// The alignment every mimalloc block has, whatever its size.
const WORD_ALIGNMENT: usize = std::mem::align_of::<usize>();

/// What the two options read before [`configure_once`] set them: mimalloc's defaults, which the
/// test holds to the documented ones to show that the numbers above name those options.
static DEFAULTS_SEEN: [AtomicI64; 2] = [AtomicI64::new(-1), AtomicI64::new(-1)];
static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// Sets mimalloc's options for the workloads, before its first allocation (options that shape
/// its arenas are read when the first one is reserved, before `main` could run): arenas are
/// committed as they are used rather than whole (their first 27 MB would count against the peak
/// memory of a small run), and freed memory is kept 10 s before it goes back to the system.
#[inline]
fn configure_once() {
    if CONFIGURED.load(Ordering::Relaxed) {
        return;
    }
    // Two threads may both get here; setting the same values twice is harmless.
    // SAFETY: plain accessors of mimalloc's option table; they never allocate.
    unsafe {
        for (seen, option) in DEFAULTS_SEEN.iter().zip([ARENA_EAGER_COMMIT, PURGE_DELAY]) {
            seen.store(mi_option_get(option) as i64, Ordering::Relaxed);
        }
        mi_option_set(ARENA_EAGER_COMMIT, 0);
        mi_option_set(PURGE_DELAY, 10_000 as c_long);
    }
    CONFIGURED.store(true, Ordering::Relaxed);
}

/// mimalloc, counting this thread's live bytes and their peak while the thread's
/// counter is on.
pub struct CountingAllocator;

/// One thread's count: bytes allocated minus bytes freed since counting started (negative when
/// memory from before is freed), and the highest it reached.
struct Counter {
    on: Cell<bool>,
    live: Cell<isize>,
    peak: Cell<isize>,
}

thread_local! {
    // Const-initialised and without a destructor, so the allocator may use it at any time,
    // including while the thread is being set up or torn down.
    static COUNTER: Counter = const {
        Counter { on: Cell::new(false), live: Cell::new(0), peak: Cell::new(0) }
    };
}

impl CountingAllocator {
    fn count(change: isize) {
        let _ = COUNTER.try_with(|counter| {
            if counter.on.get() {
                let live = counter.live.get() + change;
                counter.live.set(live);
                counter.peak.set(counter.peak.get().max(live));
            }
        });
    }
}

// SAFETY: every call is forwarded to mimalloc unchanged; the counting touches only the
// thread's own cells and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        configure_once();
        let ptr = if layout.align() <= WORD_ALIGNMENT {
            mi_malloc(layout.size()).cast()
        } else {
            MiMalloc.alloc(layout)
        };
        if !ptr.is_null() {
            Self::count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        configure_once();
        let ptr = if layout.align() <= WORD_ALIGNMENT {
            mi_zalloc(layout.size()).cast()
        } else {
            MiMalloc.alloc_zeroed(layout)
        };
        if !ptr.is_null() {
            Self::count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        MiMalloc.dealloc(ptr, layout);
        Self::count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = MiMalloc.realloc(ptr, layout, new_size);
        if !new.is_null() {
            // Counted as the new block arriving before the old one leaves: a reallocation that
            // cannot grow in place briefly holds both.
            Self::count(new_size as isize);
            Self::count(-(layout.size() as isize));
        }
        new
    }
}

/// The most heap bytes this thread held at once while `f` ran, above what it held when `f`
/// started. Allocations made by other threads (a product's helper threads) are not counted; the
/// scalar graphs measured here make none.
pub fn peak_bytes_during(f: impl FnOnce()) -> usize {
    COUNTER.with(|counter| {
        counter.live.set(0);
        counter.peak.set(0);
        counter.on.set(true);
    });
    f();
    COUNTER.with(|counter| {
        counter.on.set(false);
        counter.peak.get().max(0) as usize
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_numbers_name_the_options_meant() {
        // mimalloc v3's defaults: eager commit on overcommitting systems only (2), purging
        // after 1000 ms. A renumbered enum would have read something else.
        let seen = DEFAULTS_SEEN
            .each_ref()
            .map(|value| value.load(Ordering::Relaxed));
        assert_eq!(seen, [2, 1000]);
        assert_eq!(
            [ARENA_EAGER_COMMIT, PURGE_DELAY].map(|option| unsafe { mi_option_get(option) }),
            [0, 10_000]
        );
    }

    #[test]
    fn counts_this_threads_peak_and_not_other_threads() {
        let peak = peak_bytes_during(|| {
            let first = vec![1u8; 1 << 20];
            drop(std::hint::black_box(first));
            let second = vec![1u8; 1 << 19];
            std::hint::black_box(&second);
        });
        assert!((1 << 20..(1 << 20) + 4096).contains(&peak), "{peak}");
        let elsewhere = peak_bytes_during(|| {
            std::thread::scope(|scope| {
                scope.spawn(|| std::hint::black_box(vec![1u8; 1 << 22]));
            });
        });
        assert!(elsewhere < 1 << 20, "{elsewhere}");
    }
}
