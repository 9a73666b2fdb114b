//! From a parsed expression and the `name=value` arguments to graph ops on 0-d `f64` vars.
//!
//! Each variable becomes a parameter (`g.scalar`) labelled with its name. Numbers are folded
//! where they meet (`2*3` is 6) and enter the graph as the scalar forms of the ops (`x + 2` is
//! one `add_scalar` node); `x^c` with a constant exponent is `powf`, any other power `pow`.
//! Functions are the engine's unary ops, found by name in its table by the parser
//! ([`UnaryOp::by_name`]) and recorded with [`Var::apply_unary`].

use chainrule::autodiff::ops::UnaryOp;
use chainrule::autodiff::Quantity;
use chainrule::{Graph, Tensor, Var};

use super::error::CliError;
use super::parse::{BinaryOp, Expr, ExprKind};

/// A variable's name and value, in the order the variables first appear in the expression.
pub type Bindings = Vec<(String, f64)>;

/// Checks the `name=value` arguments against the expression's variables: each argument well
/// formed, each variable given exactly one value, no value for a name the expression lacks.
pub fn bind(source: &str, expr: &Expr, arguments: &[String]) -> Result<Bindings, CliError> {
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
    let variables = expr.variables();
    if variables.is_empty() {
        return Err(CliError::NoVariables {
            expression: source.to_string(),
        });
    }
    // Unnamed nodes are shown as n0, n1, …; a variable called so would read as one of them.
    if let Some((name, column)) = variables.iter().find(|(name, _)| {
        let digits = name.strip_prefix('n').unwrap_or("");
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    }) {
        return Err(CliError::NodeName {
            name: name.clone(),
            column: *column,
            expression: source.to_string(),
        });
    }
    if let Some((_, _, argument)) = given
        .iter()
        .find(|(n, _, _)| !variables.iter().any(|(v, _)| v == n))
    {
        return Err(CliError::UnusedValue {
            argument: argument.to_string(),
            expression: source.to_string(),
        });
    }
    variables
        .into_iter()
        .map(
            |(name, column)| match given.iter().find(|(n, _, _)| *n == name) {
                Some(&(_, value, _)) => Ok((name, value)),
                None => Err(CliError::MissingValue {
                    name,
                    column,
                    expression: source.to_string(),
                }),
            },
        )
        .collect()
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

/// One parameter per variable, in the order of the bindings, each labelled with its name —
/// except `replace`, if given, whose position gets that var instead (for `gradcheck`, which
/// makes its own parameter).
pub fn variables<'g>(
    g: &'g Graph<f64>,
    bindings: &Bindings,
    replace: Option<(usize, Var<'g, f64>)>,
) -> Vec<(String, Var<'g, f64>)> {
    bindings
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            let var = match replace {
                Some((at, var)) if at == i => var,
                _ => g.scalar(*value),
            };
            (name.clone(), var.named(name.as_str()))
        })
        .collect()
}

/// Records the expression on the graph and returns its output var.
///
/// # Panics
/// When the expression has no variable (`bind` refuses those) or one missing from `vars`.
pub fn build<'g>(g: &'g Graph<f64>, expr: &Expr, vars: &[(String, Var<'g, f64>)]) -> Var<'g, f64> {
    match evaluate(g, expr, vars) {
        Value::Var(var) => var,
        Value::Number(_) => panic!("an expression with a variable evaluates to a var"),
    }
}

/// The value of an expression without variables (a function's fixed number), folded as
/// [`build`] folds numbers.
///
/// # Panics
/// When the expression has a variable.
pub fn number(expr: &Expr) -> f64 {
    match evaluate(&Graph::new(), expr, &[]) {
        Value::Number(n) => n,
        Value::Var(_) => panic!("an expression without variables folds to a number"),
    }
}

/// A number not yet in the graph, or a var.
#[derive(Clone, Copy)]
enum Value<'g> {
    Number(f64),
    Var(Var<'g, f64>),
}

/// The expression's value: a post-order walk with an explicit stack (a tree as deep as a
/// 30,000-term sum would overflow the native stack if walked recursively). Children are
/// recorded left before right, as written, so the graph numbers its nodes in reading order.
fn evaluate<'g>(g: &'g Graph<f64>, expr: &Expr, vars: &[(String, Var<'g, f64>)]) -> Value<'g> {
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
                    ExprKind::Variable(name) => {
                        let (_, var) = vars
                            .iter()
                            .find(|(n, _)| n == name)
                            .expect("every variable is bound");
                        Value::Var(*var)
                    }
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

fn binary<'g>(g: &'g Graph<f64>, op: BinaryOp, a: Value<'g>, b: Value<'g>) -> Value<'g> {
    use Value::{Number, Var as V};
    match (op, a, b) {
        (op, Number(a), Number(b)) => Number(fold(op, a, b)),
        (BinaryOp::Add, V(a), V(b)) => V(a + b),
        (BinaryOp::Add, V(a), Number(b)) => V(a + b),
        (BinaryOp::Add, Number(a), V(b)) => V(a + b),
        (BinaryOp::Sub, V(a), V(b)) => V(a - b),
        (BinaryOp::Sub, V(a), Number(b)) => V(a - b),
        (BinaryOp::Sub, Number(a), V(b)) => V(a - b),
        (BinaryOp::Mul, V(a), V(b)) => V(a * b),
        (BinaryOp::Mul, V(a), Number(b)) => V(a * b),
        (BinaryOp::Mul, Number(a), V(b)) => V(a * b),
        (BinaryOp::Div, V(a), V(b)) => V(a / b),
        (BinaryOp::Div, V(a), Number(b)) => V(a / b),
        (BinaryOp::Div, Number(a), V(b)) => V(a / b),
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
