//! The graph's arena: where the small values of its elementwise ops live.
//!
//! A chain of small tensor ops (`op-overhead`: 20,000 ops on 16 numbers) spends more on memory
//! than on arithmetic: each value is one heap block, allocated when the op runs and freed when
//! the graph is dropped, and the free of each reads a block long gone from the cache. Here a
//! graph hands its elementwise kernels blocks cut from large chunks it owns, one after
//! another, and gives the chunks back whole when it is dropped: recording a value costs a
//! pointer bump, and dropping the graph visits none of them. On `op-overhead` that took a
//! tensor op from 55 to 44 ns (2026-12-02, BENCHMARKS.md).
//!
//! A block belongs to exactly one tensor (its storage's `Elements` say it is a block, see
//! `crate::tensor::elements`): cloning such a tensor copies its elements to the heap, so a
//! block is never shared, and no tensor made from one outlives the graph. That holds because
//! a graph lends its arena only while a built-in elementwise kernel computes a node's value
//! ([`Arena::lend`]), and those kernels keep nothing but the value they return, which goes
//! into the node: the graph hands out its values by reference or as clones, never by move.
//! User code (custom ops) never runs with an arena lent.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// The largest block the arena hands out, in bytes; larger values go to the heap, where their
/// allocation is small beside the work of computing them.
const LARGEST_BLOCK: usize = 1024;
/// Bytes per chunk: room for 64 of the largest blocks, or a thousand values of 16 `f32`.
const CHUNK_BYTES: usize = 64 * 1024;
/// Every block's alignment: that of a heap block (`malloc`'s), which is enough for any
/// element type and keeps a block's vector loads within as few cache lines as on the heap.
const BLOCK_ALIGN: usize = 16;

thread_local! {
    /// The arena lent to this thread while a kernel computes a node's value; null otherwise.
    static LENT: Cell<*mut Arena> = const { Cell::new(ptr::null_mut()) };
}

/// Chunks of memory cut into blocks front to back, freed together when the arena is dropped.
#[derive(Default)]
pub(crate) struct Arena {
    chunks: Vec<Chunk>,
    /// The next free byte of the newest chunk, and its end (both null before the first chunk).
    next: usize,
    end: usize,
}

/// One allocation of [`CHUNK_BYTES`].
struct Chunk(NonNull<u8>);

impl Chunk {
    const LAYOUT: Layout = match Layout::from_size_align(CHUNK_BYTES, BLOCK_ALIGN) {
        Ok(layout) => layout,
        Err(_) => panic!("the chunk layout is valid"),
    };

    fn new() -> Chunk {
        // SAFETY: the layout's size is not zero.
        let memory = unsafe { alloc::alloc(Self::LAYOUT) };
        match NonNull::new(memory) {
            Some(memory) => Chunk(memory),
            None => alloc::handle_alloc_error(Self::LAYOUT),
        }
    }
}

// SAFETY: a chunk is plain memory owned by one arena, which goes with its graph from thread to
// thread; nothing about it is tied to the thread that allocated it.
unsafe impl Send for Chunk {}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: allocated in `Chunk::new` with this layout.
        unsafe { alloc::dealloc(self.0.as_ptr(), Self::LAYOUT) }
    }
}

impl Arena {
    /// Lends this arena to the thread until the returned loan is dropped: the small buffers
    /// that [`block`] hands out meanwhile are cut from it. What runs meanwhile must keep no
    /// tensor it makes beyond the one value it computes, which must stay in the graph that
    /// owns this arena. (A guard rather than a closure, so that `#[track_caller]` still names
    /// the user's line in a kernel's shape panic.) The loan must be dropped, never forgotten.
    #[inline(always)]
    pub(crate) fn lend(&mut self) -> Loan<'_> {
        Loan {
            previous: LENT.with(|lent| lent.replace(self)),
            _arena: PhantomData,
        }
    }

    /// The newest chunk's next `bytes` (a multiple of [`BLOCK_ALIGN`], at most a chunk), a
    /// new chunk's first when they do not fit.
    #[inline(always)]
    fn cut(&mut self, bytes: usize) -> NonNull<u8> {
        if self.end - self.next < bytes {
            self.grow();
        }
        let block = self.next;
        self.next += bytes;
        // SAFETY: `block` lies inside a live chunk, whose address is not null.
        unsafe { NonNull::new_unchecked(block as *mut u8) }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let chunk = Chunk::new();
        self.next = chunk.0.as_ptr() as usize;
        self.end = self.next + CHUNK_BYTES;
        self.chunks.push(chunk);
    }
}

/// An arena lent to the thread (see [`Arena::lend`]); dropping it, also while unwinding from a
/// kernel's panic, gives back whatever was lent before.
pub(crate) struct Loan<'a> {
    previous: *mut Arena,
    _arena: PhantomData<&'a mut Arena>,
}

impl Drop for Loan<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        LENT.with(|lent| lent.set(self.previous));
    }
}

/// Room for `layout` in the arena lent to this thread, if there is one and the layout is
/// small; `None` sends it to the heap.
#[inline(always)]
pub(crate) fn block(layout: Layout) -> Option<NonNull<u8>> {
    let bytes = layout.size();
    if bytes > LARGEST_BLOCK || bytes == 0 || layout.align() > BLOCK_ALIGN {
        return None;
    }
    let arena = LENT.with(Cell::get);
    if arena.is_null() {
        return None;
    }
    let rounded = (bytes + BLOCK_ALIGN - 1) & !(BLOCK_ALIGN - 1);
    // SAFETY: a lent arena lives, and nothing else uses it, until its loan is dropped, which
    // puts back the pointer read here.
    Some(unsafe { (*arena).cut(rounded) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_come_from_the_arena_only_while_it_is_lent() {
        assert!(
            block(Layout::array::<f32>(16).unwrap()).is_none(),
            "no arena lent"
        );
        let mut arena = Arena::default();
        let loan = arena.lend();
        assert!(block(Layout::array::<f32>(16).unwrap()).is_some());
        drop(loan);
        assert!(
            block(Layout::array::<f32>(16).unwrap()).is_none(),
            "the loan has ended"
        );
        assert_eq!(arena.chunks.len(), 1);
    }

    #[test]
    fn blocks_are_aligned_apart_and_never_overlap() {
        let mut arena = Arena::default();
        // Sizes that are not multiples of the alignment, over several chunks.
        let lens = [2usize, 3, 5, 16, 17, 100, 128];
        let loan = arena.lend();
        let blocks: Vec<(usize, usize)> = (0..2_000)
            .map(|i| {
                let len = lens[i % lens.len()];
                let start = block(Layout::array::<f64>(len).unwrap()).expect("small enough");
                (start.as_ptr() as usize, len * 8)
            })
            .collect();
        drop(loan);
        assert!(
            arena.chunks.len() > 1,
            "the test must cross a chunk boundary"
        );
        for &(start, _) in &blocks {
            assert_eq!(start % BLOCK_ALIGN, 0);
        }
        let mut sorted = blocks.clone();
        sorted.sort_unstable();
        for pair in sorted.windows(2) {
            assert!(
                pair[0].0 + pair[0].1 <= pair[1].0,
                "blocks {pair:?} overlap"
            );
        }
    }

    #[test]
    fn large_empty_and_over_aligned_values_go_to_the_heap() {
        let mut arena = Arena::default();
        let _loan = arena.lend();
        assert!(block(Layout::array::<u8>(LARGEST_BLOCK).unwrap()).is_some());
        assert!(block(Layout::array::<u8>(LARGEST_BLOCK + 1).unwrap()).is_none());
        assert!(block(Layout::new::<()>()).is_none(), "nothing to hold");
        assert!(
            block(Layout::from_size_align(64, 64).unwrap()).is_none(),
            "over-aligned"
        );
    }

    #[test]
    fn a_loan_ends_when_the_computation_panics() {
        let mut arena = Arena::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _loan = arena.lend();
            let _ = block(Layout::array::<f32>(4).unwrap());
            panic!("a kernel's shape panic");
        }));
        assert!(caught.is_err());
        assert!(block(Layout::array::<f32>(4).unwrap()).is_none());
    }

    #[test]
    fn an_inner_loan_gives_back_the_outer_one() {
        let mut outer = Arena::default();
        let mut inner = Arena::default();
        let outer_loan = outer.lend();
        let inner_loan = inner.lend();
        assert!(block(Layout::array::<f32>(4).unwrap()).is_some());
        drop(inner_loan);
        assert!(block(Layout::array::<f32>(4).unwrap()).is_some());
        drop(outer_loan);
        assert!(block(Layout::array::<f32>(4).unwrap()).is_none());
        assert_eq!((outer.chunks.len(), inner.chunks.len()), (1, 1));
    }
}
