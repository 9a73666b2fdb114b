//! Matrix multiplication: `[m,k]·[k,n]`, batched `[b,m,k]·[b,k,n]`, and `[b,m,k]·[k,n]` with
//! the 2-D right operand shared by the whole batch — the material's vectorised `Z = XW`.
//!
//! The op carries two flags that transpose the last two axes of either operand without copying
//! (the kernel reads them with swapped strides). With them the rules stay closed: the gradient
//! of a product is again a product of the same kind. For C = A·B:
//! ∂L/∂A = G·Bᵀ and ∂L/∂B = Aᵀ·G.

use smallvec::smallvec;

use super::InputGrads;
use crate::backward::BackwardOps;
use crate::graph::Op;
use crate::{Float, Tensor, Var};

/// `op(A)·op(B)` where `op` transposes the last two axes when its flag is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatmulOp {
    /// Use Aᵀ (last two axes swapped) in place of A.
    pub transpose_a: bool,
    /// Use Bᵀ in place of B.
    pub transpose_b: bool,
}

impl MatmulOp {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        "matmul"
    }

    /// The local derivatives.
    pub fn formula(&self) -> &'static str {
        match (self.transpose_a, self.transpose_b) {
            (false, false) => "C = A·B: ∂L/∂A = G·Bᵀ, ∂L/∂B = Aᵀ·G",
            (false, true) => "C = A·Bᵀ: ∂L/∂A = G·B, ∂L/∂B = Gᵀ·A",
            (true, false) => "C = Aᵀ·B: ∂L/∂A = B·Gᵀ, ∂L/∂B = A·G",
            (true, true) => "C = Aᵀ·Bᵀ: ∂L/∂A = Bᵀ·Gᵀ, ∂L/∂B = Gᵀ·Aᵀ",
        }
    }

    /// (∂L/∂A, ∂L/∂B) from ∂L/∂C = `g`.
    pub(crate) fn backward<T: Float, V: BackwardOps<T>>(
        &self,
        a: &V,
        b: &V,
        g: V,
        wants: &[bool],
    ) -> InputGrads<V> {
        let b_shape = b.shape();
        // A batched A against a shared 2-D B: products with B on the left would be 2-D·3-D,
        // so ∂L/∂A is computed transposed, (X)ᵀ = (Xᵀ) with the factors swapped.
        let swap_last2 = |v: V| {
            let mut axes: smallvec::SmallVec<[usize; 4]> = (0..v.shape().len()).collect();
            let r = axes.len();
            axes.swap(r - 2, r - 1);
            v.permute(&axes)
        };
        let ga = wants[0].then(|| match (self.transpose_a, self.transpose_b) {
            (false, false) => g.matmul_t(b, false, true),
            (false, true) => g.matmul_t(b, false, false),
            (true, false) => swap_last2(g.matmul_t(b, false, true)),
            (true, true) => swap_last2(g.matmul_t(b, false, false)),
        });
        let gb = wants[1].then(|| {
            let gb = match (self.transpose_a, self.transpose_b) {
                (false, false) => a.matmul_t(&g, true, false),
                (false, true) => g.matmul_t(a, true, false),
                (true, false) => a.matmul_t(&g, false, false),
                (true, true) => g.matmul_t(a, true, true),
            };
            gb.sum_to(&b_shape)
        });
        smallvec![ga, gb]
    }
}

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
        self.same_graph(other, "matmul");
        let value: Tensor<T> = {
            let nodes = self.graph().nodes();
            nodes[self.id()]
                .value
                .matmul_t(&nodes[other.id()].value, transpose_a, transpose_b)
        };
        let op = MatmulOp {
            transpose_a,
            transpose_b,
        };
        self.graph()
            .record(value, Op::Matmul(op), smallvec![self.id(), other.id()])
    }
}
