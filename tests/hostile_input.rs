//! Hostile and careless input, as issue 13 found it: each case ends with exit status 0 or 2
//! and one message naming what is at fault — never a panic, an abort, a file replaced that
//! should not be, or a temporary left behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn chainrule() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainrule"))
}

/// Runs the program and returns (exit status, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let output = chainrule().args(args).output().unwrap();
    status_and_text(&output)
}

fn status_and_text(output: &Output) -> (i32, String, String) {
    (
        output.status.code().expect("an exit status, not a signal"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A fresh empty directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chainrule-hostile-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The names in a directory, sorted: what a test checks to see that no temporary is left.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// Item 2: expressions deep or long enough to overflow a recursive parser or evaluator.

#[test]
fn deep_nesting_is_refused_with_a_message() {
    let cases = [
        format!("{}x{}", "(".repeat(6000), ")".repeat(6000)),
        format!("{}x", "-".repeat(30_000)),
        vec!["x"; 40_000].join("^"),
        format!("{}x{}", "tanh(".repeat(5000), ")".repeat(5000)),
    ];
    for expression in &cases {
        let (status, out, err) = run(&["explain", expression, "x=1"]);
        assert_eq!(status, 2, "{err}");
        assert!(out.is_empty());
        assert!(err.contains("nests more than 256 levels deep"), "{err}");
        // The message shows the stretch around the column, not all of the expression.
        assert!(err.len() < 1000, "{} bytes: {}", err.len(), &err[..200]);
        let (status, _, err) = run(&["gradcheck", expression, "x=1"]);
        assert_eq!(status, 2, "{err}");
    }
}

#[test]
fn a_long_flat_expression_is_evaluated() {
    let sum = vec!["x"; 30_000].join("+");
    let (status, out, err) = run(&["explain", &sum, "x=1", "--json"]);
    assert_eq!(status, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["value"], 30_000.0);
    assert_eq!(json["gradients"]["x"], 30_000.0);
    let (status, _, err) = run(&["gradcheck", &sum, "x=0.5"]);
    assert_eq!(status, 0, "{err}");
    // Nesting up to the limit is fine.
    let nested = format!("{}x{}", "(".repeat(200), ")".repeat(200));
    let (status, out, err) = run(&["explain", &nested, "x=2", "--json"]);
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("\"value\": 2.0"), "{out}");
    let powers = vec!["x"; 100].join("^");
    let (status, _, err) = run(&["explain", &powers, "x=1", "--json"]);
    assert_eq!(status, 0, "{err}");
}

#[test]
fn a_literal_beyond_f64_is_refused() {
    let (status, _, err) = run(&["explain", "x + 1e999", "x=1"]);
    assert_eq!(status, 2);
    assert!(err.contains("'1e999' is too large for an f64"), "{err}");
}

#[test]
fn svg_of_a_large_graph_is_refused_before_anything_is_written() {
    let dir = scratch("svg-large");
    let svg = dir.join("g.svg");
    let dot = dir.join("g.dot");
    let sum = vec!["x*y"; 1000].join("+");
    let (status, out, err) = run(&[
        "explain",
        &sum,
        "x=1",
        "y=2",
        "--dot",
        path(&dot),
        "--svg",
        path(&svg),
    ]);
    assert_eq!(status, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("--svg draws graphs of at most"), "{err}");
    assert!(err.contains("--dot"), "{err}");
    assert!(files_in(&dir).is_empty(), "{:?}", files_in(&dir));
}

// Item 5: standard output closed by the reader, or failing.

/// Runs the program with its standard output a pipe whose reading end is closed at once, as
/// `chainrule … | head -0` does.
fn run_into_closed_pipe(args: &[&str]) -> (i32, String) {
    let mut child = chainrule()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let (status, _, err) = status_and_text(&output);
    (status, err)
}

/// Runs the program with its standard output on `/dev/full`, where every write fails.
fn run_into_full_device(args: &[&str]) -> (i32, String) {
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = chainrule().args(args).stdout(full).output().unwrap();
    let (status, _, err) = status_and_text(&output);
    (status, err)
}

/// A small classification CSV whose two classes a linear model separates.
fn small_classes(dir: &Path) -> PathBuf {
    let mut text = String::from("a,b,label\n");
    for i in 0..40 {
        let label = i % 2;
        text += &format!("{},{},{label}\n", i as f64 / 10.0, label as f64 * 2.0 - 1.0);
    }
    let data = dir.join("small.csv");
    fs::write(&data, text).unwrap();
    data
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_failed_write_is_an_error() {
    let dir = scratch("stdout");
    let data = small_classes(&dir);
    let model = dir.join("m.safetensors");
    let train = [
        "train",
        path(&data),
        "--target",
        "label",
        "--hidden",
        "4",
        "--epochs",
        "2",
        "--quiet",
    ];
    let (status, _, err) = run(&[&train[..], &["--save", path(&model)]].concat());
    assert_eq!(status, 0, "{err}");
    let long = vec!["tanh(x)"; 40].join("+");
    let commands: [Vec<&str>; 4] = [
        vec!["explain", &long, "x=0.5"],
        vec!["gradcheck", &long, "x=0.5"],
        train.to_vec(),
        vec!["predict", path(&model), path(&data)],
    ];
    for args in &commands {
        let (status, err) = run_into_closed_pipe(args);
        assert_eq!((status, err.as_str()), (0, ""), "{args:?}");
        let (status, err) = run_into_full_device(args);
        assert_eq!(status, 2, "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output") && err.contains("No space left"),
            "{args:?}: {err}"
        );
    }
}

// Items 3 and 4: crafted model files, and sizes beyond the machine.

/// Trains a small model on `data` (classification, or regression with `--task regress`) and
/// returns its file.
fn small_model(dir: &Path, data: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let model = dir.join(name);
    let args = [
        &[
            "train",
            path(data),
            "--target",
            "label",
            "--hidden",
            "3",
            "--epochs",
            "2",
            "--quiet",
            "--save",
            path(&model),
        ][..],
        extra,
    ]
    .concat();
    let (status, _, err) = run(&args);
    assert_eq!(status, 0, "{err}");
    model
}

/// A safetensors file's JSON header and its tensor data.
fn split_model(bytes: &[u8]) -> (serde_json::Map<String, serde_json::Value>, Vec<u8>) {
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
    (header, bytes[8 + length..].to_vec())
}

fn join_model(header: &serde_json::Map<String, serde_json::Value>, data: &[u8]) -> Vec<u8> {
    let header = serde_json::to_vec(header).unwrap();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend(data);
    bytes
}

/// The model at `model` with its metadata `key` set to `value`, written to `to`.
fn with_metadata(model: &Path, key: &str, value: &str, to: &Path) {
    let (mut header, data) = split_model(&fs::read(model).unwrap());
    header["__metadata__"][key] = value.into();
    fs::write(to, join_model(&header, &data)).unwrap();
}

#[test]
fn crafted_model_files_are_refused_with_the_reason() {
    let dir = scratch("crafted");
    let data = small_classes(&dir);
    let classifier = small_model(&dir, &data, "c.safetensors", &[]);
    let regressor = small_model(&dir, &data, "r.safetensors", &["--task", "regress"]);
    let crafted = dir.join("crafted.safetensors");
    let cases: [(&Path, &str, &str, &str); 9] = [
        (
            &classifier,
            "hidden",
            "[4611686018427387904]",
            "has shape [3, 2]",
        ),
        (&classifier, "hidden", "[100000000000]", "has shape [3, 2]"),
        (
            &classifier,
            "hidden",
            "[3, 3, 3]",
            "which have 8 tensors, but the file holds 4",
        ),
        (&classifier, "hidden", "[0]", "a layer of size 0"),
        (
            &classifier,
            "outputs",
            "100000000000",
            "\"output.weight\" has shape [2, 3]",
        ),
        (
            &regressor,
            "outputs",
            "3",
            "a regression model has 1 output",
        ),
        (&classifier, "features", "[]", "lists no columns"),
        (&classifier, "feature_std", "[1e39, 1]", "not a finite f32"),
        (
            &classifier,
            "chainrule.param.1",
            "weight hidden1.weight",
            "listed a second time",
        ),
    ];
    for (model, key, value, expected) in cases {
        with_metadata(model, key, value, &crafted);
        let (status, out, err) = run(&["predict", path(&crafted), path(&data)]);
        assert_eq!(status, 2, "{key} = {value}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(expected), "{key} = {value}: {err}");
        assert!(err.contains("crafted.safetensors"), "{err}");
    }
    // A NaN weight.
    let (header, mut data_bytes) = split_model(&fs::read(&classifier).unwrap());
    data_bytes[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    fs::write(&crafted, join_model(&header, &data_bytes)).unwrap();
    let (status, _, err) = run(&["predict", path(&crafted), path(&data)]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("NaN, which is not finite"), "{err}");
}

#[test]
fn predict_reads_no_more_of_a_model_than_its_header_announces() {
    // An endless device: refused after its first bytes, not read until memory runs out.
    let dir = scratch("endless");
    let data = small_classes(&dir);
    let started = std::time::Instant::now();
    let (status, _, err) = run(&["predict", "/dev/zero", path(&data)]);
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains("/dev/zero: not a valid safetensors file"),
        "{err}"
    );
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn sizes_beyond_the_machine_are_refused_before_allocating() {
    let dir = scratch("sizes");
    let data = small_classes(&dir);
    let (status, _, err) = run(&[
        "train",
        path(&data),
        "--target",
        "label",
        "--hidden",
        "100000,100000",
        "--quiet",
    ]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("2 → 100000 relu → 100000 relu → 2"), "{err}");
    assert!(err.contains("use smaller --hidden sizes"), "{err}");
    let text = fs::read_to_string(&data).unwrap();
    let big = dir.join("big-label.csv");
    fs::write(&big, text.replacen(",1\n", ",4000000000\n", 1)).unwrap();
    let (status, _, err) = run(&[
        "train",
        path(&big),
        "--target",
        "label",
        "--task",
        "classify",
        "--quiet",
    ]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("largest label, 4000000000"), "{err}");
}

#[test]
fn labels_all_the_same_are_one_class_whatever_the_label() {
    let dir = scratch("one-class");
    let data = dir.join("sevens.csv");
    fs::write(&data, "a,label\n1,7\n2,7\n3,7\n4,7\n5,7\n").unwrap();
    let (status, _, err) = run(&["train", path(&data), "--target", "label", "--quiet"]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("holds only the class 7"), "{err}");
}

#[test]
fn duplicate_columns_are_found_in_linear_time() {
    // 150,000 columns did not finish with a quadratic check; the repeat is the last column.
    let dir = scratch("wide");
    let data = small_classes(&dir);
    let model = small_model(&dir, &data, "m.safetensors", &[]);
    let columns = 150_000;
    let mut text: String = (0..columns).map(|i| format!("c{i},")).collect();
    text += "a,b,label,c7\n";
    let row = "1,".repeat(columns) + "1,1,0,1\n";
    text += &row.repeat(4);
    let wide = dir.join("wide.csv");
    fs::write(&wide, text).unwrap();
    let started = std::time::Instant::now();
    let (status, _, err) = run(&["train", path(&wide), "--target", "label", "--quiet"]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("column \"c7\" appears 2 times"), "{err}");
    let (status, _, err) = run(&["predict", path(&model), path(&wide)]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("column \"c7\" appears 2 times"), "{err}");
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

// Items 6 and 7: numbers finite in f32, and positions as an editor shows them.

#[test]
fn numbers_beyond_f32_are_refused_where_they_are() {
    let dir = scratch("f32");
    let data = small_classes(&dir);
    let model = small_model(&dir, &data, "m.safetensors", &[]);
    let big = dir.join("big.csv");
    fs::write(&big, "a,b,label\n1,2,0\n1e39,2,1\n3,4,0\n3,4,1\n").unwrap();
    let expected = "big.csv:3:1: column \"a\": \"1e39\" is beyond the range of f32";
    let (status, _, err) = run(&["train", path(&big), "--target", "label", "--quiet"]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains(expected), "{err}");
    let (status, out, err) = run(&["predict", path(&model), path(&big)]);
    assert_eq!(status, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains(expected), "{err}");
    // Finite inputs that overflow through the model: an error, not NaN rows with status 0.
    let far = dir.join("far.csv");
    fs::write(&far, "a,b\n1,1\n3e38,-3e38\n").unwrap();
    let (status, out, err) = run(&["predict", path(&model), path(&far)]);
    assert_eq!(status, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("far.csv:3: the model's output for this row is"),
        "{err}"
    );
    // A λ beyond f32 is blamed on --l2, not on the learning rate.
    let (status, _, err) = run(&[
        "train",
        path(&data),
        "--target",
        "label",
        "--l2",
        "1e39",
        "--quiet",
    ]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("'--l2 <LAMBDA>'"), "{err}");
}

#[test]
fn lines_are_counted_as_an_editor_counts_them() {
    let dir = scratch("lines");
    let cases = [
        (
            "crlf.csv",
            "a,label\r\n1,0\r\n2,1\r\n3,x\r\n",
            ":4:2: column \"label\"",
        ),
        (
            "blank.csv",
            "a,label\n1,0\n\n\n2,x\n",
            ":5:2: column \"label\"",
        ),
        (
            "both.csv",
            "a,label\r\n1,0\r\n\r\n\r\n2,x\r\n",
            ":5:2: column \"label\"",
        ),
        (
            "ragged.csv",
            "a,label\r\n1,0\r\n\r\n2,1,3\r\n",
            ":4: the row has 3 fields",
        ),
        ("utf8.csv", "a,label\n1,0\n2,\u{0}\n", ""),
    ];
    for (name, text, expected) in cases {
        let data = dir.join(name);
        let mut bytes = text.as_bytes().to_vec();
        if name == "utf8.csv" {
            // An invalid byte in the second field of line 3.
            let at = bytes.iter().position(|&b| b == 0).unwrap();
            bytes[at] = 0xff;
        }
        fs::write(&data, bytes).unwrap();
        let (status, _, err) = run(&["train", path(&data), "--target", "label", "--quiet"]);
        assert_eq!(status, 2, "{name}: {err}");
        let expected = if name == "utf8.csv" {
            format!("{name}:3: column 2 (\"label\") is not valid UTF-8")
        } else {
            format!("{name}{expected}")
        };
        assert!(err.contains(&expected), "{name}: {err}");
    }
}

// Items 1 and 8: output paths, checked before the work and written all or none.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};

/// Makes a device node like `/dev/null` (1, 3) or `/dev/full` (1, 7) in a scratch directory;
/// `false` where that is not allowed (not root).
fn make_char_device(node: &Path, minor: u32) -> bool {
    Command::new("mknod")
        .args([path(node), "c", "1", &minor.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn special_files_are_written_through_not_replaced() {
    let dir = scratch("special");
    // A FIFO: its reader gets the DOT text, and it stays a FIFO.
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    let (status, out, err) = run(&["explain", "x^2", "x=3", "--dot", path(&fifo)]);
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("∂L/∂x = 6.0"), "{out}");
    assert!(reader.join().unwrap().starts_with("digraph"));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    // A device node: written to, and still a device.
    let null = dir.join("null");
    if make_char_device(&null, 3) {
        let (status, _, err) = run(&["explain", "x^2", "x=3", "--svg", path(&null)]);
        assert_eq!(status, 0, "{err}");
        assert!(fs::symlink_metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device());
    }
    // A symbolic link: its target is written, and the link stays a link, dangling or not.
    for existing in [true, false] {
        let target = dir.join(format!("target-{existing}.dot"));
        if existing {
            fs::write(&target, "old").unwrap();
        }
        let link = dir.join(format!("link-{existing}"));
        std::os::unix::fs::symlink(target.file_name().unwrap(), &link).unwrap();
        let (status, _, err) = run(&["explain", "x^2", "x=3", "--dot", path(&link)]);
        assert_eq!(status, 0, "{err}");
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::read_to_string(&target).unwrap().starts_with("digraph"));
    }
    // No temporary is left anywhere.
    assert!(
        files_in(&dir).iter().all(|n| !n.ends_with(".tmp")),
        "{:?}",
        files_in(&dir)
    );
}

#[test]
fn dash_is_standard_output() {
    let (status, out, err) = run(&["explain", "x^2", "x=3", "--dot", "-"]);
    assert_eq!(status, 0, "{err}");
    assert!(out.starts_with("digraph"), "{out}");
    assert!(
        !out.contains("∂L/∂x = 6.0"),
        "the report gives way to the file: {out}"
    );
    assert!(!Path::new("-").exists());
    let (status, _, err) = run(&["explain", "x^2", "x=3", "--dot", "-", "--svg", "-"]);
    assert_eq!(status, 2);
    assert!(err.contains("--dot and --svg both write to -"), "{err}");
    // A path to the file standard output already is (as /dev/stdout would be): the same as
    // `-`, not a second writer over the report.
    let dir = scratch("dash");
    let out = dir.join("out.txt");
    let file = fs::File::create(&out).unwrap();
    let output = chainrule()
        .args(["explain", "x^2", "x=3", "--dot", path(&out)])
        .stdout(file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("digraph") && text.trim_end().ends_with('}'),
        "{text}"
    );
}

#[test]
fn one_file_for_two_outputs_is_refused_before_the_work() {
    let dir = scratch("same-path");
    let data = small_classes(&dir);
    let target = dir.join("out");
    let link = dir.join("alias");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (status, _, err) = run(&[
        "explain",
        "x^2",
        "x=3",
        "--dot",
        path(&target),
        "--svg",
        path(&link),
    ]);
    assert_eq!(status, 2);
    assert!(err.contains("--dot and --svg both write to"), "{err}");
    let model = dir.join("m.safetensors");
    fs::write(&model, "the old model").unwrap();
    let (status, out, err) = run(&[
        "train",
        path(&data),
        "--target",
        "label",
        "--quiet",
        "--save",
        path(&model),
        "--plot",
        path(&model),
    ]);
    assert_eq!(status, 2);
    assert!(out.is_empty());
    assert!(err.contains("--save and --plot both write to"), "{err}");
    assert_eq!(fs::read_to_string(&model).unwrap(), "the old model");
}

#[test]
fn read_only_targets_and_directories_are_refused_and_modes_kept() {
    let dir = scratch("modes");
    let data = small_classes(&dir);
    let locked = dir.join("locked.dot");
    fs::write(&locked, "keep me").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o444)).unwrap();
    let (status, _, err) = run(&["explain", "x^2", "x=3", "--dot", path(&locked)]);
    assert_eq!(status, 2);
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(fs::read_to_string(&locked).unwrap(), "keep me");
    assert_eq!(
        fs::metadata(&locked).unwrap().permissions().mode() & 0o777,
        0o444
    );
    // A writable file is replaced and keeps its mode.
    let shared = dir.join("shared.dot");
    fs::write(&shared, "old").unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o640)).unwrap();
    let (status, _, err) = run(&["explain", "x^2", "x=3", "--dot", path(&shared)]);
    assert_eq!(status, 0, "{err}");
    assert!(fs::read_to_string(&shared).unwrap().starts_with("digraph"));
    assert_eq!(
        fs::metadata(&shared).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // A path ending in '/' is a directory: refused before training, not after.
    let started = std::time::Instant::now();
    let trailing = format!("{}/", dir.join("newdir").display());
    let (status, out, err) = run(&[
        "train",
        path(&data),
        "--target",
        "label",
        "--quiet",
        "--epochs",
        "500",
        "--save",
        &trailing,
    ]);
    assert_eq!(status, 2);
    assert!(out.is_empty());
    assert!(err.contains("names a directory"), "{err}");
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

#[test]
fn a_failing_output_leaves_the_others_as_they_were() {
    let dir = scratch("all-or-none");
    let data = small_classes(&dir);
    let full = dir.join("full");
    if !make_char_device(&full, 7) {
        return;
    }
    let model = dir.join("m.safetensors");
    fs::write(&model, "the old model").unwrap();
    let (status, out, err) = run(&[
        "train",
        path(&data),
        "--target",
        "label",
        "--quiet",
        "--epochs",
        "2",
        "--save",
        path(&model),
        "--plot",
        path(&full),
    ]);
    assert_eq!(status, 2);
    assert!(out.is_empty());
    assert!(err.contains("cannot write the SVG file"), "{err}");
    assert_eq!(fs::read_to_string(&model).unwrap(), "the old model");
    assert_eq!(files_in(&dir), ["full", "m.safetensors", "small.csv"]);
}

#[test]
fn an_interrupt_while_writing_leaves_no_temporary() {
    // The model's temporary is staged, then writing the plot to a FIFO with no reader blocks:
    // a window held open in which to press Ctrl-C.
    let dir = scratch("interrupt");
    let data = small_classes(&dir);
    let fifo = dir.join("plot.svg");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let model = dir.join("m.safetensors");
    let mut child = chainrule()
        .args([
            "train",
            path(&data),
            "--target",
            "label",
            "--quiet",
            "--epochs",
            "2",
            "--save",
            path(&model),
            "--plot",
            path(&fifo),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !files_in(&dir).iter().any(|n| n.ends_with(".tmp")) {
        assert!(started.elapsed().as_secs() < 30, "{:?}", files_in(&dir));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(files_in(&dir), ["plot.svg", "small.csv"]);
}
