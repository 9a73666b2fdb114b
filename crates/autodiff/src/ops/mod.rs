//! The primitive ops: the [`Op`] a node records, and for each op its name, its derivative in
//! textbook form, its forward kernel call and its backward rule, side by side.
//!
//! See `README.md` in this folder for how the files are organised and how to add an op. This
//! folder knows nothing of graphs: it sits between the tensor kernels below and the graph, the
//! `Var` methods and the backward sweep above, which read [`Op`] and call the rules.

mod conv;
mod elementwise;
mod matmul;
mod nn;
mod reduce;
mod shape;
pub(crate) mod vocabulary;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

pub use conv::ConvOp;
pub use elementwise::{BinaryOp, UnaryOp};
pub use matmul::MatmulOp;
pub use nn::NnOp;
pub use reduce::ReduceOp;
pub use shape::ShapeOp;

pub(crate) use elementwise::{binary_ops, unary_ops};

use smallvec::{smallvec, SmallVec};

use crate::{Float, Tensor};
use vocabulary::BackwardOps;

/// The gradients a rule returns, one per input; `None` where the input wants none.
pub(crate) type InputGrads<V> = SmallVec<[Option<V>; 2]>;

/// What kind of leaf a node is: where a value enters the graph from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// A value that wants a gradient: a model's weight, or a micrograd-style scalar.
    Parameter,
    /// Data fed to the model; no gradient is computed for it.
    Input,
    /// A fixed value (including the result of `Var::detach`); never gets a gradient.
    Constant,
}

/// The primitive that produced a node. The graph is inspectable data: printing, tracing and
/// drawing all read this enum. Each family of ops lives in its own file in this folder, with its
/// forward and backward rules side by side.
#[derive(Clone, Debug)]
pub enum Op<T> {
    /// A leaf: the value came from outside the graph.
    Leaf(Leaf),
    /// An elementwise function of one input (`exp`, `tanh`, `x * 2.0`, …).
    Unary(UnaryOp<T>),
    /// An elementwise function of two broadcast inputs (`+`, `*`, `maximum`, …).
    Binary(BinaryOp),
    /// `where(mask, a, b)`: `a` where the mask is non-zero, else `b` (three broadcast inputs).
    Where,
    /// A sum, mean or max over all elements or one axis.
    Reduce(ReduceOp),
    /// A (batched) matrix product.
    Matmul(MatmulOp),
    /// A change of shape, or a selection of elements (reshape, narrow, index_select, …).
    Shape(Box<ShapeOp>),
    /// A numerically stable neural-network function (log_softmax, fused cross-entropy, …).
    Nn(NnOp),
    /// A convolution, its two adjoints, or a pooling (boxed: its options are large, and most
    /// nodes are not convolutions).
    Conv(Box<ConvOp>),
    /// A user-defined op (see `CustomOp`).
    Custom(CustomCall),
}

impl<T: Float> Op<T> {
    /// The op's name as its method is spelled (`"tanh"`, `"matmul"`, `"parameter"`), or a
    /// user-defined op's own name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Leaf(Leaf::Parameter) => "parameter",
            Op::Leaf(Leaf::Input) => "input",
            Op::Leaf(Leaf::Constant) => "constant",
            Op::Unary(op) => op.name(),
            Op::Binary(op) => op.name(),
            Op::Where => elementwise::select::NAME,
            Op::Reduce(op) => op.name(),
            Op::Matmul(op) => op.name(),
            Op::Shape(op) => op.name(),
            Op::Nn(op) => op.name(),
            Op::Conv(op) => op.name(),
            Op::Custom(op) => op.name(),
        }
    }

    /// The local derivative in textbook form (`tanh: ∂y/∂x = 1 − y²`), for traces and pictures.
    pub fn formula(&self) -> &'static str {
        match self {
            Op::Leaf(_) => "",
            Op::Unary(op) => op.formula(),
            Op::Binary(op) => op.formula(),
            Op::Where => elementwise::select::FORMULA,
            Op::Reduce(op) => op.formula(),
            Op::Matmul(op) => op.formula(),
            Op::Shape(op) => op.formula(),
            Op::Nn(op) => op.formula(),
            Op::Conv(op) => op.formula(),
            Op::Custom(op) => op.formula(),
        }
    }

    /// Whether the op's inputs may be broadcast to its output's shape, so that the gradient its
    /// rule gives an input may have to be summed back to the input's shape.
    #[inline]
    pub(crate) fn broadcasts(&self) -> bool {
        matches!(
            self,
            Op::Binary(_) | Op::Where | Op::Matmul(_) | Op::Custom(_)
        )
    }

    /// Whether dropping the op frees heap memory. The common ops hold only plain numbers (held
    /// so at compile time below); the boxed and shared ones, and the fused functions that may
    /// keep labels, are taken to own some.
    #[inline]
    pub(crate) fn owns_heap(&self) -> bool {
        const _: () = assert!(
            !std::mem::needs_drop::<Leaf>()
                && !std::mem::needs_drop::<UnaryOp<f64>>()
                && !std::mem::needs_drop::<BinaryOp>()
                && !std::mem::needs_drop::<ReduceOp>()
                && !std::mem::needs_drop::<MatmulOp>()
        );
        !matches!(
            self,
            Op::Leaf(_) | Op::Unary(_) | Op::Binary(_) | Op::Where | Op::Reduce(_) | Op::Matmul(_)
        )
    }

    /// The forward value from the input values.
    ///
    /// # Panics
    /// On a leaf, which has no inputs to compute from; on a user-defined op, whose forward
    /// `crate::custom` calls.
    #[track_caller]
    pub(crate) fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        match self {
            Op::Leaf(_) => panic!("a leaf's value comes from outside the graph"),
            Op::Unary(op) => op.forward(inputs[0]),
            Op::Binary(op) => op.forward(inputs[0], inputs[1]),
            Op::Where => elementwise::select::forward(inputs[0], inputs[1], inputs[2]),
            Op::Reduce(op) => op.forward(inputs[0]),
            Op::Matmul(op) => inputs[0].matmul_t_plus(
                inputs[1],
                op.transpose_a,
                op.transpose_b,
                op.bias.then(|| inputs[2]),
            ),
            Op::Shape(op) => op.forward(inputs),
            Op::Nn(op) => op.forward(inputs),
            Op::Conv(op) => op.forward(inputs),
            Op::Custom(op) => panic!("{}: a user-defined op runs through the graph", op.name()),
        }
    }
}

/// Applies the backward rule of a built-in `op`: from the gradient `grad` of its output, the
/// gradient of each input that wants one (`wants[i]`). A gradient may still have the output's
/// broadcast shape; the sweep sums it back to the input's shape. Leaves and user-defined ops
/// give nothing here: the sweep handles those.
pub(crate) fn backward<T: Float, V: BackwardOps<T>>(
    op: &Op<T>,
    inputs: &[&V],
    output: &V,
    grad: V,
    wants: &[bool],
) -> InputGrads<V> {
    match op {
        Op::Leaf(_) | Op::Custom(_) => SmallVec::new(),
        Op::Unary(op) => smallvec![Some(op.backward(inputs[0], output, grad))],
        Op::Binary(op) => {
            let (a, b) = op.backward(inputs[0], inputs[1], output, grad, [wants[0], wants[1]]);
            smallvec![a, b]
        }
        Op::Where => {
            let (a, b) = elementwise::select::backward(inputs[0], grad, [wants[1], wants[2]]);
            smallvec![None, a, b]
        }
        Op::Reduce(op) => smallvec![Some(op.backward(inputs[0], output, grad))],
        Op::Matmul(op) => {
            // A bias (the optional third input, added to every row) gets `G` itself, which
            // the sweep sums over the rows back to the bias's shape.
            let bias = op.bias.then(|| wants[2].then(|| grad.clone()));
            let mut grads = op.backward(inputs[0], inputs[1], grad, wants);
            grads.extend(bias);
            grads
        }
        Op::Shape(op) => op.backward(inputs, grad),
        Op::Nn(op) => op.backward(inputs, output, grad, wants),
        Op::Conv(op) => op.backward(inputs, grad, wants),
    }
}

/// A user-defined op as a node records it: the op itself, behind a reference count so that
/// recording it again costs no copy. Its name and formula show in traces and pictures like a
/// built-in op's; its rules are called by the backward sweep (see `CustomOp`).
#[derive(Clone)]
pub struct CustomCall {
    op: Arc<dyn RecordedCustomOp>,
}

/// What the tape needs of a user-defined op without knowing its element type: its name and
/// formula, and the op itself for the sweep to take back (`crate::custom` implements it).
pub(crate) trait RecordedCustomOp: Any + Send + Sync {
    fn name(&self) -> &'static str;
    fn formula(&self) -> &'static str;
    fn as_any(&self) -> &dyn Any;
}

impl CustomCall {
    pub(crate) fn new(op: Arc<dyn RecordedCustomOp>) -> Self {
        CustomCall { op }
    }

    /// The op's name.
    pub fn name(&self) -> &'static str {
        self.op.name()
    }

    /// The op's local derivative in textbook form, as the op states it.
    pub fn formula(&self) -> &'static str {
        self.op.formula()
    }

    /// The recorded op, for the sweep to take back as the type it recorded.
    pub(crate) fn op(&self) -> &dyn Any {
        self.op.as_any()
    }
}

impl fmt::Debug for CustomCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Custom({})", self.name())
    }
}
