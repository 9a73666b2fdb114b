//! The NaN sentinel: where a NaN or an infinity first appeared, in the forward values or in a
//! gradient (PyTorch's `detect_anomaly`, for both passes).
//!
//! A training loss that turns into NaN says nothing about where the NaN came from: by the time
//! it reaches the loss it has spread through every node downstream. The sentinel is an option
//! of the backward pass ([`detect_anomaly`](crate::BackwardOptions::detect_anomaly)) that looks
//! for the origin:
//!
//! 1. **Forward.** Of the nodes the loss depends on, the first in recording order whose value
//!    is not finite: the op that made it, or the leaf that held it.
//! 2. **Backward.** When every forward value is finite, the first chain-rule step that gave an
//!    input a non-finite gradient (`sqrt` at 0, an overflow), or the sum that overflowed.
//!
//! The [`Anomaly`] it reports names the node (its label — parameters bound from a
//! [`ParamStore`](crate::ParamStore) carry their names), its op and inputs, and, for a graph made
//! with [`Graph::with_source_lines`], the line of the user's code that recorded it.
//!
//! It costs one pass over the values the loss depends on, one finiteness check per gradient
//! contribution, and the loss of the scalar shortcut of the sweep; nothing when it is off.

use std::fmt;
use std::panic::Location;

use crate::backward::{NodeView, SweepObserver};
use crate::{Float, Graph, Tensor, Var};

/// Which pass produced the first non-finite value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// A forward value: an op's output, or a leaf's value.
    Forward,
    /// A gradient: a chain-rule step's contribution, or the sum of several.
    Backward,
}

/// Where a NaN or infinity first appeared: what [`Var::try_backward_with`] reports when
/// [`BackwardOptions::detect_anomaly`] is on.
///
/// ```
/// use chainrule_autodiff::{BackwardOptions, Graph, Pass};
/// let g = Graph::with_source_lines();
/// let x = g.scalar(0.0f64).named("x");
/// let y = x.sqrt() * 0.0; // finite forward, but ∂√x/∂x = 1/(2√x) is infinite at 0
/// let anomaly = y
///     .try_backward_with(BackwardOptions { detect_anomaly: true, ..Default::default() })
///     .unwrap_err();
/// assert_eq!(anomaly.pass, Pass::Backward);
/// assert_eq!(anomaly.op, "sqrt");
/// assert_eq!(anomaly.receiver.as_deref(), Some("x"));
/// assert!(anomaly.source_line.is_some());
/// ```
///
/// [`Var::try_backward_with`]: crate::Var::try_backward_with
/// [`BackwardOptions::detect_anomaly`]: crate::BackwardOptions::detect_anomaly
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// The pass that produced it.
    pub pass: Pass,
    /// What it is: `"NaN"` or `"infinity"` (NaN when the value holds both).
    pub what: &'static str,
    /// The node whose value (forward) or whose backward rule (backward) produced it.
    pub node: usize,
    /// That node's display name: its label (a parameter's name) or `n` and its id.
    pub name: String,
    /// That node's op, as its method is spelled (`"ln"`, `"matmul"`, `"parameter"`).
    pub op: &'static str,
    /// The display names of the node's inputs, in argument order.
    pub inputs: Vec<String>,
    /// The shape of the node's value.
    pub shape: Vec<usize>,
    /// The line of code that recorded the node, for a graph made with
    /// [`Graph::with_source_lines`].
    pub source_line: Option<&'static Location<'static>>,
    /// For the backward pass: the node that received the non-finite gradient.
    pub receiver: Option<String>,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let call = if self.inputs.is_empty() {
            format!("{} ({}, shape {:?})", self.name, self.op, self.shape)
        } else {
            format!(
                "{} = {}({}) (shape {:?})",
                self.name,
                self.op,
                self.inputs.join(", "),
                self.shape
            )
        };
        match self.pass {
            Pass::Forward => write!(
                f,
                "{} first appears in the forward value of {call}",
                self.what
            )?,
            Pass::Backward => write!(
                f,
                "every forward value is finite, but the backward rule of {call} gave {} a gradient \
                 holding {}",
                self.receiver.as_deref().unwrap_or("its input"),
                self.what
            )?,
        }
        if let Some(line) = self.source_line {
            write!(f, ", recorded at {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Anomaly {}

impl<T: Float> Graph<T> {
    /// The anomaly report for node `node`.
    fn anomaly(
        &self,
        pass: Pass,
        node: usize,
        bad: &Tensor<T>,
        receiver: Option<usize>,
    ) -> Anomaly {
        let nodes = self.nodes();
        let recorded = &nodes[node];
        Anomaly {
            pass,
            what: if bad.as_slice().iter().any(|v| v.is_nan()) {
                "NaN"
            } else {
                "infinity"
            },
            node,
            name: self.display_name(node),
            op: recorded.op.name(),
            inputs: recorded
                .inputs
                .iter()
                .map(|&i| self.display_name(i))
                .collect(),
            shape: recorded.value.shape().to_vec(),
            source_line: self.source_line(node),
            receiver: receiver.map(|id| self.display_name(id)),
        }
    }

    /// Of the nodes that `root` depends on (itself included), the first in recording order
    /// whose value holds a NaN or an infinity.
    fn forward_anomaly(&self, root: usize) -> Option<Anomaly> {
        let first = {
            let nodes = self.nodes();
            let mut needed = vec![false; root + 1];
            needed[root] = true;
            if !self.is_grad_enabled() {
                // A no-grad graph keeps no links between nodes: every earlier node may be one
                // the root depends on.
                needed.fill(true);
            }
            for id in (0..=root).rev() {
                if needed[id] {
                    for &input in &nodes[id].inputs {
                        needed[input] = true;
                    }
                }
            }
            (0..=root).find(|&id| needed[id] && !nodes[id].value.all_finite())?
        };
        let value = self.nodes()[first].value.clone();
        Some(self.anomaly(Pass::Forward, first, &value, None))
    }
}

impl<T: Float> Var<'_, T> {
    /// The forward half of the NaN sentinel: of the values this var depends on (itself
    /// included), the first in recording order that holds a NaN or an infinity — the op that
    /// made it, or the leaf that held it. Unlike [`Graph::first_non_finite`], values this var
    /// does not depend on are not blamed.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(-1.0f64).named("x");
    /// let _elsewhere = (x * 0.0).ln(); // −∞, but the loss does not use it
    /// let loss = x.sqrt() * 2.0; // √−1 is NaN
    /// let anomaly = loss.forward_anomaly().unwrap();
    /// assert_eq!((anomaly.op, anomaly.what), ("sqrt", "NaN"));
    /// assert_eq!(anomaly.to_string(), "NaN first appears in the forward value of n3 = sqrt(x) (shape [])");
    /// ```
    pub fn forward_anomaly(self) -> Option<Anomaly> {
        self.graph().forward_anomaly(self.id())
    }
}

/// Watches the backward sweep for the first gradient contribution, or sum of contributions,
/// that is not finite.
pub(crate) struct AnomalyWatch<T> {
    /// The node whose rule is being applied.
    current: usize,
    /// The first bad gradient: the node whose rule made it, the receiving input, the value.
    found: Option<(usize, usize, Tensor<T>)>,
}

impl<T: Float> AnomalyWatch<T> {
    pub(crate) fn new() -> Self {
        AnomalyWatch {
            current: 0,
            found: None,
        }
    }

    /// The report for what the sweep found, if anything.
    pub(crate) fn report(self, graph: &Graph<T>) -> Option<Anomaly> {
        let (node, receiver, bad) = self.found?;
        Some(graph.anomaly(Pass::Backward, node, &bad, Some(receiver)))
    }

    fn check(&mut self, input: usize, gradient: &Tensor<T>) {
        if self.found.is_none() && !gradient.all_finite() {
            self.found = Some((self.current, input, gradient.clone()));
        }
    }
}

impl<T: Float> SweepObserver<T, Tensor<T>> for AnomalyWatch<T> {
    fn visit(&mut self, id: usize, _: &NodeView<'_, T, Tensor<T>>, _: &Tensor<T>) {
        self.current = id;
    }

    fn contribution(
        &mut self,
        _: usize,
        input: usize,
        contribution: &Tensor<T>,
        _: Option<&Tensor<T>>,
    ) {
        self.check(input, contribution);
    }

    fn accumulated(&mut self, input: usize, sum: &Tensor<T>) {
        self.check(input, sum);
    }
}
