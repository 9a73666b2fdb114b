//! What `explain` and `gradcheck` print: plain text for people, one JSON object for tools.
//!
//! Text shows numbers as the engine's traces do (six digits, a true minus sign) where it
//! explains, and in full (`{:?}`, which reads back exactly) where it reports a result.

use std::collections::HashMap;
use std::fmt::Write;
use std::io::Write as _;

use chainrule::{GradcheckOptions, Graph};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::error::{CliError, Source};
use super::eval::Inputs;
use super::parse::Program;
use super::teach::{full, num, rule_line, step_line, Kind, Lesson, NodeRow};

/// Writes `text` to standard output and flushes it, so that a failed write (a full disk,
/// `> /dev/full`) is an error rather than lost rows with exit status 0. The caller ends
/// quietly on [`std::io::ErrorKind::BrokenPipe`] (see `cli::run`).
pub fn print(text: &str) -> Result<(), CliError> {
    print_bytes(text.as_bytes())
}

/// [`print`] for bytes (a model file written to `-`).
pub fn print_bytes(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// `x = 0.5, w = −1.0`
fn at(leaves: &[(String, f64, bool)]) -> String {
    let values: Vec<String> = leaves
        .iter()
        .map(|(n, v, _)| format!("{n} = {}", full(*v)))
        .collect();
    values.join(", ")
}

/// The program as a heading: an expression as written; a program statement by statement.
pub fn heading(source: &Source, program: &Program, output: &str) -> String {
    if program.is_expression() && source.file.is_none() {
        return source.text.trim().to_string();
    }
    let mut text = String::from("the program\n");
    for line in source.text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        for statement in line.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let _ = writeln!(text, "  {statement}");
        }
    }
    let _ = write!(text, "gives L = {output}");
    text
}

/// `explain`'s text: the value, the forward pass node by node, the backward trace with each
/// local derivative in the node's names and numbers, and the gradient of each parameter (with
/// `--numeric`, every node's numerical slope beside its gradient).
pub fn explain_text(
    source: &Source,
    program: &Program,
    leaves: &[(String, f64, bool)],
    g: &Graph<f64>,
    lesson: &Lesson,
) -> String {
    let output = &lesson.nodes[lesson.output];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} = {} at {}",
        heading(source, program, &output.name),
        full(output.value),
        at(leaves)
    );

    let _ = writeln!(
        out,
        "\nforward: each node's value, in the order the graph recorded it"
    );
    let rows: Vec<(String, String)> = lesson
        .nodes
        .iter()
        .map(|node| {
            let left = match node.kind {
                Kind::Op => format!("{} = {}", node.name, node.expression),
                kind => format!("{} ({})", node.name, kind.word()),
            };
            let mut right = num(node.value);
            if node.id == lesson.output {
                right.push_str("   ← L, the output");
            }
            (left, right)
        })
        .collect();
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    for (left, value) in rows {
        let pad = width - left.chars().count();
        let _ = writeln!(out, "  {left}{:pad$} = {value}", "");
    }
    if let Some(bad) = g.first_non_finite() {
        let _ = writeln!(
            out,
            "  note: {} = {} is the first node whose value is NaN or infinite",
            g.display_name(bad.node),
            g.node_expression(bad.node)
        );
    }

    let _ = writeln!(
        out,
        "\nbackward: the chain rule, node by node, from the output back to the variables"
    );
    let _ = writeln!(
        out,
        "  L = {}: the sweep seeds ∂L/∂{} = 1.0 and walks the graph backwards",
        output.name, output.name
    );
    let mut steps = lesson.steps.iter().peekable();
    while let Some(first) = steps.peek() {
        let node = &lesson.nodes[first.node];
        let mut head = format!(
            "{} = {}    ∂L/∂{} = {}",
            node.name,
            node.expression,
            node.name,
            num(first.upstream)
        );
        if let Some(slope) = node.numeric {
            let _ = write!(head, " (numerical slope {})", num(slope));
        }
        let _ = writeln!(out, "  {head}");
        let id = node.id;
        while let Some(step) = steps.next_if(|s| s.node == id) {
            let input = &lesson.nodes[step.input].name;
            let _ = writeln!(
                out,
                "    {}",
                rule_line(&node.name, input, &step.rule, step.local)
            );
            let _ = writeln!(out, "    {}", step_line(lesson, step));
        }
    }

    let parameters: Vec<&NodeRow> = lesson
        .nodes
        .iter()
        .filter(|n| n.kind == Kind::Parameter && n.gradient.is_some())
        .collect();
    let _ = writeln!(out, "\ngradients of L = {}", output.name);
    for node in &parameters {
        let gradient = node.gradient.unwrap_or(f64::NAN);
        let _ = writeln!(out, "  ∂L/∂{} = {}", node.name, full(gradient));
    }
    if let Some(h) = lesson.step {
        let _ = writeln!(
            out,
            "\nthe numerical slope of every node: (L(node + h) − L(node − h)) / 2h with h = {h:e}, \
             beside its gradient"
        );
        let rows: Vec<[String; 4]> = lesson
            .nodes
            .iter()
            .filter(|n| n.gradient.is_some())
            .map(|n| {
                let gradient = n.gradient.unwrap_or(f64::NAN);
                let slope = n.numeric.unwrap_or(f64::NAN);
                [
                    n.name.clone(),
                    num(gradient),
                    num(slope),
                    format!("{:.1e}", (gradient - slope).abs()),
                ]
            })
            .collect();
        table(
            &mut out,
            ["node", "∂L/∂node", "numerical slope", "difference"],
            &rows,
        );
    }
    out
}

/// Rows under a header, each column as wide as its widest cell.
pub fn table<const N: usize>(out: &mut String, header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header = header.map(str::to_string);
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| {
                let pad = w - cell.chars().count();
                format!("{cell}{:pad$}", "")
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
}

#[derive(Serialize)]
struct Explained {
    value: f64,
    gradients: Map<String, Value>,
    output: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<f64>,
    nodes: Vec<Value>,
    steps: Vec<Value>,
}

/// `explain --json`: the value, the parameters' gradients by name, every node and every
/// chain-rule step (see the README for the fields).
pub fn explain_json(lesson: &Lesson, leaves: &[(String, f64, bool)]) -> String {
    let by_name: HashMap<&str, &NodeRow> =
        lesson.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let gradients = leaves
        .iter()
        .filter(|(_, _, data)| !data)
        .filter_map(|(name, _, _)| {
            let node = by_name.get(name.as_str())?;
            Some((name.clone(), Value::from(node.gradient?)))
        })
        .collect();
    let name = |id: usize| lesson.nodes[id].name.clone();
    let nodes = lesson
        .nodes
        .iter()
        .map(|n| {
            let mut node = json!({
                "id": n.id,
                "name": n.name,
                "kind": n.kind.word(),
                "expression": n.expression,
                "inputs": n.inputs.iter().map(|&i| name(i)).collect::<Vec<_>>(),
                "input_ids": n.inputs,
                "value": n.value,
                "gradient": n.gradient,
                "output": n.id == lesson.output,
            });
            if lesson.step.is_some() {
                node["numeric"] = Value::from(n.numeric);
            }
            node
        })
        .collect();
    let steps = lesson
        .steps
        .iter()
        .map(|s| {
            let (y, x) = (name(s.node), name(s.input));
            json!({
                "node": y,
                "node_id": s.node,
                "input": x,
                "input_id": s.input,
                "upstream": s.upstream,
                "local": s.local,
                "local_formula": s.rule.formula,
                "local_with_numbers": s.rule.filled,
                "condition": s.rule.condition,
                "contribution": s.product,
                "earlier": s.earlier,
                "gradient_so_far": s.sum,
                "rule_text": rule_line(&y, &x, &s.rule, s.local),
                "text": step_line(lesson, s),
            })
        })
        .collect();
    to_json(&Explained {
        value: lesson.nodes[lesson.output].value,
        gradients,
        output: lesson.nodes[lesson.output].name.clone(),
        step: lesson.step,
        nodes,
        steps,
    })
}

/// One variable's gradient beside its finite difference.
pub struct Check {
    pub name: String,
    pub gradient: f64,
    pub finite_difference: f64,
    pub abs_error: f64,
    pub rel_error: f64,
    pub passed: bool,
    /// Why it failed, in words, where there is a known reason (a kink, a domain's edge).
    pub reasons: Vec<String>,
    /// With `--sweep`: (step, |engine − finite difference|) for each step tried.
    pub sweep: Vec<(f64, f64)>,
}

/// `gradcheck`'s text: the rule of the check, a table with one row per variable, the verdict.
pub fn gradcheck_text(
    title: &str,
    inputs: &Inputs,
    value: f64,
    options: &GradcheckOptions,
    checks: &[Check],
) -> String {
    let mut out = String::new();
    let free: Vec<(String, f64, bool)> = inputs
        .free
        .iter()
        .map(|(n, v)| (n.clone(), *v, false))
        .collect();
    let _ = writeln!(out, "{title} = {} at {}", full(value), at(&free));
    let _ = writeln!(
        out,
        "the engine's gradient beside a central finite difference (step {:e}); a gradient passes \
         when\n|engine − finite difference| ≤ {:e} + {:e}·|finite difference|\n",
        options.step, options.abs_tol, options.rel_tol
    );
    let header = [
        "variable",
        "engine (backward)",
        "finite difference",
        "abs error",
        "rel error",
        "result",
    ];
    let rows: Vec<[String; 6]> = checks
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                full(c.gradient),
                full(c.finite_difference),
                format!("{:.1e}", c.abs_error),
                format!("{:.1e}", c.rel_error),
                if c.passed { "pass" } else { "FAIL" }.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header = header.map(str::to_string);
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    for check in checks.iter().filter(|c| !c.reasons.is_empty()) {
        let _ = writeln!(out, "\nwhy {} differs:", check.name);
        for reason in &check.reasons {
            let _ = writeln!(out, "  - {reason}");
        }
    }
    if checks.iter().any(|c| !c.sweep.is_empty()) {
        sweep_text(&mut out, checks);
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    let _ = if failed == 0 {
        writeln!(
            out,
            "\npassed: all {} gradients match their finite differences",
            checks.len()
        )
    } else {
        writeln!(
            out,
            "\nFAILED: {failed} of {} gradients differ from their finite differences",
            checks.len()
        )
    };
    out
}

/// The error of each parameter for each step, the best step marked, and a bar of the error's
/// order of magnitude that draws the U: truncation error falls with h, rounding error rises.
fn sweep_text(out: &mut String, checks: &[Check]) {
    let _ = writeln!(
        out,
        "\nthe error |engine − finite difference| as the step h shrinks: truncation error (∝ h²) \
         falls, rounding error (∝ ε/h) grows"
    );
    for check in checks {
        let best = best_step(&check.sweep);
        let _ = writeln!(out, "  {}:", check.name);
        for &(h, error) in &check.sweep {
            // One mark per order of magnitude above 1e-17.
            let marks = if error > 0.0 {
                (error.log10() + 17.0).clamp(0.0, 40.0) as usize
            } else {
                0
            };
            let best_mark = if Some(h) == best { "  ◀ best" } else { "" };
            let _ = writeln!(
                out,
                "    h = {h:<6e} error {error:<8.1e} {}{best_mark}",
                "█".repeat(marks)
            );
        }
    }
}

/// The step with the smallest error (the first of equals).
fn best_step(sweep: &[(f64, f64)]) -> Option<f64> {
    sweep
        .iter()
        .filter(|(_, e)| !e.is_nan())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(h, _)| *h)
}

#[derive(Serialize)]
struct Checked {
    value: f64,
    gradients: Map<String, Value>,
    finite_differences: Map<String, Value>,
    abs_errors: Map<String, Value>,
    rel_errors: Map<String, Value>,
    step: f64,
    abs_tol: f64,
    rel_tol: f64,
    passed: bool,
    reasons: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sweep: Option<Map<String, Value>>,
}

/// `gradcheck --json`: `explain`'s object with the finite differences and errors beside the
/// gradients, the step and tolerances, and the verdict.
pub fn gradcheck_json(value: f64, options: &GradcheckOptions, checks: &[Check]) -> String {
    let column = |f: fn(&Check) -> f64| by_name(checks.iter().map(|c| (&c.name, f(c))));
    to_json(&Checked {
        value,
        gradients: column(|c| c.gradient),
        finite_differences: column(|c| c.finite_difference),
        abs_errors: column(|c| c.abs_error),
        rel_errors: column(|c| c.rel_error),
        step: options.step,
        abs_tol: options.abs_tol,
        rel_tol: options.rel_tol,
        passed: checks.iter().all(|c| c.passed),
        reasons: checks
            .iter()
            .filter(|c| !c.reasons.is_empty())
            .map(|c| (c.name.clone(), json!(c.reasons)))
            .collect(),
        sweep: checks.iter().any(|c| !c.sweep.is_empty()).then(|| {
            checks
                .iter()
                .map(|c| {
                    let rows: Vec<Value> = c
                        .sweep
                        .iter()
                        .map(|(h, e)| json!({"step": h, "abs_error": e}))
                        .collect();
                    let entry = json!({"errors": rows, "best_step": best_step(&c.sweep)});
                    (c.name.clone(), entry)
                })
                .collect()
        }),
    })
}

/// `{"x": 1.0, …}` in the order given (NaN and infinities become `null`, as JSON has none).
fn by_name<'a>(pairs: impl Iterator<Item = (&'a String, f64)>) -> Map<String, Value> {
    pairs.map(|(n, v)| (n.clone(), Value::from(v))).collect()
}

fn to_json(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("numbers and names serialize");
    text.push('\n');
    text
}
