//! Gradient checking: the engine's gradients against central finite differences, in `f64`.
//!
//! The backward rules are the part of an autodiff engine most likely to be wrong and least
//! likely to look wrong; a finite difference needs nothing but forward evaluations, so it is an
//! independent oracle for every rule. Use [`gradcheck`] on any function you build from graph ops.

use std::fmt;

use crate::{Graph, Tensor, Var};

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
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckOptions {
    /// The finite-difference step `h`.
    pub step: f64,
    /// The absolute part of the tolerance.
    pub abs_tol: f64,
    /// The relative part of the tolerance.
    pub rel_tol: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            step: 1e-6,
            abs_tol: 1e-5,
            rel_tol: 1e-4,
        }
    }
}

/// The element that came nearest to failing (or failed by the most).
#[derive(Clone, Debug, PartialEq)]
pub struct WorstElement {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// The element's multi-index within that input.
    pub index: Vec<usize>,
    /// The engine's gradient there.
    pub analytic: f64,
    /// The central finite difference there.
    pub numeric: f64,
}

/// What [`gradcheck`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    /// The largest `|analytic − numeric|` over all elements.
    pub max_abs_error: f64,
    /// The largest `|analytic − numeric| / max(|analytic|, |numeric|)` (0 where both are 0).
    pub max_rel_error: f64,
    /// The element with the largest error measured against its tolerance; `None` when the
    /// inputs have no elements.
    pub worst: Option<WorstElement>,
    /// How many elements were compared.
    pub elements: usize,
    /// Whether every element was within tolerance (and every value finite).
    pub passed: bool,
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
            "{} over {} elements: max abs error {:.3e}, max rel error {:.3e}",
            if self.passed { "passed" } else { "FAILED" },
            self.elements,
            self.max_abs_error,
            self.max_rel_error
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                "; worst at input {} index {:?}: analytic {:.10e}, numeric {:.10e}",
                w.input, w.index, w.analytic, w.numeric
            )?;
        }
        Ok(())
    }
}

/// Compares the engine's gradient of `f` with central finite differences, element by element.
///
/// `f` receives a fresh graph and one parameter var per input tensor, and returns a one-element
/// var. It is called once for the engine's gradient and twice per input element for the finite
/// differences, so keep inputs small.
///
/// # Panics
/// When `f` returns a var with more than one element.
///
/// ```
/// use chainrule_autodiff::{gradcheck, GradcheckOptions, Tensor};
/// let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3]);
/// let report = gradcheck(|_g, v| (v[0].tanh() * v[0]).sum(), &[x], GradcheckOptions::default());
/// assert!(report.passed, "{report}");
/// assert!(report.max_abs_error < 1e-8);
/// ```
pub fn gradcheck<F>(f: F, inputs: &[Tensor<f64>], options: GradcheckOptions) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    let analytic: Vec<Tensor<f64>> = {
        let g = Graph::new();
        let vars: Vec<_> = inputs.iter().map(|t| g.param(t.clone())).collect();
        let out = f(&g, &vars);
        let grads = out.backward();
        vars.iter().map(|&v| grads[v].clone()).collect()
    };
    let evaluate = |perturbed: &[Tensor<f64>]| -> f64 {
        let g = Graph::new();
        let vars: Vec<_> = perturbed.iter().map(|t| g.param(t.clone())).collect();
        f(&g, &vars).item()
    };

    let mut report = GradcheckReport {
        max_abs_error: 0.0,
        max_rel_error: 0.0,
        worst: None,
        elements: 0,
        passed: true,
    };
    let mut worst_ratio = -1.0;
    let mut work: Vec<Tensor<f64>> = inputs.to_vec();
    for (which, input) in inputs.iter().enumerate() {
        for flat in 0..input.numel() {
            let original = input.as_slice()[flat];
            work[which].data_mut()[flat] = original + options.step;
            let plus = evaluate(&work);
            work[which].data_mut()[flat] = original - options.step;
            let minus = evaluate(&work);
            work[which].data_mut()[flat] = original;

            let numeric = (plus - minus) / (2.0 * options.step);
            let exact = analytic[which].as_slice()[flat];
            let abs_error = (exact - numeric).abs();
            let scale = exact.abs().max(numeric.abs());
            let rel_error = if scale > 0.0 { abs_error / scale } else { 0.0 };
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
            if abs_error.is_nan() {
                report.max_abs_error = f64::NAN;
            }
            if ratio > worst_ratio {
                worst_ratio = ratio;
                report.worst = Some(WorstElement {
                    input: which,
                    index: input.unravel_index(flat),
                    analytic: exact,
                    numeric,
                });
            }
        }
    }
    report
}
