//! Elementwise ops: functions applied to each element, of one input or of two broadcast inputs.
//!
//! Each rule multiplies the upstream gradient `g` by the local derivative. For two inputs of
//! different shapes the forward broadcasts (NumPy rules), so the backward sums each input's
//! gradient back down to that input's shape (`sum_to`).

use crate::backward::ElementwiseOps;
use crate::{Float, Tensor, Var};

/// An elementwise function of one var.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp<T> {
    /// `−x`
    Neg,
    /// `eˣ`
    Exp,
    /// `ln x`
    Ln,
    /// `√x`
    Sqrt,
    /// `|x|`
    Abs,
    /// `tanh x`
    Tanh,
    /// `1 / (1 + e⁻ˣ)`
    Sigmoid,
    /// `max(x, 0)`
    Relu,
    /// `xᶜ` for a fixed number `c`
    Powf(T),
    /// `x` limited to `[min, max]`
    Clamp {
        /// The lower limit.
        min: T,
        /// The upper limit.
        max: T,
    },
    /// `x + c` for a fixed number `c`
    AddScalar(T),
    /// `c · x` for a fixed number `c`
    MulScalar(T),
}

impl<T: Float> UnaryOp<T> {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Ln => "ln",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Abs => "abs",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Relu => "relu",
            UnaryOp::Powf(_) => "powf",
            UnaryOp::Clamp { .. } => "clamp",
            UnaryOp::AddScalar(_) => "add_scalar",
            UnaryOp::MulScalar(_) => "mul_scalar",
        }
    }

    /// The local derivative.
    pub fn formula(&self) -> &'static str {
        match self {
            UnaryOp::Neg => "∂y/∂x = −1",
            UnaryOp::Exp => "∂y/∂x = eˣ = y",
            UnaryOp::Ln => "∂y/∂x = 1/x",
            UnaryOp::Sqrt => "∂y/∂x = 1/(2√x) = 1/(2y)",
            UnaryOp::Abs => "∂y/∂x = sign(x)",
            UnaryOp::Tanh => "∂y/∂x = 1 − y²",
            UnaryOp::Sigmoid => "∂y/∂x = y·(1 − y)",
            UnaryOp::Relu => "∂y/∂x = 1 if x > 0 else 0",
            UnaryOp::Powf(_) => "∂y/∂x = c·xᶜ⁻¹",
            UnaryOp::Clamp { .. } => "∂y/∂x = 1 if min ≤ x ≤ max else 0",
            UnaryOp::AddScalar(_) => "∂y/∂x = 1",
            UnaryOp::MulScalar(_) => "∂y/∂x = c",
        }
    }

    #[track_caller]
    pub(crate) fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
        match *self {
            UnaryOp::Neg => x.neg(),
            UnaryOp::Exp => x.exp(),
            UnaryOp::Ln => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Sigmoid => x.sigmoid(),
            UnaryOp::Relu => x.relu(),
            UnaryOp::Powf(c) => x.powf(c),
            UnaryOp::Clamp { min, max } => x.clamp(min, max),
            UnaryOp::AddScalar(c) => x.add_scalar(c),
            UnaryOp::MulScalar(c) => x.mul_scalar(c),
        }
    }

    /// ∂L/∂x from ∂L/∂y = `g`, the input `x` and the output `y`.
    pub(crate) fn backward<V: ElementwiseOps<T>>(&self, x: &V, y: &V, g: V) -> V {
        let one = T::one();
        match *self {
            UnaryOp::Neg => -g,
            UnaryOp::Exp => g * y.clone(),
            UnaryOp::Ln => g / x.clone(),
            UnaryOp::Sqrt => g / (y.clone() * T::of(2.0)),
            UnaryOp::Abs => g * x.map_constant(sign),
            UnaryOp::Tanh => g * (-(y.clone() * y.clone()) + one),
            UnaryOp::Sigmoid => g * y.clone() * (-y.clone() + one),
            UnaryOp::Relu => g * x.map_constant(|v| if v > T::zero() { one } else { T::zero() }),
            // c = 0 is special: 0·x⁻¹ would be NaN at x = 0 where the derivative is 0.
            UnaryOp::Powf(c) if c == T::zero() => g.map_constant(|_| T::zero()),
            UnaryOp::Powf(c) => g * x.powf(c - one) * c,
            UnaryOp::Clamp { min, max } => {
                g * x.map_constant(|v| if v >= min && v <= max { one } else { T::zero() })
            }
            UnaryOp::AddScalar(_) => g,
            UnaryOp::MulScalar(c) => g * c,
        }
    }
}

/// sign(x), with sign(0) = 0 (the subgradient PyTorch uses for `abs` at 0).
fn sign<T: Float>(v: T) -> T {
    if v > T::zero() {
        T::one()
    } else if v < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// An elementwise function of two vars whose shapes broadcast (NumPy rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a − b`
    Sub,
    /// `a · b`
    Mul,
    /// `a / b`
    Div,
    /// `aᵇ`
    Pow,
    /// `max(a, b)`
    Maximum,
    /// `min(a, b)`
    Minimum,
}

impl BinaryOp {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
        }
    }

    /// The local derivatives.
    pub fn formula(&self) -> &'static str {
        match self {
            BinaryOp::Add => "∂y/∂a = 1, ∂y/∂b = 1",
            BinaryOp::Sub => "∂y/∂a = 1, ∂y/∂b = −1",
            BinaryOp::Mul => "∂y/∂a = b, ∂y/∂b = a",
            BinaryOp::Div => "∂y/∂a = 1/b, ∂y/∂b = −a/b² = −y/b",
            BinaryOp::Pow => "∂y/∂a = b·aᵇ⁻¹, ∂y/∂b = aᵇ·ln a = y·ln a",
            BinaryOp::Maximum => "∂y/∂a = 1 where a > b, ½ where a = b, else 0 (b alike)",
            BinaryOp::Minimum => "∂y/∂a = 1 where a < b, ½ where a = b, else 0 (b alike)",
        }
    }

    #[track_caller]
    pub(crate) fn forward<T: Float>(&self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        match self {
            BinaryOp::Add => a.add(b),
            BinaryOp::Sub => a.sub(b),
            BinaryOp::Mul => a.mul(b),
            BinaryOp::Div => a.div(b),
            BinaryOp::Pow => a.pow(b),
            BinaryOp::Maximum => a.maximum(b),
            BinaryOp::Minimum => a.minimum(b),
        }
    }

    /// (∂L/∂a, ∂L/∂b) from ∂L/∂y = `g`, each summed back to its input's shape; `None` for an
    /// input that wants no gradient.
    pub(crate) fn backward<T: Float, V: ElementwiseOps<T>>(
        &self,
        a: &V,
        b: &V,
        y: &V,
        g: V,
        [want_a, want_b]: [bool; 2],
    ) -> (Option<V>, Option<V>) {
        let (ga, gb) = match self {
            BinaryOp::Add => (want_a.then(|| g.clone()), want_b.then(|| g.clone())),
            BinaryOp::Sub => (want_a.then(|| g.clone()), want_b.then(|| -g.clone())),
            BinaryOp::Mul => (
                want_a.then(|| g.clone() * b.clone()),
                want_b.then(|| g.clone() * a.clone()),
            ),
            BinaryOp::Div => (
                want_a.then(|| g.clone() / b.clone()),
                want_b.then(|| -(g.clone() * y.clone() / b.clone())),
            ),
            BinaryOp::Pow => (
                want_a.then(|| g.clone() * b.clone() * a.pow(&(b.clone() + -T::one()))),
                want_b.then(|| g.clone() * y.clone() * a.ln()),
            ),
            BinaryOp::Maximum | BinaryOp::Minimum => {
                let a_wins = if *self == BinaryOp::Maximum {
                    |p: T, q: T| p > q
                } else {
                    |p: T, q: T| p < q
                };
                let share = move |p: T, q: T| {
                    if a_wins(p, q) {
                        T::one()
                    } else if p == q {
                        T::of(0.5)
                    } else {
                        T::zero()
                    }
                };
                (
                    want_a.then(|| g.clone() * a.zip_constant(b, share)),
                    want_b.then(|| g.clone() * b.zip_constant(a, share)),
                )
            }
        };
        (
            ga.map(|ga| ga.sum_to(&a.shape())),
            gb.map(|gb| gb.sum_to(&b.shape())),
        )
    }
}

/// The elementwise ops on vars. Each doc gives the definition, the derivative the backward pass
/// uses, and the PyTorch equivalent.
impl<'g, T: Float> Var<'g, T> {
    /// `eˣ`; derivative `eˣ`. PyTorch: `torch.exp`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(1.0f64);
    /// assert_eq!(x.exp().backward()[x].item(), 1.0f64.exp());
    /// ```
    #[track_caller]
    pub fn exp(self) -> Self {
        self.unary(UnaryOp::Exp)
    }

    /// Natural logarithm; derivative `1/x`. PyTorch: `torch.log`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(4.0f64);
    /// assert_eq!(x.ln().backward()[x].item(), 0.25);
    /// ```
    #[track_caller]
    pub fn ln(self) -> Self {
        self.unary(UnaryOp::Ln)
    }

    /// Square root; derivative `1/(2√x)`. PyTorch: `torch.sqrt`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(4.0f64);
    /// assert_eq!(x.sqrt().backward()[x].item(), 0.25);
    /// ```
    #[track_caller]
    pub fn sqrt(self) -> Self {
        self.unary(UnaryOp::Sqrt)
    }

    /// Absolute value; derivative `sign(x)`, taken as 0 at 0. PyTorch: `torch.abs`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(-2.0f64);
    /// assert_eq!(x.abs().backward()[x].item(), -1.0);
    /// ```
    #[track_caller]
    pub fn abs(self) -> Self {
        self.unary(UnaryOp::Abs)
    }

    /// Hyperbolic tangent; derivative `1 − tanh²(x)`. PyTorch: `torch.tanh`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(0.0f64);
    /// assert_eq!(x.tanh().backward()[x].item(), 1.0);
    /// ```
    #[track_caller]
    pub fn tanh(self) -> Self {
        self.unary(UnaryOp::Tanh)
    }

    /// The logistic sigmoid `1/(1 + e⁻ˣ)`, computed without overflow; derivative `σ(x)(1 − σ(x))`.
    /// PyTorch: `torch.sigmoid`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(0.0f64);
    /// assert_eq!(x.sigmoid().backward()[x].item(), 0.25);
    /// ```
    #[track_caller]
    pub fn sigmoid(self) -> Self {
        self.unary(UnaryOp::Sigmoid)
    }

    /// Rectified linear unit `max(x, 0)`; derivative 1 for `x > 0`, else 0 (0 at the kink, as
    /// PyTorch). PyTorch: `torch.relu`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(-1.0f64);
    /// assert_eq!(x.relu().backward()[x].item(), 0.0);
    /// ```
    #[track_caller]
    pub fn relu(self) -> Self {
        self.unary(UnaryOp::Relu)
    }

    /// `xᶜ` for a fixed exponent; derivative `c·xᶜ⁻¹`. PyTorch: `torch.pow(x, c)`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(3.0f64);
    /// assert_eq!(x.powf(2.0).backward()[x].item(), 6.0);
    /// ```
    #[track_caller]
    pub fn powf(self, exponent: T) -> Self {
        self.unary(UnaryOp::Powf(exponent))
    }

    /// `x` limited to `[min, max]`; derivative 1 inside (bounds included), 0 outside.
    /// PyTorch: `torch.clamp`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(5.0f64);
    /// let y = x.clamp(-1.0, 1.0);
    /// assert_eq!(y.item(), 1.0);
    /// assert_eq!(y.backward()[x].item(), 0.0);
    /// ```
    #[track_caller]
    pub fn clamp(self, min: T, max: T) -> Self {
        self.unary(UnaryOp::Clamp { min, max })
    }

    /// `selfᵉˣᵖᵒⁿᵉⁿᵗ` elementwise with broadcasting; derivatives `b·aᵇ⁻¹` and `aᵇ·ln a`.
    /// PyTorch: `torch.pow(a, b)`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let a = g.scalar(2.0f64);
    /// let b = g.scalar(3.0f64);
    /// let grads = a.pow(b).backward();
    /// assert_eq!(grads[a].item(), 12.0);
    /// assert!((grads[b].item() - 8.0 * 2.0f64.ln()).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn pow(self, exponent: Var<'g, T>) -> Self {
        self.binary(exponent, BinaryOp::Pow)
    }

    /// The larger of two vars elementwise; the gradient goes to the larger one, split evenly on
    /// ties. PyTorch: `torch.maximum`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let a = g.scalar(1.0f64);
    /// let b = g.scalar(2.0f64);
    /// let grads = a.maximum(b).backward();
    /// assert_eq!((grads[a].item(), grads[b].item()), (0.0, 1.0));
    /// ```
    #[track_caller]
    pub fn maximum(self, other: Var<'g, T>) -> Self {
        self.binary(other, BinaryOp::Maximum)
    }

    /// The smaller of two vars elementwise; the gradient goes to the smaller one, split evenly
    /// on ties. PyTorch: `torch.minimum`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let a = g.scalar(1.0f64);
    /// let b = g.scalar(2.0f64);
    /// let grads = a.minimum(b).backward();
    /// assert_eq!((grads[a].item(), grads[b].item()), (1.0, 0.0));
    /// ```
    #[track_caller]
    pub fn minimum(self, other: Var<'g, T>) -> Self {
        self.binary(other, BinaryOp::Minimum)
    }

    /// `x²`, as `x · x`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(3.0f64);
    /// assert_eq!(x.square().backward()[x].item(), 6.0);
    /// ```
    #[track_caller]
    pub fn square(self) -> Self {
        self * self
    }
}
