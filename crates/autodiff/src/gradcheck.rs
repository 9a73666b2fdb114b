//! Gradient checking: the engine's gradients against central finite differences, in `f64`.
//!
//! The backward rules are the part of an autodiff engine most likely to be wrong and least
//! likely to look wrong; a finite difference needs nothing but forward evaluations, so it is an
//! independent oracle for every rule. Use [`gradcheck`] on any function you build from graph ops.
//!
//! When a model's check fails, [`check_each_op`] says which op is wrong: it checks every node's
//! rule on its own — the node's vector–Jacobian product at its actual input values against
//! central differences of that node's forward alone — and reports the first node that
//! disagrees, by op, name and source line. [`gradcheck`] runs it for you on failure
//! ([`GradcheckReport::wrong_op`]).
//!
//! Model code that trains in `f32` is checked in `f64` by writing it once, generic over the
//! float type: implement [`GenericFunction`] (a function of input tensors) or [`GenericLoss`]
//! (a loss of a [`ParamStore`]'s parameters) and call [`gradcheck_generic`] or
//! [`gradcheck_params`], which convert the values to `f64` and run the same code there.

use std::fmt;
use std::panic::Location;

use crate::backward::Differentiable;
use crate::ops::vocabulary::ElementwiseOps;
use crate::ops::Op;
use crate::{custom, Float, Graph, ParamId, ParamStore, Tensor, Var};

/// Step size and tolerances for [`gradcheck`].
///
/// **Step.** The central difference `(f(x+h) − f(x−h)) / 2h` has a truncation error of about
/// `h²·|f'''|/6` and a rounding error of about `ε·|f|/h` (ε ≈ 2.2e-16 in f64). The two balance
/// near `h ≈ ε^⅓ ≈ 6e-6`; the default `1e-6` (PyTorch's choice too) keeps both near 1e-10 for
/// functions of moderate size and curvature. Take a smaller step near a kink (relu at 0, abs at
/// 0), where a step that crosses it gives a meaningless average — or better, keep test points
/// away from kinks.
///
/// **Tolerances.** An element passes when `|analytic − numeric| ≤ abs_tol + rel_tol·|numeric|`
/// (the rule of `numpy.allclose`). The absolute part covers gradients that should be zero, where
/// any relative error is meaningless; the relative part covers large gradients, whose finite
/// difference carries rounding error in proportion to `|f|`. The defaults (`1e-5`, `1e-4`) sit
/// about five orders of magnitude above the error of a correct rule at the default step, and far
/// below the error of any real mistake (a missing factor or a wrong sign).
///
/// ```
/// use chainrule_autodiff::GradcheckOptions;
/// let options = GradcheckOptions { worst_elements: 3, ..GradcheckOptions::default() };
/// assert_eq!(options.step, 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckOptions {
    /// The finite-difference step `h`.
    pub step: f64,
    /// The absolute part of the tolerance.
    pub abs_tol: f64,
    /// The relative part of the tolerance.
    pub rel_tol: f64,
    /// How many of the worst elements the report lists (default 5), worst first.
    pub worst_elements: usize,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            step: 1e-6,
            abs_tol: 1e-5,
            rel_tol: 1e-4,
            worst_elements: 5,
        }
    }
}

/// One compared element, among those that came nearest to failing (or failed by the most).
///
/// Its [`Display`](fmt::Display) names it as `w[2,0]`: the input's name — the label its var
/// was given with [`Var::named`] inside the checked function, the parameter's name for
/// [`gradcheck_params`], else `inputs[i]` — and the element's multi-index (none for a 0-d
/// input).
///
/// ```
/// use chainrule_autodiff::{gradcheck, GradcheckOptions, Tensor};
/// let w = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.1], &[2, 2]);
/// let report = gradcheck(|_g, v| v[0].named("w").exp(), &[w], GradcheckOptions::default());
/// let worst = &report.worst_elements[0];
/// assert_eq!(worst.name, "w");
/// assert!(worst.to_string().starts_with(&format!("w[{},{}]", worst.index[0], worst.index[1])));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct WorstElement {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// The input's name (see above).
    pub name: String,
    /// The element's multi-index within that input.
    pub index: Vec<usize>,
    /// The engine's gradient there.
    pub analytic: f64,
    /// The central finite difference there.
    pub numeric: f64,
    /// `|analytic − numeric| / (abs_tol + rel_tol·|numeric|)`: above 1 fails.
    pub error_over_tolerance: f64,
}

impl WorstElement {
    /// Where the element is, as `name[i,j]` (`name` alone for a 0-d input).
    pub fn location(&self) -> String {
        if self.index.is_empty() {
            return self.name.clone();
        }
        let index: Vec<String> = self.index.iter().map(usize::to_string).collect();
        format!("{}[{}]", self.name, index.join(","))
    }
}

impl fmt::Display for WorstElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: analytic {:.10e}, numeric {:.10e} ({:.2e} of its tolerance)",
            self.location(),
            self.analytic,
            self.numeric,
            self.error_over_tolerance
        )
    }
}

/// What [`gradcheck`] found. Passing means every element was within its tolerance; the error
/// figures say by how much.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    /// The largest `|analytic − numeric|` over all elements.
    pub max_abs_error: f64,
    /// The largest `|analytic − numeric| / max(|analytic|, |numeric|)` over the elements whose
    /// derivative is larger than `abs_tol` (0 when there are none): near zero a relative error
    /// means nothing — the absolute tolerance judges those elements.
    pub max_rel_error: f64,
    /// The largest error as a fraction of its element's tolerance
    /// (`|analytic − numeric| / (abs_tol + rel_tol·|numeric|)`): below 1 everywhere is a pass.
    pub max_error_over_tolerance: f64,
    /// The element with the largest error measured against its tolerance; `None` when the
    /// inputs have no elements. The same as `worst_elements[0]`.
    pub worst: Option<WorstElement>,
    /// The [`GradcheckOptions::worst_elements`] elements with the largest errors measured
    /// against their tolerances, worst first, each named by input and multi-index.
    pub worst_elements: Vec<WorstElement>,
    /// How many elements were compared.
    pub elements: usize,
    /// Whether every element was within tolerance (and every value finite).
    pub passed: bool,
    /// When the check failed: the first op whose own rule disagrees with finite differences
    /// of its own forward (see [`check_each_op`]); `None` when it passed, or when every op is
    /// right on its own (then look at the inputs: a kink, a pole, a step too large).
    pub wrong_op: Option<WrongOp>,
}

/// An op whose backward rule disagrees with central differences of its forward, found by
/// [`check_each_op`].
#[derive(Clone, Debug, PartialEq)]
pub struct WrongOp {
    /// The node's position in the tape.
    pub node: usize,
    /// The node's display name (its label, or `n` and its id).
    pub name: String,
    /// The op's name (a user-defined op's own name).
    pub op: &'static str,
    /// Where the node was recorded.
    pub source_line: Option<&'static Location<'static>>,
    /// The worst element: `input` is the op's input position (0 for its first argument).
    pub worst: WorstElement,
}

impl fmt::Display for WrongOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the backward rule of `{}` (node {}", self.op, self.name)?;
        if let Some(line) = self.source_line {
            write!(f, ", recorded at {line}")?;
        }
        let w = &self.worst;
        write!(
            f,
            ") disagrees with its forward: ∂/∂(input {}) at {:?} is {:.10e} by the rule, \
             {:.10e} by central differences",
            w.input, w.index, w.analytic, w.numeric
        )
    }
}

impl GradcheckReport {
    /// Panics with the whole report unless the check passed.
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed, "gradcheck failed: {self}");
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} over {} elements: largest error {:.2e} of its tolerance; max abs error {:.3e}, \
             max rel error {:.3e} (over derivatives above abs_tol)",
            if self.passed { "passed" } else { "FAILED" },
            self.elements,
            self.max_error_over_tolerance,
            self.max_abs_error,
            self.max_rel_error
        )?;
        for (i, element) in self.worst_elements.iter().enumerate() {
            let lead = if i == 0 { "; worst: " } else { "; then " };
            write!(f, "{lead}{element}")?;
        }
        if let Some(wrong) = &self.wrong_op {
            write!(f, "; {wrong}")?;
        }
        Ok(())
    }
}

/// Compares the engine's gradient of `f` with central finite differences, element by element.
///
/// `f` receives a fresh graph and one parameter var per input tensor, and returns a var of any
/// shape. An output of several elements is checked through a fixed random projection
/// `⟨r, y⟩` (as PyTorch checks every output): a plain sum would hide errors that cancel out,
/// such as a softmax rule missing its `− Σ` term. `f` is called once for the engine's gradient
/// and twice per input element for the finite differences, so keep inputs small. A function
/// that does not depend on its inputs has gradient zero, and is checked as such.
///
/// ```
/// use chainrule_autodiff::{gradcheck, GradcheckOptions, Tensor};
/// let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[1, 3]);
/// let report = gradcheck(|_g, v| (v[0].tanh() * v[0]).sum(), &[x.clone()], GradcheckOptions::default());
/// assert!(report.passed, "{report}");
/// assert!(report.max_abs_error < 1e-8);
/// // A vector output: softmax, checked through a random projection.
/// assert!(gradcheck(|_g, v| v[0].softmax(-1), &[x], GradcheckOptions::default()).passed);
/// ```
pub fn gradcheck<F>(f: F, inputs: &[Tensor<f64>], options: GradcheckOptions) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    let f = as_checked(|g, v| projected(g, f(g, v)));
    let (analytic, names): (Vec<Tensor<f64>>, Vec<String>) = {
        let g = Graph::new();
        let vars: Vec<_> = inputs.iter().map(|t| g.param(t.clone())).collect();
        let out = f(&g, &vars);
        // Read after `f` ran, which may have named its inputs.
        let names = vars
            .iter()
            .enumerate()
            .map(|(i, v)| v.label().unwrap_or_else(|| format!("inputs[{i}]")))
            .collect();
        let analytic = if out.requires_grad() {
            let grads = out.backward();
            vars.iter().map(|&v| grads[v].clone()).collect()
        } else {
            inputs.iter().map(|t| Tensor::zeros(t.shape())).collect()
        };
        (analytic, names)
    };
    let evaluate = |perturbed: &[Tensor<f64>]| -> f64 {
        let g = Graph::new();
        let vars: Vec<_> = perturbed.iter().map(|t| g.param(t.clone())).collect();
        f(&g, &vars).item()
    };

    let mut tally = Tally::new(options, names);
    let mut work: Vec<Tensor<f64>> = inputs.to_vec();
    for (which, input) in inputs.iter().enumerate() {
        for flat in 0..input.numel() {
            let numeric = central_difference(&mut work, which, flat, options.step, evaluate);
            let exact = analytic[which].as_slice()[flat];
            tally.compare(which, || input.unravel_index(flat), exact, numeric);
        }
    }
    let mut report = tally.finish();
    if !report.passed {
        report.wrong_op = check_each_op(f, inputs, options);
    }
    report
}

/// Checks the second derivatives of `f`: [`gradcheck`] of `x ↦ Σᵢ ⟨uᵢ, ∂f/∂xᵢ⟩` with fixed
/// random `uᵢ`, the gradient recorded on the graph by [`grad_vars`](crate::grad_vars) — so the
/// rules of the backward pass are themselves checked against finite differences. PyTorch:
/// `torch.autograd.gradgradcheck`.
///
/// ```
/// use chainrule_autodiff::gradcheck::gradgradcheck;
/// use chainrule_autodiff::{GradcheckOptions, Tensor};
/// let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3]);
/// let report = gradgradcheck(|_g, v| v[0].sigmoid() * v[0], &[x], GradcheckOptions::default());
/// assert!(report.passed, "{report}");
/// ```
pub fn gradgradcheck<F>(f: F, inputs: &[Tensor<f64>], options: GradcheckOptions) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    let directions: Vec<Tensor<f64>> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| projection(t.shape(), 1 + i as u64))
        .collect();
    gradcheck(
        |g, v| {
            let y = projected(g, f(g, v));
            if !y.requires_grad() {
                return g.constant(Tensor::scalar(0.0));
            }
            let gradients = crate::grad_vars(&[y], None, v);
            gradients
                .into_iter()
                .zip(&directions)
                .map(|(d, u)| (d * g.constant(u.clone())).sum())
                .reduce(|a, b| a + b)
                .unwrap_or_else(|| g.constant(Tensor::scalar(0.0)))
        },
        inputs,
        options,
    )
}

/// A function written once for every float type: what [`gradcheck_generic`] checks in `f64`
/// while the same code runs in `f32` elsewhere. (A closure cannot be generic over `T`, so the
/// function is a method of a type of yours, which can hold the function's data.)
///
/// ```
/// use chainrule_autodiff::gradcheck::{gradcheck_generic, GenericFunction};
/// use chainrule_autodiff::{Float, GradcheckOptions, Graph, Tensor, Var};
///
/// /// Scaled dot-product attention scores of queries against keys.
/// struct Attention {
///     scale: f64,
/// }
///
/// impl GenericFunction for Attention {
///     fn eval<'g, T: Float>(&self, _g: &'g Graph<T>, v: &[Var<'g, T>]) -> Var<'g, T> {
///         (v[0].matmul(v[1].transpose(0, 1)) * T::of(self.scale)).softmax(-1)
///     }
/// }
///
/// let attention = Attention { scale: 0.5 };
/// let queries = Tensor::from_vec(vec![0.1f32, 0.7, -0.4, 0.2], &[2, 2]);
/// let keys = Tensor::from_vec(vec![0.3f32, -0.5, 0.9, 0.05, 0.4, -0.2], &[3, 2]);
/// // Checked in f64 from f32 inputs …
/// let report = gradcheck_generic(&attention, &[queries.clone(), keys.clone()], GradcheckOptions::default());
/// assert!(report.passed, "{report}");
/// // … and the very same code run in f32.
/// let g = Graph::new();
/// let scores = attention.eval(&g, &[g.input(queries), g.input(keys)]);
/// assert_eq!(scores.shape().as_slice(), &[2, 3]);
/// ```
pub trait GenericFunction {
    /// The function's output for `inputs`, in graph `g`, for any float type.
    fn eval<'g, T: Float>(&self, g: &'g Graph<T>, inputs: &[Var<'g, T>]) -> Var<'g, T>;
}

/// [`gradcheck`] of a [`GenericFunction`] at inputs of any float type: the inputs are converted
/// to `f64` (exactly, from `f32`) and the function is run in `f64`, where finite differences
/// are accurate. See [`GenericFunction`] for an example.
pub fn gradcheck_generic<S: Float>(
    f: &impl GenericFunction,
    inputs: &[Tensor<S>],
    options: GradcheckOptions,
) -> GradcheckReport {
    let inputs: Vec<Tensor<f64>> = inputs.iter().map(Tensor::cast).collect();
    gradcheck(|g, v| f.eval(g, v), &inputs, options)
}

/// A loss of the parameters of a [`ParamStore`], written once for every float type: what
/// [`gradcheck_params`] checks in `f64`. The type implementing it holds the model (its
/// [`ParamId`]s, or layers that hold them) and the data; `eval` binds the parameters with
/// [`ParamStore::bind`] as a training step does.
///
/// ```
/// use chainrule_autodiff::gradcheck::{gradcheck_params, GenericLoss};
/// use chainrule_autodiff::{Float, GradcheckOptions, Graph, ParamId, ParamKind, ParamStore, Tensor, Var};
///
/// struct Regression {
///     weight: ParamId,
///     bias: ParamId,
///     inputs: Tensor<f32>,
///     targets: Tensor<f32>,
/// }
///
/// impl GenericLoss for Regression {
///     fn eval<'g, T: Float>(&self, g: &'g Graph<T>, params: &ParamStore<T>) -> Var<'g, T> {
///         let x = g.input(self.inputs.cast());
///         let hidden = x.matmul(params.bind(g, self.weight)) + params.bind(g, self.bias);
///         (hidden.tanh() - g.input(self.targets.cast())).square().mean()
///     }
/// }
///
/// let mut params = ParamStore::<f32>::new();
/// let weight = params.insert("w", Tensor::from_vec(vec![0.5, -0.3, 0.8, 0.1], &[2, 2]), ParamKind::Weight);
/// let bias = params.insert("b", Tensor::from_vec(vec![0.1, 0.0], &[2]), ParamKind::Bias);
/// let model = Regression {
///     weight,
///     bias,
///     inputs: Tensor::from_vec(vec![1.0, 2.0, -1.0, 0.5], &[2, 2]),
///     targets: Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[2, 2]),
/// };
/// let report = gradcheck_params(&model, &params, GradcheckOptions::default());
/// assert!(report.passed, "{report}");
/// // The worst elements are named by parameter and multi-index, such as `w[1,0]`.
/// assert!(report.worst_elements.iter().all(|e| e.name == "w" || e.name == "b"));
/// // The same loss trains in f32.
/// let g = Graph::new();
/// let loss: f32 = model.eval(&g, &params).item();
/// assert!(loss > 0.0);
/// ```
pub trait GenericLoss {
    /// The loss in graph `g`, with the parameters of `params`, for any float type.
    fn eval<'g, T: Float>(&self, g: &'g Graph<T>, params: &ParamStore<T>) -> Var<'g, T>;
}

/// [`gradcheck`] of a [`GenericLoss`] with respect to every parameter of `params` (of any float
/// type), in `f64`: the store is converted with [`ParamStore::cast`] (its [`ParamId`]s stay
/// valid), and the check's vars are bound in the parameters' place with
/// [`ParamStore::bind_var`], named after them, so the report names the worst elements as
/// `weight[2,0]`. See [`GenericLoss`] for an example.
pub fn gradcheck_params<S: Float>(
    loss: &impl GenericLoss,
    params: &ParamStore<S>,
    options: GradcheckOptions,
) -> GradcheckReport {
    let params = params.cast::<f64>();
    let ids: Vec<ParamId> = params.ids().collect();
    let values: Vec<Tensor<f64>> = ids.iter().map(|&id| params.value(id).clone()).collect();
    gradcheck(
        |g, v| {
            for (&id, &var) in ids.iter().zip(v) {
                params.bind_var(id, var.named(params.name(id)));
            }
            loss.eval(g, &params)
        },
        &values,
        options,
    )
}

/// Fixed pseudo-random weights in `[−1, −0.25] ∪ [0.25, 1]` (never near zero, so no element
/// of a projected output escapes the check), the same for every call with the same seed.
fn projection(shape: &[usize], seed: u64) -> Tensor<f64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let n = shape.iter().product();
    let values = (0..n)
        .map(|_| {
            let magnitude = rng.gen_range(0.25..=1.0);
            if rng.gen_bool(0.5) {
                magnitude
            } else {
                -magnitude
            }
        })
        .collect();
    Tensor::from_vec(values, shape)
}

/// `y` itself when it has one element, else its fixed random projection `⟨r, y⟩`.
fn projected<'g>(g: &'g Graph<f64>, y: Var<'g, f64>) -> Var<'g, f64> {
    let shape = y.shape();
    if shape.iter().product::<usize>() == 1 {
        return y;
    }
    (y * g.constant(projection(&shape, 0))).sum()
}

/// Pins a closure to the signature the checks take (a closure's lifetimes are otherwise
/// inferred too narrowly).
fn as_checked<F>(f: F) -> F
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    f
}

/// `(f(x + h) − f(x − h)) / 2h` with `x` the element `flat` of `values[which]`, which is put
/// back afterwards.
fn central_difference(
    values: &mut [Tensor<f64>],
    which: usize,
    flat: usize,
    step: f64,
    evaluate: impl Fn(&[Tensor<f64>]) -> f64,
) -> f64 {
    let original = values[which].as_slice()[flat];
    values[which].data_mut()[flat] = original + step;
    let plus = evaluate(values);
    values[which].data_mut()[flat] = original - step;
    let minus = evaluate(values);
    values[which].data_mut()[flat] = original;
    (plus - minus) / (2.0 * step)
}

/// Element-by-element comparisons of analytic and numeric derivatives, gathered into a report.
struct Tally {
    options: GradcheckOptions,
    /// Each input's name, for the worst elements.
    names: Vec<String>,
    report: GradcheckReport,
}

impl Tally {
    fn new(options: GradcheckOptions, names: Vec<String>) -> Self {
        Tally {
            options,
            names,
            report: GradcheckReport {
                max_abs_error: 0.0,
                max_rel_error: 0.0,
                max_error_over_tolerance: 0.0,
                worst: None,
                worst_elements: Vec::new(),
                elements: 0,
                passed: true,
                wrong_op: None,
            },
        }
    }

    /// Compares one element: `index` gives its multi-index, asked for only if it is among the
    /// worst so far.
    fn compare(&mut self, input: usize, index: impl Fn() -> Vec<usize>, exact: f64, numeric: f64) {
        let options = &self.options;
        let report = &mut self.report;
        let abs_error = (exact - numeric).abs();
        let scale = exact.abs().max(numeric.abs());
        let rel_error = if scale > options.abs_tol {
            abs_error / scale
        } else {
            0.0
        };
        let allowed = options.abs_tol + options.rel_tol * numeric.abs();
        // NaN compares false everywhere, so a NaN on either side fails here.
        let within = abs_error <= allowed;
        let ratio = if abs_error.is_nan() {
            f64::INFINITY
        } else if allowed > 0.0 {
            abs_error / allowed
        } else if abs_error == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
        report.elements += 1;
        report.passed &= within;
        report.max_abs_error = report.max_abs_error.max(abs_error);
        report.max_rel_error = report.max_rel_error.max(rel_error);
        report.max_error_over_tolerance = report.max_error_over_tolerance.max(ratio);
        if abs_error.is_nan() {
            report.max_abs_error = f64::NAN;
        }
        // The list stays sorted worst first; a later element must beat one strictly to enter,
        // so among equals the first compared is kept.
        let worst = &mut report.worst_elements;
        let keep = options.worst_elements.max(1);
        if worst.len() < keep || worst.last().is_some_and(|w| ratio > w.error_over_tolerance) {
            let at = worst.partition_point(|w| w.error_over_tolerance >= ratio);
            worst.insert(
                at,
                WorstElement {
                    input,
                    name: self.names[input].clone(),
                    index: index(),
                    analytic: exact,
                    numeric,
                    error_over_tolerance: ratio,
                },
            );
            worst.truncate(keep);
        }
    }

    /// The report, with `worst` the first of the worst elements and the list cut to the length
    /// asked for (`worst` is kept even when the options ask for none).
    fn finish(mut self) -> GradcheckReport {
        let report = &mut self.report;
        report.worst = report.worst_elements.first().cloned();
        report.worst_elements.truncate(self.options.worst_elements);
        self.report
    }
}

/// Checks the backward rule of every op of the model `f` on its own, and returns the first
/// (in the order the ops were recorded) whose rule disagrees with central differences of its
/// own forward: the op to fix when [`gradcheck`] of the whole model fails.
///
/// Each node is checked at the input values it actually saw when `f` ran at `inputs`, with
/// an uneven upstream gradient (so a rule that routes gradients to the wrong element cannot
/// pass by symmetry), for each input that wants a gradient. Works on built-in and
/// user-defined ops alike (see [`CustomOp`](crate::CustomOp)).
///
/// ```
/// use chainrule_autodiff::gradcheck::check_each_op;
/// use chainrule_autodiff::{GradcheckOptions, Tensor};
/// let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3]);
/// let wrong = check_each_op(|_g, v| (v[0].tanh() * v[0]).sum(), &[x], GradcheckOptions::default());
/// assert_eq!(wrong, None); // every built-in rule is right
/// ```
pub fn check_each_op<F>(f: F, inputs: &[Tensor<f64>], options: GradcheckOptions) -> Option<WrongOp>
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    let g = Graph::with_source_lines();
    let vars: Vec<_> = inputs.iter().map(|t| g.param(t.clone())).collect();
    f(&g, &vars);
    let nodes = g.nodes();
    for (id, node) in nodes.iter().enumerate() {
        if matches!(node.op, Op::Leaf(_)) || !node.requires_grad {
            continue;
        }
        let wants: Vec<bool> = node
            .inputs
            .iter()
            .map(|&i| nodes[i].requires_grad)
            .collect();
        let values: Vec<Tensor<f64>> = node
            .inputs
            .iter()
            .map(|&i| nodes[i].value.clone())
            .collect();
        let report = check_one_op(&node.op, &values, &node.value, &wants, options);
        if !report.passed {
            return Some(WrongOp {
                node: id,
                name: g.display_name(id),
                op: node.op.name(),
                source_line: g.source_line(id),
                worst: report.worst.expect("a failed check has a worst element"),
            });
        }
    }
    None
}

/// Checks one op's rule at `inputs` (whose output is `output`) against central differences of
/// its forward, for the inputs that want a gradient.
fn check_one_op(
    op: &Op<f64>,
    inputs: &[Tensor<f64>],
    output: &Tensor<f64>,
    wants: &[bool],
    options: GradcheckOptions,
) -> GradcheckReport {
    let forward = |values: &[Tensor<f64>]| -> Tensor<f64> {
        let refs: Vec<&Tensor<f64>> = values.iter().collect();
        match op {
            Op::Custom(call) => custom::forward_on_tensors(call, &refs),
            op => op.forward(&refs),
        }
    };
    // Σ w·y with uneven weights w: its gradient is the rule applied to w.
    let weights = Tensor::from_vec(
        (0..output.numel())
            .map(|i| (1.3 * i as f64 + 0.7).sin() + 0.1)
            .collect(),
        output.shape(),
    );
    let refs: Vec<&Tensor<f64>> = inputs.iter().collect();
    let analytic: Vec<Option<Tensor<f64>>> =
        Tensor::apply_rule(op, &refs, output, weights.clone(), wants)
            .into_iter()
            .zip(inputs)
            .map(|(c, input)| {
                c.map(|c| {
                    if c.same_shape(input) {
                        c
                    } else {
                        c.sum_to(input.shape())
                    }
                })
            })
            .collect();
    let weighted =
        |values: &[Tensor<f64>]| -> f64 { forward(values).mul(&weights).sum_all().item() };
    let names = (0..inputs.len()).map(|i| format!("input {i}")).collect();
    let mut tally = Tally::new(options, names);
    let mut work = inputs.to_vec();
    for (which, input) in inputs.iter().enumerate().filter(|(i, _)| wants[*i]) {
        for flat in 0..input.numel() {
            let numeric = central_difference(&mut work, which, flat, options.step, weighted);
            let exact = analytic[which].as_ref().map_or(0.0, |a| a.as_slice()[flat]);
            tally.compare(which, || input.unravel_index(flat), exact, numeric);
        }
    }
    tally.finish()
}
