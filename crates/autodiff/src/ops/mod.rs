//! The primitive ops, one file per family, each op's forward and backward rule side by side.
//!
//! See `README.md` in this folder for how the files are organised and how to add an op.

mod elementwise;
mod matmul;
mod nn;
mod reduce;
mod shape;

pub use elementwise::{BinaryOp, UnaryOp};
pub use matmul::MatmulOp;
pub use nn::NnOp;
pub use reduce::ReduceOp;
pub use shape::ShapeOp;

pub(crate) use nn::lstm_cell_backward_composed;

use smallvec::{smallvec, SmallVec};

use crate::backward::BackwardOps;
use crate::graph::Op;
use crate::Float;

/// The gradients a rule returns, one per input; `None` where the input wants none.
pub(crate) type InputGrads<V> = SmallVec<[Option<V>; 2]>;

/// Applies the backward rule of `op`: from the gradient of its output, the gradient of each
/// input that wants one (`wants[i]`), already reduced to that input's shape.
pub(crate) fn backward<T: Float, V: BackwardOps<T>>(
    op: &Op<T>,
    inputs: &[&V],
    output: &V,
    grad: V,
    wants: &[bool],
) -> InputGrads<V> {
    match op {
        Op::Leaf(_) => SmallVec::new(),
        Op::Unary(op) => smallvec![Some(op.backward(inputs[0], output, grad))],
        Op::Binary(op) => {
            let (a, b) = op.backward(inputs[0], inputs[1], output, grad, [wants[0], wants[1]]);
            smallvec![a, b]
        }
        Op::Reduce(op) => smallvec![Some(op.backward(inputs[0], output, grad))],
        Op::Matmul(op) => op.backward(inputs[0], inputs[1], grad, wants),
        Op::Shape(op) => op.backward(inputs, grad),
        Op::Nn(op) => op.backward(inputs, output, grad, wants),
    }
}
