//! Metrics against values computed by hand.

use approx::assert_relative_eq;
use chainrule_autodiff::Tensor;
use chainrule_train::{
    accuracy, accuracy_of_classes, log_loss, mean_squared_error, predicted_classes,
    ConfusionMatrix, LOG_LOSS_EPSILON,
};

#[test]
fn accuracy_from_logits_and_from_classes() {
    // Rows predict 2, 0, 1, 1 (the first maximum on the tie in row 3).
    let logits = Tensor::from_vec(
        vec![
            0.1f32, 0.2, 0.9, //
            3.0, -1.0, 2.0, //
            0.0, 5.0, 5.0, //
            -2.0, -1.0, -3.0,
        ],
        &[4, 3],
    );
    assert_eq!(predicted_classes(&logits), [2, 0, 1, 1]);
    assert_eq!(accuracy(&logits, &[2, 0, 2, 1]), 0.75);
    assert_eq!(accuracy_of_classes(&[1, 1, 0], &[1, 0, 0]), 2.0 / 3.0);
    assert_eq!(accuracy_of_classes(&[], &[]), 0.0);
    // One logit per row: positive means class 1.
    let binary = Tensor::from_vec(vec![2.0f64, -0.5, 0.0, 0.1], &[4]);
    assert_eq!(accuracy(&binary, &[1, 0, 0, 0]), 0.75);
}

#[test]
fn mean_squared_error_by_hand() {
    let p = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    let t = Tensor::from_vec(vec![1.5f64, 2.0, 1.0, 5.0], &[2, 2]);
    // (0.25 + 0 + 4 + 1) / 4
    assert_eq!(mean_squared_error(&p, &t), 5.25 / 4.0);
}

#[test]
fn log_loss_by_hand_and_clipped() {
    let p = Tensor::from_vec(vec![0.8f64, 0.3, 0.6], &[3, 1]);
    let y = [1, 0, 0];
    let by_hand = -(0.8f64.ln() + 0.7f64.ln() + 0.4f64.ln()) / 3.0;
    assert_relative_eq!(log_loss(&p, &y), by_hand, max_relative = 1e-14);

    // A certain, wrong answer costs −ln ε, not infinity.
    let certain = Tensor::from_vec(vec![0.0f32, 1.0], &[2]);
    let loss = log_loss(&certain, &[1, 0]);
    assert!(loss.is_finite());
    // (1 − ε is rounded in f64, so the two clipped ends differ in the last digits.)
    assert_relative_eq!(loss, -LOG_LOSS_EPSILON.ln(), max_relative = 1e-4);
    // A certain, right answer costs (almost) nothing.
    assert!(log_loss(&certain, &[0, 1]) < 1e-12);
}

#[test]
#[should_panic(expected = "neither 0 nor 1")]
fn log_loss_wants_binary_labels() {
    log_loss(&Tensor::from_vec(vec![0.5f64], &[1]), &[2]);
}

#[test]
fn confusion_matrix_counts_and_prints() {
    let actual = [0, 0, 1, 1, 1, 2, 2, 2, 2];
    let predicted = [0, 1, 1, 1, 2, 2, 2, 0, 2];
    let m = ConfusionMatrix::new(&predicted, &actual, 3);
    let rows: Vec<Vec<usize>> = (0..3)
        .map(|a| (0..3).map(|p| m.count(a, p)).collect())
        .collect();
    assert_eq!(rows, [[1, 1, 0], [0, 2, 1], [1, 0, 3]]);
    assert_eq!(m.total(), 9);
    assert_eq!(m.accuracy(), 6.0 / 9.0);
    assert_eq!(m.precision(2), 3.0 / 4.0);
    assert_eq!(m.recall(1), 2.0 / 3.0);
    assert_eq!(
        m.to_string(),
        "actual \\ predicted 0 1 2\n\
         \x20                0 1 1 0\n\
         \x20                1 0 2 1\n\
         \x20                2 1 0 3"
    );
}

#[test]
#[should_panic(expected = "out of range for 2 classes")]
fn confusion_matrix_rejects_unknown_classes() {
    ConfusionMatrix::new(&[0, 2], &[0, 1], 2);
}
