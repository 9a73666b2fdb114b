//! The training loop: it reaches the known optimum of a linear regression, early stopping
//! restores the best epoch's parameters, and a NaN stops training with the op that made it.

mod common;

use chainrule_autodiff::{Graph, ParamId, ParamKind, ParamStore, Pass, Tensor, Var};
use chainrule_layers::Module;
use chainrule_train::{
    evaluate, fit, fit_with_penalty, loss_fn, predict, Batch, Dataset, EarlyStopping, FitConfig,
    FitError, Phase, Progress, Targets,
};
use common::{linear_data, mse, Descent, Linear, TwoLayer};

fn quiet(epochs: usize, batch_size: usize) -> FitConfig {
    FitConfig {
        epochs,
        batch_size,
        progress: Progress::Quiet,
        ..FitConfig::default()
    }
}

/// The least-squares fit `[w; b]` of `y ≈ X·w + b`, from the normal equations by Gaussian
/// elimination with partial pivoting. (Indexed loops read as the textbook algorithm does.)
#[allow(clippy::needless_range_loop)]
fn least_squares(data: &Dataset<f64>) -> Vec<f64> {
    let (n, d) = (data.len(), data.num_features());
    let x = data.features().as_slice();
    let y = data.values().unwrap().as_slice();
    let row = |i: usize| {
        let mut r = x[i * d..(i + 1) * d].to_vec();
        r.push(1.0);
        r
    };
    let m = d + 1;
    let mut a = vec![vec![0.0; m + 1]; m];
    for i in 0..n {
        let r = row(i);
        for j in 0..m {
            for k in 0..m {
                a[j][k] += r[j] * r[k];
            }
            a[j][m] += r[j] * y[i];
        }
    }
    for col in 0..m {
        let pivot = (col..m)
            .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        for r in 0..m {
            if r != col {
                let f = a[r][col] / a[col][col];
                for k in col..=m {
                    a[r][k] -= f * a[col][k];
                }
            }
        }
    }
    (0..m).map(|j| a[j][m] / a[j][j]).collect()
}

fn mse_of(data: &Dataset<f64>, theta: &[f64]) -> f64 {
    let d = data.num_features();
    let y = data.values().unwrap().as_slice();
    data.features()
        .as_slice()
        .chunks(d)
        .zip(y)
        .map(|(r, y)| {
            let p: f64 = r.iter().zip(theta).map(|(a, b)| a * b).sum::<f64>() + theta[d];
            (p - y).powi(2)
        })
        .sum::<f64>()
        / data.len() as f64
}

#[test]
fn full_batch_descent_reaches_the_least_squares_optimum() {
    let train = linear_data(200, &[1.5, -2.0, 0.5], 0.3, 0.1, 1);
    let validation = linear_data(100, &[1.5, -2.0, 0.5], 0.3, 0.1, 2);
    let theta = least_squares(&train);
    let optimum = mse_of(&train, &theta);

    let mut params = ParamStore::new();
    let mut model = Linear::new(&mut params, "linear", 3, 1, 0);
    let config = FitConfig {
        evaluate_train_loss: true,
        ..quiet(300, 200)
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

    assert_eq!(history.epochs(), 300);
    assert!(!history.stopped_early && !history.restored_best);
    assert!(history.train_loss[0] > 10.0 * optimum);
    let last = *history.train_loss.last().unwrap();
    assert!(
        (last - optimum).abs() < 1e-9 * optimum,
        "{last} vs {optimum}"
    );
    let w = params.value(model.weight).to_vec();
    let b = params.value(model.bias).item();
    for (got, want) in w.iter().chain([&b]).zip(&theta) {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
    // The reported (re-evaluated) training loss is the loss of the final parameters.
    let again = evaluate(&mut model, &params, mse, &train, 200).unwrap();
    assert_eq!(again, last);
}

#[test]
fn shuffled_mini_batches_get_near_the_optimum() {
    let train = linear_data(400, &[1.0, 2.0], -1.0, 0.2, 3);
    let validation = linear_data(200, &[1.0, 2.0], -1.0, 0.2, 4);
    let optimum = mse_of(&train, &least_squares(&train));

    let mut params = ParamStore::new();
    let mut model = Linear::new(&mut params, "linear", 2, 1, 0);
    let history = fit(
        &mut model,
        &mut params,
        &mut Descent {
            learning_rate: 0.02,
        },
        mse,
        &train,
        &validation,
        &quiet(40, 16),
    )
    .unwrap();
    let final_loss = evaluate(&mut model, &params, mse, &train, 64).unwrap();
    assert!(final_loss < 1.02 * optimum, "{final_loss} vs {optimum}");
    assert!(history.validation_loss.last().unwrap() < &(1.2 * optimum));

    // Seeded: the same run again gives the same numbers.
    let mut params2 = ParamStore::new();
    let mut model2 = Linear::new(&mut params2, "linear", 2, 1, 0);
    let history2 = fit(
        &mut model2,
        &mut params2,
        &mut Descent {
            learning_rate: 0.02,
        },
        mse,
        &train,
        &validation,
        &quiet(40, 16),
    )
    .unwrap();
    assert_eq!(history, history2);
}

/// `y = x·w` with a single weight.
struct Scale {
    w: ParamId,
}

impl Module<f64> for Scale {
    fn forward<'g>(&self, g: &'g Graph<f64>, p: &ParamStore<f64>, x: Var<'g, f64>) -> Var<'g, f64> {
        x * p.bind(g, self.w)
    }
}

fn scale_model(params: &mut ParamStore<f64>) -> Scale {
    Scale {
        w: params.insert("w", Tensor::from_vec(vec![0.0], &[1]), ParamKind::Weight),
    }
}

/// Training pulls `w` toward 2, but the validation set wants 1: the validation loss falls
/// until `w` passes 1 and rises after.
fn diverging_sets() -> (Dataset<f64>, Dataset<f64>) {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3, 1]);
    let train = Dataset::new(x.clone(), Targets::Values(&x * 2.0));
    let validation = Dataset::new(x.clone(), Targets::Values(x));
    (train, validation)
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let (train, validation) = diverging_sets();
    let mut params = ParamStore::new();
    let mut model = scale_model(&mut params);
    let config = FitConfig {
        early_stopping: Some(EarlyStopping {
            patience: 3,
            ..EarlyStopping::default()
        }),
        ..quiet(100, 3)
    };
    let history = fit(
        &mut model,
        &mut params,
        &mut Descent {
            learning_rate: 0.01,
        },
        mse,
        &train,
        &validation,
        &config,
    )
    .unwrap();

    let best = history.best_epoch;
    assert!(history.stopped_early && history.restored_best);
    assert_eq!(
        history.epochs(),
        best + 4,
        "stops after `patience` worse epochs"
    );
    assert!(history.validation_loss[best + 1] > history.validation_loss[best]);
    assert!(
        history.train_loss.windows(2).all(|w| w[1] < w[0]),
        "training kept improving"
    );
    let best_loss = history.validation_loss[best];
    assert!(history.validation_loss.iter().all(|&l| l >= best_loss));

    // The parameters are the best epoch's: evaluating them gives that epoch's validation loss
    // exactly, and a run stopped by hand after that epoch ends with the same weight.
    assert_eq!(
        evaluate(&mut model, &params, mse, &validation, 3).unwrap(),
        best_loss
    );
    let w = params.value(model.w).item();
    assert!((w - 1.0).abs() < 0.1, "w = {w}");
    let mut by_hand = ParamStore::new();
    let mut model2 = scale_model(&mut by_hand);
    fit(
        &mut model2,
        &mut by_hand,
        &mut Descent {
            learning_rate: 0.01,
        },
        mse,
        &train,
        &validation,
        &quiet(best + 1, 3),
    )
    .unwrap();
    assert_eq!(by_hand.value(model2.w).item().to_bits(), w.to_bits());
}

#[test]
fn without_restore_the_last_parameters_stay() {
    let (train, validation) = diverging_sets();
    let mut params = ParamStore::new();
    let mut model = scale_model(&mut params);
    let config = FitConfig {
        early_stopping: Some(EarlyStopping {
            patience: 2,
            restore_best: false,
            ..EarlyStopping::default()
        }),
        ..quiet(100, 3)
    };
    let history = fit(
        &mut model,
        &mut params,
        &mut Descent {
            learning_rate: 0.01,
        },
        mse,
        &train,
        &validation,
        &config,
    )
    .unwrap();
    assert!(history.stopped_early && !history.restored_best);
    assert_eq!(history.final_epoch(), history.epochs() - 1);
    let last = *history.validation_loss.last().unwrap();
    assert_eq!(
        evaluate(&mut model, &params, mse, &validation, 3).unwrap(),
        last
    );
}

#[test]
fn a_nan_loss_names_the_op_that_made_it() {
    let x = Tensor::from_vec(vec![-1.0, -2.0], &[2, 1]);
    let data = Dataset::new(x.clone(), Targets::Values(x));
    let mut params = ParamStore::new();
    let mut model = scale_model(&mut params);
    params.set_value(model.w, Tensor::from_vec(vec![1.0], &[1]));
    let err = fit(
        &mut model,
        &mut params,
        &mut Descent { learning_rate: 0.1 },
        |out, _batch| out.ln().mean(),
        &data,
        &data,
        &quiet(5, 2),
    )
    .unwrap_err();
    match &err {
        FitError::NonFiniteLoss {
            step,
            value,
            origin,
        } => {
            assert_eq!(step.phase, Phase::Training);
            assert_eq!((step.epoch, step.batch), (Some(0), 0));
            assert!(value.is_nan());
            let origin = origin.as_ref().expect("the sentinel finds the ln");
            assert_eq!(origin.op, "ln");
            // The replay under the sentinel keeps source lines: the loss closure's `ln`.
            assert!(origin.source_line.unwrap().file().ends_with("fit.rs"));
        }
        other => panic!("expected NonFiniteLoss, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with("epoch 1, training batch 1: the loss is NaN"),
        "{text}"
    );
    assert!(
        text.contains("NaN first appears in the forward value of n3 = ln(n2) (shape [2, 1])"),
        "{text}"
    );
    // No update was made from the bad step.
    assert_eq!(params.value(model.w).item(), 1.0);
}

#[test]
fn an_infinite_gradient_names_the_rule_that_made_it() {
    // w = 0, so the model's output is 0 and √0 is finite, but ∂√u/∂u = 1/(2√u) is not.
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2, 1]);
    let data = Dataset::new(x.clone(), Targets::Values(x));
    let mut params = ParamStore::new();
    let mut model = scale_model(&mut params);
    let err = fit(
        &mut model,
        &mut params,
        &mut Descent { learning_rate: 0.1 },
        |out, _batch| out.sqrt().mean(),
        &data,
        &data,
        &quiet(5, 2),
    )
    .unwrap_err();
    let FitError::NonFiniteGradient {
        parameter, origin, ..
    } = &err
    else {
        panic!("expected NonFiniteGradient, got {err:?}");
    };
    assert_eq!(parameter, "w");
    let origin = origin.as_ref().expect("the sentinel finds the sqrt");
    assert_eq!((origin.pass, origin.op), (Pass::Backward, "sqrt"));
    let text = err.to_string();
    assert!(
        text.contains("every forward value is finite, but the backward rule of n3 = sqrt(n2)"),
        "{text}"
    );
    assert_eq!(
        params.value(model.w).item(),
        0.0,
        "no update from the bad step"
    );
}

#[test]
fn a_non_scalar_loss_and_bad_settings_are_errors() {
    let (train, validation) = diverging_sets();
    let mut params = ParamStore::new();
    let mut model = scale_model(&mut params);
    let mut descent = Descent { learning_rate: 0.1 };
    let err = fit(
        &mut model,
        &mut params,
        &mut descent,
        |out, _batch| out,
        &train,
        &validation,
        &quiet(1, 3),
    )
    .unwrap_err();
    assert!(matches!(err, FitError::LossNotScalar { ref shape, .. } if shape == &[3, 1]));

    for (config, field) in [(quiet(0, 3), "epochs"), (quiet(1, 0), "batch_size")] {
        let err = fit(
            &mut model,
            &mut params,
            &mut descent,
            mse,
            &train,
            &validation,
            &config,
        )
        .unwrap_err();
        assert!(matches!(err, FitError::Config { field: f, .. } if f == field));
    }
    let empty = train.select(&[]);
    let err = fit(
        &mut model,
        &mut params,
        &mut descent,
        mse,
        &train,
        &empty,
        &quiet(1, 3),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "the validation set is empty");
}

#[test]
fn a_penalty_shrinks_the_weights_but_not_the_reported_loss() {
    let train = linear_data(100, &[3.0, -3.0], 0.0, 0.5, 7);
    let validation = linear_data(50, &[3.0, -3.0], 0.0, 0.5, 8);
    let run = |lambda: f64| {
        let mut params = ParamStore::new();
        let mut model = Linear::new(&mut params, "linear", 2, 1, 0);
        let config = FitConfig {
            evaluate_train_loss: true,
            ..quiet(200, 100)
        };
        let history = fit_with_penalty(
            &mut model,
            &mut params,
            &mut Descent { learning_rate: 0.1 },
            mse,
            |g, params: &ParamStore<f64>, batch: &Batch<f64>| {
                let w = params.bind(g, params.id("linear.weight").unwrap());
                w.square().sum() * (lambda / (2.0 * batch.len() as f64))
            },
            &train,
            &validation,
            &config,
        )
        .unwrap();
        let norm = params
            .value(model.weight)
            .as_slice()
            .iter()
            .map(|w| w * w)
            .sum::<f64>();
        let data_loss = evaluate(&mut model, &params, mse, &train, 100).unwrap();
        (norm, history, data_loss)
    };
    let (free, free_history, _) = run(0.0);
    let (shrunk, history, data_loss) = run(50.0);
    assert!(shrunk < 0.9 * free, "{shrunk} vs {free}");
    // What is reported is the data loss alone, not data loss + penalty.
    assert_eq!(*history.train_loss.last().unwrap(), data_loss);
    assert!(data_loss > *free_history.train_loss.last().unwrap());
}

#[test]
fn predict_runs_in_batches_and_matches_one_big_batch() {
    let mut params = ParamStore::new();
    let mut model = TwoLayer::new(&mut params, 3, 5, 2, 42);
    let x = Tensor::<f64>::from_vec((0..30).map(|i| (i as f64 * 0.37).sin()).collect(), &[10, 3]);
    let whole = predict(&mut model, &params, &x, 10);
    let pieces = predict(&mut model, &params, &x, 3);
    assert_eq!(whole.shape(), &[10, 2]);
    assert_eq!(pieces.shape(), &[10, 2]);
    for (a, b) in whole.as_slice().iter().zip(pieces.as_slice()) {
        assert!((a - b).abs() < 1e-12);
    }
}

/// A module that records the mode it was last switched to, and counts switches.
struct ModeSpy {
    inner: Scale,
    training: bool,
    switches: usize,
}

impl Module<f64> for ModeSpy {
    fn forward<'g>(&self, g: &'g Graph<f64>, p: &ParamStore<f64>, x: Var<'g, f64>) -> Var<'g, f64> {
        self.inner.forward(g, p, x)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.switches += 1;
    }
}

#[test]
fn validation_runs_in_evaluation_mode_and_training_resumes_after() {
    let (train, validation) = diverging_sets();
    let mut params = ParamStore::new();
    let mut spy = ModeSpy {
        inner: scale_model(&mut params),
        training: false,
        switches: 0,
    };
    let history = fit(
        &mut spy,
        &mut params,
        &mut Descent {
            learning_rate: 0.01,
        },
        mse,
        &train,
        &validation,
        &quiet(3, 2),
    )
    .unwrap();
    assert_eq!(history.epochs(), 3);
    assert!(spy.training, "left in training mode");
    assert_eq!(spy.switches, 9, "train, eval, train again, each epoch");
    predict(&mut spy, &params, validation.features(), 2);
    assert!(!spy.training, "predict runs in evaluation mode");
}

#[test]
fn every_progress_style_runs() {
    let (train, validation) = diverging_sets();
    for progress in [
        Progress::Lines,
        Progress::Bar,
        Progress::Auto,
        Progress::Quiet,
    ] {
        let mut params = ParamStore::new();
        let mut model = scale_model(&mut params);
        let config = FitConfig {
            progress,
            ..quiet(2, 2)
        };
        let loss = loss_fn(|out: Var<'_, f64>, batch: &Batch<f64>| mse(out, batch));
        fit(
            &mut model,
            &mut params,
            &mut Descent {
                learning_rate: 0.01,
            },
            loss,
            &train,
            &validation,
            &config,
        )
        .unwrap();
    }
}

#[test]
fn every_epoch_records_the_validation_accuracy_or_r_squared() {
    use chainrule_train::{accuracy, Metric};
    // Two classes split by the sign of x: a linear model with two outputs learns them.
    let x: Vec<f64> = (0..40).map(|i| (i as f64 - 19.5) / 10.0).collect();
    let labels: Vec<usize> = x.iter().map(|&v| usize::from(v > 0.0)).collect();
    let data = Dataset::new(
        Tensor::from_vec(x.clone(), &[40, 1]),
        Targets::Classes(labels.clone()),
    );
    let mut params = ParamStore::new();
    let mut model = Linear::new(&mut params, "l", 1, 2, 0);
    let history = fit(
        &mut model,
        &mut params,
        &mut Descent { learning_rate: 0.5 },
        common::cross_entropy,
        &data,
        &data,
        &quiet(5, 8),
    )
    .unwrap();
    assert_eq!(history.metric, Some(Metric::Accuracy));
    assert_eq!(history.validation_metric.len(), 5);
    // The last epoch's figure is the accuracy of the model as it ended (no restoring here).
    let outputs = predict(&mut model, &params, data.features(), 40);
    assert_eq!(
        history.metric_at(4),
        Some((Metric::Accuracy, accuracy(&outputs, &labels)))
    );

    // Values: R², 1 − MSE / variance of the validation targets.
    let train = linear_data(50, &[1.0, -2.0], 0.5, 0.3, 1);
    let validation = linear_data(30, &[1.0, -2.0], 0.5, 0.3, 2);
    let mut params = ParamStore::new();
    let mut model = Linear::new(&mut params, "l", train.num_features(), 1, 0);
    let history = fit(
        &mut model,
        &mut params,
        &mut Descent {
            learning_rate: 0.05,
        },
        mse,
        &train,
        &validation,
        &quiet(3, 10),
    )
    .unwrap();
    assert_eq!(history.metric, Some(Metric::RSquared));
    let values = validation.values().unwrap().as_slice();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    let (_, r_squared) = history.metric_at(2).unwrap();
    let expected = 1.0 - history.validation_loss[2] / variance;
    assert!(
        (r_squared - expected).abs() < 1e-9,
        "{r_squared} vs {expected}"
    );
}
