//! The digits MLP example, checked from outside: the reported test predictions, scored here
//! against the labels read straight from the CSV and the split file, give the reported accuracy,
//! at least 97%; and the learning rate was chosen on the cross-validation set.

mod common;

use chainrule_material::digits_mlp;
use common::test_labels;

#[test]
fn digits_mlp_classifies_97_percent_of_test_digits() {
    let outcome = digits_mlp::run(&mut std::io::sink()).unwrap();
    assert!(outcome.passed, "{}", outcome.check);
    let json = &outcome.json;
    for key in [
        "test_accuracy",
        "validation_accuracy",
        "chosen_learning_rate",
        "epochs",
        "train_loss",
        "validation_loss",
    ] {
        assert!(json.get(key).is_some(), "missing key {key}");
    }
    let test_accuracy = json["test_accuracy"].as_f64().unwrap();
    assert!(test_accuracy >= 0.97, "test accuracy {test_accuracy}");

    // Recomputed from the predictions against the labels in the files.
    let labels = test_labels();
    assert_eq!(labels.len(), 360);
    let predictions: Vec<usize> = serde_json::from_value(json["test_predictions"].clone()).unwrap();
    assert_eq!(predictions.len(), labels.len());
    let right = predictions
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count();
    assert_eq!(right as f64 / 360.0, test_accuracy);

    // The learning rate with the best cross-validation accuracy was chosen.
    let rates: Vec<f64> = serde_json::from_value(json["learning_rates"].clone()).unwrap();
    let accuracies: Vec<f64> =
        serde_json::from_value(json["validation_accuracies"].clone()).unwrap();
    let best = accuracies.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let chosen = json["chosen_learning_rate"].as_f64().unwrap();
    let chosen_index = rates.iter().position(|&r| r == chosen).unwrap();
    assert_eq!(accuracies[chosen_index], best);
    assert_eq!(json["validation_accuracy"].as_f64().unwrap(), best);

    // The history is a real run: losses fell, and the kept epoch's losses are reported.
    let epochs = json["epochs"].as_u64().unwrap() as usize;
    assert!((1..=digits_mlp::MAX_EPOCHS).contains(&epochs));
    let train_history: Vec<f64> =
        serde_json::from_value(json["train_loss_per_epoch"].clone()).unwrap();
    let validation_history: Vec<f64> =
        serde_json::from_value(json["validation_loss_per_epoch"].clone()).unwrap();
    assert_eq!(train_history.len(), epochs);
    assert_eq!(validation_history.len(), epochs);
    assert!(train_history[epochs - 1] < train_history[0]);
    let train_loss = json["train_loss"].as_f64().unwrap();
    let validation_loss = json["validation_loss"].as_f64().unwrap();
    let kept = json["best_epoch"].as_u64().unwrap() as usize - 1;
    assert_eq!(train_loss, train_history[kept]);
    assert_eq!(validation_loss, validation_history[kept]);
    let lowest = validation_history
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    assert_eq!(validation_loss, lowest);
}
