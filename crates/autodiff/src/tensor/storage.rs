//! Where a tensor's elements live.
//!
//! Most tensors share one heap buffer by reference count, so that binding a parameter into a
//! graph or handing a gradient to an optimizer copies nothing. A tensor of exactly one element
//! keeps it inline instead: a graph of micrograd-style scalars records tens of thousands of
//! 0-d values per step, and two heap allocations for each (the count and the buffer) would cost
//! more than the arithmetic. A small value that an elementwise op computes for a graph node
//! lives in that graph's arena (see [`crate::arena`]), for the same reason one size up.

use triomphe::Arc;

use super::elements::Elements;

/// A tensor's elements: one inline, or any number shared on the heap, counted without a weak
/// count (`triomphe`'s `Arc`, and [`Elements`]: dropping the last handle is one atomic
/// decrement, not std's two, and asking whether a buffer is shared is a plain load). The two
/// heap forms differ only in how they were built; neither ever holds exactly one element, so
/// a one-element tensor is always [`Storage::One`].
#[derive(Clone)]
pub(super) enum Storage<T> {
    /// Exactly one element, held in place.
    One(T),
    /// A buffer a kernel filled step by step, kept as it was handed over (no copy).
    Shared(Arc<Vec<T>>),
    /// Elements written straight into their place by an elementwise kernel: one allocation
    /// holds the reference count and the elements together, where `Arc<Vec<T>>` takes two —
    /// which is most of the cost of a small tensor op. For a graph node's small value the
    /// allocation is a block of the graph's arena (see [`crate::arena`]), which its clones copy
    /// and its drop leaves alone.
    Slice(Elements<T>),
}

/// The largest buffer [`Storage::from_vec`] copies rather than keeps.
const COPIED_UP_TO_BYTES: usize = 1024;

impl<T: Copy> Storage<T> {
    /// Takes ownership of the elements, inline when there is exactly one. A small buffer is
    /// copied behind its count instead (one allocation where keeping the vector needs two, and
    /// one pointer fewer to follow to the elements: the gradient that a sum's backward starts
    /// is such a buffer, and every step of a chain of small ops reads it).
    #[inline]
    pub(super) fn from_vec(data: Vec<T>) -> Self {
        match *data.as_slice() {
            [value] => Storage::One(value),
            _ if data.len() <= COPIED_UP_TO_BYTES / std::mem::size_of::<T>().max(1) => {
                Storage::Slice(Elements::copied(&data))
            }
            _ => Storage::Shared(Arc::new(data)),
        }
    }

    /// `f(x)` for each element `x` of `source`, inline when there is exactly one.
    #[inline]
    pub(super) fn from_map(source: &[T], f: impl Fn(T) -> T) -> Self {
        if let [x] = *source {
            return Storage::One(f(x));
        }
        Storage::Slice(Elements::mapped(source, f))
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
        Storage::Slice(Elements::zipped(a, b, f))
    }
}

impl<T> Storage<T> {
    #[inline]
    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            Storage::One(value) => std::slice::from_ref(value),
            Storage::Shared(data) => data,
            Storage::Slice(data) => data.as_slice(),
        }
    }

    /// Whether dropping this storage frees memory: a heap buffer's last handle does; an
    /// inline element or an arena block never does (the arena goes with its graph).
    #[inline]
    pub(super) fn owns_heap(&self) -> bool {
        match self {
            Storage::One(_) => false,
            Storage::Shared(_) => true,
            Storage::Slice(data) => !data.in_arena(),
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
            Storage::Slice(data) => data.get_mut(),
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
                if data.get_mut().is_none() {
                    *data = Elements::copied(data.as_slice());
                }
                data.get_mut().expect("a buffer just copied has one handle")
            }
        }
    }

    /// Whether both are the same heap buffer.
    pub(super) fn ptr_eq(&self, other: &Storage<T>) -> bool {
        match (self, other) {
            (Storage::Shared(a), Storage::Shared(b)) => Arc::ptr_eq(a, b),
            (Storage::Slice(a), Storage::Slice(b)) => a.ptr_eq(b),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Graph, Tensor};

    #[test]
    fn small_elementwise_values_live_in_the_arena_and_their_clones_outlive_it() {
        let graph = Graph::new();
        let x = graph.param(Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]));
        let big = graph.param(Tensor::<f32>::ones(&[300]));
        let y = x * 2.0 + x;
        let z = big * 2.0;
        let kept = {
            let nodes = graph.nodes();
            let value = &nodes[y.id()].value;
            let in_arena = |data: &Storage<f32>| matches!(data, Storage::Slice(d) if d.in_arena());
            assert!(in_arena(&value.data));
            assert!(!in_arena(&nodes[z.id()].value.data), "1,200 bytes: heap");
            let clone = value.clone();
            assert!(!in_arena(&clone.data), "a clone leaves the arena");
            assert!(!clone.data.ptr_eq(&value.data));
            clone
        };
        let grads = (y.sum() + z.sum()).backward();
        assert_eq!(grads[x].to_vec(), vec![3.0; 3]);
        drop(grads);
        drop(graph);
        assert_eq!(kept.to_vec(), vec![3.0, 6.0, 9.0]);
    }

    #[test]
    fn an_arena_block_is_its_tensors_alone_to_write() {
        let graph = Graph::new();
        let x = graph.param(Tensor::from_vec(vec![1.0f64, 2.0], &[2]));
        let y = x * 3.0;
        let mut value = y.value();
        // `Var::value` clones: the block stays in the graph, unchanged by writes to the clone.
        value.data.make_mut()[0] = 10.0;
        assert_eq!(y.value().to_vec(), vec![3.0, 6.0]);
        let mut arena = crate::arena::Arena::default();
        let loan = arena.lend();
        let mut owned = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).mul_scalar(2.0);
        drop(loan);
        assert!(matches!(&owned.data, Storage::Slice(data) if data.in_arena()));
        owned.data.get_mut().expect("a block has one owner")[1] = 5.0;
        assert_eq!(owned.to_vec(), vec![2.0, 5.0]);
        drop(owned);
    }

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
    fn a_small_vector_is_copied_behind_a_count_and_a_large_one_kept() {
        let small = vec![0.5f32; COPIED_UP_TO_BYTES / 4];
        let large = vec![0.5f32; COPIED_UP_TO_BYTES / 4 + 1];
        let large_buffer = large.as_ptr();
        assert!(matches!(
            Storage::from_vec(small.clone()),
            Storage::Slice(_)
        ));
        let kept = Storage::from_vec(large);
        assert!(matches!(&kept, Storage::Shared(data) if data.as_slice().as_ptr() == large_buffer));
        assert_eq!(Storage::from_vec(small.clone()).as_slice(), &small[..]);
        assert!(matches!(Storage::from_vec(vec![2.0f64]), Storage::One(2.0)));
    }

    #[test]
    #[should_panic(expected = "slices of different lengths")]
    fn zipping_slices_of_different_lengths_panics() {
        let _ = Storage::from_zip(&[1.0f64, 2.0, 3.0], &[1.0, 2.0], |x, y| x + y);
    }

    #[test]
    fn made_mutable_by_a_copy_while_another_handle_lives() {
        for mut storage in [
            Storage::from_map(&[1.0f64, 2.0, 3.0], |x| x),
            Storage::Shared(Arc::new(vec![1.0f64, 2.0, 3.0])),
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
            Storage::Shared(Arc::new(vec![1.0f64, 2.0, 3.0])),
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
