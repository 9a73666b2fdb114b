//! What `explain` and `gradcheck` print: plain text for people, one JSON object for tools.
//!
//! Text shows numbers as the engine's traces do (six digits, a true minus sign) where it
//! explains, and in full (`{:?}`, which reads back exactly) where it reports a result.

use std::fmt::Write;
use std::io::Write as _;

use chainrule::autodiff::{Op, Quantity, Trace};
use chainrule::{GradcheckOptions, Graph};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::CliError;
use super::eval::Bindings;

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

/// `x = 0.5, w = -1`
fn at(bindings: &Bindings) -> String {
    let values: Vec<String> = bindings.iter().map(|(n, v)| format!("{n} = {v}")).collect();
    values.join(", ")
}

/// `explain`'s text: the value, the forward pass node by node, the backward trace, and the
/// gradient of each variable.
pub fn explain_text(
    source: &str,
    bindings: &Bindings,
    g: &Graph<f64>,
    trace: &Trace,
    gradients: &[(String, f64)],
) -> String {
    let value = g.nodes()[trace.root].value.item();
    let mut out = String::new();
    let _ = writeln!(out, "{source} = {value:?} at {}", at(bindings));

    let _ = writeln!(
        out,
        "\nforward: each node's value, in the order the graph recorded it"
    );
    let rows: Vec<(String, String)> = (0..g.len())
        .map(|id| {
            let node = &g.nodes()[id];
            let left = match node.op {
                Op::Leaf(_) => format!("{} ({})", g.display_name(id), g.node_expression(id)),
                _ => format!("{} = {}", g.display_name(id), g.node_expression(id)),
            };
            (left, Quantity::of(&node.value).to_string())
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
    for line in trace.to_string().lines() {
        let _ = writeln!(out, "  {line}");
    }

    let _ = writeln!(out, "\ngradients of L = {source}");
    for (name, gradient) in gradients {
        let _ = writeln!(out, "  ∂L/∂{name} = {gradient:?}");
    }
    out
}

#[derive(Serialize)]
struct Explained {
    value: f64,
    gradients: Map<String, Value>,
}

/// `explain --json`: `{"value": …, "gradients": {"x": …, …}}`.
pub fn explain_json(value: f64, gradients: &[(String, f64)]) -> String {
    let explained = Explained {
        value,
        gradients: by_name(gradients.iter().map(|(n, g)| (n, *g))),
    };
    to_json(&explained)
}

/// One variable's gradient beside its finite difference.
pub struct Check {
    pub name: String,
    pub gradient: f64,
    pub finite_difference: f64,
    pub abs_error: f64,
    pub rel_error: f64,
    pub passed: bool,
}

/// `gradcheck`'s text: the rule of the check, a table with one row per variable, the verdict.
pub fn gradcheck_text(
    source: &str,
    bindings: &Bindings,
    value: f64,
    options: &GradcheckOptions,
    checks: &[Check],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{source} = {value:?} at {}", at(bindings));
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
                format!("{:?}", c.gradient),
                format!("{:?}", c.finite_difference),
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
