//! The `chainrule` command-line program: its arguments (clap) and its subcommands.
//!
//! `explain` and `gradcheck`:
//! - `parse` — the expression and program language and its parser;
//! - `eval` — the `name=value` arguments, and the program recorded as graph ops;
//! - `teach` — every node and chain-rule step with its local derivative in the nodes' names and
//!   numbers, the numerical slopes, and why a gradient check failed;
//! - `output` — the text and JSON that they print; `picture` — DOT, SVG and the HTML page.
//!
//! `train` and `predict`:
//! - `train_args` — their arguments and the parsers of `--split`, `--hidden`, `--lr`;
//! - `train` — data to trained model; `train_report` — what it prints;
//! - `model_file` — the architecture in a weight file's metadata, and back to a model;
//! - `plot` — the learning curves as SVG; `predict` — a saved model on new rows;
//! - `model_graph` — `graph`: a saved model's graph on a few rows, with shapes and norms.
//!
//! For all: `files` — atomic writes, checked early; `error` — the messages for wrong input
//! (exit status 2).

mod error;
mod eval;
mod export;
mod files;
mod model_file;
mod model_graph;
mod output;
mod parse;
mod picture;
mod plot;
mod predict;
mod teach;
mod train;
mod train_args;
mod train_report;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chainrule::autodiff::ops::UnaryOp;
use chainrule::autodiff::{Leaf, Op};
use chainrule::{gradcheck, GradcheckOptions, Graph, Tensor};
use clap::{Args, Parser, Subcommand};

use error::{CliError, Source};
use output::Check;
use train_args::{ExportArgs, GraphArgs, PredictArgs, TrainArgs};

/// The expression language, for the help of `explain` and `gradcheck`: its functions are the
/// engine's op table ([`UnaryOp::functions`]), listed in table order.
fn language() -> String {
    let prose = |text: &str| {
        text.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (plain, with_numbers): (Vec<_>, Vec<_>) = UnaryOp::<f64>::functions()
        .into_iter()
        .partition(|(_, numbers)| numbers.is_empty());
    let mut words = prose(
        "The expression language: numbers (2, 0.5, 1e-3), variables (x, w_1), + - * / ^, unary \
         minus, parentheses, and the functions",
    );
    words.extend(plain.into_iter().map(|(name, _)| name.to_string()));
    if let Some(last) = words.last_mut() {
        last.push(';');
    }
    words.extend(prose("with fixed numbers:"));
    words.extend(with_numbers.into_iter().map(parse::usage));
    words.extend(prose(
        "(each number written as a number or an expression without variables: 0.1, -1, 1/3). \
         ^ binds tightest and groups to the right, then unary minus (-x^2 is -(x^2)), then * and \
         /, then + and -.",
    ));
    format!(
        "{}\nA program is statements separated by ';' or new lines, each NAME = EXPRESSION (or +=, -=,\n\
         *=, /=), the last the output; a name is one node however often it is read, and NAME = NUMBER\n\
         makes a parameter. Give every other variable a value as NAME=NUMBER; --data x,y makes those\n\
         data (no gradient). '#' starts a comment. Everything is computed in f64.",
        wrap(&words, 95)
    )
}

/// The words (each kept whole, as `clamp(x, min, max)`) in lines of at most `width` characters.
fn wrap(words: &[String], width: usize) -> String {
    let mut text = String::new();
    let mut line_length = 0;
    for word in words {
        let length = word.chars().count();
        if line_length > 0 && line_length + 1 + length > width {
            text.push('\n');
            line_length = 0;
        } else if line_length > 0 {
            text.push(' ');
            line_length += 1;
        }
        text.push_str(word);
        line_length += length;
    }
    text
}

/// Reverse-mode automatic differentiation, explained: chain-rule traces, graph pictures and
/// gradient checks for small expressions, and neural networks trained on CSV files.
#[derive(Parser)]
#[command(name = "chainrule", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate an expression and show backpropagation step by step
    #[command(after_help = format!(
        "{}\n\nExamples:\n  chainrule explain \"tanh(w*x + b)\" x=0.5 w=-1 b=2\n  \
         chainrule explain \"x = -4; z = 2*x + 2 + x; q = relu(z) + z*x; y = q*x\"\n  \
         chainrule explain \"(tanh(w*x + b) - y)^2\" x=0.5 w=-1 b=2 y=1 --data x,y --numeric\n  \
         chainrule explain -f program.txt x=0.5 --html page.html\n  \
         chainrule explain \"a*b + a\" a=2 b=-3 --svg graph.svg\n  \
         chainrule explain \"leaky_relu(x, 0.1) * softplus(y)\" x=-2 y=0.5\n  \
         chainrule explain \"x^2\" x=3 --json",
        language()
    ))]
    Explain(ExplainArgs),
    /// Compare the engine's gradients with central finite differences (exit status 1 if they differ)
    #[command(after_help = format!(
        "{}\n\nExamples:\n  chainrule gradcheck \"sigmoid(a*b) / sqrt(c)\" a=0.3 b=-2 c=4\n  \
         chainrule gradcheck \"ln(x) + x^y\" x=2 y=0.5 --json\n  \
         chainrule gradcheck \"exp(x)\" x=1 --sweep\n  \
         chainrule gradcheck \"relu(x)\" x=0 --step 1e-4",
        language()
    ))]
    Gradcheck(GradcheckArgs),
    /// Train a neural network (an MLP) on a CSV file; print the losses, test metrics and a
    /// bias/variance diagnosis
    #[command(after_help = "\
The features are standardized with the training rows' mean and standard deviation (and, for
regression, the target too); the model is Dense layers with the activation and a linear output
layer, trained on softmax cross-entropy (classify) or mean squared error (regress). Progress goes
to stderr: a bar on a terminal, one line per epoch otherwise.

Examples:
  chainrule train data/digits.csv --target target --epochs 30 --save digits.safetensors
  chainrule train data/diabetes.csv --target target --task regress --hidden 32 --plot curves.svg
  chainrule train data/iris.csv --target target --hidden 16 --optimizer momentum --l2 0.01")]
    Train(Box<TrainArgs>),
    /// Run a model saved by `train --save` on the rows of a CSV file; print the predictions as CSV
    #[command(after_help = "\
Output, one row per input row: for classification `predicted,probability_0,…,probability_K`
(the most likely class and the probability of each); for regression `predicted`, in the target's
units.

Example:
  chainrule predict digits.safetensors data/digits.csv > predictions.csv")]
    Predict(PredictArgs),
    /// Write a model saved by `train --save` as an ONNX model (opset 17) that takes the raw
    /// features and gives what `predict` gives, for ONNX Runtime and other engines
    #[command(after_help = "\
The exported model standardizes the features with the training rows' statistics, runs the
layers, and outputs \"probabilities\" [batch, classes] (softmax) for a classifier or
\"prediction\" [batch, 1] in the target's units for a regression. Its input \"features\" is
[batch, features], in the order of the model's feature columns; the batch is any size.

Example:
  chainrule export digits.safetensors --onnx digits.onnx")]
    Export(ExportArgs),
    /// Draw a model saved by `train --save` as its graph of tensor ops on the first rows of a
    /// CSV file: each node's shape and the norms of its value and of its gradient of the loss
    #[command(after_help = "\
The model runs on the first K rows (--rows, default 8) and its training loss is taken against the
target column, then backpropagated. Each node is one tensor op or layer output (hidden1, …,
output), parameters by name (hidden1.weight), with its shape and the L2 norms ‖·‖ of its value and
gradient. Prints a table of the nodes (or --json); --svg draws the graph, --html writes a page
that walks the backward pass one step at a time.

Examples:
  chainrule graph iris.safetensors data/iris.csv --svg iris.svg
  chainrule graph iris.safetensors data/iris.csv --rows 4 --html iris.html")]
    Graph(GraphArgs),
    /// Run every model of the material in order, one line each with what it learned and its
    /// check (what `chainrule` with no arguments does)
    Tour,
}

/// The tour of the material: exit status 0 when every check passed, 1 otherwise.
fn tour() -> Result<ExitCode, CliError> {
    let mut out = std::io::stdout().lock();
    let all_passed = chainrule::material::tour::run_tour(&mut out)
        .and_then(|passed| out.flush().map(|()| passed))
        .map_err(CliError::Output)?;
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A program or expression, values for its variables, and the output format.
#[derive(Args)]
struct ExpressionArgs {
    /// The expression or program, in quotes: "tanh(w*x + b)", "z = 2*x + 2 + x; y = z*x"
    /// (statements separated by ';' or new lines, the last the output); '-' reads it from
    /// standard input
    #[arg(
        value_name = "PROGRAM",
        allow_hyphen_values = true,
        required_unless_present = "file"
    )]
    expression: Option<String>,
    /// A value for each variable the program reads: x=0.5 w=-1 b=2
    #[arg(value_name = "NAME=VALUE")]
    values: Vec<String>,
    /// Read the program from FILE (a command-line argument holds at most 128 KiB)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// The variables that are data, not parameters: they get no gradient (--data x,y)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    data: Vec<String>,
    /// Print one JSON object instead of text: {"value": …, "gradients": {"x": …, …}, …}
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    input: ExpressionArgs,
    /// Also write the graph, with every value and gradient, as Graphviz DOT to FILE
    #[arg(long, value_name = "FILE")]
    dot: Option<PathBuf>,
    /// Also draw the graph, with every value and gradient, as SVG to FILE (no Graphviz needed)
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Also write an interactive page to FILE: the graph, and buttons and a slider that walk
    /// the backward pass one chain-rule step at a time (one self-contained HTML file)
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also show, for every node, the numerical slope: the central difference of the output
    /// as that node is nudged by ±h, beside its gradient
    #[arg(long)]
    numeric: bool,
    /// The step h of --numeric
    #[arg(long, value_name = "H", default_value_t = 1e-6, value_parser = positive_step)]
    step: f64,
}

#[derive(Args)]
struct GradcheckArgs {
    #[command(flatten)]
    input: ExpressionArgs,
    /// The step h of the central differences
    #[arg(long, value_name = "H", default_value_t = 1e-6, value_parser = positive_step)]
    step: f64,
    /// Also show the error for every step h from 1e-1 down to 1e-12: truncation error shrinks
    /// with h, rounding error grows, and the best h lies between
    #[arg(long)]
    sweep: bool,
}

/// A finite-difference step: a positive finite number.
fn positive_step(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 => Ok(h),
        _ => Err(format!(
            "{text:?} is not a step: give a positive number, like 1e-6"
        )),
    }
}

/// Runs the program: exit status 0 on success, 1 when a gradient check fails, 2 for wrong
/// input or a failed write (with one message on stderr). A closed standard output ends it
/// quietly with status 0.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None | Some(Command::Tour) => tour(),
        Some(Command::Explain(args)) => explain(&args),
        Some(Command::Gradcheck(args)) => check(&args),
        Some(Command::Train(args)) => train::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Predict(args)) => predict::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Export(args)) => export::run(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Graph(args)) => model_graph::run(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(status) => status,
        // The reader went away (`chainrule … | head`): that is its choice, not an error, so
        // end quietly as `cat` does.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            // Not `eprintln!`, which panics when stderr itself is closed.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The program's text and where it came from: the argument, standard input (`-`) or `-f FILE`.
/// With `-f`, the first positional argument is a value, not the program.
fn read_source(args: &ExpressionArgs) -> Result<(Source, Vec<String>), CliError> {
    let mut values = args.values.clone();
    let (text, file) = match (&args.file, &args.expression) {
        (Some(path), first) => {
            if let Some(first) = first {
                values.insert(0, first.clone());
            }
            let text = std::fs::read_to_string(path).map_err(|error| CliError::ReadProgram {
                path: path.clone(),
                error,
            })?;
            (text, Some(path.clone()))
        }
        (None, Some(dash)) if dash == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|error| {
                CliError::ReadProgram {
                    path: PathBuf::from("-"),
                    error,
                }
            })?;
            (text, Some(PathBuf::from("<stdin>")))
        }
        (None, Some(text)) => (text.clone(), None),
        (None, None) => {
            return Err(CliError::Usage {
                reason: "give the program as an argument, '-' for standard input, or -f FILE"
                    .into(),
            })
        }
    };
    Ok((Source { text, file }, values))
}

/// The parsed program and the values of its variables, checked against each other.
fn read_input(args: &ExpressionArgs) -> Result<(Source, parse::Program, eval::Inputs), CliError> {
    let (source, values) = read_source(args)?;
    let program = parse::parse_program(&source.text).map_err(|error| CliError::Parse {
        input: source.clone(),
        error,
    })?;
    let inputs = eval::bind(&source, &program, &values, &args.data)?;
    Ok((source, program, inputs))
}

/// Whether `output` reads a parameter, so that backward has something to differentiate.
fn depends_on_a_parameter(g: &Graph<f64>, output: usize) -> bool {
    let nodes = g.nodes();
    let mut reaches = vec![false; output + 1];
    for id in 0..=output {
        reaches[id] = matches!(nodes[id].op, Op::Leaf(Leaf::Parameter))
            || nodes[id].inputs.iter().any(|&i| reaches[i]);
    }
    reaches[output]
}

/// The most nodes `--svg` lays out (its layout is by layers, fast, but a picture this large is
/// already past reading).
const MAX_SVG_NODES: usize = 2000;

/// The most nodes `--numeric` takes: its time grows with the square of the graph.
const MAX_NUMERIC_NODES: usize = 3000;

fn explain(args: &ExplainArgs) -> Result<ExitCode, CliError> {
    let input = &args.input;
    let (source, program, inputs) = read_input(input)?;
    let dot = files::Output::requested("--dot", "DOT", args.dot.as_deref());
    let svg = files::Output::requested("--svg", "SVG", args.svg.as_deref());
    let html = files::Output::requested("--html", "HTML", args.html.as_deref());
    let outputs: Vec<files::Output<'_>> = dot.into_iter().chain(svg).chain(html).collect();
    files::check(&outputs)?;
    let g = Graph::new();
    let built = eval::build(&g, &program, &inputs, None);
    if !depends_on_a_parameter(&g, built.output.id()) {
        return Err(CliError::NothingToDifferentiate);
    }
    if args.numeric && g.len() > MAX_NUMERIC_NODES {
        return Err(CliError::Usage {
            reason: format!(
                "--numeric recomputes the graph once per node and side, so it is limited to \
                 graphs of {MAX_NUMERIC_NODES} nodes, but this one has {}; check its \
                 parameters with gradcheck instead",
                g.len()
            ),
        });
    }
    let (grads, trace) = built.output.backward_traced();
    if (args.svg.is_some() || args.html.is_some()) && g.len() > MAX_SVG_NODES {
        return Err(CliError::GraphTooLarge {
            nodes: g.len(),
            max: MAX_SVG_NODES,
        });
    }
    let lesson = teach::lesson(
        &g,
        built.output.id(),
        &grads,
        &trace,
        args.numeric.then_some(args.step),
    );
    let leaves: Vec<(String, f64, bool)> = built
        .leaves
        .iter()
        .map(|(leaf, _)| (leaf.name.clone(), leaf.value, leaf.data))
        .collect();
    // Files first, all or none: if one cannot be written, nothing has been printed yet.
    let contents: Vec<String> = outputs
        .iter()
        .map(|output| match output.what {
            "DOT" => picture::dot(&picture::drawing(&lesson)),
            "HTML" => picture::html(&lesson, &output::explain_json(&lesson, &leaves)),
            _ => picture::svg(&picture::drawing(&lesson)),
        })
        .collect();
    if files::write_texts(&outputs, &contents)? {
        return Ok(ExitCode::SUCCESS);
    }
    let text = if input.json {
        output::explain_json(&lesson, &leaves)
    } else {
        output::explain_text(&source, &program, &leaves, &g, &lesson)
    };
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The steps of `gradcheck --sweep`: 1e-1, 1e-2, …, 1e-12.
fn sweep_steps() -> Vec<f64> {
    (1..=12).map(|k| 10f64.powi(-k)).collect()
}

fn check(args: &GradcheckArgs) -> Result<ExitCode, CliError> {
    let (source, program, inputs) = read_input(&args.input)?;
    let g = Graph::new();
    let built = eval::build(&g, &program, &inputs, None);
    if !depends_on_a_parameter(&g, built.output.id()) {
        return Err(CliError::NothingToDifferentiate);
    }
    let value = built.output.item();
    let output_id = built.output.id();
    let grads = built.output.backward();
    let options = GradcheckOptions {
        step: args.step,
        ..GradcheckOptions::default()
    };
    // One check per parameter, so each gets its own row; the others are held at their values.
    let checks: Vec<Check> = built
        .leaves
        .iter()
        .enumerate()
        .filter(|(_, (leaf, _))| !leaf.data)
        .map(|(i, (leaf, var))| {
            let report = gradcheck(
                |g, v| eval::build(g, &program, &inputs, Some((i, v[0]))).output,
                &[Tensor::scalar(leaf.value)],
                options,
            );
            let compared = report.worst.as_ref().expect("one element was compared");
            let abs_error = report.max_abs_error;
            let reasons = if report.passed {
                Vec::new()
            } else {
                teach::diagnose(&g, var.id(), options.step)
            };
            let sweep = if args.sweep {
                let gradient = grads[*var].item();
                sweep_steps()
                    .into_iter()
                    .map(|h| {
                        let fd = teach::central_difference(&g, output_id, var.id(), h);
                        (h, (fd - gradient).abs())
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Check {
                name: leaf.name.clone(),
                gradient: compared.analytic,
                finite_difference: compared.numeric,
                abs_error,
                // The report's maximum skips a NaN; here one NaN error is the whole story.
                rel_error: if abs_error.is_nan() {
                    f64::NAN
                } else {
                    report.max_rel_error
                },
                passed: report.passed,
                reasons,
                sweep,
            }
        })
        .collect();
    let text = if args.input.json {
        output::gradcheck_json(value, &options, &checks)
    } else {
        let title = output::heading(&source, &program, &g.display_name(output_id));
        output::gradcheck_text(&title, &inputs, value, &options, &checks)
    };
    output::print(&text)?;
    Ok(if checks.iter().all(|c| c.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
