//! A convolutional network on the handwritten digits, beside the multilayer perceptron of
//! [`crate::digits_mlp`] (the material's contrast between dense and convolutional layers).
//!
//! A dense neuron sees every pixel; a convolutional neuron sees one 3×3 patch, and one small set
//! of weights — a filter — is shared by every patch of the image. So a convolutional layer learns
//! a local pattern (an edge, a stroke end) once and finds it anywhere, with a handful of weights.
//! The network is
//!
//! ```text
//! image 1×8×8 → conv 3×3, 16 filters, ReLU → max-pool 2 → 16×4×4
//!             → conv 3×3, 32 filters, ReLU → max-pool 2 → 32×2×2 → flatten 128 → dense 10 (logits)
//! ```
//!
//! trained like the MLP: softmax cross-entropy from the logits, Adam on mini-batches, the fixed
//! 60/20/20 split, early stopping on the cross-validation loss keeping the best epoch, and the
//! test set used once. Pixels are scaled from 0–16 to 0–1 (the same scale everywhere in the
//! image, so a filter means the same thing at every position). Every gradient — through both
//! convolutions and both poolings — is the engine's one backward pass.
//!
//! The check: at least 98% of the test digits right with at most a quarter of the MLP's
//! parameters.

use std::io::{self, Write};
use std::path::Path;

use chainrule_autodiff::{Conv2dOptions, Graph, ParamId, ParamStore, Pool2dOptions, Tensor};
use chainrule_layers::{
    losses, Activation, Conv2d, Dense, Flatten, MaxPool2d, Sequential, Unflatten,
};
use chainrule_optim::{Adam, AdamConfig};
use chainrule_train::{
    accuracy_of_classes, fit, load_assignment, load_csv, predict, predicted_classes,
    split_by_assignment, Dataset, EarlyStopping, FitConfig, Progress, Task,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::{MaterialError, Outcome};

/// Filters in the first and second convolution.
pub const CHANNELS: [usize; 2] = [16, 32];
/// Adam's learning rate.
pub const LEARNING_RATE: f64 = 3e-3;
/// Images per mini-batch.
pub const BATCH_SIZE: usize = 32;
/// The most epochs a run may take.
pub const MAX_EPOCHS: usize = 100;
/// Early stopping: epochs without a better cross-validation loss before the run stops.
pub const PATIENCE: usize = 15;
/// The check: at least this fraction of the test digits classified right…
pub const MIN_TEST_ACCURACY: f64 = 0.98;
/// …with at most this fraction of the MLP's parameters.
pub const MAX_PARAMETER_RATIO: f64 = 0.25;
/// The seed of the initial weights and of the shuffling.
const SEED: u64 = 0;
/// Side of the square images.
const SIDE: usize = 8;

/// The network, reading rows of 64 pixels: the first layer makes them 1×8×8 images. Returns
/// it with the id of the first convolution's filters, which the example shows.
fn cnn(params: &mut ParamStore<f32>, classes: usize) -> (Sequential<f32>, Conv2d) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let same = Conv2dOptions::new().padding(1);
    let conv1 = Conv2d::new(params, "conv1", 1, CHANNELS[0], 3, same, &mut rng);
    let conv2 = Conv2d::new(params, "conv2", CHANNELS[0], CHANNELS[1], 3, same, &mut rng);
    let side = SIDE / 4; // two poolings halve it twice
    let dense = Dense::new(
        params,
        "output",
        CHANNELS[1] * side * side,
        classes,
        Activation::Linear,
        &mut rng,
    );
    let model = Sequential::new()
        .with(Unflatten::new(1, &[1, SIDE, SIDE]))
        .with(conv1.clone())
        .with(Activation::Relu)
        .with(MaxPool2d::new(Pool2dOptions::new(2)))
        .with(conv2)
        .with(Activation::Relu)
        .with(MaxPool2d::new(Pool2dOptions::new(2)))
        .with(Flatten::default())
        .with(dense);
    (model, conv1)
}

/// Pixels from 0–16 to 0–1.
fn scaled(data: &Dataset<f32>) -> Dataset<f32> {
    data.with_features(data.features().mul_scalar(1.0 / 16.0))
}

/// What the first convolution learned, on one test image: the filter with the largest weights,
/// and the feature map it makes of the image (after the ReLU).
struct Picture {
    filter_index: usize,
    bias: f32,
    image: Vec<f32>,
    filter: Vec<f32>,
    feature_map: Vec<f32>,
}

fn picture(params: &ParamStore<f32>, conv1: &Conv2d, image: &[f32]) -> Picture {
    let weights = params.value(conv1.weight());
    let per_filter = 9;
    let norm = |f: usize| -> f32 {
        weights.as_slice()[f * per_filter..(f + 1) * per_filter]
            .iter()
            .map(|w| w * w)
            .sum()
    };
    let filter_index = (0..CHANNELS[0])
        .max_by(|&a, &b| norm(a).total_cmp(&norm(b)))
        .expect("filters");
    let filter = weights.as_slice()[filter_index * per_filter..][..per_filter].to_vec();
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(image.to_vec(), &[1, 1, SIDE, SIDE]));
    let bias: Option<ParamId> = conv1.bias();
    let bias_value = bias.map_or(0.0, |b| params.value(b).as_slice()[filter_index]);
    let maps = x
        .conv2d(
            params.bind(&g, conv1.weight()),
            bias.map(|b| params.bind(&g, b)),
            conv1.options(),
        )
        .relu()
        .value();
    let plane = SIDE * SIDE;
    let feature_map = maps.as_slice()[filter_index * plane..][..plane].to_vec();
    Picture {
        filter_index,
        bias: bias_value,
        image: image.to_vec(),
        filter,
        feature_map,
    }
}

/// Writes a square grid of numbers, one row per line.
fn write_grid(out: &mut dyn Write, values: &[f32], side: usize, indent: &str) -> io::Result<()> {
    for row in values.chunks(side) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>6.2}")).collect();
        writeln!(out, "{indent}{}", cells.join(""))?;
    }
    Ok(())
}

/// Runs the example, narrating to `out` (the tour's entry point).
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    run_with_plot(out, None)
}

/// Runs the example, narrating to `out`, and draws the image, the filter and its feature map as
/// an SVG picture into `plot` when given.
pub fn run_with_plot(out: &mut dyn Write, plot: Option<&Path>) -> Result<Outcome, MaterialError> {
    let data = load_csv::<f32>(
        crate::data_path("digits.csv"),
        "target",
        Task::Classification,
    )?;
    let assignment = load_assignment(crate::data_path("digits_split.csv"))?;
    let parts = split_by_assignment(&data, &assignment)?;
    let (train_set, validation, test) = (
        scaled(&parts.train),
        scaled(&parts.validation),
        scaled(&parts.test),
    );
    let classes = data.num_classes().expect("class labels");

    writeln!(
        out,
        "Digits as 8×8 images: a convolutional network conv 3×3 ({}) → ReLU → max-pool 2 → \
         conv 3×3 ({}) → ReLU → max-pool 2 → dense {classes},",
        CHANNELS[0], CHANNELS[1]
    )?;
    writeln!(
        out,
        "trained on {} images (validation {}, test {}), Adam at {LEARNING_RATE} on batches of \
         {BATCH_SIZE}, early stopping after {PATIENCE} epochs.",
        train_set.len(),
        validation.len(),
        test.len()
    )?;

    let mut params = ParamStore::new();
    let (mut model, conv1) = cnn(&mut params, classes);
    let parameters = params.num_elements();
    let mut adam = Adam::new(AdamConfig {
        learning_rate: LEARNING_RATE as f32,
        ..AdamConfig::default()
    });
    let config = FitConfig {
        epochs: MAX_EPOCHS,
        batch_size: BATCH_SIZE,
        seed: SEED,
        early_stopping: Some(EarlyStopping {
            patience: PATIENCE,
            ..EarlyStopping::default()
        }),
        progress: Progress::Quiet,
        ..FitConfig::default()
    };
    let history = fit(
        &mut model,
        &mut params,
        &mut adam,
        |logits, batch| losses::softmax_cross_entropy(logits, batch.classes()),
        &train_set,
        &validation,
        &config,
    )?;
    let classify = |model: &mut Sequential<f32>, params: &ParamStore<f32>, d: &Dataset<f32>| {
        predicted_classes(&predict(model, params, d.features(), 256))
    };
    let validation_accuracy = accuracy_of_classes(
        &classify(&mut model, &params, &validation),
        validation.classes().expect("labels"),
    );
    writeln!(
        out,
        "Stopped after {} epochs; the best cross-validation loss was at epoch {} \
         (validation accuracy {:.1}%).",
        history.epochs(),
        history.best_epoch + 1,
        100.0 * validation_accuracy
    )?;

    // The test set, once.
    let test_predictions = classify(&mut model, &params, &test);
    let test_accuracy = accuracy_of_classes(&test_predictions, test.classes().expect("labels"));

    // The MLP of the digits_mlp example, trained as that example trains it.
    let mlp = crate::digits_mlp::run(&mut io::sink())?;
    let mlp_parameters = mlp.json["parameters"].as_u64().expect("parameters") as usize;
    let mlp_accuracy = mlp.json["test_accuracy"].as_f64().expect("accuracy");
    writeln!(out)?;
    writeln!(
        out,
        "  {:<34} {:>10}  {:>13}",
        "model", "parameters", "test accuracy"
    )?;
    writeln!(
        out,
        "  {:<34} {mlp_parameters:>10}  {:>12.1}%",
        "MLP 64 → 128 → 128 → 10 (digits_mlp)",
        100.0 * mlp_accuracy
    )?;
    writeln!(
        out,
        "  {:<34} {parameters:>10}  {:>12.1}%",
        "CNN (this example)",
        100.0 * test_accuracy
    )?;
    let ratio = parameters as f64 / mlp_parameters as f64;
    writeln!(
        out,
        "The CNN has {:.1}% of the MLP's parameters: each 3×3 filter is 9 weights shared by all \
         64 positions.",
        100.0 * ratio
    )?;
    writeln!(out)?;

    let first_test = &test.features().as_slice()[..SIDE * SIDE];
    let shown = picture(&params, &conv1, first_test);
    writeln!(
        out,
        "The first test image (a {}), pixels 0–1:",
        test.classes().expect("labels")[0]
    )?;
    write_grid(out, &shown.image, SIDE, "  ")?;
    writeln!(
        out,
        "Filter {} of conv1 (the one with the largest weights), 3×3:",
        shown.filter_index
    )?;
    write_grid(out, &shown.filter, 3, "  ")?;
    writeln!(
        out,
        "Its feature map on that image (after the ReLU): where the pattern it learned appears."
    )?;
    write_grid(out, &shown.feature_map, SIDE, "  ")?;
    if let Some(path) = plot {
        let svg = crate::picture::grids_svg(&[
            ("test image", &shown.image, SIDE),
            ("conv1 filter", &shown.filter, 3),
            ("feature map", &shown.feature_map, SIDE),
        ])
        .map_err(|reason| MaterialError::Plot {
            path: path.to_owned(),
            reason,
        })?;
        chainrule_train::write_atomically(path, svg.as_bytes()).map_err(|error| {
            MaterialError::Plot {
                path: path.to_owned(),
                reason: error.to_string(),
            }
        })?;
        writeln!(
            out,
            "Drew the image, the filter and its feature map to {}.",
            path.display()
        )?;
    }

    let passed = test_accuracy >= MIN_TEST_ACCURACY && ratio <= MAX_PARAMETER_RATIO;
    let grid = |values: &[f32], side: usize| -> Vec<Vec<f32>> {
        values.chunks(side).map(<[f32]>::to_vec).collect()
    };
    Ok(Outcome {
        name: "cnn_digits",
        learned: format!(
            "CNN conv{}→conv{}→dense: test accuracy {:.1}% with {parameters} parameters \
             (MLP: {:.1}% with {mlp_parameters})",
            CHANNELS[0],
            CHANNELS[1],
            100.0 * test_accuracy,
            100.0 * mlp_accuracy
        ),
        check: format!(
            "at least {:.0}% of the {} held-out test digits right with at most a quarter of the \
             MLP's parameters",
            100.0 * MIN_TEST_ACCURACY,
            test.len()
        ),
        passed,
        json: serde_json::json!({
            "test_accuracy": test_accuracy,
            "parameters": parameters,
            "mlp_parameters": mlp_parameters,
            "mlp_test_accuracy": mlp_accuracy,
            "validation_accuracy": validation_accuracy,
            "epochs": history.epochs(),
            "best_epoch": history.best_epoch + 1,
            "test_predictions": test_predictions,
            "filter_index": shown.filter_index,
            "filter": grid(&shown.filter, 3),
            "filter_bias": shown.bias,
            "feature_map": grid(&shown.feature_map, SIDE),
        }),
    })
}
