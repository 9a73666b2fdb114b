//! A counting global allocator: the bench binary's own measure of heap bytes, used by
//! `scaling` for bytes per node.
//!
//! The graph's own accounting would count the tape (`size_of::<Node>` × nodes) but not what
//! hangs off it — the gradient table, input lists that spill, values that do not fit inline — so
//! the binary wraps the system allocator instead and counts every live byte. Counting costs two
//! relaxed atomic operations per allocation and is switched on only around a measurement, so the
//! timed workloads run the plain allocator but for one flag check.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator, counting live bytes and their peak while [`COUNTING`] is set.
pub struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since counting started (negative when memory from before
/// is freed).
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

impl CountingAllocator {
    fn count(change: isize) {
        if COUNTING.load(Ordering::Relaxed) {
            let live = LIVE.fetch_add(change, Ordering::Relaxed) + change;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counting touches only atomics.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            Self::count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            Self::count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        Self::count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            // Counted as the new block arriving before the old one leaves: a reallocation that
            // cannot grow in place briefly holds both.
            Self::count(new_size as isize);
            Self::count(-(layout.size() as isize));
        }
        new
    }
}

/// The most heap bytes live at once while `f` ran, above what was live when it started. Meant
/// to be called with nothing else allocating (the other threads idle), as the counts are global.
pub fn peak_bytes_during(f: impl FnOnce()) -> usize {
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    PEAK.load(Ordering::Relaxed).max(0) as usize
}
