//! From a parsed program and the `name=value` arguments to graph ops on 0-d `f64` vars.
//!
//! Each free variable (read before any statement assigns it) becomes a leaf labelled with its
//! name: a parameter, or data (an input, which gets no gradient) when `--data` names it. A
//! statement `name = expression` labels the node it makes with its name, so the name is one
//! node however often it is read; a statement of numbers alone (`a = -4`) makes a parameter
//! leaf, as micrograd's `Value(-4.0)`. Numbers are folded where they meet (`2*3` is 6) and enter
//! the graph as the scalar forms of the ops (`x + 2` is one node), except where the number is
//! the numerator or divisor of a division, or what is subtracted from: there it is a constant
//! leaf, so that the division rule shows as division. `x^c` with a constant exponent is a power
//! by a number, any other power the general one. Functions are the engine's unary ops, found by
//! name in its table by the parser ([`UnaryOp::by_name`]) and recorded with [`Var::apply_unary`].

use std::collections::HashMap;

use chainrule::autodiff::ops::UnaryOp;
use chainrule::autodiff::Quantity;
use chainrule::{Graph, Tensor, Var};

use super::error::{CliError, Source};
use super::parse::{BinaryOp, Expr, ExprKind, Program};

/// The values of the free variables, in the order they first appear, and which of them are data.
pub struct Inputs {
    pub free: Vec<(String, f64)>,
    pub data: Vec<String>,
}

/// A leaf of the built graph: a free variable or a statement of numbers alone.
#[derive(Clone, Debug)]
pub struct LeafInfo {
    pub name: String,
    pub value: f64,
    /// Data (marked by `--data`): gets no gradient and is not checked.
    pub data: bool,
}

/// The program on a graph: its output, and its leaves in the order they were made.
pub struct Built<'g> {
    pub output: Var<'g, f64>,
    pub leaves: Vec<(LeafInfo, Var<'g, f64>)>,
}

/// Checks the `name=value` arguments against the program's free variables: each argument well
/// formed, each free variable given exactly one value, no value for a name the program does not
/// read before assigning it; and the `--data` names against its leaves.
pub fn bind(
    source: &Source,
    program: &Program,
    arguments: &[String],
    data: &[String],
) -> Result<Inputs, CliError> {
    let mut given: Vec<(String, f64, &str)> = Vec::new();
    for argument in arguments {
        let (name, value) = parse_assignment(argument)?;
        if let Some((_, _, first)) = given.iter().find(|(n, _, _)| *n == name) {
            return Err(CliError::GivenTwice {
                name,
                first: first.to_string(),
                second: argument.clone(),
            });
        }
        given.push((name, value, argument));
    }
    let variables = program.free_variables();
    let defined: Vec<(String, usize)> = program
        .statements
        .iter()
        .filter(|s| s.update.is_none() && s.expr.variables().is_empty())
        .filter_map(|s| s.target.clone())
        .collect();
    if variables.is_empty() && defined.is_empty() {
        return Err(CliError::NoVariables {
            what: source.what(),
            shown: source.shown(),
        });
    }
    // Unnamed nodes are shown as n0, n1, …; a name like that would read as one of them.
    let all_names = program
        .statements
        .iter()
        .filter_map(|s| s.target.clone())
        .chain(variables.iter().cloned());
    for (name, column) in all_names {
        let digits = name.strip_prefix('n').unwrap_or("");
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(CliError::NodeName {
                name,
                column,
                input: source.clone(),
            });
        }
    }
    if let Some((name, _, argument)) = given
        .iter()
        .find(|(n, _, _)| !variables.iter().any(|(v, _)| v == n))
    {
        let assigned = program
            .statements
            .iter()
            .any(|s| s.target.as_ref().is_some_and(|(t, _)| t == name));
        return Err(CliError::UnusedValue {
            argument: argument.to_string(),
            what: source.what(),
            shown: source.shown(),
            hint: if assigned {
                " (the program assigns it a value itself)"
            } else {
                ""
            },
        });
    }
    let mut data_names: Vec<String> = Vec::new();
    for name in data {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let is_leaf = variables.iter().chain(&defined).any(|(v, _)| v == name);
        if !is_leaf {
            let assigned = program
                .statements
                .iter()
                .any(|s| s.target.as_ref().is_some_and(|(t, _)| t == name));
            return Err(CliError::NotData {
                name: name.to_string(),
                what: source.what(),
                hint: if assigned {
                    " (it is computed by a statement; only variables given a value can be data)"
                } else {
                    ""
                },
            });
        }
        data_names.push(name.to_string());
    }
    let free = variables
        .into_iter()
        .map(
            |(name, column)| match given.iter().find(|(n, _, _)| *n == name) {
                Some(&(_, value, _)) => Ok((name, value)),
                None => Err(CliError::MissingValue {
                    name,
                    column,
                    input: source.clone(),
                }),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Inputs {
        free,
        data: data_names,
    })
}

/// `x=0.5` → (`x`, 0.5).
fn parse_assignment(argument: &str) -> Result<(String, f64), CliError> {
    let malformed = |reason: &str| CliError::MalformedValue {
        argument: argument.to_string(),
        reason: reason.to_string(),
    };
    let Some((name, value)) = argument.split_once('=') else {
        return Err(malformed("expected NAME=NUMBER, like x=0.5"));
    };
    let name = name.trim();
    let is_name = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !is_name {
        return Err(malformed(
            "the part before '=' must be a variable name, like x or w_1",
        ));
    }
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((name.to_string(), v)),
        _ => Err(malformed(
            "the part after '=' must be a finite number, like 0.5 or -3",
        )),
    }
}

/// `c`, then `c₂`, `c₃`, … for the names a program assigns again.
fn version_name(name: &str, version: usize) -> String {
    if version <= 1 {
        return name.to_string();
    }
    const SUBSCRIPTS: [char; 10] = ['₀', '₁', '₂', '₃', '₄', '₅', '₆', '₇', '₈', '₉'];
    let digits: String = version
        .to_string()
        .chars()
        .map(|d| SUBSCRIPTS[d.to_digit(10).unwrap_or(0) as usize])
        .collect();
    format!("{name}{digits}")
}

/// Records the program on the graph: the free variables' leaves first, in order, then each
/// statement. `replace`, if given, puts that var in place of the leaf with that position (in the
/// order of [`Built::leaves`]), for `gradcheck`, which makes its own parameter.
///
/// # Panics
/// When the program's output is a number (`bind` refuses programs without variables), or a
/// variable is missing from `inputs`.
pub fn build<'g>(
    g: &'g Graph<f64>,
    program: &Program,
    inputs: &Inputs,
    replace: Option<(usize, Var<'g, f64>)>,
) -> Built<'g> {
    let mut leaves: Vec<(LeafInfo, Var<'g, f64>)> = Vec::new();
    let make_leaf = |name: String, value: f64, leaves: &mut Vec<(LeafInfo, Var<'g, f64>)>| {
        let data = inputs.data.contains(&name);
        let var = match replace {
            Some((at, var)) if at == leaves.len() => var,
            _ if data => g.input(Tensor::scalar(value)),
            _ => g.scalar(value),
        };
        let var = var.named(name.as_str());
        leaves.push((LeafInfo { name, value, data }, var));
        var
    };
    let mut names: HashMap<String, Var<'g, f64>> = HashMap::new();
    let mut versions: HashMap<String, usize> = HashMap::new();
    for (name, value) in &inputs.free {
        let var = make_leaf(name.clone(), *value, &mut leaves);
        names.insert(name.clone(), var);
        versions.insert(name.clone(), 1);
    }
    let mut output = None;
    for statement in &program.statements {
        let mut value = evaluate(g, &statement.expr, &names);
        let Some((target, _)) = &statement.target else {
            output = Some(value);
            continue;
        };
        if let Some(op) = statement.update {
            let earlier = Value::Var(names[target.as_str()]);
            value = binary(g, op, earlier, value);
        }
        let version = versions.get(target).copied().unwrap_or(0) + 1;
        versions.insert(target.clone(), version);
        let shown = version_name(target, version);
        let var = match value {
            Value::Number(n) => make_leaf(shown, n, &mut leaves),
            // An alias (`y = x`) keeps the node's own name.
            Value::Var(var) if var.label().is_some() => var,
            Value::Var(var) => var.named(shown),
        };
        names.insert(target.clone(), var);
        output = Some(Value::Var(var));
    }
    match output {
        Some(Value::Var(output)) => Built { output, leaves },
        _ => panic!("a program with a variable evaluates to a var"),
    }
}

/// The value of an expression without variables (a function's fixed number), folded as
/// [`build`] folds numbers.
///
/// # Panics
/// When the expression has a variable.
pub fn number(expr: &Expr) -> f64 {
    match evaluate(&Graph::new(), expr, &HashMap::new()) {
        Value::Number(n) => n,
        Value::Var(_) => panic!("an expression without variables folds to a number"),
    }
}

/// A number not yet in the graph, or a var.
#[derive(Clone, Copy)]
pub(super) enum Value<'g> {
    Number(f64),
    Var(Var<'g, f64>),
}

/// The expression's value: a post-order walk with an explicit stack (a tree as deep as a
/// 30,000-term sum would overflow the native stack if walked recursively). Children are
/// recorded left before right, as written, so the graph numbers its nodes in reading order.
fn evaluate<'g>(g: &'g Graph<f64>, expr: &Expr, vars: &HashMap<String, Var<'g, f64>>) -> Value<'g> {
    /// Visit a node's children first, then combine their values.
    enum Step<'e> {
        Visit(&'e Expr),
        Combine(&'e Expr),
    }
    let mut steps = vec![Step::Visit(expr)];
    let mut values: Vec<Value<'g>> = Vec::new();
    while let Some(step) = steps.pop() {
        match step {
            Step::Visit(e) => {
                steps.push(Step::Combine(e));
                match &e.kind {
                    ExprKind::Number(_) | ExprKind::Variable(_) => {}
                    ExprKind::Neg(x) | ExprKind::Call(_, x) => steps.push(Step::Visit(x)),
                    // Right first, so the left is taken first off the stack.
                    ExprKind::Binary(_, a, b) => {
                        steps.push(Step::Visit(b));
                        steps.push(Step::Visit(a));
                    }
                }
            }
            Step::Combine(e) => {
                let value = match &e.kind {
                    ExprKind::Number(n) => Value::Number(*n),
                    ExprKind::Variable(name) => Value::Var(vars[name.as_str()]),
                    ExprKind::Neg(_) => negate(values.pop().expect("the operand's value")),
                    ExprKind::Call(op, _) => call(*op, values.pop().expect("the argument's value")),
                    ExprKind::Binary(op, _, _) => {
                        let b = values.pop().expect("the right operand's value");
                        let a = values.pop().expect("the left operand's value");
                        binary(g, *op, a, b)
                    }
                };
                values.push(value);
            }
        }
    }
    values.pop().expect("the expression's value")
}

fn negate(x: Value<'_>) -> Value<'_> {
    match x {
        Value::Number(n) => Value::Number(-n),
        Value::Var(v) => Value::Var(-v),
    }
}

fn call(op: UnaryOp<f64>, x: Value<'_>) -> Value<'_> {
    match x {
        Value::Number(n) => Value::Number(apply_to_number(op, n)),
        Value::Var(v) => Value::Var(v.apply_unary(op)),
    }
}

pub(super) fn binary<'g>(g: &'g Graph<f64>, op: BinaryOp, a: Value<'g>, b: Value<'g>) -> Value<'g> {
    use Value::{Number, Var as V};
    match (op, a, b) {
        (op, Number(a), Number(b)) => Number(fold(op, a, b)),
        (BinaryOp::Add, V(a), V(b)) => V(a + b),
        (BinaryOp::Add, V(a), Number(b)) => V(a + b),
        (BinaryOp::Add, Number(a), V(b)) => V(a + b),
        (BinaryOp::Sub, V(a), V(b)) => V(a - b),
        (BinaryOp::Sub, V(a), Number(b)) => V(a - b),
        (BinaryOp::Sub, Number(a), V(b)) => V(constant(g, a) - b),
        (BinaryOp::Mul, V(a), V(b)) => V(a * b),
        (BinaryOp::Mul, V(a), Number(b)) => V(a * b),
        (BinaryOp::Mul, Number(a), V(b)) => V(a * b),
        (BinaryOp::Div, V(a), V(b)) => V(a / b),
        (BinaryOp::Div, V(a), Number(b)) => V(a / constant(g, b)),
        (BinaryOp::Div, Number(a), V(b)) => V(constant(g, a) / b),
        (BinaryOp::Pow, V(a), Number(c)) => V(a.powf(c)),
        (BinaryOp::Pow, V(a), V(b)) => V(a.pow(b)),
        (BinaryOp::Pow, Number(a), V(b)) => V(constant(g, a).pow(b)),
    }
}

/// A number as a constant leaf, labelled with the number.
fn constant(g: &Graph<f64>, value: f64) -> Var<'_, f64> {
    g.constant(Tensor::scalar(value))
        .named(Quantity::Number(value).to_string())
}

/// A function of a number alone, folded without the graph: the engine's 0-d kernel, so a
/// folded number equals what the op would have computed.
fn apply_to_number(op: UnaryOp<f64>, x: f64) -> f64 {
    let g = Graph::new();
    g.constant(Tensor::scalar(x)).apply_unary(op).item()
}

fn fold(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Pow => a.powf(b),
    }
}
