//! Regularised logistic regression on real data (the material's sections on logistic regression,
//! the regularised cost and choosing λ on a cross-validation set), on the Wisconsin breast-cancer
//! data: 569 tumours, 30 measurements of their cell nuclei, and whether each was malignant (0) or
//! benign (1).
//!
//! The model is the material's `f(x) = σ(w·x + b)` with one weight per feature, and the cost it
//! minimises is the regularised log loss
//!
//! ```text
//! J(w, b) = −(1/m)·Σ [y·ln f(x) + (1 − y)·ln(1 − f(x))]  +  (λ/(2m))·Σⱼ wⱼ²
//! ```
//!
//! (the bias `b` is not penalised). The features are standardised with the means and standard
//! deviations of the training rows only. For each λ in a short list, plain gradient descent on
//! the whole training set minimises `J`; the λ whose model has the lowest cross-validation log
//! loss is kept, and only then is the test set looked at, once. The model is a [`Dense`] layer
//! with one output and no activation (the logit `z = w·x + b`); the loss takes the logit and
//! applies the sigmoid inside, and every gradient comes from the engine's one backward pass.

use std::io::Write;

use chainrule_autodiff::{ParamStore, Tensor, Var};
use chainrule_layers::{losses, Activation, Dense, Init};
use chainrule_optim::{GradientDescent, GradientDescentConfig};
use chainrule_train::{
    accuracy_of_classes, fit_with_penalty, load_assignment, load_csv, predict, predicted_classes,
    split_by_assignment, Batch, ConfusionMatrix, Dataset, FitConfig, History, Progress,
    Standardizer, Task,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::{MaterialError, Outcome};

/// The regularisation parameters tried, chosen among on the cross-validation set.
pub const LAMBDAS: [f64; 6] = [0.0, 0.1, 1.0, 3.0, 10.0, 30.0];
/// Gradient descent's learning rate α (the features are standardised, so one rate suits all).
pub const LEARNING_RATE: f64 = 0.5;
/// Full-batch gradient-descent steps per λ.
pub const STEPS: usize = 1500;
/// The check: the chosen model classifies at least this fraction of the test tumours right.
pub const MIN_TEST_ACCURACY: f64 = 0.95;
/// How many of the largest weights to show.
const TOP_FEATURES: usize = 5;
/// The names of the two classes, by label.
const CLASS_NAMES: [&str; 2] = ["malignant", "benign"];

/// The labels `y ∈ {0, 1}` of a batch as a column `[m, 1]`, the shape of the logits.
fn label_column(batch: &Batch<f64>) -> Tensor<f64> {
    let labels = batch.classes().iter().map(|&c| c as f64).collect();
    Tensor::from_vec(labels, &[batch.len(), 1])
}

/// The log loss of the logits `z = w·x + b` against the batch's labels.
fn log_loss<'g>(logits: Var<'g, f64>, batch: &Batch<f64>) -> Var<'g, f64> {
    let labels = logits.graph().input(label_column(batch));
    losses::binary_log_loss(logits, labels)
}

/// One trained model: its parameters, its losses per step and its cross-validation accuracy.
struct Trained {
    lambda: f64,
    model: Dense,
    params: ParamStore<f64>,
    history: History,
    validation_accuracy: f64,
}

impl Trained {
    /// The weights `w`, one per feature.
    fn weights(&self) -> Vec<f64> {
        self.params.value(self.model.weight()).to_vec()
    }

    /// The bias `b`.
    fn bias(&self) -> f64 {
        self.params.value(self.model.bias()).item()
    }

    /// `J_train` and `J_cv` after the last step: the log loss without the penalty, as the
    /// material compares them.
    fn final_losses(&self) -> (f64, f64) {
        let last = |losses: &[f64]| *losses.last().expect("at least one epoch");
        (
            last(&self.history.train_loss),
            last(&self.history.validation_loss),
        )
    }

    /// The predicted class of each row: benign (1) when `w·x + b > 0`, that is `f(x) > 0.5`.
    fn classify(&mut self, data: &Dataset<f64>) -> Vec<usize> {
        let logits = predict(&mut self.model, &self.params, data.features(), data.len());
        predicted_classes(&logits)
    }
}

/// Minimises `J(w, b)` with penalty `λ` by full-batch gradient descent from `w = 0, b = 0`.
fn train(
    lambda: f64,
    train: &Dataset<f64>,
    validation: &Dataset<f64>,
) -> Result<Trained, MaterialError> {
    let mut params = ParamStore::new();
    // Zeros need no random numbers; the generator is only there because `Dense` asks for one.
    let mut rng = StdRng::seed_from_u64(0);
    let features = train.num_features();
    let mut model = Dense::with_init(
        &mut params,
        "logistic",
        features,
        1,
        Activation::Linear,
        Init::Zeros,
        &mut rng,
    );
    let mut descent = GradientDescent::new(GradientDescentConfig {
        learning_rate: LEARNING_RATE,
    });
    // One batch of all m training rows: each epoch is one step of the material's gradient
    // descent on J, and the penalty's m is the whole training set's.
    let config = FitConfig {
        epochs: STEPS,
        batch_size: train.len(),
        shuffle: false,
        evaluate_train_loss: true,
        progress: Progress::Quiet,
        ..FitConfig::default()
    };
    let history = fit_with_penalty(
        &mut model,
        &mut params,
        &mut descent,
        log_loss,
        |g, params, batch| losses::l2_penalty(g, params, lambda, batch.len()),
        train,
        validation,
        &config,
    )?;
    let mut trained = Trained {
        lambda,
        model,
        params,
        history,
        validation_accuracy: 0.0,
    };
    let predicted = trained.classify(validation);
    trained.validation_accuracy =
        accuracy_of_classes(&predicted, validation.classes().expect("labels"));
    Ok(trained)
}

/// Runs the example, narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    let data = load_csv::<f64>(
        crate::data_path("breast_cancer.csv"),
        "target",
        Task::Classification,
    )?;
    let assignment = load_assignment(crate::data_path("breast_cancer_split.csv"))?;
    let parts = split_by_assignment(&data, &assignment)?;
    let scaler = Standardizer::fit_dataset(&parts.train);
    let train_set = scaler.transform_dataset(&parts.train);
    let validation = scaler.transform_dataset(&parts.validation);
    let test = scaler.transform_dataset(&parts.test);
    let names = data.feature_names();
    let m = train_set.len();

    writeln!(
        out,
        "Breast cancer: logistic regression f(x) = σ(w·x + b) on {} measurements of each tumour,",
        data.num_features()
    )?;
    writeln!(out, "y = 1 for benign and 0 for malignant.")?;
    writeln!(
        out,
        "Fixed split: {m} training, {} cross-validation, {} test tumours; every feature is",
        validation.len(),
        test.len()
    )?;
    writeln!(
        out,
        "standardised with the mean and standard deviation of the training rows only."
    )?;
    writeln!(
        out,
        "Cost: J = log loss + λ/(2m)·Σw² (b not penalised), minimised by gradient descent"
    )?;
    writeln!(
        out,
        "(α = {LEARNING_RATE}, {STEPS} steps on all {m} training rows, from w = 0, b = 0)."
    )?;
    writeln!(out)?;

    writeln!(out, "Choosing λ on the cross-validation set:")?;
    writeln!(
        out,
        "  {:>6}  {:>8}  {:>8}  {:>12}  {:>7}",
        "λ", "J_train", "J_cv", "cv accuracy", "‖w‖"
    )?;
    let mut runs = Vec::with_capacity(LAMBDAS.len());
    for lambda in LAMBDAS {
        let trained = train(lambda, &train_set, &validation)?;
        let (train_loss, validation_loss) = trained.final_losses();
        let norm = trained.weights().iter().map(|w| w * w).sum::<f64>().sqrt();
        writeln!(
            out,
            "  {lambda:>6}  {train_loss:>8.4}  {validation_loss:>8.4}  {:>11.1}%  {norm:>7.2}",
            100.0 * trained.validation_accuracy
        )?;
        runs.push(trained);
    }
    // The lowest cross-validation cost; on a tie, the larger λ (the simpler model).
    let validation_losses: Vec<f64> = runs.iter().map(|r| r.final_losses().1).collect();
    let best = (0..runs.len())
        .rev()
        .min_by(|&a, &b| validation_losses[a].total_cmp(&validation_losses[b]))
        .expect("at least one λ");
    let chosen = &mut runs[best];
    let lambda = chosen.lambda;
    let (train_loss, validation_loss) = chosen.final_losses();
    writeln!(
        out,
        "λ = {lambda} has the lowest J_cv: smaller λ lets the weights grow to fit the training"
    )?;
    writeln!(
        out,
        "tumours more closely than the new ones; larger λ shrinks them until both costs rise."
    )?;
    writeln!(
        out,
        "(The cost, not the accuracy, decides: on {} tumours the accuracy moves in steps of \
         {:.1}%.)",
        validation.len(),
        100.0 / validation.len() as f64
    )?;
    writeln!(out)?;

    writeln!(out, "The cost falling for λ = {lambda}:")?;
    let history = &chosen.history;
    for step in [0, 10, 50, 200, STEPS - 1] {
        writeln!(
            out,
            "  step {:>5}  J_train {:.4}  J_cv {:.4}",
            step + 1,
            history.train_loss[step],
            history.validation_loss[step]
        )?;
    }
    writeln!(out)?;

    // The test set, once, with the chosen model.
    let test_labels = test.classes().expect("labels");
    let test_predictions = chosen.classify(&test);
    let confusion = ConfusionMatrix::new(&test_predictions, test_labels, 2);
    let test_accuracy = confusion.accuracy();
    writeln!(
        out,
        "On the {} test tumours (predict benign when f(x) > 0.5, that is when w·x + b > 0):",
        test.len()
    )?;
    writeln!(
        out,
        "  {:>18}  {:>9}  {:>9}",
        "actual \\ predicted", CLASS_NAMES[0], CLASS_NAMES[1]
    )?;
    for (actual, name) in CLASS_NAMES.iter().enumerate() {
        writeln!(
            out,
            "  {name:>18}  {:>9}  {:>9}",
            confusion.count(actual, 0),
            confusion.count(actual, 1)
        )?;
    }
    writeln!(
        out,
        "  accuracy {:.1}%; {} malignant tumours taken for benign, {} benign for malignant",
        100.0 * test_accuracy,
        confusion.count(0, 1),
        confusion.count(1, 0)
    )?;
    writeln!(out)?;

    let weights = chosen.weights();
    let bias = chosen.bias();
    // On standardised features a weight is the change in the logit per standard deviation of
    // its feature, so the weights compare directly.
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].abs().total_cmp(&weights[a].abs()));
    let top: Vec<usize> = order.into_iter().take(TOP_FEATURES).collect();
    writeln!(
        out,
        "The most influential features (the logit's change per standard deviation):"
    )?;
    for &j in &top {
        let w = weights[j];
        let towards = if w < 0.0 {
            CLASS_NAMES[0]
        } else {
            CLASS_NAMES[1]
        };
        writeln!(
            out,
            "  {:<24} w = {w:>+7.3}  (larger → more {towards})",
            names[j]
        )?;
    }

    let passed = test_accuracy >= MIN_TEST_ACCURACY;
    let top_features: Vec<serde_json::Value> = top
        .iter()
        .map(|&j| serde_json::json!({ "name": names[j], "weight": weights[j] }))
        .collect();
    let coefficients: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .zip(&weights)
        .map(|(name, &w)| (name.clone(), w.into()))
        .collect();
    let confusion_rows: Vec<Vec<usize>> = (0..2)
        .map(|actual| (0..2).map(|p| confusion.count(actual, p)).collect())
        .collect();
    Ok(Outcome {
        name: "breast_cancer",
        learned: format!(
            "λ = {lambda} chosen on cross-validation; test accuracy {:.1}%; strongest feature {} \
             (w = {:+.2})",
            100.0 * test_accuracy,
            names[top[0]],
            weights[top[0]]
        ),
        check: format!(
            "at least {:.0}% of the {} held-out test tumours classified right",
            100.0 * MIN_TEST_ACCURACY,
            test.len()
        ),
        passed,
        json: serde_json::json!({
            "test_accuracy": test_accuracy,
            "train_loss": train_loss,
            "validation_loss": validation_loss,
            "lambda": lambda,
            "top_features": top_features,
            "coefficients": coefficients,
            "bias": bias,
            "confusion_matrix": confusion_rows,
            "lambdas": LAMBDAS,
            "validation_losses": validation_losses,
        }),
    })
}
