//! Fuzzing on stable Rust, for the three parsers users feed: the expression language of
//! `explain`, the CSV loader and the model-file loader. Inputs are random, or valid files
//! mutated by a small seeded mutator (bit flips, interesting bytes, inserted, deleted and
//! repeated runs, splices, truncation, and numbers in a model's JSON header swapped for
//! extreme ones).
//!
//! The invariants: no panic (in process) and no crash (the program exits 0 or 2, never 101 or
//! by a signal), a bounded time per input, and round trips where they exist — an expression
//! printed with and without redundant parentheses gives the same value, and a model file that
//! loads, saved again, predicts the same.
//!
//! In `cargo test` each target runs a fixed number of cases (seconds in all). `bench/fuzz.sh
//! SECONDS` sets `CHAINRULE_FUZZ_SECONDS` to run each for that long, from a seed taken from
//! the clock (set `CHAINRULE_FUZZ_SEED` to replay one). A failing input is written under
//! `target/fuzz-failures/` and the message names it and the seed.

use std::collections::BTreeMap;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chainrule_train::{load_csv, load_weights, save_weights, Task};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The longest one input may take, through the program.
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// How long to run, and from which seed.
struct Budget {
    cases: usize,
    until: Option<Instant>,
    seed: u64,
}

impl Budget {
    fn new(cases_in_ci: usize) -> Budget {
        let seconds: Option<u64> = std::env::var("CHAINRULE_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok());
        let seed = std::env::var("CHAINRULE_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(match seconds {
                Some(_) => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64),
                None => 13,
            });
        Budget {
            cases: cases_in_ci,
            until: seconds.map(|s| Instant::now() + Duration::from_secs(s)),
            seed,
        }
    }

    fn more(&self, done: usize) -> bool {
        match self.until {
            Some(until) => Instant::now() < until,
            None => done < self.cases,
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chainrule-fuzz-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Keeps a failing input and fails the test with where it is.
fn fail(target: &str, seed: u64, case: usize, input: &[u8], what: &str) -> ! {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{target}-{seed}-{case}"));
    fs::write(&file, input).unwrap();
    panic!(
        "{target}: case {case} of seed {seed} (CHAINRULE_FUZZ_SEED={seed}): {what}; input in {}",
        file.display()
    );
}

/// Runs the program with a time limit; its exit status (`None` for a signal or the time limit)
/// and its stdout and stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chainrule"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Read both pipes on threads, so a large output cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

/// The mutator: one to four edits of `input`, drawn from `rng`; `others` are spliced from.
fn mutate(rng: &mut StdRng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    const INTERESTING: &[u8] = b"\0\xff{}[]\",:\n\r-+.e9(^)x ";
    let mut bytes = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let len = bytes.len();
        let at = if len == 0 { 0 } else { rng.gen_range(0..len) };
        match rng.gen_range(0..8) {
            0 if len > 0 => bytes[at] ^= 1 << rng.gen_range(0..8),
            1 if len > 0 => bytes[at] = INTERESTING[rng.gen_range(0..INTERESTING.len())],
            2 => {
                let byte = INTERESTING[rng.gen_range(0..INTERESTING.len())];
                let count = rng.gen_range(1..=16);
                bytes.splice(at..at, std::iter::repeat_n(byte, count));
            }
            3 if len > 0 => {
                let end = (at + rng.gen_range(1..=32)).min(len);
                bytes.drain(at..end);
            }
            4 if len > 0 => {
                // A run repeated: long lines, deep nesting.
                let end = (at + rng.gen_range(1..=8)).min(len);
                let run: Vec<u8> = bytes[at..end].to_vec();
                let most = if rng.gen_bool(0.1) { 3000 } else { 20 };
                let times = rng.gen_range(2..=most);
                let repeated: Vec<u8> = run
                    .iter()
                    .copied()
                    .cycle()
                    .take(run.len() * times)
                    .collect();
                bytes.splice(at..at, repeated);
            }
            5 if !others.is_empty() => {
                let other = &others[rng.gen_range(0..others.len())];
                if !other.is_empty() {
                    let from = rng.gen_range(0..other.len());
                    let to = (from + rng.gen_range(1..=64)).min(other.len());
                    bytes.splice(at..at, other[from..to].iter().copied());
                }
            }
            6 => bytes.truncate(at),
            _ => {
                let count = rng.gen_range(1..=8);
                bytes.splice(at..at, (0..count).map(|_| rng.gen::<u8>()));
            }
        }
    }
    bytes
}

// The expression language, through the program.

/// A random expression as a tree, printed two ways.
enum Gen {
    Number(f64),
    Variable(&'static str),
    Neg(Box<Gen>),
    Binary(char, Box<Gen>, Box<Gen>),
    Call(&'static str, Box<Gen>),
}

fn generate(rng: &mut StdRng, depth: usize) -> Gen {
    if depth == 0 || rng.gen_bool(0.25) {
        return if rng.gen_bool(0.5) {
            Gen::Number([0.0, 0.5, 1.0, 2.0, 3.0, 1e-3, 1e300][rng.gen_range(0..7)])
        } else {
            Gen::Variable(["x", "y"][rng.gen_range(0..2)])
        };
    }
    let next = |rng: &mut StdRng| Box::new(generate(rng, depth - 1));
    match rng.gen_range(0..4) {
        0 => Gen::Neg(next(rng)),
        1 => Gen::Call(
            ["tanh", "exp", "sigmoid", "sqrt", "ln", "relu"][rng.gen_range(0..6)],
            next(rng),
        ),
        _ => Gen::Binary(
            ['+', '-', '*', '/', '^'][rng.gen_range(0..5)],
            next(rng),
            next(rng),
        ),
    }
}

/// How tightly a node binds: + − 1, * / 2, unary minus 3, ^ 4, anything else 5.
fn level(e: &Gen) -> u8 {
    match e {
        Gen::Binary('+' | '-', ..) => 1,
        Gen::Binary('*' | '/', ..) => 2,
        Gen::Neg(_) => 3,
        Gen::Binary(..) => 4,
        _ => 5,
    }
}

/// The expression with parentheses only where the grammar needs them (`full`: around every
/// operation).
fn print(e: &Gen, full: bool) -> String {
    let wrap = |child: &Gen, needed: u8| {
        let text = print(child, full);
        if level(child) < needed || (full && level(child) < 5) {
            format!("({text})")
        } else {
            text
        }
    };
    match e {
        Gen::Number(n) => format!("{n:?}"),
        Gen::Variable(v) => v.to_string(),
        Gen::Neg(x) => format!("-{}", wrap(x, 3)),
        Gen::Call(name, x) => format!("{name}({})", print(x, full)),
        Gen::Binary(op, a, b) => {
            // Left-associative levels take their own level on the left, one more on the
            // right; ^ takes a primary below and a unary (or another ^) above.
            let (left, right) = match op {
                '+' | '-' => (1, 2),
                '*' | '/' => (2, 3),
                _ => (5, 3),
            };
            format!("{} {op} {}", wrap(a, left), wrap(b, right))
        }
    }
}

/// The value `explain --json` prints, if it exits 0; fails on anything but exit 0 or 2.
fn explain_value(source: &str, seed: u64, case: usize) -> Option<serde_json::Value> {
    // After `--`, so that a source that reads as a flag (`-h`) is taken as the expression:
    // without it, `explain -h` is the help text, exit 0, rightly.
    let mut args = vec!["explain", "--json", "--", source];
    if source.contains('x') {
        args.push("x=0.7");
    }
    if source.contains('y') {
        args.push("y=-1.3");
    }
    let (status, out, err) = run(&args);
    match status {
        Some(0) => match serde_json::from_str::<serde_json::Value>(&out) {
            Ok(json) => Some(json["value"].clone()),
            Err(e) => fail(
                "expression",
                seed,
                case,
                source.as_bytes(),
                &format!("exit 0 but --json printed no JSON ({e}): {out:?}"),
            ),
        },
        Some(2) => None,
        other => fail(
            "expression",
            seed,
            case,
            source.as_bytes(),
            &format!("{other:?}: {err}"),
        ),
    }
}

#[test]
fn fuzz_the_expression_language() {
    let budget = Budget::new(100);
    let mut rng = StdRng::seed_from_u64(budget.seed);
    let seeds: Vec<Vec<u8>> = [
        "tanh(w*x + b)",
        "a*b + a",
        "leaky_relu(x, 0.1) * softplus(y)",
        "clamp(x, -1, 1)^2 - powf(y, 1/3)",
        "-x^2^-y / (1 - ((x)))",
        "sigmoid(a*b) / sqrt(c)",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let mut case = 0;
    while budget.more(case) {
        // A generated expression: its two printings agree.
        let tree = generate(&mut rng, 6);
        let (minimal, full) = (print(&tree, false), print(&tree, true));
        let a = explain_value(&minimal, budget.seed, case);
        let b = explain_value(&full, budget.seed, case);
        let same = match (&a, &b) {
            (Some(a), Some(b)) => a == b || (a.is_null() && b.is_null()),
            (None, None) => true,
            _ => false,
        };
        if !same {
            let both = format!("{minimal}\n{full}");
            fail(
                "expression",
                budget.seed,
                case,
                both.as_bytes(),
                &format!("{a:?} vs {b:?}"),
            );
        }
        // A mutated one: exit 0 or 2, whatever it is.
        let seed = &seeds[rng.gen_range(0..seeds.len())];
        let mutated = mutate(&mut rng, seed, &seeds);
        let text = String::from_utf8_lossy(&mutated).replace('\0', " ");
        explain_value(&text, budget.seed, case);
        case += 1;
    }
}

// The CSV loader, in process.

#[test]
fn fuzz_the_csv_loader() {
    let budget = Budget::new(1000);
    let mut rng = StdRng::seed_from_u64(budget.seed);
    let dir = scratch("csv");
    let iris = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv")).unwrap();
    let seeds: Vec<Vec<u8>> = vec![
        iris[..iris.len().min(600)].to_vec(),
        b"a,b,label\r\n1,2,0\r\n\r\n3,4,1\r\n".to_vec(),
        b"\"a\",\"b, c\",label\n1,\"2\",0\n".to_vec(),
    ];
    let file = dir.join("data.csv");
    let mut case = 0;
    while budget.more(case) {
        let seed = &seeds[rng.gen_range(0..seeds.len())];
        let input = mutate(&mut rng, seed, &seeds);
        fs::write(&file, &input).unwrap();
        for (target, task) in [
            ("target", Task::Classification),
            ("label", Task::Regression),
        ] {
            let loaded = catch_unwind(AssertUnwindSafe(|| load_csv::<f32>(&file, target, task)));
            match loaded {
                Err(_) => fail("csv", budget.seed, case, &input, "load_csv panicked"),
                Ok(Ok(data)) => {
                    let finite = data.features().as_slice().iter().all(|v| v.is_finite());
                    if !finite {
                        fail(
                            "csv",
                            budget.seed,
                            case,
                            &input,
                            "a non-finite feature loaded",
                        );
                    }
                }
                Ok(Err(e)) => {
                    // Every message names the file.
                    if !e.to_string().contains("data.csv") {
                        fail("csv", budget.seed, case, &input, &format!("message: {e}"));
                    }
                }
            }
        }
        case += 1;
    }
}

// The model-file loader: in process for every input, through `predict` for some.

#[test]
fn fuzz_the_model_loader() {
    let budget = Budget::new(500);
    let mut rng = StdRng::seed_from_u64(budget.seed);
    let dir = scratch("model");
    let data = dir.join("data.csv");
    let mut text = String::from("a,b,label\n");
    for i in 0..30 {
        text += &format!("{},{},{}\n", i as f32 / 7.0, (i * 3 % 11) as f32, i % 3);
    }
    fs::write(&data, text).unwrap();
    let model = dir.join("model.safetensors");
    let (status, _, err) = run(&[
        "train",
        data.to_str().unwrap(),
        "--target",
        "label",
        "--hidden",
        "4,3",
        "--epochs",
        "3",
        "--quiet",
        "--save",
        model.to_str().unwrap(),
    ]);
    assert_eq!(status, Some(0), "{err}");
    let valid = fs::read(&model).unwrap();
    let seeds = vec![valid.clone()];
    let extremes = [
        "4611686018427387904",
        "100000000000",
        "0",
        "-1",
        "1e39",
        "NaN",
        "3",
    ];

    let input = dir.join("input.safetensors");
    let again = dir.join("again.safetensors");
    let mut case = 0;
    while budget.more(case) {
        let bytes = if case == 0 {
            valid.clone()
        } else if rng.gen_bool(0.3) {
            with_extreme_number(&mut rng, &valid, &extremes)
        } else {
            mutate(&mut rng, &valid, &seeds)
        };
        fs::write(&input, &bytes).unwrap();
        let loaded = catch_unwind(AssertUnwindSafe(|| load_weights::<f32>(&input)));
        let file = match loaded {
            Err(_) => fail("model", budget.seed, case, &bytes, "load_weights panicked"),
            Ok(Err(_)) => None,
            Ok(Ok(file)) => Some(file),
        };
        // Through the program: the first, every loadable one and a few others.
        if case == 0 || file.is_some() || case % 10 == 0 {
            let (status, out, err) =
                run(&["predict", input.to_str().unwrap(), data.to_str().unwrap()]);
            if !matches!(status, Some(0 | 2)) {
                fail(
                    "model",
                    budget.seed,
                    case,
                    &bytes,
                    &format!("{status:?}: {err}"),
                );
            }
            if case == 0 && status != Some(0) {
                panic!("the valid model does not predict: {err}");
            }
            // Round trip: what loads, saved again, predicts the same.
            if let Some(file) = &file {
                let metadata: BTreeMap<String, String> = file.metadata.clone();
                save_weights(&again, &file.params, &metadata).unwrap();
                let (status_again, out_again, _) =
                    run(&["predict", again.to_str().unwrap(), data.to_str().unwrap()]);
                if (status, &out) != (status_again, &out_again) {
                    fail(
                        "model",
                        budget.seed,
                        case,
                        &bytes,
                        "saved again, it predicts otherwise",
                    );
                }
            }
        }
        case += 1;
    }
}

/// The file with one number in its JSON header replaced by an extreme one, and the header's
/// length prefix fixed to match, so the change reaches the checks past the framing.
fn with_extreme_number(rng: &mut StdRng, file: &[u8], extremes: &[&str]) -> Vec<u8> {
    let length = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8_lossy(&file[8..8 + length]).into_owned();
    let digits: Vec<usize> = header
        .char_indices()
        .filter(|(i, c)| {
            c.is_ascii_digit() && !header[..*i].ends_with(|p: char| p.is_ascii_digit())
        })
        .map(|(i, _)| i)
        .collect();
    if digits.is_empty() {
        return file.to_vec();
    }
    let start = digits[rng.gen_range(0..digits.len())];
    let end = header[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(header.len(), |n| start + n);
    let extreme = extremes[rng.gen_range(0..extremes.len())];
    let header = format!("{}{extreme}{}", &header[..start], &header[end..]);
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(&file[8 + length..]);
    bytes
}
