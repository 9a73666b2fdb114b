//! Adam — momentum on the gradient and RMSProp's scaling, both bias-corrected — exactly as
//! `torch.optim.Adam` computes it, with its optional L2 weight decay. The moment update here is
//! shared with [`AdamW`](crate::AdamW), which differs only in how it decays weights.

use chainrule_autodiff::{with_wide_simd, Float, ParamGrads, ParamId, ParamStore, Tensor};

use crate::state::PerParam;
use crate::{check_hyperparameter, decay_for, parameter_to_update, Optimizer};

/// The settings of [`Adam`], named and defaulted as `torch.optim.Adam`'s.
///
/// ```
/// use chainrule_optim::AdamConfig;
/// let config = AdamConfig::<f64>::default();
/// assert_eq!(config.learning_rate, 1e-3);
/// assert_eq!(config.betas, (0.9, 0.999));
/// assert_eq!((config.eps, config.weight_decay), (1e-8, 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig<T> {
    /// The step size `lr`. PyTorch: `lr`; default `1e-3`.
    pub learning_rate: T,
    /// The decay rates `(β₁, β₂)` of the running averages of the gradient and of its square.
    /// PyTorch: `betas`; default `(0.9, 0.999)`.
    pub betas: (T, T),
    /// Added to the root of the second moment before dividing, for stability. PyTorch: `eps`;
    /// default `1e-8`.
    pub eps: T,
    /// The L2 coefficient `λ` added to weights' gradients (`g ← g + λ·p`) before the moments
    /// see them; biases are never decayed. For decay decoupled from the moments use
    /// [`AdamW`](crate::AdamW). PyTorch: `weight_decay`; default 0.
    pub weight_decay: T,
}

impl<T: Float> Default for AdamConfig<T> {
    fn default() -> Self {
        AdamConfig {
            learning_rate: T::of(1e-3),
            betas: (T::of(0.9), T::of(0.999)),
            eps: T::of(1e-8),
            weight_decay: T::zero(),
        }
    }
}

/// The state [`Adam`] and [`AdamW`](crate::AdamW) keep for one parameter.
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{Adam, Optimizer};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![1.0f64], &[1]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![0.5], &[1]));
/// let mut adam = Adam::default();
/// adam.apply(&mut params, &grads);
/// let state = adam.state(w).unwrap();
/// assert_eq!(state.step, 1);
/// assert!((state.exp_avg.item() - 0.05).abs() < 1e-15); // (1 − β₁)·g
/// assert!((state.exp_avg_sq.item() - 0.00025).abs() < 1e-15); // (1 − β₂)·g²
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState<T> {
    /// How many updates this parameter has had, `t`: the bias corrections depend on it.
    /// PyTorch: `step`.
    pub step: usize,
    /// The running average of the gradient, `m`, the shape of the parameter. PyTorch:
    /// `exp_avg`.
    pub exp_avg: Tensor<T>,
    /// The running average of the squared gradient, `v`, the shape of the parameter. PyTorch:
    /// `exp_avg_sq`.
    pub exp_avg_sq: Tensor<T>,
}

impl<T: Float> AdamState<T> {
    /// Zero moments of this shape, before the first step.
    pub(crate) fn zeros(shape: &[usize]) -> Self {
        AdamState {
            step: 0,
            exp_avg: Tensor::zeros(shape),
            exp_avg_sq: Tensor::zeros(shape),
        }
    }
}

/// Adam, as `torch.optim.Adam` (without `amsgrad`):
///
/// ```text
/// g ← g + λ·p                       (weights only, when weight_decay λ ≠ 0)
/// t ← t + 1
/// m ← β₁·m + (1 − β₁)·g             (m, v start at 0)
/// v ← β₂·v + (1 − β₂)·g²
/// p ← p − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
/// ```
///
/// The last line is the bias-corrected `m̂/(√v̂ + ε)` with `m̂ = m/(1 − β₁ᵗ)`,
/// `v̂ = v/(1 − β₂ᵗ)`, with ε added after the correction as PyTorch adds it. With
/// `c = √(1 − β₂ᵗ)` the loop computes the same step as `lr/(1 − β₁ᵗ)·c · m/(√v + ε·c)`: one
/// division per element fewer than PyTorch's order of operations, agreeing with it to the last
/// few bits.
///
/// `weight_decay` is L2 regularisation folded into the gradient, as PyTorch's Adam does it, but
/// applied to [`ParamKind::Weight`](chainrule_autodiff::ParamKind) parameters only: in this
/// project biases are never regularised.
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{Adam, AdamConfig, Optimizer};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![1.0f64], &[1]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![0.5], &[1]));
///
/// let mut adam = Adam::new(AdamConfig::default());
/// adam.apply(&mut params, &grads);
/// // First step: m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr.
/// assert!((params.value(w).item() - (1.0 - 1e-3)).abs() < 1e-9);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T> {
    config: AdamConfig<T>,
    state: PerParam<AdamState<T>>,
}

impl<T: Float> Adam<T> {
    /// Adam with these settings.
    ///
    /// # Panics
    /// As PyTorch raises: when the learning rate, `eps` or weight decay is negative (or NaN),
    /// or a beta is outside `[0, 1)`.
    ///
    /// ```
    /// use chainrule_optim::{Adam, AdamConfig};
    /// let adam = Adam::new(AdamConfig { weight_decay: 1e-4, ..AdamConfig::<f32>::default() });
    /// assert_eq!(adam.config().weight_decay, 1e-4);
    /// ```
    #[track_caller]
    pub fn new(config: AdamConfig<T>) -> Self {
        check_adam_settings(
            "Adam",
            config.learning_rate,
            config.betas,
            config.eps,
            config.weight_decay,
        );
        Adam {
            config,
            state: PerParam::default(),
        }
    }

    /// The settings (with the learning rate as last set).
    ///
    /// ```
    /// use chainrule_optim::{Adam, AdamConfig};
    /// assert_eq!(Adam::<f64>::default().config(), &AdamConfig::default());
    /// ```
    pub fn config(&self) -> &AdamConfig<T> {
        &self.config
    }

    /// The moments and step count of one parameter: `None` before its first gradient. See
    /// [`AdamState`] for an example.
    pub fn state(&self, id: ParamId) -> Option<&AdamState<T>> {
        self.state.get(id)
    }
}

impl<T: Float> Default for Adam<T> {
    fn default() -> Self {
        Adam::new(AdamConfig::default())
    }
}

impl<T: Float> Optimizer<T> for Adam<T> {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        let AdamConfig {
            learning_rate,
            betas,
            eps,
            weight_decay,
        } = self.config;
        for (id, grad) in grads.iter() {
            let l2 = decay_for(params.kind(id), weight_decay);
            let value = parameter_to_update("Adam", params, id, grad);
            let state = self
                .state
                .get_or_insert_with(id, || AdamState::zeros(grad.shape()));
            adam_update(value, grad.as_slice(), l2, state, learning_rate, betas, eps);
        }
    }

    fn learning_rate(&self) -> T {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: T) {
        self.config.learning_rate = learning_rate;
    }
}

/// PyTorch's checks on Adam's and AdamW's settings.
#[track_caller]
pub(crate) fn check_adam_settings<T: Float>(
    optimizer: &str,
    learning_rate: T,
    (beta1, beta2): (T, T),
    eps: T,
    weight_decay: T,
) {
    let zero = T::zero();
    check_hyperparameter(
        learning_rate >= zero,
        optimizer,
        format_args!("learning_rate {learning_rate}"),
    );
    check_hyperparameter(eps >= zero, optimizer, format_args!("eps {eps}"));
    for (index, beta) in [(0, beta1), (1, beta2)] {
        check_hyperparameter(
            beta >= zero && beta < T::one(),
            optimizer,
            format_args!("beta parameter at index {index}: {beta} (must be in [0, 1))"),
        );
    }
    check_hyperparameter(
        weight_decay >= zero,
        optimizer,
        format_args!("weight_decay {weight_decay}"),
    );
}

/// One Adam update of one parameter, in place: advance the step count, update the moments with
/// `g + l2·p`, and take the bias-corrected step (see [`Adam`] for the formulas).
pub(crate) fn adam_update<T: Float>(
    value: &mut [T],
    grad: &[T],
    l2: T,
    state: &mut AdamState<T>,
    learning_rate: T,
    (beta1, beta2): (T, T),
    eps: T,
) {
    state.step += 1;
    let t = i32::try_from(state.step).unwrap_or(i32::MAX);
    let one = T::one();
    let step_size = learning_rate / (one - beta1.powi(t));
    let second_moment_correction = (one - beta2.powi(t)).sqrt();
    // √v/c + ε = (√v + ε·c)/c, so the step m/(√v/c + ε) is c·m/(√v + ε·c): ε still enters
    // after the correction, as in PyTorch, with one division per element instead of two (the
    // order Kingma and Ba give as the faster one, §2). The results differ in the last bits.
    let corrected_step = step_size * second_moment_correction;
    let corrected_eps = eps * second_moment_correction;
    let exp_avg = state.exp_avg.data_mut();
    let exp_avg_sq = state.exp_avg_sq.data_mut();
    // Each element divides and takes a square root, the slow instructions: eight lanes at a
    // time where the processor can (a fifth of mlp-digits' time was this loop on four lanes).
    with_wide_simd(|| {
        for ((p, &g), (m, v)) in value
            .iter_mut()
            .zip(grad)
            .zip(exp_avg.iter_mut().zip(exp_avg_sq.iter_mut()))
        {
            let g = g + l2 * *p;
            *m = beta1 * *m + (one - beta1) * g;
            *v = beta2 * *v + (one - beta2) * g * g;
            *p -= corrected_step * *m / (v.sqrt() + corrected_eps);
        }
    });
}
