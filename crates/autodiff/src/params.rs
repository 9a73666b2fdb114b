//! The parameter store: a model's weights and biases, by name, outside any graph.
//!
//! A graph lives for one training step; parameters live for the whole training. Each step binds
//! the parameters it uses into its fresh graph ([`ParamStore::bind`]) — sharing their storage,
//! copying nothing — runs forward and backward, and hands the gradients to an optimizer, which
//! looks each parameter's gradient up through the same binding ([`ParamStore::grad`]) and, once
//! the graph is dropped, updates the value in place.
//!
//! The store is ordered (insertion order), so saving, printing and optimizer state are stable.

use std::cell::{RefCell, RefMut};
use std::fmt;

use indexmap::IndexMap;

use crate::{Float, Gradients, Graph, Tensor, Var};

/// Whether a parameter is a weight or a bias. Regularisation (an L2 penalty, AdamW's weight
/// decay) applies to weights only: biases are never regularised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A weight: multiplies inputs; regularised.
    Weight,
    /// A bias: added; not regularised.
    Bias,
}

impl ParamKind {
    /// The kind's name as stored in weight files (`"weight"`, `"bias"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::Weight => "weight",
            ParamKind::Bias => "bias",
        }
    }

    /// Parses [`ParamKind::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<ParamKind> {
        match text {
            "weight" => Some(ParamKind::Weight),
            "bias" => Some(ParamKind::Bias),
            _ => None,
        }
    }
}

/// One named parameter: its value and its kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter<T> {
    /// The current value.
    pub value: Tensor<T>,
    /// Weight or bias.
    pub kind: ParamKind,
}

/// A parameter's position in its store (insertion order); cheap to copy and to look up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub usize);

/// Which node each parameter is bound to in the graph of the current step.
#[derive(Default)]
struct Bindings {
    graph: Option<u64>,
    nodes: Vec<Option<usize>>,
}

/// Named parameters, ordered, living outside any graph.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![2.0f64], &[1]), ParamKind::Weight);
/// for _step in 0..3 {
///     let g = Graph::new();
///     let loss = (params.bind(&g, w) * 3.0).sum();
///     let grads = loss.backward();
///     let step = params.grad(&grads, w).unwrap().clone();
///     drop(g);
///     params.value_mut(w).data_mut()[0] -= 0.1 * step.item();
/// }
/// assert!((params.value(w).item() - 1.1).abs() < 1e-12);
/// ```
pub struct ParamStore<T> {
    params: IndexMap<String, Parameter<T>>,
    bindings: RefCell<Bindings>,
}

impl<T: Float> Default for ParamStore<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Clone for ParamStore<T> {
    /// A copy of the parameters (sharing storage until either side writes), without bindings.
    fn clone(&self) -> Self {
        ParamStore {
            params: self.params.clone(),
            bindings: RefCell::default(),
        }
    }
}

impl<T: Float> ParamStore<T> {
    /// An empty store.
    pub fn new() -> Self {
        ParamStore {
            params: IndexMap::new(),
            bindings: RefCell::default(),
        }
    }

    /// Adds a parameter under a new name.
    ///
    /// # Panics
    /// When the name is already taken: two layers claiming one name is a bug in building the
    /// model.
    #[track_caller]
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: Tensor<T>,
        kind: ParamKind,
    ) -> ParamId {
        let name = name.into();
        shape_assert!(
            !self.params.contains_key(&name),
            "ParamStore::insert: a parameter named {name:?} already exists"
        );
        let (index, _) = self.params.insert_full(name, Parameter { value, kind });
        ParamId(index)
    }

    /// The same parameters — names, kinds and order, so every [`ParamId`] still fits — with
    /// their values converted to another float type (exactly, from `f32` to `f64`); no
    /// bindings. How an `f32` model is gradchecked in `f64`
    /// ([`gradcheck_params`](crate::gradcheck::gradcheck_params)).
    ///
    /// ```
    /// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
    /// let mut params = ParamStore::<f32>::new();
    /// let w = params.insert("w", Tensor::from_vec(vec![0.1f32, 0.2], &[2]), ParamKind::Weight);
    /// let wide: ParamStore<f64> = params.cast();
    /// assert_eq!(wide.name(w), "w");
    /// assert_eq!(wide.value(w).to_vec(), vec![0.1f32 as f64, 0.2f32 as f64]);
    /// ```
    pub fn cast<U: Float>(&self) -> ParamStore<U> {
        ParamStore {
            params: self
                .params
                .iter()
                .map(|(name, p)| {
                    let value = p.value.cast();
                    (
                        name.clone(),
                        Parameter {
                            value,
                            kind: p.kind,
                        },
                    )
                })
                .collect(),
            bindings: RefCell::default(),
        }
    }

    /// The number of parameters (tensors, not elements).
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether the store holds no parameter.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The total number of elements over all parameters.
    pub fn num_elements(&self) -> usize {
        self.params.values().map(|p| p.value.numel()).sum()
    }

    /// The id of the parameter with this name.
    pub fn id(&self, name: &str) -> Option<ParamId> {
        self.params.get_index_of(name).map(ParamId)
    }

    /// Every id, in insertion order.
    pub fn ids(&self) -> impl Iterator<Item = ParamId> {
        (0..self.params.len()).map(ParamId)
    }

    /// Every parameter with its id and name, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &str, &Parameter<T>)> {
        self.params
            .iter()
            .enumerate()
            .map(|(i, (name, p))| (ParamId(i), name.as_str(), p))
    }

    /// The parameter's name.
    #[track_caller]
    pub fn name(&self, id: ParamId) -> &str {
        self.entry(id).0
    }

    /// The parameter's kind.
    #[track_caller]
    pub fn kind(&self, id: ParamId) -> ParamKind {
        self.entry(id).1.kind
    }

    /// The parameter's current value.
    #[track_caller]
    pub fn value(&self, id: ParamId) -> &Tensor<T> {
        &self.entry(id).1.value
    }

    /// The parameter's value, to update. Writes go in place when no live graph shares the
    /// storage (see [`Tensor::data_mut`]).
    #[track_caller]
    pub fn value_mut(&mut self, id: ParamId) -> &mut Tensor<T> {
        let count = self.params.len();
        match self.params.get_index_mut(id.0) {
            Some((_, p)) => &mut p.value,
            None => shape_panic!("ParamStore: no parameter {} (the store has {count})", id.0),
        }
    }

    /// Replaces a parameter's value.
    ///
    /// # Panics
    /// When the new value's shape differs from the old one's.
    #[track_caller]
    pub fn set_value(&mut self, id: ParamId, value: Tensor<T>) {
        let old = self.value(id).shape().to_vec();
        shape_assert!(
            old == value.shape(),
            "ParamStore::set_value: {:?} has shape {:?}, the new value {:?}",
            self.name(id),
            old,
            value.shape()
        );
        *self.value_mut(id) = value;
    }

    #[track_caller]
    fn entry(&self, id: ParamId) -> (&str, &Parameter<T>) {
        match self.params.get_index(id.0) {
            Some((name, p)) => (name.as_str(), p),
            None => shape_panic!(
                "ParamStore: no parameter {} (the store has {})",
                id.0,
                self.params.len()
            ),
        }
    }

    /// The parameter as a var of `graph`: bound as a parameter leaf the first time it is asked
    /// for in this graph (sharing storage, copying nothing), the same var every later time —
    /// so a parameter used twice in one step gets one gradient, the sum of both uses.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
    /// let mut params = ParamStore::new();
    /// let w = params.insert("w", Tensor::scalar(3.0f64), ParamKind::Weight);
    /// let g = Graph::new();
    /// let loss = params.bind(&g, w) * params.bind(&g, w); // w², one leaf
    /// assert_eq!(params.grad(&loss.backward(), w).unwrap().item(), 6.0);
    /// assert_eq!(params.bind(&g, w).label().as_deref(), Some("w")); // named after the parameter
    /// ```
    #[track_caller]
    pub fn bind<'g>(&self, graph: &'g Graph<T>, id: ParamId) -> Var<'g, T> {
        let value = self.value(id);
        let mut nodes = self.bindings_in(graph.id());
        match nodes[id.0] {
            Some(node) => Var::new(graph, node),
            None => {
                // Named, so that traces, pictures and the NaN sentinel say `hidden1.weight`.
                let var = graph.param(value.clone()).named(self.name(id));
                nodes[id.0] = Some(var.id());
                var
            }
        }
    }

    /// Makes `var` stand for parameter `id` in `var`'s graph: later [`ParamStore::bind`] calls in
    /// that graph return it. This is how a module is gradchecked with respect to its parameters:
    /// [`crate::gradcheck()`] supplies one var per input tensor, and these become the module's
    /// parameters.
    ///
    /// # Panics
    /// When the parameter is already bound to another node of that graph, or the var's shape
    /// differs from the parameter's.
    ///
    /// ```
    /// use chainrule_autodiff::{gradcheck, GradcheckOptions, ParamKind, ParamStore, Tensor};
    /// let mut params = ParamStore::new();
    /// let w = params.insert("w", Tensor::from_vec(vec![0.5, -0.3], &[2]), ParamKind::Weight);
    /// let report = gradcheck(
    ///     |g, v| {
    ///         params.bind_var(w, v[0]);
    ///         params.bind(g, w).tanh().sum() // what a module's forward would do
    ///     },
    ///     &[params.value(w).clone()],
    ///     GradcheckOptions::default(),
    /// );
    /// assert!(report.passed, "{report}");
    /// ```
    #[track_caller]
    pub fn bind_var(&self, id: ParamId, var: Var<'_, T>) {
        let expected = self.value(id).shape().to_vec();
        shape_assert!(
            expected == var.shape().as_slice(),
            "ParamStore::bind_var: {:?} has shape {:?}, the var {:?}",
            self.name(id),
            expected,
            var.shape().as_slice()
        );
        let mut nodes = self.bindings_in(var.graph().id());
        let slot = &mut nodes[id.0];
        shape_assert!(
            slot.is_none() || *slot == Some(var.id()),
            "ParamStore::bind_var: {:?} is already bound to another node of this graph",
            self.name(id)
        );
        *slot = Some(var.id());
        if var.label().is_none() {
            var.named(self.name(id));
        }
    }

    /// The node slots of the graph with this id, one per parameter; a new graph starts empty.
    fn bindings_in(&self, graph: u64) -> RefMut<'_, Vec<Option<usize>>> {
        let mut bindings = self.bindings.borrow_mut();
        if bindings.graph != Some(graph) {
            bindings.graph = Some(graph);
            bindings.nodes.clear();
        }
        let len = self.params.len();
        if bindings.nodes.len() < len {
            bindings.nodes.resize(len, None);
        }
        RefMut::map(bindings, |b| &mut b.nodes)
    }

    /// [`ParamStore::bind`] by name.
    ///
    /// # Panics
    /// When no parameter has this name.
    #[track_caller]
    pub fn bind_named<'g>(&self, graph: &'g Graph<T>, name: &str) -> Var<'g, T> {
        match self.id(name) {
            Some(id) => self.bind(graph, id),
            None => shape_panic!("ParamStore::bind_named: no parameter named {name:?}"),
        }
    }

    /// The var a parameter is bound to in `graph`, if it was bound there.
    pub fn bound<'g>(&self, graph: &'g Graph<T>, id: ParamId) -> Option<Var<'g, T>> {
        let bindings = self.bindings.borrow();
        if bindings.graph != Some(graph.id()) {
            return None;
        }
        bindings
            .nodes
            .get(id.0)
            .copied()
            .flatten()
            .map(|node| Var::new(graph, node))
    }

    /// The gradient of a parameter in `grads`: `None` when the parameter was not bound in the
    /// graph those gradients come from (it took no part in the step).
    ///
    /// # Panics
    /// When `grads` come from another graph than the one the parameters were last bound to.
    #[track_caller]
    pub fn grad<'a>(&self, grads: &'a Gradients<T>, id: ParamId) -> Option<&'a Tensor<T>> {
        let bindings = self.bindings.borrow();
        shape_assert!(
            bindings.graph == Some(grads.graph_id()),
            "ParamStore::grad: the gradients come from graph {}, but the parameters were last \
             bound to {:?}",
            grads.graph_id(),
            bindings.graph
        );
        let node = bindings.nodes.get(id.0).copied().flatten()?;
        grads.by_id(node)
    }
}

impl<T: Float> fmt::Debug for ParamStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_map();
        for (name, p) in &self.params {
            list.entry(
                &name,
                &format_args!("{} {:?}", p.kind.as_str(), p.value.shape()),
            );
        }
        list.finish()
    }
}

/// Gradients keyed by parameter: at most one tensor per parameter of a store, detached from
/// any graph. This is what optimizers consume; summing the `ParamGrads` of several batches is
/// how gradients are accumulated.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::scalar(2.0f64), ParamKind::Weight);
/// let mut total = params.empty_grads();
/// for x in [1.0, 3.0] {
///     let g = Graph::new();
///     let loss = params.bind(&g, w) * x;
///     total.accumulate(&params.collect_grads(&loss.backward()));
/// }
/// assert_eq!(total.get(w).unwrap().item(), 4.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParamGrads<T> {
    grads: Vec<Option<Tensor<T>>>,
}

impl<T: Float> ParamGrads<T> {
    /// No gradient for any of `len` parameters.
    pub fn new(len: usize) -> Self {
        ParamGrads {
            grads: vec![None; len],
        }
    }

    /// The gradient of one parameter, if it has one.
    pub fn get(&self, id: ParamId) -> Option<&Tensor<T>> {
        self.grads.get(id.0).and_then(Option::as_ref)
    }

    /// Sets (or replaces) the gradient of one parameter.
    pub fn set(&mut self, id: ParamId, grad: Tensor<T>) {
        if self.grads.len() <= id.0 {
            self.grads.resize(id.0 + 1, None);
        }
        self.grads[id.0] = Some(grad);
    }

    /// Every parameter that has a gradient, with it.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Tensor<T>)> {
        self.grads
            .iter()
            .enumerate()
            .filter_map(|(i, g)| g.as_ref().map(|g| (ParamId(i), g)))
    }

    /// Adds another set of gradients into this one, parameter by parameter (a parameter missing
    /// on one side takes the other side's gradient).
    ///
    /// # Panics
    /// When one parameter's gradients have different shapes.
    #[track_caller]
    pub fn accumulate(&mut self, other: &ParamGrads<T>) {
        for (id, grad) in other.iter() {
            let sum = match self.get(id) {
                Some(mine) => mine.add(grad),
                None => grad.clone(),
            };
            self.set(id, sum);
        }
    }

    /// Multiplies every gradient by `factor` (averaging accumulated gradients, clipping).
    /// In place: a gradient whose storage nothing else shares is not copied.
    pub fn scale(&mut self, factor: T) {
        for grad in self.grads.iter_mut().flatten() {
            for value in grad.data_mut() {
                *value *= factor;
            }
        }
    }

    /// `√(Σ g²)` over every element of every gradient: the norm gradient clipping limits.
    pub fn global_norm(&self) -> T {
        self.grads
            .iter()
            .flatten()
            .flat_map(|g| g.as_slice().iter())
            .map(|&v| v * v)
            .sum::<T>()
            .sqrt()
    }
}

impl<T: Float> ParamStore<T> {
    /// A [`ParamGrads`] with room for every parameter and no gradient yet.
    pub fn empty_grads(&self) -> ParamGrads<T> {
        ParamGrads::new(self.len())
    }

    /// Each parameter's gradient from one backward pass, by parameter (sharing storage with
    /// `grads`). Parameters not bound in that step have none.
    ///
    /// # Panics
    /// As [`ParamStore::grad`].
    #[track_caller]
    pub fn collect_grads(&self, grads: &Gradients<T>) -> ParamGrads<T> {
        let mut collected = self.empty_grads();
        for id in self.ids() {
            if let Some(grad) = self.grad(grads, id) {
                collected.set(id, grad.clone());
            }
        }
        collected
    }
}
