//! The one backward sweep: seed ∂L/∂L = 1, walk the tape backwards, apply each node's rule,
//! sum the contributions of a node used more than once, and reduce a broadcast gradient back to
//! its input's shape.
//!
//! The sweep is one generic function, `sweep`, run on two kinds of value:
//!
//! - tensors ([`Var::backward`]): each rule computes its gradient now and nothing is recorded —
//!   the fast first-order backward;
//! - vars ([`Var::backward_create_graph`]): each rule records its gradient as new nodes of the
//!   same graph, so a gradient is itself a var that can be differentiated again
//!   (Hessian-vector products, gradient penalties).
//!
//! Nodes that lead to no parameter are never visited. The traced backward
//! ([`Var::backward_traced`]) runs the tensor sweep with an observer that records each step.
//!
//! An elementwise node whose value, inputs and incoming gradient are single numbers — every
//! node of a micrograd-style graph of 0-d vars — takes a shortcut on tensors: its rule, the same
//! generic code, runs on the plain numbers and no tensor is built. This is what makes a graph of
//! scalars cheap; `tests/scalar_path.rs` holds it to the tensor path exactly.

use std::fmt;
use std::ops::Index;

use smallvec::SmallVec;

use crate::anomaly::{Anomaly, AnomalyWatch};
use crate::custom;
use crate::graph::{Graph, Node, Var};
use crate::ops::vocabulary::{BackwardOps, ElementwiseOps};
use crate::ops::{self, BinaryOp, CustomCall, InputGrads, Op, UnaryOp};
use crate::spare::{Owners, SpareBuffer};
use crate::tensor::shape_of;
use crate::{Float, Tensor};

/// A value the sweep can run the rules on: [`Tensor`] (compute now) or [`Var`] (record).
pub(crate) trait Differentiable<T: Float>: BackwardOps<T> {
    /// A user-defined op's own rule, for this kind of value (see `crate::custom`).
    fn custom_rule(
        call: &CustomCall,
        inputs: &[&Self],
        output: &Self,
        grad: Self,
        wants: &[bool],
    ) -> InputGrads<Self>;

    /// Applies `op`'s backward rule — a built-in op's from `ops/`, or a user-defined op's own:
    /// the gradient of each input that wants one (see [`ops::backward`]).
    fn apply_rule(
        op: &Op<T>,
        inputs: &[&Self],
        output: &Self,
        grad: Self,
        wants: &[bool],
    ) -> InputGrads<Self> {
        match op {
            Op::Custom(call) => Self::custom_rule(call, inputs, output, grad, wants),
            op => ops::backward(op, inputs, output, grad, wants),
        }
    }
}

impl<T: Float> Differentiable<T> for Tensor<T> {
    fn custom_rule(
        call: &CustomCall,
        inputs: &[&Self],
        output: &Self,
        grad: Self,
        wants: &[bool],
    ) -> InputGrads<Self> {
        custom::backward_on_tensors(call, inputs, output, grad, wants)
    }
}

impl<'g, T: Float> Differentiable<T> for Var<'g, T> {
    fn custom_rule(
        call: &CustomCall,
        inputs: &[&Self],
        output: &Self,
        grad: Self,
        wants: &[bool],
    ) -> InputGrads<Self> {
        custom::backward_on_vars(call, inputs, output, grad, wants)
    }
}

/// One node as the sweep sees it, its values of the kind `V` the sweep runs on.
pub(crate) struct NodeView<'a, T, V> {
    pub id: usize,
    pub op: &'a Op<T>,
    pub input_ids: &'a [usize],
    pub inputs: &'a [&'a V],
    pub output: &'a V,
    /// Which inputs want a gradient.
    pub wants: &'a [bool],
}

/// The tape as the sweep reads it, for one kind of value: the recorded nodes themselves for
/// tensors (borrowed once for the whole sweep, since nothing is recorded), the graph for vars
/// (borrowed node by node, since each rule records new nodes).
pub(crate) trait Tape<T: Float> {
    type Value: Differentiable<T>;
    /// A table of one empty gradient slot per node id below `len`.
    fn gradient_table(&self, len: usize) -> Vec<Option<Self::Value>>;
    fn is_leaf(&self, id: usize) -> bool;
    /// Applies node `id`'s rule to its gradient `grad` ([`apply_rule_of`] with the node's
    /// inputs and output as values of this kind).
    fn visit(
        &self,
        id: usize,
        grad: Self::Value,
        grads: &mut [Option<Self::Value>],
        observer: &mut impl SweepObserver<T, Self::Value>,
    );
    /// Applies node `id`'s rule without building values, where it can (the scalar path); says
    /// whether it did.
    fn shortcut(&self, _id: usize, _grads: &mut [Option<Self::Value>], _retain_all: bool) -> bool {
        false
    }
}

impl<T: Float> Tape<T> for [Node<T>] {
    type Value = Tensor<T>;

    fn gradient_table(&self, len: usize) -> Vec<Option<Tensor<T>>> {
        // The last table comes back with its slots, all empty (see `Gradients`'s drop).
        let mut grads: Vec<Option<Tensor<T>>> = SpareBuffer::take_filled(&SPARE_GRADIENTS);
        grads.truncate(len);
        grads.resize(len, None);
        grads
    }

    #[inline(always)]
    fn is_leaf(&self, id: usize) -> bool {
        matches!(self[id].op, Op::Leaf(_))
    }

    // Out of line: the sweep's loop then holds only the scalar shortcut, whose registers no
    // longer compete with the tensor rules'. A change to how tensors are stored made the
    // inlined loop's scalar path 10% slower (`scalar-mlp` 1.9 → 2.1 ms); out of line it is
    // 1.8 ms, and a tensor node pays one call (`op-overhead` 45.1 → 44.1 ns/op).
    #[inline(never)]
    fn visit(
        &self,
        id: usize,
        grad: Tensor<T>,
        grads: &mut [Option<Tensor<T>>],
        observer: &mut impl SweepObserver<T, Tensor<T>>,
    ) {
        let node = &self[id];
        // An elementwise node unwatched goes straight to its rule: the view below, built for
        // every node, cost more than the rule itself on a chain of small ops (`op-overhead`).
        if !observer.watching() {
            match &node.op {
                Op::Unary(op) => {
                    let x = node.inputs[0];
                    unary_step(op, &self[x].value, x, &node.value, grad, grads, observer);
                    return;
                }
                Op::Binary(op) => {
                    let (a, b) = (node.inputs[0], node.inputs[1]);
                    let (va, vb) = (&self[a].value, &self[b].value);
                    let wants = [self[a].requires_grad, self[b].requires_grad];
                    binary_step(
                        op,
                        [va, vb],
                        [a, b],
                        wants,
                        &node.value,
                        grad,
                        grads,
                        observer,
                    );
                    return;
                }
                _ => {}
            }
        }
        // Pushed one by one: `collect` into a `SmallVec` goes through its general `extend`,
        // which costs more than the rest of a small node's visit.
        let mut inputs: SmallVec<[&Tensor<T>; 2]> = SmallVec::new();
        let mut wants: SmallVec<[bool; 2]> = SmallVec::new();
        for &i in &node.inputs {
            inputs.push(&self[i].value);
            wants.push(self[i].requires_grad);
        }
        let view = NodeView {
            id,
            op: &node.op,
            input_ids: &node.inputs,
            inputs: &inputs,
            output: &node.value,
            wants: &wants,
        };
        apply_rule_of(view, grad, grads, observer);
    }

    #[inline(always)]
    fn shortcut(&self, id: usize, grads: &mut [Option<Tensor<T>>], retain_all: bool) -> bool {
        let node = &self[id];
        if let Op::Shape(shape_op) = &node.op {
            if let ops::ShapeOp::Narrow { axis, start, .. } = **shape_op {
                return narrow_into_slice(self, node, id, axis, start, grads, retain_all);
            }
            return false;
        }
        let Some(grad) = &grads[id] else { return false };
        let Some(contributions) = elementwise_on_numbers(node, self, grad) else {
            return false;
        };
        if !retain_all {
            grads[id] = None;
        }
        for (&input, contribution) in node.inputs.iter().zip(contributions) {
            if let Some(c) = contribution {
                accumulate_number(&mut grads[input], c, self[input].value.shape());
            }
        }
        true
    }
}

/// The rule of `narrow` (pad the gradient with zeros back to the input's shape), applied by
/// adding the gradient into its slice of the input's running sum instead: a tensor sliced into
/// many parts (the time steps of a sequence) then costs one zeroed tensor and one pass over each
/// part, not one padded copy and one full addition per part. Only when the input wants a
/// gradient; says whether it applied.
#[inline]
fn narrow_into_slice<T: Float>(
    nodes: &[Node<T>],
    node: &Node<T>,
    id: usize,
    axis: usize,
    start: usize,
    grads: &mut [Option<Tensor<T>>],
    retain_all: bool,
) -> bool {
    let input = node.inputs[0];
    if !nodes[input].requires_grad {
        return false;
    }
    let grad = if retain_all {
        grads[id].clone()
    } else {
        grads[id].take()
    };
    let grad = grad.expect("the sweep visits only nodes with a gradient");
    grads[input]
        .get_or_insert_with(|| Tensor::zeros(nodes[input].value.shape()))
        .add_into_slice(axis, start, &grad);
    true
}

impl<'g, T: Float> Tape<T> for &'g Graph<T> {
    type Value = Var<'g, T>;

    fn gradient_table(&self, len: usize) -> Vec<Option<Var<'g, T>>> {
        vec![None; len]
    }

    fn is_leaf(&self, id: usize) -> bool {
        matches!(self.nodes()[id].op, Op::Leaf(_))
    }

    fn visit(
        &self,
        id: usize,
        grad: Var<'g, T>,
        grads: &mut [Option<Var<'g, T>>],
        observer: &mut impl SweepObserver<T, Var<'g, T>>,
    ) {
        // The node is copied out so the tape is free while the rule records on it.
        let (op, input_ids, wants) = {
            let nodes = self.nodes();
            let node = &nodes[id];
            let wants: SmallVec<[bool; 2]> = node
                .inputs
                .iter()
                .map(|&i| nodes[i].requires_grad)
                .collect();
            (node.op.clone(), node.inputs.clone(), wants)
        };
        let inputs: SmallVec<[Var<'g, T>; 2]> =
            input_ids.iter().map(|&i| Var::new(self, i)).collect();
        let inputs: SmallVec<[&Var<'g, T>; 2]> = inputs.iter().collect();
        let view = NodeView {
            id,
            op: &op,
            input_ids: &input_ids,
            inputs: &inputs,
            output: &Var::new(self, id),
            wants: &wants,
        };
        apply_rule_of(view, grad, grads, observer);
    }
}

/// The backward sweep from node `root`, whose gradient is `seed`: the gradient of every node
/// it reached, by node id (below `root + 1`). Without `retain_all`, a node's gradient is dropped
/// once its rule has used it, except at leaves.
pub(crate) fn sweep<T: Float, P: Tape<T> + ?Sized>(
    tape: &P,
    root: usize,
    seed: P::Value,
    retain_all: bool,
    observer: &mut impl SweepObserver<T, P::Value>,
) -> Vec<Option<P::Value>> {
    let mut grads = tape.gradient_table(root + 1);
    grads[root] = Some(seed);
    for id in (0..=root).rev() {
        if tape.is_leaf(id) || grads[id].is_none() {
            continue;
        }
        if !observer.watching() && tape.shortcut(id, &mut grads, retain_all) {
            continue;
        }
        // Unwrapped in each branch: an `Option` of a tensor built first and unwrapped after
        // costs two more copies of it, which show on small tensors. The gradient is taken out
        // by `take_whole`, not `Option::take`, for the reason given there.
        let grad = if retain_all {
            grads[id].clone().expect("present")
        } else {
            take_whole(&mut grads[id])
        };
        tape.visit(id, grad, &mut grads, observer);
    }
    grads
}

/// The value in a full slot, moved out as one block of bytes, the slot left empty.
///
/// `slot.take().expect(..)` moves a tensor differently: the compiler copies its tag (which
/// lives inside the tensor, the `Option`'s niche) and its other 44 bytes as separate stores,
/// and the rule that receives the gradient reads them straight back in 16-byte pieces that
/// straddle those stores. The processor cannot forward such stores to the loads and waits for
/// them to reach the cache: on `op-overhead` that wait was a third of the backward pass (25.9
/// → 17.1 ns per op). Read through a reference to the value, the same move is one copy of 48
/// bytes that the later loads line up with.
#[inline(always)]
fn take_whole<V>(slot: &mut Option<V>) -> V {
    let Some(value) = slot.as_mut() else {
        panic!("the sweep visits only nodes with a gradient");
    };
    // SAFETY: the value is read out once: the slot is overwritten with `None` at once, without
    // dropping what it held.
    let value = unsafe { std::ptr::read(value) };
    unsafe { std::ptr::write(slot, None) };
    value
}

/// Applies one node's rule to its gradient `grad` and hands each input its contribution.
#[inline(always)]
fn apply_rule_of<T: Float, V: Differentiable<T>>(
    node: NodeView<'_, T, V>,
    grad: V,
    grads: &mut [Option<V>],
    observer: &mut impl SweepObserver<T, V>,
) {
    if observer.watching() {
        observer.visit(node.id, &node, &grad);
    }
    // Elementwise rules are called directly: collecting their one or two gradients in a
    // `SmallVec` of values costs more than the rule itself on small tensors.
    match node.op {
        Op::Unary(op) => {
            let (x, id) = (node.inputs[0], node.input_ids[0]);
            unary_step(op, x, id, node.output, grad, grads, observer);
        }
        Op::Binary(op) => {
            let inputs = [node.inputs[0], node.inputs[1]];
            let ids = [node.input_ids[0], node.input_ids[1]];
            let wants = [node.wants[0], node.wants[1]];
            binary_step(op, inputs, ids, wants, node.output, grad, grads, observer);
        }
        op => {
            let broadcasts = op.broadcasts();
            let rule = V::apply_rule(op, node.inputs, node.output, grad, node.wants);
            for (position, contribution) in rule.into_iter().enumerate() {
                // A user-defined rule may compute a gradient nobody asked for; it is dropped
                // here, so that only nodes that want a gradient ever hold one.
                if !node.wants[position] {
                    continue;
                }
                if let Some(mut c) = contribution {
                    if broadcasts {
                        c = reduce_to(c, node.inputs[position]);
                    }
                    deliver(grads, observer, position, node.input_ids[position], c);
                }
            }
        }
    }
}

/// The rule of a unary elementwise node, whose input `x` is node `id`: its contribution
/// delivered.
#[inline(always)]
fn unary_step<T: Float, V: Differentiable<T>>(
    op: &UnaryOp<T>,
    x: &V,
    id: usize,
    output: &V,
    grad: V,
    grads: &mut [Option<V>],
    observer: &mut impl SweepObserver<T, V>,
) {
    let c = op.backward(x, output, grad);
    deliver(grads, observer, 0, id, c);
}

/// The rule of a binary elementwise node, whose inputs are nodes `ids`: each contribution
/// summed back to its input's shape and delivered.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn binary_step<T: Float, V: Differentiable<T>>(
    op: &BinaryOp,
    [a, b]: [&V; 2],
    ids: [usize; 2],
    wants: [bool; 2],
    output: &V,
    grad: V,
    grads: &mut [Option<V>],
    observer: &mut impl SweepObserver<T, V>,
) {
    let (ga, gb) = op.backward(a, b, output, grad, wants);
    if let Some(c) = ga {
        deliver(grads, observer, 0, ids[0], reduce_to(c, a));
    }
    if let Some(c) = gb {
        deliver(grads, observer, 1, ids[1], reduce_to(c, b));
    }
}

/// A gradient for `input` summed back to the input's shape where the op broadcast the input:
/// the one place where that happens, for every op.
#[inline(always)]
fn reduce_to<T: Float, V: ElementwiseOps<T>>(contribution: V, input: &V) -> V {
    if contribution.same_shape(input) {
        contribution
    } else {
        contribution.sum_to(&input.shape())
    }
}

/// Adds the contribution for a node's `position`-th input, node `id`, to that input's gradient
/// so far.
#[inline(always)]
fn deliver<T: Float, V: ElementwiseOps<T>>(
    grads: &mut [Option<V>],
    observer: &mut impl SweepObserver<T, V>,
    position: usize,
    id: usize,
    contribution: V,
) {
    // Asked first so that, for the plain backward, no trace of the hooks is compiled in.
    if !observer.watching() {
        accumulate(&mut grads[id], contribution);
        return;
    }
    observer.contribution(position, id, &contribution, grads[id].as_ref());
    accumulate(&mut grads[id], contribution);
    if let Some(sum) = &grads[id] {
        observer.accumulated(id, sum);
    }
}

/// Options for [`Var::backward_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackwardOptions {
    /// Keep the gradient of every node that wants one, not only of the parameters — for
    /// inspecting intermediate values (traces, graph pictures). Costs memory.
    pub retain_all: bool,
    /// The NaN sentinel (PyTorch's `detect_anomaly`, for both passes): look for the first NaN
    /// or infinity in the forward values the loss depends on and in the gradients, and report
    /// where it appeared (see [`crate::anomaly`]). [`Var::try_backward_with`] returns the
    /// report; [`Var::backward_with`] panics with it. Costs a pass over the values and a check
    /// of each gradient.
    pub detect_anomaly: bool,
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
pub struct Gradients<T: 'static> {
    graph: u64,
    grads: Vec<Option<Tensor<T>>>,
    /// The only slots that can hold a gradient, when that is known: after a sweep that keeps
    /// no intermediate gradients, the leaves that want one. Dropping then visits just those,
    /// instead of reading a slot per node of the graph. `None`: any slot may hold one.
    holders: Option<Owners>,
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
                "Gradients: node {} ({}) has no gradient: parameters get one, and inputs made with \
                 g.input(x).requires_grad_(); other nodes only with backward_with(retain_all) or \
                 chainrule_autodiff::grad(&[loss], None, &[var]); constants never do",
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

impl<T: 'static> Drop for Gradients<T> {
    fn drop(&mut self) {
        let mut grads = std::mem::take(&mut self.grads);
        match &self.holders {
            // Only the holders' slots are emptied, and the table is kept with its (now all
            // empty) slots for the next sweep: neither step reads or writes a slot per node.
            Some(holders) => {
                for id in holders.iter() {
                    grads[id] = None;
                }
                debug_assert!(
                    grads.iter().all(Option::is_none),
                    "a gradient outside the leaves survived a sweep that keeps none"
                );
                SpareBuffer::keep_filled(&SPARE_GRADIENTS, grads);
            }
            None => SpareBuffer::keep(&SPARE_GRADIENTS, grads),
        }
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
                "VarGradients: node {} ({}) has no gradient: parameters get one, and inputs made \
                 with g.input(x).requires_grad_()",
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
    /// When the var has more than one element, depends on no parameter, or belongs to a graph
    /// made with [`Graph::no_grad`].
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
    /// let grads = z.backward_with(BackwardOptions { retain_all: true, ..Default::default() });
    /// assert_eq!(grads[y].item(), 12.0); // ∂z/∂y = 2y
    /// ```
    ///
    /// # Panics
    /// As [`Var::backward`]; and with [`BackwardOptions::detect_anomaly`], with the report of
    /// where the first NaN or infinity appeared, if one did.
    #[track_caller]
    pub fn backward_with(self, options: BackwardOptions) -> Gradients<T> {
        match self.try_backward_with(options) {
            Ok(grads) => grads,
            Err(anomaly) => panic!("backward: {anomaly}"),
        }
    }

    /// [`Var::backward_with`], returning the sentinel's report instead of panicking when
    /// [`BackwardOptions::detect_anomaly`] finds a NaN or an infinity. Without that option it
    /// never returns an error.
    ///
    /// ```
    /// use chainrule_autodiff::{BackwardOptions, Graph, Pass, Tensor};
    /// let g = Graph::with_source_lines();
    /// let w = g.param(Tensor::from_vec(vec![1.0f64, -1.0], &[2])).named("w");
    /// let loss = w.ln().sum(); let line = line!(); // ln(−1) is NaN
    /// let options = BackwardOptions { detect_anomaly: true, ..Default::default() };
    /// let anomaly = loss.try_backward_with(options).unwrap_err();
    /// assert_eq!((anomaly.pass, anomaly.op, anomaly.what), (Pass::Forward, "ln", "NaN"));
    /// assert_eq!(anomaly.inputs, ["w"]);
    /// assert_eq!(anomaly.source_line.unwrap().line(), line);
    /// println!("{anomaly}"); // NaN first appears in the forward value of n1 = ln(w) …
    /// ```
    #[track_caller]
    pub fn try_backward_with(self, options: BackwardOptions) -> Result<Gradients<T>, Box<Anomaly>> {
        if !options.detect_anomaly {
            return Ok(self.first_order("backward", options, &mut ()));
        }
        self.check_root("backward");
        if let Some(anomaly) = self.forward_anomaly() {
            return Err(Box::new(anomaly));
        }
        let mut watch = AnomalyWatch::new();
        let grads = self.first_order("backward", options, &mut watch);
        match watch.report(self.graph()) {
            Some(anomaly) => Err(Box::new(anomaly)),
            None => Ok(grads),
        }
    }

    /// The tensor sweep shared by [`Var::backward_with`] and the traced backward
    /// (`crate::trace`): `observer` watches each chain-rule step; `()` watches nothing.
    #[track_caller]
    pub(crate) fn first_order(
        self,
        op: &str,
        options: BackwardOptions,
        observer: &mut impl SweepObserver<T, Tensor<T>>,
    ) -> Gradients<T> {
        self.check_root(op);
        let graph = self.graph();
        let nodes = graph.nodes();
        let root = self.id();
        let seed = Tensor::ones(nodes[root].value.shape());
        let mut grads = sweep(&nodes[..], root, seed, options.retain_all, observer);
        grads.resize(nodes.len(), None);
        let leaf_ids = graph.gradient_leaf_ids();
        for &id in leaf_ids.iter() {
            if grads[id].is_none() {
                grads[id] = Some(Tensor::zeros(nodes[id].value.shape()));
            }
        }
        // Worth it only for a table much longer than its leaves (a graph of scalars); a short
        // table is emptied as quickly by reading every slot.
        let holders = (!options.retain_all && grads.len() >= 16 * leaf_ids.len()).then(|| {
            let mut leaves = Owners::default();
            leaf_ids.iter().for_each(|&id| leaves.insert(id));
            leaves
        });
        Gradients {
            graph: graph.id(),
            grads,
            holders,
        }
    }

    /// Backpropagates while recording the gradient computation on the graph, so each gradient
    /// is a var that can be differentiated again (PyTorch's `create_graph=True`).
    ///
    /// # Panics
    /// When the var has more than one element, or depends on no parameter; when the sweep
    /// meets a user-defined op that has no backward rule on vars.
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
        self.check_root("backward_create_graph");
        let graph = self.graph();
        let recorded_before = graph.len();
        let seed = graph.constant(Tensor::ones(&self.shape()));
        let mut grads = sweep(&graph, self.id(), seed, true, &mut ());
        grads.resize(graph.len(), None);
        let leaves = graph.gradient_leaf_ids().clone();
        for id in leaves.into_iter().filter(|&id| id < recorded_before) {
            if grads[id].is_none() {
                grads[id] = Some(graph.constant(Tensor::zeros(&Var::new(graph, id).shape())));
            }
        }
        VarGradients { graph, grads }
    }

    #[track_caller]
    fn check_root(self, op: &str) {
        self.graph().assert_grad_enabled(op);
        let shape = self.shape();
        shape_assert!(
            shape.iter().product::<usize>() == 1,
            "{op}: the loss has shape {:?}; backward starts from one number (sum or mean it first)",
            shape.as_slice()
        );
        shape_assert!(
            self.requires_grad(),
            "{op}: the loss depends on no parameter (nor on an input marked with requires_grad_()), so there is nothing to differentiate"
        );
    }
}

/// Watches the sweep apply the chain rule, one node at a time. The backward trace
/// (`crate::trace`) records what it sees; the plain backward passes `()`, whose empty hooks
/// compile away, so watching costs nothing when nobody watches.
pub(crate) trait SweepObserver<T: Float, V> {
    /// Whether the observer looks at all. When it does not, the sweep may take shortcuts that
    /// build no values for the hooks to see (the scalar path).
    fn watching(&self) -> bool {
        true
    }
    /// Node `id` is about to apply its rule to `upstream` (∂L/∂ of the node).
    fn visit(&mut self, id: usize, node: &NodeView<'_, T, V>, upstream: &V);
    /// The rule gave `contribution` to the node's `position`-th input, node `input`, which had
    /// gathered `earlier` from the nodes visited before.
    fn contribution(
        &mut self,
        position: usize,
        input: usize,
        contribution: &V,
        earlier: Option<&V>,
    );
    /// The contribution was added: `sum` is node `input`'s gradient so far.
    fn accumulated(&mut self, input: usize, sum: &V);
}

impl<T: Float, V> SweepObserver<T, V> for () {
    #[inline(always)]
    fn watching(&self) -> bool {
        false
    }
    #[inline(always)]
    fn visit(&mut self, _: usize, _: &NodeView<'_, T, V>, _: &V) {}
    #[inline(always)]
    fn contribution(&mut self, _: usize, _: usize, _: &V, _: Option<&V>) {}
    #[inline(always)]
    fn accumulated(&mut self, _: usize, _: &V) {}
}

/// Adds a gradient contribution into a node's running sum (a node used several times receives
/// one contribution per use).
#[inline]
fn accumulate<V: std::ops::Add<Output = V>>(slot: &mut Option<V>, contribution: V) {
    // A write in each arm: `*slot = Some(match slot.take() { .. })` built the new value on the
    // stack and copied it in, on top of the take's own write (op-overhead's backward 16.1 →
    // 14.2 ns per op).
    match slot.take() {
        Some(sum) => *slot = Some(sum + contribution),
        None => *slot = Some(contribution),
    }
}

/// The chain-rule step of an elementwise node whose output, inputs and upstream gradient are all
/// single numbers — every node of a micrograd-style graph — computed on the numbers themselves
/// by the op's own rule (numbers speak the elementwise rules' vocabulary). `None` for any other
/// node, which takes the tensor path. The contributions come in input order.
#[inline]
fn elementwise_on_numbers<T: Float>(
    node: &Node<T>,
    nodes: &[Node<T>],
    grad: &Tensor<T>,
) -> Option<[Option<T>; 2]> {
    let number = |id: usize| nodes[id].value.one_element();
    let (Some(g), Some(y)) = (grad.one_element(), node.value.one_element()) else {
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
