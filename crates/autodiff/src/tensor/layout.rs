//! Layout helpers that every kernel family shares: the shape two operands broadcast to and the
//! strides that read a tensor as if broadcast ([`broadcast_shapes`], [`broadcast_strides`],
//! [`contiguous_strides`]), axis normalisation and splitting ([`normalize_axis`],
//! [`split_at_axis`]), the row-at-a-time strided walk ([`StridedRows`]), and the two small
//! element folds more than one family needs ([`accumulate`], [`max_or_nan`]).
//!
//! They live apart from the kernels so that the kernel files (elementwise, reductions, shape
//! and indexing, nn, matmul) depend only on this module and never import each other.

use smallvec::smallvec;

use super::{shape_of, Shape};
use crate::Float;

/// The shape two shapes broadcast to under NumPy's rules, or `None` when they do not: align them
/// at the last axis, and let each pair of lengths be equal or have one side 1.
///
/// ```
/// use chainrule_autodiff::tensor::broadcast_shapes;
/// assert_eq!(broadcast_shapes(&[2, 1], &[3]).unwrap().as_slice(), &[2, 3]);
/// assert_eq!(broadcast_shapes(&[2, 3], &[4]), None);
/// ```
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Shape> {
    let rank = a.len().max(b.len());
    let length = |shape: &[usize], i: usize| match (i + shape.len()).checked_sub(rank) {
        Some(j) => shape[j],
        None => 1,
    };
    (0..rank)
        .map(|i| match (length(a, i), length(b, i)) {
            (x, y) if x == y || y == 1 => Some(x),
            (1, y) => Some(y),
            _ => None,
        })
        .collect()
}

/// The row-major strides of a contiguous tensor of this shape.
pub(crate) fn contiguous_strides(shape: &[usize]) -> Shape {
    let mut strides: Shape = smallvec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// The strides that read a contiguous tensor of `shape` as if broadcast to `out` (which it must
/// broadcast to): one per axis of `out`, 0 on axes that `shape` lacks or has length 1.
pub(crate) fn broadcast_strides(shape: &[usize], out: &[usize]) -> Shape {
    let strides = contiguous_strides(shape);
    let lead = out.len() - shape.len();
    (0..out.len())
        .map(|i| match i.checked_sub(lead) {
            Some(j) if shape[j] != 1 => strides[j],
            _ => 0,
        })
        .collect()
}

/// Splits a shape around `axis` into `(outer, len, inner)`: the number of slices before the axis,
/// the axis' length, and the number of elements in one step along it. Element `(o, j, i)` of the
/// row-major data is at `(o * len + j) * inner + i`.
pub(crate) fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Resolves an axis that may count from the end (-1 is the last) against a rank.
///
/// # Panics
/// When the axis is outside `-rank..rank`; the message starts with `op`.
#[track_caller]
pub(crate) fn normalize_axis(axis: isize, rank: usize, op: &str) -> usize {
    let resolved = if axis < 0 {
        axis.checked_add_unsigned(rank)
    } else {
        Some(axis)
    };
    match resolved {
        Some(a) if a >= 0 && (a as usize) < rank => a as usize,
        _ => shape_panic!("{op}: axis {axis} is out of range for a tensor of rank {rank}"),
    }
}

/// Walks an n-d index space one row (a run along the last axis) at a time, yielding where the
/// row starts in each of `N` strided layouts of that space.
///
/// Kernels handle the row itself with a contiguous loop, so the index bookkeeping here costs
/// once per row rather than once per element. To make the rows as long as possible, axes that
/// every layout steps over as one — each stride equal to the next axis' stride times its length
/// — are merged first, and axes of length 1 dropped: a `[64, 32, 4, 4]` batch plus a
/// `[1, 32, 1, 1]` channel bias is 2,048 rows of 16, not 8,192 of 4. The rows still come in
/// row-major order of the space.
pub(crate) struct StridedRows<const N: usize> {
    /// Elements in each row: the last merged axis' length (1 for a 0-d space).
    pub(crate) len: usize,
    /// Each layout's stride along a row.
    pub(crate) step: [usize; N],
    /// The lengths of every axis but the last.
    outer: Shape,
    /// Each layout's strides on those axes.
    strides: [Shape; N],
    /// The position of the next row on those axes.
    index: Shape,
    /// Where the next row starts in each layout.
    offsets: [usize; N],
    rows_left: usize,
}

impl<const N: usize> StridedRows<N> {
    /// Rows of `shape`, read through `N` layouts, each given as one stride per axis of `shape`.
    pub(crate) fn new(shape: &[usize], strides: [&[usize]; N]) -> Self {
        let mut dims = Shape::new();
        let mut merged: [Shape; N] = std::array::from_fn(|_| Shape::new());
        for (axis, &len) in shape.iter().enumerate() {
            if len == 1 {
                continue;
            }
            let joins_previous = !dims.is_empty()
                && (0..N).all(|k| merged[k].last() == Some(&(strides[k][axis] * len)));
            if joins_previous {
                *dims.last_mut().expect("checked non-empty") *= len;
            }
            for (kept, layout) in merged.iter_mut().zip(&strides) {
                if joins_previous {
                    *kept.last_mut().expect("one stride per kept axis") = layout[axis];
                } else {
                    kept.push(layout[axis]);
                }
            }
            if !joins_previous {
                dims.push(len);
            }
        }
        let (len, outer) = match dims.split_last() {
            Some((&last, outer)) => (last, shape_of(outer)),
            None => (1, Shape::new()),
        };
        let rows = if len == 0 { 0 } else { outer.iter().product() };
        StridedRows {
            len,
            step: std::array::from_fn(|k| merged[k].last().copied().unwrap_or(0)),
            strides: std::array::from_fn(|k| shape_of(&merged[k][..outer.len()])),
            index: smallvec![0; outer.len()],
            offsets: [0; N],
            rows_left: rows,
            outer,
        }
    }
}

impl<const N: usize> Iterator for StridedRows<N> {
    type Item = [usize; N];

    fn next(&mut self) -> Option<[usize; N]> {
        if self.rows_left == 0 {
            return None;
        }
        self.rows_left -= 1;
        let row = self.offsets;
        // Advance like an odometer: bump the last outer axis, carrying into earlier ones.
        for axis in (0..self.outer.len()).rev() {
            self.index[axis] += 1;
            if self.index[axis] < self.outer[axis] {
                for (offset, strides) in self.offsets.iter_mut().zip(&self.strides) {
                    *offset += strides[axis];
                }
                break;
            }
            self.index[axis] = 0;
            for (offset, strides) in self.offsets.iter_mut().zip(&self.strides) {
                *offset -= strides[axis] * (self.outer[axis] - 1);
            }
        }
        Some(row)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rows_left, Some(self.rows_left))
    }
}

/// Copies `src` into `dst`, of the same length, as `copy_from_slice` does, but inline: the
/// convolution copies rows of a few elements tens of thousands of times a step, and a call to
/// the library's `memmove` cost more than the copy (4.6 against 1.7 ns for 4 `f32`).
#[inline]
pub(crate) fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    assert_eq!(dst.len(), src.len(), "copy_run: lengths differ");
    let mut dst_blocks = dst.chunks_exact_mut(4);
    let mut src_blocks = src.chunks_exact(4);
    for (d, s) in (&mut dst_blocks).zip(&mut src_blocks) {
        let block: [T; 4] = [s[0], s[1], s[2], s[3]];
        d.copy_from_slice(&block);
    }
    for (d, &s) in dst_blocks
        .into_remainder()
        .iter_mut()
        .zip(src_blocks.remainder())
    {
        *d = s;
    }
}

/// The sum of `xs`, in 32 running sums (element `i` goes to sum `i mod 32`) added pairwise at
/// the end, then the elements past the last whole 32; 8 running sums for fewer than 32
/// elements, one for fewer than 8.
///
/// Why not one running sum: each addition would wait for the one before (3–4 cycles), and the
/// loss of `matmul-1024`, the sum of a million elements, took ~1.5 ms that way — 2% of the
/// workload. Independent sums vectorise and overlap. Their rounding error also grows more
/// slowly with the length than one long chain's, as in PyTorch's and NumPy's cascaded sums.
/// Short sums need it too: a convolution's bias gradient sums every 4×4 output plane of
/// conv-digits' second layer, 2,048 sums of 16 per batch, and one chain each took 4% of the
/// workload's time.
pub(crate) fn sum_of<T: Float>(xs: &[T]) -> T {
    match xs.len() {
        0..8 => xs.iter().fold(T::zero(), |sum, &x| sum + x),
        8..32 => sum_in_lanes::<T, 8>(xs),
        _ => sum_in_lanes::<T, 32>(xs),
    }
}

/// [`sum_of`] in `LANES` running sums, a power of two.
#[inline]
fn sum_in_lanes<T: Float, const LANES: usize>(xs: &[T]) -> T {
    let mut chunks = xs.chunks_exact(LANES);
    let mut sums = [T::zero(); LANES];
    for chunk in &mut chunks {
        for (sum, &x) in sums.iter_mut().zip(chunk) {
            *sum += x;
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        let (low, high) = sums.split_at_mut(width);
        for (a, &b) in low.iter_mut().zip(&*high) {
            *a += b;
        }
    }
    chunks.remainder().iter().fold(sums[0], |sum, &x| sum + x)
}

/// Adds `src` into `dst` element by element.
pub(crate) fn accumulate<T: Float>(dst: &mut [T], src: &[T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// The larger of two values, NaN if either is NaN (so a NaN is never silently dropped).
pub(crate) fn max_or_nan<T: Float>(a: T, b: T) -> T {
    if b > a || b.is_nan() {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element is counted once, whatever the length's remainder by the 32 running sums
    /// (whole numbers, so any order of additions gives the exact total), and a long sum in f32
    /// strays from the exact one far less than a single running sum does.
    #[test]
    fn sum_of_counts_each_element_once() {
        for n in [
            0usize, 1, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 4097,
        ] {
            let xs: Vec<f32> = (1..=n).map(|i| i as f32).collect();
            assert_eq!(sum_of(&xs), (n * (n + 1) / 2) as f32, "1 + … + {n}");
        }
        let tenths = vec![0.1f32; 1 << 20];
        let exact = f64::from(0.1f32) * f64::from(1u32 << 20);
        let error = |sum: f32| (f64::from(sum) - exact).abs() / exact;
        let one_chain = error(tenths.iter().fold(0.0, |sum, &x| sum + x));
        let lanes = error(sum_of(&tenths));
        assert!(
            lanes < one_chain / 10.0 && lanes < 1e-3,
            "a million tenths: relative error {lanes}, one running sum {one_chain}"
        );
    }

    #[test]
    fn broadcast_shapes_follows_numpy() {
        let b = |x: &[usize], y: &[usize]| broadcast_shapes(x, y).map(|s| s.to_vec());
        assert_eq!(b(&[2, 1], &[3]), Some(vec![2, 3]));
        assert_eq!(b(&[], &[4, 5]), Some(vec![4, 5]));
        assert_eq!(b(&[5, 1, 3], &[4, 1]), Some(vec![5, 4, 3]));
        assert_eq!(b(&[1], &[0]), Some(vec![0]));
        assert_eq!(b(&[2, 3], &[3, 3]), None);
        assert_eq!(b(&[0], &[2]), None);
    }

    #[test]
    fn normalize_axis_counts_from_the_end() {
        assert_eq!(normalize_axis(-1, 3, "op"), 2);
        assert_eq!(normalize_axis(-3, 3, "op"), 0);
        assert_eq!(normalize_axis(1, 3, "op"), 1);
    }

    #[test]
    #[should_panic(expected = "op: axis 0 is out of range for a tensor of rank 0")]
    fn normalize_axis_rejects_any_axis_of_a_scalar() {
        normalize_axis(0, 0, "op");
    }

    #[test]
    fn strided_rows_visit_every_row_once() {
        let shape = [2, 3, 4];
        let strides = contiguous_strides(&shape);
        // A transposed view: no axes merge, so each row is one run along the last axis.
        let transposed = [1, 2, 6];
        let starts: Vec<usize> = StridedRows::new(&shape, [&transposed])
            .map(|[s]| s)
            .collect();
        assert_eq!(starts, vec![0, 2, 4, 1, 3, 5]);
        assert_eq!(StridedRows::new(&[], [&[]]).count(), 1);
        assert_eq!(StridedRows::new(&[3, 0], [&[0, 1]]).count(), 0);
        // A contiguous layout is one row of every element.
        let rows = StridedRows::new(&shape, [&strides]);
        assert_eq!((rows.len, rows.step), (24, [1]));
        assert_eq!(rows.map(|[s]| s).collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn strided_rows_merge_the_axes_every_layout_walks_as_one() {
        // A batch plus a per-channel bias: the two image axes merge, the channel axis cannot.
        let shape = [2, 3, 2, 2];
        let batch = contiguous_strides(&shape);
        let bias = [0, 1, 0, 0];
        let rows = StridedRows::new(&shape, [&batch, &bias]);
        assert_eq!((rows.len, rows.step), (4, [1, 0]));
        let starts: Vec<[usize; 2]> = rows.collect();
        let expected: Vec<[usize; 2]> = (0..6).map(|r| [4 * r, r % 3]).collect();
        assert_eq!(starts, expected);
        // Axes of length 1 drop out, wherever they are.
        let rows = StridedRows::new(&[1, 3, 1], [&[7, 1, 9]]);
        assert_eq!((rows.len, rows.step), (3, [1]));
        assert_eq!(rows.count(), 1);
        let single = StridedRows::new(&[1, 1], [&[5, 3]]);
        assert_eq!((single.len, single.step), (1, [0]));
        assert_eq!(single.collect::<Vec<_>>(), vec![[0]]);
    }
}
