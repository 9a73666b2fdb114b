//! `Tensor<T>`: an owned, row-major n-dimensional array and the math kernels on it.
//!
//! A tensor is pure math: it knows nothing of graphs or gradients. The graph (see [`crate::Graph`])
//! keeps one tensor per node and calls the kernels here to compute forward values and, in the
//! first-order backward pass, gradients.
//!
//! Storage is shared by reference count, so cloning a tensor — binding a parameter into a graph,
//! handing a gradient to an optimizer — copies no elements. A tensor whose storage nobody else
//! holds can be updated in place ([`Tensor::data_mut`]). A tensor of one element holds it inline
//! instead: the micrograd-style scalar, a loss or a single bias costs no heap allocation, which
//! is what keeps a graph of many thousand 0-d values cheap (the `scalar-mlp` workload).
//!
//! The kernels live in one file per family: [`elementwise`](self) (with NumPy broadcasting),
//! reductions, shape and indexing, matrix multiplication, and the numerically stable nn functions.
//! The layout helpers they all share (broadcasting, axis normalisation, the strided row walk) live
//! in their own module, `layout`, so that no kernel file imports another.

mod conv;
mod elements;
mod elementwise;
mod layout;
mod matmul;
mod nn;
mod reduce;
mod shape;
mod storage;

use std::fmt;

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};
use smallvec::SmallVec;

use crate::Float;
use elements::Elements;
use storage::Storage;

pub(crate) use conv::transposed_output_size;
pub use conv::{Conv1dOptions, Conv2dOptions, KeptPatches, Pool2dOptions};
pub use layout::broadcast_shapes;
pub(crate) use layout::normalize_axis;
pub use matmul::matmul_into;

/// The elements of an elementwise op's result without its shape, which the caller knows (an
/// input's): a pointer and a length, which a function returns in two registers where a whole
/// [`Tensor`] goes back through memory. Copying a tensor just written that way into the
/// graph's node read it back in pieces its stores could not be forwarded to, a stall on every
/// op of a small tensor (see [`crate::ops::UnaryOp`]'s `forward_values`).
pub(crate) struct Values<T>(Elements<T>);

/// A tensor's shape: the length of each axis, outermost first. Rank ≤ 2 — scalars, vectors
/// and matrices, nearly every value of a training step — is stored inline; higher ranks spill
/// to the heap. Two axes rather than four keep a graph node small: a scalar graph is
/// memory-bound, and its tape is 12% smaller this way (`scalar-mlp` 15% faster).
pub type Shape = SmallVec<[usize; 2]>;

/// A shape holding `dims`: `Shape::from_slice` without its call to `memcpy`, which for the
/// small shapes of a scalar graph costs more than everything else about copying the shape.
#[inline]
pub(crate) fn shape_of(dims: &[usize]) -> Shape {
    if dims.is_empty() {
        // Zeros rather than `Shape::new()`'s uninitialised buffer: copying that buffer still
        // cost a load of whatever the stack slot last held, which could not be served from
        // pending stores (a fifth of the backward pass of a graph of 0-d values).
        return Shape::from_buf_and_len([0; 2], 0);
    }
    shape_of_axes(dims)
}

/// [`shape_of`] with a vector's shape built in place: for the results of elementwise kernels
/// of two or more elements. Out of line, a one-axis shape came back through the stack, stored
/// in halves and loaded whole, which the processor cannot serve from its pending stores
/// (`op-overhead` 43.2 → 41.9 ns/op). Not for every shape: inlined into the scalar paths, the
/// extra case made `scalar-mlp` 10% slower.
#[inline(always)]
fn shape_of_result(dims: &[usize]) -> Shape {
    match *dims {
        [n] => Shape::from_buf_and_len([n, 0], 1),
        _ => shape_of(dims),
    }
}

/// [`shape_of`] for at least one axis. Out of line on purpose. Written as a loop over a
/// two-axis buffer, it compiled to calls to `memset` and `memcpy` of a variable length, which
/// cost more than the rest of recording a 16-element op. Spelled out axis by axis and inlined,
/// it changed the scalar graph's code around it for the worse (`scalar-mlp` 5% slower: a
/// shape stored in halves, then loaded whole).
#[inline(never)]
fn shape_of_axes(dims: &[usize]) -> Shape {
    match *dims {
        [n] => Shape::from_buf_and_len([n, 0], 1),
        [m, n] => Shape::from_buf_and_len([m, n], 2),
        _ => Shape::from_slice(dims),
    }
}

/// Whether two shapes are the same, compared inline: `==` on slices calls the C library's
/// `memcmp`, and for the one or two numbers of a scalar graph's shapes the call cost more than
/// the comparison (3% of a `scalar-mlp` step).
#[inline(always)]
pub(crate) fn same_dims(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// An n-dimensional array of `f32` or `f64`, row-major, with reference-counted storage.
///
/// A 0-d tensor (shape `[]`) holds one number: scalars are tensors too.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!(t.get(&[1, 0]), 4.0);
/// let doubled = &t * 2.0;
/// assert_eq!(doubled.to_vec(), vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
/// ```
pub struct Tensor<T> {
    shape: Shape,
    data: Storage<T>,
}

impl<T: Clone> Clone for Tensor<T> {
    /// Shares the storage (or copies the one inline element, or a small value's elements from
    /// its graph's arena, see `crate::arena`); the shape is copied as a slice,
    /// which is much cheaper than `SmallVec`'s element-by-element clone on this hot path.
    fn clone(&self) -> Self {
        Tensor {
            shape: shape_of(&self.shape),
            data: self.data.clone(),
        }
    }
}

/// The error of [`Tensor::try_from_vec`]: the number of values does not fit the shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// How many values were given.
    pub len: usize,
    /// The shape they were meant to fill.
    pub shape: Vec<usize>,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} values cannot fill shape {:?}, which holds {}",
            self.len,
            self.shape,
            self.shape.iter().product::<usize>()
        )
    }
}

impl std::error::Error for ShapeError {}

impl<T: Float> Tensor<T> {
    /// Builds a tensor from row-major values and a shape.
    ///
    /// # Panics
    /// When `data.len()` is not the product of `shape` (see [`Tensor::try_from_vec`]).
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let m = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(m.get(&[0, 1]), 2.0);
    /// ```
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        match Self::try_from_vec(data, shape) {
            Ok(t) => t,
            Err(e) => shape_panic!("Tensor::from_vec: {e}"),
        }
    }

    /// Builds a tensor from row-major values and a shape, or says why they do not fit.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// assert!(Tensor::try_from_vec(vec![1.0f64, 2.0, 3.0], &[2, 2]).is_err());
    /// ```
    pub fn try_from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self, ShapeError> {
        if data.len() != shape.iter().product::<usize>() {
            return Err(ShapeError {
                len: data.len(),
                shape: shape.to_vec(),
            });
        }
        Ok(Self::from_parts(data, shape_of(shape)))
    }

    /// Internal constructor: the caller guarantees `data.len() == shape.product()`.
    pub(crate) fn from_parts(data: Vec<T>, shape: Shape) -> Self {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Tensor {
            shape,
            data: Storage::from_vec(data),
        }
    }

    /// `f(x)` for each element `x`, without the result's shape (see [`Values`]); for a
    /// tensor whose one element is held inline, [`Tensor::map`] is the way.
    #[inline(never)]
    pub(crate) fn map_values(&self, f: impl Fn(T) -> T) -> Values<T> {
        Values(Elements::mapped(self.as_slice(), f))
    }

    /// `f(x, y)` for each pair of elements of `self` and `other`, which have one shape,
    /// without the result's shape (see [`Values`]).
    #[inline(never)]
    pub(crate) fn zip_values(&self, other: &Tensor<T>, f: impl Fn(T, T) -> T) -> Values<T> {
        debug_assert!(same_dims(&self.shape, &other.shape));
        Values(Elements::zipped(self.as_slice(), other.as_slice(), f))
    }

    /// A tensor of `self`'s shape, which has one element, holding `value`.
    #[inline(always)]
    pub(crate) fn with_one(&self, value: T) -> Tensor<T> {
        debug_assert_eq!(self.numel(), 1);
        Tensor::one(value, shape_of(&self.shape))
    }

    /// A tensor of `self`'s shape holding `values`, which must be as many as its elements.
    #[inline(always)]
    pub(crate) fn with_values(&self, values: Values<T>) -> Tensor<T> {
        debug_assert_eq!(values.0.as_slice().len(), self.numel());
        Tensor {
            shape: shape_of_result(&self.shape),
            data: Storage::Slice(values.0),
        }
    }

    /// Internal constructor for the result of an elementwise kernel: `f` of each element of
    /// `source`, in a tensor of `source`'s shape (one allocation, written in place).
    #[inline]
    pub(crate) fn from_map(source: &Tensor<T>, f: impl Fn(T) -> T) -> Self {
        Tensor {
            shape: shape_of_result(&source.shape),
            data: Storage::from_map(source.as_slice(), f),
        }
    }

    /// Internal constructor for the result of an elementwise kernel of two operands of one
    /// shape: `f` of each pair of elements, in a tensor of that shape.
    #[inline]
    pub(crate) fn from_zip(a: &Tensor<T>, b: &Tensor<T>, f: impl Fn(T, T) -> T) -> Self {
        debug_assert!(same_dims(&a.shape, &b.shape));
        Tensor {
            shape: shape_of_result(&a.shape),
            data: Storage::from_zip(a.as_slice(), b.as_slice(), f),
        }
    }

    /// Internal constructor for a one-element tensor of any rank: no heap allocation.
    pub(crate) fn one(value: T, shape: Shape) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), 1);
        Tensor {
            shape,
            data: Storage::One(value),
        }
    }

    /// A 0-d tensor holding one number.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let s = Tensor::scalar(3.5f64);
    /// assert_eq!(s.rank(), 0);
    /// assert_eq!(s.item(), 3.5);
    /// ```
    pub fn scalar(value: T) -> Self {
        Self::one(value, Shape::new())
    }

    /// A tensor of the given shape filled with `value`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// assert_eq!(Tensor::full(&[2], 7.0f32).to_vec(), vec![7.0, 7.0]);
    /// ```
    pub fn full(shape: &[usize], value: T) -> Self {
        Self::from_parts(vec![value; shape.iter().product()], shape_of(shape))
    }

    /// A tensor of zeros.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[3]).to_vec(), vec![0.0; 3]);
    /// ```
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// assert_eq!(Tensor::<f64>::ones(&[2, 2]).sum_all().item(), 4.0);
    /// ```
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// A 1-d tensor `start, start + step, …` up to but excluding `end`, like `torch.arange`.
    ///
    /// # Panics
    /// When `step` is zero or points away from `end`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// assert_eq!(Tensor::arange(0.0f64, 2.0, 0.5).to_vec(), vec![0.0, 0.5, 1.0, 1.5]);
    /// ```
    #[track_caller]
    pub fn arange(start: T, end: T, step: T) -> Self {
        shape_assert!(
            step != T::zero() && (end - start) * step >= T::zero(),
            "Tensor::arange: step {step} never goes from {start} to {end}"
        );
        let count = ((end - start) / step).ceil().to_usize().unwrap_or(0);
        let data: Vec<T> = (0..count).map(|i| start + step * T::of(i as f64)).collect();
        let len = data.len();
        Self::from_parts(data, shape_of(&[len]))
    }

    /// Samples each element uniformly from `[low, high)` with the caller's seeded generator.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let t = Tensor::<f32>::rand_uniform(&[100], -1.0, 1.0, &mut rng);
    /// assert!(t.as_slice().iter().all(|&v| (-1.0..1.0).contains(&v)));
    /// ```
    pub fn rand_uniform<R: Rng + ?Sized>(shape: &[usize], low: T, high: T, rng: &mut R) -> Self {
        let dist = Uniform::new(low.to_f64_exact(), high.to_f64_exact());
        let n = shape.iter().product();
        let data = (0..n).map(|_| T::of(dist.sample(rng))).collect();
        Self::from_parts(data, shape_of(shape))
    }

    /// Samples each element from a normal distribution with the caller's seeded generator.
    ///
    /// # Panics
    /// When `std` is negative or not finite.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let t = Tensor::<f64>::rand_normal(&[10_000], 0.0, 1.0, &mut rng);
    /// assert!(t.mean_all().item().abs() < 0.05);
    /// ```
    #[track_caller]
    pub fn rand_normal<R: Rng + ?Sized>(shape: &[usize], mean: T, std: T, rng: &mut R) -> Self {
        let dist = match Normal::new(mean.to_f64_exact(), std.to_f64_exact()) {
            Ok(d) => d,
            Err(e) => shape_panic!("Tensor::rand_normal: std {std}: {e}"),
        };
        let n = shape.iter().product();
        let data = (0..n).map(|_| T::of(dist.sample(rng))).collect();
        Self::from_parts(data, shape_of(shape))
    }

    /// The length of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes (0 for a scalar).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.as_slice().len()
    }

    /// The elements in row-major order.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        self.data.as_slice()
    }

    /// A copy of the elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        self.as_slice().to_vec()
    }

    /// The elements, mutable. Copies the storage first only if another tensor shares it, so an
    /// optimizer updating a parameter nobody else holds writes in place.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let mut w = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// w.data_mut()[0] = 5.0;
    /// assert_eq!(w.to_vec(), vec![5.0, 2.0]);
    /// ```
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data.make_mut()
    }

    /// Whether dropping this tensor frees heap memory: its elements are on the heap, or its
    /// shape is too long to be held inline. A one-element tensor of rank up to 2 owns nothing,
    /// and neither does a value in its graph's arena.
    #[inline]
    pub(crate) fn owns_heap(&self) -> bool {
        self.shape.spilled() || self.data.owns_heap()
    }

    /// The element of a one-element tensor (`None` for any other): one check of the storage's
    /// form, where matching `as_slice()` against `[x]` builds the slice of every form first —
    /// which on a scalar graph's every op and every backward step is measurable.
    #[inline(always)]
    pub(crate) fn one_element(&self) -> Option<T>
    where
        T: Copy,
    {
        match self.data {
            Storage::One(value) => Some(value),
            _ => None,
        }
    }

    /// The element of a one-element tensor, mutable (`None` for any other tensor): the
    /// backward sweep's scalar path adds into gradients through it.
    #[inline]
    pub(crate) fn one_element_mut(&mut self) -> Option<&mut T> {
        self.data.one_mut()
    }

    /// The elements, mutable, only when nobody else holds the storage (no copy is ever made).
    pub(crate) fn data_mut_if_unique(&mut self) -> Option<&mut [T]> {
        self.data.get_mut()
    }

    /// Whether two tensors share one heap storage (cloning shares; math makes new storage). A
    /// one-element tensor holds its value inline and shares with nothing.
    pub fn shares_storage(&self, other: &Tensor<T>) -> bool {
        self.data.ptr_eq(&other.data)
    }

    /// The address of the storage, for checking that an update happened in place (for a
    /// one-element tensor, the address of the value inside the tensor itself).
    pub fn storage_ptr(&self) -> *const T {
        self.as_slice().as_ptr()
    }

    /// The value of a tensor with exactly one element (any rank).
    ///
    /// # Panics
    /// When the tensor has more or fewer than one element.
    #[track_caller]
    pub fn item(&self) -> T {
        shape_assert!(
            self.numel() == 1,
            "Tensor::item: tensor of shape {:?} has {} elements, not 1",
            self.shape(),
            self.numel()
        );
        self.as_slice()[0]
    }

    /// The element at a multi-index.
    ///
    /// # Panics
    /// When the index has the wrong rank or is out of bounds; the message names both.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> T {
        self.as_slice()[self.flat_index(index)]
    }

    /// The row-major position of a multi-index.
    #[track_caller]
    pub fn flat_index(&self, index: &[usize]) -> usize {
        shape_assert!(
            index.len() == self.rank() && index.iter().zip(self.shape()).all(|(&i, &n)| i < n),
            "Tensor::get: index {index:?} is out of bounds for shape {:?}",
            self.shape()
        );
        index
            .iter()
            .zip(self.shape())
            .fold(0, |acc, (&i, &n)| acc * n + i)
    }

    /// The multi-index of a row-major position (the inverse of [`Tensor::flat_index`]).
    pub fn unravel_index(&self, mut flat: usize) -> Vec<usize> {
        let mut index = vec![0; self.rank()];
        for (slot, &n) in index.iter_mut().zip(self.shape()).rev() {
            *slot = flat % n;
            flat /= n;
        }
        index
    }

    /// Converts every element to another float type.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![0.5f32], &[1]).cast::<f64>();
    /// assert_eq!(t.item(), 0.5f64);
    /// ```
    pub fn cast<U: Float>(&self) -> Tensor<U> {
        Tensor::from_parts(
            self.as_slice()
                .iter()
                .map(|v| U::of(v.to_f64_exact()))
                .collect(),
            shape_of(&self.shape),
        )
    }

    /// Whether every element is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> bool {
        self.as_slice().iter().all(|v| v.is_finite())
    }
}

impl<T: fmt::Debug> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let element = std::any::type_name::<T>();
        write!(
            f,
            "Tensor<{element}>{:?} {:?}",
            &self.shape[..],
            self.data.as_slice()
        )
    }
}

impl<T: Float> fmt::Display for Tensor<T> {
    /// Prints small tensors whole and large ones as their first and last few values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rank() == 0 {
            return write!(f, "{}", self.as_slice()[0]);
        }
        let values = self.as_slice();
        write!(f, "{:?} [", self.shape())?;
        let show = |f: &mut fmt::Formatter<'_>, vals: &[T]| -> fmt::Result {
            for (i, v) in vals.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{v:.4}")?;
            }
            Ok(())
        };
        if values.len() <= 8 {
            show(f, values)?;
        } else {
            show(f, &values[..3])?;
            write!(f, ", …, ")?;
            show(f, &values[values.len() - 3..])?;
        }
        write!(f, "]")
    }
}

impl<T: PartialEq> PartialEq for Tensor<T> {
    /// Equal shapes and equal elements (NaN is unequal to everything, as for floats).
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.data.as_slice() == other.data.as_slice()
    }
}

impl<T: Float> From<T> for Tensor<T> {
    /// A 0-d tensor holding the number.
    fn from(value: T) -> Self {
        Tensor::scalar(value)
    }
}
