//! Recurrent networks trained by backpropagation through time: the plain RNN against the LSTM
//! (the material's section on sequence models).
//!
//! A recurrent network reads a sequence one step at a time and carries a hidden state from step
//! to step. Unrolled over a sequence it is a deep network whose layers share their weights, so
//! training it is the one generic backward pass over the unrolled graph: "backpropagation
//! through time" needs no algorithm of its own. Like a deep network it suffers from vanishing
//! gradients. In the plain (Elman) RNN `h_t = tanh(x_t·W_x + h_(t−1)·W_h + b)` the gradient that
//! reaches step `t` from the end is a product of one factor `diag(tanh'(z))·W_hᵀ` per step in
//! between, and it fades. The LSTM's cell state is updated by addition,
//! `c_t = f ⊙ c_(t−1) + i ⊙ g`: along it each step's factor is just the forget gate `f`, which
//! the network can hold near 1, so both the stored value and its gradient survive many steps.
//!
//! The task is the adding problem (Hochreiter & Schmidhuber 1997): at each step the input is a
//! random number in [0, 1) and a marker, 0 or 1; exactly two steps are marked, one in each half
//! of the sequence, and after the last step the model must output the sum of the two marked
//! numbers. Answering 1 every time (the mean) scores a mean squared error of 1/6; to do better
//! the model must store a number it saw up to `T − 1` steps earlier. Both models have the same
//! hidden size and the same readout (a [`Dense`] layer on the last hidden state) and are trained
//! with the same optimizer, steps and sequences; they are scored on a fixed held-out set.

use std::io::Write;

use chainrule_autodiff::{Graph, ParamStore, Tensor, Var};
use chainrule_layers::{losses, Activation, Dense, Lstm, Module, Rnn};
use chainrule_optim::{Adam, AdamConfig, Optimizer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{MaterialError, Outcome};

/// The mean squared error of always answering 1, the mean of the sum: the variance of the sum
/// of two independent uniform numbers, 2 · 1/12.
pub const BASELINE_LOSS: f64 = 1.0 / 6.0;

/// An answer counts as right when it is within this of the true sum (the criterion of
/// Hochreiter & Schmidhuber 1997).
pub const TOLERANCE: f64 = 0.04;

/// The settings of one run; [`Config::default`] is what [`run`] uses. [`run_with`] takes
/// others, to try a longer sequence or another seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The length `T` of every sequence.
    pub sequence_length: usize,
    /// The size of the hidden state (and of the LSTM's cell state), the same for both models.
    pub hidden: usize,
    /// Sequences per training step, fresh ones at every step.
    pub batch_size: usize,
    /// Training steps, the same for both models.
    pub steps: usize,
    /// Adam's learning rate, the same for both models.
    pub learning_rate: f64,
    /// Sequences in the held-out set the final loss and accuracy are measured on.
    pub test_size: usize,
    /// The check: the LSTM's held-out mean squared error must end below this, the RNN's not.
    pub threshold: f64,
    /// The seed of the initial weights and of every sequence.
    pub seed: u64,
}

impl Default for Config {
    /// `T` = 40, 16 hidden units, 1200 steps of 32 sequences, Adam at 0.01, threshold 0.01
    /// (a sixteenth of the baseline 1/6).
    fn default() -> Self {
        Config {
            sequence_length: 40,
            hidden: 16,
            batch_size: 32,
            steps: 1200,
            learning_rate: 0.01,
            test_size: 500,
            threshold: 0.01,
            seed: 1,
        }
    }
}

/// `batch` adding-problem sequences: inputs `[batch, T, 2]` (the number, the marker) and the
/// targets `[batch, 1]`, the sum of the two marked numbers.
fn adding_problem(length: usize, batch: usize, rng: &mut StdRng) -> (Tensor<f64>, Tensor<f64>) {
    let mut x = Vec::with_capacity(batch * length * 2);
    let mut sums = Vec::with_capacity(batch);
    for _ in 0..batch {
        let first = rng.gen_range(0..length / 2);
        let second = rng.gen_range(length / 2..length);
        let mut sum = 0.0;
        for step in 0..length {
            let number: f64 = rng.gen();
            let marked = step == first || step == second;
            if marked {
                sum += number;
            }
            x.push(number);
            x.push(if marked { 1.0 } else { 0.0 });
        }
        sums.push(sum);
    }
    (
        Tensor::from_vec(x, &[batch, length, 2]),
        Tensor::from_vec(sums, &[batch, 1]),
    )
}

/// The layer that reads the sequence.
enum Recurrent {
    Rnn(Rnn),
    Lstm(Lstm),
}

impl Recurrent {
    fn name(&self) -> &'static str {
        match self {
            Recurrent::Rnn(_) => "RNN",
            Recurrent::Lstm(_) => "LSTM",
        }
    }
}

/// A recurrent layer and a readout `ŷ = h_T·w + b` on its last hidden state.
struct Model {
    recurrent: Recurrent,
    readout: Dense,
}

impl Model {
    fn new(lstm: bool, config: &Config, params: &mut ParamStore<f64>) -> Model {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let hidden = config.hidden;
        let recurrent = if lstm {
            Recurrent::Lstm(Lstm::new(params, "lstm", 2, hidden, &mut rng))
        } else {
            Recurrent::Rnn(Rnn::new(params, "rnn", 2, hidden, &mut rng))
        };
        let readout = Dense::new(params, "readout", hidden, 1, Activation::Linear, &mut rng);
        Model { recurrent, readout }
    }

    /// Unrolls the recurrent layer over `x: [batch, T, 2]`, one cell per step on the graph,
    /// and reads the last hidden state: the predicted sums `[batch, 1]`.
    fn predict<'g>(
        &self,
        g: &'g Graph<f64>,
        params: &ParamStore<f64>,
        x: Var<'g, f64>,
    ) -> Var<'g, f64> {
        let last = match &self.recurrent {
            Recurrent::Rnn(rnn) => rnn.last_hidden(g, params, x),
            Recurrent::Lstm(lstm) => lstm.last_hidden(g, params, x),
        };
        self.readout.forward(g, params, last)
    }
}

/// How one model did: its training curve and its held-out scores.
struct Report {
    name: &'static str,
    /// The mean training loss over each block of `steps / CURVE_ROWS` steps.
    curve: Vec<f64>,
    test_loss: f64,
    test_accuracy: f64,
}

/// The number of rows of the printed loss curves.
const CURVE_ROWS: usize = 10;

/// Trains one model for `config.steps` Adam steps on fresh sequences, then scores it on `test`.
fn train(lstm: bool, config: &Config, test: &(Tensor<f64>, Tensor<f64>)) -> Report {
    let mut params = ParamStore::new();
    let model = Model::new(lstm, config, &mut params);
    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: config.learning_rate,
        ..AdamConfig::default()
    });
    // The same seed for both models: they see the very same sequences.
    let mut sequences = StdRng::seed_from_u64(config.seed.wrapping_add(1));
    let block = config.steps.div_ceil(CURVE_ROWS).max(1);
    let mut curve = Vec::with_capacity(CURVE_ROWS);
    let mut block_sum = 0.0;
    for step in 0..config.steps {
        let (x, y) = adding_problem(config.sequence_length, config.batch_size, &mut sequences);
        let g = Graph::new();
        let prediction = model.predict(&g, &params, g.input(x));
        let loss = losses::mean_squared_error(prediction, g.input(y));
        // Backpropagation through time: the generic backward pass over the unrolled graph.
        let grads = params.collect_grads(&loss.backward());
        block_sum += loss.item();
        drop(g);
        optimizer.apply(&mut params, &grads);
        if (step + 1) % block == 0 || step + 1 == config.steps {
            curve.push(block_sum / (step % block + 1) as f64);
            block_sum = 0.0;
        }
    }

    let (x, y) = test;
    let g = Graph::new();
    let prediction = model.predict(&g, &params, g.input(x.clone()));
    let test_loss = losses::mean_squared_error(prediction, g.input(y.clone())).item();
    let right = prediction
        .value()
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .filter(|(predicted, sum)| (*predicted - *sum).abs() < TOLERANCE)
        .count();
    Report {
        name: model.recurrent.name(),
        curve,
        test_loss,
        test_accuracy: right as f64 / y.shape()[0] as f64,
    }
}

/// Runs the example with [`Config::default`], narrating to `out`.
pub fn run(out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    run_with(&Config::default(), out)
}

/// Runs the example with other settings, narrating to `out`: the same models, training and
/// check as [`run`].
///
/// # Panics
/// When `sequence_length` < 2 (there must be a first and a second half), or `steps`,
/// `batch_size`, `hidden` or `test_size` is 0.
pub fn run_with(config: &Config, out: &mut dyn Write) -> Result<Outcome, MaterialError> {
    let Config {
        sequence_length,
        hidden,
        batch_size,
        steps,
        learning_rate,
        test_size,
        threshold,
        seed,
    } = *config;
    assert!(
        sequence_length >= 2 && steps > 0 && batch_size > 0 && hidden > 0 && test_size > 0,
        "lstm::run_with: needs sequence_length ≥ 2 and positive steps, batch_size, hidden and \
         test_size, got {config:?}"
    );
    writeln!(
        out,
        "The adding problem: {sequence_length} steps of (a random number in [0, 1), a marker 0 or 1); one step\n\
         in each half is marked, and after the last step the answer is the sum of the two marked\n\
         numbers. Always answering 1, the mean, scores a mean squared error of 1/6 = {BASELINE_LOSS:.3}.\n\
         Two models with {hidden} hidden units and a Dense readout ŷ = h_T·w + b on the last state:\n  \
           RNN   h_t = tanh(x_t·W_x + h_(t−1)·W_h + b)\n  \
           LSTM  c_t = f ⊙ c_(t−1) + i ⊙ g,   h_t = o ⊙ tanh(c_t)\n\
         Each is unrolled over the {sequence_length} steps and trained by backpropagation through time (the\n\
         generic backward pass over the unrolled graph), with Adam (learning rate {learning_rate}),\n\
         {steps} steps of {batch_size} fresh sequences, the same sequences for both.\n"
    )?;

    let test = adding_problem(
        sequence_length,
        test_size,
        &mut StdRng::seed_from_u64(seed.wrapping_add(2)),
    );
    let rnn = train(false, config, &test);
    let lstm = train(true, config, &test);

    writeln!(out, "Mean squared error while training:")?;
    writeln!(out, "  steps      RNN     LSTM")?;
    let block = steps.div_ceil(CURVE_ROWS).max(1);
    for (row, (r, l)) in rnn.curve.iter().zip(&lstm.curve).enumerate() {
        let upto = ((row + 1) * block).min(steps);
        writeln!(out, "  {upto:>5}  {r:>7.4}  {l:>7.4}")?;
    }
    writeln!(
        out,
        "\nOn {test_size} held-out sequences (right: within {TOLERANCE} of the sum):"
    )?;
    for report in [&rnn, &lstm] {
        writeln!(
            out,
            "  {:<4}  mean squared error {:.4}, {:.1}% right",
            report.name,
            report.test_loss,
            100.0 * report.test_accuracy
        )?;
    }
    writeln!(
        out,
        "\nThe RNN learns little more than to answer about 1. The gradient that would teach it to\n\
         keep the first marked number comes back to that step through one factor\n\
         diag(tanh'(z))·W_hᵀ per step in between, up to {} of them, and fades on the way; and a\n\
         tanh state, rewritten at every step, has no easy way to hold a number still while new\n\
         inputs keep arriving. The LSTM's cell can carry it by addition, c_t = f ⊙ c_(t−1) + i ⊙ g:\n\
         open the input gate i at the markers, hold the forget gate f near 1, and the number\n\
         stays put; the gradient flows back along the same path, one factor f per step.",
        sequence_length - 1
    )?;

    let passed = lstm.test_loss < threshold && rnn.test_loss >= threshold;
    Ok(Outcome {
        name: "lstm",
        learned: format!(
            "adding problem over {sequence_length} steps: LSTM mean squared error {:.4} \
             ({:.0}% within {TOLERANCE}), RNN {:.4} ({:.0}%); answering the mean scores {:.3}",
            lstm.test_loss,
            100.0 * lstm.test_accuracy,
            rnn.test_loss,
            100.0 * rnn.test_accuracy,
            BASELINE_LOSS
        ),
        check: format!(
            "held-out mean squared error: the LSTM's below {threshold}, the RNN's not (same \
             hidden size, optimizer, steps and sequences)"
        ),
        passed,
        json: serde_json::json!({
            "task": "adding problem",
            "sequence_length": sequence_length,
            "hidden": hidden,
            "batch_size": batch_size,
            "steps": steps,
            "learning_rate": learning_rate,
            "seed": seed,
            "lstm_loss": lstm.test_loss,
            "rnn_loss": rnn.test_loss,
            "lstm_accuracy": lstm.test_accuracy,
            "rnn_accuracy": rnn.test_accuracy,
            "tolerance": TOLERANCE,
            "baseline_loss": BASELINE_LOSS,
            "threshold": threshold,
            "lstm_curve": lstm.curve,
            "rnn_curve": rnn.curve,
        }),
    })
}
