//! Softmax regression (the material's section on multiclass classification: softmax and the
//! categorical cross-entropy), on Fisher's iris flowers: four measurements in centimetres and
//! one of three species.
//!
//! The model has no hidden layer. One [`Dense`] layer with no activation computes a score (a
//! logit) per species, `zₖ = wₖ·x + bₖ`, and softmax turns the three scores into probabilities,
//!
//! ```text
//! aₖ = e^{zₖ} / (e^{z₀} + e^{z₁} + e^{z₂}),
//! ```
//!
//! which are positive and sum to 1. The cost is the categorical cross-entropy
//! `J = −(1/m)·Σ ln a_{y}`, the log of the probability given to the right species, computed from
//! the logits in one step (exact even when a logit is large). Gradient descent on the whole
//! training set minimises it; the gradient comes from the engine's backward pass. The data are
//! split 60/20/20 with a fixed seed and standardised with the training rows' statistics.

use std::io::Write;

use chainrule_autodiff::ParamStore;
use chainrule_layers::{losses, Activation, Dense, Init};
use chainrule_optim::{GradientDescent, GradientDescentConfig};
use chainrule_train::{
    accuracy_of_classes, evaluate, fit, load_csv, predict, predicted_classes, split, FitConfig,
    Progress, SplitRatios, Standardizer, Task,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::{MaterialError, Outcome};

/// The seed of the shuffled 60/20/20 split.
pub const SPLIT_SEED: u64 = 0;
/// Gradient descent's learning rate α.
pub const LEARNING_RATE: f64 = 0.5;
/// Full-batch gradient-descent steps.
pub const STEPS: usize = 500;
/// The check: at least this fraction of the test flowers classified right.
pub const MIN_TEST_ACCURACY: f64 = 0.9;
/// The check: every test flower's probabilities sum to 1 within this.
pub const SUM_TOLERANCE: f64 = 1e-6;
/// The species, by label.
pub const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];
/// How many test flowers to show.
const SHOWN: usize = 6;

/// Runs the example, narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    let data = load_csv::<f64>(crate::data_path("iris.csv"), "target", Task::Classification)?;
    let parts = split(&data, SplitRatios::default(), SPLIT_SEED);
    let scaler = Standardizer::fit_dataset(&parts.train);
    let train = scaler.transform_dataset(&parts.train);
    let validation = scaler.transform_dataset(&parts.validation);
    let test = scaler.transform_dataset(&parts.test);
    let features = data.num_features();
    let classes = SPECIES.len();

    writeln!(
        out,
        "Iris: softmax regression, z = xW + b and a = softmax(z), on {features} measurements"
    )?;
    writeln!(
        out,
        "of {} flowers of {classes} species ({}).",
        data.len(),
        SPECIES.join(", ")
    )?;
    writeln!(
        out,
        "Split 60/20/20 with seed {SPLIT_SEED}: {} training, {} cross-validation, {} test flowers,",
        train.len(),
        validation.len(),
        test.len()
    )?;
    writeln!(
        out,
        "standardised with the training rows' mean and standard deviation."
    )?;
    writeln!(
        out,
        "Cost: the categorical cross-entropy J = −(1/m)·Σ ln a_y, computed from the logits;"
    )?;
    writeln!(
        out,
        "gradient descent with α = {LEARNING_RATE}, {STEPS} steps on all {} training rows, from \
         W = 0, b = 0.",
        train.len()
    )?;
    writeln!(out)?;

    let mut params = ParamStore::new();
    // Zeros need no random numbers; the generator is only there because `Dense` asks for one.
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = Dense::with_init(
        &mut params,
        "softmax_regression",
        features,
        classes,
        Activation::Linear,
        Init::Zeros,
        &mut rng,
    );
    let mut descent = GradientDescent::new(GradientDescentConfig {
        learning_rate: LEARNING_RATE,
    });
    let config = FitConfig {
        epochs: STEPS,
        batch_size: train.len(),
        shuffle: false,
        evaluate_train_loss: true,
        progress: Progress::Quiet,
        ..FitConfig::default()
    };
    let history = fit(
        &mut model,
        &mut params,
        &mut descent,
        |logits, batch| losses::softmax_cross_entropy(logits, batch.classes()),
        &train,
        &validation,
        &config,
    )?;
    let initial_loss = (classes as f64).ln();
    writeln!(
        out,
        "The cost falling (at W = 0 every species gets 1/3, so J starts at ln 3 = \
         {initial_loss:.4}):"
    )?;
    for step in [0, 4, 19, 99, STEPS - 1] {
        writeln!(
            out,
            "  step {:>4}  J_train {:.4}  J_cv {:.4}",
            step + 1,
            history.train_loss[step],
            history.validation_loss[step]
        )?;
    }
    let train_loss = *history.train_loss.last().expect("at least one epoch");
    writeln!(out)?;

    // On the test set, once: the logits, their softmax, the most probable species.
    let test_loss = evaluate(
        &mut model,
        &params,
        |logits, batch| losses::softmax_cross_entropy(logits, batch.classes()),
        &test,
        test.len(),
    )?;
    let logits = predict(&mut model, &params, test.features(), test.len());
    let probabilities = logits.softmax(-1);
    let labels = test.classes().expect("labels");
    let predictions = predicted_classes(&probabilities);
    let test_accuracy = accuracy_of_classes(&predictions, labels);
    let rows: Vec<&[f64]> = probabilities.as_slice().chunks_exact(classes).collect();
    let sum_error = rows
        .iter()
        .map(|row| (row.iter().sum::<f64>() - 1.0).abs())
        .fold(0.0, f64::max);

    writeln!(
        out,
        "Probabilities softmax(z) for the first {SHOWN} test flowers:"
    )?;
    writeln!(
        out,
        "  {:>10}  {:>8}  {:>10}  {:>9}  {:>5}  {:>10}",
        "actual", SPECIES[0], SPECIES[1], SPECIES[2], "sum", "predicted"
    )?;
    for (row, (&label, &predicted)) in rows.iter().zip(labels.iter().zip(&predictions)).take(SHOWN)
    {
        writeln!(
            out,
            "  {:>10}  {:>8.4}  {:>10.4}  {:>9.4}  {:>5.3}  {:>10}",
            SPECIES[label],
            row[0],
            row[1],
            row[2],
            row.iter().sum::<f64>(),
            SPECIES[predicted]
        )?;
    }
    let right = predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count();
    writeln!(
        out,
        "{right} of the {} test flowers get their species right ({:.1}%), test cost \
         {test_loss:.4};",
        test.len(),
        100.0 * test_accuracy
    )?;
    writeln!(
        out,
        "the largest gap between a flower's probabilities summed and 1 is {sum_error:.1e}."
    )?;
    writeln!(out)?;

    let weights = params.value(model.weight());
    let bias = params.value(model.bias()).to_vec();
    writeln!(
        out,
        "What was learned: one column of W per species (per standard deviation of each \
         measurement):"
    )?;
    writeln!(
        out,
        "  {:>18}  {:>9}  {:>10}  {:>9}",
        "", SPECIES[0], SPECIES[1], SPECIES[2]
    )?;
    let weight_rows: Vec<Vec<f64>> = weights
        .as_slice()
        .chunks_exact(classes)
        .map(<[f64]>::to_vec)
        .collect();
    for (name, row) in data.feature_names().iter().zip(&weight_rows) {
        writeln!(
            out,
            "  {name:>18}  {:>+9.3}  {:>+10.3}  {:>+9.3}",
            row[0], row[1], row[2]
        )?;
    }
    writeln!(
        out,
        "  {:>18}  {:>+9.3}  {:>+10.3}  {:>+9.3}",
        "b", bias[0], bias[1], bias[2]
    )?;
    writeln!(
        out,
        "Long, wide petals raise virginica's score and lower setosa's: the petal rows carry the"
    )?;
    writeln!(out, "largest weights.")?;

    let passed = test_accuracy >= MIN_TEST_ACCURACY && sum_error <= SUM_TOLERANCE;
    let probability_rows: Vec<Vec<f64>> = rows.iter().map(|row| row.to_vec()).collect();
    Ok(Outcome {
        name: "iris_softmax",
        learned: format!(
            "W ({features}×{classes}) and b by gradient descent; test accuracy {:.1}%, \
             probabilities sum to 1 within {sum_error:.0e}",
            100.0 * test_accuracy
        ),
        check: format!(
            "at least {:.0}% of the {} test flowers right; softmax rows sum to 1 within \
             {SUM_TOLERANCE:.0e}",
            100.0 * MIN_TEST_ACCURACY,
            test.len()
        ),
        passed,
        json: serde_json::json!({
            "test_accuracy": test_accuracy,
            "train_loss": train_loss,
            "test_loss": test_loss,
            "probabilities_sum_max_error": sum_error,
            "weights": weight_rows,
            "bias": bias,
            "feature_names": data.feature_names(),
            "classes": SPECIES,
            "split_seed": SPLIT_SEED,
            "test_probabilities": probability_rows,
            "test_labels": labels,
        }),
    })
}
