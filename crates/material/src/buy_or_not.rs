//! The material's logistic regression: a yes/no answer from one feature, `P(y = 1 | x) = σ(w·x + b)`
//! with the sigmoid `σ(z) = 1/(1 + e^(−z))`, trained by gradient descent on the log loss
//! `J = −(1/m)·Σ [y·ln σ(z) + (1 − y)·ln(1 − σ(z))]`, and turned into a decision at the threshold
//! 0.5.
//!
//! The story: an online shop showed the same pair of headphones to five visitors at different
//! prices — 30, 40, 55, 70 and 130 € — and recorded whether each bought (1) or not (0): yes,
//! yes, no, yes, no. The cheaper the price, the likelier a sale, but the data does not split
//! cleanly (the visitor at 55 € walked away, the one at 70 € bought), so no line separates the
//! two classes, the log loss has a finite minimum, and that maximum-likelihood `w` and `b` are
//! what gradient descent must reach. Newton's method, written out below in plain `f64`, computes
//! the same optimum another way, as the check.
//!
//! The price is standardised before training (`x' = (x − μ)/σ`, with μ = 65 € and σ ≈ 35 €):
//! in euros the cost curves some 30 000 times more steeply along `w` than along `b`, and one
//! learning rate would not suit both (the train ticket shows the same thing). The model learned
//! on `x'` maps back exactly: `w·x + b = w'·(x − μ)/σ + b'`, so `w = w'/σ` and `b = b' − w'·μ/σ`.

use std::io::Write;

use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
use chainrule_layers::losses::binary_log_loss;
use chainrule_optim::{GradientDescent, GradientDescentConfig, Optimizer};
use serde_json::json;

use crate::{MaterialError, Outcome};

/// The price each visitor saw, in €, and whether they bought (1) or not (0).
const VISITORS: [(f64, f64); 5] = [
    (30.0, 1.0),
    (40.0, 1.0),
    (55.0, 0.0),
    (70.0, 1.0),
    (130.0, 0.0),
];

/// The learning rate on the standardised price. The log loss's curvature is at most ¼ of the
/// standardised features' (which is 1), so any rate below 8 is stable; 1 is the plain choice.
const LEARNING_RATE: f64 = 1.0;

/// Gradient descent steps: near the optimum each step shrinks the error by about 5%, so 2000
/// steps reach the optimum to machine precision.
const ITERATIONS: usize = 2000;

/// The steps at which the training curve is printed.
const SHOWN_STEPS: [usize; 7] = [0, 10, 30, 100, 300, 1000, 2000];

/// Predict "buys" when the probability is at least this.
const THRESHOLD: f64 = 0.5;

/// The tolerance on `w`, `b` and the loss against Newton's optimum.
const TOLERANCE: f64 = 1e-5;

/// Runs the example, narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    let prices: Vec<f64> = VISITORS.iter().map(|&(price, _)| price).collect();
    let bought: Vec<f64> = VISITORS.iter().map(|&(_, label)| label).collect();
    let m = VISITORS.len() as f64;
    let mean = prices.iter().sum::<f64>() / m;
    let std = (prices.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / m).sqrt();

    writeln!(
        out,
        "Buy or not: logistic regression P(buy | price) = σ(w·price + b)"
    )?;
    for (price, label) in VISITORS {
        let what = if label == 1.0 {
            "bought"
        } else {
            "did not buy"
        };
        writeln!(out, "  shown the headphones at {price:>5} €: {what}")?;
    }
    writeln!(
        out,
        "Log loss J = −(1/m)·Σ [y·ln σ(z) + (1 − y)·ln(1 − σ(z))], from the logits z, minimised \
         by gradient descent (α = {LEARNING_RATE}) on the standardised price (price − {mean})/{std:.4}.\n"
    )?;

    let standardised: Vec<f64> = prices.iter().map(|p| (p - mean) / std).collect();
    let x = Tensor::from_vec(standardised, &[VISITORS.len()]);
    let y = Tensor::from_vec(bought.clone(), &[VISITORS.len()]);
    let mut params = ParamStore::new();
    let w = params.insert("w", Tensor::scalar(0.0), ParamKind::Weight);
    let b = params.insert("b", Tensor::scalar(0.0), ParamKind::Bias);
    let mut optimizer = GradientDescent::new(GradientDescentConfig {
        learning_rate: LEARNING_RATE,
    });

    writeln!(out, "  {:>5}  {:>10}", "step", "log loss")?;
    let mut loss = f64::NAN;
    for step in 0..=ITERATIONS {
        let g = Graph::new();
        let logits = g.input(x.clone()) * params.bind(&g, w) + params.bind(&g, b);
        let cost = binary_log_loss(logits, g.input(y.clone()));
        loss = cost.item();
        if SHOWN_STEPS.contains(&step) {
            writeln!(out, "  {step:>5}  {loss:>10.6}")?;
        }
        if step == ITERATIONS {
            break;
        }
        let grads = params.collect_grads(&cost.backward());
        drop(g);
        optimizer.apply(&mut params, &grads);
    }

    // Back to euros: w·x + b = w'·(x − μ)/σ + b'.
    let w_standardised = params.value(w).item();
    let b_standardised = params.value(b).item();
    let w_price = w_standardised / std;
    let b_price = b_standardised - w_standardised * mean / std;
    writeln!(
        out,
        "\nLearned on the standardised price: w' = {w_standardised:.6}, b' = {b_standardised:.6};"
    )?;
    writeln!(
        out,
        "in euros: w = {w_price:.6} per €, b = {b_price:.6}. The odds of a sale fall by a \
         factor e^w = {:.4} per euro; P(buy) = 0.5 at {:.2} €.\n",
        w_price.exp(),
        -b_price / w_price
    )?;

    let probabilities: Vec<f64> = prices
        .iter()
        .map(|&p| sigmoid(w_price * p + b_price))
        .collect();
    let decisions: Vec<u8> = probabilities
        .iter()
        .map(|&p| u8::from(p >= THRESHOLD))
        .collect();
    writeln!(
        out,
        "  {:>7}  {:>6}  {:>8}  {:>20}",
        "price €", "bought", "P(buy)", "decision at 0.5"
    )?;
    let mut correct = 0;
    for (i, &(price, label)) in VISITORS.iter().enumerate() {
        let decision = if decisions[i] == 1 {
            "buys"
        } else {
            "does not buy"
        };
        let right = f64::from(decisions[i]) == label;
        correct += usize::from(right);
        let mark = if right { "" } else { "  (wrong)" };
        writeln!(
            out,
            "  {price:>7}  {label:>6}  {:>8.4}  {decision:>20}{mark}",
            probabilities[i]
        )?;
    }
    writeln!(
        out,
        "{correct} of {} decisions right: no single price threshold gets both the 55 € visitor \
         (no) and the 70 € visitor (yes) right.",
        VISITORS.len()
    )?;

    // The independent answer: Newton's method on the log loss in euros.
    let (newton_w, newton_b) = newton_optimum(&prices, &bought);
    let newton_loss = log_loss(&prices, &bought, newton_w, newton_b);
    writeln!(
        out,
        "Newton's method on the same log loss: w = {newton_w:.6}, b = {newton_b:.6}, \
         J = {newton_loss:.8} (gradient descent: J = {loss:.8})."
    )?;
    let passed = (w_price - newton_w).abs() <= TOLERANCE
        && (b_price - newton_b).abs() <= TOLERANCE
        && (loss - newton_loss).abs() <= TOLERANCE;

    Ok(Outcome {
        name: "buy_or_not",
        learned: format!(
            "P(buy) = σ({w_price:.5}·price + {b_price:.4}), log loss {loss:.6}; 0.5 at {:.1} €, \
             {correct}/{} right",
            -b_price / w_price,
            VISITORS.len()
        ),
        check: format!(
            "the maximum-likelihood optimum by Newton's method: w, b and loss to {TOLERANCE:e}"
        ),
        passed,
        json: json!({
            "w": w_price,
            "b": b_price,
            "loss": loss,
            "probabilities": probabilities,
            "decisions": decisions,
            "threshold": THRESHOLD,
            "iterations": ITERATIONS,
            "learning_rate": LEARNING_RATE,
            "newton_w": newton_w,
            "newton_b": newton_b,
            "newton_loss": newton_loss,
        }),
    })
}

/// `σ(z) = 1/(1 + e^(−z))`.
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The mean log loss of `σ(w·x + b)` against `y`, as `ln(1 + e^z) − y·z` (stable for any z).
fn log_loss(x: &[f64], y: &[f64], w: f64, b: f64) -> f64 {
    let total: f64 = x
        .iter()
        .zip(y)
        .map(|(&xi, &yi)| {
            let z = w * xi + b;
            z.max(0.0) + (-z.abs()).exp().ln_1p() - yi * z
        })
        .sum();
    total / x.len() as f64
}

/// The maximum-likelihood `(w, b)` by Newton's method: solve `H·Δ = ∇J` with the 2×2 Hessian
/// `H = (1/m)·Σ p(1 − p)·[x², x; x, 1]` and step `θ ← θ − Δ`, until the step is negligible.
fn newton_optimum(x: &[f64], y: &[f64]) -> (f64, f64) {
    let m = x.len() as f64;
    let (mut w, mut b) = (0.0, 0.0);
    for _ in 0..100 {
        let (mut gw, mut gb) = (0.0, 0.0);
        let (mut hww, mut hwb, mut hbb) = (0.0, 0.0, 0.0);
        for (&xi, &yi) in x.iter().zip(y) {
            let p = sigmoid(w * xi + b);
            gw += (p - yi) * xi / m;
            gb += (p - yi) / m;
            let s = p * (1.0 - p) / m;
            hww += s * xi * xi;
            hwb += s * xi;
            hbb += s;
        }
        let det = hww * hbb - hwb * hwb;
        let dw = (hbb * gw - hwb * gb) / det;
        let db = (hww * gb - hwb * gw) / det;
        w -= dw;
        b -= db;
        if dw.abs() < 1e-15 && db.abs() < 1e-13 {
            break;
        }
    }
    (w, b)
}
