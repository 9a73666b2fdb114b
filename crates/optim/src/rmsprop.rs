//! RMSProp — divide each step by a running root mean square of the gradient — exactly as
//! `torch.optim.RMSprop` computes it (plain, centered, and with momentum), and its
//! per-parameter state.

use chainrule_autodiff::{Float, ParamGrads, ParamId, ParamStore, Tensor};

use crate::state::PerParam;
use crate::{check_hyperparameter, decay_for, parameter_to_update, Optimizer};

/// The settings of [`RmsProp`], named and defaulted as `torch.optim.RMSprop`'s.
///
/// ```
/// use chainrule_optim::RmsPropConfig;
/// let config = RmsPropConfig::<f64>::default();
/// assert_eq!((config.learning_rate, config.alpha, config.eps), (1e-2, 0.99, 1e-8));
/// assert!(!config.centered);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig<T> {
    /// The step size `lr`. PyTorch: `lr`; default `1e-2`.
    pub learning_rate: T,
    /// The smoothing constant `α` of the running averages. PyTorch: `alpha`; default 0.99.
    pub alpha: T,
    /// Added to the root mean square before dividing, for stability. PyTorch: `eps`; default
    /// `1e-8`.
    pub eps: T,
    /// The L2 coefficient `λ` added to weights' gradients (`g ← g + λ·p`); biases are never
    /// decayed. PyTorch: `weight_decay`; default 0.
    pub weight_decay: T,
    /// The momentum factor `μ`; 0 turns momentum off. PyTorch: `momentum`; default 0.
    pub momentum: T,
    /// Centered RMSProp: divide by an estimate of the gradient's variance (`v − ḡ²`) instead of
    /// its raw second moment. PyTorch: `centered`; default `false`.
    pub centered: bool,
}

impl<T: Float> Default for RmsPropConfig<T> {
    fn default() -> Self {
        RmsPropConfig {
            learning_rate: T::of(1e-2),
            alpha: T::of(0.99),
            eps: T::of(1e-8),
            weight_decay: T::zero(),
            momentum: T::zero(),
            centered: false,
        }
    }
}

/// The state [`RmsProp`] keeps for one parameter; every tensor has the parameter's shape.
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{Optimizer, RmsProp, RmsPropConfig};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![1.0f64], &[1]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![0.5], &[1]));
/// let mut rmsprop = RmsProp::new(RmsPropConfig { centered: true, ..RmsPropConfig::default() });
/// rmsprop.apply(&mut params, &grads);
/// let state = rmsprop.state(w).unwrap();
/// assert!((state.square_avg.item() - 0.01 * 0.25).abs() < 1e-15); // (1 − α)·g²
/// assert!((state.grad_avg.as_ref().unwrap().item() - 0.005).abs() < 1e-15); // (1 − α)·g
/// assert!(state.momentum_buffer.is_none());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RmsPropState<T> {
    /// The running average of the squared gradient, `v`. PyTorch: `square_avg`.
    pub square_avg: Tensor<T>,
    /// The running average of the gradient, `ḡ` (centered only). PyTorch: `grad_avg`.
    pub grad_avg: Option<Tensor<T>>,
    /// The momentum buffer `b`, starting at zero (with momentum only). PyTorch:
    /// `momentum_buffer`.
    pub momentum_buffer: Option<Tensor<T>>,
}

/// RMSProp, as `torch.optim.RMSprop`:
///
/// ```text
/// g ← g + λ·p                       (weights only, when weight_decay λ ≠ 0)
/// v ← α·v + (1 − α)·g²              (v starts at 0)
/// if centered:
///     ḡ ← α·ḡ + (1 − α)·g           (ḡ starts at 0)
///     d ← √(v − ḡ²) + ε
/// else:
///     d ← √v + ε
/// if μ > 0:
///     b ← μ·b + g/d                 (b starts at 0)
///     p ← p − lr·b
/// else:
///     p ← p − lr·g/d
/// ```
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{Optimizer, RmsProp, RmsPropConfig};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![1.0f64], &[1]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![0.5], &[1]));
///
/// let mut rmsprop = RmsProp::new(RmsPropConfig::default());
/// rmsprop.apply(&mut params, &grads);
/// // v = 0.01·0.25 = 0.0025, √v = 0.05, so the step is 0.01·0.5/0.05 = 0.1.
/// assert!((params.value(w).item() - 0.9).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp<T> {
    config: RmsPropConfig<T>,
    state: PerParam<RmsPropState<T>>,
}

impl<T: Float> RmsProp<T> {
    /// RMSProp with these settings.
    ///
    /// # Panics
    /// As PyTorch raises: when the learning rate, `alpha`, `eps`, momentum or weight decay is
    /// negative (or NaN).
    ///
    /// ```
    /// use chainrule_optim::{RmsProp, RmsPropConfig};
    /// let rmsprop = RmsProp::new(RmsPropConfig { momentum: 0.9, ..RmsPropConfig::<f32>::default() });
    /// assert_eq!(rmsprop.config().momentum, 0.9);
    /// ```
    #[track_caller]
    pub fn new(config: RmsPropConfig<T>) -> Self {
        let zero = T::zero();
        let c = &config;
        let checks = [
            ("learning_rate", c.learning_rate),
            ("alpha", c.alpha),
            ("eps", c.eps),
            ("momentum", c.momentum),
            ("weight_decay", c.weight_decay),
        ];
        for (name, value) in checks {
            check_hyperparameter(value >= zero, "RmsProp", format_args!("{name} {value}"));
        }
        RmsProp {
            config,
            state: PerParam::default(),
        }
    }

    /// The settings (with the learning rate as last set).
    ///
    /// ```
    /// use chainrule_optim::{RmsProp, RmsPropConfig};
    /// assert_eq!(RmsProp::<f64>::default().config(), &RmsPropConfig::default());
    /// ```
    pub fn config(&self) -> &RmsPropConfig<T> {
        &self.config
    }

    /// The state of one parameter: `None` before its first gradient. See [`RmsPropState`] for
    /// an example.
    pub fn state(&self, id: ParamId) -> Option<&RmsPropState<T>> {
        self.state.get(id)
    }
}

impl<T: Float> Default for RmsProp<T> {
    fn default() -> Self {
        RmsProp::new(RmsPropConfig::default())
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        let RmsPropConfig {
            learning_rate: lr,
            alpha,
            eps,
            weight_decay,
            momentum,
            centered,
        } = self.config;
        let one_minus_alpha = T::one() - alpha;
        for (id, grad) in grads.iter() {
            let decay = decay_for(params.kind(id), weight_decay);
            let value = parameter_to_update("RmsProp", params, id, grad);
            let state = self.state.get_or_insert_with(id, || RmsPropState {
                square_avg: Tensor::zeros(grad.shape()),
                grad_avg: centered.then(|| Tensor::zeros(grad.shape())),
                momentum_buffer: (momentum > T::zero()).then(|| Tensor::zeros(grad.shape())),
            });
            let square_avg = state.square_avg.data_mut();
            let mut grad_avg = state.grad_avg.as_mut().map(Tensor::data_mut);
            let mut buffer = state.momentum_buffer.as_mut().map(Tensor::data_mut);
            for (i, (p, &g)) in value.iter_mut().zip(grad.as_slice()).enumerate() {
                let g = g + decay * *p;
                let v = &mut square_avg[i];
                *v = alpha * *v + one_minus_alpha * g * g;
                let mean_square = match grad_avg.as_deref_mut() {
                    Some(grad_avg) => {
                        let m = &mut grad_avg[i];
                        *m = alpha * *m + one_minus_alpha * g;
                        *v - *m * *m
                    }
                    None => *v,
                };
                let step = g / (mean_square.sqrt() + eps);
                match buffer.as_deref_mut() {
                    Some(buffer) => {
                        let b = &mut buffer[i];
                        *b = momentum * *b + step;
                        *p -= lr * *b;
                    }
                    None => *p -= lr * step,
                }
            }
        }
    }

    fn learning_rate(&self) -> T {
        self.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: T) {
        self.config.learning_rate = learning_rate;
    }
}
