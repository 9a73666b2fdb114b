//! `Var`: a `Copy` handle to one node of a [`Graph`], with the arithmetic operators.
//!
//! The op methods (`tanh`, `matmul`, `softmax`, …) are defined next to their backward rules in
//! the files under `ops/`; this file holds the handle itself and the `+ - * /` operators, which
//! make formulas on vars read like the formulas of the material.

use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

use smallvec::smallvec;

use crate::graph::{Leaf, Op};
use crate::ops::{BinaryOp, UnaryOp};
use crate::tensor::shape_of;
use crate::{Float, Graph, Shape, Tensor};

/// A value in a [`Graph`]: a cheap `Copy` handle (the graph and a node id).
///
/// Arithmetic on vars records new nodes:
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// let g = Graph::new();
/// let w = g.param(Tensor::from_vec(vec![0.5, -1.0], &[2]));
/// let x = g.input(Tensor::from_vec(vec![2.0, 3.0], &[2]));
/// let y = (w * x + 1.0).tanh().sum();
/// let grads = y.backward();
/// assert_eq!(grads[w].shape(), &[2]);
/// ```
#[derive(Clone, Copy)]
pub struct Var<'g, T> {
    graph: &'g Graph<T>,
    id: usize,
}

impl<'g, T: Float> Var<'g, T> {
    pub(crate) fn new(graph: &'g Graph<T>, id: usize) -> Self {
        Var { graph, id }
    }

    /// The graph this var belongs to.
    pub fn graph(&self) -> &'g Graph<T> {
        self.graph
    }

    /// The node's position in its graph's tape.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The forward value (a cheap clone: the storage is shared).
    pub fn value(&self) -> Tensor<T> {
        self.graph.nodes()[self.id].value.clone()
    }

    /// The shape of the forward value.
    pub fn shape(&self) -> Shape {
        shape_of(self.graph.nodes()[self.id].value.shape())
    }

    /// The number of axes of the forward value.
    pub fn rank(&self) -> usize {
        self.graph.nodes()[self.id].value.rank()
    }

    /// The value of a one-element var.
    ///
    /// # Panics
    /// When the value has more than one element.
    #[track_caller]
    pub fn item(&self) -> T {
        self.graph.nodes()[self.id].value.item()
    }

    /// The op that produced this node.
    pub fn op(&self) -> Op<T> {
        self.graph.nodes()[self.id].op.clone()
    }

    /// Whether a parameter lies upstream of this var, so backward will reach through it.
    pub fn requires_grad(&self) -> bool {
        self.graph.nodes()[self.id].requires_grad
    }

    /// Gives this node a name for display (traces, graph pictures) and returns the var, so a
    /// leaf can be named where it is made. The name lives in a side table of the graph; naming
    /// again replaces it.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let w = g.scalar(-1.0f64).named("w");
    /// assert_eq!(w.label().as_deref(), Some("w"));
    /// ```
    pub fn named(self, name: impl Into<String>) -> Self {
        self.graph.set_label(self.id, name.into());
        self
    }

    /// The name given with [`Var::named`], if any.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(1.0f64);
    /// assert_eq!(x.label(), None);
    /// ```
    pub fn label(&self) -> Option<String> {
        self.graph.label(self.id)
    }

    /// The name this node goes by in traces and pictures: its label, or `n` and its id.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(1.0f64).named("x");
    /// let y = x.exp();
    /// assert_eq!((x.display_name(), y.display_name()), ("x".to_string(), "n1".to_string()));
    /// ```
    pub fn display_name(&self) -> String {
        self.graph.display_name(self.id)
    }

    /// The same value as a constant: gradients stop here, as with PyTorch's `detach`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(3.0f64);
    /// let y = x * x.detach(); // d/dx treats the second factor as the number 3
    /// assert_eq!(y.backward()[x].item(), 3.0);
    /// ```
    pub fn detach(self) -> Var<'g, T> {
        self.graph.constant(self.value())
    }

    /// Records an elementwise op of this var.
    #[track_caller]
    pub(crate) fn unary(self, op: UnaryOp<T>) -> Var<'g, T> {
        let value = op.forward(&self.graph.nodes()[self.id].value);
        self.graph.record(value, Op::Unary(op), smallvec![self.id])
    }

    /// Records an elementwise op of two broadcast vars.
    #[track_caller]
    pub(crate) fn binary(self, other: Var<'g, T>, op: BinaryOp) -> Var<'g, T> {
        self.same_graph(other, op.name());
        let value = {
            let nodes = self.graph.nodes();
            op.forward(&nodes[self.id].value, &nodes[other.id].value)
        };
        self.graph
            .record(value, Op::Binary(op), smallvec![self.id, other.id])
    }

    /// Panics unless both vars live in the same graph.
    #[track_caller]
    pub(crate) fn same_graph(self, other: Var<'g, T>, op: &str) {
        shape_assert!(
            std::ptr::eq(self.graph, other.graph),
            "{op}: the two vars belong to different graphs",
        );
    }

    /// Whether this node is a leaf of the given kind.
    pub fn is_leaf(&self, kind: Leaf) -> bool {
        matches!(self.graph.nodes()[self.id].op, Op::Leaf(k) if k == kind)
    }
}

impl<T: Float> fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes = self.graph.nodes();
        let node = &nodes[self.id];
        write!(f, "Var#{} {} = {:?}", self.id, node.op.name(), node.value)
    }
}

impl<T: Float> fmt::Display for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.graph.nodes()[self.id].value)
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
        self.unary(UnaryOp::Neg)
    }
}

impl<'g, T: Float> Add<T> for Var<'g, T> {
    type Output = Var<'g, T>;
    fn add(self, rhs: T) -> Var<'g, T> {
        self.unary(UnaryOp::AddScalar(rhs))
    }
}

impl<'g, T: Float> Sub<T> for Var<'g, T> {
    type Output = Var<'g, T>;
    fn sub(self, rhs: T) -> Var<'g, T> {
        self.unary(UnaryOp::AddScalar(-rhs))
    }
}

impl<'g, T: Float> Mul<T> for Var<'g, T> {
    type Output = Var<'g, T>;
    fn mul(self, rhs: T) -> Var<'g, T> {
        self.unary(UnaryOp::MulScalar(rhs))
    }
}

impl<'g, T: Float> Div<T> for Var<'g, T> {
    type Output = Var<'g, T>;
    fn div(self, rhs: T) -> Var<'g, T> {
        self.unary(UnaryOp::MulScalar(T::one() / rhs))
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
