//! The material, model by model. Each module reproduces one section of the course the project
//! comes from — linear regression by gradient descent up to LSTMs and skip connections — as a
//! graph trained by the one generic backward pass, and checks what it learned against an answer
//! computed another way (a closed form, a known optimum, a threshold on held-out data).
//!
//! Every module has the same shape: `run(out)` narrates in the material's terms to `out` (the
//! standalone example passes stdout, the tour and `--json` pass a sink) and returns an
//! [`Outcome`]: a one-line summary of what was learned, the check and whether it passed, and the
//! results under plain JSON keys. `examples/NAME.rs` in the root package is a thin wrapper; the
//! `chainrule` program with no arguments runs them all in order (the tour).

#![warn(missing_docs)]

pub mod breast_cancer;
pub mod buy_or_not;
pub mod cnn_digits;
pub mod digits_mlp;
pub mod iris_softmax;
pub mod lstm;
pub mod micrograd;
pub mod multiple_regression;
pub mod optimizers;
pub mod overfitting;
pub mod picture;
pub mod tour;
pub mod train_ticket;
pub mod vanishing_gradients;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What one model of the material learned, and how it measured up.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The example's name (`"train_ticket"`).
    pub name: &'static str,
    /// What was learned, in one line and in the material's terms (`"w = 0.125 €/km, b = 17.5 €"`).
    pub learned: String,
    /// The independent check, in one line (`"the exact line through both points, to 1e-3"`).
    pub check: String,
    /// Whether the check passed.
    pub passed: bool,
    /// The results under plain keys (`w`, `b`, `cost`, `test_accuracy`, …), for scripts.
    pub json: serde_json::Value,
}

impl Outcome {
    /// The JSON object `--json` prints: the results plus `name`, `check` and `passed`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = match &self.json {
            serde_json::Value::Object(map) => map.clone(),
            other => {
                let mut map = serde_json::Map::new();
                map.insert("result".into(), other.clone());
                map
            }
        };
        object.insert("name".into(), self.name.into());
        object.insert("check".into(), self.check.clone().into());
        object.insert("passed".into(), self.passed.into());
        serde_json::Value::Object(object)
    }
}

/// Why an example could not run.
#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    /// A bundled data file could not be read.
    #[error(transparent)]
    Data(#[from] chainrule_train::DataError),
    /// Splitting the data failed.
    #[error(transparent)]
    Split(#[from] chainrule_train::SplitError),
    /// Training failed (a NaN loss, say).
    #[error(transparent)]
    Fit(#[from] chainrule_train::FitError),
    /// A picture could not be drawn or written.
    #[error("drawing {}: {reason}", path.display())]
    Plot {
        /// The picture's file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Writing the narrative failed.
    #[error("writing the report: {0}")]
    Io(#[from] io::Error),
}

/// An example's entry point: narrates to `out`, returns what it learned.
pub type RunFn = fn(&mut dyn Write) -> Result<Outcome, MaterialError>;

/// Every example in the order of the material, as the tour runs them.
pub const ALL: [(&str, RunFn); 11] = [
    ("train_ticket", train_ticket::run),
    ("buy_or_not", buy_or_not::run),
    ("multiple_regression", multiple_regression::run),
    ("overfitting", overfitting::run),
    ("breast_cancer", breast_cancer::run),
    ("iris_softmax", iris_softmax::run),
    ("digits_mlp", digits_mlp::run),
    ("cnn_digits", cnn_digits::run),
    ("vanishing_gradients", vanishing_gradients::run),
    ("lstm", lstm::run),
    ("optimizers", optimizers::run),
];

/// The path of a bundled data file (`data/NAME` in the repository).
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data")).join(name)
}

/// An example's entry point that can also draw a picture into a file (`--plot FILE`).
pub type PlotRunFn = fn(&mut dyn Write, Option<&Path>) -> Result<Outcome, MaterialError>;

/// The `main` of an example binary: prose by default, one JSON object with `--json`.
/// Exit status 0 when the check passed, 1 when it failed, 2 on bad arguments or an error.
pub fn example_main(run: RunFn) -> ExitCode {
    main_with(
        |out, plot| match plot {
            None => run(out),
            Some(_) => unreachable!("plots are refused for this example"),
        },
        false,
    )
}

/// [`example_main`] for an example that also takes `--plot FILE` (an SVG picture).
pub fn example_main_with_plot(run: PlotRunFn) -> ExitCode {
    main_with(run, true)
}

fn main_with(
    run: impl Fn(&mut dyn Write, Option<&Path>) -> Result<Outcome, MaterialError>,
    plots: bool,
) -> ExitCode {
    let options = if plots {
        "--json and --plot FILE"
    } else {
        "--json"
    };
    let mut json = false;
    let mut plot: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" if !json => json = true,
            "--plot" if plots && plot.is_none() => match args.next() {
                Some(path) => plot = Some(PathBuf::from(path)),
                None => {
                    eprintln!("error: --plot needs a file name");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("error: unexpected argument {arg:?}; the options are {options}");
                return ExitCode::from(2);
            }
        }
    }
    let result = if json {
        run(&mut io::sink(), plot.as_deref())
    } else {
        run(&mut io::stdout().lock(), plot.as_deref())
    };
    match result {
        Ok(outcome) => {
            if json {
                println!("{}", outcome.to_json());
            } else {
                let mark = if outcome.passed { "✓" } else { "✗" };
                println!("\n{mark} learned: {}", outcome.learned);
                println!("{mark} check: {}", outcome.check);
            }
            if outcome.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
