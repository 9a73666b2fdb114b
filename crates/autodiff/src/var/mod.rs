//! The op methods of [`Var`]: what records each primitive on the graph, and the `+ − · /`
//! operators, which make formulas on vars read like the formulas of the material.
//!
//! The elementwise methods are made from the op tables in `ops/elementwise.rs`, so that an
//! elementwise op is one entry there; the other families' methods are in one file each here,
//! beside the rule files of `ops/`. Recording a node is always the same: compute the value with
//! the op's forward kernel, append the node.
//!
//! Vars also speak the rules' vocabulary (`ops::vocabulary`): run on vars, a backward rule
//! records the gradient on the graph, so it can be differentiated again.

mod conv;
mod elementwise;
mod matmul;
mod nn;
mod reduce;
mod shape;

use std::ops::{Add, Div, Mul, Neg, Sub};

use smallvec::SmallVec;

use crate::graph::{Forward, Node, Var};
use crate::ops::vocabulary::{BackwardOps, ElementwiseOps};
use crate::ops::{BinaryOp, ConvOp, Op, UnaryOp};
use crate::tensor::same_dims;
use crate::{Conv2dOptions, Float, Pool2dOptions, Shape, Tensor};

impl<'g, T: Float> Var<'g, T> {
    /// Records `op` applied to `self` and `others`: its value from the op's forward kernel.
    #[track_caller]
    pub(crate) fn record_op(self, op: Op<T>, others: &[Var<'g, T>]) -> Var<'g, T> {
        let inputs = self.input_ids(op.name(), others);
        let value = {
            let nodes = self.graph().nodes();
            let values: SmallVec<[&Tensor<T>; 4]> =
                inputs.iter().map(|&i| &nodes[i].value).collect();
            // Called directly, not through a closure, so that a shape panic names the caller.
            op.forward(&values)
        };
        self.graph().record(value, op, inputs)
    }

    /// Records `op` applied to `self` and `others`, its value computed by `forward` from the
    /// input values (a user-defined op's own kernel).
    #[track_caller]
    pub(crate) fn record_with(
        self,
        op: Op<T>,
        others: &[Var<'g, T>],
        forward: impl FnOnce(&[&Tensor<T>]) -> Tensor<T>,
    ) -> Var<'g, T> {
        let inputs = self.input_ids(op.name(), others);
        let value = {
            let nodes = self.graph().nodes();
            let values: SmallVec<[&Tensor<T>; 4]> =
                inputs.iter().map(|&i| &nodes[i].value).collect();
            forward(&values)
        };
        self.graph().record(value, op, inputs)
    }

    /// The node ids of `self` and `others`, after checking that they share one graph.
    #[track_caller]
    fn input_ids(self, op: &str, others: &[Var<'g, T>]) -> SmallVec<[usize; 2]> {
        let mut inputs: SmallVec<[usize; 2]> = SmallVec::new();
        inputs.push(self.id());
        for &other in others {
            self.same_graph(other, op);
            inputs.push(other.id());
        }
        inputs
    }

    /// Applies a unary op chosen at run time (by name, say, with [`UnaryOp::by_name`]): the
    /// same node as the op's own method records.
    ///
    /// ```
    /// use chainrule_autodiff::{ops::UnaryOp, Graph};
    /// let g = Graph::new();
    /// let x = g.scalar(0.5f64);
    /// let op = UnaryOp::by_name("tanh", &[]).unwrap();
    /// assert_eq!(x.apply_unary(op).item(), x.tanh().item());
    /// ```
    #[track_caller]
    pub fn apply_unary(self, op: UnaryOp<T>) -> Var<'g, T> {
        self.unary(op)
    }

    /// Records an elementwise op of this var.
    #[track_caller]
    pub(crate) fn unary(self, op: UnaryOp<T>) -> Var<'g, T> {
        let inputs = SmallVec::from_buf_and_len([self.id(), 0], 1);
        let forward = UnaryForward { op, x: self.id() };
        self.graph().record_computed(Op::Unary(op), inputs, forward)
    }

    /// Records an elementwise op of two broadcast vars.
    #[track_caller]
    pub(crate) fn binary(self, other: Var<'g, T>, op: BinaryOp) -> Var<'g, T> {
        self.same_graph(other, op.name());
        let inputs = SmallVec::from_buf([self.id(), other.id()]);
        let forward = BinaryForward {
            op,
            a: self.id(),
            b: other.id(),
        };
        self.graph()
            .record_computed(Op::Binary(op), inputs, forward)
    }
}

/// A unary op's value, computed where the graph records it
/// (see [`crate::graph::Graph::record_computed`]).
struct UnaryForward<T> {
    op: UnaryOp<T>,
    x: usize,
}

impl<T: Float> Forward<T> for UnaryForward<T> {
    #[inline(always)]
    fn wants_gradient(&self, recorded: &[Node<T>], _: &[usize]) -> bool {
        recorded[self.x].requires_grad
    }

    #[inline(always)]
    fn in_arena(&self, recorded: &[Node<T>]) -> bool {
        recorded[self.x].value.one_element().is_none()
    }

    #[track_caller]
    #[inline(always)]
    fn compute(self, recorded: &[Node<T>]) -> Tensor<T> {
        self.op.forward(&recorded[self.x].value)
    }
}

/// A binary op's value, computed where the graph records it
/// (see [`crate::graph::Graph::record_computed`]).
struct BinaryForward {
    op: BinaryOp,
    a: usize,
    b: usize,
}

impl<T: Float> Forward<T> for BinaryForward {
    #[inline(always)]
    fn wants_gradient(&self, recorded: &[Node<T>], _: &[usize]) -> bool {
        recorded[self.a].requires_grad || recorded[self.b].requires_grad
    }

    #[inline(always)]
    fn in_arena(&self, recorded: &[Node<T>]) -> bool {
        recorded[self.a].value.one_element().is_none()
            || recorded[self.b].value.one_element().is_none()
    }

    #[track_caller]
    #[inline(always)]
    fn compute(self, recorded: &[Node<T>]) -> Tensor<T> {
        self.op
            .forward(&recorded[self.a].value, &recorded[self.b].value)
    }
}

impl<'g, T: Float> ElementwiseOps<T> for Var<'g, T> {
    fn shape(&self) -> Shape {
        Var::shape(self)
    }
    fn same_shape(&self, other: &Self) -> bool {
        let nodes = self.graph().nodes();
        same_dims(
            nodes[self.id()].value.shape(),
            nodes[other.id()].value.shape(),
        )
    }
    fn exp(&self) -> Self {
        Var::exp(*self)
    }
    fn ln(&self) -> Self {
        Var::ln(*self)
    }
    fn tanh(&self) -> Self {
        Var::tanh(*self)
    }
    fn sigmoid(&self) -> Self {
        Var::sigmoid(*self)
    }
    fn sin(&self) -> Self {
        Var::sin(*self)
    }
    fn cos(&self) -> Self {
        Var::cos(*self)
    }
    fn powf(&self, exponent: T) -> Self {
        Var::powf(*self, exponent)
    }
    fn pow(&self, exponent: &Self) -> Self {
        Var::pow(*self, *exponent)
    }
    fn sum_to(&self, shape: &[usize]) -> Self {
        Var::sum_to(*self, shape)
    }
    fn map_constant(&self, f: impl Fn(T) -> T) -> Self {
        self.graph().constant(self.value().map(f))
    }
    fn mul_piecewise(self, x: &Self, derivative: impl Fn(T) -> T) -> Self {
        // The mask is a constant of the graph, so the backward of this backward is exact: it
        // is again the gradient times the same mask.
        self * x.map_constant(derivative)
    }
    fn zip_constant(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        let value = self.value().zip_map(&other.value(), "backward", f);
        self.graph().constant(value)
    }
    fn times(self, other: &Self) -> Self {
        self * *other
    }
    fn over(self, other: &Self) -> Self {
        self / *other
    }
}

impl<'g, T: Float> BackwardOps<T> for Var<'g, T> {
    fn sum_all(&self) -> Self {
        Var::sum(*self)
    }
    fn sum_axis(&self, axis: usize, keepdim: bool) -> Self {
        Var::sum_axis(*self, axis as isize, keepdim)
    }
    fn broadcast_to(&self, shape: &[usize]) -> Self {
        Var::broadcast_to(*self, shape)
    }
    fn reshape(&self, shape: &[usize]) -> Self {
        Var::reshape(*self, shape)
    }
    fn permute(&self, axes: &[usize]) -> Self {
        Var::permute(*self, axes)
    }
    fn matmul_t(&self, other: &Self, transpose_a: bool, transpose_b: bool) -> Self {
        Var::matmul_t(*self, *other, transpose_a, transpose_b)
    }
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        Var::narrow(*self, axis as isize, start, len)
    }
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self {
        Var::pad(*self, axis as isize, before, after)
    }
    fn index_select(&self, axis: usize, indices: &[usize]) -> Self {
        Var::index_select(*self, axis as isize, indices)
    }
    fn index_add(&self, axis: usize, indices: &[usize], size: usize) -> Self {
        Var::index_add(*self, axis as isize, indices, size)
    }
    fn gather(&self, axis: usize, indices: &[usize], len: usize) -> Self {
        Var::gather(*self, axis as isize, indices, len)
    }
    fn scatter_add(&self, axis: usize, indices: &[usize], size: usize) -> Self {
        Var::scatter_add(*self, axis as isize, indices, size)
    }
    fn softmax(&self, axis: usize) -> Self {
        Var::softmax(*self, axis as isize)
    }
    fn conv2d(&self, weight: &Self, options: Conv2dOptions) -> Self {
        self.conv2d_op(*weight, None, options)
    }
    fn conv_transpose2d(&self, weight: &Self, options: Conv2dOptions, size: [usize; 2]) -> Self {
        self.conv(ConvOp::ConvTranspose2d { options, size }, *weight)
    }
    fn conv2d_weight(&self, grad: &Self, options: Conv2dOptions, kernel: [usize; 2]) -> Self {
        Var::conv2d_weight(*self, *grad, options, kernel)
    }
    fn avg_pool2d(&self, options: Pool2dOptions) -> Self {
        Var::avg_pool2d(*self, options)
    }
    fn avg_pool2d_backward(&self, options: Pool2dOptions, size: [usize; 2]) -> Self {
        self.pool(ConvOp::AvgPool2dBackward { options, size })
    }
    fn constant(&self, value: Tensor<T>) -> Self {
        self.graph().constant(value)
    }
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl<'g, T: Float> $trait for Var<'g, T> {
            type Output = Var<'g, T>;
            #[track_caller]
            fn $method(self, rhs: Var<'g, T>) -> Var<'g, T> {
                self.binary(rhs, $op)
            }
        }
    };
}

binary_operator!(Add, add, BinaryOp::Add);
binary_operator!(Sub, sub, BinaryOp::Sub);
binary_operator!(Mul, mul, BinaryOp::Mul);
binary_operator!(Div, div, BinaryOp::Div);

impl<'g, T: Float> Neg for Var<'g, T> {
    type Output = Var<'g, T>;
    fn neg(self) -> Var<'g, T> {
        Var::neg(self)
    }
}

impl<'g, T: Float> Add<T> for Var<'g, T> {
    type Output = Var<'g, T>;
    fn add(self, rhs: T) -> Var<'g, T> {
        self.add_scalar(rhs)
    }
}

impl<'g, T: Float> Sub<T> for Var<'g, T> {
    type Output = Var<'g, T>;
    fn sub(self, rhs: T) -> Var<'g, T> {
        self.add_scalar(-rhs)
    }
}

impl<'g, T: Float> Mul<T> for Var<'g, T> {
    type Output = Var<'g, T>;
    fn mul(self, rhs: T) -> Var<'g, T> {
        self.mul_scalar(rhs)
    }
}

impl<'g, T: Float> Div<T> for Var<'g, T> {
    type Output = Var<'g, T>;
    fn div(self, rhs: T) -> Var<'g, T> {
        self.mul_scalar(T::one() / rhs)
    }
}

/// `number op var`, for the two float types (a generic impl is not allowed on a foreign type).
macro_rules! scalar_on_the_left {
    ($($t:ty),*) => {$(
        impl<'g> Add<Var<'g, $t>> for $t {
            type Output = Var<'g, $t>;
            fn add(self, rhs: Var<'g, $t>) -> Var<'g, $t> {
                rhs + self
            }
        }
        impl<'g> Sub<Var<'g, $t>> for $t {
            type Output = Var<'g, $t>;
            fn sub(self, rhs: Var<'g, $t>) -> Var<'g, $t> {
                -rhs + self
            }
        }
        impl<'g> Mul<Var<'g, $t>> for $t {
            type Output = Var<'g, $t>;
            fn mul(self, rhs: Var<'g, $t>) -> Var<'g, $t> {
                rhs * self
            }
        }
        impl<'g> Div<Var<'g, $t>> for $t {
            type Output = Var<'g, $t>;
            fn div(self, rhs: Var<'g, $t>) -> Var<'g, $t> {
                rhs.powf(-1.0) * self
            }
        }
    )*};
}

scalar_on_the_left!(f32, f64);
