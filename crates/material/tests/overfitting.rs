//! Overfitting: the λ chosen on the cross-validation set must beat λ = 0 there, and the
//! diagnosis must name high variance at λ = 0 and high bias at the largest λ — checked again
//! here from the reported errors with the thresholds the example documents.

use chainrule_material::overfitting;

fn numbers(json: &serde_json::Value, key: &str) -> Vec<f64> {
    json[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn regularisation_cures_overfitting_and_too_much_of_it_underfits() {
    let outcome = overfitting::run(&mut std::io::sink()).expect("the example runs");
    assert!(
        outcome.passed,
        "the example's own check failed: {}",
        outcome.learned
    );
    let json = &outcome.json;
    for key in [
        "lambdas",
        "train_errors",
        "validation_errors",
        "chosen_lambda",
        "test_error",
        "diagnosis_at_zero",
        "diagnosis_at_largest",
    ] {
        assert!(json.get(key).is_some(), "the JSON lacks {key:?}: {json}");
    }

    let lambdas = numbers(json, "lambdas");
    let train = numbers(json, "train_errors");
    let validation = numbers(json, "validation_errors");
    assert_eq!(lambdas.len(), train.len());
    assert_eq!(lambdas.len(), validation.len());
    assert_eq!(lambdas[0], 0.0);
    assert!(
        lambdas.windows(2).all(|w| w[0] < w[1]),
        "the sweep is increasing"
    );

    // The chosen λ is the one with the lowest cross-validation error, and it beats λ = 0.
    let best = (0..lambdas.len())
        .min_by(|&a, &b| validation[a].total_cmp(&validation[b]))
        .unwrap();
    let chosen = json["chosen_lambda"].as_f64().unwrap();
    assert_eq!(chosen, lambdas[best]);
    assert!(chosen > 0.0);
    assert!(validation[best] < validation[0]);

    // A larger penalty never fits the training set better.
    assert!(
        train.windows(2).all(|w| w[0] <= w[1] * (1.0 + 1e-9)),
        "{train:?}"
    );

    // The documented thresholds: the noise σ = 0.3 costs σ²/2 = 0.045 (the baseline); high bias
    // when J_train − baseline > baseline; high variance when J_cv − J_train > max(baseline, J_train).
    let baseline = 0.3f64 * 0.3 / 2.0;
    let high_bias = |i: usize| train[i] - baseline > baseline;
    let high_variance = |i: usize| validation[i] - train[i] > baseline.max(train[i]);
    let last = lambdas.len() - 1;
    assert!(
        !high_bias(0) && high_variance(0),
        "λ = 0: {} / {}",
        train[0],
        validation[0]
    );
    assert!(
        high_bias(last) && !high_variance(last),
        "largest λ: {} / {}",
        train[last],
        validation[last]
    );
    // At λ = 0 the model fits the training set better than the true curve would.
    assert!(train[0] < baseline);
    assert!(validation[0] > 3.0 * train[0]);

    assert_eq!(json["diagnosis_at_zero"], "high variance (overfitting)");
    assert_eq!(json["diagnosis_at_largest"], "high bias (underfitting)");
    let test_error = json["test_error"].as_f64().unwrap();
    assert!(test_error.is_finite() && test_error > 0.0);
}
