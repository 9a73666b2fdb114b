//! The reductions on vars: sum, mean and max, over all elements or along one axis (rules in
//! `ops/reduce.rs`).

use crate::graph::Var;
use crate::ops::{Op, ReduceOp};
use crate::tensor::normalize_axis;
use crate::Float;

/// The reductions on vars.
impl<'g, T: Float> Var<'g, T> {
    #[track_caller]
    fn reduce(self, op: ReduceOp) -> Self {
        self.record_op(Op::Reduce(op), &[])
    }

    #[track_caller]
    fn axis(self, axis: isize, op: &str) -> usize {
        normalize_axis(axis, self.rank(), op)
    }

    /// The sum of all elements, as a 0-d var; each element's derivative is 1.
    /// PyTorch: `x.sum()`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]));
    /// let s = x.sum();
    /// assert_eq!(s.item(), 6.0);
    /// assert_eq!(s.backward()[x].to_vec(), vec![1.0; 3]);
    /// ```
    #[track_caller]
    pub fn sum(self) -> Self {
        self.reduce(ReduceOp::Sum {
            axis: None,
            keepdim: false,
        })
    }

    /// The sum along one axis (negative counts from the end); `keepdim` keeps it with length 1.
    /// PyTorch: `x.sum(dim, keepdim)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
    /// assert_eq!(x.sum_axis(-1, false).value().to_vec(), vec![3.0, 7.0]);
    /// assert_eq!(x.sum_axis(0, true).shape().as_slice(), &[1, 2]);
    /// ```
    #[track_caller]
    pub fn sum_axis(self, axis: isize, keepdim: bool) -> Self {
        let axis = Some(self.axis(axis, "sum_axis"));
        self.reduce(ReduceOp::Sum { axis, keepdim })
    }

    /// The mean of all elements, as a 0-d var; each element's derivative is `1/n`.
    /// PyTorch: `x.mean()`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, 3.0], &[2]));
    /// assert_eq!(x.mean().backward()[x].to_vec(), vec![0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn mean(self) -> Self {
        self.reduce(ReduceOp::Mean {
            axis: None,
            keepdim: false,
        })
    }

    /// The mean along one axis. PyTorch: `x.mean(dim, keepdim)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
    /// assert_eq!(x.mean_axis(0, false).value().to_vec(), vec![2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn mean_axis(self, axis: isize, keepdim: bool) -> Self {
        let axis = Some(self.axis(axis, "mean_axis"));
        self.reduce(ReduceOp::Mean { axis, keepdim })
    }

    /// The largest element, as a 0-d var. The gradient goes to the arg-max; elements tied for
    /// the maximum share it evenly. PyTorch: `x.amax()`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, 5.0, 5.0], &[3]));
    /// assert_eq!(x.max().backward()[x].to_vec(), vec![0.0, 0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn max(self) -> Self {
        self.reduce(ReduceOp::Max {
            axis: None,
            keepdim: false,
        })
    }

    /// The maximum along one axis, ties sharing the gradient evenly. PyTorch:
    /// `x.amax(dim, keepdim)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, 2.0, 4.0, 3.0], &[2, 2]));
    /// let m = x.max_axis(1, false);
    /// assert_eq!(m.value().to_vec(), vec![2.0, 4.0]);
    /// assert_eq!(m.sum().backward()[x].to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn max_axis(self, axis: isize, keepdim: bool) -> Self {
        let axis = Some(self.axis(axis, "max_axis"));
        self.reduce(ReduceOp::Max { axis, keepdim })
    }

    /// The position of the largest element along `axis` in each slice, from this var's value:
    /// see [`Tensor::argmax`](crate::Tensor::argmax). Indices have no gradient, so nothing is
    /// recorded on the graph (PyTorch returns an integer tensor that needs no grad).
    /// PyTorch: `torch.argmax(x, dim)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let logits = g.param(Tensor::from_vec(vec![0.1f64, 2.0, -1.0, 3.0, 0.0, 1.0], &[2, 3]));
    /// let classes = logits.argmax(1);
    /// assert_eq!(classes, vec![1, 0]);
    /// // The picked logits, differentiable through gather:
    /// let best = logits.gather(1, &classes, 1);
    /// assert_eq!(best.value().to_vec(), vec![2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn argmax(self, axis: isize) -> Vec<usize> {
        self.value().argmax(axis)
    }

    /// The position of the smallest element along `axis` in each slice, from this var's value:
    /// see [`Tensor::argmin`](crate::Tensor::argmin). Records nothing. PyTorch:
    /// `torch.argmin(x, dim)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let distances = g.input(Tensor::from_vec(vec![4.0f64, 0.5, 2.0], &[3]));
    /// assert_eq!(distances.argmin(0), vec![1]);
    /// ```
    #[track_caller]
    pub fn argmin(self, axis: isize) -> Vec<usize> {
        self.value().argmin(axis)
    }
}
