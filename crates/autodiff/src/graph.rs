//! The tape: a define-by-run record of every operation, in the order the program ran them.
//!
//! Each op appends one [`Node`]: its value, the ids of its inputs, and the [`Op`] that made it.
//! Because a node can only use nodes that already exist, insertion order is a topological order,
//! and the backward sweep (see [`crate::backward`]) is a plain reverse walk — no sorting, no
//! recursion, no depth limit.
//!
//! A [`Var`] is a `Copy` handle to one node; it lives here with the graph because each holds
//! the other (a graph hands out vars, a var points into its graph). The op methods on vars are in
//! `crate::var`, above the op definitions.
//!
//! A graph lives for one step of work: build it, run backward, drop it. Parameters live outside
//! it and are bound in as leaves without copying their storage. A graph made for evaluation
//! only ([`Graph::no_grad`]) computes the same values but records nothing that backward needs.

use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use crate::arena::Arena;
use crate::ops::{Leaf, Op};
use crate::spare::{Owners, SpareBuffer};
use crate::tensor::shape_of;
use crate::{Float, Shape, Tensor};

/// One recorded operation: its value, its inputs and the op that computed it.
#[derive(Clone, Debug)]
pub struct Node<T> {
    /// The forward value.
    pub value: Tensor<T>,
    /// What produced the value.
    pub op: Op<T>,
    /// The nodes the op read, in argument order.
    pub inputs: SmallVec<[usize; 2]>,
    /// Whether some parameter lies upstream, so the backward sweep must visit this node.
    pub requires_grad: bool,
}

/// A define-by-run computation graph for one element type (`f32` or `f64`).
///
/// Create leaves with [`Graph::param`], [`Graph::input`], [`Graph::constant`] or
/// [`Graph::scalar`]; combine them with the methods and operators of [`Var`]; call
/// [`Var::backward`] on a scalar result. To evaluate a model without training it, make the graph
/// with [`Graph::no_grad`].
///
/// ```
/// use chainrule_autodiff::Graph;
/// let g = Graph::new();
/// let a = g.scalar(2.0);
/// let b = g.scalar(-3.0);
/// let c = a * b + a;
/// let grads = c.backward();
/// assert_eq!(grads[a].item(), -2.0); // ∂c/∂a = b + 1
/// assert_eq!(grads[b].item(), 2.0); // ∂c/∂b = a
/// ```
pub struct Graph<T> {
    id: u64,
    nodes: RefCell<Vec<Node<T>>>,
    /// Display names given with [`Var::named`], by node id: a side table, so that nodes of the
    /// (many) unnamed values stay small.
    labels: RefCell<HashMap<usize, String>>,
    /// The ids of the leaves that want a gradient — parameters, and inputs marked with
    /// [`Var::requires_grad_`] — in order: the backward pass gives each one a gradient without
    /// scanning the whole tape for them.
    gradient_leaves: RefCell<Vec<usize>>,
    /// The source line that recorded each node, by node id — kept only by graphs made with
    /// [`Graph::with_source_lines`], since most graphs never need them.
    source_lines: Option<RefCell<Vec<&'static Location<'static>>>>,
    /// Whether nodes record what backward needs (which leaves want a gradient, each node's
    /// inputs): false for a graph made with [`Graph::no_grad`].
    grad_enabled: bool,
    /// The ids of the nodes that own heap memory (a tensor's buffer, a boxed op): the only ones
    /// dropping the graph must visit. A scalar graph's nodes own none, and reading megabytes of
    /// them back only to find that out cost an eighth of a `scalar-mlp` step.
    heap_owners: RefCell<Owners>,
    /// Where the small values of elementwise ops live (see [`crate::arena`]); freed after the
    /// nodes, in [`Graph`]'s `drop`.
    arena: RefCell<Arena>,
}

/// How a new node's value comes to be, inside [`Graph::record_computed`]: computed there from
/// the values recorded so far, or (for a [`Tensor`]) already computed. A trait rather than a
/// closure so that a kernel's shape panic still names the user's line (`#[track_caller]` does
/// not pass through closures).
pub(crate) trait Forward<T> {
    /// Whether the value is worth computing with the graph's arena lent (see
    /// [`crate::arena`]): only for a built-in kernel, one that keeps no tensor it makes but the
    /// value, and only when the value may need a buffer (a graph of scalars, whose values are
    /// held inline, would pay for the loan on every op and gain nothing).
    #[inline(always)]
    fn in_arena(&self, _recorded: &[Node<T>]) -> bool {
        false
    }

    /// Whether the new node wants a gradient: whether any of its inputs does. An op that knows
    /// its inputs reads their flags directly, without walking the list of ids.
    #[inline(always)]
    fn wants_gradient(&self, recorded: &[Node<T>], inputs: &[usize]) -> bool {
        inputs.iter().any(|&i| recorded[i].requires_grad)
    }

    /// The value, from the tape so far.
    fn compute(self, recorded: &[Node<T>]) -> Tensor<T>;
}

impl<T> Forward<T> for Tensor<T> {
    #[inline(always)]
    fn compute(self, _: &[Node<T>]) -> Tensor<T> {
        self
    }
}

/// Graph ids: unique for the life of the process, so a stale reference to a dropped graph can
/// never be mistaken for a new graph that happens to reuse its memory.
static NEXT_GRAPH_ID: AtomicU64 = AtomicU64::new(0);

impl<T: Float> Default for Graph<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Graph<T> {
    /// An empty graph.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty graph with room for `nodes` nodes before it reallocates.
    pub fn with_capacity(nodes: usize) -> Self {
        let mut tape = take_spare_tape::<T>();
        tape.reserve(nodes);
        Graph {
            id: NEXT_GRAPH_ID.fetch_add(1, Ordering::Relaxed),
            nodes: RefCell::new(tape),
            labels: RefCell::new(HashMap::new()),
            gradient_leaves: RefCell::new(Vec::new()),
            source_lines: None,
            grad_enabled: true,
            heap_owners: RefCell::new(Owners::default()),
            arena: RefCell::default(),
        }
    }

    /// An empty graph for evaluation only — PyTorch's `with torch.no_grad():`. Ops compute the
    /// same values as on [`Graph::new`]'s graphs, and every var can still be read, but nothing
    /// backward needs is recorded: no leaf wants a gradient (parameters included), and no node
    /// keeps the links to its inputs, so nodes cost only their value and the name of their op.
    /// Use it to predict and to measure a validation loss.
    ///
    /// # Panics
    /// Nothing at creation; [`Var::backward`], [`crate::grad()`] and their relatives panic on
    /// such a graph, saying that it was made with `no_grad`, as does [`Var::requires_grad_`].
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::no_grad();
    /// let w = g.param(Tensor::from_vec(vec![0.5f64, -1.0], &[2]));
    /// let x = g.input(Tensor::from_vec(vec![2.0, 3.0], &[2]));
    /// let y = (w * x).sum();
    /// assert_eq!(y.item(), -2.0); // the same value as on a recording graph
    /// assert!(!g.is_grad_enabled() && !y.requires_grad());
    /// ```
    ///
    /// Backward on it is a mistake, and says so:
    ///
    /// ```should_panic
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::no_grad();
    /// let x = g.scalar(3.0f64);
    /// (x * x).backward(); // panics: "… made with Graph::no_grad() …"
    /// ```
    pub fn no_grad() -> Self {
        let mut graph = Self::new();
        graph.grad_enabled = false;
        graph
    }

    /// Whether this graph records what backward needs: `false` for a graph made with
    /// [`Graph::no_grad`] (PyTorch's `torch.is_grad_enabled()`).
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// assert!(Graph::<f32>::new().is_grad_enabled());
    /// assert!(!Graph::<f32>::no_grad().is_grad_enabled());
    /// ```
    pub fn is_grad_enabled(&self) -> bool {
        self.grad_enabled
    }

    /// Panics, naming `op` and the caller's line, when this graph was made with
    /// [`Graph::no_grad`]: differentiating needs what such a graph does not record.
    #[track_caller]
    pub(crate) fn assert_grad_enabled(&self, op: &str) {
        shape_assert!(
            self.grad_enabled,
            "{op}: this graph was made with Graph::no_grad() for evaluation, so it recorded nothing for backward; build it with Graph::new() to differentiate"
        );
    }

    /// An empty graph that remembers the source line that recorded each node, for messages
    /// that point at the user's code (the localized gradient check names the line of the op
    /// whose rule is wrong).
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::with_source_lines();
    /// let x = g.scalar(1.0f64);
    /// let y = x.exp(); let line = line!();
    /// assert_eq!(g.source_line(y.id()).unwrap().line(), line);
    /// assert_eq!(Graph::<f64>::new().source_line(0), None);
    /// ```
    pub fn with_source_lines() -> Self {
        let mut graph = Self::new();
        graph.source_lines = Some(RefCell::new(Vec::new()));
        graph
    }

    /// Where the node with this id was recorded, for a graph made with
    /// [`Graph::with_source_lines`]; `None` otherwise.
    pub fn source_line(&self, id: usize) -> Option<&'static Location<'static>> {
        self.source_lines.as_ref()?.borrow().get(id).copied()
    }

    /// A number that identifies this graph among all graphs of the process, ever.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// assert_ne!(Graph::<f32>::new().id(), Graph::<f32>::new().id());
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Binds a tensor as a parameter: a leaf whose gradient [`Var::backward`] returns. The
    /// storage is shared, not copied.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let w = g.param(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    /// let grads = (w * w).sum().backward();
    /// assert_eq!(grads[w].to_vec(), vec![2.0, 4.0]);
    /// ```
    pub fn param(&self, value: Tensor<T>) -> Var<'_, T> {
        self.leaf(value, Leaf::Parameter)
    }

    /// A 0-d parameter: the micrograd-style scalar that wants a gradient.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(3.0f64);
    /// assert_eq!((x * x).backward()[x].item(), 6.0);
    /// ```
    pub fn scalar(&self, value: T) -> Var<'_, T> {
        self.param(Tensor::scalar(value))
    }

    /// Binds data fed to the model: a leaf that gets no gradient.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2]));
    /// assert!(!x.requires_grad());
    /// ```
    pub fn input(&self, value: Tensor<T>) -> Var<'_, T> {
        self.leaf(value, Leaf::Input)
    }

    /// A fixed value that never gets a gradient.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let c = g.constant(Tensor::scalar(2.0f64));
    /// assert_eq!(c.item(), 2.0);
    /// ```
    pub fn constant(&self, value: Tensor<T>) -> Var<'_, T> {
        self.leaf(value, Leaf::Constant)
    }

    #[track_caller]
    fn leaf(&self, value: Tensor<T>, kind: Leaf) -> Var<'_, T> {
        let requires_grad = kind == Leaf::Parameter && self.grad_enabled;
        let var = self.push(
            Op::Leaf(kind),
            SmallVec::new(),
            |_, _, _| requires_grad,
            value,
        );
        if requires_grad {
            self.gradient_leaves.borrow_mut().push(var.id());
        }
        var
    }

    /// The ids of the leaves that want a gradient (parameters, and inputs marked with
    /// [`Var::requires_grad_`]), in the order they were made.
    pub(crate) fn gradient_leaf_ids(&self) -> Ref<'_, Vec<usize>> {
        self.gradient_leaves.borrow()
    }

    /// Appends a node computed by `op` from `inputs`; it wants a gradient if any input does.
    /// A [`Graph::no_grad`] graph keeps no links: only backward would follow them.
    #[track_caller]
    #[inline(always)]
    pub(crate) fn record(
        &self,
        value: Tensor<T>,
        op: Op<T>,
        inputs: SmallVec<[usize; 2]>,
    ) -> Var<'_, T> {
        self.record_computed(op, inputs, value)
    }

    /// [`Graph::record`] for a value that `forward` computes from the tape so far (the values
    /// of the node's inputs), moved straight into the new node's place on the tape.
    ///
    /// Why: a value computed before recording travelled through two stack copies on its way to
    /// the tape, each a read of a struct that had only just been written (which the processor
    /// cannot serve from its pending stores when the widths differ, so it waits). In a graph of
    /// scalars the value is all a node computes, and those copies with the node built whole on
    /// the stack were about a third of `scalar-mlp`'s step; computed here, and the node written
    /// field by field into its place, the step went from 3.4 to 2.2 ms.
    ///
    /// `forward` must not use the graph: the tape is borrowed while it runs.
    #[track_caller]
    #[inline(always)]
    pub(crate) fn record_computed<F: Forward<T>>(
        &self,
        op: Op<T>,
        inputs: SmallVec<[usize; 2]>,
        forward: F,
    ) -> Var<'_, T> {
        if !self.grad_enabled {
            return self.push(op, SmallVec::new(), |_, _, _| false, forward);
        }
        self.push(op, inputs, F::wants_gradient, forward)
    }

    /// Appends a node; `requires_grad` decides from the tape so far and the node's inputs
    /// whether it wants a gradient, and `forward` computes its value from the tape so far (one
    /// borrow of the tape for all of it).
    #[track_caller]
    #[inline(always)]
    fn push<F: Forward<T>>(
        &self,
        op: Op<T>,
        inputs: SmallVec<[usize; 2]>,
        requires_grad: impl FnOnce(&F, &[Node<T>], &[usize]) -> bool,
        forward: F,
    ) -> Var<'_, T> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.reserve(1);
        let id = nodes.len();
        let base = nodes.as_mut_ptr();
        // SAFETY: the first `id` nodes are initialised, and nothing writes to them while
        // `recorded` lives; `slot` is the first spare place, which `reserve` made room for and
        // which no slice of `recorded` covers. The node counts only once every field is
        // written (`set_len`): a panic in `forward` leaves the tape as it was.
        let recorded: &[Node<T>] = unsafe { std::slice::from_raw_parts(base, id) };
        let slot = unsafe { base.add(id) };
        let requires_grad = requires_grad(&forward, recorded, &inputs);
        let value = if forward.in_arena(recorded) {
            let mut arena = self.arena.borrow_mut();
            let _loan = arena.lend();
            forward.compute(recorded)
        } else {
            forward.compute(recorded)
        };
        if let Some(lines) = &self.source_lines {
            lines.borrow_mut().push(Location::caller());
        }
        if value.owns_heap() || op.owns_heap() || inputs.spilled() {
            self.heap_owners.borrow_mut().insert(id);
        }
        // Field by field, in place: see `record_computed`.
        unsafe {
            std::ptr::addr_of_mut!((*slot).requires_grad).write(requires_grad);
            std::ptr::addr_of_mut!((*slot).inputs).write(inputs);
            std::ptr::addr_of_mut!((*slot).op).write(op);
            std::ptr::addr_of_mut!((*slot).value).write(value);
            nodes.set_len(id + 1);
        }
        Var::new(self, id)
    }

    /// The number of nodes recorded so far.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether nothing has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read access to every node, in the order they were recorded (a topological order).
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(1.0f64);
    /// let _y = x.exp();
    /// let names: Vec<_> = g.nodes().iter().map(|n| n.op.name()).collect();
    /// assert_eq!(names, ["parameter", "exp"]);
    /// ```
    pub fn nodes(&self) -> Ref<'_, Vec<Node<T>>> {
        self.nodes.borrow()
    }

    /// Gives the node with this id a display name (replacing any earlier one); see
    /// [`Var::named`].
    pub(crate) fn set_label(&self, id: usize, label: String) {
        self.labels.borrow_mut().insert(id, label);
    }

    /// The display name given to the node with this id, if any (see [`Var::named`]).
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let w = g.scalar(0.5f64).named("w");
    /// let y = w * 2.0;
    /// assert_eq!(g.label(w.id()).as_deref(), Some("w"));
    /// assert_eq!(g.label(y.id()), None);
    /// ```
    pub fn label(&self, id: usize) -> Option<String> {
        self.labels.borrow().get(&id).cloned()
    }

    /// The name a node goes by in traces and pictures: its label, or `n` and its id (`n7`).
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let w = g.scalar(0.5f64).named("w");
    /// let y = w * 2.0;
    /// assert_eq!(g.display_name(w.id()), "w");
    /// assert_eq!(g.display_name(y.id()), "n1");
    /// ```
    pub fn display_name(&self, id: usize) -> String {
        self.label(id).unwrap_or_else(|| format!("n{id}"))
    }

    /// The first node whose value holds a NaN or an infinity, with the op that produced it —
    /// the place to look when a training loss turns into NaN.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(-1.0f64);
    /// let _y = x.ln() * 2.0;
    /// let bad = g.first_non_finite().unwrap();
    /// assert_eq!(bad.op, "ln");
    /// ```
    pub fn first_non_finite(&self) -> Option<NonFinite> {
        self.nodes
            .borrow()
            .iter()
            .enumerate()
            .find(|(_, n)| !n.value.all_finite())
            .map(|(id, n)| NonFinite {
                node: id,
                op: n.op.name(),
                shape: n.value.shape().to_vec(),
            })
    }
}

thread_local! {
    /// The emptied node buffer of the last graph dropped on this thread, for the next graph.
    /// A training loop builds one graph per step, each about as large as the last: reusing the
    /// buffer saves growing a fresh one from nothing every step, and with it the page faults
    /// of touching megabytes of newly mapped memory (a scalar graph of 65,000 nodes is 7 MB).
    /// The cost is that one such buffer stays reserved per thread, like a caching allocator.
    static SPARE_TAPE: SpareBuffer = const { SpareBuffer::new() };
}

/// The spare node buffer left by the last graph dropped on this thread, or a new empty one.
fn take_spare_tape<T>() -> Vec<Node<T>> {
    SpareBuffer::take(&SPARE_TAPE)
}

// A graph may be built on one thread and moved to another (a worker of a training loop); the
// arena's raw chunks must not take that away.
const _: fn() = || {
    fn movable_between_threads<S: Send>() {}
    movable_between_threads::<Graph<f32>>();
};

impl<T> Drop for Graph<T> {
    fn drop(&mut self) {
        let nodes = std::mem::take(self.nodes.get_mut());
        SpareBuffer::keep_dropping_only(&SPARE_TAPE, nodes, self.heap_owners.get_mut());
    }
}

/// Where a NaN or infinity first appeared in a graph (see [`Graph::first_non_finite`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonFinite {
    /// The node's position in the tape.
    pub node: usize,
    /// The op that produced the non-finite value.
    pub op: &'static str,
    /// The shape of that value.
    pub shape: Vec<usize>,
}

impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {} ({}, shape {:?}) is the first to hold NaN or infinity",
            self.node, self.op, self.shape
        )
    }
}

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

    /// Whether a parameter (or an input marked with [`Var::requires_grad_`]) lies upstream of
    /// this var, so backward will reach through it.
    pub fn requires_grad(&self) -> bool {
        self.graph.nodes()[self.id].requires_grad
    }

    /// Marks an input as wanting a gradient — ∂L/∂x for data, a saliency map, an adversarial
    /// step — without making it a parameter (it stays data: it is not trained). Call it where
    /// the input is made, before anything uses it; PyTorch's `x.requires_grad_()`.
    ///
    /// # Panics
    /// When the var is not an input leaf (a parameter already has a gradient; a constant never
    /// does), when a node already uses it (nodes decide whether they want a gradient when
    /// they are recorded), or when the graph was made with [`Graph::no_grad`].
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0], &[2])).requires_grad_();
    /// let w = g.param(Tensor::from_vec(vec![3.0, 4.0], &[2]));
    /// let grads = (x * w).sum().backward();
    /// assert_eq!(grads[x].to_vec(), vec![3.0, 4.0]); // ∂L/∂x = w
    /// assert_eq!(grads[w].to_vec(), vec![1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn requires_grad_(self) -> Self {
        self.graph.assert_grad_enabled("requires_grad_");
        let mut nodes = self.graph.nodes.borrow_mut();
        let id = self.id;
        shape_assert!(
            matches!(nodes[id].op, Op::Leaf(Leaf::Input)),
            "requires_grad_: node {id} is a {}, not an input (parameters always get a gradient, constants never do)",
            nodes[id].op.name()
        );
        if let Some(user) = nodes[id + 1..].iter().position(|n| n.inputs.contains(&id)) {
            shape_panic!(
                "requires_grad_: input node {id} is already used by node {}; mark it where it is made: g.input(x).requires_grad_()",
                id + 1 + user
            );
        }
        if !nodes[id].requires_grad {
            nodes[id].requires_grad = true;
            self.graph.gradient_leaves.borrow_mut().push(id);
        }
        drop(nodes);
        self
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
