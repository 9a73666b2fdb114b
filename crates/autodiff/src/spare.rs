//! Spare buffers: the allocation of a large vector that was just emptied, kept per thread for
//! the next vector of its kind.
//!
//! A training loop builds a graph, runs backward and drops both, once per step, and each step's
//! tape and gradient table are about as large as the last. Freeing them and growing new ones
//! from nothing every step costs little in `malloc` but much in the kernel: buffers of
//! megabytes are mapped fresh and every page of them faults on first touch (on the machines
//! here that was a third of the time of the `op-overhead` workload). Keeping the last buffer
//! of each kind avoids that, at the price of one such buffer staying reserved per thread, as
//! with a caching allocator.

use std::alloc::Layout;
use std::any::TypeId;
use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::thread::LocalKey;

/// A thread's slot for one spare buffer (declared with `thread_local!`).
pub(crate) struct SpareBuffer {
    slot: RefCell<Option<Allocation>>,
}

impl SpareBuffer {
    pub(crate) const fn new() -> Self {
        SpareBuffer {
            slot: RefCell::new(None),
        }
    }

    /// Keeps `buffer`'s allocation in `key`'s slot for the next [`SpareBuffer::take`]; its
    /// elements are dropped first. An empty allocation is not worth keeping.
    pub(crate) fn keep<E>(key: &'static LocalKey<SpareBuffer>, mut buffer: Vec<E>) {
        buffer.clear();
        Self::keep_allocation(key, buffer, None);
    }

    /// Keeps `buffer` for the next [`SpareBuffer::take_filled`] *with* its elements, each of
    /// which must own nothing (an empty slot, `None`): a table that starts every step with
    /// one empty slot per node then costs nothing to set up again, where filling megabytes of
    /// slots afresh showed as 8% of a `scalar-mlp` step. An element that owns something after
    /// all is leaked, never dropped twice.
    pub(crate) fn keep_filled<E: 'static>(key: &'static LocalKey<SpareBuffer>, buffer: Vec<E>) {
        let filled = Some((TypeId::of::<E>(), buffer.len()));
        Self::keep_allocation(key, buffer, filled);
    }

    fn keep_allocation<E>(
        key: &'static LocalKey<SpareBuffer>,
        buffer: Vec<E>,
        filled: Option<(TypeId, usize)>,
    ) {
        let element = Layout::new::<E>();
        if buffer.capacity() == 0 || element.size() == 0 {
            return;
        }
        let mut buffer = ManuallyDrop::new(buffer);
        let allocation = Allocation {
            ptr: buffer.as_mut_ptr().cast(),
            capacity: buffer.capacity(),
            element,
            filled,
        };
        // During thread exit the slot may be gone: the allocation is then simply freed.
        let _ = key.try_with(|spare| *spare.slot.borrow_mut() = Some(allocation));
    }

    /// [`SpareBuffer::keep`] for a buffer where only the elements in `owners` own anything that
    /// needs dropping: only those are dropped, and the rest — most of a scalar graph's tape —
    /// are not even read, which for megabytes of elements is most of the cost of emptying the
    /// buffer. Should an element outside `owners` own something after all, it is leaked, never
    /// dropped twice or read after being dropped.
    pub(crate) fn keep_dropping_only<E>(
        key: &'static LocalKey<SpareBuffer>,
        mut buffer: Vec<E>,
        owners: &Owners,
    ) {
        let len = buffer.len();
        let base = buffer.as_mut_ptr();
        // SAFETY: the length is set to zero before any element is dropped, so that a panicking
        // drop leaves the vector owning none of them (they leak instead of dropping twice).
        unsafe { buffer.set_len(0) };
        for index in owners.iter().take_while(|&index| index < len) {
            // SAFETY: `index` is below the length, so the element is initialised; a set names
            // each index once, and the vector no longer owns the elements.
            unsafe { std::ptr::drop_in_place(base.add(index)) };
        }
        Self::keep(key, buffer);
    }

    /// The kept allocation as an empty vector, when its elements are laid out like `E`; else a
    /// new empty vector.
    pub(crate) fn take<E>(key: &'static LocalKey<SpareBuffer>) -> Vec<E> {
        Self::take_allocation(key, None)
    }

    /// The kept allocation as a vector: with the elements [`SpareBuffer::keep_filled`] kept in
    /// it when they were of type `E`, else empty.
    pub(crate) fn take_filled<E: 'static>(key: &'static LocalKey<SpareBuffer>) -> Vec<E> {
        Self::take_allocation(key, Some(TypeId::of::<E>()))
    }

    /// The kept allocation as a vector of `E` (of type `element_type`, where known: only then
    /// can kept elements be handed back), or a new empty vector.
    fn take_allocation<E>(
        key: &'static LocalKey<SpareBuffer>,
        element_type: Option<TypeId>,
    ) -> Vec<E> {
        key.try_with(|spare| spare.slot.borrow_mut().take())
            .ok()
            .flatten()
            .and_then(|allocation| allocation.reuse(element_type))
            .unwrap_or_default()
    }
}

/// A set of element indices, one bit each: which elements of a buffer own heap memory (see
/// [`SpareBuffer::keep_dropping_only`]). A set names each index at most once, which is what
/// makes dropping the named elements safe.
#[derive(Clone, Debug, Default)]
pub(crate) struct Owners {
    words: Vec<u64>,
}

impl Owners {
    /// Adds `index` to the set.
    #[inline]
    pub(crate) fn insert(&mut self, index: usize) {
        let word = index / 64;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (index % 64);
    }

    /// The indices in the set, in increasing order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(word, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let bit = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    word * 64 + bit
                })
            })
        })
    }
}

/// A vector's allocation, kept by its element layout rather than its type, so that vectors of
/// `f32` and of `f64` values laid out alike can share it.
struct Allocation {
    ptr: *mut u8,
    capacity: usize,
    element: Layout,
    /// For a buffer kept with its elements: their type and how many there are.
    filled: Option<(TypeId, usize)>,
}

impl Allocation {
    /// The allocation as a vector of `E`, if laid out alike. Its kept elements come with it
    /// when `element_type` is `E`'s and theirs; otherwise they are let go of, which leaks
    /// nothing, as kept elements own nothing.
    fn reuse<E>(self, element_type: Option<TypeId>) -> Option<Vec<E>> {
        if Layout::new::<E>() != self.element {
            return None;
        }
        let len = match (self.filled, element_type) {
            (Some((kept, len)), Some(wanted)) if kept == wanted => len,
            _ => 0,
        };
        let this = ManuallyDrop::new(self);
        // SAFETY: the pointer came from a `Vec` of this capacity, of elements of this exact size
        // and alignment, made by the global allocator; nothing else owns it. The first `len`
        // elements are the initialised values of type `E` it was kept with.
        Some(unsafe { Vec::from_raw_parts(this.ptr.cast(), len, this.capacity) })
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        // SAFETY: the allocation is live and owned by `self`; it was made for `capacity`
        // elements of layout `element`, a size that fit in a `Vec`.
        unsafe {
            let size = self.element.size() * self.capacity;
            let layout = Layout::from_size_align_unchecked(size, self.element.align());
            std::alloc::dealloc(self.ptr, layout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    thread_local! {
        static SPARE_FOR_TESTS: SpareBuffer = const { SpareBuffer::new() };
    }

    #[test]
    fn owners_list_each_index_once_in_increasing_order() {
        let mut owners = Owners::default();
        for index in [130, 0, 63, 64, 5, 130, 1000, 63] {
            owners.insert(index);
        }
        assert_eq!(owners.iter().collect::<Vec<_>>(), [0, 5, 63, 64, 130, 1000]);
        assert_eq!(Owners::default().iter().count(), 0);
    }

    #[test]
    fn only_the_owners_are_dropped_and_the_rest_never_read() {
        // Counted drops: the elements at 1 and 3 are the owners; the others are shared handles
        // whose count must not move (they are let go of, not dropped).
        let counter = Rc::new(());
        let buffer: Vec<Option<Rc<()>>> = (0..5).map(|_| Some(Rc::clone(&counter))).collect();
        assert_eq!(Rc::strong_count(&counter), 6);
        let mut owners = Owners::default();
        owners.insert(1);
        owners.insert(3);
        owners.insert(9); // beyond the length: ignored
        SpareBuffer::keep_dropping_only(&SPARE_FOR_TESTS, buffer, &owners);
        assert_eq!(Rc::strong_count(&counter), 4);
        let reused: Vec<Option<Rc<()>>> = SpareBuffer::take(&SPARE_FOR_TESTS);
        assert!(reused.is_empty() && reused.capacity() >= 5);
    }

    #[test]
    fn a_filled_buffer_comes_back_filled_only_to_its_own_type() {
        SpareBuffer::keep_filled(&SPARE_FOR_TESTS, vec![None::<u64>; 7]);
        let same: Vec<Option<u64>> = SpareBuffer::take_filled(&SPARE_FOR_TESTS);
        assert_eq!(same, [None; 7]);

        // Laid out alike (16 bytes, align 8) but another type: the allocation, empty.
        SpareBuffer::keep_filled(&SPARE_FOR_TESTS, same);
        let other: Vec<Option<i64>> = SpareBuffer::take_filled(&SPARE_FOR_TESTS);
        assert!(other.is_empty() && other.capacity() >= 7);

        // The plain `take` never hands elements back.
        SpareBuffer::keep_filled(&SPARE_FOR_TESTS, vec![None::<u64>; 3]);
        let plain: Vec<Option<u64>> = SpareBuffer::take(&SPARE_FOR_TESTS);
        assert!(plain.is_empty());
    }
}
