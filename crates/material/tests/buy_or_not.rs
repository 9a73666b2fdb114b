//! Buy or not: gradient descent on the log loss must reach the maximum-likelihood optimum,
//! found here again by Newton's method in plain f64.

use chainrule_material::buy_or_not;

const PRICES: [f64; 5] = [30.0, 40.0, 55.0, 70.0, 130.0];
const BOUGHT: [f64; 5] = [1.0, 1.0, 0.0, 1.0, 0.0];

fn probability(w: f64, b: f64, x: f64) -> f64 {
    1.0 / (1.0 + (-(w * x + b)).exp())
}

/// Mean log loss −(1/m)·Σ [y ln p + (1 − y) ln(1 − p)], straight from the definition.
fn mean_log_loss(w: f64, b: f64) -> f64 {
    let total: f64 = PRICES
        .iter()
        .zip(BOUGHT)
        .map(|(&x, y)| {
            let p = probability(w, b, x);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    total / PRICES.len() as f64
}

/// Newton's method on (w, b): θ ← θ − H⁻¹·∇J, 2×2 solved by Cramer's rule.
fn newton() -> (f64, f64) {
    let m = PRICES.len() as f64;
    let mut theta = [0.0f64, 0.0];
    for _ in 0..60 {
        let mut gradient = [0.0; 2];
        let mut hessian = [[0.0; 2]; 2];
        for (&x, y) in PRICES.iter().zip(BOUGHT) {
            let p = probability(theta[0], theta[1], x);
            let features = [x, 1.0];
            for i in 0..2 {
                gradient[i] += (p - y) * features[i] / m;
                for j in 0..2 {
                    hessian[i][j] += p * (1.0 - p) * features[i] * features[j] / m;
                }
            }
        }
        let det = hessian[0][0] * hessian[1][1] - hessian[0][1] * hessian[1][0];
        theta[0] -= (hessian[1][1] * gradient[0] - hessian[0][1] * gradient[1]) / det;
        theta[1] -= (hessian[0][0] * gradient[1] - hessian[1][0] * gradient[0]) / det;
    }
    (theta[0], theta[1])
}

#[test]
fn gradient_descent_reaches_the_maximum_likelihood_optimum() {
    let outcome = buy_or_not::run(&mut std::io::sink()).expect("the example runs");
    assert!(
        outcome.passed,
        "the example's own check failed: {}",
        outcome.learned
    );

    let json = &outcome.json;
    for key in ["w", "b", "loss", "probabilities", "decisions", "iterations"] {
        assert!(json.get(key).is_some(), "the JSON lacks {key:?}: {json}");
    }
    let (w, b) = newton();
    let loss = mean_log_loss(w, b);
    // The optimum is a stationary point: the gradient vanishes there.
    let gradient_w: f64 = PRICES
        .iter()
        .zip(BOUGHT)
        .map(|(&x, y)| (probability(w, b, x) - y) * x)
        .sum();
    assert!(
        gradient_w.abs() < 1e-9,
        "Newton did not converge: ∂J/∂w = {gradient_w}"
    );

    let learned_w = json["w"].as_f64().unwrap();
    let learned_b = json["b"].as_f64().unwrap();
    let learned_loss = json["loss"].as_f64().unwrap();
    assert!((learned_w - w).abs() < 1e-5, "w = {learned_w}, Newton {w}");
    assert!((learned_b - b).abs() < 1e-5, "b = {learned_b}, Newton {b}");
    assert!(
        (learned_loss - loss).abs() < 1e-5,
        "loss = {learned_loss}, Newton {loss}"
    );
    assert!(w < 0.0, "a higher price should lower the chance of a sale");

    let probabilities: Vec<f64> = json["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();
    assert_eq!(probabilities.len(), PRICES.len());
    for (&x, p) in PRICES.iter().zip(&probabilities) {
        assert!((p - probability(w, b, x)).abs() < 1e-5);
    }
    // At the threshold 0.5 every visitor is classified as the data says except the one at 55 €.
    let decisions: Vec<u64> = json["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    assert_eq!(decisions, [1, 1, 1, 1, 0]);
}
