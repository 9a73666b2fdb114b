//! What `chainrule train` prints: for people, the run's description before training
//! ([`description`]) and, once it is over, the best epoch, the test metrics, the bias/variance
//! diagnosis and the files written ([`text`]; the per-epoch losses go to `--history FILE`, not
//! the screen); or one JSON object with all of it, per-epoch losses included, for tools and
//! tests.

use std::fmt::Write;
use std::path::Path;

use chainrule_train::{Assessment, ConfusionMatrix, Curve, History, Metric, Task};
use serde_json::{json, Value};

use super::model_file::{task_name, Architecture};

/// The test set's metrics, measured once at the end.
pub enum TestResult {
    /// Predicted against actual classes.
    Classification(ConfusionMatrix),
    /// The mean squared error in the target's own units, and of the standardized target.
    Regression {
        /// Test rows.
        rows: usize,
        /// In the target's units.
        mean_squared_error: f64,
        /// On the scale the model was trained on.
        standardized: f64,
        /// The coefficient of determination, 1 − MSE / variance of the test targets: 1 is
        /// perfect, 0 no better than predicting the test set's mean.
        r_squared: f64,
    },
}

/// What the run is, known before training: printed first ([`description`]).
pub struct Setup<'a> {
    /// The data file.
    pub data: &'a Path,
    /// Its rows.
    pub rows: usize,
    /// The model.
    pub architecture: &'a Architecture,
    /// Whether the task was guessed from the target column.
    pub task_inferred: bool,
    /// The number of trained numbers.
    pub parameters: usize,
    /// How the rows were split, in words (`60/20/20`, `from FILE`).
    pub split: &'a str,
    /// Training, validation and test rows.
    pub sizes: [usize; 3],
    /// The optimizer and its settings, in words.
    pub optimizer: &'a str,
    /// The loss's name.
    pub loss: &'a str,
}

/// Everything the report says.
pub struct Report<'a> {
    /// The run's description.
    pub setup: &'a Setup<'a>,
    /// The per-epoch losses.
    pub history: &'a History,
    /// Bias and variance from the history, the curve's shape and the baselines.
    pub diagnosis: Assessment,
    /// The test metrics; `None` when the split left no test rows.
    pub test: Option<TestResult>,
    /// Where the model was saved.
    pub saved: Option<&'a Path>,
    /// Where the learning curves were drawn.
    pub plot: Option<&'a Path>,
    /// Where the per-epoch history was written.
    pub history_file: Option<&'a Path>,
    /// The most epochs the run could have had.
    pub max_epochs: usize,
}

/// The run's description, printed before training starts: the data, the split, the model and
/// the optimizer.
pub fn description(report: &Setup<'_>) -> String {
    let arch = report.architecture;
    let mut out = String::new();
    let task = match arch.task {
        Task::Classification => match &arch.classes {
            Some(names) => format!(
                "classification, {} classes named {}",
                arch.outputs,
                list_of_names(names)
            ),
            None => format!("classification, {} classes", arch.outputs),
        },
        Task::Regression => "regression".to_string(),
    };
    let inferred = if report.task_inferred {
        " (guessed from the column; --task chooses)"
    } else {
        ""
    };
    let [train, validation, test] = report.sizes;
    let _ = writeln!(
        out,
        "data: {}, {} rows, {} features; target {:?}: {task}{inferred}",
        report.data.display(),
        report.rows,
        arch.features.len(),
        arch.target
    );
    let _ = writeln!(
        out,
        "split {}: {train} training, {validation} validation, {test} test rows; features \
         standardized on the training rows",
        report.split
    );
    let _ = writeln!(
        out,
        "model: {}, {} parameters, loss {}",
        arch.describe(),
        report.parameters,
        report.loss
    );
    let _ = writeln!(out, "optimizer: {}", report.optimizer);
    out
}

/// The report once training is over, as text (after [`description`]).
pub fn text(report: &Report<'_>) -> String {
    let mut out = String::new();
    let history = report.history;
    let ending = if history.stopped_early {
        format!(
            "stopped early after epoch {} of {}: the validation loss had not improved for \
             {} epochs",
            history.epochs(),
            report.max_epochs,
            history.epochs() - 1 - history.best_epoch
        )
    } else {
        format!("ran all {} epochs", history.epochs())
    };
    let kept = if history.restored_best {
        "kept the best epoch's weights"
    } else {
        "kept the last epoch's weights"
    };
    let _ = writeln!(out, "\ntraining {ending}; {kept}");
    let best = history.best_epoch;
    let metric = match history.metric_at(best) {
        Some((Metric::Accuracy, accuracy)) => {
            format!(", validation accuracy {:.2}%", 100.0 * accuracy)
        }
        Some((Metric::RSquared, r_squared)) => format!(", validation R² {r_squared:.4}"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "best epoch {}: training loss {:.6}, validation loss {:.6} ({}){metric}",
        best + 1,
        history.train_loss[best],
        history.validation_loss[best],
        report.setup.loss
    );
    if !history.restored_best && history.best_epoch + 1 < history.epochs() {
        let _ = writeln!(
            out,
            "(the weights are the last epoch's, not the best's: --patience N stops once the \
             validation loss has not improved for N epochs, and keeps the best epoch's weights)"
        );
    }

    match &report.test {
        None => {
            let _ = writeln!(out, "\nno test rows: the split gives the test set none");
        }
        Some(TestResult::Classification(matrix)) => {
            let right: usize = (0..matrix.classes()).map(|c| matrix.count(c, c)).sum();
            let _ = writeln!(
                out,
                "\ntest accuracy: {:.2}% ({right} of {} rows)",
                100.0 * matrix.accuracy(),
                matrix.total()
            );
            let _ = writeln!(
                out,
                "confusion matrix (rows: actual class, columns: predicted)"
            );
            let _ = writeln!(out, "{matrix}");
        }
        Some(TestResult::Regression {
            rows,
            mean_squared_error,
            standardized,
            r_squared,
        }) => {
            let _ = writeln!(
                out,
                "\ntest mean squared error: {mean_squared_error:.4} (root {:.4}) in the target's \
                 units, {standardized:.4} standardized, over {rows} rows; R² {r_squared:.4}",
                mean_squared_error.sqrt()
            );
        }
    }

    let _ = writeln!(
        out,
        "\nbias and variance, from the losses of epoch {}:",
        report.history.final_epoch() + 1
    );
    if let Some(text) = r_squared_text(report) {
        let _ = writeln!(out, "{text}");
    }
    let _ = writeln!(out, "{}", report.diagnosis);

    if let Some(path) = report.saved {
        let _ = write!(out, "\nsaved the model to {}", path.display());
    }
    if let Some(path) = report.plot {
        let _ = write!(out, "\ndrew the learning curves to {}", path.display());
    }
    if let Some(path) = report.history_file {
        let _ = write!(out, "\nwrote the loss of every epoch to {}", path.display());
    }
    if report.saved.is_some() || report.plot.is_some() || report.history_file.is_some() {
        out.push('\n');
    }
    out
}

/// R² on the training, validation and test rows, for a regression.
fn r_squared_text(report: &Report<'_>) -> Option<String> {
    let [train, validation] = report.diagnosis.r_squared()?;
    let test = match report.test {
        Some(TestResult::Regression { r_squared, .. }) => format!(", test {r_squared:.4}"),
        _ => String::new(),
    };
    Some(format!(
        "R²: training {train:.4}, validation {validation:.4}{test}"
    ))
}

/// The per-epoch losses as CSV, for `--history FILE`: `epoch,train_loss,validation_loss`
/// and the validation metric (`validation_accuracy` or `validation_r_squared`), epochs
/// counted from 1.
pub fn history_csv(history: &History) -> String {
    let mut out = String::from("epoch,train_loss,validation_loss");
    if let Some(metric) = history.metric {
        out.push(',');
        out.push_str(metric.column());
    }
    out.push('\n');
    for (epoch, (train, validation)) in history
        .train_loss
        .iter()
        .zip(&history.validation_loss)
        .enumerate()
    {
        let _ = write!(out, "{},{train},{validation}", epoch + 1);
        if let Some((_, value)) = history.metric_at(epoch) {
            let _ = write!(out, ",{value}");
        }
        out.push('\n');
    }
    out
}

/// Up to ten names, then how many more.
fn list_of_names(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text += &format!(" and {} more", names.len() - SHOWN);
    }
    text
}

/// The report as one JSON object.
pub fn json(report: &Report<'_>) -> String {
    let arch = report.setup.architecture;
    let history = report.history;
    let test = match &report.test {
        None => Value::Null,
        Some(TestResult::Classification(matrix)) => {
            let classes = matrix.classes();
            let rows: Vec<Vec<usize>> = (0..classes)
                .map(|a| (0..classes).map(|p| matrix.count(a, p)).collect())
                .collect();
            json!({
                "rows": matrix.total(),
                "accuracy": matrix.accuracy(),
                "confusion_matrix": rows,
            })
        }
        Some(TestResult::Regression {
            rows,
            mean_squared_error,
            standardized,
            r_squared,
        }) => json!({
            "r_squared": r_squared,
            "rows": rows,
            "mean_squared_error": mean_squared_error,
            "root_mean_squared_error": mean_squared_error.sqrt(),
            "standardized_mean_squared_error": standardized,
        }),
    };
    let [train, validation, test_rows] = report.setup.sizes;
    let object = json!({
        "data": report.setup.data.display().to_string(),
        "rows": report.setup.rows,
        "task": task_name(arch.task),
        "task_inferred": report.setup.task_inferred,
        "target": arch.target,
        "features": arch.features.len(),
        "outputs": arch.outputs,
        "classes": arch.classes,
        "model": arch.describe(),
        "parameters": report.setup.parameters,
        "split": {
            "how": report.setup.split,
            "train": train,
            "validation": validation,
            "test": test_rows,
        },
        "optimizer": report.setup.optimizer,
        "loss": report.setup.loss,
        "train_loss": history.train_loss,
        "validation_loss": history.validation_loss,
        "validation_metric": history.metric.map(|metric| json!({
            "name": metric.column().trim_start_matches("validation_"),
            "values": history.validation_metric,
        })),
        "best_epoch": history.best_epoch + 1,
        "stopped_early": history.stopped_early,
        "test": test,
        "diagnosis": diagnosis_json(report),
        "saved": report.saved.map(|p| p.display().to_string()),
        "plot": report.plot.map(|p| p.display().to_string()),
        "history": report.history_file.map(|p| p.display().to_string()),
    });
    let mut text = serde_json::to_string_pretty(&object).expect("numbers and names serialize");
    text.push('\n');
    text
}

/// The diagnosis as JSON: the same fields as the text, with the numbers unrounded.
fn diagnosis_json(report: &Report<'_>) -> Value {
    let d = &report.diagnosis;
    let facts = &d.facts;
    let (shape, since) = match d.curve {
        Curve::TooShort => ("too short", None),
        Curve::StillFalling => ("still falling", None),
        Curve::RisingSince { best_epoch } => ("rising", Some(best_epoch + 1)),
        Curve::Levelled => ("levelled", None),
    };
    let r_squared = d.r_squared().map(|[train, validation]| {
        let test = match report.test {
            Some(TestResult::Regression { r_squared, .. }) => Some(r_squared),
            _ => None,
        };
        json!({ "train": train, "validation": validation, "test": test })
    });
    json!({
        "verdict": d.finding.to_string(),
        "reason": d.reason,
        "epoch": d.epoch + 1,
        "train_loss": d.train_loss,
        "validation_loss": d.validation_loss,
        "baseline": {
            "kind": if facts.reachable.is_some() { "reachable" } else { "simplest model" },
            "described": d.baseline_used(),
            "reachable": facts.reachable,
            "simplest_train_loss": facts.simplest.train_loss,
            "simplest_validation_loss": facts.simplest.validation_loss,
            "majority_class_validation_error": facts.simplest.majority_error,
        },
        "least_squares": facts.least_squares.map(|line| json!({
            "train_loss": line.train_loss,
            "validation_loss": line.validation_loss,
        })),
        "curve": { "shape": shape, "overfitting_since_epoch": since },
        "r_squared": r_squared,
        "rows": { "train": facts.training_rows, "validation": facts.validation_rows },
        "parameters": facts.parameters,
        "advice": d.finding.advice(),
    })
}
