//! The material's first model: linear regression with one feature, `f(x) = w·x + b`, fitted by
//! gradient descent on the squared-error cost `J(w, b) = 1/(2m)·Σ (f(x) − y)²`.
//!
//! A train company charges 30 € for a 100 km trip and 80 € for a 500 km trip. What price per
//! kilometre `w` and fixed charge `b` explain both fares? Two points fix a line, so the answer is
//! known exactly — `w = 50 € / 400 km = 0.125 €/km` and `b = 30 − 0.125·100 = 17.5 €` — and gradient
//! descent must find it. Each step builds the cost as a small graph, the generic backward pass
//! gives `∂J/∂w` and `∂J/∂b`, and the update is the material's `w ← w − α·∂J/∂w`.
//!
//! Then the learning rate `α`: too large and every step overshoots the minimum by more than it
//! started, so the cost bounces and grows; too small and the cost barely moves.
//!
//! The units matter. With `x` in kilometres (100 and 500), `∂J/∂w` carries a factor `x` that
//! `∂J/∂b` does not, and the cost curves about 10⁵ times more steeply along `w` than along `b`
//! (`mean(x²) = 130 000` against 1). A rate small enough not to bounce in `w` (below
//! `2/130 000 ≈ 1.5·10⁻⁵`) then crawls in `b`. So the distance is fed in hundreds of kilometres
//! (1 and 5): the two curvatures are 13.7 and 0.29, one rate suits both, and the weight learned
//! is in € per 100 km — divided by 100 at the end to give € per km.

use std::io::Write;

use chainrule_autodiff::{Graph, ParamId, ParamKind, ParamStore, Tensor};
use chainrule_layers::losses::half_mean_squared_error;
use chainrule_optim::{GradientDescent, GradientDescentConfig, Optimizer};
use serde_json::json;

use crate::{MaterialError, Outcome};

/// The two trips: distance in km and fare in €.
const TRIPS: [(f64, f64); 2] = [(100.0, 30.0), (500.0, 80.0)];

/// Kilometres per unit of the feature the model sees: distances go in as hundreds of km.
const KM_PER_UNIT: f64 = 100.0;

/// The learning rate that converges: below 2/13.7, the steepest curvature.
const LEARNING_RATE: f64 = 0.1;

/// A rate just above 2/13.7: each step overshoots along the steep direction.
const TOO_LARGE_LEARNING_RATE: f64 = 0.15;

/// A rate 10 000 times smaller than the good one.
const TINY_LEARNING_RATE: f64 = 1e-5;

/// Gradient descent steps, for every rate.
const ITERATIONS: usize = 1000;

/// The steps at which the cost curve is printed.
const SHOWN_STEPS: [usize; 9] = [0, 1, 2, 3, 10, 30, 100, 300, 1000];

/// The tolerance on `w` (€/km) and `b` (€).
const TOLERANCE: f64 = 1e-3;

/// One run of gradient descent: the parameters it ended with and the cost before each step.
struct Descent {
    /// The weight in € per 100 km.
    w_per_unit: f64,
    /// The bias in €.
    b: f64,
    /// `costs[k]` is the cost after `k` steps, for `k = 0..=ITERATIONS`.
    costs: Vec<f64>,
    /// The weight in € per 100 km after each of the first few steps (to show bouncing).
    first_weights: Vec<f64>,
}

/// Runs gradient descent at `learning_rate` from `w = b = 0` for `steps` steps.
fn descend(learning_rate: f64, steps: usize) -> Descent {
    let distances = TRIPS.iter().map(|&(km, _)| km / KM_PER_UNIT).collect();
    let fares = TRIPS.iter().map(|&(_, fare)| fare).collect();
    let x = Tensor::from_vec(distances, &[TRIPS.len()]);
    let y = Tensor::from_vec(fares, &[TRIPS.len()]);

    let mut params = ParamStore::new();
    let w = params.insert("w", Tensor::scalar(0.0), ParamKind::Weight);
    let b = params.insert("b", Tensor::scalar(0.0), ParamKind::Bias);
    let mut optimizer = GradientDescent::new(GradientDescentConfig { learning_rate });

    let mut costs = Vec::with_capacity(steps + 1);
    let mut first_weights = Vec::new();
    for step in 0..=steps {
        let g = Graph::new();
        let f = g.input(x.clone()) * params.bind(&g, w) + params.bind(&g, b);
        let cost = half_mean_squared_error(f, g.input(y.clone()));
        costs.push(cost.item());
        if step == steps {
            break;
        }
        let grads = params.collect_grads(&cost.backward());
        drop(g);
        optimizer.apply(&mut params, &grads);
        if step < 6 {
            first_weights.push(value(&params, w));
        }
    }
    Descent {
        w_per_unit: value(&params, w),
        b: value(&params, b),
        costs,
        first_weights,
    }
}

/// A scalar parameter's value.
fn value(params: &ParamStore<f64>, id: ParamId) -> f64 {
    params.value(id).item()
}

/// Runs the example, narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    writeln!(out, "The train ticket: linear regression f(x) = w·x + b")?;
    for (km, fare) in TRIPS {
        writeln!(out, "  a {km} km trip costs {fare} €")?;
    }
    writeln!(
        out,
        "Cost J(w, b) = 1/(2m)·Σ (f(x) − y)², minimised by gradient descent from w = b = 0."
    )?;
    writeln!(
        out,
        "x is fed in hundreds of km: in km, J curves 10⁵ times more steeply along w than along b,"
    )?;
    writeln!(
        out,
        "and no single learning rate would suit both (see the top of the source).\n"
    )?;

    let good = descend(LEARNING_RATE, ITERATIONS);
    let w = good.w_per_unit / KM_PER_UNIT;
    let b = good.b;
    let cost = *good
        .costs
        .last()
        .expect("descend records the cost after each step");
    writeln!(out, "Learning rate α = {LEARNING_RATE}:")?;
    writeln!(out, "  {:>5}  {:>12}", "step", "cost J")?;
    for step in SHOWN_STEPS {
        writeln!(out, "  {step:>5}  {:>12.6e}", good.costs[step])?;
    }
    writeln!(
        out,
        "Learned: w = {w:.6} €/km ({:.4} € per 100 km), b = {b:.6} €",
        good.w_per_unit
    )?;

    // The independent answer: the line through the two points.
    let [(x1, y1), (x2, y2)] = TRIPS;
    let exact_w = (y2 - y1) / (x2 - x1);
    let exact_b = y1 - exact_w * x1;
    writeln!(
        out,
        "The line through both points: w = {exact_w} €/km, b = {exact_b} €; a 300 km trip \
         would cost {:.2} €.\n",
        w * 300.0 + b
    )?;

    let too_large = descend(TOO_LARGE_LEARNING_RATE, ITERATIONS);
    let tiny = descend(TINY_LEARNING_RATE, ITERATIONS);
    writeln!(
        out,
        "The learning rate, same {ITERATIONS} steps from the same start:"
    )?;
    writeln!(
        out,
        "  {:>5}  {:>12}  {:>12}  {:>12}",
        "step",
        format!("α = {TINY_LEARNING_RATE:e}"),
        format!("α = {LEARNING_RATE}"),
        format!("α = {TOO_LARGE_LEARNING_RATE}")
    )?;
    for step in SHOWN_STEPS {
        writeln!(
            out,
            "  {step:>5}  {:>12.4e}  {:>12.4e}  {:>12.4e}",
            tiny.costs[step], good.costs[step], too_large.costs[step]
        )?;
    }
    let bounces: Vec<String> = too_large
        .first_weights
        .iter()
        .map(|w| format!("{w:.2}"))
        .collect();
    writeln!(
        out,
        "With α = {TOO_LARGE_LEARNING_RATE} each step overshoots the minimum: w (€ per 100 km) goes \
         {} … — from one side of 12.5 to the other, further each time — and the cost grows.",
        bounces.join(", ")
    )?;
    writeln!(
        out,
        "With α = {TINY_LEARNING_RATE:e} the cost crawls: {:.4e} after {ITERATIONS} steps, from {:.4e}.",
        tiny.costs[ITERATIONS], tiny.costs[0]
    )?;

    let initial_cost = good.costs[0];
    let too_large_cost = too_large.costs[ITERATIONS];
    let tiny_cost = tiny.costs[ITERATIONS];
    let line_found = (w - exact_w).abs() <= TOLERANCE && (b - exact_b).abs() <= TOLERANCE;
    let diverged = too_large_cost > initial_cost;
    let crawled = tiny_cost > 0.5 * initial_cost;
    Ok(Outcome {
        name: "train_ticket",
        learned: format!(
            "w = {w:.4} €/km, b = {b:.4} € (cost {cost:.1e} after {ITERATIONS} steps)"
        ),
        check: format!(
            "the exact line through both points (w = {exact_w}, b = {exact_b}) to {TOLERANCE:e}; \
             α = {TOO_LARGE_LEARNING_RATE} diverges, α = {TINY_LEARNING_RATE:e} crawls"
        ),
        passed: line_found && diverged && crawled,
        json: json!({
            "w": w,
            "b": b,
            "cost": cost,
            "iterations": ITERATIONS,
            "learning_rate": LEARNING_RATE,
            "x_unit_km": KM_PER_UNIT,
            "too_large_learning_rate": TOO_LARGE_LEARNING_RATE,
            "too_large_cost": too_large_cost,
            "tiny_learning_rate": TINY_LEARNING_RATE,
            "tiny_cost": tiny_cost,
            "initial_cost": initial_cost,
        }),
    })
}
