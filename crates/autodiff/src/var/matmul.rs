//! The matrix product on vars (rules in `ops/matmul.rs`).

use crate::graph::Var;
use crate::ops::{MatmulOp, Op};
use crate::Float;

impl<'g, T: Float> Var<'g, T> {
    /// The matrix product: `[m,k]·[k,n] → [m,n]`, `[b,m,k]·[b,k,n] → [b,m,n]`, or
    /// `[b,m,k]·[k,n] → [b,m,n]`. Derivatives `∂L/∂A = G·Bᵀ`, `∂L/∂B = Aᵀ·G`.
    /// PyTorch: `torch.matmul`.
    ///
    /// # Panics
    /// When the shapes do not fit; the message names both shapes and the caller's line.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0], &[1, 2]));
    /// let w = g.param(Tensor::from_vec(vec![3.0, 4.0], &[2, 1]));
    /// let y = x.matmul(w);
    /// assert_eq!(y.item(), 11.0);
    /// assert_eq!(y.backward()[w].to_vec(), vec![1.0, 2.0]); // Xᵀ·1
    /// ```
    #[track_caller]
    pub fn matmul(self, other: Var<'g, T>) -> Self {
        self.matmul_t(other, false, false)
    }

    /// `op(self)·op(other)` where each flag transposes the last two axes of its operand without
    /// copying. PyTorch: `a.mT @ b` and the like.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let a = g.input(Tensor::from_vec(vec![1.0f64, 2.0], &[2, 1]));
    /// assert_eq!(a.matmul_t(a, true, false).item(), 5.0); // aᵀa
    /// ```
    #[track_caller]
    pub fn matmul_t(self, other: Var<'g, T>, transpose_a: bool, transpose_b: bool) -> Self {
        let op = MatmulOp {
            transpose_a,
            transpose_b,
        };
        self.record_op(Op::Matmul(op), &[other])
    }
}
