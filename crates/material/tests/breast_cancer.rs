//! The breast-cancer example, checked from outside: the reported test accuracy clears 95%, and
//! it is recomputed here from the reported coefficients on the raw CSV, standardised in plain
//! f64 code; and the reported weights minimise the regularised cost, compared with Newton's
//! method solved here.

use std::collections::HashMap;

use chainrule_material::{breast_cancer, data_path};

/// The raw data: features by row, labels, column names, and the split of each row.
struct Raw {
    names: Vec<String>,
    rows: Vec<Vec<f64>>,
    labels: Vec<f64>,
    split: Vec<String>,
}

fn read_raw() -> Raw {
    let text = std::fs::read_to_string(data_path("breast_cancer.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    assert_eq!(header.last().map(String::as_str), Some("target"));
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let mut values: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        labels.push(values.pop().unwrap());
        rows.push(values);
    }
    let split_text = std::fs::read_to_string(data_path("breast_cancer_split.csv")).unwrap();
    let mut split = vec![String::new(); rows.len()];
    for line in split_text.lines().skip(1).filter(|l| !l.is_empty()) {
        let (row, part) = line.split_once(',').unwrap();
        split[row.parse::<usize>().unwrap()] = part.to_string();
    }
    Raw {
        names: header[..header.len() - 1].to_vec(),
        rows,
        labels,
        split,
    }
}

/// The rows of one part, standardised with the training rows' mean and population std, each
/// with a leading 1 for the bias; and their labels.
fn standardised(raw: &Raw, part: &str) -> (Vec<Vec<f64>>, Vec<f64>) {
    let d = raw.names.len();
    let train: Vec<&Vec<f64>> = (0..raw.rows.len())
        .filter(|&i| raw.split[i] == "train")
        .map(|i| &raw.rows[i])
        .collect();
    let n = train.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| train.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let std: Vec<f64> = (0..d)
        .map(|j| (train.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n).sqrt())
        .collect();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in (0..raw.rows.len()).filter(|&i| raw.split[i] == part) {
        let mut row = vec![1.0];
        row.extend((0..d).map(|j| (raw.rows[i][j] - mean[j]) / std[j]));
        x.push(row);
        y.push(raw.labels[i]);
    }
    (x, y)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The regularised cost `(1/m)·Σ log loss + λ/(2m)·Σ w²` of `theta = [b, w…]`.
fn cost(x: &[Vec<f64>], y: &[f64], theta: &[f64], lambda: f64) -> f64 {
    let m = x.len() as f64;
    let data: f64 = x
        .iter()
        .zip(y)
        .map(|(row, &y)| {
            let z = dot(row, theta);
            // ln(1 + e^z) − y·z, written to stay finite.
            z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z
        })
        .sum::<f64>()
        / m;
    data + lambda / (2.0 * m) * theta[1..].iter().map(|w| w * w).sum::<f64>()
}

/// Solves `a·x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col].clone();
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x
}

/// The minimiser of the regularised cost, by Newton's method from zero.
fn newton(x: &[Vec<f64>], y: &[f64], lambda: f64) -> Vec<f64> {
    let (m, p) = (x.len() as f64, x[0].len());
    let mut theta = vec![0.0; p];
    for _ in 0..50 {
        let mut gradient = vec![0.0; p];
        let mut hessian = vec![vec![0.0; p]; p];
        for (row, &y) in x.iter().zip(y) {
            let f = sigmoid(dot(row, &theta));
            for i in 0..p {
                gradient[i] += (f - y) * row[i] / m;
                for j in 0..p {
                    hessian[i][j] += f * (1.0 - f) * row[i] * row[j] / m;
                }
            }
        }
        for i in 1..p {
            gradient[i] += lambda / m * theta[i];
            hessian[i][i] += lambda / m;
        }
        let step = solve(hessian, gradient.clone());
        theta.iter_mut().zip(&step).for_each(|(t, s)| *t -= s);
        if gradient.iter().map(|g| g * g).sum::<f64>().sqrt() < 1e-12 {
            break;
        }
    }
    theta
}

#[test]
fn breast_cancer_classifies_95_percent_of_test_tumours_with_the_regularised_optimum() {
    let outcome = breast_cancer::run(&mut std::io::sink()).unwrap();
    assert!(outcome.passed, "{}", outcome.check);
    let json = &outcome.json;
    for key in [
        "test_accuracy",
        "train_loss",
        "validation_loss",
        "lambda",
        "top_features",
    ] {
        assert!(json.get(key).is_some(), "missing key {key}");
    }
    let test_accuracy = json["test_accuracy"].as_f64().unwrap();
    assert!(test_accuracy >= 0.95, "test accuracy {test_accuracy}");
    let lambda = json["lambda"].as_f64().unwrap();
    assert!(breast_cancer::LAMBDAS.contains(&lambda));
    let train_loss = json["train_loss"].as_f64().unwrap();
    let validation_loss = json["validation_loss"].as_f64().unwrap();
    assert!(train_loss > 0.0 && train_loss < 0.2, "J_train {train_loss}");
    assert!(
        validation_loss > 0.0 && validation_loss < 0.2,
        "J_cv {validation_loss}"
    );
    // λ was chosen as the lowest cross-validation loss among those tried.
    let validation_losses: Vec<f64> = json["validation_losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let lowest = validation_losses
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    assert_eq!(validation_loss, lowest);

    let raw = read_raw();
    let coefficients: HashMap<&str, f64> = json["coefficients"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, w)| (name.as_str(), w.as_f64().unwrap()))
        .collect();
    assert_eq!(coefficients.len(), 30);
    let mut theta = vec![json["bias"].as_f64().unwrap()];
    theta.extend(raw.names.iter().map(|name| coefficients[name.as_str()]));

    // The top features are the largest |w|, in order, by name.
    let top = json["top_features"].as_array().unwrap();
    assert!(!top.is_empty());
    let mut by_size: Vec<(&str, f64)> = coefficients.iter().map(|(&n, &w)| (n, w)).collect();
    by_size.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    for (entry, (name, w)) in top.iter().zip(&by_size) {
        assert_eq!(entry["name"].as_str().unwrap(), *name);
        assert_eq!(entry["weight"].as_f64().unwrap(), *w);
    }

    // The test accuracy and confusion matrix, recomputed from the coefficients.
    let (x_test, y_test) = standardised(&raw, "test");
    assert_eq!(x_test.len(), 114);
    let mut confusion = [[0usize; 2]; 2];
    for (row, &y) in x_test.iter().zip(&y_test) {
        let z = dot(row, &theta);
        assert!(
            z.abs() > 1e-6,
            "a test tumour sits on the decision boundary (z = {z})"
        );
        confusion[y as usize][usize::from(z > 0.0)] += 1;
    }
    let right = confusion[0][0] + confusion[1][1];
    assert_eq!(test_accuracy, right as f64 / 114.0);
    let reported: Vec<Vec<usize>> =
        serde_json::from_value(json["confusion_matrix"].clone()).unwrap();
    assert_eq!(reported, vec![confusion[0].to_vec(), confusion[1].to_vec()]);

    // Gradient descent reached the regularised optimum that Newton's method finds.
    let (x_train, y_train) = standardised(&raw, "train");
    let optimum = newton(&x_train, &y_train, lambda);
    let reached = cost(&x_train, &y_train, &theta, lambda);
    let best = cost(&x_train, &y_train, &optimum, lambda);
    assert!(
        reached - best < 1e-6,
        "J = {reached} after gradient descent, {best} at the optimum"
    );
    let farthest = theta
        .iter()
        .zip(&optimum)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(farthest < 1e-3, "a weight is {farthest} from Newton's");
}
