//! The bias/variance diagnosis names high bias for an underfit run and high variance for an
//! overfit one, and prints the material's advice.

mod common;

use chainrule_autodiff::{ParamStore, Tensor};
use chainrule_train::{
    diagnose, fit, Dataset, Diagnosis, DiagnosisThresholds, FitConfig, History, Progress, Targets,
    Verdict,
};
use common::{mse, Descent, Linear};

fn history(train: &[f64], validation: &[f64]) -> History {
    let best_epoch = validation
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    History {
        train_loss: train.to_vec(),
        validation_loss: validation.to_vec(),
        best_epoch,
        ..History::default()
    }
}

#[test]
fn an_underfit_history_has_high_bias() {
    let h = history(&[2.0, 1.1, 0.82, 0.80], &[2.1, 1.15, 0.85, 0.84]);
    let d = diagnose(&h, None);
    assert_eq!(d.verdict, Verdict::HighBias);
    assert_eq!((d.train_loss, d.validation_loss), (0.80, 0.84));
    let text = d.to_string();
    assert!(text.contains("high bias"), "{text}");
    assert!(
        text.contains("bigger model") && text.contains("smaller regularization"),
        "{text}"
    );
    assert!(text.contains("more or better features"), "{text}");
}

#[test]
fn an_overfit_history_has_high_variance() {
    let h = history(&[0.9, 0.3, 0.05, 0.004], &[1.0, 0.5, 0.42, 0.55]);
    let d = diagnose(&h, None);
    assert_eq!(d.verdict, Verdict::HighVariance);
    let text = d.to_string();
    assert!(text.contains("high variance"), "{text}");
    assert!(
        text.contains("more training data") && text.contains("larger regularization"),
        "{text}"
    );
    assert!(text.contains("fewer features"), "{text}");
}

#[test]
fn the_diagnosis_uses_the_restored_epoch() {
    let mut h = history(&[0.9, 0.3, 0.05, 0.004], &[1.0, 0.31, 0.42, 0.55]);
    h.restored_best = true;
    let d = diagnose(&h, None);
    assert_eq!((d.train_loss, d.validation_loss), (0.3, 0.31));
    assert_eq!(d.verdict, Verdict::HighBias);
}

#[test]
fn a_baseline_moves_the_bar_for_bias() {
    let thresholds = DiagnosisThresholds::default();
    // Far above 0, but near what a human achieves: not a bias problem.
    let d = Diagnosis::from_losses(0.50, 0.51, Some(0.49), &thresholds);
    assert_eq!(d.verdict, Verdict::JustRight);
    assert!(d
        .to_string()
        .contains("neither high bias nor high variance"));
    let d = Diagnosis::from_losses(0.50, 0.51, None, &thresholds);
    assert_eq!(d.verdict, Verdict::HighBias);
    let d = Diagnosis::from_losses(0.50, 0.90, Some(0.1), &thresholds);
    assert_eq!(d.verdict, Verdict::HighBiasAndVariance);
    assert!(d.to_string().contains("fix the bias first"));
}

#[test]
fn thresholds_are_the_documented_parameters() {
    let strict = DiagnosisThresholds {
        bias_absolute: 1.0,
        bias_relative: 0.0,
        variance_absolute: 0.001,
        variance_relative: 0.0,
    };
    let d = Diagnosis::from_losses(0.5, 0.502, None, &strict);
    assert_eq!(d.verdict, Verdict::HighVariance);
    assert_eq!(d.bias_threshold, 1.0);
    assert!((d.variance_gap - 0.002).abs() < 1e-12);
}

#[test]
fn a_straight_line_through_a_parabola_underfits() {
    // y = x² on [−2, 2]: no linear model gets the training loss near 0.
    let x: Vec<f64> = (0..80).map(|i| -2.0 + 4.0 * i as f64 / 79.0).collect();
    let y: Vec<f64> = x.iter().map(|v| v * v).collect();
    let all = Dataset::new(
        Tensor::from_vec(x, &[80, 1]),
        Targets::Values(Tensor::from_vec(y, &[80, 1])),
    );
    let rows: Vec<usize> = (0..80).collect();
    let (even, odd): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&r| r % 2 == 0);
    let (train, validation) = (all.select(&even), all.select(&odd));

    let mut params = ParamStore::new();
    let mut model = Linear::new(&mut params, "line", 1, 1, 0);
    let config = FitConfig {
        epochs: 200,
        batch_size: 40,
        evaluate_train_loss: true,
        progress: Progress::Quiet,
        ..FitConfig::default()
    };
    let history = fit(
        &mut model,
        &mut params,
        &mut Descent { learning_rate: 0.1 },
        mse,
        &train,
        &validation,
        &config,
    )
    .unwrap();
    let d = diagnose(&history, Some(0.0));
    assert_eq!(d.verdict, Verdict::HighBias, "{d}");
}
