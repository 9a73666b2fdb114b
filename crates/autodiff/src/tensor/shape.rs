//! Shape and indexing kernels: reshaping, permuting and broadcasting axes, slicing and padding,
//! joining, and selecting, gathering and scattering along an axis.
//!
//! Each kernel sits beside its adjoint (`narrow`/`pad`, `index_select`/`index_add`,
//! `gather`/`scatter_add`), because the backward pass of one is the other.
//!
//! Every kernel here reads a permuted or broadcast layout one contiguous row at a time instead of
//! one element at a time, through [`StridedRows`], the strided walk in [`super::layout`] that the
//! elementwise and reduction kernels share.

use smallvec::{smallvec, SmallVec};

use super::layout::{
    accumulate, broadcast_shapes, broadcast_strides, contiguous_strides, normalize_axis,
    split_at_axis, StridedRows,
};
use std::sync::Mutex;

use super::conv::POOLED_ELEMENT_WORK;
use super::{shape_of, Shape, Tensor};
use crate::threads::{run_claimed, threads_for_product};
use crate::Float;

/// One thread's share of a scatter along the last axis: its rows of the output, and their
/// indices and values.
type ScatterPart<'a, T> = (&'a mut [T], &'a [usize], &'a [T]);

/// Adds each row of `values` (`len` a row) into the matching row of `out` (`size` a row) at
/// the positions `at` names.
fn scatter_rows<T: Float>(out: &mut [T], at: &[usize], values: &[T], size: usize, len: usize) {
    let rows = out.chunks_exact_mut(size.max(1));
    for ((row, at), values) in rows
        .zip(at.chunks_exact(len.max(1)))
        .zip(values.chunks_exact(len.max(1)))
    {
        for (&index, &value) in at.iter().zip(values) {
            row[index] += value;
        }
    }
}

impl<T: Float> Tensor<T> {
    /// The same elements, in the same order, under another shape with as many elements. Shares
    /// storage: nothing is copied.
    ///
    /// # Panics
    /// When `shape` holds a different number of elements.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::arange(0.0f64, 6.0, 1.0).reshape(&[2, 3]);
    /// assert_eq!(t.get(&[1, 0]), 3.0);
    /// ```
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Tensor<T> {
        let numel: usize = shape.iter().product();
        shape_assert!(
            numel == self.numel(),
            "reshape: shape {:?} ({} elements) cannot become {:?} ({} elements)",
            self.shape(),
            self.numel(),
            shape,
            numel
        );
        Tensor {
            shape: shape_of(shape),
            data: self.data.clone(),
        }
    }

    /// Reorders the axes: axis `i` of the result is axis `axes[i]` of `self`, like
    /// `torch.permute`.
    ///
    /// # Panics
    /// When `axes` is not a permutation of `0..rank`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::<f32>::zeros(&[2, 3, 4]);
    /// assert_eq!(t.permute(&[2, 0, 1]).shape(), &[4, 2, 3]);
    /// ```
    #[track_caller]
    pub fn permute(&self, axes: &[usize]) -> Tensor<T> {
        let rank = self.rank();
        let mut seen: SmallVec<[bool; 4]> = smallvec![false; rank];
        let is_permutation = axes.len() == rank
            && axes
                .iter()
                .all(|&a| a < rank && !std::mem::replace(&mut seen[a], true));
        shape_assert!(
            is_permutation,
            "permute: axes {axes:?} are not a permutation of 0..{rank} for shape {:?}",
            self.shape()
        );
        if axes.iter().enumerate().all(|(i, &a)| i == a) {
            return self.clone();
        }
        let strides = contiguous_strides(self.shape());
        let shape: Shape = axes.iter().map(|&a| self.shape[a]).collect();
        let steps: Shape = axes.iter().map(|&a| strides[a]).collect();
        Tensor::from_parts(copy_strided(self.as_slice(), &shape, &steps), shape)
    }

    /// Swaps two axes, like `torch.transpose`; negative axes count from the end.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let m = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// let t = m.transpose(0, -1);
    /// assert_eq!(t.shape(), &[3, 2]);
    /// assert_eq!(t.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn transpose(&self, a: isize, b: isize) -> Tensor<T> {
        let rank = self.rank();
        let a = normalize_axis(a, rank, "transpose");
        let b = normalize_axis(b, rank, "transpose");
        let mut axes: Shape = (0..rank).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// Repeats the elements along new leading axes and along axes of length 1 to fill `shape`,
    /// under NumPy's broadcasting rules.
    ///
    /// # Panics
    /// When `self`'s shape does not broadcast to `shape`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let row = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// assert_eq!(row.broadcast_to(&[2, 2]).to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor<T> {
        if self.shape() == shape {
            return self.clone();
        }
        shape_assert!(
            broadcast_shapes(self.shape(), shape).as_deref() == Some(shape),
            "broadcast_to: shape {:?} cannot broadcast to {:?}",
            self.shape(),
            shape
        );
        let strides = broadcast_strides(self.shape(), shape);
        Tensor::from_parts(
            copy_strided(self.as_slice(), shape, &strides),
            shape_of(shape),
        )
    }

    /// The slice `start..start + len` along `axis`, like `torch.narrow`. Its adjoint is
    /// [`Tensor::pad`].
    ///
    /// # Panics
    /// When the range runs past the end of the axis.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::arange(0.0f64, 5.0, 1.0);
    /// assert_eq!(t.narrow(0, 1, 3).to_vec(), vec![1.0, 2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "narrow");
        let dim = self.shape[ax];
        shape_assert!(
            start <= dim && len <= dim - start,
            "narrow: range {start}..{} is out of bounds for axis {axis} of shape {:?}",
            start.saturating_add(len),
            self.shape()
        );
        let (outer, _, inner) = split_at_axis(self.shape(), ax);
        let data = self.as_slice();
        let mut out = Vec::with_capacity(outer * len * inner);
        for o in 0..outer {
            let first = (o * dim + start) * inner;
            out.extend_from_slice(&data[first..first + len * inner]);
        }
        let mut shape = shape_of(&self.shape);
        shape[ax] = len;
        Tensor::from_parts(out, shape)
    }

    /// Adds `before` zeros in front of and `after` zeros behind the elements along `axis`. The
    /// adjoint of [`Tensor::narrow`].
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// assert_eq!(t.pad(0, 1, 2).to_vec(), vec![0.0, 1.0, 2.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn pad(&self, axis: isize, before: usize, after: usize) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "pad");
        let dim = self.shape[ax];
        let padded = before + dim + after;
        let (outer, _, inner) = split_at_axis(self.shape(), ax);
        let data = self.as_slice();
        let mut out = Vec::with_capacity(outer * padded * inner);
        for o in 0..outer {
            out.resize(out.len() + before * inner, T::zero());
            out.extend_from_slice(&data[o * dim * inner..(o + 1) * dim * inner]);
            out.resize(out.len() + after * inner, T::zero());
        }
        let mut shape = shape_of(&self.shape);
        shape[ax] = padded;
        Tensor::from_parts(out, shape)
    }

    /// Adds `part` into the elements `start..start + part.shape()[axis]` along `axis`, in place:
    /// `self += part.pad(axis, start, …)` without the padded tensor. The backward sweep gathers
    /// the gradients of many narrow slices of one tensor (the time steps of a sequence) this way.
    ///
    /// # Panics
    /// When `part` does not fit: another rank, or another size on any axis but `axis`.
    #[track_caller]
    pub(crate) fn add_into_slice(&mut self, axis: usize, start: usize, part: &Tensor<T>) {
        let len = part.shape.get(axis).copied().unwrap_or(0);
        let fits = part.rank() == self.rank()
            && start + len <= self.shape[axis]
            && (0..self.rank()).all(|a| a == axis || part.shape[a] == self.shape[a]);
        assert!(
            fits,
            "add_into_slice: a part {:?} does not fit along axis {axis} at {start} of {:?}",
            part.shape(),
            self.shape()
        );
        let (outer, dim, inner) = split_at_axis(self.shape(), axis);
        let part = part.as_slice();
        let data = self.data_mut();
        for o in 0..outer {
            let into = &mut data[(o * dim + start) * inner..(o * dim + start + len) * inner];
            for (sum, &x) in into
                .iter_mut()
                .zip(&part[o * len * inner..(o + 1) * len * inner])
            {
                *sum += x;
            }
        }
    }

    /// Joins tensors end to end along an existing axis, like `torch.cat`.
    ///
    /// # Panics
    /// When `tensors` is empty or the shapes differ anywhere but along `axis`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let a = Tensor::<f64>::zeros(&[2, 1]);
    /// let b = Tensor::<f64>::ones(&[2, 2]);
    /// let c = Tensor::concat(&[&a, &b], 1);
    /// assert_eq!(c.to_vec(), vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn concat(tensors: &[&Tensor<T>], axis: isize) -> Tensor<T> {
        let Some(first) = tensors.first() else {
            shape_panic!("concat: no tensors to join")
        };
        let ax = normalize_axis(axis, first.rank(), "concat");
        for t in tensors {
            let same_outside_axis = t.rank() == first.rank()
                && (0..first.rank()).all(|i| i == ax || t.shape[i] == first.shape[i]);
            shape_assert!(
                same_outside_axis,
                "concat: shapes {:?} and {:?} differ outside axis {axis}",
                first.shape(),
                t.shape()
            );
        }
        let (outer, _, inner) = split_at_axis(first.shape(), ax);
        let total: usize = tensors.iter().map(|t| t.shape[ax]).sum();
        let mut out = Vec::with_capacity(outer * total * inner);
        for o in 0..outer {
            for t in tensors {
                let block = t.shape[ax] * inner;
                out.extend_from_slice(&t.as_slice()[o * block..(o + 1) * block]);
            }
        }
        let mut shape = shape_of(&first.shape);
        shape[ax] = total;
        Tensor::from_parts(out, shape)
    }

    /// Joins equally shaped tensors along a new axis, like `torch.stack`; `axis` may equal the
    /// rank, which appends the new axis last.
    ///
    /// # Panics
    /// When `tensors` is empty or the shapes differ.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// let b = Tensor::from_vec(vec![3.0f64, 4.0], &[2]);
    /// assert_eq!(Tensor::stack(&[&a, &b], 0).shape(), &[2, 2]);
    /// assert_eq!(Tensor::stack(&[&a, &b], 1).to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn stack(tensors: &[&Tensor<T>], axis: isize) -> Tensor<T> {
        let Some(first) = tensors.first() else {
            shape_panic!("stack: no tensors to stack")
        };
        let ax = normalize_axis(axis, first.rank() + 1, "stack");
        for t in tensors {
            shape_assert!(
                t.shape() == first.shape(),
                "stack: shapes {:?} and {:?} differ",
                first.shape(),
                t.shape()
            );
        }
        let expanded: Vec<Tensor<T>> = tensors.iter().map(|t| t.insert_axis(ax)).collect();
        let refs: Vec<&Tensor<T>> = expanded.iter().collect();
        Tensor::concat(&refs, ax as isize)
    }

    /// The slices at `indices` along `axis`, in that order (repeats allowed), like
    /// `torch.index_select`. Its adjoint is [`Tensor::index_add`].
    ///
    /// # Panics
    /// When an index is out of range for the axis.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let embeddings = Tensor::from_vec(vec![0.0f64, 0.0, 1.0, 1.0, 2.0, 2.0], &[3, 2]);
    /// let rows = embeddings.index_select(0, &[2, 0, 2]);
    /// assert_eq!(rows.to_vec(), vec![2.0, 2.0, 0.0, 0.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "index_select");
        let dim = self.shape[ax];
        for &index in indices {
            check_index("index_select", index, ax, dim, self.shape());
        }
        let (outer, _, inner) = split_at_axis(self.shape(), ax);
        let data = self.as_slice();
        let mut out = Vec::with_capacity(outer * indices.len() * inner);
        for o in 0..outer {
            for &index in indices {
                let first = (o * dim + index) * inner;
                out.extend_from_slice(&data[first..first + inner]);
            }
        }
        let mut shape = shape_of(&self.shape);
        shape[ax] = indices.len();
        Tensor::from_parts(out, shape)
    }

    /// Zeros with `size` slices along `axis`, into which slice `i` of `self` is added at
    /// `indices[i]` (repeated indices add up). The adjoint of [`Tensor::index_select`], like
    /// `torch.index_add` into zeros.
    ///
    /// # Panics
    /// When `self`'s length along `axis` is not `indices.len()`, or an index is not below `size`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let grads = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3, 1]);
    /// assert_eq!(grads.index_add(0, &[1, 0, 1], 2).to_vec(), vec![2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn index_add(&self, axis: isize, indices: &[usize], size: usize) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "index_add");
        let count = self.shape[ax];
        shape_assert!(
            count == indices.len(),
            "index_add: axis {axis} of shape {:?} has length {count}, but {} indices were given",
            self.shape(),
            indices.len()
        );
        let mut shape = shape_of(&self.shape);
        shape[ax] = size;
        for &index in indices {
            check_index("index_add", index, ax, size, &shape);
        }
        let (outer, _, inner) = split_at_axis(self.shape(), ax);
        let data = self.as_slice();
        let mut out = vec![T::zero(); outer * size * inner];
        for o in 0..outer {
            for (i, &index) in indices.iter().enumerate() {
                let src = (o * count + i) * inner;
                let dst = (o * size + index) * inner;
                accumulate(&mut out[dst..dst + inner], &data[src..src + inner]);
            }
        }
        Tensor::from_parts(out, shape)
    }

    /// Picks one element along `axis` for every position of an index tensor, like
    /// `torch.gather`: `out[.., j, ..] = self[.., indices[flat(.., j, ..)], ..]`.
    ///
    /// The index tensor has `self`'s shape except `len` along `axis`; `indices` holds it in
    /// row-major order. The result has that shape. Its adjoint is [`Tensor::scatter_add`].
    ///
    /// # Panics
    /// When `indices` does not fill the index shape, or an index is out of range for the axis.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// // One element per row: row 0 takes column 2, row 1 takes column 0.
    /// assert_eq!(t.gather(1, &[2, 0], 1).to_vec(), vec![3.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn gather(&self, axis: isize, indices: &[usize], len: usize) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "gather");
        let mut shape = shape_of(&self.shape);
        shape[ax] = len;
        let expected: usize = shape.iter().product();
        shape_assert!(
            indices.len() == expected,
            "gather: {} indices cannot fill index shape {:?} (shape {:?} with length {len} along axis {axis})",
            indices.len(),
            shape,
            self.shape()
        );
        let dim = self.shape[ax];
        let (outer, _, inner) = split_at_axis(self.shape(), ax);
        let data = self.as_slice();
        let mut out = Vec::with_capacity(expected);
        for o in 0..outer {
            for j in 0..len {
                let row = &indices[(o * len + j) * inner..][..inner];
                for (k, &index) in row.iter().enumerate() {
                    check_index("gather", index, ax, dim, self.shape());
                    out.push(data[(o * dim + index) * inner + k]);
                }
            }
        }
        Tensor::from_parts(out, shape)
    }

    /// Zeros with `size` slices along `axis`, into which each element of `self` is added at its
    /// own index: `out[.., indices[p], ..] += self[p]`. The adjoint of [`Tensor::gather`], like
    /// `torch.scatter_add` into zeros; `indices` has `self`'s shape, in row-major order.
    ///
    /// # Panics
    /// When `indices` does not have one index per element, or an index is not below `size`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let g = Tensor::from_vec(vec![1.0f64, 2.0], &[2, 1]);
    /// assert_eq!(g.scatter_add(1, &[2, 0], 3).to_vec(), vec![0.0, 0.0, 1.0, 2.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn scatter_add(&self, axis: isize, indices: &[usize], size: usize) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "scatter_add");
        shape_assert!(
            indices.len() == self.numel(),
            "scatter_add: {} indices given for shape {:?}, which has {} elements",
            indices.len(),
            self.shape(),
            self.numel()
        );
        let mut shape = shape_of(&self.shape);
        shape[ax] = size;
        let len = self.shape[ax];
        let (outer, _, inner) = split_at_axis(self.shape(), ax);
        let data = self.as_slice();
        // Every index checked first, in one pass, so the scatter itself is a plain loop.
        if let Some(&index) = indices.iter().find(|&&index| index >= size) {
            check_index("scatter_add", index, ax, size, &shape);
        }
        let mut out = vec![T::zero(); outer * size * inner];
        if inner == 1 {
            // Scattering along the last axis (max pooling's gradient): row by row. Rows never
            // meet, so a batch worth it is cut into runs of rows over the threads, as the
            // pooling's forward cuts its planes (see `POOLED_ELEMENT_WORK`).
            let threads = threads_for_product(out.len().saturating_mul(POOLED_ELEMENT_WORK));
            if threads <= 1 || size == 0 || len == 0 {
                scatter_rows(&mut out, indices, data, size, len);
            } else {
                let rows_per_part = outer.div_ceil(threads);
                let parts: Vec<Mutex<ScatterPart<'_, T>>> = out
                    .chunks_mut(rows_per_part * size)
                    .zip(indices.chunks(rows_per_part * len))
                    .zip(data.chunks(rows_per_part * len))
                    .map(|((out, at), values)| Mutex::new((out, at, values)))
                    .collect();
                run_claimed(parts.len(), threads, &|i| {
                    let mut part = parts[i].lock().unwrap_or_else(|e| e.into_inner());
                    let (out, at, values) = &mut *part;
                    scatter_rows(out, at, values, size, len);
                });
            }
        } else {
            for o in 0..outer {
                for j in 0..len {
                    let first = (o * len + j) * inner;
                    let rows = indices[first..first + inner].iter().zip(&data[first..]);
                    for (k, (&index, &value)) in rows.enumerate() {
                        out[(o * size + index) * inner + k] += value;
                    }
                }
            }
        }
        Tensor::from_parts(out, shape)
    }

    /// Removes an axis of length 1. Shares storage.
    ///
    /// # Panics
    /// When the axis does not have length 1.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// assert_eq!(Tensor::<f32>::zeros(&[2, 1, 3]).squeeze(1).shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn squeeze(&self, axis: isize) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "squeeze");
        shape_assert!(
            self.shape[ax] == 1,
            "squeeze: axis {axis} of shape {:?} has length {}, not 1",
            self.shape(),
            self.shape[ax]
        );
        let mut shape = shape_of(&self.shape);
        shape.remove(ax);
        self.reshape(&shape)
    }

    /// Inserts an axis of length 1 at `axis`, which may equal the rank (append last). Shares
    /// storage.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::<f32>::zeros(&[2, 3]);
    /// assert_eq!(t.unsqueeze(0).shape(), &[1, 2, 3]);
    /// assert_eq!(t.unsqueeze(-1).shape(), &[2, 3, 1]);
    /// ```
    #[track_caller]
    pub fn unsqueeze(&self, axis: isize) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank() + 1, "unsqueeze");
        self.insert_axis(ax)
    }

    /// Inserts an axis of length 1 at an already normalized position.
    fn insert_axis(&self, axis: usize) -> Tensor<T> {
        let mut shape = shape_of(&self.shape);
        shape.insert(axis, 1);
        self.reshape(&shape)
    }
}

/// Panics unless `index` is a valid position along an axis of length `len`.
#[track_caller]
fn check_index(op: &str, index: usize, axis: usize, len: usize, shape: &[usize]) {
    if index >= len {
        shape_panic!(
            "{op}: index {index} is out of range for axis {axis} of length {len} (shape {shape:?})"
        );
    }
}

/// Copies a strided layout of `data` (element `index` at `Σ index[i] * strides[i]`) into a
/// contiguous row-major vector of `shape`.
pub(crate) fn copy_strided<T: Copy>(data: &[T], shape: &[usize], strides: &[usize]) -> Vec<T> {
    let rows = StridedRows::new(shape, [strides]);
    let (len, [step]) = (rows.len, rows.step);
    let mut out = Vec::with_capacity(shape.iter().product());
    for [start] in rows {
        match step {
            0 => out.resize(out.len() + len, data[start]),
            1 => out.extend_from_slice(&data[start..start + len]),
            _ => out.extend(data[start..].iter().step_by(step).take(len)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    fn range(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::arange(0.0, n as f64, 1.0).reshape(shape)
    }

    #[test]
    fn reshape_shares_storage() {
        let a = range(&[2, 3]);
        let b = a.reshape(&[3, 2]);
        assert!(a.shares_storage(&b));
        assert_eq!(b.shape(), &[3, 2]);
    }

    #[test]
    #[should_panic(expected = "reshape: shape [2, 3] (6 elements) cannot become [4] (4 elements)")]
    fn reshape_wrong_size_panics() {
        range(&[2, 3]).reshape(&[4]);
    }

    #[test]
    fn permute_matches_index_arithmetic() {
        let a = range(&[2, 3, 4]);
        let p = a.permute(&[2, 0, 1]);
        assert_eq!(p.shape(), &[4, 2, 3]);
        for i in 0..4 {
            for j in 0..2 {
                for k in 0..3 {
                    assert_eq!(p.get(&[i, j, k]), a.get(&[j, k, i]));
                }
            }
        }
        assert!(a.permute(&[0, 1, 2]).shares_storage(&a));
    }

    #[test]
    fn transpose_swaps_axes() {
        let a = range(&[2, 3, 4]);
        let b = a.transpose(0, -1);
        assert_eq!(b.shape(), &[4, 3, 2]);
        assert_eq!(b.get(&[3, 1, 0]), a.get(&[0, 1, 3]));
    }

    #[test]
    #[should_panic(expected = "permute: axes [0, 0] are not a permutation of 0..2")]
    fn permute_rejects_repeats() {
        range(&[2, 3]).permute(&[0, 0]);
    }

    #[test]
    fn broadcast_to_repeats() {
        let col = t(&[1.0, 2.0], &[2, 1]);
        assert_eq!(
            col.broadcast_to(&[2, 2, 3]).to_vec(),
            vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        );
        assert_eq!(
            Tensor::scalar(5.0).broadcast_to(&[2]).to_vec(),
            vec![5.0, 5.0]
        );
        assert_eq!(col.broadcast_to(&[2, 0]).shape(), &[2, 0]);
    }

    #[test]
    #[should_panic(expected = "broadcast_to: shape [2, 3] cannot broadcast to [3]")]
    fn broadcast_to_cannot_drop_axes() {
        range(&[2, 3]).broadcast_to(&[3]);
    }

    #[test]
    fn narrow_then_pad_restores_the_window() {
        let a = range(&[2, 4, 3]);
        let n = a.narrow(1, 1, 2);
        assert_eq!(n.shape(), &[2, 2, 3]);
        assert_eq!(n.get(&[1, 0, 2]), a.get(&[1, 1, 2]));
        let p = n.pad(1, 1, 1);
        assert_eq!(p.shape(), &[2, 4, 3]);
        for i in 0..2 {
            for j in 0..4 {
                for k in 0..3 {
                    let expected = if (1..3).contains(&j) {
                        a.get(&[i, j, k])
                    } else {
                        0.0
                    };
                    assert_eq!(p.get(&[i, j, k]), expected);
                }
            }
        }
        assert_eq!(a.narrow(-1, 3, 0).shape(), &[2, 4, 0]);
    }

    #[test]
    #[should_panic(expected = "narrow: range 2..5 is out of bounds for axis 0 of shape [4]")]
    fn narrow_out_of_bounds_panics() {
        range(&[4]).narrow(0, 2, 3);
    }

    #[test]
    fn concat_along_each_axis() {
        let a = range(&[2, 2]);
        let b = t(&[9.0, 9.0], &[1, 2]);
        assert_eq!(
            Tensor::concat(&[&a, &b], 0).to_vec(),
            vec![0.0, 1.0, 2.0, 3.0, 9.0, 9.0]
        );
        let c = t(&[7.0, 8.0], &[2, 1]);
        let joined = Tensor::concat(&[&a, &c], -1);
        assert_eq!(joined.shape(), &[2, 3]);
        assert_eq!(joined.to_vec(), vec![0.0, 1.0, 7.0, 2.0, 3.0, 8.0]);
    }

    #[test]
    #[should_panic(expected = "concat: shapes [2, 2] and [1, 2] differ outside axis 1")]
    fn concat_mismatch_panics() {
        Tensor::concat(&[&range(&[2, 2]), &range(&[1, 2])], 1);
    }

    #[test]
    fn stack_inserts_an_axis() {
        let a = t(&[1.0, 2.0, 3.0], &[3]);
        let b = t(&[4.0, 5.0, 6.0], &[3]);
        let s0 = Tensor::stack(&[&a, &b], 0);
        assert_eq!(s0.shape(), &[2, 3]);
        assert_eq!(s0.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let s1 = Tensor::stack(&[&a, &b], 1);
        assert_eq!(s1.shape(), &[3, 2]);
        assert_eq!(s1.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(Tensor::stack(&[&a, &b], -1), s1);
    }

    #[test]
    fn index_select_and_index_add() {
        let a = range(&[2, 3]);
        let s = a.index_select(1, &[2, 0, 2, 1]);
        assert_eq!(s.shape(), &[2, 4]);
        assert_eq!(s.to_vec(), vec![2.0, 0.0, 2.0, 1.0, 5.0, 3.0, 5.0, 4.0]);
        let g = Tensor::<f64>::ones(&[2, 4]);
        let back = g.index_add(1, &[2, 0, 2, 1], 3);
        assert_eq!(back.to_vec(), vec![1.0, 1.0, 2.0, 1.0, 1.0, 2.0]);
        let rows = a.index_select(0, &[1, 1]);
        assert_eq!(rows.to_vec(), vec![3.0, 4.0, 5.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    #[should_panic(expected = "index_select: index 3 is out of range for axis 1 of length 3")]
    fn index_select_out_of_range_panics() {
        range(&[2, 3]).index_select(1, &[3]);
    }

    #[test]
    fn gather_and_scatter_add() {
        let a = range(&[2, 3]);
        // Along axis 1: two picks per row.
        let g = a.gather(1, &[2, 2, 0, 1], 2);
        assert_eq!(g.shape(), &[2, 2]);
        assert_eq!(g.to_vec(), vec![2.0, 2.0, 3.0, 4.0]);
        let back = Tensor::<f64>::ones(&[2, 2]).scatter_add(1, &[2, 2, 0, 1], 3);
        assert_eq!(back.to_vec(), vec![0.0, 0.0, 2.0, 1.0, 1.0, 0.0]);
        // Along axis 0: one pick per column.
        let g0 = a.gather(0, &[1, 0, 1], 1);
        assert_eq!(g0.to_vec(), vec![3.0, 1.0, 5.0]);
        let back0 = t(&[1.0, 2.0, 3.0], &[1, 3]).scatter_add(0, &[1, 0, 1], 2);
        assert_eq!(back0.to_vec(), vec![0.0, 2.0, 0.0, 1.0, 0.0, 3.0]);
    }

    #[test]
    #[should_panic(expected = "gather: index 7 is out of range for axis 1 of length 3")]
    fn gather_out_of_range_panics() {
        range(&[2, 3]).gather(1, &[0, 7], 1);
    }

    #[test]
    #[should_panic(expected = "scatter_add: index 2 is out of range for axis 0 of length 2")]
    fn scatter_add_out_of_range_panics() {
        range(&[2]).scatter_add(0, &[0, 2], 2);
    }

    #[test]
    fn squeeze_and_unsqueeze() {
        let a = range(&[2, 3]);
        assert_eq!(a.unsqueeze(1).shape(), &[2, 1, 3]);
        assert_eq!(a.unsqueeze(2).shape(), &[2, 3, 1]);
        assert_eq!(a.unsqueeze(-1).squeeze(-1).shape(), &[2, 3]);
        assert_eq!(Tensor::scalar(1.0).unsqueeze(0).shape(), &[1]);
    }

    #[test]
    #[should_panic(expected = "squeeze: axis 0 of shape [2, 3] has length 2, not 1")]
    fn squeeze_non_unit_axis_panics() {
        range(&[2, 3]).squeeze(0);
    }
}
