//! [`Elements`]: a counted slice in one allocation, which may instead be a block of a graph's
//! arena.
//!
//! On the heap it is what `triomphe`'s `Arc<[T]>` is: a count (no weak count) followed by the
//! elements, one allocation, one atomic decrement to drop. A block of a graph's arena (see
//! [`crate::arena`]) has the same layout, with a count that says so and that never comes down
//! to a last handle's: dropping such a handle frees nothing (the arena goes with its graph),
//! and cloning it copies the elements to the heap, so a clone may outlive the graph. Both
//! kinds in one type keep [`super::storage::Storage`] at three forms: a fourth, even one
//! never built, made the compiler's code for every match on a storage longer, and a graph of
//! scalars slower by a tenth (`scalar-mlp`, 17% more instructions).

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::mem::{self, MaybeUninit};
use std::ptr::{self, NonNull};
use std::sync::atomic::{self, AtomicUsize, Ordering};

use crate::arena;

/// The count of an arena block: never incremented or decremented.
const IN_ARENA: usize = usize::MAX;
/// Counts above this abort, as `std`'s `Arc` does: only leaked handles could get there.
const MAX_COUNT: usize = isize::MAX as usize;

/// What precedes the elements.
#[repr(C)]
struct Header {
    count: AtomicUsize,
}

/// A counted slice of `T` (see the module's doc).
pub(super) struct Elements<T> {
    header: NonNull<Header>,
    len: usize,
    _owns: PhantomData<T>,
}

// SAFETY: as `Arc<[T]>`: the count is atomic, and shared access only reads the elements; an
// arena block is owned by one handle alone.
unsafe impl<T: Send + Sync> Send for Elements<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Elements<T> {}

impl<T> Elements<T> {
    /// Where the elements start: right after the header, aligned for `T`.
    const OFFSET: usize = {
        let align = mem::align_of::<T>();
        (mem::size_of::<Header>() + align - 1) & !(align - 1)
    };

    /// The allocation's layout for `len` elements.
    #[inline(always)]
    fn layout(len: usize) -> Layout {
        let elements = Layout::array::<T>(len).expect("a tensor's size overflows memory");
        let (layout, offset) = Layout::new::<Header>()
            .extend(elements)
            .expect("a tensor's size overflows memory");
        debug_assert_eq!(offset, Self::OFFSET);
        layout.pad_to_align()
    }

    #[inline(always)]
    fn start(&self) -> *mut T {
        // SAFETY: the elements start `OFFSET` bytes into the allocation.
        unsafe { self.header.as_ptr().cast::<u8>().add(Self::OFFSET).cast() }
    }

    #[inline(always)]
    fn count(&self) -> &AtomicUsize {
        // SAFETY: the header lives as long as any handle does.
        unsafe { &self.header.as_ref().count }
    }

    /// Whether this is a block of a graph's arena.
    #[inline(always)]
    pub(super) fn in_arena(&self) -> bool {
        self.count().load(Ordering::Relaxed) == IN_ARENA
    }

    /// Room for `len` elements, not yet written: a block of the arena lent to this thread if
    /// `may_use_arena`, there is one and they fit, else a heap allocation counted once.
    ///
    /// # Safety
    /// Every element must be written before the handle is read or dropped.
    #[inline(always)]
    unsafe fn unwritten(len: usize, may_use_arena: bool) -> Self {
        let layout = Self::layout(len);
        let block = if may_use_arena {
            arena::block(layout)
        } else {
            None
        };
        let (memory, count) = match block {
            Some(block) => (block, IN_ARENA),
            None => {
                // SAFETY: the layout holds at least the header, so it is not empty.
                let memory = unsafe { alloc::alloc(layout) };
                match NonNull::new(memory) {
                    Some(memory) => (memory, 1),
                    None => alloc::handle_alloc_error(layout),
                }
            }
        };
        let header = memory.cast::<Header>();
        // SAFETY: the memory is fresh, sized and aligned for the header and the elements.
        unsafe {
            header.as_ptr().write(Header {
                count: AtomicUsize::new(count),
            });
        }
        Elements {
            header,
            len,
            _owns: PhantomData,
        }
    }

    /// The slots of a handle from [`Elements::unwritten`], to be written.
    #[inline(always)]
    fn slots(&mut self) -> &mut [MaybeUninit<T>] {
        // SAFETY: the slots lie inside the allocation, which this handle alone holds.
        unsafe { std::slice::from_raw_parts_mut(self.start().cast(), self.len) }
    }

    /// `len` elements, which `write` fills in place: in the arena lent to this thread if
    /// there is one and they are few, on the heap otherwise.
    ///
    /// # Safety
    /// `write` must write every one of the `len` slots it is given.
    #[inline(always)]
    pub(super) unsafe fn written(len: usize, write: impl FnOnce(&mut [MaybeUninit<T>])) -> Self {
        // SAFETY: `write` writes every slot before the handle is read (the caller's promise).
        let mut elements = unsafe { Self::unwritten(len, true) };
        write(elements.slots());
        elements
    }

    /// `f(x)` for each element `x` of `source`.
    #[inline(always)]
    pub(super) fn mapped(source: &[T], f: impl Fn(T) -> T) -> Self
    where
        T: Copy,
    {
        // SAFETY: the slots are as many as `source`'s elements, and the loop writes each.
        unsafe {
            Self::written(source.len(), |slots| {
                // Two slices of one length side by side: the loop the compiler turns into
                // vector instructions (`collect` from an iterator wrote one element at a time).
                for (slot, &x) in slots.iter_mut().zip(source) {
                    slot.write(f(x));
                }
            })
        }
    }

    /// `f(x, y)` for each pair of elements of `a` and `b`, two slices of one length.
    ///
    /// # Panics
    /// When the lengths differ.
    #[inline(always)]
    pub(super) fn zipped(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> Self
    where
        T: Copy,
    {
        assert_eq!(a.len(), b.len(), "zipped: slices of different lengths");
        // SAFETY: the slots are as many as `a`'s and `b`'s elements, and the loop writes each.
        unsafe {
            Self::written(a.len(), |slots| {
                for ((slot, &x), &y) in slots.iter_mut().zip(a).zip(b) {
                    slot.write(f(x, y));
                }
            })
        }
    }

    #[inline(always)]
    pub(super) fn as_slice(&self) -> &[T] {
        // SAFETY: the allocation holds `len` initialised elements while this handle lives.
        unsafe { std::slice::from_raw_parts(self.start(), self.len) }
    }

    /// The elements, mutable, when no other handle shares them: an arena block never has
    /// another (its clones are copies).
    #[inline(always)]
    pub(super) fn get_mut(&mut self) -> Option<&mut [T]> {
        // Acquire: writes through handles released on other threads happen before ours.
        match self.count().load(Ordering::Acquire) {
            // SAFETY: no other handle reads or writes these elements.
            1 | IN_ARENA => Some(unsafe { std::slice::from_raw_parts_mut(self.start(), self.len) }),
            _ => None,
        }
    }

    /// Whether both are the same allocation.
    pub(super) fn ptr_eq(&self, other: &Elements<T>) -> bool {
        self.header == other.header
    }
}

impl<T: Clone> Elements<T> {
    #[inline(never)]
    fn copied_to_heap(&self) -> Self {
        Elements::copied(self.as_slice())
    }

    /// A copy of `values` on the heap.
    pub(super) fn copied(values: &[T]) -> Self {
        // Never in an arena: a copy is what may leave the graph.
        // SAFETY: the loop writes every slot before the handle is returned.
        let mut elements = unsafe { Self::unwritten(values.len(), false) };
        for (slot, value) in elements.slots().iter_mut().zip(values) {
            slot.write(value.clone());
        }
        elements
    }
}

impl<T: Clone> Clone for Elements<T> {
    /// Shares a heap allocation; copies an arena block to the heap.
    #[inline]
    fn clone(&self) -> Self {
        if self.in_arena() {
            return self.copied_to_heap();
        }
        // Relaxed, as `Arc::clone`: a new handle needs no ordering with other memory.
        let before = self.count().fetch_add(1, Ordering::Relaxed);
        if before > MAX_COUNT {
            std::process::abort();
        }
        Elements {
            header: self.header,
            len: self.len,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for Elements<T> {
    /// One atomic decrement inline, as `Arc`'s drop: drops of storages are everywhere in the
    /// engine's hot code. An arena block's count starts so high that it never comes down to
    /// the last handle's; dropping its one handle leaves the memory to the arena.
    #[inline]
    fn drop(&mut self) {
        // Release, then acquire before freeing (in `free`), as `Arc`'s drop: every use
        // through another handle happens before the free.
        if self.count().fetch_sub(1, Ordering::Release) == 1 {
            self.free();
        }
    }
}

impl<T> Elements<T> {
    /// Frees the allocation of the last handle.
    #[inline(never)]
    fn free(&mut self) {
        atomic::fence(Ordering::Acquire);
        // SAFETY: the elements are initialised, and no other handle reads them any more.
        unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.start(), self.len)) }
        let layout = Self::layout(self.len);
        // SAFETY: the last handle: nothing else reads the memory; allocated with `layout`.
        unsafe { alloc::dealloc(self.header.as_ptr().cast(), layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap(values: &[f64]) -> Elements<f64> {
        Elements::copied(values)
    }

    #[test]
    fn a_clone_shares_the_heap_and_the_last_drop_frees() {
        let a = heap(&[1.0, 2.0, 3.0]);
        let b = a.clone();
        assert!(a.ptr_eq(&b));
        assert_eq!(a.count().load(Ordering::Relaxed), 2);
        drop(b);
        assert_eq!(a.count().load(Ordering::Relaxed), 1);
        assert_eq!(a.as_slice(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn mutable_only_without_another_handle() {
        let mut a = heap(&[1.0, 2.0]);
        let b = a.clone();
        assert!(a.get_mut().is_none());
        drop(b);
        a.get_mut().expect("the last handle")[0] = 5.0;
        assert_eq!(a.as_slice(), &[5.0, 2.0]);
    }

    #[test]
    fn an_arena_block_is_copied_by_a_clone_and_not_freed_by_a_drop() {
        let mut arena = arena::Arena::default();
        let loan = arena.lend();
        // SAFETY: the closure writes every slot.
        let mut block = unsafe {
            Elements::<f32>::written(5, |slots| {
                for (i, slot) in slots.iter_mut().enumerate() {
                    slot.write(i as f32);
                }
            })
        };
        drop(loan);
        assert!(block.in_arena());
        let copy = block.clone();
        assert!(!copy.in_arena() && !copy.ptr_eq(&block));
        assert_eq!(copy.as_slice(), block.as_slice());
        block.get_mut().expect("a block is its handle's alone")[0] = 9.0;
        assert_eq!((block.as_slice()[0], copy.as_slice()[0]), (9.0, 0.0));
        drop(block);
        drop(arena);
        assert_eq!(copy.as_slice(), &[0.0, 1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn elements_follow_the_header_aligned_for_their_type() {
        for len in [0, 1, 2, 7, 100] {
            let a = Elements::<f64>::copied(&vec![0.5; len]);
            assert_eq!(a.start() as usize % mem::align_of::<f64>(), 0);
            assert_eq!(a.as_slice().len(), len);
        }
    }
}
