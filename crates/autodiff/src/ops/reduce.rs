//! Reductions: sum, mean and max, over all elements or along one axis.
//!
//! Backward spreads the output gradient back over the elements that were reduced: every element
//! of a sum receives it whole, of a mean `1/n` of it, and of a max only the arg-max — split
//! evenly between elements that tie for the maximum (so the gradient still sums to the upstream
//! gradient, and is symmetric in tied inputs).

use crate::backward::BackwardOps;
use crate::tensor::normalize_axis;
use crate::{Float, Shape, Tensor, Var};

/// Which reduction, over which axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Σ over all elements (`axis: None`) or along one axis.
    Sum {
        /// The reduced axis, or `None` for all elements (giving a 0-d result).
        axis: Option<usize>,
        /// Whether the reduced axis stays in the shape with length 1.
        keepdim: bool,
    },
    /// The arithmetic mean.
    Mean {
        /// The reduced axis, or `None` for all elements.
        axis: Option<usize>,
        /// Whether the reduced axis stays with length 1.
        keepdim: bool,
    },
    /// The maximum.
    Max {
        /// The reduced axis, or `None` for all elements.
        axis: Option<usize>,
        /// Whether the reduced axis stays with length 1.
        keepdim: bool,
    },
}

impl ReduceOp {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        match self {
            ReduceOp::Sum { .. } => "sum",
            ReduceOp::Mean { .. } => "mean",
            ReduceOp::Max { .. } => "max",
        }
    }

    /// The local derivative.
    pub fn formula(&self) -> &'static str {
        match self {
            ReduceOp::Sum { .. } => "∂y/∂xᵢ = 1",
            ReduceOp::Mean { .. } => "∂y/∂xᵢ = 1/n",
            ReduceOp::Max { .. } => "∂y/∂xᵢ = 1/k for the k elements equal to the max, else 0",
        }
    }

    fn axis_and_keepdim(&self) -> (Option<usize>, bool) {
        match *self {
            ReduceOp::Sum { axis, keepdim }
            | ReduceOp::Mean { axis, keepdim }
            | ReduceOp::Max { axis, keepdim } => (axis, keepdim),
        }
    }

    #[track_caller]
    pub(crate) fn forward<T: Float>(&self, x: &Tensor<T>) -> Tensor<T> {
        let (axis, keepdim) = self.axis_and_keepdim();
        let reduced = match (self, axis) {
            (ReduceOp::Sum { .. }, None) => x.sum_all(),
            (ReduceOp::Mean { .. }, None) => x.mean_all(),
            (ReduceOp::Max { .. }, None) => x.max_all(),
            (ReduceOp::Sum { .. }, Some(a)) => return x.sum_axis(a as isize, keepdim),
            (ReduceOp::Mean { .. }, Some(a)) => return x.mean_axis(a as isize, keepdim),
            (ReduceOp::Max { .. }, Some(a)) => return x.max_axis(a as isize, keepdim),
        };
        if keepdim {
            reduced.reshape(&vec![1; x.rank()])
        } else {
            reduced
        }
    }

    /// ∂L/∂x from ∂L/∂y = `g`.
    pub(crate) fn backward<T: Float, V: BackwardOps<T>>(&self, x: &V, y: &V, g: V) -> V {
        let x_shape = x.shape();
        let (axis, _) = self.axis_and_keepdim();
        // The output's shape with the reduced axes kept at length 1, so it broadcasts over x.
        let kept: Shape = x_shape
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                if axis.is_none() || axis == Some(i) {
                    1
                } else {
                    n
                }
            })
            .collect();
        let g_kept = g.reshape(&kept);
        match self {
            ReduceOp::Sum { .. } => g_kept.broadcast_to(&x_shape),
            ReduceOp::Mean { .. } => {
                let n = match axis {
                    Some(a) => x_shape[a],
                    None => x_shape.iter().product(),
                };
                g_kept.broadcast_to(&x_shape) * (T::one() / T::of(n as f64))
            }
            ReduceOp::Max { .. } => {
                let is_max =
                    x.zip_constant(
                        &y.reshape(&kept),
                        |v, m| {
                            if v == m {
                                T::one()
                            } else {
                                T::zero()
                            }
                        },
                    );
                let ties = match axis {
                    Some(a) => is_max.sum_axis(a, true),
                    None => is_max.sum_all(),
                };
                g_kept * is_max / ties
            }
        }
    }
}

/// The reductions on vars.
impl<'g, T: Float> Var<'g, T> {
    #[track_caller]
    fn reduce(self, op: ReduceOp) -> Self {
        let value = op.forward(&self.graph().nodes()[self.id()].value);
        self.graph().record(
            value,
            crate::graph::Op::Reduce(op),
            smallvec::smallvec![self.id()],
        )
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
}
