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

// The diagnosis a training run is told (`assess`), on synthetic histories.

use chainrule_train::{assess, Curve, Finding, LeastSquares, RunFacts, Simplest};

/// A classification of three balanced classes (the simplest model's cross-entropy is ln 3),
/// on plenty of rows.
fn three_classes() -> RunFacts {
    RunFacts {
        reachable: None,
        simplest: Simplest {
            classification: true,
            train_loss: 3f64.ln(),
            validation_loss: 3f64.ln(),
            majority_error: Some(2.0 / 3.0),
            variances: None,
        },
        least_squares: None,
        training_rows: 600,
        validation_rows: 200,
        features: 4,
        parameters: 1000,
    }
}

/// A regression on standardized targets (the mean's loss is 1), with least squares' losses.
fn regression(line_train: f64, line_validation: f64, validation_rows: usize) -> RunFacts {
    RunFacts {
        reachable: None,
        simplest: Simplest {
            classification: false,
            train_loss: 1.0,
            validation_loss: 1.05,
            majority_error: None,
            variances: Some([1.0, 1.0]),
        },
        least_squares: Some(LeastSquares {
            train_loss: line_train,
            validation_loss: line_validation,
        }),
        training_rows: 4 * validation_rows,
        validation_rows,
        features: 10,
        parameters: 1000,
    }
}

/// Twenty epochs falling from twice the final losses to them, then twenty flat: a finished
/// run.
fn levelled(train: f64, validation: f64) -> History {
    let curve = |end: f64| -> Vec<f64> {
        (0..40)
            .map(|e| end * (1.0 + (20.0 - e.min(20) as f64) / 20.0))
            .collect()
    };
    history(&curve(train), &curve(validation))
}

#[test]
fn a_validation_curve_still_falling_means_train_longer_not_overfitting() {
    // The training loss far below the validation loss, as after a few epochs of a network
    // that memorises fast: but the validation loss is still coming down steeply, so the run
    // is unfinished, and a gap that large is no evidence of overfitting yet.
    let h = history(
        &[1.0, 0.4, 0.2, 0.1, 0.05, 0.02],
        &[1.1, 0.8, 0.6, 0.45, 0.35, 0.3],
    );
    assert_eq!(Curve::of(&h, 3f64.ln()), Curve::StillFalling);
    let a = assess(&h, &three_classes());
    assert_eq!(a.finding, Finding::TrainLonger, "{a}");
    assert!(a.to_string().contains("train longer"), "{a}");
    assert!(!a.to_string().contains("high variance"), "{a}");
}

#[test]
fn a_curve_levelled_at_the_problems_scale_is_not_still_falling() {
    // Lowest at the end, but creeping down by 0.1% of ln 3 per tenth of the run: levelled.
    let validation: Vec<f64> = (0..40).map(|e| 0.2 - 0.00005 * e as f64).collect();
    let h = history(&vec![0.18; 40], &validation);
    assert_eq!(Curve::of(&h, 3f64.ln()), Curve::Levelled);
    assert_eq!(assess(&h, &three_classes()).finding, Finding::JustRight);
}

#[test]
fn a_rising_curve_is_overfitting_since_its_lowest_epoch() {
    let train = [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01];
    let validation = [1.05, 0.6, 0.40, 0.38, 0.45, 0.55, 0.65, 0.8];
    // The last epoch's weights kept: the model judged is the overfitted one.
    let a = assess(&history(&train, &validation), &three_classes());
    assert_eq!(a.curve, Curve::RisingSince { best_epoch: 3 });
    assert_eq!(a.finding, Finding::HighVariance, "{a}");
    assert!(
        a.reason.contains("overfitting since epoch 4"),
        "{}",
        a.reason
    );
    assert!(a.reason.contains("the last epoch's"), "{}", a.reason);
    // Early stopping restored epoch 4: it is that epoch's losses that are judged (0.2 and
    // 0.38, a gap under the threshold), and the reason says the rise came after it.
    let mut restored = history(&train, &validation);
    restored.restored_best = true;
    let a = assess(&restored, &three_classes());
    assert_eq!((a.train_loss, a.validation_loss), (0.2, 0.38));
    assert!(
        a.reason
            .contains("early stopping restored epoch 4's weights"),
        "{}",
        a.reason
    );
}

#[test]
fn too_few_rows_are_named_before_anything_else() {
    // Losses that would otherwise say high bias and high variance: on two training rows and
    // one validation row they say nothing, and a bigger model is the last thing to suggest.
    let h = history(&[1.05, 1.0, 1.0], &[2.0, 1.9, 1.9]);
    let facts = RunFacts {
        training_rows: 2,
        validation_rows: 1,
        features: 1,
        ..three_classes()
    };
    let a = assess(&h, &facts);
    assert_eq!(a.finding, Finding::TooFewRows);
    assert!(a.reason.contains("2 training and 1 validation rows"), "{a}");
    assert!(!a.to_string().contains("try a bigger model"), "{a}");
    // More rows than the minimum but not more than the features: too few as well.
    let wide = RunFacts {
        training_rows: 60,
        features: 64,
        ..three_classes()
    };
    assert_eq!(assess(&h, &wide).finding, Finding::TooFewRows);
}

#[test]
fn near_the_simplest_models_loss_is_high_bias() {
    // 95% of ln 3: the model has learned next to nothing.
    let a = assess(&levelled(1.044, 1.05), &three_classes());
    assert_eq!(a.finding, Finding::HighBias, "{a}");
    assert!(a.reason.contains("of the simplest model's"), "{}", a.reason);
    assert!(
        a.baseline_used().contains("a ceiling"),
        "{}",
        a.baseline_used()
    );
}

#[test]
fn a_noise_limited_regression_is_not_told_to_grow() {
    // Diabetes-like: R² about 0.5 on training and validation, as least squares gets: the
    // losses are far above 0 but a line does no better, so without a reachable level the
    // rest may be noise — not high bias, not "a bigger model".
    let h = levelled(0.49, 0.52);
    let facts = regression(0.48, 0.53, 90);
    let a = assess(&h, &facts);
    assert_eq!(a.finding, Finding::MayBeNoise, "{a}");
    assert!(a.reason.contains("may be noise"), "{}", a.reason);
    assert!(!a.to_string().contains("try a bigger model"), "{a}");
    let [train, validation] = a.r_squared().unwrap();
    assert!((train - 0.51).abs() < 1e-12 && (validation - 0.48).abs() < 1e-12);
    // A reachable level of 0.2 (R² 0.8) says better can be had: now it is high bias.
    let told = RunFacts {
        reachable: Some(0.2),
        ..facts
    };
    let a = assess(&h, &told);
    assert_eq!(a.finding, Finding::HighBias, "{a}");
    assert!(
        a.baseline_used().contains("a floor"),
        "{}",
        a.baseline_used()
    );
    // A network well above least squares' training loss underfits, even below the mean's.
    let line_better = regression(0.2, 0.25, 90);
    assert_eq!(assess(&h, &line_better).finding, Finding::HighBias);
}

#[test]
fn the_gap_least_squares_has_too_is_the_splits() {
    // Training 0.3, validation 0.6: a gap of 0.3. Least squares has 0.45 / 0.72, a gap of
    // 0.27 on the same rows, so only 0.03 of it is the network's: not high variance.
    let h = levelled(0.3, 0.6);
    let a = assess(&h, &regression(0.45, 0.72, 400));
    assert_ne!(a.finding, Finding::HighVariance, "{a}");
    assert!(a.reason.contains("counted as the split's"), "{}", a.reason);
    // Least squares with no gap: the network's 0.3 is high variance.
    let a = assess(&h, &regression(0.45, 0.45, 400));
    assert_eq!(a.finding, Finding::HighVariance, "{a}");
}

#[test]
fn the_simplest_model_of_classes_is_their_frequencies() {
    let x = Tensor::<f64>::zeros(&[4, 1]);
    let train = Dataset::new(x.clone(), Targets::Classes(vec![0, 0, 0, 1]));
    let validation = Dataset::new(x, Targets::Classes(vec![0, 1, 1, 1]));
    let s = Simplest::of(&train, &validation);
    // Add-one smoothed frequencies: 4/6 and 2/6.
    let (p0, p1) = (4.0f64 / 6.0, 2.0f64 / 6.0);
    assert!((s.train_loss + (3.0 * p0.ln() + p1.ln()) / 4.0).abs() < 1e-12);
    assert!((s.validation_loss + (p0.ln() + 3.0 * p1.ln()) / 4.0).abs() < 1e-12);
    assert_eq!(s.majority_error, Some(0.75));
}

#[test]
fn least_squares_recovers_a_plane_with_noise_left_over() {
    // y = x₀ − 2x₁ + 3 + e, e = ±0.5 alternately, uncorrelated with the features: least
    // squares leaves the noise's variance, 0.25.
    let rows = 40;
    let x: Vec<f64> = (0..rows * 2)
        .map(|i| ((i * 7919) % 23) as f64 / 23.0)
        .collect();
    let y: Vec<f64> = (0..rows)
        .map(|r| x[2 * r] - 2.0 * x[2 * r + 1] + 3.0 + if r % 2 == 0 { 0.5 } else { -0.5 })
        .collect();
    let data = Dataset::new(
        Tensor::from_vec(x, &[rows, 2]),
        Targets::Values(Tensor::from_vec(y, &[rows, 1])),
    );
    let fit = LeastSquares::fit(&data, &data).unwrap();
    assert!(fit.train_loss <= 0.25 + 1e-9, "{fit:?}");
    assert!(fit.train_loss > 0.2, "{fit:?}");
    // Fewer rows than coefficients: no unique fit, no reference.
    assert!(LeastSquares::fit(&data.select(&[0, 1]), &data).is_none());
}
