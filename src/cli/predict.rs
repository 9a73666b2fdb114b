//! `chainrule predict`: a saved model run on the rows of a CSV file, the predictions printed as
//! CSV.
//!
//! The data's columns are matched to the model's features by name, in any order; the target
//! column may be there (it is ignored) or not. A feature missing from the file, or a column
//! that is neither a feature nor the target, is an error that lists them all.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;

use chainrule::Tensor;
use chainrule_train::{predict, predicted_classes, DataError, Task};
use csv::StringRecord;

use super::error::CliError;
use super::model_file::{self, Architecture, Real};
use super::train_args::PredictArgs;

/// Rows per batch through the model.
const BATCH: usize = 256;

/// Runs `chainrule predict` and prints one CSV row per input row.
pub fn run(args: &PredictArgs) -> Result<(), CliError> {
    let (architecture, mut model, params) = model_file::load(&args.model)?;
    let features = read_features(&args.data, &args.model, &architecture)?;
    let inputs = architecture.feature_scaling.apply(&features);
    let outputs = predict(&mut model, &params, &inputs, BATCH);
    let text = match (architecture.task, &architecture.target_scaling) {
        (Task::Regression, Some(target)) => values_csv(&target.invert(&outputs)),
        _ => classes_csv(&outputs),
    };
    super::output::print(&text)
}

/// The model's feature columns of every row, `[rows, features]` in the model's order.
fn read_features(
    path: &Path,
    model_path: &Path,
    architecture: &Architecture,
) -> Result<Tensor<Real>, CliError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, &e))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.is_empty() || header == [""] {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        }
        .into());
    }
    let columns = match_columns(path, model_path, &header, architecture)?;

    let mut values = Vec::new();
    let mut rows = 0;
    let mut record = StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(path, &e))?
    {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            return Err(DataError::RaggedRow {
                path: path.to_path_buf(),
                line,
                found: record.len(),
                expected: header.len(),
            }
            .into());
        }
        for &column in &columns {
            let text = &record[column];
            match text.parse::<f64>() {
                Ok(value) if value.is_finite() => values.push(value as Real),
                _ => {
                    return Err(DataError::NotANumber {
                        path: path.to_path_buf(),
                        line,
                        column_number: column + 1,
                        column: header[column].clone(),
                        text: text.to_string(),
                    }
                    .into())
                }
            }
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        }
        .into());
    }
    Ok(Tensor::from_vec(values, &[rows, columns.len()]))
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

/// `predicted,probability_0,…`: the most likely class and the softmax of the logits.
fn classes_csv(logits: &Tensor<Real>) -> String {
    let classes = logits.shape()[1];
    let mut out = String::from("predicted");
    for class in 0..classes {
        out += &format!(",probability_{class}");
    }
    out.push('\n');
    let predicted = predicted_classes(logits);
    for (row, class) in logits.as_slice().chunks_exact(classes).zip(predicted) {
        out += &class.to_string();
        for p in softmax(row) {
            out += &format!(",{p:.6}");
        }
        out.push('\n');
    }
    out
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

/// The csv crate's own error (invalid UTF-8, say), with its line.
fn csv_error(path: &Path, error: &csv::Error) -> DataError {
    DataError::Csv {
        path: path.to_path_buf(),
        line: error.position().map_or(0, |p| p.line()),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_a_distribution_even_for_large_logits() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12 && p[2] == 0.0);
    }

    #[test]
    fn the_csv_has_a_header_and_one_row_per_input() {
        let logits = Tensor::from_vec(vec![0.0, 2.0, 3.0, -1.0], &[2, 2]);
        let text = classes_csv(&logits);
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
