//! `chainrule predict`: a saved model run on the rows of a CSV file, the predictions printed as
//! CSV.
//!
//! The data's columns are matched to the model's features by name, in any order; the target
//! column may be there (it is ignored) or not. A feature missing from the file, or a column
//! that is neither a feature nor the target, is an error that lists them all.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chainrule::Tensor;
use chainrule_train::{predict, predicted_classes, CsvFile, DataError, Task};

use super::error::CliError;
use super::model_file::{self, Architecture, Real};
use super::train_args::PredictArgs;

/// Rows per batch through the model.
const BATCH: usize = 256;

/// Runs `chainrule predict` and prints one CSV row per input row.
pub fn run(args: &PredictArgs) -> Result<(), CliError> {
    let (architecture, mut model, params) = model_file::load(&args.model)?;
    let Rows {
        features, lines, ..
    } = read_rows(&args.data, &args.model, &architecture, None)?;
    let inputs = architecture.feature_scaling.apply(&features);
    let outputs = predict(&mut model, &params, &inputs, BATCH);
    // Finite inputs and weights can still overflow in f32 (a feature far outside the training
    // range, through large weights): no NaN row is printed as if it were a prediction.
    let width = outputs.shape()[1];
    if let Some(at) = outputs.as_slice().iter().position(|v| !v.is_finite()) {
        return Err(CliError::NonFinitePrediction {
            data: args.data.clone(),
            line: lines[at / width],
            value: outputs.as_slice()[at],
        });
    }
    let text = match (architecture.task, &architecture.target_scaling) {
        (Task::Regression, Some(target)) => values_csv(&target.invert(&outputs)),
        _ => classes_csv(&outputs, architecture.classes.as_deref()),
    };
    super::output::print(&text)
}

/// Rows of a CSV file as the model reads them.
pub struct Rows {
    /// The model's feature columns, `[rows, features]` in the model's order (not yet scaled).
    pub features: Tensor<Real>,
    /// The line each row is on.
    pub lines: Vec<u64>,
    /// The target column's cell of each row, when the file has the column.
    pub targets: Option<Vec<String>>,
    /// The target's column number (from 1), when the file has it.
    pub target_column: Option<usize>,
}

/// The first `limit` rows (all with `None`) of the CSV file at `path`, its columns matched to
/// the model's by name: every feature must be there, and no column but the features and the
/// target.
pub fn read_rows(
    path: &Path,
    model_path: &Path,
    architecture: &Architecture,
    limit: Option<usize>,
) -> Result<Rows, CliError> {
    let mut file = CsvFile::open(path)?;
    let columns = match_columns(path, model_path, file.header(), architecture)?;
    let target = file.header().iter().position(|h| *h == architecture.target);
    let mut values = Vec::new();
    let mut lines = Vec::new();
    let mut targets = Vec::new();
    // Only the rows asked for are read: a later malformed row is no concern of `--rows 8`.
    while limit.is_none_or(|limit| lines.len() < limit) {
        let Some(row) = file.next_row()? else {
            break;
        };
        for &column in &columns {
            values.push(row.number::<Real>(column)?);
        }
        if let Some(target) = target {
            targets.push(row.text(target).to_string());
        }
        lines.push(row.line());
    }
    if lines.is_empty() {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        }
        .into());
    }
    let rows = lines.len();
    Ok(Rows {
        features: Tensor::from_vec(values, &[rows, columns.len()]),
        lines,
        targets: target.map(|_| targets),
        target_column: target.map(|t| t + 1),
    })
}

/// For each of the model's features, its column in the file.
fn match_columns(
    path: &Path,
    model_path: &Path,
    header: &[String],
    architecture: &Architecture,
) -> Result<Vec<usize>, CliError> {
    if let Some((name, count)) = super::train::first_repeated(header) {
        return Err(DataError::DuplicateColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            count,
        }
        .into());
    }
    // By name through a map, not a search per feature: linear in the width of the file.
    let position: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let features = &architecture.features;
    let is_feature: HashSet<&str> = features.iter().map(String::as_str).collect();
    let missing: Vec<String> = features
        .iter()
        .filter(|f| !position.contains_key(f.as_str()))
        .cloned()
        .collect();
    let extra: Vec<String> = header
        .iter()
        .filter(|h| !is_feature.contains(h.as_str()) && **h != architecture.target)
        .cloned()
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(CliError::FeatureMismatch {
            data: path.to_path_buf(),
            model: model_path.to_path_buf(),
            missing,
            extra,
        });
    }
    Ok(features.iter().map(|f| position[f.as_str()]).collect())
}

/// `predicted,probability_0,…`: the most likely class and the softmax of the logits; with
/// class names, the name and `probability_setosa,…` (quoted as CSV needs).
fn classes_csv(logits: &Tensor<Real>, names: Option<&[String]>) -> String {
    let classes = logits.shape()[1];
    let name = |class: usize| match names {
        Some(names) => csv_field(&names[class]),
        None => class.to_string(),
    };
    let mut out = String::from("predicted");
    for class in 0..classes {
        out += &match names {
            Some(names) => format!(",{}", csv_field(&format!("probability_{}", names[class]))),
            None => format!(",probability_{class}"),
        };
    }
    out.push('\n');
    let predicted = predicted_classes(logits);
    for (row, class) in logits.as_slice().chunks_exact(classes).zip(predicted) {
        out += &name(class);
        for p in softmax(row) {
            out += &format!(",{p:.6}");
        }
        out.push('\n');
    }
    out
}

/// A CSV field: as it is, or in double quotes (doubling any inside) when it holds a comma, a
/// quote or a line break, or has spaces at either end that a reader would trim.
fn csv_field(text: &str) -> String {
    let needs_quotes = text.contains([',', '"', '\n', '\r']) || text.trim() != text;
    if needs_quotes {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `predicted`: one value per row, in the target's units.
fn values_csv(values: &Tensor<Real>) -> String {
    let mut out = String::from("predicted\n");
    for value in values.as_slice() {
        out += &format!("{value}\n");
    }
    out
}

/// `e^zᵢ / Σⱼ e^zⱼ`, shifted by the largest logit so that no exponential overflows.
fn softmax(logits: &[Real]) -> Vec<f64> {
    let top = logits
        .iter()
        .fold(f64::NEG_INFINITY, |a, &z| a.max(f64::from(z)));
    let exps: Vec<f64> = logits.iter().map(|&z| (f64::from(z) - top).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_name_the_prediction_and_the_columns() {
        let logits = Tensor::from_vec(vec![0.0, 2.0, 3.0, -1.0], &[2, 2]);
        let names = ["setosa".to_string(), "a, \"b\"".to_string()];
        let text = classes_csv(&logits, Some(&names));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"predicted,probability_setosa,"probability_a, ""b""""#
        );
        assert!(lines[1].starts_with(r#""a, ""b""",0.119203"#), "{text}");
        assert!(lines[2].starts_with("setosa,"), "{text}");
    }

    #[test]
    fn softmax_is_a_distribution_even_for_large_logits() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12 && p[2] == 0.0);
    }

    #[test]
    fn the_csv_has_a_header_and_one_row_per_input() {
        let logits = Tensor::from_vec(vec![0.0, 2.0, 3.0, -1.0], &[2, 2]);
        let text = classes_csv(&logits, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "predicted,probability_0,probability_1");
        assert!(lines[1].starts_with("1,0.119203,0.880797"), "{text}");
        assert!(lines[2].starts_with("0,"), "{text}");
        assert_eq!(
            values_csv(&Tensor::from_vec(vec![1.5], &[1, 1])),
            "predicted\n1.5\n"
        );
    }
}
