//! What can be wrong with a command line's input, each said in one message that names what and
//! where — the expression and column, or the file, line and column. All of them end the
//! program with exit status 2, as clap's own usage errors do.

use std::io;
use std::path::PathBuf;

use chainrule_train::{DataError, FitError, WeightsError};

use super::parse::ParseError;

/// Wrong input to any subcommand; its message is the one line (or, for an expression, the line
/// and a caret under it) printed after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot export {}: {reason}", model.display())]
    Export { model: PathBuf, reason: String },

    #[error(
        "cannot parse the {}: {} ({})\n{}",
        input.what(),
        error.message,
        input.position(error.column),
        input.pointer(error.column)
    )]
    Parse { input: Source, error: ParseError },

    #[error(
        "no value given for the variable {name} ({} of the {}); add {name}=NUMBER\n{}",
        input.position(*column),
        input.what(),
        input.pointer(*column)
    )]
    MissingValue {
        name: String,
        column: usize,
        input: Source,
    },

    #[error(
        "the variable {name} ({} of the {}) would read as a graph node, which \
         are named n0, n1, …; call it something else\n{}",
        input.position(*column),
        input.what(),
        input.pointer(*column)
    )]
    NodeName {
        name: String,
        column: usize,
        input: Source,
    },

    #[error("--data names {name}, which is not a variable of the {what}{hint}")]
    NotData {
        name: String,
        what: &'static str,
        hint: &'static str,
    },

    #[error(
        "the output depends on no parameter (every variable is data, marked by --data), so \
         there is nothing to differentiate; leave at least one variable out of --data"
    )]
    NothingToDifferentiate,

    #[error("cannot read the program {}: {error}", path.display())]
    ReadProgram { path: PathBuf, error: io::Error },

    #[error("{reason}")]
    Usage { reason: String },

    #[error(
        "{argument:?} gives a value for a variable that the {what} {shown} does not read{hint}"
    )]
    UnusedValue {
        argument: String,
        what: &'static str,
        shown: String,
        hint: &'static str,
    },

    #[error("{argument:?} is not a variable's value: {reason}")]
    MalformedValue { argument: String, reason: String },

    #[error("the variable {name} is given twice: {first:?} and {second:?}")]
    GivenTwice {
        name: String,
        first: String,
        second: String,
    },

    #[error(
        "the {what} {shown} has no variables, so there is nothing to differentiate; \
         write it in variables and give their values (x^2 x=3)"
    )]
    NoVariables { what: &'static str, shown: String },

    #[error(
        "--svg draws graphs of at most {max} nodes (the layout takes too long beyond that), but \
         this one has {nodes}; write it with --dot FILE and draw it with Graphviz"
    )]
    GraphTooLarge { nodes: usize, max: usize },

    #[error(
        "{first} and {second} both write to {}, so one would be lost; give them different paths",
        path.display()
    )]
    SameOutput {
        first: &'static str,
        second: &'static str,
        path: PathBuf,
    },

    #[error("cannot write the {what} file {}: {error}", path.display())]
    Write {
        what: &'static str,
        path: PathBuf,
        error: io::Error,
    },

    /// A data or split file that cannot be read, or a bad cell in it: the message names the
    /// file, the line and the column.
    #[error(transparent)]
    Data(#[from] DataError),

    /// The report could not be written to standard output.
    #[error("cannot write to standard output: {0}")]
    Output(std::io::Error),

    /// A weight file that cannot be read or written.
    #[error(transparent)]
    Weights(#[from] WeightsError),

    /// The data has no column but the target.
    #[error(
        "{}: every column is the target {target:?}; there are no feature columns to learn from",
        path.display()
    )]
    NoFeatures { path: PathBuf, target: String },

    /// Class labels that are all the same.
    #[error(
        "{}: the target column {target:?} holds only the class {class}; classification needs at least \
         two classes (use --task regress for a numeric target)",
        path.display()
    )]
    OneClass {
        path: PathBuf,
        target: String,
        class: String,
    },

    /// A `--split-file` for another number of rows.
    #[error(
        "{}: the split file assigns {assigned} rows, but the data file {} has {rows}",
        split.display(),
        data.display()
    )]
    SplitLength {
        split: PathBuf,
        data: PathBuf,
        assigned: usize,
        rows: usize,
    },

    /// A split that leaves the training or validation set without rows.
    #[error(
        "{}: splitting {rows} rows {split} leaves the {part} set empty; give it a \
         larger share with --split (the training and validation sets need at least one row each)",
        path.display()
    )]
    EmptyPart {
        path: PathBuf,
        rows: usize,
        split: String,
        part: &'static str,
    },

    /// A model too large for this machine's memory.
    #[error(
        "the model {model} has {parameters} parameters and would need about {} GB of memory \
         to train, but this machine has {} GB{advice}",
        gigabytes(*needed),
        gigabytes(u128::from(*memory))
    )]
    TooLarge {
        model: String,
        parameters: u128,
        needed: u128,
        memory: u64,
        advice: String,
    },

    /// Training could not go on (a loss or gradient became NaN or infinite, say).
    #[error("training stopped: {error}{hint}")]
    Training { error: FitError, hint: &'static str },

    /// plotters failed to draw.
    #[error("cannot draw the learning curves: {reason}")]
    Plot { reason: String },

    /// A weight file without the metadata `predict` needs.
    #[error("{}: not a chainrule model file: {reason}", path.display())]
    NotAModel { path: PathBuf, reason: String },

    /// A column whose values overflow f32 when standardized.
    #[error(
        "{}: column {column:?} spans more than f32 (the type the model computes in) can hold \
         once standardized; rescale it",
        path.display()
    )]
    Unscalable { path: PathBuf, column: String },

    /// A prediction that came out NaN or infinite.
    #[error(
        "{}:{line}: the model's output for this row is {value}, not a prediction (a feature far \
         outside the range the model was trained on can overflow the f32 it computes in)",
        data.display()
    )]
    NonFinitePrediction {
        data: PathBuf,
        line: u64,
        value: f32,
    },

    /// Data columns that are not the model's features, or features missing from the data.
    #[error(
        "{}: the columns do not match the model's features (from {}):{}{}",
        data.display(),
        model.display(),
        listing("missing", missing),
        listing("not features of the model", extra)
    )]
    FeatureMismatch {
        data: PathBuf,
        model: PathBuf,
        missing: Vec<String>,
        extra: Vec<String>,
    },

    /// `graph` computes the model's loss, which needs the target column.
    #[error(
        "{}: no column {target:?}, the target of the model {} (its loss needs the true \
         values)",
        data.display(),
        model.display()
    )]
    MissingTarget {
        data: PathBuf,
        model: PathBuf,
        target: String,
    },

    /// A target cell that is not one of the model's classes.
    #[error(
        "{at}: {text:?} is not one of the classes of the model {}: {expected}",
        model.display()
    )]
    UnknownClass {
        /// `data.csv:3:5: column "species"`.
        at: String,
        model: PathBuf,
        text: String,
        expected: String,
    },
}

/// Bytes in gigabytes, to one decimal.
fn gigabytes(bytes: u128) -> String {
    format!("{:.1}", bytes as f64 / 1e9)
}

/// A new line `  missing: "a", "b"`, or nothing when there are no columns.
fn listing(what: &str, columns: &[String]) -> String {
    if columns.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = columns.iter().map(|c| format!("{c:?}")).collect();
        format!("\n  {what}: {}", quoted.join(", "))
    }
}

/// The text of a program or expression, and the file it came from (`None`: the command line).
#[derive(Clone, Debug)]
pub struct Source {
    pub text: String,
    pub file: Option<PathBuf>,
}

impl Source {
    /// "expression" for one line of the command line, else "program".
    pub fn what(&self) -> &'static str {
        if self.file.is_none() && !self.text.trim().contains(['\n', ';']) {
            "expression"
        } else {
            "program"
        }
    }

    /// The text as quoted in a message: the whole of a short one-line expression, else the
    /// file's name or `the program`.
    pub fn shown(&self) -> String {
        match &self.file {
            Some(path) => path.display().to_string(),
            None if self.text.chars().count() <= 80 => format!("{:?}", self.text),
            None => "given".to_string(),
        }
    }

    /// Where the character at `offset` lies: `column 6`, `line 2, column 5`, or with the
    /// file: `prog.txt:2:5`.
    pub fn position(&self, offset: usize) -> String {
        let (line, column) = line_and_column(&self.text, offset);
        match &self.file {
            Some(path) => format!("{}:{}:{}", path.display(), line + 1, column + 1),
            None if line == 0 && !self.text.contains('\n') => format!("column {}", column + 1),
            None => format!("line {}, column {}", line + 1, column + 1),
        }
    }

    /// The line holding `offset` and a caret under it.
    pub fn pointer(&self, offset: usize) -> String {
        let (line, column) = line_and_column(&self.text, offset);
        let text = self.text.split('\n').nth(line).unwrap_or("");
        pointer(text, column)
    }
}

/// The 0-based line and column (in characters) of the character at `offset`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut column) = (0, 0);
    for c in text.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// The expression on one line and a caret under the column at fault; a long expression is
/// shown as the stretch around that column, with `…` for what is left out.
fn pointer(expression: &str, column: usize) -> String {
    /// Characters shown on each side of the column.
    const SIDE: usize = 40;
    let chars: Vec<char> = expression.chars().collect();
    let column = column.min(chars.len());
    let start = column.saturating_sub(SIDE);
    let end = (column + SIDE).min(chars.len());
    let mut shown: String = chars[start.min(end)..end].iter().collect();
    let mut caret = column - start;
    if start > 0 {
        shown.insert(0, '…');
        caret += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    format!("  {shown}\n  {}^", " ".repeat(caret))
}
