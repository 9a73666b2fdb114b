//! Six optimizers on one problem (the material's section on optimizers beyond gradient descent:
//! mini-batches, momentum, RMSProp, Adam, and decoupled weight decay).
//!
//! The problem is a small network on the two-moons data — 100 points in the plane, two
//! interleaved half-circles — with one hidden layer of tanh units and a logit out, trained on
//! the binary log loss. Every optimizer starts from the same initial weights and makes the same
//! number of updates; the mini-batch ones see the same batches in the same order. The training
//! step is written out below, the same for all six:
//!
//! ```text
//! graph ← new;  loss ← log loss(model(batch.x), batch.y)
//! gradients ← backward(loss);  drop the graph
//! optimizer.apply(parameters, gradients)
//! ```
//!
//! What differs is only how `apply` turns a gradient `g` into a step:
//!
//! - gradient descent: `w ← w − α·g`, with `g` over all 100 points;
//! - SGD: the same rule, with `g` from a mini-batch (cheaper, noisier steps);
//! - momentum: a running sum `v ← μ·v + g` smooths the steps, `w ← w − α·v`;
//! - RMSProp: each weight's step is divided by a running root mean square of its gradients;
//! - Adam: momentum and RMSProp together, with their bias corrected for the first steps;
//! - AdamW: Adam, plus shrinking the weights a little each step (`w ← w − α·λ·w`).
//!
//! The loss after each optimizer's updates is measured on all 100 points.

use std::io::Write;

use chainrule_autodiff::{Graph, ParamStore, Tensor};
use chainrule_layers::{losses, Activation, Dense, Module, Sequential};
use chainrule_optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradientDescent, GradientDescentConfig, Optimizer,
    RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use chainrule_train::{batches, load_csv, Batch, Dataset, Targets, Task};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::{MaterialError, Outcome};

/// The number of updates every optimizer makes.
pub const STEPS: usize = 1000;
/// Rows per mini-batch for every optimizer but full-batch gradient descent.
pub const BATCH_SIZE: usize = 20;
/// Tanh units in the hidden layer.
pub const HIDDEN: usize = 16;
/// The optimizers compared, by name, in the order of the table.
pub const OPTIMIZERS: [&str; 6] = ["gd", "sgd", "momentum", "rmsprop", "adam", "adamw"];
/// The steps after which the table shows the loss.
const CHECKPOINTS: [usize; 7] = [0, 10, 30, 100, 300, 600, STEPS];
/// The seed of the initial weights (the same for all) and of the order of the mini-batches.
const SEED: u64 = 1;

/// One optimizer of the comparison: its name, its settings in words, the optimizer itself and
/// the rows per update.
struct Contender {
    name: &'static str,
    settings: &'static str,
    optimizer: Box<dyn Optimizer<f64>>,
    batch_size: usize,
}

/// The six, with the settings each is run at: PyTorch's defaults where they suit a problem of
/// this size, a larger learning rate for the plain ones, which need it.
fn contenders(rows: usize) -> Vec<Contender> {
    vec![
        Contender {
            name: "gd",
            settings: "α = 0.1, all 100 points per step",
            optimizer: Box::new(GradientDescent::new(GradientDescentConfig {
                learning_rate: 0.1,
            })),
            batch_size: rows,
        },
        Contender {
            name: "sgd",
            settings: "α = 0.1, mini-batches",
            optimizer: Box::new(Sgd::new(SgdConfig {
                learning_rate: 0.1,
                ..SgdConfig::default()
            })),
            batch_size: BATCH_SIZE,
        },
        Contender {
            name: "momentum",
            settings: "α = 0.1, μ = 0.9, mini-batches",
            optimizer: Box::new(Sgd::new(SgdConfig {
                learning_rate: 0.1,
                momentum: 0.9,
                ..SgdConfig::default()
            })),
            batch_size: BATCH_SIZE,
        },
        Contender {
            name: "rmsprop",
            settings: "α = 0.01, ρ = 0.99, mini-batches",
            optimizer: Box::new(RmsProp::new(RmsPropConfig {
                learning_rate: 0.01,
                ..RmsPropConfig::default()
            })),
            batch_size: BATCH_SIZE,
        },
        Contender {
            name: "adam",
            settings: "α = 0.01, β = (0.9, 0.999), mini-batches",
            optimizer: Box::new(Adam::new(AdamConfig {
                learning_rate: 0.01,
                ..AdamConfig::default()
            })),
            batch_size: BATCH_SIZE,
        },
        Contender {
            name: "adamw",
            settings: "α = 0.01, λ = 0.01, mini-batches",
            optimizer: Box::new(AdamW::new(AdamWConfig {
                learning_rate: 0.01,
                weight_decay: 0.01,
                ..AdamWConfig::default()
            })),
            batch_size: BATCH_SIZE,
        },
    ]
}

/// 2 → HIDDEN tanh units → 1 logit, from the one seed, so every optimizer starts alike.
fn network(params: &mut ParamStore<f64>, inputs: usize) -> Sequential<f64> {
    let mut rng = StdRng::seed_from_u64(SEED);
    Sequential::new()
        .with(Dense::new(
            params,
            "hidden",
            inputs,
            HIDDEN,
            Activation::Tanh,
            &mut rng,
        ))
        .with(Dense::new(
            params,
            "output",
            HIDDEN,
            1,
            Activation::Linear,
            &mut rng,
        ))
}

/// The mean log loss of the network on `x` against `y` (a graph with no backward pass).
fn loss_on(
    model: &Sequential<f64>,
    params: &ParamStore<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
) -> f64 {
    let g = Graph::new();
    let logits = model.forward(&g, params, g.input(x.clone()));
    losses::binary_log_loss(logits, g.input(y.clone())).item()
}

/// One training step on a batch: forward, backward, and the optimizer's update.
fn step(
    model: &Sequential<f64>,
    params: &mut ParamStore<f64>,
    optimizer: &mut dyn Optimizer<f64>,
    batch: &Batch<f64>,
) {
    let g = Graph::new();
    let logits = model.forward(&g, params, g.input(batch.features.clone()));
    let loss = losses::binary_log_loss(logits, g.input(batch.values().clone()));
    let grads = params.collect_grads(&loss.backward());
    // The graph shares the parameters' storage; once it is gone the update goes in place.
    drop(g);
    optimizer.apply(params, &grads);
}

/// The loss on all the data at each checkpoint, after `STEPS` updates of `contender`.
fn race(contender: &mut Contender, data: &Dataset<f64>) -> Vec<f64> {
    let mut params = ParamStore::new();
    let model = network(&mut params, data.num_features());
    let x = data.features();
    let y = data.values().expect("0/1 targets");
    // The same shuffled order for every mini-batch optimizer.
    let mut order = StdRng::seed_from_u64(SEED);
    let mut losses = vec![loss_on(&model, &params, x, y)];
    let mut done = 0;
    while done < STEPS {
        for batch in batches(data, contender.batch_size, Some(&mut order)) {
            step(&model, &mut params, contender.optimizer.as_mut(), &batch);
            done += 1;
            if CHECKPOINTS.contains(&done) {
                losses.push(loss_on(&model, &params, x, y));
            }
            if done == STEPS {
                break;
            }
        }
    }
    losses
}

/// Runs the example, narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    let moons = load_csv::<f64>(crate::data_path("moons100.csv"), "target", Task::Regression)?;
    // The file labels the moons −1 and +1; the log loss wants 0 and 1.
    let labels = moons
        .values()
        .expect("a regression data set has target values")
        .map(|label| if label > 0.0 { 1.0 } else { 0.0 });
    let data = Dataset::new(moons.features().clone(), Targets::Values(labels));

    writeln!(
        out,
        "Optimizers: a network 2 → {HIDDEN} tanh → 1 logit on the two-moons data ({} points, log \
         loss),",
        data.len()
    )?;
    writeln!(
        out,
        "trained from the same initial weights by six optimizers, {STEPS} updates each:"
    )?;
    let mut contenders = contenders(data.len());
    for contender in &contenders {
        writeln!(out, "  {:<9} {}", contender.name, contender.settings)?;
    }
    writeln!(
        out,
        "Mini-batches hold {BATCH_SIZE} points, drawn in the same shuffled order for each."
    )?;
    writeln!(out)?;

    let curves: Vec<Vec<f64>> = contenders
        .iter_mut()
        .map(|contender| race(contender, &data))
        .collect();

    writeln!(
        out,
        "Log loss on all {} points after each number of updates:",
        data.len()
    )?;
    write!(out, "  {:>5}", "step")?;
    for name in OPTIMIZERS {
        write!(out, "  {name:>8}")?;
    }
    writeln!(out)?;
    for (row, checkpoint) in CHECKPOINTS.iter().enumerate() {
        write!(out, "  {checkpoint:>5}")?;
        for curve in &curves {
            write!(out, "  {:>8.4}", curve[row])?;
        }
        writeln!(out)?;
    }
    writeln!(out)?;

    let initial_loss = curves[0][0];
    let final_loss: Vec<f64> = curves
        .iter()
        .map(|curve| *curve.last().expect("a loss per checkpoint"))
        .collect();
    let by_name = |name: &str| {
        final_loss[OPTIMIZERS
            .iter()
            .position(|&n| n == name)
            .expect("a known optimizer")]
    };
    let gd = by_name("gd");
    writeln!(
        out,
        "All six start at {initial_loss:.4}. Gradient descent takes the same small step on every"
    )?;
    writeln!(
        out,
        "weight and ends at {gd:.4}. SGD ends at {:.4}: a mini-batch's gradient is on average the",
        by_name("sgd")
    )?;
    writeln!(
        out,
        "full one, so it follows gradient descent closely with {BATCH_SIZE} of the {} points' \
         work per \
         step.",
        data.len()
    )?;
    writeln!(
        out,
        "Momentum keeps going where successive gradients agree, up to α/(1 − μ) = 1 per unit of"
    )?;
    writeln!(
        out,
        "gradient, and ends at {:.4}. RMSProp, Adam and AdamW divide each weight's step by the \
         size",
        by_name("momentum")
    )?;
    writeln!(
        out,
        "of its recent gradients, so the flat directions move as fast as the steep ones: {:.4},",
        by_name("rmsprop")
    )?;
    writeln!(
        out,
        "{:.4} and {:.4} (AdamW a little higher: it also pulls the weights towards 0).",
        by_name("adam"),
        by_name("adamw")
    )?;

    let all_lower = final_loss.iter().all(|&loss| loss < initial_loss);
    let adaptive_beat_gd = ["rmsprop", "adam", "adamw"]
        .iter()
        .all(|&name| by_name(name) < gd);
    let passed = all_lower && adaptive_beat_gd;
    let final_json: serde_json::Map<String, serde_json::Value> = OPTIMIZERS
        .iter()
        .zip(&final_loss)
        .map(|(&name, &loss)| (name.to_string(), loss.into()))
        .collect();
    let curves_json: serde_json::Map<String, serde_json::Value> = OPTIMIZERS
        .iter()
        .zip(&curves)
        .map(|(&name, curve)| (name.to_string(), curve.clone().into()))
        .collect();
    Ok(Outcome {
        name: "optimizers",
        learned: format!(
            "log loss after {STEPS} updates, from {initial_loss:.3}: {}",
            OPTIMIZERS
                .iter()
                .zip(&final_loss)
                .map(|(name, loss)| format!("{name} {loss:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        check: "every optimizer lowers the loss; RMSProp, Adam and AdamW end below gradient \
                descent"
            .to_string(),
        passed,
        json: serde_json::json!({
            "steps": STEPS,
            "initial_loss": initial_loss,
            "final_loss": final_json,
            "checkpoints": CHECKPOINTS,
            "loss_at_checkpoints": curves_json,
        }),
    })
}
