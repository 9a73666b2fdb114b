//! A counting global allocator: the bench binary's own measure of heap bytes, used by
//! `scaling` for bytes per node.
//!
//! The graph's own accounting would count the tape (`size_of::<Node>` × nodes) but not what
//! hangs off it — the gradient table, input lists that spill, values that do not fit inline — so
//! the binary wraps the system allocator instead and counts every live byte. The counts are
//! per thread, so a measurement sees only its own thread's allocations, whatever else runs (the
//! tests run side by side); counting is switched on only around a measurement, so the timed
//! workloads run the plain allocator but for one thread-local flag check.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting this thread's live bytes and their peak while the thread's
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

// SAFETY: every call is forwarded to `System` unchanged; the counting touches only the
// thread's own cells and never allocates.
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
