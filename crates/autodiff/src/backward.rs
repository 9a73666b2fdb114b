//! The one generic backward pass, and the operations every backward rule is written against.
//!
//! Each op's backward rule (in `ops/`) is written once, generic over `BackwardOps`, which both
//! [`Tensor`] and [`Var`] implement:
//!
//! - run on tensors, the rules compute gradients directly: the fast first-order backward, which
//!   records nothing;
//! - run on vars, the rules record the gradient computation as new nodes of the same graph, so
//!   a gradient is itself a var that can be differentiated again (Hessian-vector products,
//!   gradient penalties).
//!
//! The sweep: seed ∂L/∂L = 1, walk the tape backwards, skip nodes no gradient reached, apply each
//! node's rule, and sum the contributions of a node used more than once. Nodes that lead to no
//! parameter are never visited: their rules are not run. The traced backward
//! ([`Var::backward_traced`]) runs this same sweep with an observer that records each step.
//!
//! An elementwise node whose value, inputs and incoming gradient are single numbers — every
//! node of a micrograd-style graph of 0-d vars — takes a shortcut: its rule, the same generic
//! code, runs on the plain numbers (`f64: ElementwiseOps`) and no tensor is built. This is what
//! makes a graph of scalars cheap; `tests/scalar_path.rs` holds it to the tensor path exactly.

use std::fmt;
use std::ops::{Add, Div, Index, Mul, Neg, Sub};

use smallvec::SmallVec;

use crate::graph::{Leaf, Node, Op};
use crate::spare::SpareBuffer;
use crate::tensor::shape_of;
use crate::{ops, Float, Graph, Shape, Tensor, Var};

/// The operations the elementwise rules (`ops/elementwise.rs`) use. Besides [`Tensor`] and
/// [`Var`], plain numbers implement them, so the sweep applies the very same rules directly to
/// the numbers of a graph of scalars — no tensor is built for a node with one element.
pub(crate) trait ElementwiseOps<T: Float>:
    Clone
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<T, Output = Self>
    + Mul<T, Output = Self>
{
    fn shape(&self) -> Shape;
    fn ln(&self) -> Self;
    fn powf(&self, exponent: T) -> Self;
    fn pow(&self, exponent: &Self) -> Self;
    fn sum_to(&self, shape: &[usize]) -> Self;
    /// An elementwise function of the value whose result is a constant (no gradient flows
    /// through it): the masks and signs of piecewise rules such as relu's.
    fn map_constant(&self, f: impl Fn(T) -> T) -> Self;
    /// A broadcasting function of two values whose result is a constant, like
    /// [`ElementwiseOps::map_constant`].
    fn zip_constant(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self;
}

/// The operations every backward rule may use; implemented by [`Tensor`] (compute now) and
/// [`Var`] (record on the graph). Axes are already normalised to `0..rank`.
pub(crate) trait BackwardOps<T: Float>: ElementwiseOps<T> {
    fn exp(&self) -> Self;
    fn sigmoid(&self) -> Self;
    fn sum_all(&self) -> Self;
    fn sum_axis(&self, axis: usize, keepdim: bool) -> Self;
    fn broadcast_to(&self, shape: &[usize]) -> Self;
    fn reshape(&self, shape: &[usize]) -> Self;
    fn permute(&self, axes: &[usize]) -> Self;
    fn matmul_t(&self, other: &Self, transpose_a: bool, transpose_b: bool) -> Self;
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self;
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self;
    fn index_select(&self, axis: usize, indices: &[usize]) -> Self;
    fn index_add(&self, axis: usize, indices: &[usize], size: usize) -> Self;
    fn gather(&self, axis: usize, indices: &[usize], len: usize) -> Self;
    fn scatter_add(&self, axis: usize, indices: &[usize], size: usize) -> Self;
    fn softmax(&self, axis: usize) -> Self;
    /// The fused LSTM cell's backward from its output blocks `self` and their gradient `g`:
    /// `(∂z, ∂c_prev)`. Vars record the composed rule; tensors run it in one pass.
    fn lstm_cell_backward(&self, g: &Self) -> (Self, Self) {
        ops::lstm_cell_backward_composed(self, g)
    }
    /// A constant in the same place as `self` (the same graph, for a var).
    fn constant(&self, value: Tensor<T>) -> Self;
}

/// A single number: the value of a 0-d (or one-element) node, for the sweep's scalar path.
impl<T: Float> ElementwiseOps<T> for T {
    fn shape(&self) -> Shape {
        Shape::new()
    }
    fn ln(&self) -> Self {
        num_traits::Float::ln(*self)
    }
    fn powf(&self, exponent: T) -> Self {
        num_traits::Float::powf(*self, exponent)
    }
    fn pow(&self, exponent: &Self) -> Self {
        num_traits::Float::powf(*self, *exponent)
    }
    fn sum_to(&self, _one_element: &[usize]) -> Self {
        *self
    }
    fn map_constant(&self, f: impl Fn(T) -> T) -> Self {
        f(*self)
    }
    fn zip_constant(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        f(*self, *other)
    }
}

impl<T: Float> ElementwiseOps<T> for Tensor<T> {
    fn shape(&self) -> Shape {
        shape_of(Tensor::shape(self))
    }
    fn ln(&self) -> Self {
        Tensor::ln(self)
    }
    fn powf(&self, exponent: T) -> Self {
        Tensor::powf(self, exponent)
    }
    fn pow(&self, exponent: &Self) -> Self {
        Tensor::pow(self, exponent)
    }
    fn sum_to(&self, shape: &[usize]) -> Self {
        Tensor::sum_to(self, shape)
    }
    fn map_constant(&self, f: impl Fn(T) -> T) -> Self {
        self.map(f)
    }
    fn zip_constant(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        self.zip_map(other, "backward", f)
    }
}

impl<T: Float> BackwardOps<T> for Tensor<T> {
    fn exp(&self) -> Self {
        Tensor::exp(self)
    }
    fn sigmoid(&self) -> Self {
        Tensor::sigmoid(self)
    }
    fn sum_all(&self) -> Self {
        Tensor::sum_all(self)
    }
    fn sum_axis(&self, axis: usize, keepdim: bool) -> Self {
        Tensor::sum_axis(self, axis as isize, keepdim)
    }
    fn broadcast_to(&self, shape: &[usize]) -> Self {
        Tensor::broadcast_to(self, shape)
    }
    fn reshape(&self, shape: &[usize]) -> Self {
        Tensor::reshape(self, shape)
    }
    fn permute(&self, axes: &[usize]) -> Self {
        Tensor::permute(self, axes)
    }
    fn matmul_t(&self, other: &Self, transpose_a: bool, transpose_b: bool) -> Self {
        Tensor::matmul_t(self, other, transpose_a, transpose_b)
    }
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        Tensor::narrow(self, axis as isize, start, len)
    }
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self {
        Tensor::pad(self, axis as isize, before, after)
    }
    fn index_select(&self, axis: usize, indices: &[usize]) -> Self {
        Tensor::index_select(self, axis as isize, indices)
    }
    fn index_add(&self, axis: usize, indices: &[usize], size: usize) -> Self {
        Tensor::index_add(self, axis as isize, indices, size)
    }
    fn gather(&self, axis: usize, indices: &[usize], len: usize) -> Self {
        Tensor::gather(self, axis as isize, indices, len)
    }
    fn scatter_add(&self, axis: usize, indices: &[usize], size: usize) -> Self {
        Tensor::scatter_add(self, axis as isize, indices, size)
    }
    fn softmax(&self, axis: usize) -> Self {
        Tensor::softmax(self, axis as isize)
    }
    fn lstm_cell_backward(&self, g: &Self) -> (Self, Self) {
        Tensor::lstm_cell_backward(self, g)
    }
    fn constant(&self, value: Tensor<T>) -> Self {
        value
    }
}

impl<'g, T: Float> ElementwiseOps<T> for Var<'g, T> {
    fn shape(&self) -> Shape {
        Var::shape(self)
    }
    fn ln(&self) -> Self {
        Var::ln(*self)
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
    fn zip_constant(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        let value = self.value().zip_map(&other.value(), "backward", f);
        self.graph().constant(value)
    }
}

impl<'g, T: Float> BackwardOps<T> for Var<'g, T> {
    fn exp(&self) -> Self {
        Var::exp(*self)
    }
    fn sigmoid(&self) -> Self {
        Var::sigmoid(*self)
    }
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
    fn constant(&self, value: Tensor<T>) -> Self {
        self.graph().constant(value)
    }
}

/// Options for [`Var::backward_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackwardOptions {
    /// Keep the gradient of every node that wants one, not only of the parameters — for
    /// inspecting intermediate values (traces, graph pictures). Costs memory.
    pub retain_all: bool,
}

/// The gradients of one backward pass, looked up by the var they belong to.
///
/// Every parameter of the graph has an entry (zeros when the loss does not depend on it);
/// with [`BackwardOptions::retain_all`], every node that wants a gradient has one.
///
/// ```
/// use chainrule_autodiff::Graph;
/// let g = Graph::new();
/// let a = g.scalar(2.0);
/// let b = g.scalar(-3.0);
/// let grads = (a * b + a).backward();
/// assert_eq!(grads[a].item(), -2.0);
/// assert_eq!(grads.wrt(b).item(), 2.0);
/// ```
#[derive(Clone)]
pub struct Gradients<T> {
    graph: u64,
    grads: Vec<Option<Tensor<T>>>,
}

impl<T: Float> Gradients<T> {
    /// The gradient of the loss with respect to `var`.
    ///
    /// # Panics
    /// When `var` has no gradient here: an input or constant, an intermediate node without
    /// [`BackwardOptions::retain_all`], or a var of another graph.
    #[track_caller]
    pub fn wrt(&self, var: Var<'_, T>) -> &Tensor<T> {
        match self.get(var) {
            Some(g) => g,
            None => shape_panic!(
                "Gradients: node {} ({}) has no gradient: only parameters get one unless \
                 backward_with(retain_all) is used, and inputs and constants never do",
                var.id(),
                var.op().name()
            ),
        }
    }

    /// The gradient with respect to `var`, or `None` when there is none (see [`Gradients::wrt`]).
    #[track_caller]
    pub fn get(&self, var: Var<'_, T>) -> Option<&Tensor<T>> {
        shape_assert!(
            var.graph().id() == self.graph,
            "Gradients: var {} belongs to another graph than these gradients",
            var.id()
        );
        self.grads.get(var.id()).and_then(Option::as_ref)
    }

    /// The gradient held for the node with this id, if any.
    pub fn by_id(&self, id: usize) -> Option<&Tensor<T>> {
        self.grads.get(id).and_then(Option::as_ref)
    }

    /// The [`Graph::id`] of the graph these gradients were computed on.
    pub fn graph_id(&self) -> u64 {
        self.graph
    }
}

thread_local! {
    /// The gradient table of the last [`Gradients`] dropped on this thread, for the next
    /// backward pass (see `crate::spare`): one slot per node, megabytes for a large graph.
    static SPARE_GRADIENTS: SpareBuffer = const { SpareBuffer::new() };
}

impl<T> Drop for Gradients<T> {
    fn drop(&mut self) {
        SpareBuffer::keep(&SPARE_GRADIENTS, std::mem::take(&mut self.grads));
    }
}

/// Lists the nodes that hold a gradient, by node id.
fn debug_present<G: fmt::Debug>(grads: &[Option<G>], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let present = grads
        .iter()
        .enumerate()
        .filter_map(|(id, g)| g.as_ref().map(|g| (id, g)));
    f.debug_map().entries(present).finish()
}

impl<T: Float> fmt::Debug for Gradients<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_present(&self.grads, f)
    }
}

impl<T: Float> fmt::Debug for VarGradients<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_present(&self.grads, f)
    }
}

impl<'g, T: Float> Index<Var<'g, T>> for Gradients<T> {
    type Output = Tensor<T>;
    #[track_caller]
    fn index(&self, var: Var<'g, T>) -> &Tensor<T> {
        self.wrt(var)
    }
}

/// Gradients recorded on the graph by [`Var::backward_create_graph`]: each is a var that can be
/// differentiated again.
///
/// ```
/// use chainrule_autodiff::Graph;
/// let g = Graph::new();
/// let x = g.scalar(2.0f64);
/// let dy = (x * x * x).backward_create_graph().wrt(x); // 3x² = 12
/// assert_eq!(dy.item(), 12.0);
/// assert_eq!(dy.backward()[x].item(), 12.0); // 6x
/// ```
#[derive(Clone)]
pub struct VarGradients<'g, T> {
    graph: &'g Graph<T>,
    grads: Vec<Option<Var<'g, T>>>,
}

impl<'g, T: Float> VarGradients<'g, T> {
    /// The gradient with respect to `var`, as a var of the same graph.
    ///
    /// # Panics
    /// When `var` is not a parameter (or retained node) of this graph.
    #[track_caller]
    pub fn wrt(&self, var: Var<'g, T>) -> Var<'g, T> {
        shape_assert!(
            std::ptr::eq(var.graph(), self.graph),
            "VarGradients: var {} belongs to another graph",
            var.id()
        );
        match self.grads.get(var.id()).copied().flatten() {
            Some(g) => g,
            None => shape_panic!(
                "VarGradients: node {} ({}) has no gradient: only parameters get one",
                var.id(),
                var.op().name()
            ),
        }
    }
}

impl<'g, T: Float> Var<'g, T> {
    /// Backpropagates from this one-element var: the gradient of it with respect to every
    /// parameter of the graph, computed without recording anything.
    ///
    /// # Panics
    /// When the var has more than one element, or depends on no parameter.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, -2.0], &[2]));
    /// let grads = x.tanh().sum().backward();
    /// let expected = 1.0 - 1.0f64.tanh().powi(2);
    /// assert!((grads[x].get(&[0]) - expected).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn backward(self) -> Gradients<T> {
        self.backward_with(BackwardOptions::default())
    }

    /// [`Var::backward`] with options (keeping every intermediate gradient, say).
    ///
    /// ```
    /// use chainrule_autodiff::{BackwardOptions, Graph};
    /// let g = Graph::new();
    /// let x = g.scalar(3.0f64);
    /// let y = x * 2.0;
    /// let z = y * y;
    /// let grads = z.backward_with(BackwardOptions { retain_all: true });
    /// assert_eq!(grads[y].item(), 12.0); // ∂z/∂y = 2y
    /// ```
    #[track_caller]
    pub fn backward_with(self, options: BackwardOptions) -> Gradients<T> {
        self.first_order("backward", options, &mut ())
    }

    /// The first-order sweep shared by [`Var::backward_with`] and the traced backward
    /// (`crate::trace`): `observer` watches each chain-rule step; `()` watches nothing.
    #[track_caller]
    pub(crate) fn first_order(
        self,
        op: &str,
        options: BackwardOptions,
        observer: &mut impl SweepObserver<T>,
    ) -> Gradients<T> {
        let graph = self.graph();
        let nodes = graph.nodes();
        let root = self.id();
        self.check_root(op);
        let mut grads: Vec<Option<Tensor<T>>> = SpareBuffer::take(&SPARE_GRADIENTS);
        grads.resize(nodes.len(), None);
        grads[root] = Some(Tensor::ones(nodes[root].value.shape()));
        for id in (0..=root).rev() {
            let node = &nodes[id];
            if matches!(node.op, Op::Leaf(_)) {
                continue;
            }
            let Some(grad) = &grads[id] else { continue };
            if !observer.watching() {
                if let Some(contributions) = elementwise_on_numbers(node, &nodes, grad) {
                    if !options.retain_all {
                        grads[id] = None;
                    }
                    for (&input, contribution) in node.inputs.iter().zip(contributions) {
                        if let Some(c) = contribution {
                            accumulate_number(&mut grads[input], c, nodes[input].value.shape());
                        }
                    }
                    continue;
                }
            }
            let grad = if options.retain_all {
                grad.clone()
            } else {
                grads[id].take().expect("present")
            };
            // Pushed one by one: `collect` into a `SmallVec` goes through its general `extend`,
            // which costs more than the rest of a small node's visit.
            let mut inputs: SmallVec<[&Tensor<T>; 2]> = SmallVec::new();
            let mut wants: SmallVec<[bool; 2]> = SmallVec::new();
            for &i in &node.inputs {
                inputs.push(&nodes[i].value);
                wants.push(nodes[i].requires_grad);
            }
            observer.visit(id, node, &inputs, &wants, &grad);
            let mut deliver = |position: usize, c: Tensor<T>| {
                let input = node.inputs[position];
                observer.contribution(position, input, &c, grads[input].as_ref());
                accumulate(&mut grads[input], c);
                if let Some(sum) = &grads[input] {
                    observer.accumulated(input, sum);
                }
            };
            // Elementwise rules are called directly: `ops::backward` returns its contributions
            // in a `SmallVec` of tensors, and moving that around costs more than the rule
            // itself on small tensors.
            match &node.op {
                Op::Unary(op) => deliver(0, op.backward(inputs[0], &node.value, grad)),
                Op::Binary(op) => {
                    let pair = [wants[0], wants[1]];
                    let (a, b) = op.backward(inputs[0], inputs[1], &node.value, grad, pair);
                    a.into_iter().for_each(|c| deliver(0, c));
                    b.into_iter().for_each(|c| deliver(1, c));
                }
                op => {
                    let contributions = ops::backward(op, &inputs, &node.value, grad, &wants);
                    for (position, contribution) in contributions.into_iter().enumerate() {
                        if let Some(c) = contribution {
                            deliver(position, c);
                        }
                    }
                }
            }
        }
        for &id in graph.parameter_ids().iter() {
            if grads[id].is_none() {
                grads[id] = Some(Tensor::zeros(nodes[id].value.shape()));
            }
        }
        Gradients {
            graph: graph.id(),
            grads,
        }
    }

    /// Backpropagates while recording the gradient computation on the graph, so each gradient
    /// is a var that can be differentiated again (PyTorch's `create_graph=True`).
    ///
    /// # Panics
    /// When the var has more than one element, or depends on no parameter.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(0.5f64);
    /// let dtanh = x.tanh().backward_create_graph().wrt(x);
    /// let d2 = dtanh.backward()[x].item(); // −2·tanh(x)·(1 − tanh²(x))
    /// let t = 0.5f64.tanh();
    /// assert!((d2 - (-2.0 * t * (1.0 - t * t))).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn backward_create_graph(self) -> VarGradients<'g, T> {
        let graph = self.graph();
        let root = self.id();
        self.check_root("backward_create_graph");
        let recorded_before = graph.len();
        let mut grads: Vec<Option<Var<'g, T>>> = vec![None; root + 1];
        grads[root] = Some(graph.constant(Tensor::ones(&self.shape())));
        for id in (0..=root).rev() {
            let Some(grad) = grads[id] else { continue };
            let (op, input_ids, wants) = {
                let nodes = graph.nodes();
                let node = &nodes[id];
                if matches!(node.op, Op::Leaf(_)) {
                    continue;
                }
                let wants: SmallVec<[bool; 2]> = node
                    .inputs
                    .iter()
                    .map(|&i| nodes[i].requires_grad)
                    .collect();
                (node.op.clone(), node.inputs.clone(), wants)
            };
            let inputs: SmallVec<[Var<'g, T>; 2]> =
                input_ids.iter().map(|&i| Var::new(graph, i)).collect();
            let inputs: SmallVec<[&Var<'g, T>; 2]> = inputs.iter().collect();
            let output = Var::new(graph, id);
            let contributions = ops::backward(&op, &inputs, &output, grad, &wants);
            for (&input, contribution) in input_ids.iter().zip(contributions) {
                if let Some(c) = contribution {
                    grads[input] = Some(match grads[input] {
                        Some(previous) => previous + c,
                        None => c,
                    });
                }
            }
        }
        grads.resize(graph.len(), None);
        for (id, slot) in grads.iter_mut().enumerate().take(recorded_before) {
            let var = Var::new(graph, id);
            if slot.is_none() && var.is_leaf(Leaf::Parameter) {
                *slot = Some(graph.constant(Tensor::zeros(&var.shape())));
            }
        }
        VarGradients { graph, grads }
    }

    #[track_caller]
    fn check_root(self, op: &str) {
        let shape = self.shape();
        shape_assert!(
            shape.iter().product::<usize>() == 1,
            "{op}: the loss has shape {:?}; backward starts from one number (sum or mean it first)",
            shape.as_slice()
        );
        shape_assert!(
            self.requires_grad(),
            "{op}: the loss depends on no parameter, so there is nothing to differentiate"
        );
    }
}

/// Watches the first-order sweep apply the chain rule, one node at a time. The backward trace
/// (`crate::trace`) records what it sees; the plain backward passes `()`, whose empty hooks
/// compile away, so watching costs nothing when nobody watches.
pub(crate) trait SweepObserver<T: Float> {
    /// Whether the observer looks at all. When it does not, the sweep may take shortcuts that
    /// build no tensors for the hooks to see (the scalar path).
    fn watching(&self) -> bool {
        true
    }
    /// Node `id` is about to apply its rule to `upstream` (∂L/∂ of the node), with its input
    /// values and which of them want a gradient.
    fn visit(
        &mut self,
        id: usize,
        node: &Node<T>,
        inputs: &[&Tensor<T>],
        wants: &[bool],
        upstream: &Tensor<T>,
    );
    /// The rule gave `contribution` to the node's `position`-th input, node `input`, which had
    /// gathered `earlier` from the nodes visited before.
    fn contribution(
        &mut self,
        position: usize,
        input: usize,
        contribution: &Tensor<T>,
        earlier: Option<&Tensor<T>>,
    );
    /// The contribution was added: `sum` is node `input`'s gradient so far.
    fn accumulated(&mut self, input: usize, sum: &Tensor<T>);
}

impl<T: Float> SweepObserver<T> for () {
    #[inline(always)]
    fn watching(&self) -> bool {
        false
    }
    #[inline(always)]
    fn visit(&mut self, _: usize, _: &Node<T>, _: &[&Tensor<T>], _: &[bool], _: &Tensor<T>) {}
    #[inline(always)]
    fn contribution(&mut self, _: usize, _: usize, _: &Tensor<T>, _: Option<&Tensor<T>>) {}
    #[inline(always)]
    fn accumulated(&mut self, _: usize, _: &Tensor<T>) {}
}

/// Adds a gradient contribution into a node's running sum (a node used several times receives
/// one contribution per use).
fn accumulate<T: Float>(slot: &mut Option<Tensor<T>>, contribution: Tensor<T>) {
    *slot = Some(match slot.take() {
        Some(sum) => sum + contribution,
        None => contribution,
    });
}

/// The chain-rule step of an elementwise node whose output, inputs and upstream gradient are all
/// single numbers — every node of a micrograd-style graph — computed on the numbers themselves
/// by the op's own rule (see [`ElementwiseOps`]). `None` for any other node, which takes the
/// tensor path. The contributions come in input order.
#[inline]
fn elementwise_on_numbers<T: Float>(
    node: &Node<T>,
    nodes: &[Node<T>],
    grad: &Tensor<T>,
) -> Option<[Option<T>; 2]> {
    let number = |id: usize| match *nodes[id].value.as_slice() {
        [value] => Some(value),
        _ => None,
    };
    let (&[g], &[y]) = (grad.as_slice(), node.value.as_slice()) else {
        return None;
    };
    match &node.op {
        Op::Unary(op) => {
            let x = number(node.inputs[0])?;
            Some([Some(op.backward(&x, &y, g)), None])
        }
        Op::Binary(op) => {
            let (a, b) = (node.inputs[0], node.inputs[1]);
            let wants = [nodes[a].requires_grad, nodes[b].requires_grad];
            let (ga, gb) = op.backward(&number(a)?, &number(b)?, &y, g, wants);
            Some([ga, gb])
        }
        _ => None,
    }
}

/// [`accumulate`] for a one-element contribution to a one-element node of shape `shape`.
#[inline]
fn accumulate_number<T: Float>(slot: &mut Option<Tensor<T>>, contribution: T, shape: &[usize]) {
    match slot {
        Some(sum) => match sum.one_element_mut() {
            Some(value) => *value += contribution,
            None => sum.data_mut()[0] += contribution,
        },
        None => *slot = Some(Tensor::one(contribution, shape_of(shape))),
    }
}
