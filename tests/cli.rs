//! The `chainrule` program run as a user runs it: `explain`, `gradcheck`, the files they write,
//! and the message and exit status 2 for each kind of wrong input.

use std::fs;
use std::path::PathBuf;

use assert_cmd::Command;
use chainrule::autodiff::ops::UnaryOp;

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
    let dir = std::env::temp_dir().join(format!("chainrule-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn explain_prints_the_micrograd_gradients_and_the_steps() {
    let (status, out, err) = run(&["explain", "a*b + a", "a=2", "b=-3"]);
    assert_eq!((status, err.as_str()), (0, ""));
    assert!(
        out.starts_with("a*b + a = −4.0 at a = 2.0, b = −3.0"),
        "{out}"
    );
    assert!(out.contains("∂L/∂a = −2.0\n"), "{out}");
    assert!(out.contains("∂L/∂b = 2.0\n"), "{out}");
    // The forward values, then the backward trace with its running sum.
    assert!(out.contains("n2 = a · b    = −6.0"), "{out}");
    assert!(
        out.contains("∂L/∂a += ∂L/∂n2 · ∂n2/∂a = 1.0 · (−3.0) = −3.0"),
        "{out}"
    );
    assert!(out.contains("so far ∂L/∂a = 1.0 + (−3.0) = −2.0"), "{out}");
    let forward = out.find("forward").unwrap();
    let backward = out.find("backward").unwrap();
    let gradients = out.find("gradients of L").unwrap();
    assert!(forward < backward && backward < gradients);
}

#[test]
fn explain_json_is_one_object_with_value_and_gradients() {
    let (status, out, _) = run(&["explain", "a*b + a", "a=2", "b=-3", "--json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["value"], -4.0);
    assert_eq!(json["gradients"]["a"], -2.0);
    assert_eq!(json["gradients"]["b"], 2.0);
    assert_eq!(json["output"], "n3");
    assert_eq!(json["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(json["steps"].as_array().unwrap().len(), 4);
}

#[test]
fn precedence_is_that_of_written_math() {
    // -x^2 = -(x^2); 2^-1 = 0.5; a^b^c = a^(b^c).
    for (expression, value, gradient) in [
        ("-x^2", -9.0, -6.0),
        ("x * 2^-1", 1.5, 0.5),
        ("2^x^2", 512.0, 512.0 * 2f64.ln() * 6.0),
        ("(x - 1) / 2 - x", -2.0, -0.5),
    ] {
        let (status, out, err) = run(&["explain", expression, "x=3", "--json"]);
        assert_eq!(status, 0, "{expression}: {err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["value"], value, "{expression}");
        let g = json["gradients"]["x"].as_f64().unwrap();
        assert!(
            (g - gradient).abs() < 1e-9,
            "{expression}: {g} vs {gradient}"
        );
    }
}

#[test]
fn gradcheck_passes_on_every_function_of_the_language() {
    // One invocation per function, each inside an expression that uses the operators too,
    // at a point away from kinks (relu, abs at 0) and poles (ln, sqrt at 0).
    for (expression, values) in [
        ("exp(x*y) - x", &["x=0.7", "y=-0.4"][..]),
        ("ln(x^2 + y)", &["x=1.3", "y=0.5"]),
        ("sqrt(x) / y", &["x=2.5", "y=1.5"]),
        ("tanh(w*x + b)", &["x=0.5", "w=-1", "b=2"]),
        ("sigmoid(-x) * x", &["x=-0.8"]),
        ("relu(x - y) ^ 2", &["x=1.2", "y=0.2"]),
        ("abs(x) * 3 + 1/x", &["x=-1.7"]),
        ("x ^ y", &["x=1.8", "y=0.6"]),
        // The functions the engine's op table added, with no change to the command line.
        ("sin(x)*cos(x)+log1p(x)+expm1(x)+silu(x)", &["x=0.7"]),
        (
            "softplus(x) * gelu(y) - leaky_relu(x - y, 0.2)",
            &["x=0.3", "y=-1.2"],
        ),
        ("clamp(x, -1, 1) * powf(y, 1.5)", &["x=0.4", "y=2"]),
    ] {
        let mut args = vec!["gradcheck", expression];
        args.extend(values);
        let (status, out, err) = run(&args);
        assert_eq!(status, 0, "{expression}: {out}{err}");
        assert!(out.contains("passed: all"), "{out}");
        assert!(!out.contains("FAIL"), "{out}");
    }
}

/// Runs `explain … --json` and returns (value, gradients by name).
fn explain_json(args: &[&str]) -> (f64, serde_json::Map<String, serde_json::Value>) {
    let mut all = vec!["explain"];
    all.extend(args);
    all.push("--json");
    let (status, out, err) = run(&all);
    assert_eq!(status, 0, "{args:?}: {out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let value = json["value"].as_f64().unwrap();
    (value, json["gradients"].as_object().unwrap().clone())
}

#[test]
fn the_engine_functions_are_in_the_language_softplus_and_gelu() {
    let (x, y) = (0.3f64, -1.2f64);
    let (value, gradients) = explain_json(&["softplus(x)*gelu(y)", "x=0.3", "y=-1.2"]);
    // Closed forms, computed here without the engine.
    let softplus = (1.0 + x.exp()).ln();
    let sigmoid = 1.0 / (1.0 + (-x).exp());
    let k = (2.0 / std::f64::consts::PI).sqrt();
    let t = (k * (y + 0.044715 * y.powi(3))).tanh();
    let gelu = 0.5 * y * (1.0 + t);
    let gelu_slope = 0.5 * (1.0 + t) + 0.5 * y * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * y * y);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * (1.0 + b.abs());
    assert!(
        close(value, softplus * gelu),
        "{value} vs {}",
        softplus * gelu
    );
    let dx = gradients["x"].as_f64().unwrap();
    let dy = gradients["y"].as_f64().unwrap();
    assert!(close(dx, sigmoid * gelu), "∂/∂x {dx} vs {}", sigmoid * gelu);
    assert!(
        close(dy, softplus * gelu_slope),
        "∂/∂y {dy} vs {}",
        softplus * gelu_slope
    );
    assert_eq!(gradients.len(), 2);
}

#[test]
fn functions_with_fixed_numbers_take_them_after_the_argument() {
    let (value, gradients) = explain_json(&["leaky_relu(x, 0.1)", "x=-2"]);
    assert!((value - -0.2).abs() < 1e-15, "{value}");
    assert!((gradients["x"].as_f64().unwrap() - 0.1).abs() < 1e-15);
    // Negative and computed numbers; the gradient is 0 where clamp holds x at its bound.
    let (value, gradients) = explain_json(&["clamp(x, -1, 1) + powf(y, 1/2)", "x=-3", "y=4"]);
    assert_eq!(value, -1.0 + 2.0);
    assert_eq!(gradients["x"], 0.0);
    assert!((gradients["y"].as_f64().unwrap() - 0.25).abs() < 1e-15);
    // The text trace names the op of each node.
    let (status, out, err) = run(&["explain", "leaky_relu(x, 0.1)", "x=-2"]);
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("leaky_relu"), "{out}");
}

#[test]
fn gradcheck_json_has_the_finite_differences_beside_the_gradients() {
    let (status, out, _) = run(&["gradcheck", "a*b + a", "a=2", "b=-3", "--json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["value"], -4.0);
    assert_eq!(json["gradients"]["a"], -2.0);
    assert_eq!(json["gradients"]["b"], 2.0);
    for name in ["a", "b"] {
        let fd = json["finite_differences"][name].as_f64().unwrap();
        let g = json["gradients"][name].as_f64().unwrap();
        assert!((fd - g).abs() < 1e-6);
        assert!(json["abs_errors"][name].as_f64().unwrap() < 1e-6);
        assert!(json["rel_errors"][name].is_number());
    }
    assert_eq!(json["passed"], true);
}

#[test]
fn a_failed_gradcheck_exits_with_status_1() {
    // At relu's kink the engine takes the derivative as 0; the central difference sees 1/2.
    let (status, out, _) = run(&["gradcheck", "relu(x)", "x=0"]);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("FAIL"), "{out}");
    let (status, out, _) = run(&["gradcheck", "relu(x)", "x=0", "--json"]);
    assert_eq!(status, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["finite_differences"]["x"], 0.5);
}

#[test]
fn wrong_input_gets_one_message_and_exit_status_2() {
    let dir = scratch("wrong");
    let missing_dir = dir.join("no/such/dir/graph.svg");
    let missing_dir = missing_dir.to_str().unwrap();
    let a_directory = dir.to_str().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        // A bad expression: the reason, and a caret under the column.
        (
            &["explain", "a*b +", "a=1", "b=2"],
            &[
                "cannot parse the expression",
                "column 6",
                "  a*b +\n       ^",
            ],
        ),
        (
            &["gradcheck", "foo(x)", "x=1"],
            &["unknown function 'foo'", "  foo(x)\n  ^"],
        ),
        // The functions are the engine's table: an unknown name lists them, a missing number
        // is named.
        (
            &["explain", "2 * foo(x)", "x=1"],
            &[
                "unknown function 'foo'",
                "column 5",
                "softplus",
                "leaky_relu(x, slope)",
                "  2 * foo(x)\n      ^",
            ],
        ),
        (
            &["gradcheck", "leaky_relu(x)", "x=1"],
            &[
                "leaky_relu takes 1 number after its argument (slope), found 0",
                "write leaky_relu(x, slope)",
                "column 13",
                "  leaky_relu(x)\n              ^",
            ],
        ),
        (
            &["explain", "clamp(x, y, 1)", "x=1", "y=0"],
            &["the min of clamp must be a number", "column 10"],
        ),
        (
            &["explain", "(x + 1", "x=1"],
            &["expected ')' to close the '(' of column 1"],
        ),
        // A variable of the expression without a value.
        (
            &["explain", "a*b + a", "a=2"],
            &["no value given for the variable b", "  a*b + a\n    ^"],
        ),
        // A value for a variable the expression lacks.
        (
            &["explain", "a*b + a", "a=2", "b=-3", "c=1"],
            &["\"c=1\"", "does not read"],
        ),
        // Malformed name=value.
        (&["explain", "a*b", "a=2", "b"], &["\"b\"", "NAME=NUMBER"]),
        (
            &["explain", "a*b", "a=2", "b=two"],
            &["\"b=two\"", "number"],
        ),
        (
            &["gradcheck", "a*b", "a=2", "3=1", "b=1"],
            &["\"3=1\"", "variable name"],
        ),
        (&["explain", "a*b", "a=2", "a=3", "b=1"], &["given twice"]),
        (&["explain", "2 + 3"], &["has no variables"]),
        (
            &["explain", "x * n2", "x=1", "n2=2"],
            &["the variable n2 (column 5", "would read as a graph node"],
        ),
        // Unwritable files.
        (
            &["explain", "a*b", "a=2", "b=1", "--svg", missing_dir],
            &["cannot write the SVG file", "no/such/dir/graph.svg"],
        ),
        (
            &["explain", "a*b", "a=2", "b=1", "--dot", a_directory],
            &["cannot write the DOT file"],
        ),
    ];
    for (args, expected) in cases {
        let (status, out, err) = run(args);
        assert_eq!(status, 2, "{args:?}: {out}{err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        for part in *expected {
            assert!(err.contains(part), "{args:?}: {part:?} not in\n{err}");
        }
    }
    // Nothing half-written is left behind.
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn usage_errors_exit_2_and_every_command_has_help() {
    assert_eq!(run(&["explain"]).0, 2);
    assert_eq!(run(&["explain", "x", "x=1", "--bogus"]).0, 2);
    assert_eq!(run(&["no-such-command"]).0, 2);
    for args in [
        &["--help"][..],
        &["explain", "--help"],
        &["gradcheck", "--help"],
    ] {
        let (status, out, _) = run(args);
        assert_eq!(status, 0);
        assert!(out.contains("Usage: chainrule"), "{out}");
    }
    let (_, out, _) = run(&["explain", "--help"]);
    assert!(out.contains("--svg <FILE>"), "{out}");
    // The language's functions are the engine's table, each written as it is called.
    for command in ["explain", "gradcheck"] {
        let (_, out, _) = run(&[command, "--help"]);
        let words: Vec<&str> = out
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        for (name, numbers) in UnaryOp::<f64>::functions() {
            assert!(words.contains(&name), "{command}: {name} not in\n{out}");
            if !numbers.is_empty() {
                let usage = format!("{name}(x, {})", numbers.join(", "));
                assert!(out.contains(&usage), "{command}: {usage:?} not in\n{out}");
            }
        }
    }
    let (_, out, _) = run(&["--help"]);
    assert!(["explain", "gradcheck", "train", "predict", "tour"]
        .iter()
        .all(|command| out.contains(command)));
}

#[test]
fn no_arguments_runs_the_tour_with_every_check_passing() {
    let (status, out, err) = run(&[]);
    assert_eq!(status, 0, "{out}{err}");
    let examples = chainrule::material::ALL;
    for (name, _) in examples {
        let line = out
            .lines()
            .find(|line| line.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no tour line for {name}:\n{out}"));
        assert!(line.starts_with('✓'), "{line}");
    }
    let summary = format!("{} of {} checks passed", examples.len(), examples.len());
    assert!(out.contains(&summary), "{out}");
}

#[test]
fn the_svg_file_is_a_picture_with_one_box_per_node() {
    let dir = scratch("svg");
    let path = dir.join("graph.svg");
    let (status, _, err) = run(&[
        "explain",
        "tanh(w*x + b)",
        "x=0.5",
        "w=-1",
        "b=2",
        "--svg",
        path.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{err}");
    let svg = fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    // w, x, b, w·x, +b, tanh.
    let boxes = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("g") && n.attribute("class").is_some_and(|c| c.starts_with("node"))
        })
        .count();
    assert_eq!(boxes, 6);
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(
        text.contains("n5 = tanh(n4)") && text.contains("grad 0.0903533"),
        "{text}"
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn the_dot_file_has_every_node_and_edge() {
    let dir = scratch("dot");
    let path = dir.join("graph.dot");
    let (status, out, _) = run(&[
        "explain",
        "a*b + a",
        "a=2",
        "b=-3",
        "--dot",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(status, 0);
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
    let dot = fs::read_to_string(&path).unwrap();
    assert!(dot.starts_with("digraph"));
    for node in [
        r#"n0 [shape=box, label="a (parameter)\nvalue 2.0\ngrad −2.0""#,
        r#"n1 [shape=box, label="b (parameter)\nvalue −3.0\ngrad 2.0""#,
        r#"n2 [shape=box, label="n2 = a · b\nvalue −6.0\ngrad 1.0"]"#,
        r#"n3 [shape=box, label="n3 = n2 + a — L, the output\nvalue −4.0\ngrad 1.0", color=red"#,
    ] {
        assert!(dot.contains(node), "{node} not in\n{dot}");
    }
    assert_eq!(dot.matches(" [shape=box").count(), 4);
    // One arrow per input read, labelled with the gradient it carried back: a reaches n3
    // directly (1.0) and through n2 (−3.0).
    let edges: Vec<&str> = dot
        .lines()
        .filter(|l| l.contains("->"))
        .map(str::trim)
        .collect();
    assert_eq!(
        edges,
        [
            r#"n0 -> n2 [label="−3.0"];"#,
            r#"n1 -> n2 [label="2.0"];"#,
            r#"n2 -> n3 [label="1.0"];"#,
            r#"n0 -> n3 [label="1.0"];"#
        ]
    );
}

/// micrograd's test_sanity_check (karpathy/micrograd, test/test_engine.py), typed as a program.
const SANITY_CHECK: &str = "x = -4.0
z = 2 * x + 2 + x
q = relu(z) + z * x
h = relu(z * z)
y = h + q + q * x";

/// micrograd's test_more_ops, typed as a program (`**` as `^`, `.relu()` as `relu(…)`).
const MORE_OPS: &str = "a = -4.0; b = 2.0
c = a + b
d = a * b + b^3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + relu(b + a)
d += 3 * d + relu(b - a)
e = c - d
f = e^2
g = f / 2.0
g += 10.0 / f";

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn micrograds_published_programs_give_its_values_and_gradients() {
    let (value, gradients) = explain_json(&[SANITY_CHECK]);
    assert_eq!(value, -20.0);
    assert_eq!(gradients["x"], 46.0);
    let (value, gradients) = explain_json(&[MORE_OPS]);
    assert!(close(value, 24.70408163265306), "{value}");
    let (a, b) = (
        gradients["a"].as_f64().unwrap(),
        gradients["b"].as_f64().unwrap(),
    );
    assert!(close(a, 138.83381924198252), "{a}");
    assert!(close(b, 645.5772594752186), "{b}");
    // A name is one node however often it is read: z is made once and read four times.
    let (status, out, err) = run(&["explain", SANITY_CHECK]);
    assert_eq!(status, 0, "{err}");
    let forward = &out[out.find("forward:").unwrap()..out.find("backward:").unwrap()];
    assert_eq!(forward.matches("\n  z = ").count(), 1, "{out}");
    assert!(out.contains("∂n5/∂z = x = −4.0"), "{out}");
    // ∂L/∂x gathers a contribution from each of its uses, each added to the sum so far.
    let uses = out.matches("∂L/∂x += ").count();
    assert!(uses >= 4, "{uses} contributions to ∂L/∂x:\n{out}");
    assert_eq!(out.matches("so far ∂L/∂x = ").count(), uses - 1, "{out}");
    assert!(out.contains("∂L/∂x = 46.0\n"), "{out}");
    // A name assigned again is a new node, c₂ after c.
    let (_, out, _) = run(&["explain", MORE_OPS]);
    assert!(out.contains("c₂ = ") && out.contains("c₃ = "), "{out}");
}

#[test]
fn programs_come_from_a_file_or_standard_input() {
    let dir = scratch("program-file");
    let file = dir.join("sanity.txt");
    fs::write(
        &file,
        format!("# micrograd's sanity check\n{SANITY_CHECK}\n"),
    )
    .unwrap();
    let (status, out, err) = run(&["explain", "-f", file.to_str().unwrap(), "--json"]);
    assert_eq!(status, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["gradients"]["x"], 46.0);
    let output = chainrule()
        .args(["gradcheck", "-", "w=0.5"])
        .write_stdin("u = w * w\nv = u * w; v + u")
        .output()
        .unwrap();
    let out = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.contains("passed: all 1 gradients"), "{out}");
    // Errors in a file name the file, line and column.
    fs::write(&file, "z = 2*x\ny = z +* x\n").unwrap();
    let (status, _, err) = run(&["explain", "-f", file.to_str().unwrap(), "x=1"]);
    assert_eq!(status, 2);
    assert!(err.contains("sanity.txt:2:8"), "{err}");
    assert!(err.contains("  y = z +* x\n         ^"), "{err}");
}

#[test]
fn program_errors_say_what_is_wrong_and_where() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["explain", "z = x*2\nz + 1\ny = z", "x=1"],
            &["only the last statement", "line 2, column 1"],
        ),
        (
            &["explain", "y = x*2", "x=1", "--data", "y"],
            &["--data names y", "computed by a statement"],
        ),
        (
            &["explain", "y = x*2", "x=1", "--data", "x"],
            &["depends on no parameter"],
        ),
        (
            &["explain", "a = 1; y = a*x", "x=2", "a=3"],
            &["\"a=3\"", "assigns it a value itself"],
        ),
        (
            &["explain", "2 = x", "x=1"],
            &["only a name can be assigned"],
        ),
        (&["explain", "exp = x", "x=1"], &["exp is a function"]),
        (
            &["explain", &vec!["x"; 4000].join("+"), "x=1", "--numeric"],
            &["--numeric", "limited to graphs of 3000 nodes"],
        ),
    ];
    for (args, expected) in cases {
        let (status, out, err) = run(args);
        assert_eq!(status, 2, "{args:?}: {out}{err}");
        for part in *expected {
            assert!(err.contains(part), "{args:?}: {part:?} not in\n{err}");
        }
    }
}

#[test]
fn data_leaves_get_no_gradient_and_are_drawn_apart() {
    let (status, out, err) = run(&[
        "explain",
        "(tanh(w*x + b) - y)^2",
        "x=0.5",
        "w=-1",
        "b=2",
        "y=1",
        "--data",
        "x,y",
        "--json",
    ]);
    assert_eq!(status, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let gradients = json["gradients"].as_object().unwrap();
    assert_eq!(gradients.keys().collect::<Vec<_>>(), ["w", "b"]);
    let kinds: Vec<(&str, &str)> = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] != "op")
        .map(|n| (n["name"].as_str().unwrap(), n["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("w", "parameter"),
            ("x", "data"),
            ("b", "parameter"),
            ("y", "data")
        ]
    );
}

#[test]
fn local_derivatives_are_in_the_nodes_names_with_the_numbers_filled_in() {
    let (status, out, err) = run(&[
        "explain",
        "(tanh(w*x + b) - y)^2 + 1/x - x/2",
        "x=0.5",
        "w=-1",
        "b=2",
        "y=1",
    ]);
    assert_eq!(status, 0, "{err}");
    for line in [
        "∂n6/∂n5 = 1 − n6² = 1 − 0.905148² = 0.180707",
        "∂n4/∂w = x = 0.5\n",
        "∂n8/∂n7 = 2·n7 = 2·(−0.0948517) = −0.189703",
        // Division shows as division, its rule as the quotient rule.
        "∂n10/∂x = −1.0/x² = −1.0/0.5² = −4.0",
        "∂n13/∂x = 1/2.0 = 0.5",
    ] {
        assert!(out.contains(line), "{line:?} not in\n{out}");
    }
    // No internal op names, no −0, one minus sign.
    for word in [
        "add_scalar",
        "mul_scalar",
        "powf",
        "-0",
        "= −0.0\n",
        "(−0.0)",
        "x^(−1",
    ] {
        assert!(!out.contains(word), "{word:?} in\n{out}");
    }
    let (_, out, _) = run(&["explain", "relu(x) * leaky_relu(x, 0.1)", "x=-2"]);
    assert!(out.contains("∂n1/∂x = 0, since x = −2.0 ≤ 0"), "{out}");
    assert!(out.contains("∂n2/∂x = 0.1, since x = −2.0 ≤ 0"), "{out}");
}

#[test]
fn json_steps_replay_the_backward_pass() {
    let (status, out, _) = run(&["explain", "x = 3; y = x*x", "--json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes[1]["inputs"], serde_json::json!(["x", "x"]));
    assert_eq!(nodes[1]["output"], true);
    let steps = json["steps"].as_array().unwrap();
    // x · x: two edges, two contributions of 3.0 that add to 6.0.
    assert_eq!(steps.len(), 2);
    for step in steps {
        assert_eq!(step["input"], "x");
        assert_eq!(step["local_formula"], "x");
        assert_eq!(step["contribution"], 3.0);
    }
    assert_eq!(steps[1]["earlier"], 3.0);
    assert_eq!(steps[1]["gradient_so_far"], 6.0);
    assert_eq!(
        steps[1]["text"],
        "∂L/∂x += ∂L/∂y · ∂y/∂x = 1.0 · 3.0 = 3.0, so far ∂L/∂x = 3.0 + 3.0 = 6.0"
    );
    // Replaying the steps gives every gradient.
    let mut gradient = vec![0.0; nodes.len()];
    gradient[1] = 1.0;
    for step in steps {
        let (node, input) = (
            step["node_id"].as_u64().unwrap() as usize,
            step["input_id"].as_u64().unwrap() as usize,
        );
        gradient[input] += gradient[node] * step["local"].as_f64().unwrap();
    }
    assert_eq!(gradient[0], json["gradients"]["x"].as_f64().unwrap());
}

#[test]
fn numeric_puts_the_numerical_slope_beside_every_gradient() {
    let (status, out, _) = run(&[
        "explain",
        "z = x*w; y = tanh(z) * z",
        "x=0.5",
        "w=-1.5",
        "--json",
        "--numeric",
        "--step",
        "1e-5",
    ]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["step"], 1e-5);
    for node in json["nodes"].as_array().unwrap() {
        let (Some(g), Some(n)) = (node["gradient"].as_f64(), node["numeric"].as_f64()) else {
            continue;
        };
        assert!((g - n).abs() < 1e-8, "{node}");
    }
    let (_, out, _) = run(&["explain", "y = x^3", "x=2", "--numeric"]);
    assert!(out.contains("the numerical slope of every node"), "{out}");
    assert!(out.contains("(numerical slope 1.0)"), "{out}");
}

#[test]
fn gradcheck_takes_a_step_sweeps_steps_and_explains_failures() {
    // A step so large that the truncation error fails the check.
    let (status, _, _) = run(&["gradcheck", "exp(x)", "x=1", "--step", "0.5"]);
    assert_eq!(status, 1);
    let (status, out, _) = run(&["gradcheck", "exp(x)", "x=1", "--step", "1e-4", "--json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["step"], 1e-4);
    // The sweep: the error falls, then rises again; its best step lies strictly inside.
    let (status, out, _) = run(&["gradcheck", "exp(x)", "x=1", "--sweep", "--json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let errors: Vec<f64> = json["sweep"]["x"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["abs_error"].as_f64().unwrap())
        .collect();
    assert_eq!(errors.len(), 12);
    let best = json["sweep"]["x"]["best_step"].as_f64().unwrap();
    assert!((1e-9..=1e-3).contains(&best), "{best}");
    assert!(
        errors[0] > 100.0 * errors[5] && errors[11] > 100.0 * errors[5],
        "{errors:?}"
    );
    let (_, out, _) = run(&["gradcheck", "exp(x)", "x=1", "--sweep"]);
    assert!(out.contains("◀ best"), "{out}");
    // At a kink and at the edge of a domain, the failure is explained in words.
    let (status, out, _) = run(&["gradcheck", "relu(x)", "x=0"]);
    assert_eq!(status, 1);
    assert!(out.contains("has a kink at x = 0.0"), "{out}");
    let (status, out, _) = run(&["gradcheck", "sqrt(x)", "x=1e-9"]);
    assert_eq!(status, 1);
    assert!(out.contains("edge of the function's domain"), "{out}");
    let (_, out, _) = run(&["gradcheck", "relu(x)", "x=0", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(json["reasons"]["x"][0].as_str().unwrap().contains("kink"));
    let (status, _, err) = run(&["gradcheck", "x^2", "x=1", "--step", "0"]);
    assert_eq!(status, 2, "{err}");
}

#[test]
fn a_value_read_twice_draws_two_arrows_and_the_loss_is_marked() {
    let dir = scratch("twice");
    let path = dir.join("g.svg");
    let (status, _, err) = run(&["explain", "y = x*x", "x=3", "--svg", path.to_str().unwrap()]);
    assert_eq!(status, 0, "{err}");
    let svg = fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let edges = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("edge"))
        .count();
    assert_eq!(edges, 2);
    assert!(svg.contains("— L, the output"), "{svg}");
    assert!(svg.contains("stroke=\"#dc2626\""), "{svg}");
}

#[test]
fn a_200_term_sum_draws_in_under_two_seconds() {
    let dir = scratch("svg-200");
    let path = dir.join("sum.svg");
    let sum = (0..200)
        .map(|i| format!("w{i}*x"))
        .collect::<Vec<_>>()
        .join(" + ");
    let mut args = vec![
        "explain".to_string(),
        sum,
        "--svg".into(),
        path.to_str().unwrap().into(),
    ];
    args.extend((0..200).map(|i| format!("w{i}={}", i as f64 / 100.0)));
    args.push("x=0.5".into());
    let start = std::time::Instant::now();
    let output = chainrule().args(&args).output().unwrap();
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(elapsed.as_secs_f64() < 2.0, "{elapsed:?}");
    let svg = fs::read_to_string(&path).unwrap();
    roxmltree::Document::parse(&svg).expect("well-formed XML");
}

/// A Chromium to test the page in, if this machine has one (the test installs nothing).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `url` with `extra` flags, in a fresh profile; returns stdout.
fn headless(browser: &PathBuf, profile: &std::path::Path, extra: &[&str], url: &str) -> String {
    let output = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A script run after the page's own: it works the controls as a user does — the buttons, the
/// arrow key and the slider — and after each action writes down what the page shows (the
/// counter, the step's lines and every node's gradient text), all of it left as JSON in a
/// `<pre id="clicks">` for `--dump-dom` to print.
const CLICKS: &str = r#"<script>
"use strict";
(() => {
  const shown = [];
  const record = action => shown.push({
    action,
    counter: document.getElementById("counter").textContent,
    line: document.getElementById("line").textContent,
    grads: [...document.querySelectorAll("text.grad")].map(t => [Number(t.dataset.id), t.textContent]),
  });
  const click = id => document.getElementById(id).click();
  record("opened");
  click("next"); record("next");
  click("next"); record("next");
  click("back"); record("back");
  document.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight" })); record("ArrowRight");
  const slider = document.getElementById("slider");
  slider.value = slider.max;
  slider.dispatchEvent(new Event("input")); record("slider to the end");
  click("first"); record("start");
  click("last"); record("end");
  const out = document.createElement("pre");
  out.id = "clicks";
  out.textContent = JSON.stringify(shown);
  document.body.appendChild(out);
})();
</script>
"#;

/// What the page showed after each action of [`CLICKS`], from the dumped DOM.
fn clicked(dom: &str) -> Vec<serde_json::Value> {
    let start = dom
        .find("<pre id=\"clicks\">")
        .expect("the click script ran")
        + 17;
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str::<serde_json::Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The node ids whose gradient the page shows as known after an action.
fn known(action: &serde_json::Value) -> Vec<u64> {
    action["grads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g[1] != "grad ?")
        .map(|g| g[0].as_u64().unwrap())
        .collect()
}

#[test]
fn the_html_page_walks_the_backward_pass_in_a_real_browser() {
    let dir = scratch("html");
    let page = dir.join("page.html");
    let (status, _, err) = run(&[
        "explain",
        SANITY_CHECK,
        "--numeric",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{err}");
    let html = fs::read_to_string(&page).unwrap();
    // One self-contained file: nothing is fetched when it is viewed.
    for fetch in ["src=\"http", "href=\"http", "<link", "import "] {
        assert!(!html.contains(fetch), "{fetch:?} in the page");
    }
    let (status, out, _) = run(&["explain", SANITY_CHECK, "--numeric", "--json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let steps = json["steps"].as_array().unwrap().len();
    let Some(browser) = chromium() else {
        // `.ci/run` installs Chromium and sets this, so that CI never skips the test.
        assert!(
            std::env::var_os("CHAINRULE_REQUIRE_BROWSER").is_none(),
            "CHAINRULE_REQUIRE_BROWSER is set but no chromium is on PATH"
        );
        eprintln!("skipped: no chromium on this machine (Debian: apt-get install chromium)");
        return;
    };
    let profile = dir.join("profile");
    // The page as it is, with the clicking script after its own.
    let clicking = dir.join("clicking.html");
    fs::write(
        &clicking,
        html.replace("</body>", &format!("{CLICKS}</body>")),
    )
    .unwrap();
    let dom = headless(
        &browser,
        &profile,
        &["--dump-dom"],
        &format!("file://{}", clicking.display()),
    );
    let actions = clicked(&dom);
    let [opened, next, next2, back, key, slid, start, end] = &actions[..] else {
        panic!("{actions:?}");
    };
    let nodes = json["nodes"].as_array().unwrap().len();
    assert_eq!(opened["grads"].as_array().unwrap().len(), nodes);
    // Before any step only the output's gradient, the seed, is known.
    assert_eq!(known(opened), [11], "{opened}");
    assert_eq!(opened["counter"], format!("step 0 of {steps}"));
    assert!(opened["grads"][11][1] == "grad 1.0", "{opened}");
    // One click on next fills in one more gradient, and the page shows the step's line.
    assert_eq!(known(next).len(), 2, "{next}");
    assert_eq!(next["counter"], format!("step 1 of {steps}"));
    let line = next["line"].as_str().unwrap();
    assert!(
        line.contains("∂L/∂n9 += ∂L/∂y · ∂y/∂n9 = 1.0 · 1.0 = 1.0"),
        "{line}"
    );
    assert_eq!(next2["counter"], format!("step 2 of {steps}"));
    // Back undoes the step; the arrow key redoes it.
    assert_eq!(back["grads"], next["grads"]);
    assert_eq!(back["line"], next["line"]);
    assert_eq!(
        (&key["grads"], &key["counter"]),
        (&next2["grads"], &next2["counter"])
    );
    // The slider at its end and the end button show every gradient, equal to --json's.
    assert_eq!(slid["counter"], format!("step {steps} of {steps}"));
    assert_eq!(end["grads"], slid["grads"]);
    for shown in slid["grads"].as_array().unwrap() {
        let id = shown[0].as_u64().unwrap() as usize;
        let text = shown[1].as_str().unwrap();
        let expected = json["nodes"][id]["gradient"].as_f64().unwrap();
        let value: f64 = text
            .trim_start_matches("grad ")
            .replace('−', "-")
            .parse()
            .unwrap_or_else(|_| panic!("node {id} shows {text:?}"));
        assert!(
            (value - expected).abs() <= 1e-5 * expected.abs().max(1.0),
            "node {id}: {value} vs {expected}"
        );
    }
    // The start button goes back to the seed alone.
    assert_eq!(start["grads"], opened["grads"]);
    // A screenshot of the page opened at a step by its address, as the README's was made.
    let url = |k: usize| format!("file://{}#step={k}", page.display());
    let screenshot = dir.join("page.png");
    headless(
        &browser,
        &profile,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1100,640",
        ],
        &url(7),
    );
    let png = fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
}
