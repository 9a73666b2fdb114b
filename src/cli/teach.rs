//! What `explain` teaches, as data that the text, the JSON and the pictures all read: every
//! node (its name, kind, value and gradient, and on request its numerical slope), and every
//! chain-rule step with its local derivative written in the node's own names and then with the
//! numbers filled in (`∂n5/∂n4 = 1 − n5² = 1 − 0.905148² = 0.180707`).
//!
//! Also the numerical side: the output recomputed with one node nudged by ±h (the central
//! difference beside each analytic gradient), and, when a gradient check fails, the reason in
//! words where there is one (a kink inside the step, or the edge of a function's domain).
//!
//! It lives in the program rather than the engine because only learners read it; the engine's
//! own [`Trace`] is the source of every number here.

use chainrule::autodiff::ops::{BinaryOp, UnaryOp};
use chainrule::autodiff::{Leaf, Op, Quantity, Trace};
use chainrule::{Float, Gradients, Graph, Tensor};

/// What a node is, as a learner calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Parameter,
    Data,
    Constant,
    Op,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Parameter => "parameter",
            Kind::Data => "data",
            Kind::Constant => "constant",
            Kind::Op => "op",
        }
    }
}

/// One node of the graph, for display.
pub struct NodeRow {
    pub id: usize,
    pub name: String,
    pub kind: Kind,
    /// What it computes in its inputs' names (`z · x`); for a leaf, its kind.
    pub expression: String,
    pub inputs: Vec<usize>,
    pub value: f64,
    /// ∂L/∂node, where the backward pass reached it.
    pub gradient: Option<f64>,
    /// The central difference of the output with respect to this node (with `--numeric`).
    pub numeric: Option<f64>,
}

/// A local derivative: its formula in the node's names, the same with the numbers filled in,
/// and the condition a piecewise rule chose its branch by.
#[derive(Clone, Debug, Default)]
pub struct Rule {
    pub formula: String,
    pub filled: Option<String>,
    pub condition: Option<String>,
}

/// One chain-rule step: ∂L/∂input += ∂L/∂node · ∂node/∂input.
pub struct StepRow {
    pub node: usize,
    pub input: usize,
    pub upstream: f64,
    pub rule: Rule,
    /// ∂node/∂input as the engine computed it.
    pub local: f64,
    pub product: f64,
    /// What the input had gathered before this step, when this is not its first.
    pub earlier: Option<f64>,
    pub sum: f64,
}

/// Everything `explain` shows.
pub struct Lesson {
    pub output: usize,
    pub nodes: Vec<NodeRow>,
    pub steps: Vec<StepRow>,
    /// The step h of the numerical slopes, when they were computed.
    pub step: Option<f64>,
}

/// A number as the traces print it: six digits, a true minus sign, never `−0`.
pub fn num(x: f64) -> String {
    Quantity::Number(x).to_string()
}

/// [`num`] in parentheses when negative, for use as a factor or a base: `2.0 · (−3.0)`.
fn factor(x: f64) -> String {
    let text = num(x);
    if text.starts_with('−') {
        format!("({text})")
    } else {
        text
    }
}

/// A number in full (it reads back exactly), with a true minus sign and no `−0`.
pub fn full(x: f64) -> String {
    if x == 0.0 {
        return "0.0".into();
    }
    if x.is_nan() {
        return "NaN".into();
    }
    let text = format!("{x:?}");
    match text.strip_prefix('-') {
        Some(rest) => format!("−{rest}"),
        None => text,
    }
}

/// The value of a 0-d node.
fn value_of(g: &Graph<f64>, id: usize) -> f64 {
    g.nodes()[id].value.item()
}

/// The node's kind.
pub fn kind<T: Float>(g: &Graph<T>, id: usize) -> Kind {
    match g.nodes()[id].op {
        Op::Leaf(Leaf::Parameter) => Kind::Parameter,
        Op::Leaf(Leaf::Input) => Kind::Data,
        Op::Leaf(_) => Kind::Constant,
        _ => Kind::Op,
    }
}

/// The local derivative of node `id` with respect to its input at `position`, in the names of
/// the node and its inputs and with their values filled in.
pub fn local_rule(g: &Graph<f64>, id: usize, position: usize) -> Rule {
    let (op, inputs) = {
        let nodes = g.nodes();
        (nodes[id].op.clone(), nodes[id].inputs.to_vec())
    };
    let name = |i: usize| g.display_name(inputs[i]);
    let v = |i: usize| value_of(g, inputs[i]);
    let yv = value_of(g, id);
    // The formula in names is the engine's (the trace prints the same); here its numbers are
    // filled in, and a piecewise rule's branch is chosen by the values.
    let formula = g.local_derivative(id, position).unwrap_or_default();
    let rule = |filled: String| Rule {
        formula: formula.clone(),
        filled: Some(filled),
        condition: None,
    };
    let plain = || Rule {
        formula: formula.clone(),
        ..Rule::default()
    };
    let piece = |formula: String, condition: String| Rule {
        formula,
        filled: None,
        condition: Some(condition),
    };
    match op {
        Op::Binary(op) => {
            let (av, bv) = (v(0), v(1));
            match (op, position) {
                (BinaryOp::Add | BinaryOp::Sub, _) => plain(),
                (BinaryOp::Mul, 0) => rule(num(bv)),
                (BinaryOp::Mul, _) => rule(num(av)),
                (BinaryOp::Div, 0) => rule(format!("1/{}", factor(bv))),
                (BinaryOp::Div, _) => rule(format!("−{}/{}²", factor(av), factor(bv))),
                (BinaryOp::Pow, 0) => {
                    rule(format!("{}·{}^({} − 1)", factor(bv), factor(av), num(bv)))
                }
                (BinaryOp::Pow, _) => rule(format!("{}·ln {}", factor(yv), factor(av))),
                (BinaryOp::Maximum | BinaryOp::Minimum, _) => {
                    let other = if position == 0 { v(1) } else { v(0) };
                    let mine = v(position);
                    let chosen = if op == BinaryOp::Maximum {
                        mine > other
                    } else {
                        mine < other
                    };
                    let formula = if mine == other {
                        "½"
                    } else if chosen {
                        "1"
                    } else {
                        "0"
                    };
                    piece(
                        formula.into(),
                        format!("{} = {} against {}", name(position), num(mine), num(other)),
                    )
                }
            }
        }
        Op::Unary(op) => {
            let (x, xv) = (name(0), v(0));
            let at = format!("{x} = {}", num(xv));
            match op {
                UnaryOp::Neg {} | UnaryOp::AddScalar { .. } | UnaryOp::MulScalar { .. } => plain(),
                UnaryOp::Exp {} => rule(num(yv)),
                UnaryOp::Ln {} => rule(format!("1/{}", factor(xv))),
                UnaryOp::Sqrt {} => rule(format!("1/(2·{})", factor(yv))),
                UnaryOp::Abs {} => rule(format!("sign({})", num(xv))),
                UnaryOp::Tanh {} => rule(format!("1 − {}²", factor(yv))),
                UnaryOp::Sigmoid {} => rule(format!("{}·(1 − {})", factor(yv), factor(yv))),
                UnaryOp::Relu {} if xv > 0.0 => piece("1".into(), format!("{at} > 0")),
                UnaryOp::Relu {} => piece("0".into(), format!("{at} ≤ 0")),
                UnaryOp::Powf { exponent: 2.0 } => rule(format!("2·{}", factor(xv))),
                UnaryOp::Powf { exponent } => rule(format!(
                    "{}·{}^{}",
                    factor(exponent),
                    factor(xv),
                    factor(exponent - 1.0)
                )),
                UnaryOp::Clamp { min, max } => {
                    if (min..=max).contains(&xv) {
                        piece("1".into(), format!("{} ≤ {at} ≤ {}", num(min), num(max)))
                    } else if xv < min {
                        piece("0".into(), format!("{at} < {}", num(min)))
                    } else {
                        piece("0".into(), format!("{at} > {}", num(max)))
                    }
                }
                UnaryOp::LeakyRelu { .. } if xv > 0.0 => piece("1".into(), format!("{at} > 0")),
                UnaryOp::LeakyRelu { slope } => piece(num(slope), format!("{at} ≤ 0")),
                UnaryOp::Softplus {} => rule(format!("σ({})", num(xv))),
                UnaryOp::Gelu {} => rule(format!("gelu′({})", num(xv))),
                UnaryOp::Silu {} => rule(format!(
                    "σ({0})·(1 + {1}·(1 − σ({0})))",
                    num(xv),
                    factor(xv)
                )),
                UnaryOp::Log1p {} => rule(format!("1/(1 + {})", factor(xv))),
                UnaryOp::Expm1 {} => rule(format!("{} + 1", factor(yv))),
                UnaryOp::Sin {} => rule(format!("cos({})", num(xv))),
                UnaryOp::Cos {} => rule(format!("−sin({})", num(xv))),
                UnaryOp::Erf {} => rule(format!("2/√π·e^(−{}²)", factor(xv))),
                UnaryOp::Round {} | UnaryOp::Floor {} | UnaryOp::Sign {} => piece(
                    "0".into(),
                    "it is flat between its jumps (and has no slope at a jump)".into(),
                ),
            }
        }
        _ => Rule::default(),
    }
}

/// `∂n5/∂n4 = 1 − n5² = 1 − 0.905148² = 0.180707`: the rule, the numbers, the value, and the
/// condition of a piecewise rule.
pub fn rule_line(node: &str, input: &str, rule: &Rule, local: f64) -> String {
    let mut line = format!("∂{node}/∂{input} = ");
    let value = num(local);
    let mut parts: Vec<&str> = Vec::new();
    if !rule.formula.is_empty() {
        parts.push(&rule.formula);
    }
    if let Some(filled) = &rule.filled {
        if *filled != rule.formula {
            parts.push(filled);
        }
    }
    // A formula that is a number already says its value (`1`, `−1`, `0.5`).
    let formula_is_value = parts.len() == 1
        && parts[0]
            .replace('−', "-")
            .parse::<f64>()
            .is_ok_and(|f| f == local);
    if !formula_is_value && parts.last() != Some(&value.as_str()) {
        parts.push(&value);
    }
    line.push_str(&parts.join(" = "));
    if let Some(condition) = &rule.condition {
        line.push_str(", since ");
        line.push_str(condition);
    }
    line
}

/// `∂L/∂a += ∂L/∂n2 · ∂n2/∂a = 1.0 · (−3.0) = −3.0`, then the running sum when the input had
/// gathered gradient before.
pub fn step_line(lesson: &Lesson, step: &StepRow) -> String {
    let y = &lesson.nodes[step.node].name;
    let x = &lesson.nodes[step.input].name;
    let mut line = format!(
        "∂L/∂{x} += ∂L/∂{y} · ∂{y}/∂{x} = {} · {} = {}",
        factor(step.upstream),
        factor(step.local),
        num(step.product)
    );
    if let Some(earlier) = step.earlier {
        line.push_str(&format!(
            ", so far ∂L/∂{x} = {} + {} = {}",
            num(earlier),
            factor(step.product),
            num(step.sum)
        ));
    }
    line
}

/// The lesson of one backward pass: nodes from the graph and gradients, steps from the trace,
/// numerical slopes with step `numeric` when given.
pub fn lesson(
    g: &Graph<f64>,
    output: usize,
    grads: &Gradients<f64>,
    trace: &Trace,
    numeric: Option<f64>,
) -> Lesson {
    let slopes = numeric.map(|h| numeric_slopes(g, output, h));
    let nodes = (0..g.len())
        .map(|id| {
            let kind = kind(g, id);
            NodeRow {
                id,
                name: g.display_name(id),
                kind,
                expression: match kind {
                    Kind::Data => "data".into(),
                    _ => g.node_expression(id),
                },
                inputs: g.nodes()[id].inputs.to_vec(),
                value: value_of(g, id),
                gradient: grads.by_id(id).map(|t| t.item()),
                numeric: slopes.as_ref().map(|s| s[id]),
            }
        })
        .collect();
    let mut steps = Vec::new();
    for node in &trace.nodes {
        let upstream = node.upstream.as_number().unwrap_or(f64::NAN);
        let inputs = g.nodes()[node.node].inputs.to_vec();
        let mut seen: Vec<usize> = Vec::new();
        for step in &node.steps {
            // The step's position among the node's inputs: the first not yet taken that is
            // this input (a node may read one input twice, as x · x does).
            let taken = seen.iter().filter(|&&i| i == step.input).count();
            seen.push(step.input);
            let position = inputs
                .iter()
                .enumerate()
                .filter(|(_, &i)| i == step.input)
                .nth(taken)
                .map_or(0, |(p, _)| p);
            let local = step
                .local
                .as_ref()
                .and_then(Quantity::as_number)
                .unwrap_or(f64::NAN);
            steps.push(StepRow {
                node: node.node,
                input: step.input,
                upstream,
                rule: local_rule(g, node.node, position),
                local,
                product: step.product.as_number().unwrap_or(f64::NAN),
                earlier: step.earlier.as_ref().and_then(Quantity::as_number),
                sum: step.sum.as_number().unwrap_or(f64::NAN),
            });
        }
    }
    Lesson {
        output,
        nodes,
        steps,
        step: numeric,
    }
}

/// The forward value of one op on numbers, by the engine's own kernels.
fn forward(op: &Op<f64>, inputs: &[f64]) -> f64 {
    let g = Graph::new();
    let leaf = |x: f64| g.constant(Tensor::scalar(x));
    let value = match op {
        Op::Unary(op) => leaf(inputs[0]).apply_unary(*op),
        Op::Binary(op) => {
            let (a, b) = (leaf(inputs[0]), leaf(inputs[1]));
            match op {
                BinaryOp::Add => a + b,
                BinaryOp::Sub => a - b,
                BinaryOp::Mul => a * b,
                BinaryOp::Div => a / b,
                BinaryOp::Pow => a.pow(b),
                BinaryOp::Maximum => return inputs[0].max(inputs[1]),
                BinaryOp::Minimum => return inputs[0].min(inputs[1]),
            }
        }
        _ => return f64::NAN,
    };
    value.item()
}

/// Every node's value with node `nudged` moved by `delta` and everything after it recomputed.
pub fn replay(g: &Graph<f64>, nudged: usize, delta: f64) -> Vec<f64> {
    let nodes = g.nodes();
    let mut values: Vec<f64> = nodes.iter().map(|n| n.value.item()).collect();
    values[nudged] += delta;
    for id in nudged + 1..nodes.len() {
        let node = &nodes[id];
        if matches!(node.op, Op::Leaf(_)) {
            continue;
        }
        let inputs: Vec<f64> = node.inputs.iter().map(|&i| values[i]).collect();
        values[id] = forward(&node.op, &inputs);
    }
    values
}

/// The central difference of the output with respect to node `id`, with step `h`.
pub fn central_difference(g: &Graph<f64>, output: usize, id: usize, h: f64) -> f64 {
    (replay(g, id, h)[output] - replay(g, id, -h)[output]) / (2.0 * h)
}

/// The central difference of the output with respect to every node (0 for nodes the output
/// does not read).
fn numeric_slopes(g: &Graph<f64>, output: usize, h: f64) -> Vec<f64> {
    (0..g.len())
        .map(|id| {
            if id > output {
                0.0
            } else {
                central_difference(g, output, id, h)
            }
        })
        .collect()
}

/// Why a central difference over leaf `leaf` with step `h` may disagree with the engine, in
/// words: each node whose input crosses a kink within the step, and each node that leaves its
/// function's domain. Empty when nothing of the kind happens.
pub fn diagnose(g: &Graph<f64>, leaf: usize, h: f64) -> Vec<String> {
    let below = replay(g, leaf, -h);
    let above = replay(g, leaf, h);
    let nodes = g.nodes();
    let leaf_name = g.display_name(leaf);
    let mut reasons = Vec::new();
    for (id, node) in nodes.iter().enumerate().skip(leaf + 1) {
        let Some(&input) = node.inputs.first() else {
            continue;
        };
        let name = g.display_name(id);
        let expression = g.node_expression(id);
        let x = value_of(g, input);
        let (lo, hi) = (
            below[input].min(above[input]),
            below[input].max(above[input]),
        );
        let x_name = g.display_name(input);
        let range = format!(
            "as {leaf_name} moves by ±{h:e}, {x_name} goes from {} to {}",
            num(below[input]),
            num(above[input])
        );
        if value_of(g, id).is_finite() && !(below[id].is_finite() && above[id].is_finite()) {
            let domain = match node.op {
                Op::Unary(UnaryOp::Ln {}) => " (ln is defined for x > 0 only)",
                Op::Unary(UnaryOp::Sqrt {}) => " (√x is defined for x ≥ 0 only)",
                Op::Unary(UnaryOp::Log1p {}) => " (log1p is defined for x > −1 only)",
                Op::Binary(BinaryOp::Pow) | Op::Unary(UnaryOp::Powf { .. }) => {
                    " (a power of a negative number is defined for whole exponents only)"
                }
                Op::Binary(BinaryOp::Div) => " (there is no dividing by 0)",
                _ => "",
            };
            reasons.push(format!(
                "{name} = {expression} is {} at {x_name} = {} but not a number within the step \
                 ({range}): the step crosses the edge of the function's domain{domain}, so the \
                 finite difference is meaningless there; check at a point farther from the edge \
                 or with a smaller --step",
                num(value_of(g, id)),
                num(x)
            ));
            continue;
        }
        let kinks: Vec<(f64, &str)> = match node.op {
            Op::Unary(UnaryOp::Relu {}) => vec![(0.0, "0 on the left and 1 on the right")],
            Op::Unary(UnaryOp::LeakyRelu { .. }) => {
                vec![(0.0, "the slope on the left and 1 on the right")]
            }
            Op::Unary(UnaryOp::Abs {}) => vec![(0.0, "−1 on the left and 1 on the right")],
            Op::Unary(UnaryOp::Clamp { min, max }) => vec![
                (min, "0 below min and 1 above it"),
                (max, "1 below max and 0 above it"),
            ],
            Op::Unary(UnaryOp::Sign {}) => vec![(0.0, "a jump")],
            Op::Unary(UnaryOp::Floor {}) => vec![(x.round(), "a jump at each whole number")],
            Op::Unary(UnaryOp::Round {}) => vec![(
                x.floor() + 0.5,
                "a jump at each half-way point between whole numbers",
            )],
            _ => vec![],
        };
        for (at, sides) in kinks {
            if lo <= at && at <= hi && lo < hi {
                reasons.push(format!(
                    "{name} = {expression} has a kink at {x_name} = {} inside the step ({range}): \
                     its slope is {sides}. The engine takes one side's slope there, the central \
                     difference averages the two sides, so they disagree at the kink and agree \
                     anywhere else; this is the function's nature, not a wrong rule",
                    num(at)
                ));
            }
        }
    }
    reasons
}
