//! The material's bias and variance: a model flexible enough to fit the noise in a small
//! training set (high variance, overfitting) is tamed by the L2 penalty `λ/(2m)·Σ w²`; too large
//! a λ flattens it into a model that misses the pattern (high bias, underfitting). The
//! regularisation parameter is chosen on the cross-validation set, and the test set is used
//! once, at the end, for an unbiased estimate of the error.
//!
//! The data: 30 points with `x` drawn uniformly from [−1, 1] and `y = sin(πx)` plus Gaussian
//! noise of standard deviation 0.3 (one period of a sine wave, seeded so every run is the
//! same), split 60/20/20 into 18 training, 6 cross-validation and 6 test points by
//! `chainrule_train::split`. The features are the polynomial `x, x², …, x⁹`, standardised with
//! the training set's means and deviations: ten parameters for 18 points, plenty of room to
//! chase the noise. (On [−1, 1] rather than [0, 1], odd and even powers are nearly uncorrelated, which
//! makes the cost far better conditioned for gradient descent.)
//!
//! For each λ in a sweep from 0 to 1000, gradient descent minimises
//! `J = 1/(2m)·Σ (f(x) − y)² + λ/(2m)·Σ w²` from zero, with the step size set from the cost's
//! steepest curvature (power iteration, as in the multiple regression), until the gradient is
//! below 1e-6 or 50 000 steps have passed. (The polynomial features are so correlated that, at
//! λ = 0, gradient descent never quite reaches the least-squares fit; 50 000 steps get close
//! enough to overfit.) Training and cross-validation errors are the material's `J_train` and
//! `J_cv`: the same half mean squared error, without the penalty.
//!
//! The diagnosis uses explicit thresholds, in the cost's own units:
//! - the baseline is the noise: the true curve itself would score `J = σ²/2 = 0.045`, and no
//!   model can expect to do better on new data;
//! - **high bias** when `J_train` is more than twice the baseline (`J_train − 0.045 > 0.045`): the
//!   model misses more than the noise explains;
//! - **high variance** when `J_cv` exceeds `J_train` by more than the noise itself (0.045) and by
//!   more than `J_train` itself (`J_cv > 2·J_train`): the gap is neither a fraction of the noise
//!   nor a fraction of the training error, but as large as both.
//!
//! Six cross-validation points make `J_cv` itself noisy: over seeds 0–99 of this set-up, about
//! half show all three effects plainly (λ chosen above 0, high variance at λ = 0, high bias
//! alone at the largest λ); at the others one of them blurs — λ = 0 happens to validate well,
//! or the largest λ's `J_cv` lands far above its `J_train`. Seed 33 is one of the plain ones,
//! with wide margins: at λ = 0, `J_cv − J_train` is twice its threshold; at λ = 1000, `J_train`
//! is four times the high-bias threshold and `J_cv` is below `J_train`.

use std::io::Write;

use chainrule_autodiff::{Graph, ParamId, ParamKind, ParamStore, Tensor};
use chainrule_layers::losses::{half_mean_squared_error, l2_penalty};
use chainrule_optim::{GradientDescent, GradientDescentConfig, Optimizer};
use chainrule_train::{
    split, Dataset, Diagnosis, DiagnosisThresholds, SplitRatios, Standardizer, Targets, Verdict,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

use crate::{MaterialError, Outcome};

/// How many points are drawn.
const POINTS: usize = 30;

/// The polynomial's degree: features `x, x², …, x^DEGREE`.
const DEGREE: usize = 9;

/// The standard deviation of the noise on `y`.
const NOISE: f64 = 0.3;

/// Seeds the data and the split.
const SEED: u64 = 33;

/// The regularisation parameters tried, smallest first.
const LAMBDAS: [f64; 7] = [0.0, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0];

/// Gradient descent stops when the gradient's norm is below this …
const GRADIENT_TOLERANCE: f64 = 1e-6;

/// … or after this many steps.
const MAX_ITERATIONS: usize = 50_000;

/// One λ of the sweep: the trained model and its errors.
struct Trained {
    lambda: f64,
    params: ParamStore<f64>,
    w: ParamId,
    b: ParamId,
    train_error: f64,
    validation_error: f64,
    iterations: usize,
}

/// The data, standardised, in its three parts.
struct Parts {
    train: Dataset<f64>,
    validation: Dataset<f64>,
    test: Dataset<f64>,
}

/// Runs the example, narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    let parts = noisy_sine(SEED);
    writeln!(
        out,
        "Overfitting: y = sin(πx) + noise (σ = {NOISE}), {POINTS} points, x in [−1, 1]; \
         features x, x², …, x^{DEGREE}, standardised."
    )?;
    writeln!(
        out,
        "Split 60/20/20: {} training, {} cross-validation, {} test points.",
        parts.train.len(),
        parts.validation.len(),
        parts.test.len()
    )?;
    let largest_curvature = largest_eigenvalue(parts.train.features());
    writeln!(
        out,
        "Gradient descent on J = 1/(2m)·Σ (f(x) − y)² + λ/(2m)·Σ w², α = 1/({largest_curvature:.3} + λ/m), \
         until ‖∇J‖ < {GRADIENT_TOLERANCE:e} or {MAX_ITERATIONS} steps.\n"
    )?;

    let sweep: Vec<Trained> = LAMBDAS
        .iter()
        .map(|&lambda| train(&parts, lambda, largest_curvature))
        .collect();

    writeln!(
        out,
        "  {:>8}  {:>9}  {:>9}  {:>7}",
        "λ", "J_train", "J_cv", "steps"
    )?;
    for t in &sweep {
        writeln!(
            out,
            "  {:>8}  {:>9.5}  {:>9.5}  {:>7}",
            t.lambda, t.train_error, t.validation_error, t.iterations
        )?;
    }

    let chosen = sweep
        .iter()
        .min_by(|a, b| a.validation_error.total_cmp(&b.validation_error))
        .expect("the sweep is not empty");
    let test_error = error(&chosen.params, chosen.w, chosen.b, &parts.test);
    writeln!(
        out,
        "\nChosen on the cross-validation set: λ = {} (J_cv = {:.5}, against {:.5} at λ = 0).",
        chosen.lambda, chosen.validation_error, sweep[0].validation_error
    )?;
    writeln!(
        out,
        "Its test error, measured once: J_test = {test_error:.5} (the noise alone gives {:.3}).\n",
        baseline()
    )?;

    let thresholds = DiagnosisThresholds {
        bias_absolute: 0.0,
        bias_relative: 1.0,
        variance_absolute: baseline(),
        variance_relative: 1.0,
    };
    let diagnose = |t: &Trained| {
        Diagnosis::from_losses(
            t.train_error,
            t.validation_error,
            Some(baseline()),
            &thresholds,
        )
    };
    let at_zero = diagnose(&sweep[0]);
    let largest = sweep.last().expect("the sweep is not empty");
    let at_largest = diagnose(largest);
    writeln!(
        out,
        "Baseline: the noise, σ²/2 = {:.3}. High bias when J_train − baseline > baseline; high \
         variance when J_cv − J_train > max(baseline, J_train).",
        baseline()
    )?;
    writeln!(out, "\nAt λ = 0:\n{at_zero}")?;
    writeln!(out, "\nAt λ = {}:\n{at_largest}", largest.lambda)?;

    let beats_zero = chosen.validation_error < sweep[0].validation_error;
    let passed = beats_zero
        && at_zero.verdict == Verdict::HighVariance
        && at_largest.verdict == Verdict::HighBias;
    Ok(Outcome {
        name: "overfitting",
        learned: format!(
            "λ = {} chosen on cross-validation (J_cv {:.4} vs {:.4} at λ = 0), J_test = {test_error:.4}; \
             λ = 0: {}; λ = {}: {}",
            chosen.lambda,
            chosen.validation_error,
            sweep[0].validation_error,
            at_zero.verdict,
            largest.lambda,
            at_largest.verdict
        ),
        check: "the chosen λ beats λ = 0 on cross-validation; high variance at λ = 0, high bias at \
                the largest λ"
            .into(),
        passed,
        json: json!({
            "lambdas": LAMBDAS,
            "train_errors": sweep.iter().map(|t| t.train_error).collect::<Vec<_>>(),
            "validation_errors": sweep.iter().map(|t| t.validation_error).collect::<Vec<_>>(),
            "iterations": sweep.iter().map(|t| t.iterations).collect::<Vec<_>>(),
            "chosen_lambda": chosen.lambda,
            "test_error": test_error,
            "diagnosis_at_zero": at_zero.verdict.to_string(),
            "diagnosis_at_largest": at_largest.verdict.to_string(),
            "baseline": baseline(),
            "seed": SEED,
            "degree": DEGREE,
            "noise": NOISE,
        }),
    })
}

/// The cost of predicting the true curve: the noise's variance, halved as `J` halves it.
fn baseline() -> f64 {
    NOISE * NOISE / 2.0
}

/// Draws the points, builds the polynomial features, splits 60/20/20 and standardises every
/// part with the training part's statistics.
fn noisy_sine(seed: u64) -> Parts {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Tensor::<f64>::rand_uniform(&[POINTS], -1.0, 1.0, &mut rng);
    let noise = Tensor::<f64>::rand_normal(&[POINTS], 0.0, NOISE, &mut rng);
    let y: Vec<f64> = x
        .as_slice()
        .iter()
        .zip(noise.as_slice())
        .map(|(x, e)| (std::f64::consts::PI * x).sin() + e)
        .collect();
    let powers: Vec<f64> = x
        .as_slice()
        .iter()
        .flat_map(|&x| (1..=DEGREE).map(move |k| x.powi(k as i32)))
        .collect();
    let data = Dataset::new(
        Tensor::from_vec(powers, &[POINTS, DEGREE]),
        Targets::Values(Tensor::from_vec(y, &[POINTS, 1])),
    );
    let parts = split(&data, SplitRatios::default(), seed);
    let scaler = Standardizer::fit_dataset(&parts.train);
    Parts {
        train: scaler.transform_dataset(&parts.train),
        validation: scaler.transform_dataset(&parts.validation),
        test: scaler.transform_dataset(&parts.test),
    }
}

/// Gradient descent on the penalised cost for one λ, from zero.
fn train(parts: &Parts, lambda: f64, largest_curvature: f64) -> Trained {
    let data = &parts.train;
    let m = data.len();
    let x = data.features();
    let y = data.values().expect("regression targets");
    let mut params = ParamStore::new();
    let w = params.insert("w", Tensor::zeros(&[DEGREE, 1]), ParamKind::Weight);
    let b = params.insert("b", Tensor::zeros(&[1]), ParamKind::Bias);
    let learning_rate = 1.0 / (largest_curvature + lambda / m as f64);
    let mut optimizer = GradientDescent::new(GradientDescentConfig { learning_rate });

    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        let g = Graph::new();
        let prediction = g.input(x.clone()).matmul(params.bind(&g, w)) + params.bind(&g, b);
        let cost = half_mean_squared_error(prediction, g.input(y.clone()))
            + l2_penalty(&g, &params, lambda, m);
        let grads = params.collect_grads(&cost.backward());
        drop(g);
        let gradient_norm = grads
            .iter()
            .flat_map(|(_, grad)| grad.as_slice().iter().map(|v| v * v))
            .sum::<f64>()
            .sqrt();
        if gradient_norm < GRADIENT_TOLERANCE {
            break;
        }
        optimizer.apply(&mut params, &grads);
        iterations += 1;
    }
    Trained {
        lambda,
        train_error: error(&params, w, b, &parts.train),
        validation_error: error(&params, w, b, &parts.validation),
        params,
        w,
        b,
        iterations,
    }
}

/// `J = 1/(2m)·Σ (f(x) − y)²` on a data set, without the penalty.
fn error(params: &ParamStore<f64>, w: ParamId, b: ParamId, data: &Dataset<f64>) -> f64 {
    let g = Graph::new();
    let prediction =
        g.input(data.features().clone()).matmul(params.bind(&g, w)) + params.bind(&g, b);
    let target = g.input(data.values().expect("regression targets").clone());
    half_mean_squared_error(prediction, target).item()
}

/// The largest eigenvalue of `(1/m)·AᵀA` for `A = [X 1]` — the cost's steepest curvature
/// without the penalty — by power iteration.
fn largest_eigenvalue(x: &Tensor<f64>) -> f64 {
    let (m, d) = (x.shape()[0], x.shape()[1]);
    let rows: Vec<Vec<f64>> = x
        .as_slice()
        .chunks(d)
        .map(|row| row.iter().copied().chain([1.0]).collect())
        .collect();
    let mut v = vec![1.0; d + 1];
    let mut eigenvalue = 0.0;
    for _ in 0..500 {
        let mut u = vec![0.0; d + 1];
        for row in &rows {
            let dot: f64 = row.iter().zip(&v).map(|(r, vi)| r * vi).sum();
            for (uj, rj) in u.iter_mut().zip(row) {
                *uj += dot * rj / m as f64;
            }
        }
        eigenvalue = u.iter().map(|a| a * a).sum::<f64>().sqrt();
        v = u.iter().map(|ui| ui / eigenvalue).collect();
    }
    eigenvalue
}
