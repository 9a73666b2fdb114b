//! Shape and indexing ops: they move or pick elements without doing arithmetic on them.
//!
//! Their backward rules come in adjoint pairs, each the other's transpose: reshape ↔ reshape,
//! permute ↔ the inverse permutation, broadcast_to ↔ sum_to, narrow ↔ pad, index_select ↔
//! index_add, gather ↔ scatter_add. Because each pair is closed, gradients of gradients work.

use std::sync::Arc;

use smallvec::{smallvec, SmallVec};

use super::vocabulary::BackwardOps;
use super::InputGrads;
use crate::{Float, Shape, Tensor};

/// A shape or indexing op and its fixed arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShapeOp {
    /// The same elements in a new shape.
    Reshape(Shape),
    /// Axes reordered: output axis `i` is input axis `axes[i]`.
    Permute(SmallVec<[usize; 4]>),
    /// Repeated along new leading axes and axes of length 1 (NumPy broadcasting).
    BroadcastTo(Shape),
    /// Summed down to a shape the input broadcasts from (the reverse of broadcasting).
    SumTo(Shape),
    /// `len` elements along `axis` starting at `start`.
    Narrow {
        /// The axis sliced.
        axis: usize,
        /// The first index kept.
        start: usize,
        /// How many indices are kept.
        len: usize,
    },
    /// Zeros added before and after along `axis`.
    Pad {
        /// The axis padded.
        axis: usize,
        /// Zeros before.
        before: usize,
        /// Zeros after.
        after: usize,
    },
    /// Inputs joined along an existing axis.
    Concat {
        /// The axis joined along.
        axis: usize,
    },
    /// Inputs joined along a new axis.
    Stack {
        /// The position of the new axis.
        axis: usize,
    },
    /// Slices along `axis` picked by index (repeats allowed): embeddings, batches.
    IndexSelect {
        /// The axis indexed.
        axis: usize,
        /// The picked indices.
        indices: Arc<[usize]>,
    },
    /// Slices added into a zero tensor at the given indices along `axis`.
    IndexAdd {
        /// The axis indexed.
        axis: usize,
        /// Where slice `i` of the input goes.
        indices: Arc<[usize]>,
        /// The output's length along `axis`.
        size: usize,
    },
    /// One element picked along `axis` per output position (`torch.gather`): the label's logit.
    Gather {
        /// The axis indexed.
        axis: usize,
        /// The index tensor, row-major, shaped like the output.
        indices: Arc<[usize]>,
        /// The output's length along `axis`.
        len: usize,
    },
    /// Each element added into a zero tensor at its index along `axis` (the adjoint of gather).
    ScatterAdd {
        /// The axis indexed.
        axis: usize,
        /// The index tensor, row-major, shaped like the input.
        indices: Arc<[usize]>,
        /// The output's length along `axis`.
        size: usize,
    },
}

impl ShapeOp {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        match self {
            ShapeOp::Reshape(_) => "reshape",
            ShapeOp::Permute(_) => "permute",
            ShapeOp::BroadcastTo(_) => "broadcast_to",
            ShapeOp::SumTo(_) => "sum_to",
            ShapeOp::Narrow { .. } => "narrow",
            ShapeOp::Pad { .. } => "pad",
            ShapeOp::Concat { .. } => "concat",
            ShapeOp::Stack { .. } => "stack",
            ShapeOp::IndexSelect { .. } => "index_select",
            ShapeOp::IndexAdd { .. } => "index_add",
            ShapeOp::Gather { .. } => "gather",
            ShapeOp::ScatterAdd { .. } => "scatter_add",
        }
    }

    /// How the gradient is routed back.
    pub fn formula(&self) -> &'static str {
        match self {
            ShapeOp::Reshape(_) => "∂L/∂x = reshape(G, shape of x)",
            ShapeOp::Permute(_) => "∂L/∂x = permute(G, inverse permutation)",
            ShapeOp::BroadcastTo(_) => "∂L/∂x = G summed over the broadcast axes",
            ShapeOp::SumTo(_) => "∂L/∂x = G broadcast back to the shape of x",
            ShapeOp::Narrow { .. } => "∂L/∂x = G padded with zeros outside the slice",
            ShapeOp::Pad { .. } => "∂L/∂x = G without the padding",
            ShapeOp::Concat { .. } => "∂L/∂xᵢ = the slice of G where xᵢ was placed",
            ShapeOp::Stack { .. } => "∂L/∂xᵢ = G at index i of the new axis",
            ShapeOp::IndexSelect { .. } => "∂L/∂x = G added back at the picked indices",
            ShapeOp::IndexAdd { .. } => "∂L/∂x = G picked at the indices",
            ShapeOp::Gather { .. } => "∂L/∂x = G scattered (added) back to the picked positions",
            ShapeOp::ScatterAdd { .. } => "∂L/∂x = G gathered from the scattered positions",
        }
    }

    #[track_caller]
    pub(crate) fn forward<T: Float>(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let x = inputs[0];
        match self {
            ShapeOp::Reshape(shape) => x.reshape(shape),
            ShapeOp::Permute(axes) => x.permute(axes),
            ShapeOp::BroadcastTo(shape) => x.broadcast_to(shape),
            ShapeOp::SumTo(shape) => x.sum_to(shape),
            ShapeOp::Narrow { axis, start, len } => x.narrow(*axis as isize, *start, *len),
            ShapeOp::Pad {
                axis,
                before,
                after,
            } => x.pad(*axis as isize, *before, *after),
            ShapeOp::Concat { axis } => Tensor::concat(inputs, *axis as isize),
            ShapeOp::Stack { axis } => Tensor::stack(inputs, *axis as isize),
            ShapeOp::IndexSelect { axis, indices } => x.index_select(*axis as isize, indices),
            ShapeOp::IndexAdd {
                axis,
                indices,
                size,
            } => x.index_add(*axis as isize, indices, *size),
            ShapeOp::Gather { axis, indices, len } => x.gather(*axis as isize, indices, *len),
            ShapeOp::ScatterAdd {
                axis,
                indices,
                size,
            } => x.scatter_add(*axis as isize, indices, *size),
        }
    }

    /// ∂L/∂xᵢ for each input from ∂L/∂y = `g`.
    pub(crate) fn backward<T: Float, V: BackwardOps<T>>(
        &self,
        inputs: &[&V],
        g: V,
    ) -> InputGrads<V> {
        let x = inputs[0];
        let one = |v: V| -> InputGrads<V> { smallvec![Some(v)] };
        match self {
            ShapeOp::Reshape(_) => one(g.reshape(&x.shape())),
            ShapeOp::Permute(axes) => {
                let mut inverse: SmallVec<[usize; 4]> = smallvec![0; axes.len()];
                for (i, &a) in axes.iter().enumerate() {
                    inverse[a] = i;
                }
                one(g.permute(&inverse))
            }
            ShapeOp::BroadcastTo(_) => one(g.sum_to(&x.shape())),
            ShapeOp::SumTo(_) => one(g.broadcast_to(&x.shape())),
            ShapeOp::Narrow { axis, start, len } => {
                let after = x.shape()[*axis] - start - len;
                one(g.pad(*axis, *start, after))
            }
            ShapeOp::Pad { axis, before, .. } => one(g.narrow(*axis, *before, x.shape()[*axis])),
            ShapeOp::Concat { axis } => {
                let mut offset = 0;
                inputs
                    .iter()
                    .map(|input| {
                        let len = input.shape()[*axis];
                        let part = g.narrow(*axis, offset, len);
                        offset += len;
                        Some(part)
                    })
                    .collect()
            }
            ShapeOp::Stack { axis } => inputs
                .iter()
                .enumerate()
                .map(|(i, input)| Some(g.narrow(*axis, i, 1).reshape(&input.shape())))
                .collect(),
            ShapeOp::IndexSelect { axis, indices } => {
                one(g.index_add(*axis, indices, x.shape()[*axis]))
            }
            ShapeOp::IndexAdd { axis, indices, .. } => one(g.index_select(*axis, indices)),
            ShapeOp::Gather { axis, indices, .. } => {
                one(g.scatter_add(*axis, indices, x.shape()[*axis]))
            }
            ShapeOp::ScatterAdd { axis, indices, .. } => {
                one(g.gather(*axis, indices, x.shape()[*axis]))
            }
        }
    }
}
