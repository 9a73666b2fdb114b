//! `chainrule train` and `chainrule predict` run as a user runs them: digits to ≥ 96% test
//! accuracy and back through `predict`, a regression, the learning-curve SVG, the model file's
//! metadata, and the message and exit status 2 for each kind of wrong input, with no file left
//! behind.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Runs the program and returns (exit status, stdout, stderr).
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

/// Runs the program, expects success, and returns stdout.
fn succeed(args: &[&str]) -> String {
    let (status, out, err) = run(args);
    assert_eq!(status, 0, "{args:?}:\n{out}\n{err}");
    out
}

/// A fresh empty directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("chainrule-cli-train-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn data(name: &str) -> String {
    format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A CSV file as its header and rows of cells.
fn read_csv(path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let split = |line: &str| line.split(',').map(str::to_string).collect::<Vec<_>>();
    let header = split(lines.next().unwrap());
    (header, lines.map(split).collect())
}

/// The `__metadata__` of a safetensors file, read from its JSON header.
fn metadata(path: &Path) -> serde_json::Map<String, Value> {
    let bytes = fs::read(path).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    header["__metadata__"].as_object().unwrap().clone()
}

/// The data series of a learning-curve SVG: its coloured polylines, as point counts.
fn curves(svg: &str) -> Vec<usize> {
    let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
        .map(|n| n.attribute("points").unwrap().split_whitespace().count())
        .collect()
}

#[test]
fn digits_reach_96_percent_and_predict_reads_the_model_back() {
    let dir = scratch("digits");
    let model = dir.join("digits.safetensors");
    let plot = dir.join("curves.svg");
    let digits = data("digits.csv");
    let split_file = data("digits_split.csv");
    let out = succeed(&[
        "train",
        &digits,
        "--target",
        "target",
        "--hidden",
        "128,128",
        "--epochs",
        "30",
        "--split-file",
        &split_file,
        "--save",
        path(&model),
        "--plot",
        path(&plot),
        "--json",
        "--quiet",
    ]);
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["task"], "classification");
    assert_eq!(summary["outputs"], 10);
    assert_eq!(summary["split"]["test"], 360);
    assert_eq!(summary["train_loss"].as_array().unwrap().len(), 30);
    let accuracy = summary["test"]["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.96, "test accuracy {accuracy}");
    let matrix = summary["test"]["confusion_matrix"].as_array().unwrap();
    assert_eq!(matrix.len(), 10);
    assert!(summary["diagnosis"]["verdict"].is_string());

    // The metadata says what predict needs.
    let meta = metadata(&model);
    assert_eq!(meta["format"], "chainrule-mlp");
    assert_eq!(meta["task"], "classification");
    assert_eq!(meta["target"], "target");
    assert_eq!(meta["hidden"], "[128,128]");
    assert_eq!(meta["activation"], "relu");
    assert_eq!(meta["outputs"], "10");
    let features: Vec<String> = serde_json::from_str(meta["features"].as_str().unwrap()).unwrap();
    assert_eq!(features.len(), 64);
    assert_eq!(features[0], "pixel_0_0");
    let std: Vec<f64> = serde_json::from_str(meta["feature_std"].as_str().unwrap()).unwrap();
    assert_eq!(std.len(), 64);

    // The test rows, with the columns in reverse order and no target: matched by name.
    let (header, rows) = read_csv(&digits);
    let (_, assignment) = read_csv(&split_file);
    let target = header.iter().position(|h| h == "target").unwrap();
    let test_rows: Vec<&Vec<String>> = assignment
        .iter()
        .filter(|a| a[1] == "test")
        .map(|a| &rows[a[0].parse::<usize>().unwrap()])
        .collect();
    let reversed = |cells: &[String]| {
        let kept: Vec<&str> = (0..cells.len())
            .rev()
            .filter(|&c| c != target)
            .map(|c| cells[c].as_str())
            .collect();
        kept.join(",")
    };
    let mut test_csv = reversed(&header) + "\n";
    for row in &test_rows {
        test_csv += &(reversed(row) + "\n");
    }
    let test_path = dir.join("test.csv");
    fs::write(&test_path, test_csv).unwrap();

    let predictions = succeed(&["predict", path(&model), path(&test_path)]);
    let mut lines = predictions.lines();
    let expected_header: Vec<String> = std::iter::once("predicted".to_string())
        .chain((0..10).map(|k| format!("probability_{k}")))
        .collect();
    assert_eq!(lines.next().unwrap(), expected_header.join(","));
    let predicted: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    assert_eq!(predicted.len(), test_rows.len());
    let right = predicted
        .iter()
        .zip(&test_rows)
        .filter(|(p, row)| p[0] == row[target].parse::<f64>().unwrap())
        .count();
    let agreement = right as f64 / test_rows.len() as f64;
    assert!(agreement >= 0.96, "predict agrees with {agreement}");
    // The same model on the same rows: the same answers as train's test set.
    assert_eq!(right, (accuracy * test_rows.len() as f64).round() as usize);
    for p in &predicted {
        let total: f64 = p[1..].iter().sum();
        assert!((total - 1.0).abs() < 1e-4, "{p:?}");
        let best = (1..11).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        assert_eq!(p[0], (best - 1) as f64);
    }

    // The whole file, target column and all: one prediction per row.
    let all = succeed(&["predict", path(&model), &digits]);
    assert_eq!(all.lines().count(), 1 + rows.len());

    // Two curves, one point per epoch, with their legend and axis labels.
    let svg = fs::read_to_string(&plot).unwrap();
    assert_eq!(curves(&svg), [30, 30]);
    for text in ["training", "validation", "epoch", "loss (cross-entropy)"] {
        assert!(svg.contains(text), "{text} not in the SVG");
    }
    assert_eq!(
        files_in(&dir),
        ["curves.svg", "digits.safetensors", "test.csv"]
    );
}

#[test]
fn the_text_report_has_the_losses_test_metrics_and_diagnosis() {
    let dir = scratch("text");
    let (status, out, err) = run(&[
        "train",
        &data("iris.csv"),
        "--target",
        "target",
        "--hidden",
        "16",
        "--epochs",
        "5",
        "--optimizer",
        "momentum",
        "--seed",
        "3",
    ]);
    assert_eq!(status, 0, "{err}");
    for part in [
        "classification, 3 classes (guessed from the column",
        "split 60/20/20: 90 training, 30 validation, 30 test rows",
        "model: 4 → 16 relu → 3",
        "optimizer: momentum, learning rate 0.01, batch 32",
        "training ran all 5 epochs; kept the best epoch's weights",
        "best epoch 5: training loss ",
        "test accuracy: ",
        "confusion matrix",
        "actual \\ predicted",
        "diagnosis: ",
    ] {
        assert!(out.contains(part), "{part:?} not in\n{out}");
    }
    // The description before the results; the per-epoch losses not on stdout at all.
    assert!(out.find("optimizer: ") < out.find("best epoch"), "{out}");
    assert!(!out.contains("epoch 4"), "{out}");
    // Progress on stderr, one line per epoch when it is not a terminal, with its time.
    assert!(err.contains("epoch 5/5 - "), "{err}");
    assert!(err.contains("s - train loss "), "{err}");
    assert!(files_in(&dir).is_empty());
    // --quiet: nothing on stderr.
    let (_, _, err) = run(&[
        "train",
        &data("iris.csv"),
        "--target",
        "target",
        "--epochs",
        "2",
        "--quiet",
    ]);
    assert_eq!(err, "");
}

#[test]
fn a_regression_trains_and_predicts_in_the_targets_units() {
    let dir = scratch("regression");
    let model = dir.join("diabetes.safetensors");
    let diabetes = data("diabetes.csv");
    let out = succeed(&[
        "train",
        &diabetes,
        "--target",
        "target",
        "--task",
        "regress",
        "--hidden",
        "16",
        "--epochs",
        "60",
        "--l2",
        "0.01",
        "--save",
        path(&model),
        "--json",
        "--quiet",
    ]);
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["task"], "regression");
    assert_eq!(summary["outputs"], 1);
    // The target's variance is about 5900; predicting its mean scores that.
    let mse = summary["test"]["mean_squared_error"].as_f64().unwrap();
    assert!(mse < 4000.0, "test MSE {mse}");
    let meta = metadata(&model);
    let mean: f64 = meta["target_mean"].as_str().unwrap().parse().unwrap();
    assert!((100.0..200.0).contains(&mean), "target mean {mean}");

    let predictions = succeed(&["predict", path(&model), &diabetes]);
    let mut lines = predictions.lines();
    assert_eq!(lines.next(), Some("predicted"));
    let values: Vec<f64> = lines.map(|l| l.parse().unwrap()).collect();
    assert_eq!(values.len(), 442);
    assert!(
        values.iter().all(|v| (0.0..400.0).contains(v)),
        "{values:?}"
    );
}

#[test]
fn l2_regularization_raises_the_training_loss() {
    let final_loss = |l2: &str| {
        let out = succeed(&[
            "train",
            &data("iris.csv"),
            "--target",
            "target",
            "--hidden",
            "32",
            "--epochs",
            "20",
            "--l2",
            l2,
            "--json",
            "--quiet",
        ]);
        let summary: Value = serde_json::from_str(&out).unwrap();
        let losses = summary["train_loss"].as_array().unwrap().clone();
        losses.last().unwrap().as_f64().unwrap()
    };
    assert!(final_loss("5") > final_loss("0"));
}

#[test]
fn every_optimizer_and_activation_trains() {
    for (optimizer, activation) in [
        ("adam", "relu"),
        ("adamw", "tanh"),
        ("sgd", "sigmoid"),
        ("momentum", "tanh"),
        ("rmsprop", "relu"),
        ("gd", "tanh"),
    ] {
        let out = succeed(&[
            "train",
            &data("iris.csv"),
            "--target",
            "target",
            "--hidden",
            "8",
            "--epochs",
            "3",
            "--optimizer",
            optimizer,
            "--activation",
            activation,
            "--json",
            "--quiet",
        ]);
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert!(
            summary["optimizer"]
                .as_str()
                .unwrap()
                .starts_with(optimizer),
            "{summary}"
        );
        assert!(summary["model"].as_str().unwrap().contains(activation));
    }
}

#[test]
fn wrong_input_gets_one_message_and_exit_status_2() {
    let inputs = scratch("wrong-inputs");
    let out = scratch("wrong-outputs");
    let write = |name: &str, text: &str| {
        let p = inputs.join(name);
        fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let bad_cell = write("bad.csv", "a,b,target\n1,2,0\n3,x,1\n");
    let empty = write("empty.csv", "");
    let header_only = write("header.csv", "a,b,target\n");
    let ragged = write("ragged.csv", "a,b,target\n1,2,0\n3,1\n");
    let not_a_model = write("model.txt", "this is not a safetensors file");
    let fraction = write("fraction.csv", "a,b,target\n1,2,0\n3,4,1.5\n");
    let one_class = write("one.csv", "a,target\n1,0\n2,0\n3,0\n4,0\n5,0\n");
    let only_target = write("target.csv", "target\n1\n2\n");

    // A small model for predict's cases.
    let model = inputs.join("iris.safetensors");
    let iris = data("iris.csv");
    succeed(&[
        "train",
        &iris,
        "--target",
        "target",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--save",
        path(&model),
        "--quiet",
    ]);
    let model = path(&model).to_string();
    let (iris_header, _) = read_csv(&iris);
    // The first feature left out, a column the model never saw added.
    let mismatched = write(
        "mismatched.csv",
        &format!("{},bogus\n1,2,3,0,4\n", iris_header[1..].join(",")),
    );
    let bad_predict_cell = write(
        "bad_predict.csv",
        &format!("{}\n1,2,3,4,0\n1,2,oops,4,0\n", iris_header.join(",")),
    );
    let bad_predict_message = format!(
        "bad_predict.csv:3:3: column {:?}: \"oops\" is not a finite number",
        iris_header[2]
    );
    let missing_feature = format!("missing: {:?}\n", iris_header[0]);
    let missing = inputs.join("missing.csv");
    let missing = path(&missing);

    let in_out = |name: &str| out.join(name).to_str().unwrap().to_string();
    let save = in_out("model.safetensors");
    let plot = in_out("curves.svg");
    let no_dir = in_out("no/such/dir/model.safetensors");
    let out_dir = out.to_str().unwrap().to_string();
    let train = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "train",
            iris.as_str(),
            "--target",
            "target",
            "--epochs",
            "1",
        ];
        args.extend(extra);
        args.iter().map(|s| s.to_string()).collect()
    };
    let on = |file: &str, target: &str| -> Vec<String> {
        [
            "train", file, "--target", target, "--save", &save, "--plot", &plot,
        ]
        .map(String::from)
        .to_vec()
    };
    let digits_split = data("digits_split.csv");

    let cases: Vec<(Vec<String>, Vec<&str>)> =
        vec![
        // Data files.
        (
            on(&iris, "species"),
            vec![
                "iris.csv:1: no column named \"species\"",
                "the columns are",
                "target",
            ],
        ),
        (
            on(&bad_cell, "target"),
            vec!["bad.csv:3:2: column \"b\": \"x\" is not a finite number"],
        ),
        (on(&empty, "target"), vec!["empty.csv: the file is empty"]),
        (
            on(&header_only, "target"),
            vec!["header.csv: the file has a header but no data rows"],
        ),
        (
            on(&ragged, "target"),
            vec!["ragged.csv:3: the row has 2 fields, but the header has 3"],
        ),
        (
            on(missing, "target"),
            vec!["missing.csv: cannot read the file"],
        ),
        (
            on(&fraction, "target")
                .into_iter()
                .chain(["--task".into(), "classify".into()])
                .collect(),
            vec!["fraction.csv:3:3: column \"target\": \"1.5\" is not a non-negative whole number"],
        ),
        (
            on(&one_class, "target"),
            vec!["one.csv: the target column \"target\" holds only the class 0"],
        ),
        (
            on(&only_target, "target"),
            vec!["target.csv: every column is the target"],
        ),
        // Flags.
        (
            train(&["--split", "60/20"]),
            vec!["--split", "expected three numbers"],
        ),
        (
            train(&["--split", "60/20/30"]),
            vec!["--split", "sum to 110"],
        ),
        (
            train(&["--split", "100/0/0"]),
            vec!["splitting 150 rows 100/0/0 leaves the validation set empty"],
        ),
        (
            train(&["--split-file", &digits_split]),
            vec![
                "digits_split.csv: the split file assigns 1797 rows",
                "iris.csv has 150",
            ],
        ),
        (
            train(&["--hidden", "128,x"]),
            vec!["--hidden", "layer 2 is \"x\""],
        ),
        (train(&["--lr", "0"]), vec!["--lr", "positive number"]),
        (train(&["--lr", "-1e-3"]), vec!["--lr", "positive number"]),
        (train(&["--lr", "fast"]), vec!["--lr", "positive number"]),
        (train(&["--l2", "-1"]), vec!["--l2", "0 or more"]),
        (train(&["--batch", "0"]), vec!["--batch", "at least 1"]),
        // Output files that cannot be written: found before training.
        (
            train(&["--save", &no_dir]),
            vec!["cannot write the model file", "no/such/dir/model.safetensors"],
        ),
        (
            train(&["--plot", &out_dir]),
            vec!["cannot write the SVG file", "directory"],
        ),
        // A learning rate so large that training diverges (--quiet: without it, the run's
        // description and progress come first on stderr, as they do for a run that works).
        (
            train(&["--optimizer", "sgd", "--lr", "1e30", "--save", &save, "--quiet"]),
            // The NaN sentinel names where the first NaN or infinity appeared.
            vec![
                "training stopped",
                "first appears in the forward value of",
                "recorded at crates/layers/src/",
                "try a smaller --lr",
            ],
        ),
        // Predict.
        (
            ["predict", missing, missing].map(String::from).to_vec(),
            vec!["missing.csv: cannot read the weight file"],
        ),
        (
            ["predict", &not_a_model, &iris].map(String::from).to_vec(),
            vec!["model.txt: not a valid safetensors file"],
        ),
        (
            ["predict", &model, &mismatched].map(String::from).to_vec(),
            vec![
                "mismatched.csv: the columns do not match the model's features",
                "iris.safetensors",
                &missing_feature,
                "not features of the model: \"bogus\"",
            ],
        ),
        (
            ["predict", &model, &bad_predict_cell]
                .map(String::from)
                .to_vec(),
            vec![&bad_predict_message],
        ),
        (
            ["predict", &model, &empty].map(String::from).to_vec(),
            vec!["empty.csv: the file is empty"],
        ),
        (
            ["predict", &model, missing].map(String::from).to_vec(),
            vec!["missing.csv: cannot read the file"],
        ),
    ];

    // An existing model file is left as it was by every failure.
    fs::write(&save, "the old model").unwrap();
    for (args, expected) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, stdout, err) = run(&args);
        assert_eq!(status, 2, "{args:?}: {stdout}{err}");
        assert!(stdout.is_empty(), "{args:?} printed {stdout}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        for part in expected {
            assert!(err.contains(part), "{args:?}: {part:?} not in\n{err}");
        }
        assert_eq!(files_in(&out), ["model.safetensors"], "{args:?}");
        assert_eq!(fs::read_to_string(&save).unwrap(), "the old model");
    }
}

#[test]
fn usage_errors_exit_2_and_train_and_predict_have_help() {
    for args in [&["train", "--help"][..], &["predict", "--help"]] {
        let (status, out, _) = run(args);
        assert_eq!(status, 0);
        assert!(
            out.contains(&format!("Usage: chainrule {}", args[0])),
            "{out}"
        );
    }
    let (_, out, _) = run(&["train", "--help"]);
    for flag in [
        "--target <COLUMN>",
        "--hidden <SIZES>",
        "--split <TRAIN/VAL/TEST>",
        "--save <FILE>",
        "--plot <FILE>",
        "--patience <N>",
    ] {
        assert!(out.contains(flag), "{flag} not in\n{out}");
    }
    // No --target; an unknown optimizer; --split and --split-file together.
    let iris = data("iris.csv");
    assert_eq!(run(&["train", &iris]).0, 2);
    assert_eq!(
        run(&["train", &iris, "--target", "target", "--optimizer", "lbfgs"]).0,
        2
    );
    let (status, _, err) = run(&[
        "train",
        &iris,
        "--target",
        "target",
        "--split",
        "60/20/20",
        "--split-file",
        &iris,
    ]);
    assert_eq!(status, 2);
    assert!(err.contains("cannot be used with"), "{err}");
    assert_eq!(run(&["predict", "model.safetensors"]).0, 2);
}

/// `train --json --quiet` with these arguments, parsed.
fn train_json(args: &[&str]) -> Value {
    let mut all = vec!["train"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "--quiet"]);
    serde_json::from_str(&succeed(&all)).unwrap()
}

#[test]
fn iris_with_no_tuning_flags_reaches_93_percent_with_labels_or_names() {
    let dir = scratch("iris-defaults");
    let labels = train_json(&[&data("iris.csv"), "--target", "target"]);
    let accuracy = labels["test"]["accuracy"].as_f64().unwrap();
    assert!(
        accuracy >= 0.93,
        "iris, labels 0–2: test accuracy {accuracy}"
    );
    assert_eq!(labels["classes"], Value::Null);
    // Iris is nearly separable: the default model's cross-entropy ends at a few percent of the
    // class frequencies' ln 3, so no bias to speak of, and its validation loss sits within
    // the large-gap margin of the training loss, the curve levelled by epoch 200: neither.
    let diagnosis = &labels["diagnosis"];
    assert_eq!(
        diagnosis["verdict"], "neither high bias nor high variance",
        "{diagnosis}"
    );
    assert_eq!(diagnosis["baseline"]["kind"], "simplest model");
    let prior = diagnosis["baseline"]["simplest_train_loss"]
        .as_f64()
        .unwrap();
    assert!((prior - 3f64.ln()).abs() < 0.01, "{diagnosis}");
    assert!(diagnosis["reason"].as_str().unwrap().contains("a ceiling"));

    let model = dir.join("iris.safetensors");
    let names = train_json(&[
        &data("iris_named.csv"),
        "--target",
        "species",
        "--save",
        path(&model),
    ]);
    let accuracy = names["test"]["accuracy"].as_f64().unwrap();
    assert!(
        accuracy >= 0.93,
        "iris, species names: test accuracy {accuracy}"
    );
    assert_eq!(names["task"], "classification");
    assert_eq!(names["task_inferred"], true);
    assert_eq!(
        names["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    // The names sort as the labels do, so both runs learn the same problem on the same split.
    assert_eq!(
        names["test"]["confusion_matrix"],
        labels["test"]["confusion_matrix"]
    );
    let meta = metadata(&model);
    assert_eq!(meta["format_version"], "3");
    assert_eq!(meta["classes"], r#"["setosa","versicolor","virginica"]"#);

    // predict names each prediction, and each probability column after its class.
    let out = succeed(&["predict", path(&model), &data("iris_named.csv")]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "predicted,probability_setosa,probability_versicolor,probability_virginica"
    );
    let (_, rows) = read_csv(&data("iris_named.csv"));
    let predicted: Vec<String> = lines
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(predicted.len(), 150);
    let right = predicted
        .iter()
        .zip(&rows)
        .filter(|(p, r)| **p == r[4])
        .count();
    assert!(right >= 140, "{right} of 150 rows predicted right");
}

#[test]
fn breast_cancer_with_no_tuning_flags_reaches_95_percent() {
    let summary = train_json(&[&data("breast_cancer.csv"), "--target", "target"]);
    let accuracy = summary["test"]["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.95, "test accuracy {accuracy}");
    // The validation loss was lowest at one epoch and rose after it until early stopping
    // ended the run: overfitting since that epoch, named; but the weights kept are that
    // epoch's, whose losses (validation no higher than training) show neither problem.
    let diagnosis = &summary["diagnosis"];
    assert_eq!(
        diagnosis["verdict"], "neither high bias nor high variance",
        "{diagnosis}"
    );
    assert_eq!(diagnosis["curve"]["shape"], "rising", "{diagnosis}");
    let since = &diagnosis["curve"]["overfitting_since_epoch"];
    assert_eq!(since, &summary["best_epoch"], "{diagnosis}");
    let reason = diagnosis["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("overfitting since epoch {since}"))
            && reason.contains(&format!("early stopping restored epoch {since}'s weights")),
        "{reason}"
    );
}

#[test]
fn digits_with_no_tuning_flags_reach_97_percent() {
    let summary = train_json(&[&data("digits.csv"), "--target", "target"]);
    let accuracy = summary["test"]["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.97, "test accuracy {accuracy}");
    // Early stopping ends the run before the 200 epochs allowed.
    assert!(summary["stopped_early"].as_bool().unwrap(), "{summary}");
    // The cross-entropy ends under a tenth of the ten classes' ln 10, and the validation loss
    // within a few hundredths of the training loss (the default λ keeps them together): the
    // curve levelled, neither bias nor variance.
    let diagnosis = &summary["diagnosis"];
    assert_eq!(
        diagnosis["verdict"], "neither high bias nor high variance",
        "{diagnosis}"
    );
    assert_eq!(diagnosis["curve"]["shape"], "levelled", "{diagnosis}");
}

/// Solves `a x = b` for a small dense system by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let factor = a[row][col] / pivot_row[col];
            for (cell, above) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *cell -= factor * above;
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

#[test]
fn diabetes_with_no_tuning_flags_is_within_0_05_r_squared_of_least_squares() {
    let summary = train_json(&[&data("diabetes.csv"), "--target", "target"]);
    assert_eq!(summary["task"], "regression");
    let r_squared = summary["test"]["r_squared"].as_f64().unwrap();

    // The oracle: ordinary least squares by the normal equations, in f64, on the same
    // training rows (a regression target is split by a plain seeded shuffle), scored on the
    // same test rows.
    let (_, rows) = read_csv(&data("diabetes.csv"));
    let rows: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().map(|c| c.parse().unwrap()).collect())
        .collect();
    let parts = chainrule_train::SplitIndices::shuffled(
        rows.len(),
        chainrule_train::SplitRatios::default(),
        0,
    );
    let design = |r: &[f64]| -> Vec<f64> {
        std::iter::once(1.0)
            .chain(r[..10].iter().copied())
            .collect()
    };
    let mut xtx = vec![vec![0.0; 11]; 11];
    let mut xty = vec![0.0; 11];
    for &i in &parts.train {
        let x = design(&rows[i]);
        for a in 0..11 {
            xty[a] += x[a] * rows[i][10];
            for b in 0..11 {
                xtx[a][b] += x[a] * x[b];
            }
        }
    }
    let w = solve(xtx, xty);
    let test: Vec<(f64, f64)> = parts
        .test
        .iter()
        .map(|&i| {
            let x = design(&rows[i]);
            (x.iter().zip(&w).map(|(a, b)| a * b).sum(), rows[i][10])
        })
        .collect();
    let mean = test.iter().map(|t| t.1).sum::<f64>() / test.len() as f64;
    let residual: f64 = test.iter().map(|(p, y)| (p - y).powi(2)).sum();
    let total: f64 = test.iter().map(|(_, y)| (y - mean).powi(2)).sum();
    let least_squares = 1.0 - residual / total;
    assert!(least_squares > 0.3, "least squares R² {least_squares}");
    assert!(
        r_squared > least_squares - 0.05,
        "the default MLP's test R² {r_squared} vs least squares {least_squares}"
    );

    // Diabetes is noise-limited: no model gets R² much past 0.5. The diagnosis must not call
    // that high bias and ask for a bigger model: the network's training loss is well below
    // least squares' and its validation loss no better than least squares' by more than the
    // sampling error of 88 rows, so the reason says the rest may be noise. (Its training fit
    // is well ahead of its validation fit, beyond the gap least squares has on the same
    // split: that is variance, and the verdict says so.)
    let diagnosis = &summary["diagnosis"];
    let verdict = diagnosis["verdict"].as_str().unwrap();
    assert_eq!(verdict, "high variance (overfitting)", "{diagnosis}");
    let reason = diagnosis["reason"].as_str().unwrap();
    assert!(reason.contains("may be noise"), "{reason}");
    assert!(reason.contains("least squares"), "{reason}");
    let advice = diagnosis["advice"].to_string();
    assert!(!advice.contains("bigger model"), "{advice}");
    let line = &diagnosis["least_squares"];
    assert!(
        line["validation_loss"].as_f64().unwrap() > 0.4,
        "{diagnosis}"
    );
    // R² on every part, the test's the same as the test section's.
    let r2 = &diagnosis["r_squared"];
    assert_eq!(r2["test"], summary["test"]["r_squared"]);
    for part in ["train", "validation"] {
        let value = r2[part].as_f64().unwrap();
        assert!((0.3..0.8).contains(&value), "R² {part} {value}");
    }
}

#[test]
fn the_task_follows_the_target_column() {
    let dir = scratch("task");
    let file = dir.join("t.csv");
    let write = |target: &dyn Fn(usize) -> String| {
        let mut text = String::from("x,y\n");
        for i in 0..120 {
            text += &format!("{},{}\n", i % 7, target(i));
        }
        fs::write(&file, text).unwrap();
    };
    // 60 different whole numbers from 0 to 99: a count or a score, so regression.
    write(&|i| (i % 60).to_string());
    let summary = train_json(&[path(&file), "--target", "y", "--epochs", "1"]);
    assert_eq!(summary["task"], "regression");
    // 40 different: classes.
    write(&|i| (i % 40).to_string());
    let summary = train_json(&[path(&file), "--target", "y", "--epochs", "1"]);
    assert_eq!(summary["task"], "classification");
    assert_eq!(summary["outputs"], 40);
    // --task classify over labels up to 1199: refused, the limit named.
    write(&|i| (i * 10).to_string());
    let (status, _, err) = run(&[
        "train",
        path(&file),
        "--target",
        "y",
        "--task",
        "classify",
        "--quiet",
    ]);
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains("the largest label, 1190, makes 1191 classes")
            && err.contains("more than the 1000 classes allowed"),
        "{err}"
    );
    // Names and numbers in one column: the first of each named.
    write(&|i| {
        if i == 5 {
            "seven".into()
        } else {
            (i % 3).to_string()
        }
    });
    let (status, _, err) = run(&["train", path(&file), "--target", "y", "--quiet"]);
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains(":7:2: column \"y\": \"seven\" is not a finite number, while line 2 holds the number \"0\""),
        "{err}"
    );
    // Names under --task regress: the first name is not a number.
    write(&|i| ["cat", "dog"][i % 2].to_string());
    let (status, _, err) = run(&[
        "train",
        path(&file),
        "--target",
        "y",
        "--task",
        "regress",
        "--quiet",
    ]);
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains(":2:2: column \"y\": \"cat\" is not a finite number"),
        "{err}"
    );
    // An empty class name.
    write(&|i| {
        if i == 3 {
            String::new()
        } else {
            ["cat", "dog"][i % 2].to_string()
        }
    });
    let (status, _, err) = run(&["train", path(&file), "--target", "y", "--quiet"]);
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains(":5:2: column \"y\": the class name is empty"),
        "{err}"
    );
    // One class name only.
    write(&|_| "cat".to_string());
    let (status, _, err) = run(&["train", path(&file), "--target", "y", "--quiet"]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("holds only the class \"cat\""), "{err}");
    assert_eq!(files_in(&dir), ["t.csv"]);
}

#[test]
fn a_log_of_stdout_and_stderr_holds_each_epoch_once_and_history_goes_to_a_file() {
    let dir = scratch("log");
    let log = dir.join("log");
    let history = dir.join("history.csv");
    let command = format!(
        "'{}' train '{}' --target target --epochs 6 --patience none --log-every 2 --history '{}' \
         > '{}' 2>&1",
        env!("CARGO_BIN_EXE_chainrule"),
        data("iris.csv"),
        path(&history),
        path(&log)
    );
    let status = std::process::Command::new("sh")
        .args(["-c", &command])
        .status()
        .unwrap();
    assert!(status.success());
    let text = fs::read_to_string(&log).unwrap();
    // Every second epoch, once each; none of the others.
    for epoch in [2, 4, 6] {
        assert_eq!(
            text.matches(&format!("epoch {epoch}/6 ")).count(),
            1,
            "{text}"
        );
    }
    for epoch in [1, 3, 5] {
        assert!(!text.contains(&format!("epoch {epoch}/6")), "{text}");
    }
    // The description comes before the first epoch.
    assert!(
        text.find("model: 4 → 128 relu") < text.find("epoch 2/6"),
        "{text}"
    );
    assert!(text.contains("wrote the loss of every epoch to"), "{text}");
    // Each line carries the validation accuracy, as Keras's `val_accuracy`.
    assert_eq!(
        text.matches(" - validation accuracy 0.").count()
            + text.matches(" - validation accuracy 1.").count(),
        3,
        "{text}"
    );
    let (header, rows) = read_csv(path(&history));
    assert_eq!(
        header,
        [
            "epoch",
            "train_loss",
            "validation_loss",
            "validation_accuracy"
        ]
    );
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[5][0], "6");
    assert!(rows.iter().all(|r| r[1].parse::<f64>().unwrap() > 0.0));
    // Accuracies of 30 validation rows: multiples of 1/30 between 0 and 1.
    for row in &rows {
        let accuracy: f64 = row[3].parse().unwrap();
        assert!((0.0..=1.0).contains(&accuracy), "{row:?}");
        assert!(
            ((accuracy * 30.0) - (accuracy * 30.0).round()).abs() < 1e-9,
            "{row:?}"
        );
    }
}

/// Removes ANSI escape sequences (`ESC [ … letter`) from terminal output.
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_bar_fits_one_line_of_an_80_column_terminal() {
    // util-linux's `script` gives the program a pseudo-terminal; without it there is nothing
    // to run the bar in.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no `script` (util-linux) here: the pseudo-terminal test cannot run");
        return;
    }
    let narrow = bars_at(80);
    for bar in &narrow {
        // Past column 80 the terminal would wrap it.
        assert!(
            bar.chars().count() <= 80,
            "{} columns: {bar:?}",
            bar.chars().count()
        );
        // Fields are dropped whole: at 80 columns the validation accuracy has no room (the
        // fixed part takes 41, the epoch and both losses 32 of the 39 left).
        assert!(!bar.contains("acc"), "{bar:?}");
    }
    // On a wide terminal the same run shows the accuracy, whole.
    let wide = bars_at(200);
    assert!(
        wide.iter().any(|b| b
            .split(" acc ")
            .nth(1)
            .is_some_and(|rest| rest.len() >= 6 && rest[..6].parse::<f64>().is_ok())),
        "{wide:?}"
    );
}

/// The drawings of the progress bar of a 3-epoch run on the digits in a pseudo-terminal of
/// `columns` columns, escapes removed; at least one carries its epoch and losses.
fn bars_at(columns: usize) -> Vec<String> {
    let command = format!(
        "stty cols {columns} rows 24; '{}' train '{}' --target target --epochs 3",
        env!("CARGO_BIN_EXE_chainrule"),
        data("digits.csv")
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = strip_escapes(&String::from_utf8_lossy(&output.stdout));
    // Each drawing of the bar starts after a carriage return.
    let bars: Vec<String> = text
        .split(['\r', '\n'])
        .filter(|s| s.starts_with('[') && s.contains('<'))
        .map(String::from)
        .collect();
    // The bar redraws at most so often, so which epochs it shows depends on the machine's
    // speed; at least one must carry its epoch and losses.
    assert!(
        bars.iter()
            .any(|b| b.contains("/3 loss") && b.contains(" val ")),
        "{text}"
    );
    bars
}

#[test]
fn a_near_miss_column_is_suggested_and_semicolons_and_tabs_are_read() {
    let (status, _, err) = run(&[
        "train",
        &data("digits.csv"),
        "--target",
        "Target",
        "--quiet",
    ]);
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains("no column named \"Target\"; did you mean \"target\"?"),
        "{err}"
    );
    // A suggestion, not the 65 columns.
    assert!(!err.contains("pixel_7_7"), "{err}");

    let dir = scratch("delimiters");
    let text = fs::read_to_string(data("iris_named.csv")).unwrap();
    for (name, delimiter) in [("semicolon.csv", ";"), ("tab.tsv", "\t")] {
        let file = dir.join(name);
        fs::write(&file, text.replace(',', delimiter)).unwrap();
        let summary = train_json(&[path(&file), "--target", "species", "--epochs", "3"]);
        assert_eq!(summary["features"], 4, "{name}");
        assert_eq!(summary["outputs"], 3, "{name}");
    }
}

#[test]
fn delimiter_names_the_separator_over_the_guess() {
    // Column names with commas in them outnumber the semicolons that separate the cells: the
    // guess is the comma, and the file has one column of nonsense. --delimiter says which.
    let dir = scratch("delimiter-flag");
    let file = dir.join("commas-in-names.csv");
    let mut text = String::from("size, cm;weight, kg, net;y\n");
    for i in 0..40 {
        text += &format!("{};{};{}\n", i % 7, i % 5, i % 2);
    }
    fs::write(&file, &text).unwrap();
    let (status, _, err) = run(&["train", path(&file), "--target", "y", "--quiet"]);
    assert_eq!(
        status, 2,
        "the guess reads the header as five columns: {err}"
    );
    let summary = train_json(&[
        path(&file),
        "--target",
        "y",
        "--delimiter",
        ";",
        "--epochs",
        "2",
    ]);
    assert_eq!(summary["features"], 2, "{summary}");
    assert_eq!(summary["task"], "classification");
    // A tab-separated file named as such, by word and by escape.
    let tabs = dir.join("tabs.tsv");
    fs::write(&tabs, text.replace(';', "\t")).unwrap();
    for name in ["tab", "\\t"] {
        let summary = train_json(&[
            path(&tabs),
            "--target",
            "y",
            "--delimiter",
            name,
            "--epochs",
            "2",
        ]);
        assert_eq!(summary["features"], 2, "{name}: {summary}");
    }
    // Anything else is refused by name, before the file is read.
    let (status, _, err) = run(&["train", path(&file), "--target", "y", "--delimiter", "|"]);
    assert_eq!(status, 2);
    assert!(err.contains("expected , or ; or tab"), "{err}");
    assert!(err.contains("--delimiter"), "{err}");
}

#[test]
fn the_diagnosis_reads_the_curve_the_rows_and_a_given_baseline() {
    // Digits after 5 epochs: the validation loss still falls steeply (0.38, 0.29, 0.26,
    // 0.24): the run is unfinished, so "train longer", not overfitting.
    let short = train_json(&[&data("digits.csv"), "--target", "target", "--epochs", "5"]);
    let diagnosis = &short["diagnosis"];
    assert_eq!(
        diagnosis["verdict"], "still improving: train longer",
        "{diagnosis}"
    );
    assert_eq!(diagnosis["curve"]["shape"], "still falling");
    assert!(diagnosis["advice"].to_string().contains("more epochs"));

    // A 3-row file, two rows to train on and one to validate: too few rows for any model
    // (and certainly not a reason for a bigger one).
    let dir = scratch("diagnosis-rows");
    let file = dir.join("three.csv");
    std::fs::write(&file, "x,y\n1,2\n2,4\n3,7\n").unwrap();
    let split = dir.join("split.csv");
    std::fs::write(&split, "row,split\n0,train\n1,train\n2,val\n").unwrap();
    let tiny = train_json(&[
        path(&file),
        "--target",
        "y",
        "--task",
        "regress",
        "--split-file",
        path(&split),
        "--epochs",
        "3",
    ]);
    let diagnosis = &tiny["diagnosis"];
    assert_eq!(diagnosis["verdict"], "too few rows for this model");
    let reason = diagnosis["reason"].as_str().unwrap();
    assert!(
        reason.contains("2 training and 1 validation rows"),
        "{reason}"
    );
    assert!(!diagnosis["advice"].to_string().contains("bigger model"));

    // The half-moons, labels −1 and +1, so a regression by default: on 20 validation rows the
    // validation loss is lowest at epoch 2, the weights kept are that barely trained epoch's,
    // and least squares fits the training rows better than they do: high bias, with the rise
    // after epoch 2 named.
    let moons = train_json(&[&data("moons100.csv"), "--target", "target"]);
    let diagnosis = &moons["diagnosis"];
    assert_eq!(
        diagnosis["verdict"], "high bias (underfitting)",
        "{diagnosis}"
    );
    let reason = diagnosis["reason"].as_str().unwrap();
    assert!(
        reason.contains("a linear model fits the training rows better"),
        "{reason}"
    );
    assert!(reason.contains("overfitting since epoch 2"), "{reason}");

    // Iris against a reachable level: a cross-entropy of 0.01 is a floor the default model's
    // training loss (about 0.08) is well above, so the same run is now high bias.
    let floor = train_json(&[
        &data("iris.csv"),
        "--target",
        "target",
        "--baseline",
        "0.01",
    ]);
    let diagnosis = &floor["diagnosis"];
    assert_eq!(
        diagnosis["verdict"], "high bias (underfitting)",
        "{diagnosis}"
    );
    assert_eq!(diagnosis["baseline"]["kind"], "reachable");
    assert_eq!(diagnosis["baseline"]["reachable"], 0.01);
    assert!(diagnosis["reason"]
        .as_str()
        .unwrap()
        .contains("the reachable level"));
    let (status, _, err) = run(&[
        "train",
        &data("iris.csv"),
        "--target",
        "target",
        "--baseline",
        "-1",
    ]);
    assert_eq!(status, 2);
    assert!(err.contains("expected a loss of 0 or more"), "{err}");
}

#[test]
fn the_text_report_gives_the_baseline_the_reason_and_r_squared() {
    let (status, out, err) = run(&[
        "train",
        &data("diabetes.csv"),
        "--target",
        "target",
        "--epochs",
        "3",
        "--quiet",
    ]);
    assert_eq!(status, 0, "{err}");
    for part in [
        "baseline: the simplest model (predicting the training rows' mean)",
        "a ceiling",
        "least squares: training loss ",
        "validation curve: ",
        "R²: training ",
        ", test ",
        "diagnosis: ",
        "because ",
        // The best epoch's validation R², measured every epoch.
        ", validation R² ",
    ] {
        assert!(out.contains(part), "{part:?} not in\n{out}");
    }
}
