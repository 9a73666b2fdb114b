//! The shape and indexing ops on vars (rules in `ops/shape.rs`).

use std::sync::Arc;

use smallvec::SmallVec;

use crate::graph::Var;
use crate::ops::{Op, ShapeOp};
use crate::tensor::normalize_axis;
use crate::{Float, Shape};

/// The shape and indexing ops on vars.
impl<'g, T: Float> Var<'g, T> {
    #[track_caller]
    fn shape_op(self, op: ShapeOp) -> Self {
        self.record_op(Op::Shape(Box::new(op)), &[])
    }

    #[track_caller]
    fn shape_axis(self, axis: isize, op: &str) -> usize {
        normalize_axis(axis, self.rank(), op)
    }

    /// The same elements in a new shape (row-major order is kept). PyTorch: `x.reshape`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::<f64>::zeros(&[2, 3]));
    /// assert_eq!(x.reshape(&[3, 2]).shape().as_slice(), &[3, 2]);
    /// ```
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Self {
        self.shape_op(ShapeOp::Reshape(Shape::from_slice(shape)))
    }

    /// The axes from `start` on merged into one: `[N, C, H, W]` flattened from 1 is
    /// `[N, C·H·W]`, what a dense layer after a convolution takes. PyTorch: `x.flatten(start)`.
    ///
    /// # Panics
    /// When `start` is not an axis of the var.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::<f64>::zeros(&[2, 3, 4, 5]));
    /// assert_eq!(x.flatten(1).shape().as_slice(), &[2, 60]);
    /// ```
    #[track_caller]
    pub fn flatten(self, start: usize) -> Self {
        let shape = self.shape();
        shape_assert!(
            start < shape.len(),
            "flatten: axis {start} is not an axis of shape {shape:?}"
        );
        let mut flat: Vec<usize> = shape[..start].to_vec();
        flat.push(shape[start..].iter().product());
        self.reshape(&flat)
    }

    /// Reorders the axes: output axis `i` is input axis `axes[i]`. PyTorch: `x.permute`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::<f64>::zeros(&[2, 3, 4]));
    /// assert_eq!(x.permute(&[2, 0, 1]).shape().as_slice(), &[4, 2, 3]);
    /// ```
    #[track_caller]
    pub fn permute(self, axes: &[usize]) -> Self {
        self.shape_op(ShapeOp::Permute(SmallVec::from_slice(axes)))
    }

    /// Swaps two axes. PyTorch: `x.transpose(a, b)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    /// assert_eq!(x.transpose(0, 1).value().to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn transpose(self, a: isize, b: isize) -> Self {
        let rank = self.rank();
        let (a, b) = (
            normalize_axis(a, rank, "transpose"),
            normalize_axis(b, rank, "transpose"),
        );
        let mut axes: SmallVec<[usize; 4]> = (0..rank).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// Repeats the value to a larger shape by NumPy rules; the gradient is summed back.
    /// PyTorch: `x.expand` / `torch.broadcast_to`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let b = g.param(Tensor::from_vec(vec![1.0f64, 2.0], &[2]));
    /// let wide = b.broadcast_to(&[3, 2]);
    /// assert_eq!(wide.sum().backward()[b].to_vec(), vec![3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Self {
        self.shape_op(ShapeOp::BroadcastTo(Shape::from_slice(shape)))
    }

    /// Sums down to a shape that broadcasts to this one (the reverse of broadcasting).
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
    /// assert_eq!(x.sum_to(&[2]).value().to_vec(), vec![4.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn sum_to(self, shape: &[usize]) -> Self {
        self.shape_op(ShapeOp::SumTo(Shape::from_slice(shape)))
    }

    /// `len` entries along `axis` starting at `start`. PyTorch: `x.narrow(axis, start, len)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]));
    /// let y = x.narrow(0, 1, 2);
    /// assert_eq!(y.value().to_vec(), vec![2.0, 3.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![0.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn narrow(self, axis: isize, start: usize, len: usize) -> Self {
        let axis = self.shape_axis(axis, "narrow");
        self.shape_op(ShapeOp::Narrow { axis, start, len })
    }

    /// Zeros added before and after along `axis`. PyTorch: `torch.nn.functional.pad`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64], &[1]));
    /// assert_eq!(x.pad(0, 1, 2).value().to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn pad(self, axis: isize, before: usize, after: usize) -> Self {
        let axis = self.shape_axis(axis, "pad");
        self.shape_op(ShapeOp::Pad {
            axis,
            before,
            after,
        })
    }

    /// Removes an axis of length 1. PyTorch: `x.squeeze(axis)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::<f64>::zeros(&[3, 1]));
    /// assert_eq!(x.squeeze(1).shape().as_slice(), &[3]);
    /// ```
    #[track_caller]
    pub fn squeeze(self, axis: isize) -> Self {
        let value_shape = self.value().squeeze(axis).shape().to_vec();
        self.reshape(&value_shape)
    }

    /// Inserts an axis of length 1 at `axis` (which may equal the rank). PyTorch:
    /// `x.unsqueeze(axis)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::<f64>::zeros(&[3]));
    /// assert_eq!(x.unsqueeze(0).shape().as_slice(), &[1, 3]);
    /// ```
    #[track_caller]
    pub fn unsqueeze(self, axis: isize) -> Self {
        let value_shape = self.value().unsqueeze(axis).shape().to_vec();
        self.reshape(&value_shape)
    }

    /// Joins vars along an existing axis. PyTorch: `torch.cat`.
    ///
    /// # Panics
    /// When `parts` is empty, or the shapes differ off the axis.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor, Var};
    /// let g = Graph::new();
    /// let a = g.param(Tensor::from_vec(vec![1.0f64], &[1]));
    /// let b = g.param(Tensor::from_vec(vec![2.0, 3.0], &[2]));
    /// let c = Var::concat(&[a, b], 0);
    /// assert_eq!(c.value().to_vec(), vec![1.0, 2.0, 3.0]);
    /// assert_eq!(c.sum().backward()[b].to_vec(), vec![1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn concat(parts: &[Var<'g, T>], axis: isize) -> Self {
        let Some(&first) = parts.first() else {
            shape_panic!("concat: no tensors to join")
        };
        let axis = first.shape_axis(axis, "concat");
        Self::join(parts, ShapeOp::Concat { axis })
    }

    /// Joins vars of one shape along a new axis at `axis` (which may equal the rank).
    /// PyTorch: `torch.stack`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor, Var};
    /// let g = Graph::new();
    /// let a = g.param(Tensor::from_vec(vec![1.0f64, 2.0], &[2]));
    /// let b = g.param(Tensor::from_vec(vec![3.0, 4.0], &[2]));
    /// assert_eq!(Var::stack(&[a, b], 0).shape().as_slice(), &[2, 2]);
    /// ```
    #[track_caller]
    pub fn stack(parts: &[Var<'g, T>], axis: isize) -> Self {
        let Some(&first) = parts.first() else {
            shape_panic!("stack: no tensors to join")
        };
        let axis = normalize_axis(axis, first.rank() + 1, "stack");
        Self::join(parts, ShapeOp::Stack { axis })
    }

    #[track_caller]
    fn join(parts: &[Var<'g, T>], op: ShapeOp) -> Self {
        parts[0].record_op(Op::Shape(Box::new(op)), &parts[1..])
    }

    /// Slices along `axis` picked by index, repeats allowed — an embedding lookup is
    /// `table.index_select(0, &token_ids)`. PyTorch: `torch.index_select`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let table = g.param(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
    /// let rows = table.index_select(0, &[1, 1, 0]);
    /// assert_eq!(rows.value().to_vec(), vec![3.0, 4.0, 3.0, 4.0, 1.0, 2.0]);
    /// assert_eq!(rows.sum().backward()[table].to_vec(), vec![1.0, 1.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn index_select(self, axis: isize, indices: &[usize]) -> Self {
        let axis = self.shape_axis(axis, "index_select");
        let indices: Arc<[usize]> = indices.into();
        self.shape_op(ShapeOp::IndexSelect { axis, indices })
    }

    /// Adds slice `i` of this var into slice `indices[i]` of a zero tensor whose `axis` has
    /// length `size` (the adjoint of [`Var::index_select`]). PyTorch: `index_add` into zeros.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]));
    /// assert_eq!(x.index_add(0, &[0, 0, 1], 2).value().to_vec(), vec![3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn index_add(self, axis: isize, indices: &[usize], size: usize) -> Self {
        let axis = self.shape_axis(axis, "index_add");
        let indices: Arc<[usize]> = indices.into();
        self.shape_op(ShapeOp::IndexAdd {
            axis,
            indices,
            size,
        })
    }

    /// Picks one element along `axis` for each position of an index tensor shaped like the
    /// output (this var's shape with `len` along `axis`), given row-major. Picking each row's
    /// label logit from `[N, C]` logits is `logits.gather(1, &labels, 1)`.
    /// PyTorch: `torch.gather`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let logits = g.param(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
    /// let picked = logits.gather(1, &[1, 0], 1);
    /// assert_eq!(picked.value().to_vec(), vec![2.0, 3.0]);
    /// assert_eq!(picked.sum().backward()[logits].to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn gather(self, axis: isize, indices: &[usize], len: usize) -> Self {
        let axis = self.shape_axis(axis, "gather");
        let indices: Arc<[usize]> = indices.into();
        self.shape_op(ShapeOp::Gather { axis, indices, len })
    }

    /// Adds each element into a zero tensor (length `size` along `axis`) at its index along
    /// `axis` (the adjoint of [`Var::gather`]). PyTorch: `scatter_add` into zeros.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![5.0f64, 7.0], &[2, 1]));
    /// let y = x.scatter_add(1, &[1, 0], 2);
    /// assert_eq!(y.value().to_vec(), vec![0.0, 5.0, 7.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn scatter_add(self, axis: isize, indices: &[usize], size: usize) -> Self {
        let axis = self.shape_axis(axis, "scatter_add");
        let indices: Arc<[usize]> = indices.into();
        self.shape_op(ShapeOp::ScatterAdd {
            axis,
            indices,
            size,
        })
    }
}
