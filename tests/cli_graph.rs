//! `chainrule graph`: a model trained by `chainrule train --save`, drawn on a few rows; its
//! norms checked against `predict`'s output and the model file's own metadata, and its errors.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn chainrule() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainrule"))
}

/// Runs the program and returns (exit status, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let output = chainrule().args(args).output().unwrap();
    (
        output.status.code().expect("an exit status"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A fresh empty directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chainrule-graph-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `y = a − 2b + noise` on 40 rows, written as CSV, and a model trained on it for a few epochs.
fn regression_model(dir: &Path) -> (PathBuf, PathBuf) {
    let mut csv = String::from("a,b,y\n");
    for i in 0..40 {
        let a = (i as f64 * 0.37).sin() * 2.0;
        let b = (i as f64 * 0.91).cos();
        let y = a - 2.0 * b + 0.1 * (i % 3) as f64;
        csv += &format!("{a},{b},{y}\n");
    }
    let data = dir.join("data.csv");
    fs::write(&data, csv).unwrap();
    let model = dir.join("model.safetensors");
    let (status, _, err) = run(&[
        "train",
        path(&data),
        "--target",
        "y",
        "--task",
        "regress",
        "--hidden",
        "3",
        "--activation",
        "tanh",
        "--epochs",
        "3",
        "--save",
        path(&model),
    ]);
    assert_eq!(status, 0, "{err}");
    (model, data)
}

/// The model file's metadata entry `key` as a number (the safetensors header read directly).
fn metadata_number(model: &Path, key: &str) -> f64 {
    let bytes = fs::read(model).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
    header["__metadata__"][key]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The node named `name` of `graph --json`.
fn node<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no node {name:?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1e-3)
}

#[test]
fn the_norms_agree_with_predict_and_the_mean_squared_error() {
    let dir = scratch("regression");
    let (model, data) = regression_model(&dir);
    let rows = 5;
    let (status, out, err) = run(&[
        "graph",
        path(&model),
        path(&data),
        "--rows",
        &rows.to_string(),
        "--json",
    ]);
    assert_eq!(status, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();

    // Independently: predict's outputs (in the target's units) on the same rows, standardized
    // with the file's own target statistics, against the true targets.
    let first_rows: String = fs::read_to_string(&data)
        .unwrap()
        .lines()
        .take(rows + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    let few = dir.join("few.csv");
    fs::write(&few, &first_rows).unwrap();
    let (status, predicted, err) = run(&["predict", path(&model), path(&few)]);
    assert_eq!(status, 0, "{err}");
    let (mean, std) = (
        metadata_number(&model, "target_mean"),
        metadata_number(&model, "target_std"),
    );
    let standardize = |v: f64| (v - mean) / std;
    let predictions: Vec<f64> = predicted
        .lines()
        .skip(1)
        .map(|l| standardize(l.parse().unwrap()))
        .collect();
    let targets: Vec<f64> = first_rows
        .lines()
        .skip(1)
        .map(|l| standardize(l.rsplit(',').next().unwrap().parse().unwrap()))
        .collect();
    assert_eq!(predictions.len(), rows);

    let output_norm = predictions.iter().map(|p| p * p).sum::<f64>().sqrt();
    let residuals: Vec<f64> = predictions
        .iter()
        .zip(&targets)
        .map(|(p, y)| p - y)
        .collect();
    let mse = residuals.iter().map(|r| r * r).sum::<f64>() / rows as f64;
    // ∂mse/∂prediction = 2(p − y)/K per row; the output bias is added to every row.
    let bias_gradient = (2.0 / rows as f64 * residuals.iter().sum::<f64>()).abs();
    let output = node(&json, "output");
    assert_eq!(output["shape"], serde_json::json!([rows, 1]));
    let shown = output["value_norm"].as_f64().unwrap();
    assert!(close(shown, output_norm), "{shown} vs {output_norm}");
    let loss = node(&json, "loss");
    assert!(loss["output"].as_bool().unwrap());
    let shown = loss["value_norm"].as_f64().unwrap();
    assert!(close(shown, mse), "{shown} vs {mse}");
    let shown = node(&json, "output.bias")["gradient_norm"]
        .as_f64()
        .unwrap();
    assert!(close(shown, bias_gradient), "{shown} vs {bias_gradient}");
    let output_gradient = 2.0 / rows as f64 * residuals.iter().map(|r| r * r).sum::<f64>().sqrt();
    let shown = output["gradient_norm"].as_f64().unwrap();
    assert!(
        close(shown, output_gradient),
        "{shown} vs {output_gradient}"
    );

    // The data, the targets and the parameters, each by name, with their shapes.
    assert_eq!(node(&json, "features")["kind"], "data");
    assert_eq!(
        node(&json, "features")["shape"],
        serde_json::json!([rows, 2])
    );
    assert_eq!(node(&json, "target")["kind"], "data");
    assert_eq!(node(&json, "hidden1.weight")["kind"], "parameter");
    assert_eq!(
        node(&json, "hidden1")["expression"]
            .as_str()
            .unwrap()
            .split('(')
            .next(),
        Some("tanh")
    );
    // The steps end where the gradients are: every parameter's last running sum is its norm.
    let steps = json["steps"].as_array().unwrap();
    for name in [
        "hidden1.weight",
        "hidden1.bias",
        "output.weight",
        "output.bias",
    ] {
        let last = steps.iter().rfind(|s| s["input"] == name).unwrap();
        assert_eq!(
            last["gradient_so_far_norm"],
            node(&json, name)["gradient_norm"],
            "{name}"
        );
    }
}

#[test]
fn the_pictures_name_the_parameters_and_respect_rows() {
    let dir = scratch("pictures");
    let (model, data) = regression_model(&dir);
    let svg = dir.join("graph.svg");
    let html = dir.join("graph.html");
    let (status, out, err) = run(&[
        "graph",
        path(&model),
        path(&data),
        "--rows",
        "3",
        "--svg",
        path(&svg),
        "--html",
        path(&html),
    ]);
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("on 3 rows of"), "{out}");
    assert!(out.contains("hidden1.weight  parameter"), "{out}");
    let text = fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    let lines: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    for expected in [
        "hidden1.weight (parameter)",
        "hidden1.bias (parameter)",
        "output.weight (parameter)",
        "output.bias (parameter)",
        "features (data)",
        "target (data)",
        "shape [3, 2]",
        "shape [2, 3]",
    ] {
        assert!(lines.contains(&expected), "{expected:?} not in {lines:?}");
    }
    assert!(lines
        .iter()
        .any(|l| l.starts_with("loss = ") && l.ends_with("— L, the loss")));
    // Parameters, data and the loss look different.
    let class_of = |id: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("g") && n.attribute("data-id") == Some(id))
            .and_then(|n| n.attribute("class"))
            .unwrap()
            .to_string()
    };
    assert_eq!(class_of("0"), "node data");
    assert_eq!(class_of("1"), "node parameter");
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.contains("backpropagated one step at a time"));
    assert!(
        page.contains("\"shown_so_far\""),
        "the page walks the steps with norms"
    );
    for fetch in ["src=\"http", "href=\"http", "<link"] {
        assert!(!page.contains(fetch), "{fetch:?} in the page");
    }
}

#[test]
fn a_classifier_with_class_names_reads_them_from_the_target_column() {
    let dir = scratch("classes");
    let model = dir.join("iris.safetensors");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris_named.csv");
    let (status, _, err) = run(&[
        "train",
        path(&data),
        "--target",
        "species",
        "--hidden",
        "4",
        "--epochs",
        "2",
        "--save",
        path(&model),
    ]);
    assert_eq!(status, 0, "{err}");
    let (status, out, err) = run(&["graph", path(&model), path(&data), "--rows", "4", "--json"]);
    assert_eq!(status, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    // Cross-entropy against predict's probabilities of the true classes (all setosa here).
    let few = dir.join("few.csv");
    let head: String = fs::read_to_string(&data)
        .unwrap()
        .lines()
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(head.lines().skip(1).all(|l| l.ends_with(",setosa")));
    fs::write(&few, head).unwrap();
    let (status, predicted, err) = run(&["predict", path(&model), path(&few)]);
    assert_eq!(status, 0, "{err}");
    let header: Vec<&str> = predicted.lines().next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "probability_setosa")
        .unwrap();
    let cross_entropy = predicted
        .lines()
        .skip(1)
        .map(|l| {
            -l.split(',')
                .nth(column)
                .unwrap()
                .parse::<f64>()
                .unwrap()
                .ln()
        })
        .sum::<f64>()
        / 4.0;
    let shown = node(&json, "loss")["value_norm"].as_f64().unwrap();
    assert!(
        (shown - cross_entropy).abs() < 1e-4,
        "{shown} vs {cross_entropy}"
    );
    assert_eq!(node(&json, "output")["shape"], serde_json::json!([4, 3]));
    let daisy = dir.join("daisy.csv");
    let mut text = fs::read_to_string(&few).unwrap();
    text = text
        .replacen(",setosa\n", ",daisy\n", 2)
        .replacen(",daisy\n", ",setosa\n", 1);
    fs::write(&daisy, text).unwrap();
    let (status, _, err) = run(&["graph", path(&model), path(&daisy)]);
    assert_eq!(status, 2);
    assert!(
        err.contains("daisy.csv:3:5: column \"species\": \"daisy\" is not one of the classes")
            && err.contains("setosa, versicolor, virginica"),
        "{err}"
    );
}

#[test]
fn wrong_input_names_the_file_and_field() {
    let dir = scratch("errors");
    let (model, data) = regression_model(&dir);
    let expect_error = |args: &[&str], wanted: &[&str]| {
        let (status, out, err) = run(args);
        assert_eq!(status, 2, "{args:?}: {out}{err}");
        for w in wanted {
            assert!(err.contains(w), "{args:?}: {w:?} not in {err}");
        }
    };
    let missing = dir.join("nope.safetensors");
    expect_error(
        &["graph", path(&missing), path(&data)],
        &["nope.safetensors"],
    );
    expect_error(
        &["graph", path(&model), path(&dir.join("none.csv"))],
        &["none.csv"],
    );
    let no_target = dir.join("no_target.csv");
    fs::write(&no_target, "a,b\n1,2\n").unwrap();
    expect_error(
        &["graph", path(&model), path(&no_target)],
        &["no_target.csv", "no column \"y\"", "model.safetensors"],
    );
    let renamed = dir.join("renamed.csv");
    fs::write(&renamed, "a,c,y\n1,2,3\n").unwrap();
    expect_error(
        &["graph", path(&model), path(&renamed)],
        &["renamed.csv", "missing", "b"],
    );
    let bad_target = dir.join("bad_target.csv");
    fs::write(&bad_target, "a,b,y\n1,2,3\n1,2,high\n").unwrap();
    expect_error(
        &["graph", path(&model), path(&bad_target)],
        &["bad_target.csv:3:3", "column \"y\"", "\"high\""],
    );
    // Only the rows asked for are read.
    let (status, _, err) = run(&["graph", path(&model), path(&bad_target), "--rows", "1"]);
    assert_eq!(status, 0, "{err}");
    expect_error(
        &["graph", path(&model), path(&data), "--rows", "0"],
        &["--rows"],
    );
}

/// A Chromium to open the page in, if this machine has one (the test installs nothing).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

#[test]
fn the_model_page_walks_to_every_gradient_norm_in_a_real_browser() {
    let dir = scratch("browser");
    let (model, data) = regression_model(&dir);
    let html = dir.join("graph.html");
    let (status, out, err) = run(&[
        "graph",
        path(&model),
        path(&data),
        "--rows",
        "3",
        "--html",
        path(&html),
        "--json",
    ]);
    assert_eq!(status, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CHAINRULE_REQUIRE_BROWSER").is_none(),
            "CHAINRULE_REQUIRE_BROWSER is set but no chromium is on PATH"
        );
        eprintln!("skipped: no chromium on this machine (Debian: apt-get install chromium)");
        return;
    };
    // Clicks the end button, then leaves each node's gradient text in the DOM.
    let script = r#"<script>
document.getElementById("last").click();
const out = document.createElement("pre");
out.id = "shown";
out.textContent = JSON.stringify([...document.querySelectorAll("text.grad")].map(t => [Number(t.dataset.id), t.textContent]));
document.body.appendChild(out);
</script>
"#;
    let clicking = dir.join("clicking.html");
    let page = fs::read_to_string(&html).unwrap();
    fs::write(
        &clicking,
        page.replace("</body>", &format!("{script}</body>")),
    )
    .unwrap();
    let output = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("file://{}", clicking.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8(output.stdout).unwrap();
    let start = dom.find("<pre id=\"shown\">").expect("the script ran") + 16;
    let end = start + dom[start..].find("</pre>").unwrap();
    let shown: Vec<(usize, String)> = serde_json::from_str(&dom[start..end]).unwrap();
    let with_gradient = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !n["gradient_norm"].is_null())
        .count();
    assert_eq!(shown.len(), with_gradient);
    for (id, text) in shown {
        let expected = json["nodes"][id]["gradient_norm"].as_f64().unwrap();
        let number: f64 = text
            .trim_start_matches("grad ")
            .trim_start_matches("‖·‖ = ")
            .parse()
            .unwrap_or_else(|_| panic!("node {id} shows {text:?}"));
        assert!(
            (number - expected).abs() <= 1e-5 * expected.max(1.0),
            "node {id}: {text} vs {expected}"
        );
    }
}
