//! Where a tensor's elements live.
//!
//! Most tensors share one heap buffer by reference count, so that binding a parameter into a
//! graph or handing a gradient to an optimizer copies nothing. A tensor of exactly one element
//! keeps it inline instead: a graph of micrograd-style scalars records tens of thousands of
//! 0-d values per step, and two heap allocations for each (the count and the buffer) would cost
//! more than the arithmetic.

use std::mem::MaybeUninit;

use triomphe::{Arc, UniqueArc};

/// A tensor's elements: one inline, or any number shared on the heap, counted by `triomphe`'s
/// `Arc` (no weak count: dropping the last handle is one atomic decrement, not std's two, and
/// asking whether a buffer is shared is a plain load). The two heap forms differ only in how
/// they were built; neither ever holds exactly one element, so a one-element tensor
/// is always [`Storage::One`].
#[derive(Clone)]
pub(super) enum Storage<T> {
    /// Exactly one element, held in place.
    One(T),
    /// A buffer a kernel filled step by step, kept as it was handed over (no copy).
    Shared(Arc<Vec<T>>),
    /// Elements written straight into their place by an elementwise kernel: one allocation
    /// holds the reference count and the elements together, where
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

    /// `f(x)` for each element `x` of `source`, inline when there is exactly one.
    #[inline]
    pub(super) fn from_map(source: &[T], f: impl Fn(T) -> T) -> Self {
        if let [x] = *source {
            return Storage::One(f(x));
        }
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

    /// `f(a, b)` for each pair of elements of `a` and `b`, two slices of one length; inline
    /// when there is exactly one.
    ///
    /// # Panics
    /// When the lengths differ.
    #[inline]
    pub(super) fn from_zip(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> Self {
        if let ([x], [y]) = (a, b) {
            return Storage::One(f(*x, *y));
        }
        assert_eq!(a.len(), b.len(), "from_zip: slices of different lengths");
        // SAFETY: the slots are as many as `a`'s and `b`'s elements, and the loop writes each.
        unsafe {
            Self::written(a.len(), |slots| {
                for ((slot, &x), &y) in slots.iter_mut().zip(a).zip(b) {
                    slot.write(f(x, y));
                }
            })
        }
    }

    /// A new allocation of `len` elements, which `write` fills in place.
    ///
    /// # Safety
    /// `write` must write every one of the `len` slots it is given.
    #[inline(always)]
    unsafe fn written(len: usize, write: impl FnOnce(&mut [MaybeUninit<T>])) -> Self {
        let mut data = UniqueArc::<[MaybeUninit<T>]>::new_uninit_slice(len);
        write(&mut data);
        // SAFETY: `write` wrote every slot (the caller's promise).
        Storage::Slice(unsafe { UniqueArc::assume_init_slice(data) }.shareable())
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
            // triomphe asks with an acquire load of the count, no locked instruction (std's
            // `Arc::get_mut` needs a compare-and-swap on the weak count, which a locked
            // instruction makes wait for every earlier store; the backward sweep asks once per
            // node of a chain of small ops, right after moving the gradient around).
            Storage::Shared(data) => Arc::get_mut(data).map(Vec::as_mut_slice),
            Storage::Slice(data) => Arc::get_mut(data),
        }
    }

    /// The elements, mutable, copying a shared buffer first if another tensor holds it.
    #[inline]
    pub(super) fn make_mut(&mut self) -> &mut [T]
    where
        T: Copy,
    {
        // (An inline element is never shared, so it needs no copy.)
        match self {
            Storage::One(value) => std::slice::from_mut(value),
            Storage::Shared(data) => Arc::make_mut(data).as_mut_slice(),
            Storage::Slice(data) => {
                if !data.is_unique() {
                    *data = Arc::from(&data[..]);
                }
                Arc::get_mut(data).expect("a buffer just copied has one handle")
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Lengths around the vector widths, where a vectorised loop has a head and a tail.
    const LENGTHS: [usize; 9] = [0, 1, 2, 3, 7, 8, 9, 16, 33];

    #[test]
    fn written_in_place_as_an_iterator_would_give_them() {
        for len in LENGTHS {
            let a: Vec<f32> = (0..len).map(|i| i as f32 * 0.5 - 3.0).collect();
            let b: Vec<f32> = (0..len).map(|i| 1.0 / (i as f32 + 1.0)).collect();
            let mapped = Storage::from_map(&a, |x| x * 3.0 + 1.0);
            let expected: Vec<f32> = a.iter().map(|&x| x * 3.0 + 1.0).collect();
            assert_eq!(mapped.as_slice(), &expected[..], "from_map, {len} elements");
            let zipped = Storage::from_zip(&a, &b, |x, y| x * y - y);
            let expected: Vec<f32> = a.iter().zip(&b).map(|(&x, &y)| x * y - y).collect();
            assert_eq!(zipped.as_slice(), &expected[..], "from_zip, {len} elements");
            // One element is always held inline; any other count on the heap.
            for storage in [&mapped, &zipped] {
                assert_eq!(matches!(storage, Storage::One(_)), len == 1);
            }
        }
    }

    #[test]
    #[should_panic(expected = "from_zip: slices of different lengths")]
    fn zipping_slices_of_different_lengths_panics() {
        let _ = Storage::from_zip(&[1.0f64, 2.0, 3.0], &[1.0, 2.0], |x, y| x + y);
    }

    #[test]
    fn made_mutable_by_a_copy_while_another_handle_lives() {
        for mut storage in [
            Storage::from_map(&[1.0f64, 2.0, 3.0], |x| x),
            Storage::from_vec(vec![1.0f64, 2.0, 3.0]),
        ] {
            let other = storage.clone();
            assert!(storage.ptr_eq(&other));
            storage.make_mut()[1] = 20.0;
            assert!(!storage.ptr_eq(&other), "copied, not written through");
            assert_eq!(storage.as_slice(), &[1.0, 20.0, 3.0]);
            assert_eq!(other.as_slice(), &[1.0, 2.0, 3.0]);
            // Now the only handle: written in place.
            let before = storage.as_slice().as_ptr();
            storage.make_mut()[0] = 10.0;
            assert_eq!(storage.as_slice().as_ptr(), before);
            assert_eq!(storage.as_slice(), &[10.0, 20.0, 3.0]);
        }
    }

    #[test]
    fn mutable_only_while_no_other_handle_lives() {
        for mut storage in [
            Storage::from_map(&[1.0f64, 2.0, 3.0], |x| x),
            Storage::from_vec(vec![1.0f64, 2.0, 3.0]),
        ] {
            let other = storage.clone();
            assert!(storage.get_mut().is_none(), "shared with a clone");
            // A handle let go of on another thread: its release decrement pairs with the
            // acquire load that asks whether the buffer is shared.
            std::thread::spawn(move || assert_eq!(other.as_slice()[2], 3.0))
                .join()
                .unwrap();
            let values = storage.get_mut().expect("the last handle");
            values[0] = 10.0;
            assert_eq!(storage.as_slice(), &[10.0, 2.0, 3.0]);
        }
    }
}
