//! The LSTM example, re-checked from what it reports: on the adding problem the LSTM's
//! held-out mean squared error ends below the threshold and the plain RNN's does not, and the
//! RNN stays near the error of always answering the mean.
//!
//! Both tests together take about 15 s in the dev profile (7 s each; 6 s for one in release).

use chainrule_material::lstm::{self, Config};
use serde_json::Value;

/// The mean squared error of always answering 1 on the adding problem: the variance of the sum
/// of two independent uniform [0, 1) numbers, 2 · 1/12.
const ANSWER_THE_MEAN: f64 = 2.0 / 12.0;

fn number(json: &Value, key: &str) -> f64 {
    json[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing"))
}

/// The separation the example claims, read back from its JSON.
fn check_separation(json: &Value) {
    let threshold = number(json, "threshold");
    let lstm_loss = number(json, "lstm_loss");
    let rnn_loss = number(json, "rnn_loss");
    // The threshold means something: far below what answering the mean scores.
    assert!(threshold <= ANSWER_THE_MEAN / 10.0, "threshold {threshold}");
    assert!(lstm_loss < threshold, "LSTM {lstm_loss} ≥ {threshold}");
    assert!(rnn_loss >= threshold, "RNN {rnn_loss} < {threshold}");
    // The RNN has learned about nothing beyond the mean; the LSTM is far past it.
    assert!(rnn_loss > ANSWER_THE_MEAN / 2.0, "RNN {rnn_loss}");
    assert!(
        lstm_loss < rnn_loss / 20.0,
        "LSTM {lstm_loss} vs RNN {rnn_loss}"
    );
    let lstm_accuracy = number(json, "lstm_accuracy");
    let rnn_accuracy = number(json, "rnn_accuracy");
    assert!(
        lstm_accuracy > 2.0 * rnn_accuracy,
        "{lstm_accuracy} vs {rnn_accuracy}"
    );
    // Both curves have a point per printed row and end where training ended.
    for key in ["lstm_curve", "rnn_curve"] {
        let curve = json[key].as_array().expect("a curve");
        assert!(!curve.is_empty(), "{key}");
        assert!(curve.iter().all(|v| v.as_f64().is_some_and(f64::is_finite)));
    }
}

#[test]
fn the_lstm_solves_the_adding_problem_where_the_rnn_does_not() {
    let outcome = lstm::run(&mut std::io::sink()).expect("the example runs");
    assert!(outcome.passed, "{}: {}", outcome.learned, outcome.check);
    let json = &outcome.json;
    let length = json["sequence_length"].as_u64().expect("sequence_length");
    assert!(length >= 20, "a long-range task: length {length}");
    assert_eq!(json["hidden"], serde_json::json!(Config::default().hidden));
    check_separation(json);
}

#[test]
fn the_separation_does_not_hang_on_one_seed() {
    let config = Config {
        seed: 2,
        ..Config::default()
    };
    let outcome = lstm::run_with(&config, &mut std::io::sink()).expect("the example runs");
    assert!(outcome.passed, "{}: {}", outcome.learned, outcome.check);
    check_separation(&outcome.json);
}
