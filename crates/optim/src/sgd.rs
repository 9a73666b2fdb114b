//! Stochastic gradient descent with momentum, dampening and Nesterov momentum, exactly as
//! `torch.optim.SGD` computes it, and its per-parameter momentum buffer.

use chainrule_autodiff::{Float, ParamGrads, ParamId, ParamStore, Tensor};

use crate::state::PerParam;
use crate::{check_hyperparameter, decay_for, parameter_to_update, Optimizer};

/// The settings of [`Sgd`], named and defaulted as `torch.optim.SGD`'s.
///
/// ```
/// use chainrule_optim::SgdConfig;
/// let config = SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::<f64>::default() };
/// assert_eq!(config.learning_rate, 1e-3);
/// assert_eq!(config.dampening, 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig<T> {
    /// The step size `lr`. PyTorch: `lr`; default `1e-3` (PyTorch's default since `lr` became
    /// optional).
    pub learning_rate: T,
    /// The momentum factor `μ`; 0 turns momentum off. PyTorch: `momentum`; default 0.
    pub momentum: T,
    /// The dampening `τ` of the gradient's share in the momentum buffer. PyTorch: `dampening`;
    /// default 0.
    pub dampening: T,
    /// The L2 coefficient `λ` added to weights' gradients (`g ← g + λ·p`); biases are never
    /// decayed. PyTorch: `weight_decay`; default 0.
    pub weight_decay: T,
    /// Nesterov momentum: step along `g + μ·b` instead of `b`. Needs a positive momentum and no
    /// dampening. PyTorch: `nesterov`; default `false`.
    pub nesterov: bool,
}

impl<T: Float> Default for SgdConfig<T> {
    fn default() -> Self {
        SgdConfig {
            learning_rate: T::of(1e-3),
            momentum: T::zero(),
            dampening: T::zero(),
            weight_decay: T::zero(),
            nesterov: false,
        }
    }
}

/// The state [`Sgd`] keeps for one parameter (only when momentum is on).
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{Optimizer, Sgd, SgdConfig};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![1.0f64], &[1]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![0.5], &[1]));
/// let mut sgd = Sgd::new(SgdConfig { momentum: 0.9, ..SgdConfig::default() });
/// sgd.apply(&mut params, &grads);
/// // The first step's buffer is the gradient itself.
/// assert_eq!(sgd.state(w).unwrap().momentum_buffer.to_vec(), vec![0.5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SgdState<T> {
    /// The momentum buffer `b`, the shape of the parameter. PyTorch: `momentum_buffer`.
    pub momentum_buffer: Tensor<T>,
}

/// Stochastic gradient descent with optional momentum, as `torch.optim.SGD`:
///
/// ```text
/// g ← g + λ·p                       (weights only, when weight_decay λ ≠ 0)
/// if μ ≠ 0:
///     b ← g                         (first step)
///     b ← μ·b + (1 − τ)·g           (later steps)
///     g ← g + μ·b  if nesterov,  else  g ← b
/// p ← p − lr·g
/// ```
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{Optimizer, Sgd, SgdConfig};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![1.0f64], &[1]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![0.5], &[1]));
///
/// let mut sgd = Sgd::new(SgdConfig { learning_rate: 0.1, momentum: 0.9, ..SgdConfig::default() });
/// sgd.apply(&mut params, &grads); // b = 0.5,              p = 1 − 0.1·0.5   = 0.95
/// sgd.apply(&mut params, &grads); // b = 0.9·0.5 + 0.5 = 0.95, p = 0.95 − 0.095 = 0.855
/// assert!((params.value(w).item() - 0.855).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    config: SgdConfig<T>,
    state: PerParam<SgdState<T>>,
}

impl<T: Float> Sgd<T> {
    /// SGD with these settings.
    ///
    /// # Panics
    /// As PyTorch raises: when the learning rate, momentum or weight decay is negative (or
    /// NaN), or when Nesterov momentum is asked for without a positive momentum and zero
    /// dampening.
    ///
    /// ```
    /// use chainrule_optim::{Sgd, SgdConfig};
    /// let sgd = Sgd::new(SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::<f32>::default() });
    /// assert!(sgd.config().nesterov);
    /// ```
    #[track_caller]
    pub fn new(config: SgdConfig<T>) -> Self {
        let SgdConfig {
            learning_rate,
            momentum,
            dampening,
            weight_decay,
            nesterov,
        } = config;
        let zero = T::zero();
        check_hyperparameter(
            learning_rate >= zero,
            "Sgd",
            format_args!("learning_rate {learning_rate}"),
        );
        check_hyperparameter(momentum >= zero, "Sgd", format_args!("momentum {momentum}"));
        check_hyperparameter(
            weight_decay >= zero,
            "Sgd",
            format_args!("weight_decay {weight_decay}"),
        );
        check_hyperparameter(
            !nesterov || (momentum > zero && dampening == zero),
            "Sgd",
            format_args!(
                "nesterov with momentum {momentum} and dampening {dampening}: Nesterov \
                 momentum needs a positive momentum and zero dampening"
            ),
        );
        Sgd {
            config,
            state: PerParam::default(),
        }
    }

    /// The settings (with the learning rate as last set).
    ///
    /// ```
    /// use chainrule_optim::{Sgd, SgdConfig};
    /// assert_eq!(Sgd::<f64>::default().config(), &SgdConfig::default());
    /// ```
    pub fn config(&self) -> &SgdConfig<T> {
        &self.config
    }

    /// The momentum buffer of one parameter: `None` before its first gradient, and always when
    /// momentum is off. See [`SgdState`] for an example.
    pub fn state(&self, id: ParamId) -> Option<&SgdState<T>> {
        self.state.get(id)
    }
}

impl<T: Float> Default for Sgd<T> {
    fn default() -> Self {
        Sgd::new(SgdConfig::default())
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        let SgdConfig {
            learning_rate: lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
        } = self.config;
        for (id, grad) in grads.iter() {
            let decay = decay_for(params.kind(id), weight_decay);
            let value = parameter_to_update("Sgd", params, id, grad);
            if momentum == T::zero() {
                for (p, &g) in value.iter_mut().zip(grad.as_slice()) {
                    *p -= lr * (g + decay * *p);
                }
                continue;
            }
            let first_step = self.state.get(id).is_none();
            let state = self.state.get_or_insert_with(id, || SgdState {
                momentum_buffer: Tensor::zeros(grad.shape()),
            });
            let buffer = state.momentum_buffer.data_mut();
            for ((p, &g), b) in value.iter_mut().zip(grad.as_slice()).zip(buffer) {
                let g = g + decay * *p;
                *b = if first_step {
                    g
                } else {
                    momentum * *b + (T::one() - dampening) * g
                };
                let direction = if nesterov { g + momentum * *b } else { *b };
                *p -= lr * direction;
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
