//! Plain gradient descent: `p ← p − lr·g`, no state. The material's update rule, and the
//! baseline every other optimizer refines.

use chainrule_autodiff::{Float, ParamGrads, ParamStore};

use crate::{check_hyperparameter, parameter_to_update, Optimizer};

/// The settings of [`GradientDescent`].
///
/// ```
/// use chainrule_optim::GradientDescentConfig;
/// let config = GradientDescentConfig::<f64>::default();
/// assert_eq!(config.learning_rate, 1e-3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientDescentConfig<T> {
    /// The step size `lr`. PyTorch: `lr` of `torch.optim.SGD`; default `1e-3` (PyTorch's
    /// default since `lr` became optional).
    pub learning_rate: T,
}

impl<T: Float> Default for GradientDescentConfig<T> {
    fn default() -> Self {
        GradientDescentConfig {
            learning_rate: T::of(1e-3),
        }
    }
}

/// Plain gradient descent: each element moves against its gradient,
///
/// ```text
/// p ← p − lr·g
/// ```
///
/// This is `torch.optim.SGD` with no momentum and no weight decay.
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{GradientDescent, GradientDescentConfig, Optimizer};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![1.0f64, 2.0], &[2]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![0.5, -1.0], &[2]));
///
/// let mut optimizer = GradientDescent::new(GradientDescentConfig { learning_rate: 0.1 });
/// optimizer.apply(&mut params, &grads);
/// assert_eq!(params.value(w).to_vec(), vec![1.0 - 0.05, 2.0 + 0.1]);
/// ```
#[derive(Clone, Debug)]
pub struct GradientDescent<T> {
    config: GradientDescentConfig<T>,
}

impl<T: Float> GradientDescent<T> {
    /// Gradient descent with these settings.
    ///
    /// # Panics
    /// When the learning rate is negative or NaN.
    ///
    /// ```
    /// use chainrule_optim::{GradientDescent, GradientDescentConfig, Optimizer};
    /// let optimizer = GradientDescent::new(GradientDescentConfig { learning_rate: 0.5f32 });
    /// assert_eq!(optimizer.learning_rate(), 0.5);
    /// ```
    #[track_caller]
    pub fn new(config: GradientDescentConfig<T>) -> Self {
        let lr = config.learning_rate;
        check_hyperparameter(
            lr >= T::zero(),
            "GradientDescent",
            format_args!("learning_rate {lr}"),
        );
        GradientDescent { config }
    }

    /// The settings (with the learning rate as last set).
    ///
    /// ```
    /// use chainrule_optim::{GradientDescent, GradientDescentConfig};
    /// let optimizer = GradientDescent::new(GradientDescentConfig { learning_rate: 0.1f64 });
    /// assert_eq!(optimizer.config().learning_rate, 0.1);
    /// ```
    pub fn config(&self) -> &GradientDescentConfig<T> {
        &self.config
    }
}

impl<T: Float> Default for GradientDescent<T> {
    fn default() -> Self {
        GradientDescent::new(GradientDescentConfig::default())
    }
}

impl<T: Float> Optimizer<T> for GradientDescent<T> {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        let lr = self.config.learning_rate;
        for (id, grad) in grads.iter() {
            let value = parameter_to_update("GradientDescent", params, id, grad);
            for (p, &g) in value.iter_mut().zip(grad.as_slice()) {
                *p -= lr * g;
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
