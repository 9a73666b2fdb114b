//! The parameter store: a model's weights and biases, by name, outside any graph.
//!
//! A graph lives for one training step; parameters live for the whole training. Each step binds
//! the parameters it uses into its fresh graph ([`ParamStore::bind`]) — sharing their storage,
//! copying nothing — runs forward and backward, and hands the gradients to an optimizer, which
//! looks each parameter's gradient up through the same binding ([`ParamStore::grad`]) and, once
//! the graph is dropped, updates the value in place.
//!
//! The store is ordered (insertion order), so saving, printing and optimizer state are stable.

use std::cell::RefCell;
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
    /// ```
    #[track_caller]
    pub fn bind<'g>(&self, graph: &'g Graph<T>, id: ParamId) -> Var<'g, T> {
        let value = self.value(id);
        let mut bindings = self.bindings.borrow_mut();
        if bindings.graph != Some(graph.id()) {
            bindings.graph = Some(graph.id());
            bindings.nodes.clear();
        }
        if bindings.nodes.len() < self.params.len() {
            bindings.nodes.resize(self.params.len(), None);
        }
        match bindings.nodes[id.0] {
            Some(node) => Var::new(graph, node),
            None => {
                let var = graph.param(value.clone());
                bindings.nodes[id.0] = Some(var.id());
                var
            }
        }
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
