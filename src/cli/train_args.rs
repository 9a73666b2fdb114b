//! The arguments of `chainrule train` and `chainrule predict` (clap), and the parsers that turn
//! `--split 60/20/20`, `--hidden 128,128` and `--lr 1e-3` into values — or into a message that
//! says what is wrong with them, which clap prints with exit status 2.

use std::path::PathBuf;

use chainrule_layers::Activation;
use chainrule_train::SplitRatios;
use clap::{Args, ValueEnum};

/// `chainrule train`'s arguments.
#[derive(Args)]
pub struct TrainArgs {
    /// The data: a CSV file with a header row; every column but the target is a feature
    #[arg(value_name = "DATA.csv")]
    pub data: PathBuf,
    /// The column to predict
    #[arg(long, value_name = "COLUMN")]
    pub target: String,
    /// The separator between cells: "," ";" or tab (written `tab` or `\t`). Default: whichever
    /// of the three the header row holds most of
    #[arg(long, value_name = "SEP", value_parser = parse_delimiter)]
    pub delimiter: Option<Delimiter>,
    /// classify (the target holds class names, or labels 0, 1, …, k−1) or regress (real
    /// values). Default: classify when the target holds names, or whole numbers from 0 to 99
    /// with at most 50 different; else regress
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,
    /// The sizes of the hidden layers, comma-separated; "none" for no hidden layer
    #[arg(long, value_name = "SIZES", default_value = "128,128", value_parser = parse_hidden)]
    pub hidden: Hidden,
    /// The hidden layers' activation (the output layer is linear)
    #[arg(long, value_enum, default_value_t = ActivationArg::Relu)]
    pub activation: ActivationArg,
    /// The optimizer: adam, adamw (weight decay 0.01), sgd, momentum (SGD with momentum 0.9),
    /// rmsprop, or gd (plain gradient descent, on the whole training set per step unless
    /// --batch is given)
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    pub optimizer: OptimizerArg,
    /// The learning rate. Default: 1e-3 for adam, adamw and rmsprop; 0.01 for sgd and
    /// momentum; 0.1 for gd
    #[arg(
        long,
        value_name = "RATE",
        value_parser = parse_learning_rate,
        allow_hyphen_values = true
    )]
    pub lr: Option<f64>,
    /// The L2 regularization λ: adds λ/(2m)·Σw² over the weights (not the biases) to the loss,
    /// m the batch size. The default, 1, keeps the default 128×128 model from memorising a
    /// data set of a few hundred rows (iris, diabetes) and costs digits nothing; 0 turns it off
    #[arg(
        long,
        value_name = "LAMBDA",
        default_value = "1",
        value_parser = parse_l2,
        allow_hyphen_values = true
    )]
    pub l2: f64,
    /// The most passes over the training set (early stopping usually ends the run sooner)
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = at_least_one)]
    pub epochs: usize,
    /// Rows per mini-batch [default: 32; the whole training set for gd]
    #[arg(long, value_name = "ROWS", value_parser = at_least_one)]
    pub batch: Option<usize>,
    /// Percentages of the rows for training, validation and test, shuffled with --seed
    #[arg(
        long,
        value_name = "TRAIN/VAL/TEST",
        default_value = "60/20/20",
        value_parser = parse_split
    )]
    pub split: SplitRatios,
    /// A fixed split instead of --split: a CSV with columns row (from 0) and split
    /// (train, val or test), such as data/digits_split.csv
    #[arg(long, value_name = "FILE", conflicts_with = "split")]
    pub split_file: Option<PathBuf>,
    /// Seeds the split, the initial weights and the shuffling of the batches
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop when the validation loss has not improved for N epochs, and keep the best epoch's
    /// weights; "none" runs every epoch and keeps the last
    #[arg(long, value_name = "N", default_value = "20", value_parser = parse_patience)]
    pub patience: Patience,
    /// A loss that can be reached (human-level, a published result), to judge bias against
    /// instead of the simplest model. In the units of the loss the run reports: the
    /// cross-entropy in nats for a classification (0 is certain and right), the mean squared
    /// error of the standardized target for a regression (1 − R²: an R² of 0.8 is 0.2)
    #[arg(long, value_name = "LOSS", value_parser = parse_baseline, allow_hyphen_values = true)]
    pub baseline: Option<f64>,
    /// Save the trained model (weights, architecture and standardization) to FILE, for predict
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Draw the learning curves (training and validation loss per epoch) as SVG to FILE
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Draw the --plot's loss axis on a log scale (it is when the losses span more than two
    /// decades)
    #[arg(long)]
    pub log_y: bool,
    /// Write the loss of every epoch as CSV (epoch,train_loss,validation_loss, and
    /// validation_accuracy or validation_r_squared) to FILE
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// When stderr is not a terminal, a progress line every K epochs (and for the last)
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = at_least_one)]
    pub log_every: usize,
    /// No progress bar or per-epoch lines on stderr
    #[arg(long)]
    pub quiet: bool,
    /// Print one JSON object with the losses, test metrics and diagnosis instead of text
    #[arg(long)]
    pub json: bool,
}

/// `chainrule graph`'s arguments.
#[derive(Args)]
pub struct GraphArgs {
    /// A model saved by `chainrule train --save`
    #[arg(value_name = "MODEL.safetensors")]
    pub model: PathBuf,
    /// A CSV file with the model's feature columns and its target column
    #[arg(value_name = "DATA.csv")]
    pub data: PathBuf,
    /// How many rows (the first ones) to run the model on
    #[arg(long, value_name = "K", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub rows: u64,
    /// Draw the graph as SVG to FILE
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Write an interactive page to FILE that walks the backward pass step by step
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print one JSON object (every node and step, with shapes and norms) instead of text
    #[arg(long)]
    pub json: bool,
}

/// `chainrule predict`'s arguments.
#[derive(Args)]
pub struct PredictArgs {
    /// A model saved by `chainrule train --save`
    #[arg(value_name = "MODEL.safetensors")]
    pub model: PathBuf,
    /// A CSV file with a header row holding the model's feature columns (in any order; the
    /// target column may be there too, and is ignored)
    #[arg(value_name = "DATA.csv")]
    pub data: PathBuf,
}

/// `chainrule export`'s arguments.
#[derive(Args)]
pub struct ExportArgs {
    /// A model saved by `chainrule train --save`
    #[arg(value_name = "MODEL.safetensors")]
    pub model: PathBuf,
    /// Where to write the ONNX model (`-` for standard output)
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
}

/// What the target column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Class labels: softmax cross-entropy, accuracy and a confusion matrix
    Classify,
    /// Real values: mean squared error
    Regress,
}

/// The hidden layers' activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// max(z, 0)
    Relu,
    /// tanh(z)
    Tanh,
    /// 1 / (1 + e^−z)
    Sigmoid,
}

impl ActivationArg {
    /// The layers' activation.
    pub fn activation(self) -> Activation {
        match self {
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Tanh => Activation::Tanh,
            ActivationArg::Sigmoid => Activation::Sigmoid,
        }
    }
}

/// Which optimizer updates the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Adam
    Adam,
    /// Adam with decoupled weight decay 0.01
    Adamw,
    /// Stochastic gradient descent
    Sgd,
    /// SGD with momentum 0.9
    Momentum,
    /// RMSProp
    Rmsprop,
    /// Plain gradient descent
    Gd,
}

impl OptimizerArg {
    /// The name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerArg::Adam => "adam",
            OptimizerArg::Adamw => "adamw",
            OptimizerArg::Sgd => "sgd",
            OptimizerArg::Momentum => "momentum",
            OptimizerArg::Rmsprop => "rmsprop",
            OptimizerArg::Gd => "gd",
        }
    }

    /// The learning rate when `--lr` is not given: what usually works for this optimizer on
    /// standardized features.
    pub fn default_learning_rate(self) -> f64 {
        match self {
            OptimizerArg::Adam | OptimizerArg::Adamw | OptimizerArg::Rmsprop => 1e-3,
            OptimizerArg::Sgd | OptimizerArg::Momentum => 1e-2,
            OptimizerArg::Gd => 0.1,
        }
    }
}

/// The sizes of the hidden layers (none for a linear model). A type of its own so that clap
/// takes `--hidden 128,128` as one value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hidden(pub Vec<usize>);

/// `128,128` → [128, 128]; `none` → [].
fn parse_hidden(text: &str) -> Result<Hidden, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(Hidden(Vec::new()));
    }
    let sizes = text
        .split(',')
        .enumerate()
        .map(|(i, part)| match part.trim().parse::<usize>() {
            Ok(size) if size > 0 => Ok(size),
            _ => Err(format!(
                "layer {} is {:?}; expected comma-separated whole numbers of at least 1, \
                 like 128,128 (or none for no hidden layer)",
                i + 1,
                part.trim()
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Hidden(sizes))
}

/// Early stopping's patience: `Some(epochs)`, or `None` to run every epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Patience(pub Option<usize>);

/// `20` → Some(20); `none` → None.
fn parse_patience(text: &str) -> Result<Patience, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(Patience(None));
    }
    at_least_one(text)
        .map(|n| Patience(Some(n)))
        .map_err(|e| format!("{e} (or none to run every epoch)"))
}

/// `60/20/20` (percentages, summing to 100) or `0.6/0.2/0.2` (fractions, summing to 1).
fn parse_split(text: &str) -> Result<SplitRatios, String> {
    let parts: Vec<&str> = text.split('/').map(str::trim).collect();
    let malformed = || {
        format!("expected three numbers TRAIN/VAL/TEST summing to 100, like 60/20/20; got {text:?}")
    };
    if parts.len() != 3 {
        return Err(malformed());
    }
    let mut shares = [0.0; 3];
    for (share, part) in shares.iter_mut().zip(&parts) {
        *share = match part.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => v,
            _ => return Err(malformed()),
        };
    }
    let sum: f64 = shares.iter().sum();
    if (sum - 100.0).abs() > 1e-6 && (sum - 1.0).abs() > 1e-9 {
        return Err(format!(
            "the three parts of {text:?} sum to {sum}; they must sum to 100 (percentages, like \
             60/20/20) or 1 (fractions)"
        ));
    }
    // Dividing by the sum itself leaves no rounding error for SplitRatios::new to refuse.
    let [train, validation, test] = shares.map(|s| s / sum);
    SplitRatios::new(train, validation, test).map_err(|e| e.to_string())
}

/// Whether `x` is a finite number in f32, the type the model computes in (the flags are read
/// as f64, where 1e39 is finite).
fn finite_in_f32(x: f64) -> bool {
    (x as f32).is_finite()
}

/// A positive learning rate, finite and not 0 in f32.
fn parse_learning_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if finite_in_f32(rate) && rate as f32 > 0.0 => Ok(rate),
        _ => Err(format!(
            "expected a positive number, like 1e-3 or 0.01 (within f32, which the model \
             computes in); got {text:?}"
        )),
    }
}

/// A λ of 0 or more, finite in f32.
fn parse_l2(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(lambda) if finite_in_f32(lambda) && lambda >= 0.0 => Ok(lambda),
        _ => Err(format!(
            "expected a number of 0 or more, like 0.01 (within f32, which the model computes \
             in); got {text:?}"
        )),
    }
}

/// The byte that separates a CSV file's cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimiter(pub u8);

/// `,` `;` `tab` (or `\t`, or a tab itself); also `comma` and `semicolon`.
fn parse_delimiter(text: &str) -> Result<Delimiter, String> {
    match text {
        "," | "comma" => Ok(Delimiter(b',')),
        ";" | "semicolon" => Ok(Delimiter(b';')),
        "\t" | "\\t" | "tab" | "TAB" => Ok(Delimiter(b'\t')),
        _ => Err(format!(
            "expected , or ; or tab (also written \\t); got {text:?}"
        )),
    }
}

/// A reachable loss: finite, 0 or more.
fn parse_baseline(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(level) if level.is_finite() && level >= 0.0 => Ok(level),
        _ => Err(format!(
            "expected a loss of 0 or more in the run's units (cross-entropy for a \
             classification, the standardized mean squared error, 1 − R², for a regression), \
             like 0.05; got {text:?}"
        )),
    }
}

/// A whole number of at least 1.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected a whole number of at least 1; got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_sizes() {
        assert_eq!(parse_hidden("128,128"), Ok(Hidden(vec![128, 128])));
        assert_eq!(parse_hidden(" 64 "), Ok(Hidden(vec![64])));
        assert_eq!(parse_hidden("none"), Ok(Hidden(vec![])));
        assert!(parse_hidden("128,,64")
            .unwrap_err()
            .contains("layer 2 is \"\""));
        assert!(parse_hidden("0").is_err());
        assert!(parse_hidden("12x").is_err());
    }

    #[test]
    fn split_ratios() {
        let ratios = parse_split("60/20/20").unwrap();
        assert_eq!(ratios.counts(10), [6, 2, 2]);
        assert_eq!(parse_split("0.8/0.2/0").unwrap().counts(10), [8, 2, 0]);
        assert_eq!(parse_split("70/15/15").unwrap().counts(100), [70, 15, 15]);
        assert!(parse_split("60/20").unwrap_err().contains("three numbers"));
        assert!(parse_split("60/20/30").unwrap_err().contains("sum to 110"));
        assert!(parse_split("a/b/c").is_err());
        assert!(parse_split("120/-10/-10").is_err());
    }

    #[test]
    fn delimiters_are_named_or_refused() {
        assert_eq!(parse_delimiter(","), Ok(Delimiter(b',')));
        assert_eq!(parse_delimiter(";"), Ok(Delimiter(b';')));
        assert_eq!(parse_delimiter("tab"), Ok(Delimiter(b'\t')));
        assert_eq!(parse_delimiter("\\t"), Ok(Delimiter(b'\t')));
        assert_eq!(parse_delimiter("\t"), Ok(Delimiter(b'\t')));
        let refused = parse_delimiter("|").unwrap_err();
        assert!(refused.contains("expected , or ; or tab"), "{refused}");
        assert!(parse_delimiter("").is_err());
    }

    #[test]
    fn patience_is_a_count_or_none() {
        assert_eq!(parse_patience("5"), Ok(Patience(Some(5))));
        assert_eq!(parse_patience("none"), Ok(Patience(None)));
        assert!(parse_patience("0").unwrap_err().contains("or none"));
    }

    #[test]
    fn learning_rates_and_lambdas() {
        assert_eq!(parse_learning_rate("1e-3"), Ok(1e-3));
        assert!(parse_learning_rate("0").is_err());
        assert!(parse_learning_rate("-1").is_err());
        assert!(parse_learning_rate("inf").is_err());
        assert!(parse_learning_rate("fast").is_err());
        assert_eq!(parse_l2("0"), Ok(0.0));
        assert!(parse_l2("-0.1").is_err());
        // Finite in f64, infinite (or 0) in the f32 the model computes in.
        assert!(parse_l2("1e39").is_err());
        assert!(parse_learning_rate("1e39").is_err());
        assert!(parse_learning_rate("1e-50").is_err());
    }
}
