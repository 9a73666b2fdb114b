//! Building your own models from raw graph ops, with the library alone (no layers, no CLI):
//!
//! - (a) a two-layer perceptron with a Huber loss written from raw ops, trained on the bundled
//!   diabetes data with early stopping on a validation split, judged on held-out test rows;
//! - (b) a Hessian-vector product in two calls, `grad_vars` then `grad`;
//! - (c) a WGAN-GP critic: a penalty on the norm of ∂D/∂x, trained a few steps;
//! - (d) a gradient check of an attention block, `softmax(QKᵀ/√d)V`, which passes as written
//!   and catches a planted bug (a normaliser cut out of the gradient with `detach`).
//!
//! PyTorch equivalents are in the comments. Run with
//! `cargo run --release --example custom_model --no-default-features`; it exits with status 1
//! if a check does not come out as described. `tests/custom_model.rs` checks each part against
//! an independent answer.

use chainrule::optim::{Adam, AdamConfig, Optimizer};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::train::{load_csv, SplitIndices, SplitRatios, Standardizer, Task};
use chainrule::{grad, grad_vars, gradcheck, GradcheckOptions, GradcheckReport, Graph};
use chainrule::{ParamId, ParamKind, ParamStore, Tensor, Var};

// ------------------------------------------------------------------------------------------
// (a) An MLP with a Huber loss, trained with early stopping
// ------------------------------------------------------------------------------------------

/// `tanh(x·W₁ + b₁)·W₂ + b₂` on vars — PyTorch:
/// `nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, 1))`.
pub fn mlp<'g>(x: Var<'g, f64>, [w1, b1, w2, b2]: [Var<'g, f64>; 4]) -> Var<'g, f64> {
    (x.matmul(w1) + b1).tanh().matmul(w2) + b2
}

/// The four parameters of [`mlp`], kept in a store so an optimizer can update them.
#[derive(Clone, Copy)]
pub struct Mlp {
    /// `W₁, b₁, W₂, b₂`.
    pub ids: [ParamId; 4],
}

impl Mlp {
    /// Weights drawn from `N(0, 1/fan_in)`, biases zero (PyTorch's `nn.Linear` draws uniform).
    pub fn new(params: &mut ParamStore<f64>, inputs: usize, hidden: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut weight = |name: &str, fan_in: usize, fan_out: usize| {
            let std = 1.0 / (fan_in as f64).sqrt();
            let w = Tensor::rand_normal(&[fan_in, fan_out], 0.0, std, &mut rng);
            params.insert(name, w, ParamKind::Weight)
        };
        let (w1, w2) = (weight("w1", inputs, hidden), weight("w2", hidden, 1));
        let b1 = params.insert("b1", Tensor::zeros(&[hidden]), ParamKind::Bias);
        let b2 = params.insert("b2", Tensor::zeros(&[1]), ParamKind::Bias);
        Mlp {
            ids: [w1, b1, w2, b2],
        }
    }

    /// The model on `x`, its parameters bound into `g`: `model(x)`.
    pub fn forward<'g>(
        &self,
        g: &'g Graph<f64>,
        params: &ParamStore<f64>,
        x: &Tensor<f64>,
    ) -> Var<'g, f64> {
        mlp(g.input(x.clone()), self.ids.map(|id| params.bind(g, id)))
    }
}

/// The mean Huber loss: `½r²` where `|r| ≤ δ`, `δ(|r| − ½δ)` beyond, branch-free through
/// `clamp` — PyTorch: `F.huber_loss(prediction, target, delta=delta)`.
pub fn huber<'g>(prediction: Var<'g, f64>, target: &Tensor<f64>, delta: f64) -> Var<'g, f64> {
    let size = (prediction - prediction.graph().constant(target.clone())).abs();
    let inside = size.clamp(0.0, delta);
    (inside.square() * 0.5 + (size - inside) * delta).mean()
}

/// Features and targets of one part of the data, both standardized with the training part's
/// statistics.
#[derive(Clone)]
pub struct Rows {
    /// `[n, 10]`.
    pub x: Tensor<f64>,
    /// `[n, 1]`.
    pub y: Tensor<f64>,
}

/// The diabetes data (442 patients, 10 measurements, disease progression a year later), split
/// 60/20/20 at random; `target_mean` and `target_std` turn standardized targets back into
/// the data's units.
pub struct Diabetes {
    /// For the parameters.
    pub train: Rows,
    /// For early stopping.
    pub validation: Rows,
    /// Held out: seen only at the end.
    pub test: Rows,
    /// The training targets' mean.
    pub target_mean: f64,
    /// The training targets' standard deviation.
    pub target_std: f64,
}

/// Loads `data/diabetes.csv` (beside this project's `Cargo.toml`) and splits it.
pub fn diabetes() -> Diabetes {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/diabetes.csv");
    let data = load_csv::<f64>(path, "target", Task::Regression).unwrap_or_else(|e| panic!("{e}"));
    let ratios = SplitRatios::new(0.6, 0.2, 0.2).expect("ratios sum to 1");
    let split = SplitIndices::shuffled(data.len(), ratios, 0).apply(&data);
    let scaler = Standardizer::fit_dataset(&split.train);
    let targets = Standardizer::fit(split.train.values().expect("regression targets"));
    let rows = |part: &chainrule::train::Dataset<f64>| Rows {
        x: scaler.transform(part.features()),
        y: targets.transform(part.values().expect("regression targets")),
    };
    Diabetes {
        train: rows(&split.train),
        validation: rows(&split.validation),
        test: rows(&split.test),
        target_mean: targets.mean()[0],
        target_std: targets.std()[0],
    }
}

/// The Huber loss of the model on some rows, evaluated without recording anything for backward
/// — PyTorch: `with torch.no_grad(): loss = F.huber_loss(model(x), y)`.
pub fn evaluate(model: &Mlp, params: &ParamStore<f64>, rows: &Rows) -> f64 {
    let g = Graph::no_grad();
    huber(model.forward(&g, params, &rows.x), &rows.y, 1.0).item()
}

/// What early stopping kept.
pub struct EarlyStopped {
    /// The model, with the parameters of its best validation epoch.
    pub model: Mlp,
    /// Those parameters.
    pub params: ParamStore<f64>,
    /// The validation loss after each epoch, in order.
    pub validation_losses: Vec<f64>,
    /// The epoch (index into `validation_losses`) whose parameters were kept.
    pub best_epoch: usize,
}

/// Full-batch Adam on the training rows until the validation loss has not improved for
/// `patience` epochs (or `max_epochs` pass), then back to the best epoch's parameters.
pub fn train_with_early_stopping(
    data: &Diabetes,
    patience: usize,
    max_epochs: usize,
) -> EarlyStopped {
    let mut params = ParamStore::new();
    let model = Mlp::new(&mut params, data.train.x.shape()[1], 32, 0);
    let mut adam = Adam::new(AdamConfig {
        learning_rate: 0.01,
        ..AdamConfig::default()
    });
    let (mut best, mut best_epoch, mut validation_losses) = (params.clone(), 0, Vec::new());
    for epoch in 0..max_epochs {
        let grads = {
            let g = Graph::new();
            let loss = huber(
                model.forward(&g, &params, &data.train.x),
                &data.train.y,
                1.0,
            );
            params.collect_grads(&loss.backward()) // PyTorch: loss.backward()
        };
        adam.apply(&mut params, &grads); // PyTorch: optimizer.step()
        let loss = evaluate(&model, &params, &data.validation);
        if validation_losses.iter().all(|&earlier| loss < earlier) {
            (best, best_epoch) = (params.clone(), epoch); // PyTorch: copy.deepcopy(model.state_dict())
        } else if epoch - best_epoch >= patience {
            validation_losses.push(loss);
            break;
        }
        validation_losses.push(loss);
    }
    EarlyStopped {
        model,
        params: best,
        validation_losses,
        best_epoch,
    }
}

/// The model's predictions for some rows, in the data's units.
pub fn predict(stopped: &EarlyStopped, data: &Diabetes, rows: &Rows) -> Vec<f64> {
    let g = Graph::no_grad();
    let standardized = stopped.model.forward(&g, &stopped.params, &rows.x).value();
    standardized
        .to_vec()
        .iter()
        .map(|v| v * data.target_std + data.target_mean)
        .collect()
}

// ------------------------------------------------------------------------------------------
// (b) A Hessian-vector product
// ------------------------------------------------------------------------------------------

/// `H·v`, `H` the Hessian of the training loss with respect to the first layer's weights `W₁`.
pub fn hessian_vector_product(stopped: &EarlyStopped, rows: &Rows, v: Tensor<f64>) -> Tensor<f64> {
    let g = Graph::new();
    let loss = huber(
        stopped.model.forward(&g, &stopped.params, &rows.x),
        &rows.y,
        1.0,
    );
    let w1 = stopped.params.bind(&g, stopped.model.ids[0]);
    // PyTorch: (gradient,) = torch.autograd.grad(loss, w1, create_graph=True)
    let gradient = grad_vars(&[loss], None, &[w1])[0];
    // PyTorch: (hv,) = torch.autograd.grad(gradient, w1, grad_outputs=v)
    grad(&[gradient], Some(&[v]), &[w1]).remove(0)
}

// ------------------------------------------------------------------------------------------
// (c) A gradient penalty (WGAN-GP)
// ------------------------------------------------------------------------------------------

/// The critic's loss `mean D(fake) − mean D(real) + λ·mean((‖∂D/∂x̂‖ − 1)²)` at the points
/// `x̂ = ε·real + (1 − ε)·fake`, and the penalty alone. `critic` holds `W₁, b₁, W₂, b₂` of an
/// [`mlp`].
pub fn critic_loss<'g>(
    critic: [Var<'g, f64>; 4],
    real: &Tensor<f64>,
    fake: &Tensor<f64>,
    epsilon: &Tensor<f64>,
) -> (Var<'g, f64>, Var<'g, f64>) {
    let g = critic[0].graph();
    let between = real.mul(epsilon).add(&fake.mul(&epsilon.map(|e| 1.0 - e)));
    let x_hat = g.input(between).requires_grad_(); // PyTorch: x_hat.requires_grad_()
                                                   // PyTorch: (dx,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    let dx = grad_vars(&[mlp(x_hat, critic).sum()], None, &[x_hat])[0];
    let norm = (dx.square().sum_axis(1, false) + 1e-12).sqrt();
    let penalty = (norm - 1.0).square().mean() * 10.0;
    let d = |x: &Tensor<f64>| mlp(g.input(x.clone()), critic).mean();
    (d(fake) - d(real) + penalty, penalty)
}

/// Real points around (2, 2), fake ones around (0, 0), and an `ε` per row: `n` rows each.
pub fn critic_batch(n: usize, seed: u64) -> [Tensor<f64>; 3] {
    let mut rng = StdRng::seed_from_u64(seed);
    let real = Tensor::rand_normal(&[n, 2], 2.0, 0.5, &mut rng);
    let fake = Tensor::rand_normal(&[n, 2], 0.0, 0.5, &mut rng);
    [
        real,
        fake,
        Tensor::rand_uniform(&[n, 1], 0.0, 1.0, &mut rng),
    ]
}

/// Trains a critic `steps` steps with Adam; the critic's loss and penalty before each step.
pub fn train_critic(steps: usize) -> Vec<(f64, f64)> {
    let mut params = ParamStore::new();
    let critic = Mlp::new(&mut params, 2, 16, 1);
    let mut adam = Adam::new(AdamConfig {
        learning_rate: 0.01,
        ..AdamConfig::default()
    });
    let mut losses = Vec::new();
    for step in 0..steps {
        let [real, fake, epsilon] = critic_batch(64, step as u64);
        let grads = {
            let g = Graph::new();
            let (loss, penalty) = critic_loss(
                critic.ids.map(|id| params.bind(&g, id)),
                &real,
                &fake,
                &epsilon,
            );
            losses.push((loss.item(), penalty.item()));
            params.collect_grads(&loss.backward())
        };
        adam.apply(&mut params, &grads);
    }
    losses
}

// ------------------------------------------------------------------------------------------
// (d) A gradient check of an attention block
// ------------------------------------------------------------------------------------------

/// `softmax(QKᵀ/√d)·V` with `Q, K, V = X·W_q, X·W_k, X·W_v`, the softmax written out. With
/// `planted_bug`, the normaliser is cut out of the gradient — the same values, a wrong gradient.
pub fn attention<'g>([x, wq, wk, wv]: [Var<'g, f64>; 4], planted_bug: bool) -> Var<'g, f64> {
    let (q, k, v) = (x.matmul(wq), x.matmul(wk), x.matmul(wv));
    let scores = q.matmul_t(k, false, true) * (1.0 / (wq.shape()[1] as f64).sqrt());
    let e = (scores - scores.max_axis(-1, true).detach()).exp(); // detach: shift-invariant
    let normaliser = e.sum_axis(-1, true);
    let normaliser = if planted_bug {
        normaliser.detach()
    } else {
        normaliser
    };
    (e / normaliser).matmul(v)
}

/// Checks [`attention`] against central differences — PyTorch:
/// `torch.autograd.gradcheck(attention, (x, wq, wk, wv))` on double tensors.
pub fn check_attention(planted_bug: bool) -> GradcheckReport {
    let mut rng = StdRng::seed_from_u64(3);
    let mut draw = |shape: &[usize]| Tensor::rand_normal(shape, 0.0, 1.0, &mut rng);
    let inputs = [draw(&[5, 4]), draw(&[4, 3]), draw(&[4, 3]), draw(&[4, 3])];
    gradcheck(
        |_, v| attention([v[0], v[1], v[2], v[3]], planted_bug),
        &inputs,
        GradcheckOptions::default(),
    )
}

// ------------------------------------------------------------------------------------------

fn mean_absolute_error(predicted: &[f64], actual: &[f64]) -> f64 {
    predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).abs())
        .sum::<f64>()
        / actual.len() as f64
}

fn main() {
    let mut failures = Vec::new();
    let mut check = |holds: bool, what: &str| {
        println!("  [{}] {what}", if holds { "ok" } else { "FAILED" });
        if !holds {
            failures.push(what.to_string());
        }
    };

    println!("(a) an MLP with a Huber loss, early stopping on the validation split");
    let data = diabetes();
    let stopped = train_with_early_stopping(&data, 30, 2000);
    let losses = &stopped.validation_losses;
    println!(
        "  {} epochs; best validation loss {:.4} at epoch {}, last {:.4}",
        losses.len(),
        losses[stopped.best_epoch],
        stopped.best_epoch,
        losses[losses.len() - 1]
    );
    let actual: Vec<f64> = data
        .test
        .y
        .to_vec()
        .iter()
        .map(|v| v * data.target_std + data.target_mean)
        .collect();
    let model_error = mean_absolute_error(&predict(&stopped, &data, &data.test), &actual);
    let mean_error = mean_absolute_error(&vec![data.target_mean; actual.len()], &actual);
    println!("  held-out rows: mean absolute error {model_error:.1} (predicting the mean: {mean_error:.1})");
    check(
        model_error < mean_error,
        "the model beats predicting the mean on held-out rows",
    );

    println!("(b) a Hessian-vector product");
    let v = Tensor::rand_normal(&[10, 32], 0.0, 1.0, &mut StdRng::seed_from_u64(5));
    let hv = hessian_vector_product(&stopped, &data.train, v.clone());
    let curvature: f64 = hv
        .as_slice()
        .iter()
        .zip(v.as_slice())
        .map(|(a, b)| a * b)
        .sum();
    println!("  vᵀHv = {curvature:.4} over {} weights", v.numel());
    check(hv.all_finite(), "H·v is finite");

    println!("(c) a critic trained with a gradient penalty");
    let critic = train_critic(60);
    let ((first, first_penalty), (last, last_penalty)) = (critic[0], critic[critic.len() - 1]);
    println!("  loss {first:.3} → {last:.3}; penalty {first_penalty:.3} → {last_penalty:.3}");
    check(last < first, "the critic's loss went down");

    println!("(d) a gradient check of an attention block");
    let clean = check_attention(false);
    let buggy = check_attention(true);
    println!("  as written: {clean}");
    println!("  normaliser detached: {buggy}");
    check(
        clean.passed && !buggy.passed,
        "the check passes the block and catches the planted bug",
    );

    if !failures.is_empty() {
        std::process::exit(1);
    }
}
