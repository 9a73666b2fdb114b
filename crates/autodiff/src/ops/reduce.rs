//! Reductions: sum, mean and max, over all elements or along one axis.
//!
//! Backward spreads the output gradient back over the elements that were reduced: every element
//! of a sum receives it whole, of a mean `1/n` of it, and of a max only the arg-max — split
//! evenly between elements that tie for the maximum (so the gradient still sums to the upstream
//! gradient, and is symmetric in tied inputs).

use super::vocabulary::BackwardOps;
use crate::{Float, Shape, Tensor};

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
