//! The backward trace: the chain rule written out, step by step, as the sweep applied it.
//!
//! [`Var::backward_traced`] runs the ordinary first-order sweep (the one in
//! [`crate::backward`]) with an observer that writes down, for each node in the order the sweep
//! visits it, what reached the node (∂L/∂y), and for each input what the rule sent on: the
//! local derivative ∂y/∂x, the product ∂L/∂y · ∂y/∂x, and the running sum when the input feeds
//! several nodes. Printed, a trace reads like the chain rule done by hand:
//!
//! ```text
//! n3 = n2 + a    ∂n3/∂n2 = 1, ∂n3/∂a = 1
//!   ∂L/∂n2 += ∂L/∂n3 · ∂n3/∂n2 = 1.0 · 1.0 = 1.0
//!   ∂L/∂a += ∂L/∂n3 · ∂n3/∂a = 1.0 · 1.0 = 1.0
//! n2 = a · b     ∂n2/∂a = b, ∂n2/∂b = a
//!   ∂L/∂a += ∂L/∂n2 · ∂n2/∂a = 1.0 · (−3.0) = −3.0, so far ∂L/∂a = 1.0 + (−3.0) = −2.0
//!   ∂L/∂b += ∂L/∂n2 · ∂n2/∂b = 1.0 · 2.0 = 2.0
//! ```
//!
//! Each local derivative is written in the node's own names
//! ([`Graph::local_derivative`]); an op whose derivative is a Jacobian (matmul, a reduction)
//! states its rule on tensors instead (`matmul: C = A·B: ∂L/∂A = G·Bᵀ, ∂L/∂B = Aᵀ·G`).
//!
//! It is its own module because only learners and debuggers want it; the plain backward pays
//! nothing for it.

use std::fmt;

use crate::backward::{Differentiable, NodeView, SweepObserver};
use crate::ops::InputGrads;
use crate::{BackwardOptions, Float, Gradients, Graph, Quantity, Tensor, Var};

/// Every chain-rule step of one backward pass, in the order the sweep took them (see
/// [`Var::backward_traced`]). `Display` prints it as plain text, one line per node and one per
/// step.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The id of the node backward started from: the `L` of every `∂L/∂…`.
    pub root: usize,
    /// The root's display name.
    pub root_name: String,
    /// The nodes the sweep visited, from the root back towards the leaves.
    pub nodes: Vec<TraceNode>,
}

/// One node the sweep visited: the gradient that reached it and what its rule sent on.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceNode {
    /// The node's id in the tape.
    pub node: usize,
    /// Its display name (its label, or `n` and its id).
    pub name: String,
    /// What it computes, in its inputs' names (`w · x`, `tanh(n4)`).
    pub expression: String,
    /// The op's name (`mul`, `tanh`).
    pub op: &'static str,
    /// The op's local derivative in textbook form (`∂y/∂x = 1 − y²`).
    pub formula: &'static str,
    /// The local derivatives as printed: in the node's own names for an elementwise op
    /// (`∂n5/∂n4 = 1 − n5²`, one per input), else the op's name and its rule on tensors.
    pub rule: String,
    /// ∂L/∂y: the gradient that had reached this node when the sweep came to it.
    pub upstream: Quantity,
    /// One step per input that wants a gradient, in argument order.
    pub steps: Vec<ChainStep>,
}

/// One application of the chain rule: ∂L/∂x += ∂L/∂y · ∂y/∂x.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainStep {
    /// The input's id in the tape.
    pub input: usize,
    /// The input's display name.
    pub input_name: String,
    /// ∂y/∂x, the node's local derivative with respect to this input, for a node whose value
    /// and inputs are all 0-d (it is the rule applied to a seed of 1); `None` for tensors,
    /// whose local derivative is a Jacobian the rule never forms.
    pub local: Option<Quantity>,
    /// ∂L/∂y · ∂y/∂x: what the rule sent to the input (for tensors, the vector–Jacobian
    /// product, already summed back to the input's shape).
    pub product: Quantity,
    /// What the input had gathered from nodes visited earlier, when this is not its first
    /// contribution (the input feeds several nodes).
    pub earlier: Option<Quantity>,
    /// ∂L/∂x so far: `earlier + product`, or `product` alone.
    pub sum: Quantity,
}

impl<'g, T: Float> Var<'g, T> {
    /// [`Var::backward`], also recording each chain-rule step the sweep takes (a [`Trace`]).
    /// The gradients keep every node's entry, as with [`BackwardOptions::retain_all`], so that
    /// intermediate gradients can be looked up or drawn
    /// ([`Graph::to_dot`](crate::Graph::to_dot)).
    ///
    /// # Panics
    /// As [`Var::backward`]: when the var has more than one element, or depends on no
    /// parameter.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let a = g.scalar(2.0f64).named("a");
    /// let b = g.scalar(-3.0f64).named("b");
    /// let c = a * b + a;
    /// let (grads, trace) = c.backward_traced();
    /// assert_eq!(grads[a].item(), -2.0);
    /// let text = trace.to_string();
    /// assert!(text.contains("∂L/∂a += ∂L/∂n2 · ∂n2/∂a = 1.0 · (−3.0) = −3.0"));
    /// assert!(text.contains("so far ∂L/∂a = 1.0 + (−3.0) = −2.0"));
    /// ```
    #[track_caller]
    pub fn backward_traced(self) -> (Gradients<T>, Trace) {
        let graph = self.graph();
        let mut recorder = Recorder {
            graph,
            nodes: Vec::new(),
            locals: InputGrads::new(),
        };
        let options = BackwardOptions {
            retain_all: true,
            ..Default::default()
        };
        let grads = self.first_order("backward_traced", options, &mut recorder);
        let trace = Trace {
            root: self.id(),
            root_name: self.display_name(),
            nodes: recorder.nodes,
        };
        (grads, trace)
    }
}

/// The sweep observer that writes the trace down.
struct Recorder<'a, T> {
    graph: &'a Graph<T>,
    nodes: Vec<TraceNode>,
    /// The local derivatives of the node being visited, one per input (0-d nodes only).
    locals: InputGrads<Tensor<T>>,
}

impl<T: Float> Recorder<'_, T> {
    fn current_step(&mut self) -> &mut ChainStep {
        let node = self.nodes.last_mut().expect("a step follows a visit");
        node.steps.last_mut().expect("a sum follows a contribution")
    }
}

impl<T: Float> SweepObserver<T, Tensor<T>> for Recorder<'_, T> {
    fn visit(&mut self, id: usize, node: &NodeView<'_, T, Tensor<T>>, upstream: &Tensor<T>) {
        let all_numbers = node.output.rank() == 0 && node.inputs.iter().all(|x| x.rank() == 0);
        self.locals = if all_numbers {
            // With a seed of 1 the rule's output is the local derivative itself.
            let seed = Tensor::ones(&[]);
            Tensor::apply_rule(node.op, node.inputs, node.output, seed, node.wants)
        } else {
            InputGrads::new()
        };
        self.nodes.push(TraceNode {
            node: id,
            name: self.graph.display_name(id),
            expression: self.graph.node_expression(id),
            op: node.op.name(),
            formula: node.op.formula(),
            rule: rule(self.graph, id, node.op.name(), node.op.formula()),
            upstream: Quantity::of(upstream),
            steps: Vec::new(),
        });
    }

    fn contribution(
        &mut self,
        position: usize,
        input: usize,
        contribution: &Tensor<T>,
        earlier: Option<&Tensor<T>>,
    ) {
        let local = self
            .locals
            .get(position)
            .and_then(Option::as_ref)
            .map(Quantity::of);
        let step = ChainStep {
            input,
            input_name: self.graph.display_name(input),
            local,
            product: Quantity::of(contribution),
            earlier: earlier.map(Quantity::of),
            sum: Quantity::of(contribution),
        };
        self.nodes
            .last_mut()
            .expect("a contribution follows a visit")
            .steps
            .push(step);
    }

    fn accumulated(&mut self, _input: usize, sum: &Tensor<T>) {
        self.current_step().sum = Quantity::of(sum);
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = &self.root_name;
        writeln!(
            f,
            "L = {root}: the sweep seeds ∂L/∂{root} = 1.0 and walks the tape backwards"
        )?;
        if self.nodes.is_empty() {
            return writeln!(f, "(no op lies between {root} and the parameters)");
        }
        let width = self
            .nodes
            .iter()
            .map(|n| header(n).chars().count())
            .max()
            .unwrap_or(0);
        for node in &self.nodes {
            let head = header(node);
            let pad = width - head.chars().count();
            write!(f, "{head}{:pad$}    {}", "", node.rule)?;
            if !matches!(node.upstream, Quantity::Number(_)) {
                write!(f, "; ∂L/∂{} = {}", node.name, node.upstream)?;
            }
            writeln!(f)?;
            for step in &node.steps {
                writeln!(f, "  {}", StepLine { node, step })?;
            }
        }
        Ok(())
    }
}

/// `∂n2/∂w = x, ∂n2/∂x = w` (an input read twice once), or `matmul: C = A·B: …` for an op
/// whose derivative is a Jacobian.
fn rule<T: Float>(graph: &Graph<T>, id: usize, op: &str, formula: &str) -> String {
    let inputs = graph.nodes()[id].inputs.to_vec();
    let y = graph.display_name(id);
    let mut parts: Vec<String> = Vec::new();
    for (position, &input) in inputs.iter().enumerate() {
        let Some(derivative) = graph.local_derivative(id, position) else {
            return format!("{op}: {formula}");
        };
        let part = format!("∂{y}/∂{} = {derivative}", graph.display_name(input));
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    parts.join(", ")
}

/// `n2 = w · x`
fn header(node: &TraceNode) -> String {
    format!("{} = {}", node.name, node.expression)
}

/// One step as a line: `∂L/∂a += ∂L/∂c · ∂c/∂a = 1.0 · (−3.0) = −3.0`, then the running sum.
struct StepLine<'a> {
    node: &'a TraceNode,
    step: &'a ChainStep,
}

impl fmt::Display for StepLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, x) = (&self.node.name, &self.step.input_name);
        write!(f, "∂L/∂{x} += ∂L/∂{y} · ∂{y}/∂{x} = ")?;
        match &self.step.local {
            Some(local) => write!(
                f,
                "{} · {} = {}",
                self.node.upstream.as_factor(),
                local.as_factor(),
                self.step.product
            )?,
            None => write!(f, "{}", self.step.product)?,
        }
        if let Some(earlier) = &self.step.earlier {
            write!(
                f,
                ", so far ∂L/∂{x} = {} + {} = {}",
                earlier,
                self.step.product.as_factor(),
                self.step.sum
            )?;
        }
        Ok(())
    }
}
