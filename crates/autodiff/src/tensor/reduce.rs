//! Reductions: sums, means and maxima over the whole tensor or along one axis, and
//! [`Tensor::sum_to`], the reverse of broadcasting, which the backward pass of every broadcasting
//! op needs.

use super::layout::{
    accumulate, broadcast_shapes, broadcast_strides, max_or_nan, normalize_axis, split_at_axis,
    sum_of, StridedRows,
};
use super::{same_dims, shape_of, Shape, Tensor};
use crate::Float;

impl<T: Float> Tensor<T> {
    /// The sum of all elements, as a 0-d tensor.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.sum_all().item(), 10.0);
    /// ```
    pub fn sum_all(&self) -> Tensor<T> {
        Tensor::scalar(sum_of(self.as_slice()))
    }

    /// The mean of all elements, as a 0-d tensor (NaN for an empty tensor).
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.mean_all().item(), 2.5);
    /// ```
    pub fn mean_all(&self) -> Tensor<T> {
        let sum = sum_of(self.as_slice());
        Tensor::scalar(sum / T::of(self.numel() as f64))
    }

    /// The largest element, as a 0-d tensor (NaN if any element is NaN).
    ///
    /// # Panics
    /// When the tensor is empty.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 7.0, -3.0], &[3]);
    /// assert_eq!(t.max_all().item(), 7.0);
    /// ```
    #[track_caller]
    pub fn max_all(&self) -> Tensor<T> {
        shape_assert!(
            self.numel() > 0,
            "max_all: tensor of shape {:?} has no elements",
            self.shape()
        );
        let max = self
            .as_slice()
            .iter()
            .copied()
            .fold(T::neg_infinity(), max_or_nan);
        Tensor::scalar(max)
    }

    /// The sums along `axis`; `keepdim` keeps the axis with length 1, otherwise it is removed.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(t.sum_axis(0, false).to_vec(), vec![5.0, 7.0, 9.0]);
    /// assert_eq!(t.sum_axis(-1, true).shape(), &[2, 1]);
    /// ```
    #[track_caller]
    pub fn sum_axis(&self, axis: isize, keepdim: bool) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "sum_axis");
        self.fold_axis(ax, keepdim, T::zero(), |a, b| a + b)
    }

    /// The means along `axis` (NaN where the axis is empty); `keepdim` as for
    /// [`Tensor::sum_axis`].
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(t.mean_axis(1, false).to_vec(), vec![2.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn mean_axis(&self, axis: isize, keepdim: bool) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "mean_axis");
        let count = T::of(self.shape[ax] as f64);
        self.fold_axis(ax, keepdim, T::zero(), |a, b| a + b)
            .map_reusing(|s| s / count)
    }

    /// The maxima along `axis` (NaN where a slice holds a NaN); `keepdim` as for
    /// [`Tensor::sum_axis`].
    ///
    /// # Panics
    /// When the axis has length 0.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 9.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(t.max_axis(1, false).to_vec(), vec![9.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn max_axis(&self, axis: isize, keepdim: bool) -> Tensor<T> {
        let ax = normalize_axis(axis, self.rank(), "max_axis");
        shape_assert!(
            self.shape[ax] > 0,
            "max_axis: axis {axis} of shape {:?} is empty",
            self.shape()
        );
        self.fold_axis(ax, keepdim, T::neg_infinity(), max_or_nan)
    }

    /// The position of the largest element along `axis` in each slice, row-major over the shape
    /// with `axis` removed — the index list [`Tensor::gather`] and
    /// [`Var::gather`](crate::Var::gather) take, so `x.gather(axis, &x.argmax(axis), 1)` picks
    /// the maxima. Ties go to the first position; a NaN counts as the largest (the first NaN
    /// wins), as in PyTorch. Not differentiable: indices have no gradient.
    /// PyTorch: `torch.argmax(x, dim)`.
    ///
    /// # Panics
    /// When the axis is out of range or has length 0.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 9.0, 3.0, 7.0, 5.0, 7.0], &[2, 3]);
    /// assert_eq!(t.argmax(1), vec![1, 0]); // the first of the tied 7s
    /// assert_eq!(t.argmax(0), vec![1, 0, 1]);
    /// ```
    #[track_caller]
    pub fn argmax(&self, axis: isize) -> Vec<usize> {
        self.arg_extreme(axis, "argmax", |candidate, best| candidate > best)
    }

    /// The position of the smallest element along `axis` in each slice, laid out as
    /// [`Tensor::argmax`]'s; ties go to the first position, a NaN counts as the smallest.
    /// Not differentiable. PyTorch: `torch.argmin(x, dim)`.
    ///
    /// # Panics
    /// When the axis is out of range or has length 0.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 9.0, 3.0, 7.0, 5.0, 0.5], &[2, 3]);
    /// assert_eq!(t.argmin(-1), vec![0, 2]);
    /// ```
    #[track_caller]
    pub fn argmin(&self, axis: isize) -> Vec<usize> {
        self.arg_extreme(axis, "argmin", |candidate, best| candidate < best)
    }

    /// For each slice along `axis`, the first position that no later one `beats`; a NaN beats
    /// every number and no NaN after it.
    #[track_caller]
    fn arg_extreme(&self, axis: isize, op: &str, beats: impl Fn(T, T) -> bool) -> Vec<usize> {
        let ax = normalize_axis(axis, self.rank(), op);
        shape_assert!(
            self.shape[ax] > 0,
            "{op}: axis {axis} of shape {:?} is empty",
            self.shape()
        );
        let (outer, len, inner) = split_at_axis(self.shape(), ax);
        let data = self.as_slice();
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| data[(o * len + j) * inner + i];
                let mut best = 0;
                for j in 1..len {
                    let (candidate, current) = (at(j), at(best));
                    if !current.is_nan() && (candidate.is_nan() || beats(candidate, current)) {
                        best = j;
                    }
                }
                out.push(best);
            }
        }
        out
    }

    /// Sums `self` down to `shape`, the reverse of broadcasting `shape` up to `self`'s shape: sums
    /// over the leading axes `shape` lacks and over the axes where `shape` has length 1. The
    /// result has exactly `shape`; it shares storage when the shapes are already equal.
    ///
    /// # Panics
    /// When `shape` does not broadcast to `self`'s shape.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let grad = Tensor::<f64>::ones(&[2, 3]);
    /// assert_eq!(grad.sum_to(&[3]).to_vec(), vec![2.0, 2.0, 2.0]);
    /// assert_eq!(grad.sum_to(&[2, 1]).to_vec(), vec![3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Tensor<T> {
        if same_dims(self.shape(), shape) {
            return self.clone();
        }
        shape_assert!(
            broadcast_shapes(shape, self.shape()).as_deref() == Some(self.shape()),
            "sum_to: shape {:?} cannot be reduced to {:?}",
            self.shape(),
            shape
        );
        let mut out = vec![T::zero(); shape.iter().product()];
        // Walk `self` row by row; each row lands on one run of `out` (stride 1) or is summed into
        // one element of it (stride 0, where `shape` has length 1 on the last axis).
        let strides = broadcast_strides(shape, self.shape());
        let rows = StridedRows::new(self.shape(), [&strides]);
        let (len, [step]) = (rows.len, rows.step);
        let data = self.as_slice();
        for (row, [dst]) in rows.enumerate() {
            let src = &data[row * len..(row + 1) * len];
            if step == 0 {
                out[dst] += sum_of(src);
            } else {
                accumulate(&mut out[dst..dst + len], src);
            }
        }
        Tensor::from_parts(out, shape_of(shape))
    }

    /// Folds the slices along a normalized `axis` into one with `combine`, starting from `init`.
    pub(crate) fn fold_axis(
        &self,
        axis: usize,
        keepdim: bool,
        init: T,
        combine: impl Fn(T, T) -> T,
    ) -> Tensor<T> {
        let (outer, len, inner) = split_at_axis(self.shape(), axis);
        let data = self.as_slice();
        let mut out = vec![init; outer * inner];
        if inner == 1 {
            // Reducing the last axis: each output is one contiguous slice.
            for (o, slot) in out.iter_mut().enumerate() {
                *slot = data[o * len..(o + 1) * len]
                    .iter()
                    .fold(init, |acc, &v| combine(acc, v));
            }
        } else {
            // Otherwise fold whole rows of `inner` elements at a time, contiguous in both.
            for o in 0..outer {
                let acc = &mut out[o * inner..(o + 1) * inner];
                for j in 0..len {
                    let row = &data[(o * len + j) * inner..][..inner];
                    for (a, &v) in acc.iter_mut().zip(row) {
                        *a = combine(*a, v);
                    }
                }
            }
        }
        Tensor::from_parts(out, reduced_shape(self.shape(), axis, keepdim))
    }
}

/// `shape` with `axis` set to length 1 (`keepdim`) or removed.
pub(crate) fn reduced_shape(shape: &[usize], axis: usize, keepdim: bool) -> Shape {
    let mut out = shape_of(shape);
    if keepdim {
        out[axis] = 1;
    } else {
        out.remove(axis);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::arange(0.0, n as f64, 1.0).reshape(shape)
    }

    #[test]
    #[should_panic(expected = "sum_axis: axis -3 is out of range for a tensor of rank 2")]
    fn normalize_axis_rejects_out_of_range() {
        range(&[2, 3]).sum_axis(-3, false);
    }

    #[test]
    fn whole_tensor_reductions() {
        let t = range(&[2, 3]);
        assert_eq!(t.sum_all().shape(), &[] as &[usize]);
        assert_eq!(t.sum_all().item(), 15.0);
        assert_eq!(t.mean_all().item(), 2.5);
        assert_eq!(t.max_all().item(), 5.0);
        let neg = Tensor::from_vec(vec![-3.0, -1.0, -2.0], &[3]);
        assert_eq!(neg.max_all().item(), -1.0);
        assert!(Tensor::from_vec(vec![1.0, f64::NAN], &[2])
            .max_all()
            .item()
            .is_nan());
    }

    #[test]
    #[should_panic(expected = "max_all: tensor of shape [0] has no elements")]
    fn max_all_of_empty_panics() {
        Tensor::<f64>::zeros(&[0]).max_all();
    }

    #[test]
    fn reductions_along_each_axis() {
        // range [2, 3, 2]: element (i, j, k) = 6i + 2j + k.
        let t = range(&[2, 3, 2]);
        let s0 = t.sum_axis(0, false);
        assert_eq!(s0.shape(), &[3, 2]);
        assert_eq!(s0.to_vec(), vec![6.0, 8.0, 10.0, 12.0, 14.0, 16.0]);
        let s1 = t.sum_axis(1, true);
        assert_eq!(s1.shape(), &[2, 1, 2]);
        assert_eq!(s1.to_vec(), vec![6.0, 9.0, 24.0, 27.0]);
        let s2 = t.sum_axis(-1, false);
        assert_eq!(s2.shape(), &[2, 3]);
        assert_eq!(s2.to_vec(), vec![1.0, 5.0, 9.0, 13.0, 17.0, 21.0]);

        assert_eq!(t.mean_axis(1, false).to_vec(), vec![2.0, 3.0, 8.0, 9.0]);
        assert_eq!(t.mean_axis(0, true).shape(), &[1, 3, 2]);
        assert_eq!(
            t.mean_axis(0, true).to_vec(),
            vec![3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
        );

        let m = Tensor::from_vec(vec![1.0, 9.0, 3.0, 8.0, 5.0, 2.0], &[2, 3]);
        assert_eq!(m.max_axis(0, false).to_vec(), vec![8.0, 9.0, 3.0]);
        assert_eq!(m.max_axis(1, true).shape(), &[2, 1]);
        assert_eq!(m.max_axis(1, true).to_vec(), vec![9.0, 8.0]);
    }

    #[test]
    fn sum_of_an_empty_axis_is_zero() {
        let t = Tensor::<f64>::zeros(&[2, 0]);
        assert_eq!(t.sum_axis(1, false).to_vec(), vec![0.0, 0.0]);
        assert_eq!(t.sum_axis(0, false).shape(), &[0]);
    }

    #[test]
    #[should_panic(expected = "max_axis: axis 1 of shape [2, 0] is empty")]
    fn max_of_an_empty_axis_panics() {
        Tensor::<f64>::zeros(&[2, 0]).max_axis(1, false);
    }

    #[test]
    fn sum_to_reverses_broadcasting() {
        let t = range(&[2, 3]);
        assert_eq!(t.sum_to(&[3]).to_vec(), vec![3.0, 5.0, 7.0]);
        assert_eq!(t.sum_to(&[1, 3]).shape(), &[1, 3]);
        assert_eq!(t.sum_to(&[2, 1]).to_vec(), vec![3.0, 12.0]);
        assert_eq!(t.sum_to(&[]).item(), 15.0);
        assert_eq!(t.sum_to(&[1, 1]).to_vec(), vec![15.0]);
        assert!(t.sum_to(&[2, 3]).shares_storage(&t));

        // Mixed: drop a leading axis and collapse a middle one.
        let u = range(&[2, 3, 2]);
        let r = u.sum_to(&[1, 2]);
        assert_eq!(r.shape(), &[1, 2]);
        assert_eq!(r.to_vec(), vec![30.0, 36.0]);
        assert_eq!(u.sum_to(&[3, 1]).to_vec(), vec![14.0, 22.0, 30.0]);
    }

    #[test]
    #[should_panic(expected = "sum_to: shape [2, 3] cannot be reduced to [2]")]
    fn sum_to_rejects_incompatible_shape() {
        range(&[2, 3]).sum_to(&[2]);
    }
}
