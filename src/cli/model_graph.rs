//! `chainrule graph`: a saved model run on the first rows of a CSV file, its loss taken against
//! the target column and backpropagated, and the graph drawn at the level of tensor ops — each
//! node with its shape and the L2 norms of its value and its gradient; parameters by name
//! (`hidden1.weight`), each layer's output by its layer's name, the features, the targets and
//! the loss drawn apart.
//!
//! The model is loaded and matched to the data as `predict` does it ([`model_file::load`],
//! [`predict::read_rows`]), and the loss is the one `train` minimised ([`train::loss`]); the
//! pictures are `explain`'s ([`picture`]), with shapes and norms where `explain` has numbers.

use std::path::Path;

use chainrule::autodiff::{Quantity, Trace};
use chainrule::{Gradients, Graph, Tensor};
use chainrule_layers::Module;
use chainrule_train::{Batch, DataError, Targets, Task};
use serde_json::{json, Value};

use super::error::CliError;
use super::model_file::{self, Architecture, Real};
use super::picture::{self, Drawing, DrawnNode};
use super::predict::{self, Rows};
use super::teach::{kind, num, Kind};
use super::train_args::GraphArgs;
use super::{files, output, train};

/// One node of the model's graph, for display.
pub struct TensorNode {
    pub name: String,
    pub kind: Kind,
    /// What it computes in its inputs' names (`matmul(features, hidden1.weight)`).
    pub expression: String,
    pub inputs: Vec<usize>,
    pub value: Quantity,
    /// ∂L/∂node, where the backward pass reached it.
    pub gradient: Option<Quantity>,
}

/// One chain-rule step on tensors: what node `node`'s rule sent back to `input`.
pub struct TensorStep {
    pub node: usize,
    pub input: usize,
    /// The node's local derivatives as the engine's trace states them: in the nodes' names
    /// for an elementwise op, on tensors for the others.
    pub rule: String,
    /// ∂L/∂node · ∂node/∂input, the vector–Jacobian product, in the input's shape.
    pub contribution: Quantity,
    /// ∂L/∂input so far, when this is not its first contribution.
    pub earlier: Option<Quantity>,
    pub sum: Quantity,
}

/// The model's graph on some rows, with its values and gradients.
pub struct ModelGraph {
    pub nodes: Vec<TensorNode>,
    pub steps: Vec<TensorStep>,
    /// The loss node.
    pub output: usize,
}

/// Runs `chainrule graph`: writes the files asked for, then prints the nodes as text (or JSON).
pub fn run(args: &GraphArgs) -> Result<(), CliError> {
    let svg = files::Output::requested("--svg", "SVG", args.svg.as_deref());
    let html = files::Output::requested("--html", "HTML", args.html.as_deref());
    let outputs: Vec<files::Output<'_>> = svg.into_iter().chain(html).collect();
    files::check(&outputs)?;
    let (architecture, mut model, params) = model_file::load(&args.model)?;
    let limit = usize::try_from(args.rows).unwrap_or(usize::MAX);
    let rows = predict::read_rows(&args.data, &args.model, &architecture, Some(limit))?;
    let targets = targets(&args.data, &args.model, &architecture, &rows)?;
    model.set_training(false);

    let g = Graph::new();
    let features = architecture.feature_scaling.apply(&rows.features);
    let mut x = g.input(features.clone()).named("features");
    let layers = model.modules();
    for (i, layer) in layers.iter().enumerate() {
        // The layer's output by the layer's name, as its parameters are (`hidden1.weight`).
        let name = if i + 1 == layers.len() {
            "output".to_string()
        } else {
            format!("hidden{}", i + 1)
        };
        x = layer.forward(&g, &params, x).named(name);
    }
    let batch = Batch {
        features,
        targets,
        rows: (0..rows.lines.len()).collect(),
    };
    let loss = train::loss(x, &batch).named("loss");
    let (grads, trace) = loss.backward_traced();
    let graph = model_graph(&g, loss.id(), &grads, &trace);

    let json = graph_json(&graph, &architecture);
    let contents: Vec<String> = outputs
        .iter()
        .map(|output| match output.what {
            "HTML" => page(&graph, &architecture, rows.lines.len(), &json),
            _ => picture::svg(&drawing(&graph)),
        })
        .collect();
    if files::write_texts(&outputs, &contents)? {
        return Ok(());
    }
    let text = if args.json {
        json
    } else {
        text(&graph, args, &architecture, &rows)
    };
    output::print(&text)
}

/// The target cells as the loss wants them: class numbers, or values standardized as in
/// training.
fn targets(
    data: &Path,
    model: &Path,
    architecture: &Architecture,
    rows: &Rows,
) -> Result<Targets<Real>, CliError> {
    let (Some(cells), Some(column_number)) = (&rows.targets, rows.target_column) else {
        return Err(CliError::MissingTarget {
            data: data.to_path_buf(),
            model: model.to_path_buf(),
            target: architecture.target.clone(),
        });
    };
    let cell = |i: usize| (rows.lines[i], cells[i].clone());
    match (architecture.task, &architecture.target_scaling) {
        (Task::Regression, Some(scaling)) => {
            let mut values = Vec::with_capacity(cells.len());
            for (i, text) in cells.iter().enumerate() {
                match text.trim().parse::<f64>() {
                    Ok(v) if (v as Real).is_finite() => values.push(v as Real),
                    _ => {
                        let (line, text) = cell(i);
                        return Err(DataError::NotANumber {
                            path: data.to_path_buf(),
                            line,
                            column_number,
                            column: architecture.target.clone(),
                            text,
                        }
                        .into());
                    }
                }
            }
            let n = values.len();
            Ok(Targets::Values(
                scaling.apply(&Tensor::from_vec(values, &[n, 1])),
            ))
        }
        _ => {
            let expected = match &architecture.classes {
                Some(names) => names.join(", "),
                None => format!("a whole number from 0 to {}", architecture.outputs - 1),
            };
            let class = |text: &str| match &architecture.classes {
                Some(names) => names.iter().position(|n| n == text),
                None => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.fract() == 0.0 && *v >= 0.0)
                    .map(|v| v as usize)
                    .filter(|&c| c < architecture.outputs),
            };
            let mut classes = Vec::with_capacity(cells.len());
            for (i, text) in cells.iter().enumerate() {
                match class(text) {
                    Some(c) => classes.push(c),
                    None => {
                        let (line, text) = cell(i);
                        return Err(CliError::UnknownClass {
                            at: format!(
                                "{}:{line}:{column_number}: column {:?}",
                                data.display(),
                                architecture.target
                            ),
                            model: model.to_path_buf(),
                            text,
                            expected,
                        });
                    }
                }
            }
            Ok(Targets::Classes(classes))
        }
    }
}

/// Every node with its value and gradient, and every step of the backward pass.
pub fn model_graph(
    g: &Graph<Real>,
    output: usize,
    grads: &Gradients<Real>,
    trace: &Trace,
) -> ModelGraph {
    let nodes = (0..g.len())
        .map(|id| {
            let kind = kind(g, id);
            TensorNode {
                name: g.display_name(id),
                kind,
                expression: g.node_expression(id),
                inputs: g.nodes()[id].inputs.to_vec(),
                value: Quantity::of(&g.nodes()[id].value),
                gradient: grads.by_id(id).map(Quantity::of),
            }
        })
        .collect();
    let steps = trace
        .nodes
        .iter()
        .flat_map(|node| {
            node.steps.iter().map(|step| TensorStep {
                node: node.node,
                input: step.input,
                rule: node.rule.clone(),
                contribution: step.product.clone(),
                earlier: step.earlier.clone(),
                sum: step.sum.clone(),
            })
        })
        .collect();
    ModelGraph {
        nodes,
        steps,
        output,
    }
}

/// The L2 norm: of a number, its size.
pub fn norm(quantity: &Quantity) -> f64 {
    match *quantity {
        Quantity::Number(x) => x.abs(),
        Quantity::Tensor { norm, .. } => norm,
    }
}

/// A number as itself, a tensor as its norm: `0.53`, `‖·‖ = 3.2`.
fn short(quantity: &Quantity) -> String {
    match quantity {
        Quantity::Number(x) => num(*x),
        Quantity::Tensor { norm, .. } => format!("‖·‖ = {}", num(*norm)),
    }
}

/// The shape as written in the boxes and the table: `[8, 16]`, or `[]` for a number.
fn shape(quantity: &Quantity) -> String {
    match quantity {
        Quantity::Number(_) => "[]".into(),
        Quantity::Tensor { shape, .. } => format!("{shape:?}"),
    }
}

/// The boxes: what each node is, its shape, and its value's and gradient's norms.
fn drawing(graph: &ModelGraph) -> Drawing {
    let boxes = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(id, node)| {
            let mut head = match node.kind {
                Kind::Op => format!("{} = {}", node.name, node.expression),
                kind => format!("{} ({})", node.name, kind.word()),
            };
            if id == graph.output {
                head.push_str(" — L, the loss");
            }
            let mut lines = vec![head];
            if matches!(node.value, Quantity::Tensor { .. }) {
                lines.push(format!("shape {}", shape(&node.value)));
            }
            lines.push(format!("value {}", short(&node.value)));
            if let Some(gradient) = &node.gradient {
                lines.push(format!("grad {}", short(gradient)));
            }
            DrawnNode {
                lines,
                kind: node.kind,
                inputs: node.inputs.clone(),
                title: Some(format!("{} {}", node.name, node.value)),
            }
        })
        .collect();
    Drawing {
        boxes,
        output: graph.output,
        carried: picture::carried(
            graph.nodes.iter().map(|n| n.inputs.as_slice()),
            graph
                .steps
                .iter()
                .map(|s| (s.node, s.input, short(&s.contribution))),
        ),
    }
}

/// `∂L/∂hidden1.weight += ∂L/∂n3 · ∂n3/∂hidden1.weight = [4, 16] ‖·‖ = 0.21`, then the norm of
/// the running sum when the input had gathered gradient before.
fn step_line(graph: &ModelGraph, step: &TensorStep) -> String {
    let y = &graph.nodes[step.node].name;
    let x = &graph.nodes[step.input].name;
    let mut line = format!(
        "∂L/∂{x} += ∂L/∂{y} · ∂{y}/∂{x} = {} {}",
        shape(&step.contribution),
        short(&step.contribution)
    );
    if step.earlier.is_some() {
        line.push_str(&format!(", so far ∂L/∂{x} {}", short(&step.sum)));
    }
    line
}

/// `graph --json`, also the data of the page: every node (name, kind, expression, inputs,
/// shape, value and gradient norms) and every step (the edge, the rule, the contribution's and
/// the running sum's norms, and the step's line).
fn graph_json(graph: &ModelGraph, architecture: &Architecture) -> String {
    let name = |id: usize| graph.nodes[id].name.clone();
    let nodes: Vec<Value> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(id, n)| {
            json!({
                "id": id,
                "name": n.name,
                "kind": n.kind.word(),
                "expression": n.expression,
                "inputs": n.inputs.iter().map(|&i| name(i)).collect::<Vec<_>>(),
                "input_ids": n.inputs,
                "shape": match &n.value {
                    Quantity::Number(_) => vec![],
                    Quantity::Tensor { shape, .. } => shape.clone(),
                },
                "value_norm": norm(&n.value),
                "gradient_norm": n.gradient.as_ref().map(norm),
                "output": id == graph.output,
            })
        })
        .collect();
    let steps: Vec<Value> = graph
        .steps
        .iter()
        .map(|s| {
            json!({
                "node": name(s.node),
                "node_id": s.node,
                "input": name(s.input),
                "input_id": s.input,
                "contribution_norm": norm(&s.contribution),
                "gradient_so_far_norm": norm(&s.sum),
                "shown_so_far": short(&s.sum),
                "rule_text": format!(
                    "{} = {}    {}",
                    name(s.node),
                    graph.nodes[s.node].expression,
                    s.rule
                ),
                "text": step_line(graph, s),
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({
        "model": architecture.describe(),
        "loss": norm(&graph.nodes[graph.output].value),
        "output": name(graph.output),
        "nodes": nodes,
        "steps": steps,
    }))
    .expect("JSON values serialize");
    text.push('\n');
    text
}

/// The interactive page: `explain --html`'s, on the model's graph.
fn page(graph: &ModelGraph, architecture: &Architecture, rows: usize, json: &str) -> String {
    let heading = format!(
        "The model {} on {rows} rows: the loss L = {} ({}), backpropagated one step at a time",
        architecture.describe(),
        num(norm(&graph.nodes[graph.output].value)),
        train::loss_name(architecture.task),
    );
    let intro = "Each step sends the gradient that reached a node, ∂L/∂node, back through the \
                 node's rule to one of its inputs (a vector–Jacobian product, in the input's \
                 shape); the boxes show each tensor's shape and the L2 norms ‖·‖ of its value \
                 and gradient. Blue: parameters; yellow: data; red outline: the loss L.";
    picture::page(&drawing(graph), &heading, intro, json)
}

/// One line of what was run, then a table: each node, what it computes, its shape and norms.
fn text(graph: &ModelGraph, args: &GraphArgs, architecture: &Architecture, rows: &Rows) -> String {
    let first = rows.lines.first().copied().unwrap_or(0);
    let last = rows.lines.last().copied().unwrap_or(0);
    let loss = &graph.nodes[graph.output];
    let mut out = format!(
        "the model {} ({}) on {} rows of {} (lines {first}–{last}): {} = {} ({})\n\n",
        args.model.display(),
        architecture.describe(),
        rows.lines.len(),
        args.data.display(),
        loss.name,
        num(norm(&loss.value)),
        train::loss_name(architecture.task),
    );
    let table: Vec<[String; 5]> = graph
        .nodes
        .iter()
        .map(|n| {
            [
                n.name.clone(),
                match n.kind {
                    Kind::Op => n.expression.clone(),
                    kind => kind.word().to_string(),
                },
                shape(&n.value),
                num(norm(&n.value)),
                n.gradient
                    .as_ref()
                    .map_or("—".to_string(), |g| num(norm(g))),
            ]
        })
        .collect();
    output::table(
        &mut out,
        ["node", "computes", "shape", "‖value‖", "‖grad‖"],
        &table,
    );
    out
}
