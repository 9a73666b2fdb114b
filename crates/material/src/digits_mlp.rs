//! A multilayer perceptron on handwritten digits (the material's sections on neural networks for
//! multiclass classification, the Adam optimizer, and choosing hyperparameters on a
//! cross-validation set; its bias/variance diagnosis).
//!
//! Each digit is an 8×8 image, 64 pixel intensities from 0 to 16. The network is
//!
//! ```text
//! x (64) → Dense 128, ReLU → Dense 128, ReLU → Dense 10 (logits z) → softmax
//! ```
//!
//! trained on the categorical cross-entropy computed from the logits, with Adam on mini-batches
//! of 32. The data come with a fixed 60/20/20 split (1077 / 360 / 360 images), standardised with
//! the training rows' statistics. Adam's learning rate is the hyperparameter: a few values are
//! tried, each run stops early when the cross-validation loss stops improving and keeps its best
//! epoch, and the rate with the best cross-validation accuracy is chosen. Only then is the test
//! set used, once. Every gradient, through both ReLU layers, is the engine's backward pass.

use std::io::Write;

use chainrule_autodiff::ParamStore;
use chainrule_layers::{losses, Activation, Dense, Sequential};
use chainrule_optim::{Adam, AdamConfig};
use chainrule_train::{
    accuracy_of_classes, diagnose, fit, load_assignment, load_csv, predict, predicted_classes,
    split_by_assignment, Dataset, EarlyStopping, FitConfig, History, Progress, Standardizer, Task,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::{MaterialError, Outcome};

/// Adam's learning rates tried, chosen among on the cross-validation set.
pub const LEARNING_RATES: [f64; 3] = [3e-4, 1e-3, 3e-3];
/// Units in each of the two hidden layers.
pub const HIDDEN: usize = 128;
/// Rows per mini-batch.
pub const BATCH_SIZE: usize = 32;
/// The most epochs a run may take.
pub const MAX_EPOCHS: usize = 100;
/// Early stopping: epochs without a better cross-validation loss before a run stops.
pub const PATIENCE: usize = 10;
/// The check: at least this fraction of the test digits classified right.
pub const MIN_TEST_ACCURACY: f64 = 0.97;
/// The seed of every run's initial weights (the same for each learning rate) and shuffling.
const SEED: u64 = 0;

/// 64 → 128 → 128 → 10, ReLU in the hidden layers, logits out.
fn mlp(params: &mut ParamStore<f32>, inputs: usize, classes: usize) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(SEED);
    Sequential::new()
        .with(Dense::new(
            params,
            "hidden1",
            inputs,
            HIDDEN,
            Activation::Relu,
            &mut rng,
        ))
        .with(Dense::new(
            params,
            "hidden2",
            HIDDEN,
            HIDDEN,
            Activation::Relu,
            &mut rng,
        ))
        .with(Dense::new(
            params,
            "output",
            HIDDEN,
            classes,
            Activation::Linear,
            &mut rng,
        ))
}

/// One training run: the model at its best epoch, and how it got there.
struct Run {
    learning_rate: f64,
    model: Sequential<f32>,
    params: ParamStore<f32>,
    history: History,
    validation_accuracy: f64,
}

impl Run {
    /// The predicted digit of each row: the largest logit.
    fn classify(&mut self, data: &Dataset<f32>) -> Vec<usize> {
        let logits = predict(&mut self.model, &self.params, data.features(), 256);
        predicted_classes(&logits)
    }
}

/// Trains a fresh network with Adam at `learning_rate`, with early stopping on `validation`.
fn train(
    learning_rate: f64,
    train: &Dataset<f32>,
    validation: &Dataset<f32>,
    classes: usize,
) -> Result<Run, MaterialError> {
    let mut params = ParamStore::new();
    let mut model = mlp(&mut params, train.num_features(), classes);
    let mut adam = Adam::new(AdamConfig {
        learning_rate: learning_rate as f32,
        ..AdamConfig::default()
    });
    let config = FitConfig {
        epochs: MAX_EPOCHS,
        batch_size: BATCH_SIZE,
        seed: SEED,
        early_stopping: Some(EarlyStopping {
            patience: PATIENCE,
            ..EarlyStopping::default()
        }),
        // J_train measured after each epoch, like J_cv, for the bias/variance diagnosis.
        evaluate_train_loss: true,
        progress: Progress::Quiet,
        ..FitConfig::default()
    };
    let history = fit(
        &mut model,
        &mut params,
        &mut adam,
        |logits, batch| losses::softmax_cross_entropy(logits, batch.classes()),
        train,
        validation,
        &config,
    )?;
    let mut run = Run {
        learning_rate,
        model,
        params,
        history,
        validation_accuracy: 0.0,
    };
    let predicted = run.classify(validation);
    run.validation_accuracy =
        accuracy_of_classes(&predicted, validation.classes().expect("labels"));
    Ok(run)
}

/// Runs the example, narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    let data = load_csv::<f32>(
        crate::data_path("digits.csv"),
        "target",
        Task::Classification,
    )?;
    let assignment = load_assignment(crate::data_path("digits_split.csv"))?;
    let parts = split_by_assignment(&data, &assignment)?;
    let scaler = Standardizer::fit_dataset(&parts.train);
    let train_set = scaler.transform_dataset(&parts.train);
    let validation = scaler.transform_dataset(&parts.validation);
    let test = scaler.transform_dataset(&parts.test);
    let classes = data.num_classes().expect("class labels");

    writeln!(
        out,
        "Digits: a multilayer perceptron {} → {HIDDEN} → {HIDDEN} → {classes}, ReLU in the hidden \
         layers,",
        data.num_features()
    )?;
    writeln!(
        out,
        "softmax cross-entropy from the logits, on {} images of 8×8 pixels.",
        data.len()
    )?;
    writeln!(
        out,
        "Fixed split: {} training, {} cross-validation, {} test images, standardised with the",
        train_set.len(),
        validation.len(),
        test.len()
    )?;
    writeln!(
        out,
        "training rows' statistics. Adam on mini-batches of {BATCH_SIZE}, up to {MAX_EPOCHS} \
         epochs, stopping"
    )?;
    writeln!(
        out,
        "after {PATIENCE} epochs without a better J_cv and keeping the best epoch's weights."
    )?;
    writeln!(out)?;

    writeln!(
        out,
        "Choosing Adam's learning rate on the cross-validation set:"
    )?;
    writeln!(
        out,
        "  {:>13}  {:>6}  {:>10}  {:>8}  {:>8}  {:>11}",
        "learning rate", "epochs", "best epoch", "J_train", "J_cv", "cv accuracy"
    )?;
    let mut runs = Vec::with_capacity(LEARNING_RATES.len());
    for learning_rate in LEARNING_RATES {
        let run = train(learning_rate, &train_set, &validation, classes)?;
        let (train_loss, validation_loss) = run.history.final_losses();
        writeln!(
            out,
            "  {learning_rate:>13}  {:>6}  {:>10}  {train_loss:>8.4}  {validation_loss:>8.4}  \
             {:>10.1}%",
            run.history.epochs(),
            run.history.best_epoch + 1,
            100.0 * run.validation_accuracy
        )?;
        runs.push(run);
    }
    // The best cross-validation accuracy; on a tie, the lower cross-validation loss.
    let best = (0..runs.len())
        .max_by(|&a, &b| {
            let key = |r: &Run| (r.validation_accuracy, -r.history.final_losses().1);
            key(&runs[a]).partial_cmp(&key(&runs[b])).expect("finite")
        })
        .expect("at least one learning rate");
    let chosen = &mut runs[best];
    let learning_rate = chosen.learning_rate;
    let validation_accuracy = chosen.validation_accuracy;
    writeln!(
        out,
        "Learning rate {learning_rate} has the best cross-validation accuracy ({:.1}%).",
        100.0 * validation_accuracy
    )?;
    writeln!(out)?;

    let history = chosen.history.clone();
    writeln!(
        out,
        "Its losses per epoch (J_train / J_cv; * marks the epoch kept):"
    )?;
    let cells: Vec<String> = history
        .train_loss
        .iter()
        .zip(&history.validation_loss)
        .enumerate()
        .map(|(epoch, (train, validation))| {
            let mark = if epoch == history.best_epoch {
                "*"
            } else {
                " "
            };
            format!("{:>3}{mark} {train:.4} / {validation:.4}", epoch + 1)
        })
        .collect();
    for line in cells.chunks(4) {
        writeln!(out, "  {}", line.join("   "))?;
    }
    writeln!(out)?;
    let diagnosis = diagnose(&history, None);
    writeln!(out, "Bias and variance at the kept epoch (baseline J = 0):")?;
    for line in diagnosis.to_string().lines() {
        writeln!(out, "  {line}")?;
    }
    writeln!(out)?;

    // The test set, once, with the chosen network.
    let test_predictions = chosen.classify(&test);
    let test_labels = test.classes().expect("labels");
    let test_accuracy = accuracy_of_classes(&test_predictions, test_labels);
    let right = test_predictions
        .iter()
        .zip(test_labels)
        .filter(|(p, l)| p == l)
        .count();
    writeln!(
        out,
        "On the {} test digits: {right} right, test accuracy {:.1}%.",
        test.len(),
        100.0 * test_accuracy
    )?;
    let mut mistakes: Vec<String> = test_predictions
        .iter()
        .zip(test_labels)
        .filter(|(p, l)| p != l)
        .map(|(p, l)| format!("{l}→{p}"))
        .collect();
    mistakes.sort();
    writeln!(out, "Mistakes (actual→predicted): {}", mistakes.join(", "))?;

    let (train_loss, validation_loss) = history.final_losses();
    let passed = test_accuracy >= MIN_TEST_ACCURACY;
    Ok(Outcome {
        name: "digits_mlp",
        learned: format!(
            "64→{HIDDEN}→{HIDDEN}→10 ReLU MLP, Adam at {learning_rate} (chosen on \
             cross-validation, \
             {:.1}%); test accuracy {:.1}%",
            100.0 * validation_accuracy,
            100.0 * test_accuracy
        ),
        check: format!(
            "at least {:.0}% of the {} held-out test digits classified right",
            100.0 * MIN_TEST_ACCURACY,
            test.len()
        ),
        passed,
        json: serde_json::json!({
            "test_accuracy": test_accuracy,
            "parameters": chosen.params.num_elements(),
            "validation_accuracy": validation_accuracy,
            "chosen_learning_rate": learning_rate,
            "learning_rates": LEARNING_RATES,
            "validation_accuracies": runs.iter().map(|r| r.validation_accuracy).collect::<Vec<_>>(),
            "epochs": history.epochs(),
            "best_epoch": history.best_epoch + 1,
            "train_loss": train_loss,
            "validation_loss": validation_loss,
            "train_loss_per_epoch": history.train_loss,
            "validation_loss_per_epoch": history.validation_loss,
            "diagnosis": diagnosis.verdict.to_string(),
            "test_predictions": test_predictions,
        }),
    })
}
