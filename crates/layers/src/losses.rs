//! Losses: functions from a model's output (and the targets) to one number to minimise, plus
//! the L2 penalty added to them. Each is a few graph ops; the gradients are the engine's.
//!
//! Two squared errors, because two conventions are in use:
//!
//! | function | formula | where it comes from |
//! | --- | --- | --- |
//! | [`mean_squared_error`] | `(1/n)·Σ (ŷ − y)²` over all `n` elements | PyTorch's `MSELoss`, metrics |
//! | [`half_mean_squared_error`] | `(1/(2m))·Σ (ŷ − y)²`, `m` examples (first axis) | the material's cost `J(w, b)` |
//!
//! For one output per example (`[m, 1]` or `[m]`) the second is exactly half the first; the ½
//! only cancels the 2 of the derivative, `∂J/∂ŷ = (ŷ − y)/m`. With `k` outputs per example the
//! second sums over the outputs and averages over the examples, so it is `k/2` times the first.
//!
//! [`huber_loss`] and [`smooth_l1_loss`] are squared near the target and linear far from it, so
//! a few outliers cannot dominate the gradient.
//!
//! Classification losses take logits (the output before the sigmoid or softmax), never
//! probabilities: computed from logits they stay finite and exact where `ln(σ(z))` would round
//! to `ln 0`.

use chainrule_autodiff::{Float, Graph, ParamKind, ParamStore, Tensor, Var};

/// Panics unless the two vars have the same shape: a `[m]` prediction against a `[m, 1]` target
/// would otherwise broadcast to `[m, m]` and give a wrong loss without any error.
#[track_caller]
fn expect_same_shape<T: Float>(loss: &str, prediction: Var<'_, T>, target: Var<'_, T>) {
    let (p, t) = (prediction.shape(), target.shape());
    if p != t {
        layer_panic!(
            "{loss}: expected the target to have the prediction's shape {:?}, got {:?}",
            p.as_slice(),
            t.as_slice()
        );
    }
}

/// `(1/n)·Σ (ŷ − y)²` over all `n` elements: the plain mean of the squared errors.
/// PyTorch: `torch.nn.functional.mse_loss`.
///
/// # Panics
/// When the shapes differ (no broadcasting, on purpose).
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_layers::losses::mean_squared_error;
/// let g = Graph::new();
/// let prediction = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
/// let target = g.input(Tensor::from_vec(vec![1.0, 0.0, 3.0, 0.0], &[2, 2]));
/// assert_eq!(mean_squared_error(prediction, target).item(), (4.0 + 16.0) / 4.0);
/// ```
#[track_caller]
pub fn mean_squared_error<'g, T: Float>(prediction: Var<'g, T>, target: Var<'g, T>) -> Var<'g, T> {
    expect_same_shape("mean_squared_error", prediction, target);
    (prediction - target).square().mean()
}

/// The material's squared-error cost `J = (1/(2m))·Σ (ŷ − y)²`, with `m` the number of
/// examples (the length of the first axis; 1 for a 0-d value) and the sum over every element.
///
/// # Panics
/// When the shapes differ.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_layers::losses::{half_mean_squared_error, mean_squared_error};
/// let g = Graph::new();
/// let prediction = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 5.0], &[3, 1]));
/// let target = g.input(Tensor::from_vec(vec![0.0, 2.0, 3.0], &[3, 1]));
/// let j = half_mean_squared_error(prediction, target).item();
/// assert!((j - (1.0 + 0.0 + 4.0) / (2.0 * 3.0)).abs() < 1e-15);
/// assert!((j - mean_squared_error(prediction, target).item() / 2.0).abs() < 1e-15);
/// ```
#[track_caller]
pub fn half_mean_squared_error<'g, T: Float>(
    prediction: Var<'g, T>,
    target: Var<'g, T>,
) -> Var<'g, T> {
    expect_same_shape("half_mean_squared_error", prediction, target);
    let m = prediction.shape().first().copied().unwrap_or(1);
    (prediction - target).square().sum() * T::of(0.5 / m as f64)
}

/// Mean Huber loss `(1/n)·Σ h(ŷ − y)` with `h(d) = ½d²` for `|d| ≤ δ` and `δ·(|d| − ½δ)`
/// beyond: squared near the target, linear far from it, so outliers pull with force at most
/// `δ`. Derivative `∂h/∂d = clamp(d, −δ, δ)`. Written as `q·(d − ½q)` with `q = clamp(d, −δ, δ)`,
/// which is both branches at once, so the graph needs no `abs` and its second derivative (1
/// inside, 0 outside) is exact. PyTorch: `torch.nn.functional.huber_loss(ŷ, y, delta=δ)`
/// (mean reduction, `delta = 1` by default).
///
/// # Panics
/// When the shapes differ, or `delta` is not positive.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_layers::losses::huber_loss;
/// let g = Graph::new();
/// let prediction = g.param(Tensor::from_vec(vec![0.5f64, 3.0], &[2]));
/// let target = g.input(Tensor::zeros(&[2]));
/// let loss = huber_loss(prediction, target, 1.0);
/// // ½·0.5² inside δ, 1·(3 − ½) outside, averaged:
/// assert!((loss.item() - (0.125 + 2.5) / 2.0).abs() < 1e-15);
/// // The gradient is the clamped error over n:
/// assert_eq!(loss.backward()[prediction].to_vec(), vec![0.25, 0.5]);
/// ```
#[track_caller]
pub fn huber_loss<'g, T: Float>(
    prediction: Var<'g, T>,
    target: Var<'g, T>,
    delta: T,
) -> Var<'g, T> {
    expect_same_shape("huber_loss", prediction, target);
    if delta.is_nan() || delta <= T::zero() {
        layer_panic!("huber_loss: delta must be positive, got {delta}");
    }
    huber_terms(prediction - target, delta).mean()
}

/// `h(d)` elementwise, as `q·(d − ½q)` with `q = clamp(d, −δ, δ)`.
fn huber_terms<T: Float>(error: Var<'_, T>, delta: T) -> Var<'_, T> {
    let clamped = error.clamp(-delta, delta);
    clamped * (error - clamped * T::of(0.5))
}

/// Mean smooth L1 loss: `½d²/β` for `|d| < β` and `|d| − ½β` beyond, `d = ŷ − y` — the Huber
/// loss divided by `β`, so its slope far from the target is 1 whatever `β`. With `β = 0` it is
/// the mean absolute error. Derivative `clamp(d/β, −1, 1)`. PyTorch:
/// `torch.nn.functional.smooth_l1_loss(ŷ, y, beta=β)` (mean reduction, `beta = 1` by default).
///
/// # Panics
/// When the shapes differ, or `beta` is negative.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_layers::losses::smooth_l1_loss;
/// let g = Graph::new();
/// let prediction = g.param(Tensor::from_vec(vec![0.5f64, -3.0], &[2]));
/// let target = g.input(Tensor::zeros(&[2]));
/// let loss = smooth_l1_loss(prediction, target, 2.0);
/// // ½·0.5²/2 inside β, 3 − 1 outside, averaged:
/// assert!((loss.item() - (0.0625 + 2.0) / 2.0).abs() < 1e-15);
/// assert_eq!(loss.backward()[prediction].to_vec(), vec![0.125, -0.5]);
/// assert_eq!(smooth_l1_loss(prediction, target, 0.0).item(), 1.75); // mean |d|
/// ```
#[track_caller]
pub fn smooth_l1_loss<'g, T: Float>(
    prediction: Var<'g, T>,
    target: Var<'g, T>,
    beta: T,
) -> Var<'g, T> {
    expect_same_shape("smooth_l1_loss", prediction, target);
    if beta.is_nan() || beta < T::zero() {
        layer_panic!("smooth_l1_loss: beta must be zero or positive, got {beta}");
    }
    let error = prediction - target;
    if beta == T::zero() {
        return error.abs().mean();
    }
    huber_terms(error, beta).mean() * (T::one() / beta)
}

/// Mean binary log loss `−(1/n)·Σ [y·ln σ(z) + (1 − y)·ln(1 − σ(z))]` of logits `z` against
/// targets `y` in `[0, 1]`, computed from the logits (finite for any `z`).
/// PyTorch: `torch.nn.functional.binary_cross_entropy_with_logits`.
///
/// # Panics
/// When the shapes differ.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_layers::losses::binary_log_loss;
/// let g = Graph::new();
/// let logits = g.param(Tensor::from_vec(vec![0.0f64, 1000.0], &[2, 1]));
/// let targets = g.input(Tensor::from_vec(vec![1.0, 1.0], &[2, 1]));
/// let loss = binary_log_loss(logits, targets);
/// assert!((loss.item() - 2.0f64.ln() / 2.0).abs() < 1e-12); // ln 2 and 0, averaged
/// ```
#[track_caller]
pub fn binary_log_loss<'g, T: Float>(logits: Var<'g, T>, targets: Var<'g, T>) -> Var<'g, T> {
    expect_same_shape("binary_log_loss", logits, targets);
    logits.binary_cross_entropy_with_logits(targets)
}

/// Mean categorical cross-entropy `−(1/m)·Σᵢ ln softmax(zᵢ)[yᵢ]` of `[m, classes]` logits
/// against one class index per row, computed from the logits.
/// PyTorch: `torch.nn.functional.cross_entropy`.
///
/// # Panics
/// When the logits are not 2-D, there is not one label per row, or a label is out of range.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_layers::losses::softmax_cross_entropy;
/// let g = Graph::new();
/// let logits = g.param(Tensor::from_vec(vec![0.0f64, 0.0, 0.0, 0.0], &[2, 2]));
/// let loss = softmax_cross_entropy(logits, &[0, 1]);
/// assert!((loss.item() - 2.0f64.ln()).abs() < 1e-12);
/// ```
#[track_caller]
pub fn softmax_cross_entropy<'g, T: Float>(logits: Var<'g, T>, labels: &[usize]) -> Var<'g, T> {
    logits.softmax_cross_entropy(labels)
}

/// The L2 penalty `(λ/(2m))·Σ w²` over every parameter of kind [`ParamKind::Weight`] in
/// `params`, with `m` the number of training examples the loss averages over. Biases are never
/// regularised: they shift a unit without making the model more sensitive to its inputs.
///
/// The weights are bound into `g` (the same vars the model's forward uses), so the penalty's
/// gradient `(λ/m)·w` adds to the loss's. Every weight in the store is included, so keep one
/// model per store. With no weights it is the constant 0.
///
/// # Panics
/// When `m` is 0.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
/// use chainrule_layers::losses::l2_penalty;
/// let mut params = ParamStore::new();
/// params.insert("w", Tensor::from_vec(vec![1.0f64, 2.0], &[2]), ParamKind::Weight);
/// params.insert("b", Tensor::from_vec(vec![100.0], &[1]), ParamKind::Bias);
/// let g = Graph::new();
/// let penalty = l2_penalty(&g, &params, 0.5, 10);
/// assert_eq!(penalty.item(), 0.5 / 20.0 * (1.0 + 4.0)); // the bias is left out
/// ```
#[track_caller]
pub fn l2_penalty<'g, T: Float>(
    g: &'g Graph<T>,
    params: &ParamStore<T>,
    lambda: T,
    m: usize,
) -> Var<'g, T> {
    if m == 0 {
        layer_panic!("l2_penalty: the number of examples m must be at least 1");
    }
    let mut sum_of_squares: Option<Var<'g, T>> = None;
    for (id, _, parameter) in params.iter() {
        if parameter.kind != ParamKind::Weight {
            continue;
        }
        let squares = params.bind(g, id).square().sum();
        sum_of_squares = Some(match sum_of_squares {
            Some(total) => total + squares,
            None => squares,
        });
    }
    match sum_of_squares {
        Some(total) => total * (lambda / T::of(2.0 * m as f64)),
        None => g.constant(Tensor::scalar(T::zero())),
    }
}
