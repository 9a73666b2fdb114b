//! `chainrule train`: an MLP on any CSV file, from the data to the saved model.
//!
//! The steps, in the order they run: load the data (and settle the task), split it, fit the
//! standardization on the training rows, build the model and the optimizer, check that the
//! output files can be written, train, measure the test set once, diagnose bias and variance,
//! write the files, and only then print the report — so wrong input at any step prints nothing
//! but its message on stderr.

use chainrule::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradientDescent, GradientDescentConfig, Optimizer,
    RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use chainrule::Var;
use chainrule_layers::losses;
use chainrule_train::{
    assess, fit, fit_with_penalty, load_assignment, load_csv_inferring_with, predict,
    predicted_classes, split_by_assignment, split_stratified, Batch, ConfusionMatrix, DataError,
    Dataset, EarlyStopping, FitConfig, FitError, LeastSquares, LoadedCsv, Progress, RunFacts,
    Simplest, SplitError, Standardizer, Targets, Task,
};

use super::error::CliError;
use super::files;
use super::model_file::{self, Architecture, Real, Scaling};
use super::plot;
use super::train_args::{OptimizerArg, TaskArg, TrainArgs};
use super::train_report::{self, Report, Setup, TestResult};

/// Rows per batch when running the model without training (the test set).
const EVALUATION_BATCH: usize = 256;

/// Runs `chainrule train` and prints its report.
pub fn run(args: &TrainArgs) -> Result<(), CliError> {
    let LoadedCsv {
        data,
        class_names,
        num_classes,
        task_inferred,
    } = load(args)?;
    let task = if data.classes().is_some() {
        Task::Classification
    } else {
        Task::Regression
    };
    check_columns(args, &data, class_names.as_deref())?;
    let (parts, split_text) = split_rows(args, &data)?;

    let feature_scaler = Standardizer::fit_dataset(&parts.train);
    let target_scaler = parts.train.values().map(Standardizer::fit);
    let prepare = |part: &Dataset<Real>| {
        let part = feature_scaler.transform_dataset(part);
        match (&target_scaler, part.values()) {
            (Some(scaler), Some(values)) => Dataset::new(
                part.features().clone(),
                Targets::Values(scaler.transform(values)),
            ),
            _ => part,
        }
    };
    let (train, validation, test) = (
        prepare(&parts.train),
        prepare(&parts.validation),
        prepare(&parts.test),
    );

    // Finite f32 values far apart (±3e38) overflow when centred: say which column, rather
    // than let training blame the learning rate.
    for part in [&train, &validation, &test] {
        let width = part.num_features().max(1);
        if let Some(at) = part
            .features()
            .as_slice()
            .iter()
            .position(|v| !v.is_finite())
        {
            return Err(CliError::Unscalable {
                path: args.data.clone(),
                column: data.feature_names()[at % width].clone(),
            });
        }
        if let Some(values) = part.values() {
            if values.as_slice().iter().any(|v| !v.is_finite()) {
                return Err(CliError::Unscalable {
                    path: args.data.clone(),
                    column: args.target.clone(),
                });
            }
        }
    }

    // The baselines the diagnosis compares with, on the standardized scale the losses are
    // measured on: the simplest model of the training rows always, least squares for a
    // regression, and the reachable level when --baseline gives one.
    let facts = RunFacts {
        reachable: args.baseline,
        simplest: Simplest::of(&train, &validation),
        least_squares: LeastSquares::fit(&train, &validation),
        training_rows: train.len(),
        validation_rows: validation.len(),
        features: train.num_features(),
        parameters: 0,
    };

    let architecture = Architecture {
        task,
        target: args.target.clone(),
        features: data.feature_names().to_vec(),
        hidden: args.hidden.0.clone(),
        activation: args.activation.activation(),
        outputs: num_classes.unwrap_or(1),
        classes: class_names,
        feature_scaling: scaling(&feature_scaler),
        target_scaling: target_scaler.as_ref().map(scaling),
    };
    let batch_size = match (args.batch, args.optimizer) {
        (Some(batch), _) => batch,
        (None, OptimizerArg::Gd) => train.len(),
        (None, _) => 32,
    };
    check_size(&architecture, batch_size)?;
    let (mut model, mut params) = architecture.build(args.seed);
    let facts = RunFacts {
        parameters: params.num_elements(),
        ..facts
    };
    let learning_rate = args
        .lr
        .unwrap_or_else(|| args.optimizer.default_learning_rate());
    let mut optimizer = optimizer(args.optimizer, learning_rate as Real);

    // Before the long part: can the results be written where they were asked for?
    let save = files::Output::requested("--save", "model", args.save.as_deref());
    let plot = files::Output::requested("--plot", "SVG", args.plot.as_deref());
    let history_output =
        files::Output::requested("--history", "history CSV", args.history.as_deref());
    let requested: Vec<files::Output<'_>> =
        save.into_iter().chain(plot).chain(history_output).collect();
    files::check(&requested)?;

    let optimizer_text = format!(
        "{}, learning rate {learning_rate}, batch {batch_size}, L2 λ {}",
        args.optimizer.name(),
        args.l2
    );
    let loss_name = loss_name(task);
    let setup = Setup {
        data: &args.data,
        rows: data.len(),
        architecture: &architecture,
        task_inferred,
        parameters: params.num_elements(),
        split: &split_text,
        sizes: [train.len(), validation.len(), test.len()],
        optimizer: &optimizer_text,
        loss: loss_name,
    };
    // Every check is behind us: say what the run is before it starts, as Keras prints its
    // model summary, with the progress on stderr. The report on stdout repeats it only where
    // stdout is another file than stderr: in a terminal or an `&>` log it is there once.
    let described = !args.quiet;
    if described {
        print_progress(&train_report::description(&setup));
    }
    let describe_again = !described || !same_file(1, 2);

    let config = FitConfig {
        epochs: args.epochs,
        batch_size,
        seed: args.seed,
        early_stopping: args.patience.0.map(|patience| EarlyStopping {
            patience,
            ..EarlyStopping::default()
        }),
        // J_train measured like J_cv, after the epoch, for the bias/variance diagnosis.
        evaluate_train_loss: true,
        progress: if args.quiet {
            Progress::Quiet
        } else {
            Progress::Auto
        },
        log_every: args.log_every,
        ..FitConfig::default()
    };
    let history = if args.l2 > 0.0 {
        let lambda = args.l2 as Real;
        fit_with_penalty(
            &mut model,
            &mut params,
            &mut optimizer,
            loss,
            |g, params, batch| losses::l2_penalty(g, params, lambda, batch.len()),
            &train,
            &validation,
            &config,
        )
    } else {
        fit(
            &mut model,
            &mut params,
            &mut optimizer,
            loss,
            &train,
            &validation,
            &config,
        )
    }
    .map_err(|e| training_error(e, args.l2 > 0.0))?;

    let test_result = (!test.is_empty()).then(|| {
        let outputs = predict(&mut model, &params, test.features(), EVALUATION_BATCH);
        match (test.classes(), &target_scaler) {
            (Some(labels), _) => TestResult::Classification(ConfusionMatrix::new(
                &predicted_classes(&outputs),
                labels,
                architecture.outputs,
            )),
            (None, Some(scaler)) => {
                let standardized = test.values().expect("regression targets");
                let original = parts.test.values().expect("regression targets");
                let mean_squared_error = mse(&scaler.inverse_transform(&outputs), original);
                TestResult::Regression {
                    rows: test.len(),
                    mean_squared_error,
                    standardized: mse(&outputs, standardized),
                    r_squared: 1.0 - mean_squared_error / variance(original.as_slice()),
                }
            }
            (None, None) => unreachable!("regression targets are standardized"),
        }
    });

    // Both files are made before either is written, then written all or none: a failing
    // --plot no longer leaves a replaced model behind.
    let mut outputs: Vec<(files::Output<'_>, Vec<u8>)> = Vec::new();
    if let Some(output) = save {
        let trained_with = format!(
            "{optimizer_text}, {} of {} epochs, seed {}, split {split_text}",
            history.epochs(),
            args.epochs,
            args.seed
        );
        let bytes = model_file::encode(output.path, &architecture, &params, &trained_with)?;
        outputs.push((output, bytes));
    }
    if let Some(output) = plot {
        let name = match facts.reachable {
            Some(level) => format!("reachable level {level}, a floor"),
            None => format!("simplest model {:.4}, a ceiling", facts.simplest.train_loss),
        };
        let level = plot::Level {
            name: &name,
            loss: facts.reachable.unwrap_or(facts.simplest.train_loss),
        };
        let svg = plot::learning_curves(&history, loss_name, args.log_y, Some(level))?;
        outputs.push((output, svg.into_bytes()));
    }
    if let Some(output) = history_output {
        outputs.push((output, train_report::history_csv(&history).into_bytes()));
    }
    let written: Vec<(files::Output<'_>, &[u8])> = outputs
        .iter()
        .map(|(output, bytes)| (*output, bytes.as_slice()))
        .collect();
    if files::write(&written)? {
        return Ok(());
    }

    let report = Report {
        setup: &setup,
        diagnosis: assess(&history, &facts),
        history: &history,
        test: test_result,
        saved: args.save.as_deref(),
        plot: args.plot.as_deref(),
        history_file: args.history.as_deref(),
        max_epochs: args.epochs,
    };
    let text = if args.json {
        train_report::json(&report)
    } else if describe_again {
        train_report::description(&setup) + &train_report::text(&report)
    } else {
        train_report::text(&report)
    };
    super::output::print(&text)
}

/// Refuses, before anything is allocated for it, a model that training could not hold in
/// this machine's memory: `--hidden 100000,100000`, or a class label of 4e9 that makes as many
/// outputs (and a confusion matrix of their square).
fn check_size(architecture: &Architecture, batch_size: usize) -> Result<(), CliError> {
    let Some(memory) = memory_bytes() else {
        return Ok(());
    };
    let mut inputs = architecture.features.len() as u128;
    let mut parameters: u128 = 0;
    let mut widths: u128 = 0;
    for &size in architecture.hidden.iter().chain([&architecture.outputs]) {
        let size = size as u128;
        parameters = parameters.saturating_add((inputs + 1).saturating_mul(size));
        widths += size;
        inputs = size;
    }
    let float = std::mem::size_of::<Real>() as u128;
    // Each parameter's value and gradient, an optimizer's two moments, the best epoch's copy
    // and the initial values: six floats. Each layer's output and its gradient for a batch
    // (the test set goes through in batches too), with room for the ops in between: four.
    // The confusion matrix of the test set: one count per pair of classes.
    let classes = architecture.outputs as u128;
    let needed = parameters
        .saturating_mul(6 * float)
        .saturating_add(widths.saturating_mul(batch_size.max(EVALUATION_BATCH) as u128 * 4 * float))
        .saturating_add(classes.saturating_mul(classes).saturating_mul(8));
    if needed <= u128::from(memory) {
        return Ok(());
    }
    let labels = if architecture.task == Task::Classification && architecture.outputs > 1000 {
        format!(
            "; its {} outputs are one per class up to the largest label, {}: class labels \
             must be 0, 1, …, k−1 (use --task regress for a numeric target)",
            architecture.outputs,
            architecture.outputs - 1
        )
    } else {
        "; use smaller --hidden sizes".to_string()
    };
    Err(CliError::TooLarge {
        model: architecture.describe(),
        parameters,
        needed,
        memory,
        advice: labels,
    })
}

/// The machine's memory in bytes, from `/proc/meminfo` (`None` where there is none).
fn memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kilobytes.checked_mul(1024)
}

/// The data set, with class labels (numbers or names) or values as `--task` says or as the
/// target's cells suggest (see [`load_csv_inferring`]).
fn load(args: &TrainArgs) -> Result<LoadedCsv<Real>, CliError> {
    let task = args.task.map(|task| match task {
        TaskArg::Classify => Task::Classification,
        TaskArg::Regress => Task::Regression,
    });
    Ok(load_csv_inferring_with(
        &args.data,
        &args.target,
        task,
        args.delimiter.map(|d| d.0),
    )?)
}

/// At least one feature, each named once (`predict` finds them by name), and at least two
/// classes.
fn check_columns(
    args: &TrainArgs,
    data: &Dataset<Real>,
    class_names: Option<&[String]>,
) -> Result<(), CliError> {
    let names = data.feature_names();
    if names.is_empty() {
        return Err(CliError::NoFeatures {
            path: args.data.clone(),
            target: args.target.clone(),
        });
    }
    if let Some((name, count)) = first_repeated(names) {
        return Err(DataError::DuplicateColumn {
            path: args.data.clone(),
            column: name.to_string(),
            count,
        }
        .into());
    }
    // Two different labels, not just a largest label of 1 or more: labels all 7 would make an
    // 8-class model that can only learn one answer.
    if let Some(&first) = data.classes().and_then(|c| c.first()) {
        if data
            .classes()
            .is_some_and(|c| c.iter().all(|&l| l == first))
        {
            return Err(CliError::OneClass {
                path: args.data.clone(),
                target: args.target.clone(),
                class: match class_names {
                    Some(names) => format!("{:?}", names[first]),
                    None => first.to_string(),
                },
            });
        }
    }
    Ok(())
}

/// The first name (in order) that appears more than once, and how many times: in linear time,
/// for files of a hundred thousand columns.
pub fn first_repeated(names: &[String]) -> Option<(&str, usize)> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    names
        .iter()
        .find(|n| counts[n.as_str()] > 1)
        .map(|n| (n.as_str(), counts[n.as_str()]))
}

/// The training, validation and test rows, by `--split-file` or by `--split` and `--seed`, and
/// the split said in words; the training and validation parts must not be empty.
fn split_rows(
    args: &TrainArgs,
    data: &Dataset<Real>,
) -> Result<(chainrule_train::Split<Real>, String), CliError> {
    let (parts, text) = match &args.split_file {
        Some(path) => {
            let assignment = load_assignment(path)?;
            let parts = split_by_assignment(data, &assignment).map_err(|e| match e {
                SplitError::LengthMismatch { assignment, rows } => CliError::SplitLength {
                    split: path.clone(),
                    data: args.data.clone(),
                    assigned: assignment,
                    rows,
                },
                SplitError::BadRatios { .. } => unreachable!("an assignment has no ratios"),
            })?;
            (parts, format!("from {}", path.display()))
        }
        None => {
            let ratios = args.split;
            let percent = |r: f64| (r * 100.0 * 1e6).round() / 1e6;
            let text = format!(
                "{}/{}/{}",
                percent(ratios.train()),
                percent(ratios.validation()),
                percent(ratios.test())
            );
            // Each class keeps its share in every part: on iris's 30 test rows a plain shuffle
            // can give one class twice the rows of another.
            (split_stratified(data, ratios, args.seed), text)
        }
    };
    for (part, rows) in [
        ("training", parts.train.len()),
        ("validation", parts.validation.len()),
    ] {
        if rows == 0 {
            return Err(CliError::EmptyPart {
                path: args.data.clone(),
                rows: data.len(),
                split: text,
                part,
            });
        }
    }
    Ok((parts, text))
}

/// Softmax cross-entropy of the logits for class labels, mean squared error for values (the
/// targets' node named `target`, so that pictures say what it is).
pub fn loss<'g>(output: Var<'g, Real>, batch: &Batch<Real>) -> Var<'g, Real> {
    match &batch.targets {
        Targets::Classes(classes) => losses::softmax_cross_entropy(output, classes),
        Targets::Values(values) => {
            losses::mean_squared_error(output, output.graph().input(values.clone()).named("target"))
        }
    }
}

/// The optimizer `--optimizer` names, with PyTorch's defaults for everything but the rate.
fn optimizer(choice: OptimizerArg, learning_rate: Real) -> Box<dyn Optimizer<Real>> {
    match choice {
        OptimizerArg::Adam => Box::new(Adam::new(AdamConfig {
            learning_rate,
            ..AdamConfig::default()
        })),
        OptimizerArg::Adamw => Box::new(AdamW::new(AdamWConfig {
            learning_rate,
            ..AdamWConfig::default()
        })),
        OptimizerArg::Sgd => Box::new(Sgd::new(SgdConfig {
            learning_rate,
            ..SgdConfig::default()
        })),
        OptimizerArg::Momentum => Box::new(Sgd::new(SgdConfig {
            learning_rate,
            momentum: 0.9,
            ..SgdConfig::default()
        })),
        OptimizerArg::Rmsprop => Box::new(RmsProp::new(RmsPropConfig {
            learning_rate,
            ..RmsPropConfig::default()
        })),
        OptimizerArg::Gd => Box::new(GradientDescent::new(GradientDescentConfig {
            learning_rate,
        })),
    }
}

/// A failed run, with advice where a non-finite loss or gradient suggests a learning rate
/// that is too large.
fn training_error(error: FitError, penalized: bool) -> CliError {
    let hint = match error {
        FitError::NonFiniteLoss { .. } | FitError::NonFiniteGradient { .. } if penalized => {
            "\ntraining diverged: try a smaller --lr or --l2"
        }
        FitError::NonFiniteLoss { .. } | FitError::NonFiniteGradient { .. } => {
            "\ntraining diverged: try a smaller --lr"
        }
        _ => "",
    };
    CliError::Training { error, hint }
}

/// The standardizer's fitted values, for the model file.
fn scaling(scaler: &Standardizer<Real>) -> Scaling {
    Scaling {
        mean: scaler.mean().to_vec(),
        std: scaler.std().to_vec(),
    }
}

/// What the loss is called on the plot and in the report.
pub fn loss_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "cross-entropy",
        Task::Regression => "mean squared error, standardized target",
    }
}

fn mse(predictions: &chainrule::Tensor<Real>, targets: &chainrule::Tensor<Real>) -> f64 {
    chainrule_train::mean_squared_error(predictions, targets)
}

/// The variance of `values` about their own mean (the mean squared error of predicting the
/// mean, the denominator of R²).
fn variance(values: &[Real]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n
}

/// Text on stderr beside the progress; a closed stderr is ignored, as progress is.
fn print_progress(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Whether two of this process's file descriptors are the same file (a terminal, or the log
/// of `&>`).
#[cfg(unix)]
fn same_file(a: u32, b: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata(format!("/proc/self/fd/{a}")),
        std::fs::metadata(format!("/proc/self/fd/{b}")),
    ) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: u32, _: u32) -> bool {
    false
}
