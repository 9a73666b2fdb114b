//! The material's multiple linear regression, `f(x) = w·x + b` with a vector of features, on
//! real data, with feature scaling, and then with the L2 penalty (regularised linear
//! regression, "ridge").
//!
//! The data: 442 diabetes patients, ten baseline measurements each (age, sex, body mass index,
//! blood pressure and six blood serum values, in their raw units) and a measure of disease
//! progression a year later as the target. The features are standardised — `(x − μ)/σ` per
//! column — so each weight is "progression per standard deviation of that measurement", and
//! one learning rate suits every weight.
//!
//! Gradient descent minimises the material's cost `J = 1/(2m)·Σ (f(x) − y)²`, then
//! `J + λ/(2m)·Σ w²` (the bias is not penalised). Both costs are quadratic, so their minima are
//! known in closed form: the normal equations `XᵀX·w = Xᵀy` and the ridge equations
//! `(XᵀX + λI)·w = Xᵀy`, written here with the bias as an extra column of ones that is left out
//! of `λI`, and solved by Gaussian elimination in plain `f64`. Gradient descent must agree with
//! them to 1e-4 relative in every coefficient.
//!
//! Agreeing that closely takes patience. Three of the serum measurements are nearly linear
//! combinations of the others (total cholesterol, LDL and HDL: s1, s2, s3), so along one
//! direction the cost is almost flat: its curvature there is about 1/470 of the steepest. The
//! step size is set from the steepest curvature — the largest eigenvalue of `(1/m)·XᵀX`,
//! estimated by power iteration — as `α = 1/λ_max`, the largest step that is safe in every
//! direction; gradient descent then runs until the gradient's norm is below 1e-8, about ten
//! thousand steps. The penalty makes the cost curve more in every direction, so the ridge fit
//! converges in far fewer.

use std::io::Write;

use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
use chainrule_layers::losses::{half_mean_squared_error, l2_penalty};
use chainrule_optim::{GradientDescent, GradientDescentConfig, Optimizer};
use chainrule_train::{load_csv, Standardizer, Task};
use serde_json::json;

use crate::{data_path, MaterialError, Outcome};

/// The regularisation parameter λ of the ridge fit (the penalty is `λ/(2m)·Σ w²`, m = 442).
const LAMBDA: f64 = 100.0;

/// Gradient descent stops when the gradient's norm is below this.
const GRADIENT_TOLERANCE: f64 = 1e-8;

/// … or after this many steps.
const MAX_ITERATIONS: usize = 100_000;

/// Every coefficient must match the closed form to this, relative.
const RELATIVE_TOLERANCE: f64 = 1e-4;

/// What gradient descent found for one λ.
struct Fit {
    coefficients: Vec<f64>,
    intercept: f64,
    /// The data cost `J = 1/(2m)·Σ (f(x) − y)²` at the end, without the penalty.
    cost: f64,
    iterations: usize,
    learning_rate: f64,
}

/// Runs the example, narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    let data = load_csv::<f64>(data_path("diabetes.csv"), "target", Task::Regression)?;
    let names = data.feature_names().to_vec();
    let scaler = Standardizer::fit(data.features());
    let x = scaler.transform(data.features());
    let y = data
        .values()
        .expect("a regression data set has target values")
        .clone();
    let (m, d) = (x.shape()[0], x.shape()[1]);

    writeln!(
        out,
        "Multiple regression on the diabetes data: {m} patients, {d} features ({}),",
        names.join(", ")
    )?;
    writeln!(
        out,
        "target: disease progression after a year. Features standardised: (x − μ)/σ per column."
    )?;
    let correlation_s1_s2 = column_correlation(&x, 4, 5);
    writeln!(
        out,
        "s1 and s2 (total and LDL cholesterol) have correlation {correlation_s1_s2:.3}: the cost \
         is nearly flat along some directions, so gradient descent needs many steps.\n"
    )?;

    let largest_curvature = largest_eigenvalue(&x);
    writeln!(
        out,
        "The steepest curvature of J (largest eigenvalue of (1/m)·[X 1]ᵀ[X 1], by power \
         iteration) is {largest_curvature:.4}; the step size is 1 over it (plus λ/m with the penalty).\n"
    )?;

    writeln!(out, "Without regularisation, J = 1/(2m)·Σ (f(x) − y)²:")?;
    let plain = gradient_descent(out, &x, &y, 0.0, largest_curvature)?;
    writeln!(out, "\nWith the L2 penalty, J + λ/(2m)·Σ w², λ = {LAMBDA}:")?;
    let ridge = gradient_descent(out, &x, &y, LAMBDA, largest_curvature)?;

    // The independent answers: the normal equations and the ridge equations, solved directly.
    let (exact, exact_intercept) = closed_form(&x, &y, 0.0);
    let (exact_ridge, exact_ridge_intercept) = closed_form(&x, &y, LAMBDA);

    writeln!(
        out,
        "\nCoefficients (progression per standard deviation of each feature):"
    )?;
    writeln!(
        out,
        "  {:>9}  {:>12}  {:>12}  {:>12}  {:>12}",
        "feature",
        "GD λ = 0",
        "normal eq.",
        format!("GD λ = {LAMBDA}"),
        "ridge eq."
    )?;
    for j in 0..d {
        writeln!(
            out,
            "  {:>9}  {:>12.5}  {:>12.5}  {:>12.5}  {:>12.5}",
            names[j], plain.coefficients[j], exact[j], ridge.coefficients[j], exact_ridge[j]
        )?;
    }
    writeln!(
        out,
        "  {:>9}  {:>12.5}  {:>12.5}  {:>12.5}  {:>12.5}",
        "intercept", plain.intercept, exact_intercept, ridge.intercept, exact_ridge_intercept
    )?;
    writeln!(
        out,
        "λ shrinks the weight vector (‖w‖ from {:.2} to {:.2}), most along the flat direction: \
         s1 and s2, large and nearly cancelling without the penalty, go from {:.1} and {:.1} to \
         {:.1} and {:.1}. A single weight can grow (s3, s6) as the others give up what they \
         explained. The intercept, not penalised, stays the mean progression. The data cost \
         rises from {:.2} to {:.2}: the fit to the training data is a little worse, the model \
         simpler.",
        norm(&plain.coefficients),
        norm(&ridge.coefficients),
        plain.coefficients[4],
        plain.coefficients[5],
        ridge.coefficients[4],
        ridge.coefficients[5],
        plain.cost,
        ridge.cost
    )?;

    let close = |learned: &[f64], exact: &[f64]| {
        learned
            .iter()
            .zip(exact)
            .all(|(a, b)| (a - b).abs() <= RELATIVE_TOLERANCE * b.abs())
    };
    let passed = close(&plain.coefficients, &exact)
        && close(&[plain.intercept], &[exact_intercept])
        && close(&ridge.coefficients, &exact_ridge)
        && close(&[ridge.intercept], &[exact_ridge_intercept]);

    Ok(Outcome {
        name: "multiple_regression",
        learned: format!(
            "10 standardised weights, ‖w‖ = {:.2} (λ = 0) and {:.2} (λ = {LAMBDA}); cost {:.2}, \
             {} and {} steps",
            norm(&plain.coefficients),
            norm(&ridge.coefficients),
            plain.cost,
            plain.iterations,
            ridge.iterations
        ),
        check: format!(
            "the normal equations and the ridge closed form (XᵀX + λI)w = Xᵀy: every coefficient \
             to {RELATIVE_TOLERANCE:e} relative"
        ),
        passed,
        json: json!({
            "features": names,
            "coefficients": plain.coefficients,
            "intercept": plain.intercept,
            "cost": plain.cost,
            "iterations": plain.iterations,
            "learning_rate": plain.learning_rate,
            "lambda": LAMBDA,
            "ridge_coefficients": ridge.coefficients,
            "ridge_intercept": ridge.intercept,
            "ridge_cost": ridge.cost,
            "ridge_iterations": ridge.iterations,
            "ridge_learning_rate": ridge.learning_rate,
            "normal_equation_coefficients": exact,
            "ridge_closed_form_coefficients": exact_ridge,
        }),
    })
}

/// Gradient descent on `J + λ/(2m)·Σ w²` from zero, with `α = 1/(λ_max + λ/m)`, until the
/// gradient's norm is below [`GRADIENT_TOLERANCE`]. Prints the cost now and then.
fn gradient_descent(
    out: &mut dyn Write,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    lambda: f64,
    largest_curvature: f64,
) -> Result<Fit, MaterialError> {
    let (m, d) = (x.shape()[0], x.shape()[1]);
    let mut params = ParamStore::new();
    let w = params.insert("w", Tensor::zeros(&[d, 1]), ParamKind::Weight);
    let b = params.insert("b", Tensor::zeros(&[1]), ParamKind::Bias);
    // The penalty adds λ/m to the curvature along every weight.
    let learning_rate = 1.0 / (largest_curvature + lambda / m as f64);
    let mut optimizer = GradientDescent::new(GradientDescentConfig { learning_rate });

    writeln!(out, "  α = {learning_rate:.5}")?;
    let cost_label = if lambda > 0.0 { "J + penalty" } else { "J" };
    writeln!(out, "  {:>7}  {:>14}  {:>12}", "step", cost_label, "‖∇J‖")?;
    let mut iterations = 0;
    loop {
        let g = Graph::new();
        let prediction = g.input(x.clone()).matmul(params.bind(&g, w)) + params.bind(&g, b);
        let data_cost = half_mean_squared_error(prediction, g.input(y.clone()));
        let cost = if lambda > 0.0 {
            data_cost + l2_penalty(&g, &params, lambda, m)
        } else {
            data_cost
        };
        let grads = params.collect_grads(&cost.backward());
        let gradient_norm = grads
            .iter()
            .flat_map(|(_, grad)| grad.as_slice().iter().map(|v| v * v))
            .sum::<f64>()
            .sqrt();
        let converged = gradient_norm < GRADIENT_TOLERANCE || iterations == MAX_ITERATIONS;
        if is_power_of_ten(iterations) || iterations == 0 || converged {
            writeln!(
                out,
                "  {iterations:>7}  {:>14.6}  {gradient_norm:>12.3e}",
                cost.item()
            )?;
        }
        if converged {
            let cost = data_cost.item();
            drop(g);
            return Ok(Fit {
                coefficients: params.value(w).to_vec(),
                intercept: params.value(b).item(),
                cost,
                iterations,
                learning_rate,
            });
        }
        drop(g);
        optimizer.apply(&mut params, &grads);
        iterations += 1;
    }
}

/// The correlation of two standardised columns: the mean of their product.
fn column_correlation(x: &Tensor<f64>, a: usize, b: usize) -> f64 {
    let (m, d) = (x.shape()[0], x.shape()[1]);
    let data = x.as_slice();
    (0..m)
        .map(|i| data[i * d + a] * data[i * d + b])
        .sum::<f64>()
        / m as f64
}

/// The largest eigenvalue of `(1/m)·AᵀA` for `A = [X 1]` — the cost's steepest curvature — by
/// power iteration: multiply a vector by the matrix until its direction settles.
fn largest_eigenvalue(x: &Tensor<f64>) -> f64 {
    let (m, d) = (x.shape()[0], x.shape()[1]);
    let a = with_ones_column(x);
    let mut v = vec![1.0; d + 1];
    let mut eigenvalue = 0.0;
    for _ in 0..500 {
        // u = (1/m)·Aᵀ(A·v)
        let mut u = vec![0.0; d + 1];
        for row in a.chunks(d + 1) {
            let dot: f64 = row.iter().zip(&v).map(|(r, vi)| r * vi).sum();
            for (uj, rj) in u.iter_mut().zip(row) {
                *uj += dot * rj / m as f64;
            }
        }
        eigenvalue = norm(&u);
        v = u.iter().map(|ui| ui / eigenvalue).collect();
    }
    eigenvalue
}

/// The minimiser of `1/(2m)·Σ (Xw + b − y)² + λ/(2m)·Σ w²`: the linear system
/// `[XᵀX + λI, Xᵀ1; 1ᵀX, m]·[w; b] = [Xᵀy; 1ᵀy]` (no λ on the bias), solved by Gaussian
/// elimination with partial pivoting. Returns the weights and the bias.
fn closed_form(x: &Tensor<f64>, y: &Tensor<f64>, lambda: f64) -> (Vec<f64>, f64) {
    let d = x.shape()[1];
    let n = d + 1;
    let a = with_ones_column(x);
    let mut system = vec![vec![0.0; n + 1]; n];
    for (row, &target) in a.chunks(n).zip(y.as_slice()) {
        for i in 0..n {
            for j in 0..n {
                system[i][j] += row[i] * row[j];
            }
            system[i][n] += row[i] * target;
        }
    }
    for (i, equation) in system.iter_mut().enumerate().take(d) {
        equation[i] += lambda;
    }
    let mut solution = solve(system);
    let intercept = solution.pop().expect("the system has the bias's unknown");
    (solution, intercept)
}

/// Solves the augmented system `[A | c]` (n rows of n + 1) by Gaussian elimination with partial
/// pivoting and back substitution.
fn solve(mut system: Vec<Vec<f64>>) -> Vec<f64> {
    let n = system.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&r, &s| system[r][col].abs().total_cmp(&system[s][col].abs()))
            .expect("a non-empty range");
        system.swap(col, pivot);
        let (above, below) = system.split_at_mut(col + 1);
        let pivot_row = &above[col];
        for row in below {
            let factor = row[col] / pivot_row[col];
            for (entry, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *entry -= factor * p;
            }
        }
    }
    let mut solution = vec![0.0; n];
    for row in (0..n).rev() {
        let known: f64 = (row + 1..n).map(|k| system[row][k] * solution[k]).sum();
        solution[row] = (system[row][n] - known) / system[row][row];
    }
    solution
}

/// The rows of `[X 1]`, flattened.
fn with_ones_column(x: &Tensor<f64>) -> Vec<f64> {
    x.as_slice()
        .chunks(x.shape()[1])
        .flat_map(|row| row.iter().copied().chain(std::iter::once(1.0)))
        .collect()
}

/// Whether `n` is 1, 10, 100, … (the steps at which the cost is printed).
fn is_power_of_ten(mut n: usize) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

/// The Euclidean norm.
fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}
