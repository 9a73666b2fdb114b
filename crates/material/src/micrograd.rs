//! micrograd's demo on chainrule: a 2→16→16→1 multilayer perceptron trained on the two-moons
//! data where every number is its own 0-d var — the `scalar-mlp` workload.
//!
//! This is backpropagation over a computation graph at its plainest: each weight, each input
//! coordinate and each intermediate sum is one node; `loss.backward()` applies the chain rule
//! from the loss back to every weight; plain gradient descent moves each weight against its
//! gradient. Settings follow micrograd's `demo.ipynb`: weights uniform in (−1, 1), biases 0,
//! ReLU hidden layers and a linear output, the hinge loss `mean(relu(1 − y·score))` plus
//! `1e-4·Σp²`, and a learning rate falling from 1.0 to 0.1 over 100 full-batch steps.
//!
//! `examples/micrograd.rs` runs it (`cargo run --release --example micrograd`); the benchmark
//! program times it as the `scalar-mlp` workload.

use std::time::Instant;

use chainrule_autodiff::{Graph, Var};
use rand::{Rng, SeedableRng};

/// The two-moons points, bundled into the binary so it runs from anywhere.
pub const MOONS_CSV: &str = include_str!("../../../data/moons100.csv");

/// Layer widths: 2 inputs, two hidden layers of 16, one output score.
pub const SIZES: [usize; 4] = [2, 16, 16, 1];

/// Parses `x1,x2,target` rows (after a header) into points and ±1 labels.
pub fn parse_moons(csv: &str) -> Result<(Vec<[f64; 2]>, Vec<f64>), String> {
    let mut points = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in csv.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let number = |col: usize| -> Result<f64, String> {
            let text = fields.get(col).ok_or_else(|| {
                format!("moons100.csv line {}: missing column {}", i + 1, col + 1)
            })?;
            text.trim().parse().map_err(|_| {
                format!(
                    "moons100.csv line {}, column {}: {text:?} is not a number",
                    i + 1,
                    col + 1
                )
            })
        };
        points.push([number(0)?, number(1)?]);
        labels.push(number(2)?);
    }
    Ok((points, labels))
}

/// The network's parameters as plain numbers, outside any graph: for each layer, for each
/// neuron, its input weights followed by its bias.
pub struct Mlp {
    /// All parameters, layer by layer, neuron by neuron, weights then bias.
    pub params: Vec<f64>,
}

impl Mlp {
    /// micrograd's initialisation: weights uniform in (−1, 1), biases zero.
    pub fn new(seed: u64) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut params = Vec::new();
        for pair in SIZES.windows(2) {
            for _neuron in 0..pair[1] {
                params.extend((0..pair[0]).map(|_| rng.gen_range(-1.0..1.0)));
                params.push(0.0);
            }
        }
        Mlp { params }
    }

    /// The score of one point, built from 0-d vars: `Σ wᵢxᵢ + b` per neuron, ReLU on hidden
    /// layers, linear output.
    fn score<'g>(params: &[Var<'g, f64>], g: &'g Graph<f64>, point: [f64; 2]) -> Var<'g, f64> {
        let mut activations: Vec<Var<'g, f64>> =
            point.iter().map(|&x| g.constant(x.into())).collect();
        let mut next_param = 0;
        for (layer, pair) in SIZES.windows(2).enumerate() {
            let last_layer = layer == SIZES.len() - 2;
            activations = (0..pair[1])
                .map(|_| {
                    let weights = &params[next_param..next_param + pair[0]];
                    let bias = params[next_param + pair[0]];
                    next_param += pair[0] + 1;
                    let sum = weights
                        .iter()
                        .zip(&activations)
                        .fold(bias, |acc, (&w, &x)| acc + w * x);
                    if last_layer {
                        sum
                    } else {
                        sum.relu()
                    }
                })
                .collect();
        }
        activations[0]
    }
}

/// What one training run learned.
pub struct TrainingRun {
    /// The loss after each step.
    pub losses: Vec<f64>,
    /// The fraction of training points on the right side of the boundary after training.
    pub accuracy: f64,
    /// The wall time of each step (forward, backward, update, and dropping the step's graph and
    /// gradients) in milliseconds. The teardown counts because every step pays it: micrograd
    /// and PyTorch free the last step's graph inside their timed steps too, when its variables
    /// are rebound.
    pub step_ms: Vec<f64>,
}

/// Trains the MLP for `steps` full-batch steps of gradient descent.
pub fn train(points: &[[f64; 2]], labels: &[f64], steps: usize, seed: u64) -> TrainingRun {
    let mut model = Mlp::new(seed);
    let mut run = TrainingRun {
        losses: Vec::new(),
        accuracy: 0.0,
        step_ms: Vec::new(),
    };
    for k in 0..steps {
        let start = Instant::now();
        let g = Graph::new();
        let params: Vec<Var<f64>> = model.params.iter().map(|&p| g.scalar(p)).collect();
        let scores: Vec<Var<f64>> = points.iter().map(|&x| Mlp::score(&params, &g, x)).collect();
        // Hinge loss: zero once a point is on the right side with a margin of 1.
        let hinge = scores
            .iter()
            .zip(labels)
            .map(|(&s, &y)| (1.0 - s * y).relu())
            .reduce(|a, b| a + b)
            .expect("at least one point");
        let data_loss = hinge * (1.0 / points.len() as f64);
        let l2 = params
            .iter()
            .map(|&p| p * p)
            .reduce(|a, b| a + b)
            .expect("parameters");
        let loss = data_loss + l2 * 1e-4;

        let grads = loss.backward();
        let learning_rate = 1.0 - 0.9 * k as f64 / 100.0;
        for (value, &p) in model.params.iter_mut().zip(&params) {
            *value -= learning_rate * grads[p].item();
        }
        let loss = loss.item();
        let correct = scores
            .iter()
            .zip(labels)
            .filter(|(s, &y)| (s.item() > 0.0) == (y > 0.0))
            .count();
        drop((scores, params, grads));
        drop(g);
        run.step_ms.push(start.elapsed().as_secs_f64() * 1e3);
        run.losses.push(loss);
        run.accuracy = correct as f64 / points.len() as f64;
    }
    run
}

/// The median of some timings.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}
