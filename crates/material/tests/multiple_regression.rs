//! Multiple regression on the diabetes data: gradient descent must agree with the normal
//! equations, and with the ridge closed form, solved here by Cholesky factorisation in f64 from
//! the CSV file read and standardised independently.

use chainrule_material::multiple_regression;

/// The features (rows) and targets of diabetes.csv, parsed by hand.
fn diabetes() -> (Vec<Vec<f64>>, Vec<f64>) {
    let text = std::fs::read_to_string(chainrule_material::data_path("diabetes.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"target"));
    let (mut rows, mut targets) = (Vec::new(), Vec::new());
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let mut fields: Vec<f64> = line.split(',').map(|f| f.trim().parse().unwrap()).collect();
        targets.push(fields.pop().unwrap());
        rows.push(fields);
    }
    (rows, targets)
}

/// Standardises each column with its mean and population standard deviation.
fn standardise(rows: &mut [Vec<f64>]) {
    let (m, d) = (rows.len() as f64, rows[0].len());
    for j in 0..d {
        let mean = rows.iter().map(|r| r[j]).sum::<f64>() / m;
        let std = (rows.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / m).sqrt();
        for row in rows.iter_mut() {
            row[j] = (row[j] - mean) / std;
        }
    }
}

/// Solves the symmetric positive definite system A·x = c by Cholesky: A = L·Lᵀ, then two
/// triangular solves.
fn cholesky_solve(a: &[Vec<f64>], c: &[f64]) -> Vec<f64> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                l[i][i] = (a[i][i] - s).sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut z = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
        z[i] = (c[i] - s) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * x[k]).sum();
        x[i] = (z[i] - s) / l[i][i];
    }
    x
}

/// Minimises 1/(2m)·Σ (x·w + b − y)² + λ/(2m)·Σ w²: the features get a column of ones for the
/// bias, and λ goes on the diagonal of the weights only. Returns (w, b).
fn least_squares(rows: &[Vec<f64>], targets: &[f64], lambda: f64) -> (Vec<f64>, f64) {
    let d = rows[0].len();
    let n = d + 1;
    let mut a = vec![vec![0.0; n]; n];
    let mut c = vec![0.0; n];
    for (row, &y) in rows.iter().zip(targets) {
        let with_one: Vec<f64> = row.iter().copied().chain([1.0]).collect();
        for i in 0..n {
            c[i] += with_one[i] * y;
            for j in 0..n {
                a[i][j] += with_one[i] * with_one[j];
            }
        }
    }
    for (i, equation) in a.iter_mut().enumerate().take(d) {
        equation[i] += lambda;
    }
    let mut solution = cholesky_solve(&a, &c);
    let b = solution.pop().unwrap();
    (solution, b)
}

fn numbers(json: &serde_json::Value, key: &str) -> Vec<f64> {
    json[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn assert_relative(learned: &[f64], exact: &[f64], what: &str) {
    assert_eq!(learned.len(), exact.len(), "{what}: lengths");
    for (j, (a, b)) in learned.iter().zip(exact).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * b.abs(),
            "{what}[{j}]: gradient descent {a}, closed form {b}"
        );
    }
}

#[test]
fn gradient_descent_agrees_with_the_normal_equations_and_ridge() {
    let outcome = multiple_regression::run(&mut std::io::sink()).expect("the example runs");
    assert!(
        outcome.passed,
        "the example's own check failed: {}",
        outcome.learned
    );
    let json = &outcome.json;
    for key in [
        "coefficients",
        "intercept",
        "ridge_coefficients",
        "ridge_intercept",
        "lambda",
        "cost",
        "iterations",
    ] {
        assert!(json.get(key).is_some(), "the JSON lacks {key:?}: {json}");
    }

    let (mut rows, targets) = diabetes();
    assert_eq!((rows.len(), rows[0].len()), (442, 10));
    standardise(&mut rows);
    let lambda = json["lambda"].as_f64().unwrap();
    assert!(lambda > 0.0);

    let (w, b) = least_squares(&rows, &targets, 0.0);
    assert_relative(&numbers(json, "coefficients"), &w, "coefficients");
    assert_relative(&[json["intercept"].as_f64().unwrap()], &[b], "intercept");

    let (ridge_w, ridge_b) = least_squares(&rows, &targets, lambda);
    assert_relative(
        &numbers(json, "ridge_coefficients"),
        &ridge_w,
        "ridge_coefficients",
    );
    assert_relative(
        &[json["ridge_intercept"].as_f64().unwrap()],
        &[ridge_b],
        "ridge_intercept",
    );

    // The cost reported is J = 1/(2m)·Σ (f(x) − y)² at the least-squares solution.
    let m = rows.len() as f64;
    let cost: f64 = rows
        .iter()
        .zip(&targets)
        .map(|(row, y)| {
            let f: f64 = row.iter().zip(&w).map(|(x, w)| x * w).sum::<f64>() + b;
            (f - y).powi(2)
        })
        .sum::<f64>()
        / (2.0 * m);
    let reported = json["cost"].as_f64().unwrap();
    assert!(
        (reported - cost).abs() <= 1e-8 * cost,
        "cost {reported}, exact {cost}"
    );

    // The penalty shrinks the weight vector.
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    assert!(norm(&ridge_w) < norm(&w));
}
