//! Where a tensor's elements live.
//!
//! Most tensors share one heap buffer by reference count, so that binding a parameter into a
//! graph or handing a gradient to an optimizer copies nothing. A tensor of exactly one element
//! keeps it inline instead: a graph of micrograd-style scalars records tens of thousands of
//! 0-d values per step, and two heap allocations for each (the count and the buffer) would cost
//! more than the arithmetic.

use std::sync::Arc;

/// A tensor's elements: one inline, or any number shared on the heap. The two heap forms differ
/// only in how they were built; neither ever holds exactly one element, so a one-element tensor
/// is always [`Storage::One`].
#[derive(Clone)]
pub(super) enum Storage<T> {
    /// Exactly one element, held in place.
    One(T),
    /// A buffer a kernel filled step by step, kept as it was handed over (no copy).
    Shared(Arc<Vec<T>>),
    /// Elements collected straight from an exact-length iterator (the elementwise kernels):
    /// one allocation holds the reference count and the elements together, where
    /// `Arc<Vec<T>>` takes two — which is most of the cost of a small tensor op.
    Slice(Arc<[T]>),
}

impl<T: Copy> Storage<T> {
    /// Takes ownership of the elements, inline when there is exactly one.
    #[inline]
    pub(super) fn from_vec(data: Vec<T>) -> Self {
        match *data.as_slice() {
            [value] => Storage::One(value),
            _ => Storage::Shared(Arc::new(data)),
        }
    }

    /// Collects the elements of an iterator that knows its length (a map over slices, say)
    /// into one allocation, inline when there is exactly one.
    #[inline]
    pub(super) fn from_exact_iter(values: impl ExactSizeIterator<Item = T>) -> Self {
        if values.len() == 1 {
            let mut values = values;
            return Storage::One(values.next().expect("one element"));
        }
        Storage::Slice(values.collect())
    }
}

impl<T> Storage<T> {
    #[inline]
    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            Storage::One(value) => std::slice::from_ref(value),
            Storage::Shared(data) => data,
            Storage::Slice(data) => data,
        }
    }

    /// The inline element, mutable; `None` for heap storage.
    #[inline]
    pub(super) fn one_mut(&mut self) -> Option<&mut T> {
        match self {
            Storage::One(value) => Some(value),
            _ => None,
        }
    }

    /// The elements, mutable, when nobody else holds them (an inline element always qualifies).
    #[inline]
    pub(super) fn get_mut(&mut self) -> Option<&mut [T]> {
        match self {
            Storage::One(value) => Some(std::slice::from_mut(value)),
            Storage::Shared(data) => Arc::get_mut(data).map(Vec::as_mut_slice),
            Storage::Slice(data) => Arc::get_mut(data),
        }
    }

    /// The elements, mutable, copying a shared buffer first if another tensor holds it.
    #[inline]
    pub(super) fn make_mut(&mut self) -> &mut [T]
    where
        T: Clone,
    {
        // (An inline element is never shared, so it needs no copy.)
        match self {
            Storage::One(value) => std::slice::from_mut(value),
            Storage::Shared(data) => Arc::make_mut(data).as_mut_slice(),
            Storage::Slice(data) => Arc::make_mut(data),
        }
    }

    /// Whether both are the same heap buffer.
    pub(super) fn ptr_eq(&self, other: &Storage<T>) -> bool {
        match (self, other) {
            (Storage::Shared(a), Storage::Shared(b)) => Arc::ptr_eq(a, b),
            (Storage::Slice(a), Storage::Slice(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
