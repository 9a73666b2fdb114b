//! `chainrule export`, checked by someone else's engine: a model trained by `chainrule train`,
//! exported and run in tract (pure-Rust ONNX) on the raw CSV rows, gives what
//! `chainrule predict` prints — the probabilities of a classifier, the values of a regression in
//! the target's units — at a batch size other than the one traced. Wrong input is exit 2.

use std::path::Path;
use std::process::Command;

use tract_onnx::prelude::{tvec, Framework, InferenceModelExt, IntoRunnable, IntoTValue};

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_chainrule"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().expect("an exit status"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn data(name: &str) -> String {
    format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The feature columns of a CSV file (every column but `target`), as rows of numbers.
fn features(path: &str) -> (Vec<Vec<f32>>, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let target = header.iter().position(|&c| c == "target").unwrap();
    let rows: Vec<Vec<f32>> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|&(i, _)| i != target)
                .map(|(_, v)| v.parse().unwrap())
                .collect()
        })
        .collect();
    (rows, header.len() - 1)
}

/// The exported model run in tract on `rows`: the output, row by row.
fn run_onnx(model: &Path, rows: &[Vec<f32>], width: usize) -> Vec<Vec<f32>> {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let input = tract_onnx::prelude::Tensor::from_shape(&[rows.len(), width], &flat).unwrap();
    let runnable = tract_onnx::onnx()
        .model_for_path(model)
        .expect("tract reads the model")
        .into_optimized()
        .expect("tract optimises it")
        .into_runnable()
        .expect("runnable");
    let outputs = runnable.run(tvec!(input.into_tvalue())).unwrap();
    let view = outputs[0].to_plain_array_view::<f32>().unwrap();
    let columns = view.shape()[1];
    let values: Vec<f32> = view.iter().copied().collect();
    values.chunks(columns).map(<[f32]>::to_vec).collect()
}

/// `predict`'s CSV: its numeric columns, row by row.
fn predictions(csv: &str) -> Vec<Vec<f32>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * (1.0 + b.abs())
}

#[test]
fn an_exported_classifier_gives_predicts_probabilities_in_tract() {
    let folder = tempfile_dir("classifier");
    let model = folder.join("iris.safetensors");
    let onnx = folder.join("iris.onnx");
    let (status, _, err) = run(&[
        "train",
        &data("iris.csv"),
        "--target",
        "target",
        "--epochs",
        "20",
        "--save",
        model.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(status, 0, "{err}");
    let (status, out, err) = run(&[
        "export",
        model.to_str().unwrap(),
        "--onnx",
        onnx.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("output \"probabilities\" [batch, 3]"), "{out}");

    let (status, printed, err) = run(&["predict", model.to_str().unwrap(), &data("iris.csv")]);
    assert_eq!(status, 0, "{err}");
    let expected = predictions(&printed);
    let (rows, width) = features(&data("iris.csv"));
    // All 150 rows at once: the graph was traced with a batch of 2.
    let got = run_onnx(&onnx, &rows, width);
    assert_eq!(got.len(), expected.len());
    for (row, (probabilities, predicted)) in got.iter().zip(&expected).enumerate() {
        // predict prints the class, then one probability per class (to six decimals).
        for (p, q) in probabilities.iter().zip(&predicted[1..]) {
            assert!((p - q).abs() < 1e-5 + 5e-7, "row {row}: {p} against {q}");
        }
        let class = probabilities
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(class as f32, predicted[0], "row {row}");
    }
    let _ = std::fs::remove_dir_all(folder);
}

#[test]
fn an_exported_regression_gives_values_in_the_targets_units() {
    let folder = tempfile_dir("regression");
    let model = folder.join("diabetes.safetensors");
    let onnx = folder.join("diabetes.onnx");
    let (status, _, err) = run(&[
        "train",
        &data("diabetes.csv"),
        "--target",
        "target",
        "--task",
        "regress",
        "--hidden",
        "16",
        "--epochs",
        "10",
        "--save",
        model.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(status, 0, "{err}");
    let (status, _, err) = run(&[
        "export",
        model.to_str().unwrap(),
        "--onnx",
        onnx.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{err}");
    let (_, printed, _) = run(&["predict", model.to_str().unwrap(), &data("diabetes.csv")]);
    let expected = predictions(&printed);
    let (rows, width) = features(&data("diabetes.csv"));
    let got = run_onnx(&onnx, &rows[..7], width);
    for (row, (value, predicted)) in got.iter().zip(&expected).enumerate() {
        // Values in the target's units (tens to hundreds), printed to a few significant digits.
        assert!(
            close(value[0], predicted[0])
                || (value[0] - predicted[0]).abs() < 1e-3 * predicted[0].abs(),
            "row {row}: {} against {}",
            value[0],
            predicted[0]
        );
    }
    let _ = std::fs::remove_dir_all(folder);
}

#[test]
fn exporting_something_that_is_not_a_model_is_exit_2_naming_it() {
    let (status, _, err) = run(&[
        "export",
        &data("iris.csv"),
        "--onnx",
        "/tmp/never-written.onnx",
    ]);
    assert_eq!(status, 2);
    assert!(err.contains("iris.csv"), "{err}");
    assert!(!Path::new("/tmp/never-written.onnx").exists());
    let (status, _, err) = run(&["export", "/nonexistent/model.safetensors", "--onnx", "-"]);
    assert_eq!(status, 2);
    assert!(err.contains("/nonexistent/model.safetensors"), "{err}");
}

/// A fresh folder for one test's files.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let folder =
        std::env::temp_dir().join(format!("chainrule-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}
