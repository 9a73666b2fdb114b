//! How a node reads in traces, graph pictures and listings: its value or gradient in a few
//! characters ([`Quantity`]) and its op as a short formula (`w · x`, `tanh(n4)`).
//!
//! The backward trace, the DOT picture and the command-line program all print nodes; they share
//! these so that a node reads the same everywhere.

use std::fmt;

use crate::ops::{BinaryOp, Leaf, Op, UnaryOp};
use crate::{Float, Graph, Tensor};

/// How many values a tensor summary shows before the ellipsis.
const SHOWN_VALUES: usize = 4;

/// A value or gradient, summarised for display: a number for a 0-d tensor; for any other
/// tensor its shape, its first few values and its L2 norm.
///
/// Numbers print with about six significant digits and a true minus sign (`−0.180707`), whole
/// numbers with one decimal (`−3.0`), as a learner would write them.
///
/// ```
/// use chainrule_autodiff::{Quantity, Tensor};
/// assert_eq!(Quantity::of(&Tensor::scalar(-3.0f64)).to_string(), "−3.0");
/// assert_eq!(Quantity::of(&Tensor::scalar(0.1234567f64)).to_string(), "0.123457");
/// let t = Tensor::from_vec(vec![3.0f32, 4.0], &[2]);
/// assert_eq!(Quantity::of(&t).to_string(), "[2] (3.0, 4.0; ‖·‖ = 5.0)");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Quantity {
    /// The value of a 0-d tensor.
    Number(f64),
    /// A summary of a tensor of rank one or more.
    Tensor {
        /// The tensor's shape.
        shape: Vec<usize>,
        /// Its first few values (at most four), in row-major order.
        head: Vec<f64>,
        /// How many values it holds in all.
        numel: usize,
        /// Its L2 norm, `√(Σ xᵢ²)`.
        norm: f64,
    },
}

impl Quantity {
    /// Summarises a tensor: a [`Quantity::Number`] for a 0-d tensor, else a
    /// [`Quantity::Tensor`].
    ///
    /// ```
    /// use chainrule_autodiff::{Quantity, Tensor};
    /// assert_eq!(Quantity::of(&Tensor::scalar(2.0f32)), Quantity::Number(2.0));
    /// ```
    pub fn of<T: Float>(tensor: &Tensor<T>) -> Self {
        let values = tensor.as_slice();
        if tensor.rank() == 0 {
            return Quantity::Number(values[0].to_f64_exact());
        }
        let norm = values
            .iter()
            .map(|v| v.to_f64_exact().powi(2))
            .sum::<f64>()
            .sqrt();
        Quantity::Tensor {
            shape: tensor.shape().to_vec(),
            head: values
                .iter()
                .take(SHOWN_VALUES)
                .map(|v| v.to_f64_exact())
                .collect(),
            numel: values.len(),
            norm,
        }
    }

    /// The number, for a [`Quantity::Number`].
    ///
    /// ```
    /// use chainrule_autodiff::{Quantity, Tensor};
    /// assert_eq!(Quantity::of(&Tensor::scalar(2.0f64)).as_number(), Some(2.0));
    /// assert_eq!(Quantity::of(&Tensor::<f64>::zeros(&[3])).as_number(), None);
    /// ```
    pub fn as_number(&self) -> Option<f64> {
        match *self {
            Quantity::Number(x) => Some(x),
            Quantity::Tensor { .. } => None,
        }
    }

    /// The number in parentheses when it is negative, for use as a factor (`1.0 · (−3.0)`);
    /// tensors print as usual.
    pub(crate) fn as_factor(&self) -> String {
        match *self {
            Quantity::Number(x) if x < 0.0 => format!("({self})"),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Number(x) => f.write_str(&format_number(*x)),
            Quantity::Tensor {
                shape,
                head,
                numel,
                norm,
            } => {
                let values: Vec<String> = head.iter().map(|&v| format_number(v)).collect();
                let more = if *numel > head.len() { ", …" } else { "" };
                write!(
                    f,
                    "{shape:?} ({}{more}; ‖·‖ = {})",
                    values.join(", "),
                    format_number(*norm)
                )
            }
        }
    }
}

/// A number in about six significant digits with a true minus sign: whole numbers keep one
/// decimal (`2.0`), very small or large ones use an exponent (`1.5e-7`).
pub(crate) fn format_number(x: f64) -> String {
    let text = if x.is_nan() {
        "NaN".to_string()
    } else if x.is_infinite() {
        "∞".to_string()
    } else if x == 0.0 {
        "0.0".to_string()
    } else if x == x.trunc() && x.abs() < 1e15 {
        format!("{:.1}", x.abs())
    } else if (1e-4..1e15).contains(&x.abs()) {
        let magnitude = x.abs().log10().floor() as i32;
        let decimals = (5 - magnitude).max(1) as usize;
        trim_zeros(&format!("{:.decimals$}", x.abs()))
    } else {
        let scientific = format!("{:.5e}", x.abs());
        let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
        format!("{}e{exponent}", trim_zeros(mantissa)).replace(".0e", "e")
    };
    if x < 0.0 {
        format!("−{text}")
    } else {
        text
    }
}

/// `0.500000` → `0.5`, `2.000` → `2.0`.
fn trim_zeros(decimal: &str) -> String {
    if !decimal.contains('.') {
        return decimal.to_string();
    }
    let trimmed = decimal.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    }
}

impl<T: Float> Graph<T> {
    /// What the node with this id computes, written with its inputs' display names
    /// ([`Graph::display_name`]): `w · x`, `n3 + 2.0`, `tanh(n4)`, `matmul(x, w)`; for a leaf,
    /// its kind (`parameter`, `input`, `constant`).
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let w = g.scalar(-1.0f64).named("w");
    /// let x = g.scalar(0.5f64).named("x");
    /// let y = (w * x + 2.0).tanh();
    /// assert_eq!(g.node_expression(w.id()), "parameter");
    /// assert_eq!(g.node_expression(2), "w · x");
    /// assert_eq!(g.node_expression(3), "n2 + 2.0");
    /// assert_eq!(g.node_expression(y.id()), "tanh(n3)");
    /// ```
    pub fn node_expression(&self, id: usize) -> String {
        let nodes = self.nodes();
        let node = &nodes[id];
        let names: Vec<String> = node.inputs.iter().map(|&i| self.display_name(i)).collect();
        let number = |c: T| Quantity::Number(c.to_f64_exact());
        match &node.op {
            Op::Leaf(Leaf::Parameter) => "parameter".into(),
            Op::Leaf(Leaf::Input) => "input".into(),
            Op::Leaf(Leaf::Constant) => "constant".into(),
            Op::Binary(op) => {
                let (a, b) = (&names[0], &names[1]);
                match op {
                    BinaryOp::Add => format!("{a} + {b}"),
                    BinaryOp::Sub => format!("{a} − {b}"),
                    BinaryOp::Mul => format!("{a} · {b}"),
                    BinaryOp::Div => format!("{a} / {b}"),
                    BinaryOp::Pow => format!("{a}^{b}"),
                    BinaryOp::Maximum | BinaryOp::Minimum => format!("{}({a}, {b})", op.name()),
                }
            }
            Op::Unary(op) => {
                let x = &names[0];
                match *op {
                    UnaryOp::Neg {} => format!("−{x}"),
                    UnaryOp::AddScalar { c } if c < T::zero() => {
                        format!("{x} − {}", number(-c))
                    }
                    UnaryOp::AddScalar { c } => format!("{x} + {}", number(c)),
                    UnaryOp::MulScalar { c } => format!("{} · {x}", number(c).as_factor()),
                    UnaryOp::Powf { exponent } => format!("{x}^{}", number(exponent).as_factor()),
                    UnaryOp::Clamp { min, max } => {
                        format!("clamp({x}, {}, {})", number(min), number(max))
                    }
                    UnaryOp::LeakyRelu { slope } => format!("leaky_relu({x}, {})", number(slope)),
                    _ => format!("{}({x})", op.name()),
                }
            }
            Op::Where => format!("where({}, {}, {})", names[0], names[1], names[2]),
            Op::Matmul(op) if op.bias => {
                format!("matmul({}, {}) + {}", names[0], names[1], names[2])
            }
            op => format!("{}({})", op.name(), names.join(", ")),
        }
    }
}

impl<T: Float> Graph<T> {
    /// The local derivative of the node with this id with respect to its input at `position`,
    /// written in the display names of the node and its inputs, as a learner writes it:
    /// `x` for `∂(w · x)/∂w`, `1 − n5²` for a tanh node `n5`, `1/b` for `∂(a / b)/∂a`, and for a
    /// piecewise function its branches (`1 if n4 > 0, else 0`). `None` for a leaf and for ops
    /// whose derivative is a Jacobian (matmul, reductions, shape changes): their rule is stated
    /// on tensors ([`crate::ops::Op::formula`]).
    ///
    /// This is the one statement of each elementwise rule in names: the backward trace prints
    /// it, and the `chainrule explain` program fills in its numbers.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let w = g.scalar(-1.0f64).named("w");
    /// let x = g.scalar(0.5f64).named("x");
    /// let y = (w * x + 2.0).tanh();
    /// assert_eq!(g.local_derivative(2, 0).as_deref(), Some("x"));
    /// assert_eq!(g.local_derivative(3, 0).as_deref(), Some("1"));
    /// assert_eq!(g.local_derivative(y.id(), 0).as_deref(), Some("1 − n4²"));
    /// assert_eq!(g.local_derivative(w.id(), 0), None);
    /// ```
    pub fn local_derivative(&self, id: usize, position: usize) -> Option<String> {
        let (op, inputs) = {
            let nodes = self.nodes();
            (nodes[id].op.clone(), nodes[id].inputs.to_vec())
        };
        let name = |p: usize| self.display_name(inputs[p]);
        let y = self.display_name(id);
        let number = |c: T| Quantity::Number(c.to_f64_exact());
        let factor = |c: T| number(c).as_factor();
        Some(match op {
            Op::Binary(op) => {
                let (a, b) = (name(0), name(1));
                match (op, position) {
                    (BinaryOp::Add, _) | (BinaryOp::Sub, 0) => "1".into(),
                    (BinaryOp::Sub, _) => "−1".into(),
                    (BinaryOp::Mul, 0) => b,
                    (BinaryOp::Mul, _) => a,
                    (BinaryOp::Div, 0) => format!("1/{b}"),
                    (BinaryOp::Div, _) => format!("−{a}/{b}²"),
                    (BinaryOp::Pow, 0) => format!("{b}·{a}^({b} − 1)"),
                    (BinaryOp::Pow, _) => format!("{y}·ln {a}"),
                    (BinaryOp::Maximum | BinaryOp::Minimum, _) => {
                        let (mine, other) = if position == 0 { (a, b) } else { (b, a) };
                        let wins = if op == BinaryOp::Maximum { '>' } else { '<' };
                        format!("1 if {mine} {wins} {other}, ½ if {mine} = {other}, else 0")
                    }
                }
            }
            Op::Unary(op) => {
                let x = name(0);
                match op {
                    UnaryOp::Neg {} => "−1".into(),
                    UnaryOp::AddScalar { .. } => "1".into(),
                    UnaryOp::MulScalar { c } => number(c).to_string(),
                    UnaryOp::Exp {} => format!("e^{x} = {y}"),
                    UnaryOp::Ln {} => format!("1/{x}"),
                    UnaryOp::Sqrt {} => format!("1/(2·{y})"),
                    UnaryOp::Abs {} => format!("sign({x})"),
                    UnaryOp::Tanh {} => format!("1 − {y}²"),
                    UnaryOp::Sigmoid {} => format!("{y}·(1 − {y})"),
                    UnaryOp::Relu {} => format!("1 if {x} > 0, else 0"),
                    UnaryOp::Powf { exponent } if exponent == T::of(2.0) => format!("2·{x}"),
                    UnaryOp::Powf { exponent } => {
                        format!("{}·{x}^{}", factor(exponent), factor(exponent - T::one()))
                    }
                    UnaryOp::Clamp { min, max } => {
                        format!("1 if {} ≤ {x} ≤ {}, else 0", number(min), number(max))
                    }
                    UnaryOp::LeakyRelu { slope } => {
                        format!("1 if {x} > 0, else {}", number(slope))
                    }
                    UnaryOp::Softplus {} => format!("σ({x})"),
                    UnaryOp::Gelu {} => format!("gelu′({x})"),
                    UnaryOp::Silu {} => format!("σ({x})·(1 + {x}·(1 − σ({x})))"),
                    UnaryOp::Log1p {} => format!("1/(1 + {x})"),
                    UnaryOp::Expm1 {} => format!("{y} + 1"),
                    UnaryOp::Sin {} => format!("cos {x}"),
                    UnaryOp::Cos {} => format!("−sin {x}"),
                    UnaryOp::Erf {} => format!("2/√π·e^(−{x}²)"),
                    UnaryOp::Round {} | UnaryOp::Floor {} | UnaryOp::Sign {} => "0".into(),
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn numbers_read_as_a_learner_writes_them() {
        assert_eq!(format_number(1.0), "1.0");
        assert_eq!(format_number(-3.0), "−3.0");
        assert_eq!(format_number(0.0), "0.0");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(0.18070663892364855), "0.180707");
        assert_eq!(format_number(-1234.56789), "−1234.57");
        assert_eq!(format_number(1.5e-7), "1.5e-7");
        assert_eq!(format_number(1e-7), "1e-7");
        assert_eq!(format_number(2.5e20), "2.5e20");
        assert_eq!(format_number(f64::NAN), "NaN");
        assert_eq!(format_number(f64::NEG_INFINITY), "−∞");
    }
}
