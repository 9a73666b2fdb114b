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

    /// `self·other + bias`, the bias (shape `[n]`, one number per column of the product)
    /// added to every row — a dense layer's `Z = XW + B` as one node, whose kernel adds the
    /// bias while it writes the product instead of in a pass of its own. Shapes of `self` and
    /// `other` as for [`Var::matmul`]. Derivatives as for the product, and `∂L/∂B = Σ G` over
    /// the rows. PyTorch: `torch.addmm(bias, a, b)`, or `a @ b + bias`.
    ///
    /// The value equals `self.matmul(other) + bias`, except that for an inner length longer
    /// than the kernel's blocks (hundreds) the bias joins the sum before its last block, which
    /// can change the last bit.
    ///
    /// # Panics
    /// As for [`Var::matmul`], and when the bias is not `[n]`; the messages name the shapes.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
    /// let w = g.param(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]));
    /// let b = g.param(Tensor::from_vec(vec![10.0, 20.0], &[2]));
    /// let z = x.matmul_bias(w, b);
    /// assert_eq!(z.value().to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
    /// assert_eq!(z.sum().backward()[b].to_vec(), vec![2.0, 2.0]); // one per row
    /// ```
    #[track_caller]
    pub fn matmul_bias(self, other: Var<'g, T>, bias: Var<'g, T>) -> Self {
        let op = MatmulOp {
            bias: true,
            ..MatmulOp::default()
        };
        self.record_op(Op::Matmul(op), &[other, bias])
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
            bias: false,
        };
        self.record_op(Op::Matmul(op), &[other])
    }
}
