//! Matrix multiplication: `[m,k]·[k,n]`, batched `[b,m,k]·[b,k,n]`, and `[b,m,k]·[k,n]` with
//! the 2-D right operand shared by the whole batch — the material's vectorised `Z = XW`.
//!
//! The op carries two flags that transpose the last two axes of either operand without copying
//! (the kernel reads them with swapped strides). With them the rules stay closed: the gradient
//! of a product is again a product of the same kind. For C = A·B:
//! ∂L/∂A = G·Bᵀ and ∂L/∂B = Aᵀ·G.

use smallvec::smallvec;

use super::vocabulary::{BackwardOps, Product};
use super::InputGrads;
use crate::Float;

/// `op(A)·op(B)` where `op` transposes the last two axes when its flag is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatmulOp {
    /// Use Aᵀ (last two axes swapped) in place of A.
    pub transpose_a: bool,
    /// Use Bᵀ in place of B.
    pub transpose_b: bool,
    /// A third input, the bias `b` of shape `[n]`, is added to every row of the product
    /// ([`Var::matmul_bias`](crate::Var::matmul_bias)).
    pub bias: bool,
}

impl MatmulOp {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        "matmul"
    }

    /// The local derivatives.
    pub fn formula(&self) -> &'static str {
        if self.bias {
            // Recorded only without transposes (`Var::matmul_bias`).
            return "C = A·B + b: ∂L/∂A = G·Bᵀ, ∂L/∂B = Aᵀ·G, ∂L/∂b = Σ G over the rows";
        }
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
        // A batched A against a shared 2-D B: products with B on the left would be 2-D·3-D,
        // so ∂L/∂A is computed transposed, (X)ᵀ = (Xᵀ) with the factors swapped.
        let swap_last2 = |v: V| {
            let mut axes: smallvec::SmallVec<[usize; 4]> = (0..v.shape().len()).collect();
            let r = axes.len();
            axes.swap(r - 2, r - 1);
            v.permute(&axes)
        };
        // ∂L/∂A = G·op(B)ᵀ, transposed back when A was used transposed.
        let product_a = Product {
            left: &g,
            right: b,
            transpose_left: false,
            transpose_right: !self.transpose_b,
        };
        // ∂L/∂B = op(A)ᵀ·G, or its transpose Gᵀ·op(A) when B was used transposed. For a shared
        // 2-D B this is one product per batch entry; the sweep sums them.
        let product_b = if self.transpose_b {
            Product {
                left: &g,
                right: a,
                transpose_left: true,
                transpose_right: self.transpose_a,
            }
        } else {
            Product {
                left: a,
                right: &g,
                transpose_left: !self.transpose_a,
                transpose_right: false,
            }
        };
        let (ga, gb) = match (wants[0], wants[1]) {
            (true, true) => {
                let (ga, gb) = V::matmul_t_pair(product_a, product_b);
                (Some(ga), Some(gb))
            }
            (want_a, want_b) => (
                want_a.then(|| product_a.compute()),
                want_b.then(|| product_b.compute()),
            ),
        };
        let ga = ga.map(|ga| if self.transpose_a { swap_last2(ga) } else { ga });
        smallvec![ga, gb]
    }
}
