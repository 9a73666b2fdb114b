//! AdamW — Adam with weight decay decoupled from the moments (Loshchilov & Hutter) — exactly
//! as `torch.optim.AdamW` computes it, with the decay applied to weights only.

use chainrule_autodiff::{Float, ParamGrads, ParamId, ParamKind, ParamStore};

use crate::adam::{adam_update, check_adam_settings, AdamState};
use crate::state::PerParam;
use crate::{parameter_to_update, Optimizer};

/// The settings of [`AdamW`], named and defaulted as `torch.optim.AdamW`'s.
///
/// ```
/// use chainrule_optim::AdamWConfig;
/// let config = AdamWConfig::<f64>::default();
/// assert_eq!(config.learning_rate, 1e-3);
/// assert_eq!(config.betas, (0.9, 0.999));
/// assert_eq!((config.eps, config.weight_decay), (1e-8, 1e-2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig<T> {
    /// The step size `lr`. PyTorch: `lr`; default `1e-3`.
    pub learning_rate: T,
    /// The decay rates `(β₁, β₂)` of the running averages of the gradient and of its square.
    /// PyTorch: `betas`; default `(0.9, 0.999)`.
    pub betas: (T, T),
    /// Added to the root of the second moment before dividing, for stability. PyTorch: `eps`;
    /// default `1e-8`.
    pub eps: T,
    /// The decoupled decay coefficient `λ`: each step shrinks weights by the factor
    /// `1 − lr·λ`; biases are never decayed. PyTorch: `weight_decay`; default `1e-2`.
    pub weight_decay: T,
}

impl<T: Float> Default for AdamWConfig<T> {
    fn default() -> Self {
        AdamWConfig {
            learning_rate: T::of(1e-3),
            betas: (T::of(0.9), T::of(0.999)),
            eps: T::of(1e-8),
            weight_decay: T::of(1e-2),
        }
    }
}

/// AdamW, as `torch.optim.AdamW` (without `amsgrad`): the weight decay shrinks the parameter
/// directly instead of entering the gradient, so the moments never see it:
///
/// ```text
/// p ← p − lr·λ·p                    (weights only)
/// t ← t + 1
/// m ← β₁·m + (1 − β₁)·g             (m, v start at 0)
/// v ← β₂·v + (1 − β₂)·g²
/// p ← p − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
/// ```
///
/// The decay applies to [`ParamKind::Weight`] parameters only: in this project biases are
/// never regularised. (PyTorch decays every parameter it is given.)
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{AdamW, AdamWConfig, Optimizer};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![1.0f64], &[1]), ParamKind::Weight);
/// let b = params.insert("b", Tensor::from_vec(vec![1.0f64], &[1]), ParamKind::Bias);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![0.5], &[1]));
/// grads.set(b, Tensor::from_vec(vec![0.5], &[1]));
///
/// let mut adamw = AdamW::new(AdamWConfig::default());
/// adamw.apply(&mut params, &grads);
/// // Same value, same gradient: the weight ends lower by the decay lr·λ·p = 1e-5.
/// let decayed = params.value(b).item() - params.value(w).item();
/// assert!((decayed - 1e-5).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<T> {
    config: AdamWConfig<T>,
    state: PerParam<AdamState<T>>,
}

impl<T: Float> AdamW<T> {
    /// AdamW with these settings.
    ///
    /// # Panics
    /// As PyTorch raises: when the learning rate, `eps` or weight decay is negative (or NaN),
    /// or a beta is outside `[0, 1)`.
    ///
    /// ```
    /// use chainrule_optim::{AdamW, AdamWConfig};
    /// let adamw = AdamW::new(AdamWConfig { weight_decay: 0.1, ..AdamWConfig::<f32>::default() });
    /// assert_eq!(adamw.config().weight_decay, 0.1);
    /// ```
    #[track_caller]
    pub fn new(config: AdamWConfig<T>) -> Self {
        check_adam_settings(
            "AdamW",
            config.learning_rate,
            config.betas,
            config.eps,
            config.weight_decay,
        );
        AdamW {
            config,
            state: PerParam::default(),
        }
    }

    /// The settings (with the learning rate as last set).
    ///
    /// ```
    /// use chainrule_optim::{AdamW, AdamWConfig};
    /// assert_eq!(AdamW::<f64>::default().config(), &AdamWConfig::default());
    /// ```
    pub fn config(&self) -> &AdamWConfig<T> {
        &self.config
    }

    /// The moments and step count of one parameter: `None` before its first gradient. See
    /// [`AdamState`](crate::AdamState) for an example.
    pub fn state(&self, id: ParamId) -> Option<&AdamState<T>> {
        self.state.get(id)
    }
}

impl<T: Float> Default for AdamW<T> {
    fn default() -> Self {
        AdamW::new(AdamWConfig::default())
    }
}

impl<T: Float> Optimizer<T> for AdamW<T> {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        let AdamWConfig {
            learning_rate,
            betas,
            eps,
            weight_decay,
        } = self.config;
        let shrink = T::one() - learning_rate * weight_decay;
        for (id, grad) in grads.iter() {
            let kind = params.kind(id);
            let value = parameter_to_update("AdamW", params, id, grad);
            if kind == ParamKind::Weight && weight_decay != T::zero() {
                for p in value.iter_mut() {
                    *p *= shrink;
                }
            }
            let state = self
                .state
                .get_or_insert_with(id, || AdamState::zeros(grad.shape()));
            adam_update(
                value,
                grad.as_slice(),
                T::zero(),
                state,
                learning_rate,
                betas,
                eps,
            );
        }
    }

    fn learning_rate(&self) -> T {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: T) {
        self.config.learning_rate = learning_rate;
    }
}
