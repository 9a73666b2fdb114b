//! Elementwise ops: functions applied to each element, of one input or of two broadcast inputs.
//!
//! Each op is one entry of a table — its method, its derivative in textbook form, its forward
//! (its function of one number, or of two) and its backward rule, side by side. The tables are
//! read twice: by [`define_unary_ops!`] and [`define_binary_ops!`] here, which make the
//! [`UnaryOp`] and [`BinaryOp`] enums and their rules, and by `crate::var`, which makes the
//! `Var` method of each entry with the entry's doc comment. Adding an elementwise op is adding
//! one entry.
//!
//! Each rule multiplies the upstream gradient `g` by the local derivative, written against
//! [`ElementwiseOps`] so that it runs on tensors, on vars (for second derivatives) and on plain
//! numbers (the sweep's scalar path). Where two inputs broadcast, the backward sweep sums each
//! input's gradient back down to that input's shape; the rules here never do.

use crate::ops::vocabulary::ElementwiseOps;
use crate::tensor::{same_dims, Values};
use crate::{Float, Tensor};

/// The unary op table. An entry reads
///
/// ```text
/// /// The Var method's doc: definition, derivative, PyTorch equivalent, runnable example.
/// Variant => pub fn method(parameter: T, …) {
///     formula: "∂y/∂x = …",                      // shown by traces and pictures
///     requires: condition => ["message {}", parameter], // optional: what the numbers must meet
///     forward: |v| the function of one number v,     // one kernel maps it over a tensor
///     backward: |x, y, g| ∂L/∂x from the input x, the output y and ∂L/∂y = g,
/// }
/// ```
///
/// `pub fn` entries are part of the public API (and callable by name, see
/// [`UnaryOp::by_name`]); `pub(crate) fn` entries are reached through operators (`-x`, `x + 2.0`).
/// Piecewise derivatives (masks, signs) are built with `map_constant`, or applied to `g` by
/// `mul_piecewise` (one pass over the slices for a tensor): they are zero almost everywhere,
/// so they enter a second-order graph as constants.
macro_rules! unary_ops {
    ($define:ident) => {
        $define! {
            /// `−x`; derivative −1. PyTorch: `torch.neg`.
            Neg => pub(crate) fn neg() {
                formula: "∂y/∂x = −1",
                forward: |v| -v,
                backward: |_x, _y, g| -g,
            }

            /// `x + c` for a fixed number `c`; derivative 1. PyTorch: `x + c`.
            AddScalar => pub(crate) fn add_scalar(c: T) {
                formula: "∂y/∂x = 1",
                forward: |v| v + c,
                backward: |_x, _y, g| g,
            }

            /// `c · x` for a fixed number `c`; derivative `c`. PyTorch: `c * x`.
            MulScalar => pub(crate) fn mul_scalar(c: T) {
                formula: "∂y/∂x = c",
                forward: |v| v * c,
                backward: |_x, _y, g| g * c,
            }

    /// `eˣ`; derivative `eˣ`. PyTorch: `torch.exp`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(1.0f64);
    /// assert_eq!(x.exp().backward()[x].item(), 1.0f64.exp());
    /// ```
            Exp => pub fn exp() {
                formula: "∂y/∂x = eˣ = y",
                forward: |v| v.exp(),
                backward: |_x, y, g| g.times(y),
            }

    /// Natural logarithm; derivative `1/x`. PyTorch: `torch.log`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(4.0f64);
    /// assert_eq!(x.ln().backward()[x].item(), 0.25);
    /// ```
            Ln => pub fn ln() {
                formula: "∂y/∂x = 1/x",
                forward: |v| v.ln(),
                backward: |x, _y, g| g.over(x),
            }

    /// Square root; derivative `1/(2√x)`. PyTorch: `torch.sqrt`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(4.0f64);
    /// assert_eq!(x.sqrt().backward()[x].item(), 0.25);
    /// ```
            Sqrt => pub fn sqrt() {
                formula: "∂y/∂x = 1/(2√x) = 1/(2y)",
                forward: |v| v.sqrt(),
                backward: |_x, y, g| g / (y.clone() * T::of(2.0)),
            }

    /// Absolute value; derivative `sign(x)`, taken as 0 at 0. PyTorch: `torch.abs`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(-2.0f64);
    /// assert_eq!(x.abs().backward()[x].item(), -1.0);
    /// ```
            Abs => pub fn abs() {
                formula: "∂y/∂x = sign(x)",
                forward: |v| v.abs(),
                backward: |x, _y, g| g.mul_piecewise(x, sign),
            }

    /// Hyperbolic tangent; derivative `1 − tanh²(x)`. PyTorch: `torch.tanh`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(0.0f64);
    /// assert_eq!(x.tanh().backward()[x].item(), 1.0);
    /// ```
            Tanh => pub fn tanh() {
                formula: "∂y/∂x = 1 − y²",
                forward: |v| v.tanh(),
                backward: |_x, y, g| g * (-(y.clone() * y.clone()) + T::one()),
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
            Sigmoid => pub fn sigmoid() {
                formula: "∂y/∂x = y·(1 − y)",
                forward: |v| crate::float::sigmoid_exact(v),
                backward: |_x, y, g| g * y.clone() * (-y.clone() + T::one()),
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
            Relu => pub fn relu() {
                formula: "∂y/∂x = 1 if x > 0 else 0",
                forward: |v| if v < T::zero() { T::zero() } else { v },
                backward: |x, _y, g| g.mul_piecewise(x, |v| step(v > T::zero())),
            }

    /// `xᶜ` for a fixed exponent; derivative `c·xᶜ⁻¹`. PyTorch: `torch.pow(x, c)`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(3.0f64);
    /// assert_eq!(x.powf(2.0).backward()[x].item(), 6.0);
    /// ```
            Powf => pub fn powf(exponent: T) {
                formula: "∂y/∂x = c·xᶜ⁻¹",
                forward: |v| v.powf(exponent),
                // c = 0 is special: 0·x⁻¹ would be NaN at x = 0, where the derivative is 0.
                backward: |x, _y, g| if exponent == T::zero() {
                    g.map_constant(|_| T::zero())
                } else {
                    g * x.powf(exponent - T::one()) * exponent
                },
            }

    /// `x` limited to `[min, max]`; derivative 1 inside (bounds included), 0 outside.
    /// PyTorch: `torch.clamp`.
    ///
    /// # Panics
    /// When `min > max`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(5.0f64);
    /// let y = x.clamp(-1.0, 1.0);
    /// assert_eq!(y.item(), 1.0);
    /// assert_eq!(y.backward()[x].item(), 0.0);
    /// ```
            Clamp => pub fn clamp(min: T, max: T) {
                formula: "∂y/∂x = 1 if min ≤ x ≤ max else 0",
                requires: min <= max => ["clamp: min {} is greater than max {}", min, max],
                forward: |v| if v < min {
                    min
                } else if v > max {
                    max
                } else {
                    v
                },
                backward: |x, _y, g| g.mul_piecewise(x, |v| step(v >= min && v <= max)),
            }

            /// Leaky ReLU: `x` for `x > 0`, else `slope · x`; derivative 1 for `x > 0`, else
            /// `slope` (`slope` at the kink, as PyTorch). PyTorch:
            /// `torch.nn.functional.leaky_relu(x, negative_slope)`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(-2.0f64);
            /// let y = x.leaky_relu(0.1);
            /// assert_eq!(y.item(), -0.2);
            /// assert_eq!(y.backward()[x].item(), 0.1);
            /// ```
            LeakyRelu => pub fn leaky_relu(slope: T) {
                formula: "∂y/∂x = 1 if x > 0 else slope",
                forward: |v| if v > T::zero() { v } else { v * slope },
                backward: |x, _y, g| g.mul_piecewise(x, |v| if v > T::zero() { T::one() } else { slope }),
            }

            /// Softplus `ln(1 + eˣ)`, a smooth relu, computed as `max(x, 0) + ln(1 + e^−|x|)` so
            /// it never overflows; derivative `σ(x)`. PyTorch: `torch.nn.functional.softplus`
            /// (whose `threshold=20` returns `x` itself above 20; this is exact everywhere).
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(0.0f64);
            /// let y = x.softplus();
            /// assert!((y.item() - 2.0f64.ln()).abs() < 1e-15);
            /// assert_eq!(y.backward()[x].item(), 0.5);
            /// assert_eq!(g.scalar(1000.0f64).softplus().item(), 1000.0);
            /// ```
            Softplus => pub fn softplus() {
                formula: "∂y/∂x = σ(x)",
                forward: |v| v.max(T::zero()) + (-v.abs()).exp().ln_1p(),
                backward: |x, _y, g| g * x.sigmoid(),
            }

            /// GELU in its tanh form, `½x·(1 + tanh(√(2/π)·(x + 0.044715x³)))`; derivative
            /// `½(1 + t) + ½x·(1 − t²)·√(2/π)·(1 + 3·0.044715x²)` with `t` the tanh. PyTorch:
            /// `torch.nn.functional.gelu(x, approximate='tanh')`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(0.0f64);
            /// let y = x.gelu();
            /// assert_eq!(y.item(), 0.0);
            /// assert_eq!(y.backward()[x].item(), 0.5);
            /// ```
            Gelu => pub fn gelu() {
                formula: "∂y/∂x = ½(1 + t) + ½x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t = tanh(√(2/π)·(x + 0.044715·x³))",
                forward: |v| {
                    let t = (gelu_inner(v)).tanh();
                    T::of(0.5) * v * (T::one() + t)
                },
                backward: |x, _y, g| {
                    let x2 = x.clone() * x.clone();
                    let t = ((x2.clone() * T::of(GELU_CUBIC) + T::one()) * x.clone() * T::of(GELU_SCALE)).tanh();
                    let slope = (x2 * T::of(3.0 * GELU_CUBIC) + T::one()) * T::of(GELU_SCALE);
                    let one_minus_t2 = -(t.clone() * t.clone()) + T::one();
                    g * ((t + T::one()) * T::of(0.5) + x.clone() * one_minus_t2 * slope * T::of(0.5))
                },
            }

            /// SiLU (swish) `x·σ(x)`; derivative `σ(x)·(1 + x·(1 − σ(x)))`. PyTorch:
            /// `torch.nn.functional.silu`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(0.0f64);
            /// let y = x.silu();
            /// assert_eq!(y.item(), 0.0);
            /// assert_eq!(y.backward()[x].item(), 0.5);
            /// ```
            Silu => pub fn silu() {
                formula: "∂y/∂x = σ(x)·(1 + x·(1 − σ(x)))",
                forward: |v| v * crate::float::sigmoid_exact(v),
                backward: |x, _y, g| {
                    let s = x.sigmoid();
                    g * s.clone() * (x.clone() * (-s + T::one()) + T::one())
                },
            }

            /// `ln(1 + x)`, accurate for `x` near 0 where `ln` of `1 + x` loses digits;
            /// derivative `1/(1 + x)`. PyTorch: `torch.log1p`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(1e-10f64);
            /// let y = x.log1p();
            /// assert!((y.item() - (1e-10 - 0.5e-20)).abs() < 1e-24); // x − x²/2
            /// assert!(((1.0f64 + 1e-10).ln() - 1e-10).abs() > 1e-18); // ln(1 + x) is off by 8e-18
            /// assert!((y.backward()[x].item() - 1.0 / (1.0 + 1e-10)).abs() < 1e-15);
            /// ```
            Log1p => pub fn log1p() {
                formula: "∂y/∂x = 1/(1 + x)",
                forward: |v| v.ln_1p(),
                backward: |x, _y, g| g / (x.clone() + T::one()),
            }

            /// `eˣ − 1`, accurate for `x` near 0; derivative `eˣ = y + 1`. PyTorch: `torch.expm1`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(1e-10f64);
            /// let y = x.expm1();
            /// assert!((y.item() - (1e-10 + 0.5e-20)).abs() < 1e-24); // x + x²/2
            /// assert!((1e-10f64.exp() - 1.0 - 1e-10).abs() > 1e-18); // eˣ − 1 is off by 8e-18
            /// assert!((y.backward()[x].item() - 1.0).abs() < 1e-9);
            /// ```
            Expm1 => pub fn expm1() {
                formula: "∂y/∂x = eˣ = y + 1",
                forward: |v| v.exp_m1(),
                backward: |_x, y, g| g * (y.clone() + T::one()),
            }

            /// Sine; derivative `cos x`. PyTorch: `torch.sin`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(0.0f64);
            /// assert_eq!(x.sin().backward()[x].item(), 1.0);
            /// ```
            Sin => pub fn sin() {
                formula: "∂y/∂x = cos x",
                forward: |v| v.sin(),
                backward: |x, _y, g| g * x.cos(),
            }

            /// Cosine; derivative `−sin x`. PyTorch: `torch.cos`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(0.0f64);
            /// let y = x.cos();
            /// assert_eq!(y.item(), 1.0);
            /// assert_eq!(y.backward()[x].item(), 0.0);
            /// ```
            Cos => pub fn cos() {
                formula: "∂y/∂x = −sin x",
                forward: |v| v.cos(),
                backward: |x, _y, g| -(g * x.sin()),
            }

            /// The error function `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt`; derivative `2/√π·e^(−x²)`. The exact
            /// GELU is `½x·(1 + erf(x/√2))`. PyTorch: `torch.erf`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(0.0f64);
            /// let y = x.erf();
            /// assert_eq!(y.item(), 0.0);
            /// assert!((y.backward()[x].item() - 2.0 / std::f64::consts::PI.sqrt()).abs() < 1e-15);
            /// ```
            Erf => pub fn erf() {
                formula: "∂y/∂x = 2/√π·e^(−x²)",
                forward: |v| T::of(libm::erf(v.to_f64_exact())),
                backward: |x, _y, g| g * (-(x.clone() * x.clone())).exp() * T::of(std::f64::consts::FRAC_2_SQRT_PI),
            }

            /// Rounds to the nearest integer, halves to even (as PyTorch and NumPy); derivative 0
            /// (almost everywhere): the gradient stops here. For a straight-through estimator, use
            /// `x + (x.round() − x).detach()`. PyTorch: `torch.round`.
            ///
            /// ```
            /// use chainrule_autodiff::{Graph, Tensor};
            /// let g = Graph::new();
            /// let x = g.param(Tensor::from_vec(vec![0.5f64, 1.5, -2.7], &[3]));
            /// assert_eq!(x.round().value().to_vec(), vec![0.0, 2.0, -3.0]);
            /// assert_eq!(x.round().sum().backward()[x].to_vec(), vec![0.0; 3]);
            /// ```
            Round => pub fn round() {
                formula: "∂y/∂x = 0",
                forward: |v| T::of(v.to_f64_exact().round_ties_even()),
                backward: |x, _y, g| g * x.map_constant(|_| T::zero()),
            }

            /// The largest integer not above `x`; derivative 0 (almost everywhere).
            /// PyTorch: `torch.floor`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(-1.5f64);
            /// assert_eq!(x.floor().item(), -2.0);
            /// assert_eq!(x.floor().backward()[x].item(), 0.0);
            /// ```
            Floor => pub fn floor() {
                formula: "∂y/∂x = 0",
                forward: |v| v.floor(),
                backward: |x, _y, g| g * x.map_constant(|_| T::zero()),
            }

            /// The sign of `x`: 1, −1, or 0 at 0; derivative 0 (almost everywhere).
            /// PyTorch: `torch.sign`.
            ///
            /// ```
            /// use chainrule_autodiff::Graph;
            /// let g = Graph::new();
            /// let x = g.scalar(-3.0f64);
            /// assert_eq!(x.sign().item(), -1.0);
            /// assert_eq!(x.sign().backward()[x].item(), 0.0);
            /// ```
            Sign => pub fn sign() {
                formula: "∂y/∂x = 0",
                forward: |v| sign(v),
                backward: |x, _y, g| g * x.map_constant(|_| T::zero()),
            }
        }
    };
}
pub(crate) use unary_ops;

/// Makes [`UnaryOp`] and its rules from the [`unary_ops!`] table.
macro_rules! define_unary_ops {
    ($(
        $(#[$doc:meta])*
        $variant:ident => $vis:vis fn $method:ident($($param:ident: T),*) {
            formula: $formula:literal,
            $(requires: $requires:expr => [$($requirement:expr),+ $(,)?],)?
            forward: |$v:ident| $forward:expr,
            $(#[$note:meta])*
            backward: |$bx:pat_param, $by:pat_param, $bg:ident| $backward:expr $(,)?
        }
    )*) => {
        /// An elementwise function of one var: one variant per entry of the table in
        /// `ops/elementwise.rs`, carrying the entry's fixed numbers.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum UnaryOp<T> {
            $(
                #[doc = concat!("`", stringify!($method), "`: ", $formula)]
                $variant {
                    $(
                        #[doc = concat!("The `", stringify!($param), "` argument.")]
                        $param: T,
                    )*
                },
            )*
        }

        impl<T: Float> UnaryOp<T> {
            /// The op's name: the name of its `Var` method.
            pub fn name(&self) -> &'static str {
                match self {
                    $(UnaryOp::$variant { .. } => stringify!($method),)*
                }
            }

            /// The local derivative.
            pub fn formula(&self) -> &'static str {
                match self {
                    $(UnaryOp::$variant { .. } => $formula,)*
                }
            }

            /// The public unary functions, each with the names of its fixed numbers, in table
            /// order: what `chainrule explain` accepts as `name(x, number, …)`.
            ///
            /// ```
            /// use chainrule_autodiff::ops::UnaryOp;
            /// let functions = UnaryOp::<f64>::functions();
            /// assert!(functions.contains(&("tanh", &[][..])));
            /// assert!(functions.contains(&("leaky_relu", &["slope"][..])));
            /// ```
            pub fn functions() -> Vec<(&'static str, &'static [&'static str])> {
                let mut functions = Vec::new();
                $(
                    if stringify!($vis) == "pub" {
                        functions.push((stringify!($method), &[$(stringify!($param)),*][..]));
                    }
                )*
                functions
            }

            /// The public function called `name` with these fixed numbers, if there is one
            /// with that many numbers (see [`UnaryOp::functions`]).
            ///
            /// ```
            /// use chainrule_autodiff::ops::UnaryOp;
            /// assert_eq!(UnaryOp::by_name("powf", &[2.0f64]), Some(UnaryOp::Powf { exponent: 2.0 }));
            /// assert_eq!(UnaryOp::<f64>::by_name("tanh", &[1.0]), None);
            /// ```
            pub fn by_name(name: &str, numbers: &[T]) -> Option<Self> {
                $(
                    if stringify!($vis) == "pub" && name == stringify!($method) {
                        #[allow(unused_mut, unused_variables)]
                        let mut numbers = numbers.iter().copied();
                        let op = UnaryOp::$variant { $($param: numbers.next()?),* };
                        return numbers.next().is_none().then_some(op);
                    }
                )*
                None
            }

            /// The op on a tensor: its function of one number, elementwise.
            // Always inlined, so that the values of a tensor of several elements come back in
            // registers to where the tensor is built (see `forward_values`).
            #[track_caller]
            #[inline(always)]
            pub(crate) fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
                match x.one_element() {
                    Some(v) => self.forward_one(x, v),
                    None => x.with_values(self.forward_values(x)),
                }
            }

            /// [`UnaryOp::forward`] of a tensor whose one element `v` is held inline.
            #[track_caller]
            fn forward_one(&self, x: &Tensor<T>, v: T) -> Tensor<T> {
                x.with_one(self.on_number(v))
            }

            /// The op's function of one number.
            ///
            /// # Panics
            /// When the op's fixed numbers do not meet its requirement (`clamp`'s min ≤ max).
            #[track_caller]
            #[inline]
            fn on_number(&self, v: T) -> T {
                self.check();
                match *self {
                    $(UnaryOp::$variant { $($param),* } => {
                        let $v = v;
                        $forward
                    })*
                }
            }

            /// [`UnaryOp::forward`]'s values for an `x` that is not one inline element, which
            /// the caller gives `x`'s shape ([`Tensor::with_values`]). Out of line and returned
            /// in two registers: a whole tensor returned through memory, written there in
            /// pieces and copied into the graph's node in larger ones, stalled each recorded op
            /// of a small tensor (op-overhead's forward 23.3 → ~21 ns per op).
            #[track_caller]
            #[inline(never)]
            pub(crate) fn forward_values(&self, x: &Tensor<T>) -> Values<T> {
                self.check();
                match *self {
                    $(UnaryOp::$variant { $($param),* } => x.map_values(|$v| $forward),)*
                }
            }

            /// Panics when the op's fixed numbers do not meet its requirement.
            #[track_caller]
            #[inline(always)]
            #[allow(unused_variables)]
            fn check(&self) {
                match *self {
                    $(UnaryOp::$variant { $($param),* } => {
                        $(shape_assert!($requires, $($requirement),+);)?
                    })*
                }
            }

            /// ∂L/∂x from ∂L/∂y = `g`, the input `x` and the output `y`.
            // Always inlined: called out of line on a tensor, the gradient went through two more
            // copies on the stack (op-overhead's backward 14.2 → 12.3 ns per op).
            #[allow(unused_variables)]
            #[inline(always)]
            pub(crate) fn backward<V: ElementwiseOps<T>>(&self, x: &V, y: &V, g: V) -> V {
                match *self {
                    $(UnaryOp::$variant { $($param),* } => {
                        let $bx = x;
                        let $by = y;
                        let $bg = g;
                        $backward
                    })*
                }
            }
        }
    };
}

unary_ops!(define_unary_ops);

/// √(2/π), the scale inside GELU's tanh.
const GELU_SCALE: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient inside GELU's tanh.
const GELU_CUBIC: f64 = 0.044_715;

/// `√(2/π)·(x + 0.044715·x³)`, the argument of GELU's tanh.
fn gelu_inner<T: Float>(v: T) -> T {
    T::of(GELU_SCALE) * (v + T::of(GELU_CUBIC) * v * v * v)
}

/// 1 where `holds`, else 0: the derivative of a piecewise-linear function.
fn step<T: Float>(holds: bool) -> T {
    if holds {
        T::one()
    } else {
        T::zero()
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

/// The share of the gradient `max`/`min` gives an input that `wins` or `ties` the other: all,
/// half or none.
fn share<T: Float>(wins: bool, ties: bool) -> T {
    if wins {
        T::one()
    } else if ties {
        T::of(0.5)
    } else {
        T::zero()
    }
}

/// The binary op table: functions of two vars whose shapes broadcast (NumPy rules). An entry
/// reads
///
/// ```text
/// Variant ("name") [=> pub fn method] {
///     formula: "∂y/∂a = …, ∂y/∂b = …",
///     forward: |x, y| the function of two numbers, // mapped over the broadcast pairs
///     da: |a, b, y, g| ∂L/∂a,          // before the sweep sums it back to a's shape
///     db: |a, b, y, g| ∂L/∂b,          // g is the rule's own; a, b, y are borrowed
/// }
/// ```
///
/// `+ − · /` have no method: they are the operators of `Var`.
macro_rules! binary_ops {
    ($define:ident) => {
        $define! {
            Add ("add") {
                formula: "∂y/∂a = 1, ∂y/∂b = 1",
                forward: |x, y| x + y,
                da: |_a, _b, _y, g| g,
                db: |_a, _b, _y, g| g,
            }
            Sub ("sub") {
                formula: "∂y/∂a = 1, ∂y/∂b = −1",
                forward: |x, y| x - y,
                da: |_a, _b, _y, g| g,
                db: |_a, _b, _y, g| -g,
            }
            Mul ("mul") {
                formula: "∂y/∂a = b, ∂y/∂b = a",
                forward: |x, y| x * y,
                da: |_a, b, _y, g| g.times(b),
                db: |a, _b, _y, g| g.times(a),
            }
            Div ("div") {
                formula: "∂y/∂a = 1/b, ∂y/∂b = −a/b² = −y/b",
                forward: |x, y| x / y,
                da: |_a, b, _y, g| g.over(b),
                db: |_a, b, y, g| -g.times(y).over(b),
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
            Pow ("pow") => pub fn pow {
                formula: "∂y/∂a = b·aᵇ⁻¹, ∂y/∂b = aᵇ·ln a = y·ln a",
                forward: |x, y| x.powf(y),
                da: |a, b, _y, g| g.times(b) * a.pow(&(b.clone() + -T::one())),
                db: |a, _b, y, g| g.times(y) * a.ln(),
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
            Maximum ("maximum") => pub fn maximum {
                formula: "∂y/∂a = 1 where a > b, ½ where a = b, else 0 (b alike)",
                forward: |x, y| if x > y || x.is_nan() { x } else { y },
                da: |a, b, _y, g| g * a.zip_constant(b, |p, q| share(p > q, p == q)),
                db: |a, b, _y, g| g * b.zip_constant(a, |p, q| share(p > q, p == q)),
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
            Minimum ("minimum") => pub fn minimum {
                formula: "∂y/∂a = 1 where a < b, ½ where a = b, else 0 (b alike)",
                forward: |x, y| if x < y || x.is_nan() { x } else { y },
                da: |a, b, _y, g| g * a.zip_constant(b, |p, q| share(p < q, p == q)),
                db: |a, b, _y, g| g * b.zip_constant(a, |p, q| share(p < q, p == q)),
            }
        }
    };
}
pub(crate) use binary_ops;

/// Makes [`BinaryOp`] and its rules from the [`binary_ops!`] table.
macro_rules! define_binary_ops {
    ($(
        $(#[$doc:meta])*
        $variant:ident ($name:literal) $(=> pub fn $method:ident)? {
            formula: $formula:literal,
            forward: |$fa:ident, $fb:ident| $forward:expr,
            da: |$a1:pat_param, $b1:pat_param, $y1:pat_param, $g1:ident| $da:expr,
            db: |$a2:pat_param, $b2:pat_param, $y2:pat_param, $g2:ident| $db:expr $(,)?
        }
    )*) => {
        /// An elementwise function of two vars whose shapes broadcast (NumPy rules): one
        /// variant per entry of the table in `ops/elementwise.rs`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum BinaryOp {
            $(
                #[doc = concat!("`", $name, "`: ", $formula)]
                $variant,
            )*
        }

        impl BinaryOp {
            /// The op's name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(BinaryOp::$variant => $name,)*
                }
            }

            /// The local derivatives.
            pub fn formula(&self) -> &'static str {
                match self {
                    $(BinaryOp::$variant => $formula,)*
                }
            }

            /// The op on two tensors: its function of two numbers, on each pair of elements
            /// of the broadcast shape.
            ///
            /// # Panics
            /// When the shapes do not broadcast.
            // Always inlined, so that the values of two tensors of one shape and several
            // elements come back in registers to where the tensor is built (as
            // `UnaryOp::forward_values`).
            #[track_caller]
            #[inline(always)]
            pub(crate) fn forward<T: Float>(&self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
                if a.one_element().is_none() && same_dims(a.shape(), b.shape()) {
                    return a.with_values(self.forward_values(a, b));
                }
                self.forward_broadcast(a, b)
            }

            /// [`BinaryOp::forward`]'s values for two tensors of one shape, which the caller
            /// gives that shape ([`Tensor::with_values`]); in two registers.
            #[inline(never)]
            fn forward_values<T: Float>(&self, a: &Tensor<T>, b: &Tensor<T>) -> Values<T> {
                match self {
                    $(BinaryOp::$variant => a.zip_values(b, |$fa, $fb| $forward),)*
                }
            }

            /// [`BinaryOp::forward`] for any two shapes that broadcast.
            #[track_caller]
            fn forward_broadcast<T: Float>(&self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
                match self {
                    $(BinaryOp::$variant => a.zip_map(b, $name, |$fa, $fb| $forward),)*
                }
            }

            /// (∂L/∂a, ∂L/∂b) from ∂L/∂y = `g`, in the output's shape (the sweep sums each
            /// back to its input's shape); `None` for an input that wants no gradient.
            // Always inlined: on plain numbers (the sweep's scalar path) the rule is a few
            // instructions, and a call to it, which the compiler chose or not depending on
            // unrelated code elsewhere in the binary, made scalar-mlp 10% slower.
            #[inline(always)]
            pub(crate) fn backward<T: Float, V: ElementwiseOps<T>>(
                &self,
                a: &V,
                b: &V,
                y: &V,
                g: V,
                [want_a, want_b]: [bool; 2],
            ) -> (Option<V>, Option<V>) {
                // Each rule owns its gradient: the one input that wants one takes `g` itself,
                // which a tensor rule may then write over; a copy is made only for two.
                let (g_a, g_b) = match (want_a, want_b) {
                    (true, true) => (Some(g.clone()), Some(g)),
                    (true, false) => (Some(g), None),
                    (false, true) => (None, Some(g)),
                    (false, false) => (None, None),
                };
                match self {
                    $(BinaryOp::$variant => (
                        g_a.map(|$g1| {
                            let ($a1, $b1, $y1) = (a, b, y);
                            $da
                        }),
                        g_b.map(|$g2| {
                            let ($a2, $b2, $y2) = (a, b, y);
                            $db
                        }),
                    ),)*
                }
            }
        }
    };
}

binary_ops!(define_binary_ops);

/// `where(mask, a, b)`: `a` where the mask is non-zero, else `b`, the three shapes broadcast
/// together. The gradient goes to whichever input was picked; the mask gets none (it is
/// piecewise constant).
pub(crate) mod select {
    use crate::ops::vocabulary::ElementwiseOps;
    use crate::{Float, Tensor};

    /// The op's name.
    pub(crate) const NAME: &str = "where";
    /// The local derivatives.
    pub(crate) const FORMULA: &str =
        "∂y/∂a = 1 where mask ≠ 0 else 0, ∂y/∂b = 1 where mask = 0 else 0";

    #[track_caller]
    pub(crate) fn forward<T: Float>(mask: &Tensor<T>, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        let picked = |m: T| m != T::zero();
        // a where picked, else 0, plus b where not picked, else 0: one broadcast kernel each.
        let from_a = mask.zip_map(a, NAME, |m, v| if picked(m) { v } else { T::zero() });
        let from_b = mask.zip_map(b, NAME, |m, v| if picked(m) { T::zero() } else { v });
        from_a.add(&from_b)
    }

    /// (∂L/∂a, ∂L/∂b) from ∂L/∂y = `g`.
    pub(crate) fn backward<T: Float, V: ElementwiseOps<T>>(
        mask: &V,
        g: V,
        [want_a, want_b]: [bool; 2],
    ) -> (Option<V>, Option<V>) {
        let is = |v: bool| if v { T::one() } else { T::zero() };
        let to_a = want_a.then(|| g.clone() * mask.zip_constant(&g, |m, _| is(m != T::zero())));
        let to_b = want_b.then(|| g.clone() * mask.zip_constant(&g, |m, _| is(m == T::zero())));
        (to_a, to_b)
    }
}
