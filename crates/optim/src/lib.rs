//! Optimizers: update parameters from gradients.
//!
//! Gradients come fresh from each backward pass, so there is nothing to zero; accumulating
//! over several batches is an explicit sum of [`ParamGrads`].
//!
//! What lives where:
//!
//! - [`Optimizer`] (this file) — the trait every optimizer implements: `apply` a [`ParamGrads`],
//!   or `step` from a backward pass's [`Gradients`], and get or set the learning rate.
//! - One file per optimizer, each with a config whose field names and defaults are PyTorch's
//!   (`lr` is spelled `learning_rate`), and its per-parameter state kept by [`ParamId`]:
//!   [`GradientDescent`], [`Sgd`] (momentum, dampening, Nesterov), [`RmsProp`] (plain, centered,
//!   with momentum), [`Adam`] (with optional L2 weight decay) and [`AdamW`] (decoupled weight
//!   decay).
//! - [`clipping`] — clipping gradients by their global norm, as a function and as a wrapper that
//!   clips before any optimizer steps.
//! - [`schedule`] — learning-rate schedules (step decay, cosine annealing) and setting an
//!   optimizer's rate for an epoch.
//!
//! Every optimizer writes into the parameters' own storage: once the step's graph is dropped,
//! no parameter is shared, and [`Tensor::data_mut`](chainrule_autodiff::Tensor::data_mut)
//! updates it in place. A parameter without a gradient (it took no part in the step) is left as
//! it is, and its state does not advance.
//!
//! Regularisation — the L2 `weight_decay` of [`Sgd`], [`RmsProp`] and [`Adam`], and the decoupled
//! decay of [`AdamW`] — applies to [`ParamKind::Weight`](chainrule_autodiff::ParamKind)
//! parameters only: in this project biases are never regularised. (PyTorch decays whatever
//! parameters it is given; users exclude biases with parameter groups.)
//!
//! One training step on a quadratic, `L = Σ (w − 3)²`:
//!
//! ```
//! use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
//! use chainrule_optim::{Adam, AdamConfig, Optimizer};
//!
//! let mut params = ParamStore::new();
//! let w = params.insert("w", Tensor::from_vec(vec![0.0f64, 1.0], &[2]), ParamKind::Weight);
//! let mut optimizer = Adam::new(AdamConfig { learning_rate: 0.1, ..AdamConfig::default() });
//!
//! let g = Graph::new();
//! let loss = (params.bind(&g, w) - 3.0).square().sum();
//! let grads = params.collect_grads(&loss.backward());
//! drop(g); // the parameters are no longer shared: the update goes in place
//! optimizer.apply(&mut params, &grads);
//! // Adam's first step moves each element by about the learning rate, towards 3.
//! assert!((params.value(w).get(&[0]) - 0.1).abs() < 1e-6);
//! assert!((params.value(w).get(&[1]) - 1.1).abs() < 1e-6);
//! ```

#![warn(missing_docs)]

mod adam;
mod adamw;
pub mod clipping;
mod gradient_descent;
mod rmsprop;
pub mod schedule;
mod sgd;
mod state;

pub use adam::{Adam, AdamConfig, AdamState};
pub use adamw::{AdamW, AdamWConfig};
pub use clipping::{clip_grad_norm, ClipGradNorm};
pub use gradient_descent::{GradientDescent, GradientDescentConfig};
pub use rmsprop::{RmsProp, RmsPropConfig, RmsPropState};
pub use schedule::{set_learning_rate_for_epoch, CosineAnnealing, LearningRateSchedule, StepDecay};
pub use sgd::{Sgd, SgdConfig, SgdState};

use chainrule_autodiff::{Float, Gradients, ParamGrads, ParamId, ParamKind, ParamStore, Tensor};

/// Updates parameters from their gradients.
pub trait Optimizer<T: Float> {
    /// One update of every parameter that has a gradient in `grads`.
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>);

    /// One update from a backward pass's gradients. For the update to be in place, drop the
    /// step's graph first (collect the gradients with [`ParamStore::collect_grads`] and call
    /// [`Optimizer::apply`]); while the graph lives it shares each parameter's storage.
    fn step(&mut self, params: &mut ParamStore<T>, grads: &Gradients<T>) {
        let grads = params.collect_grads(grads);
        self.apply(params, &grads);
    }

    /// The current learning rate.
    fn learning_rate(&self) -> T;

    /// Sets the learning rate (what schedules do between epochs).
    fn set_learning_rate(&mut self, learning_rate: T);

    /// This optimizer, clipping the gradients to a global norm of at most `max_norm` before each
    /// update (see [`ClipGradNorm`]).
    ///
    /// ```
    /// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
    /// use chainrule_optim::{GradientDescent, GradientDescentConfig, Optimizer};
    ///
    /// let mut params = ParamStore::new();
    /// let w = params.insert("w", Tensor::from_vec(vec![0.0f64, 0.0], &[2]), ParamKind::Weight);
    /// let mut grads = params.empty_grads();
    /// grads.set(w, Tensor::from_vec(vec![3.0, 4.0], &[2])); // norm 5
    ///
    /// let mut optimizer =
    ///     GradientDescent::new(GradientDescentConfig { learning_rate: 1.0 }).with_grad_clipping(1.0);
    /// optimizer.apply(&mut params, &grads);
    /// // The gradient was scaled to norm 1 (up to clip_grad_norm's 1e-6) before the step.
    /// assert!((params.value(w).get(&[0]) + 0.6).abs() < 1e-6);
    /// assert!((params.value(w).get(&[1]) + 0.8).abs() < 1e-6);
    /// ```
    fn with_grad_clipping(self, max_norm: T) -> ClipGradNorm<Self, T>
    where
        Self: Sized,
    {
        ClipGradNorm::new(self, max_norm)
    }
}

/// A mutable reference to an optimizer is an optimizer, so a training loop can borrow one.
impl<T: Float, O: Optimizer<T> + ?Sized> Optimizer<T> for &mut O {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        (**self).apply(params, grads);
    }

    fn step(&mut self, params: &mut ParamStore<T>, grads: &Gradients<T>) {
        (**self).step(params, grads);
    }

    fn learning_rate(&self) -> T {
        (**self).learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: T) {
        (**self).set_learning_rate(learning_rate);
    }
}

/// A boxed optimizer is an optimizer, so the choice of optimizer can be made at run time
/// (`Box<dyn Optimizer<T>>`).
impl<T: Float, O: Optimizer<T> + ?Sized> Optimizer<T> for Box<O> {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        (**self).apply(params, grads);
    }

    fn step(&mut self, params: &mut ParamStore<T>, grads: &Gradients<T>) {
        (**self).step(params, grads);
    }

    fn learning_rate(&self) -> T {
        (**self).learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: T) {
        (**self).set_learning_rate(learning_rate);
    }
}

/// The elements of parameter `id`, to update in place, after checking that its gradient has
/// its shape. `optimizer` names the caller in the panic message.
#[track_caller]
fn parameter_to_update<'a, T: Float>(
    optimizer: &str,
    params: &'a mut ParamStore<T>,
    id: ParamId,
    grad: &Tensor<T>,
) -> &'a mut [T] {
    let shape = params.value(id).shape();
    assert!(
        shape == grad.shape(),
        "{optimizer}: the gradient of {:?} has shape {:?}, the parameter {:?}",
        params.name(id),
        grad.shape(),
        shape
    );
    params.value_mut(id).data_mut()
}

/// The L2 coefficient for a parameter of this kind: `weight_decay` for weights, zero for biases.
fn decay_for<T: Float>(kind: ParamKind, weight_decay: T) -> T {
    match kind {
        ParamKind::Weight => weight_decay,
        ParamKind::Bias => T::zero(),
    }
}

/// Panics with the optimizer's name and the offending hyperparameter unless `holds`, as
/// PyTorch's optimizers raise `ValueError` on construction.
#[track_caller]
fn check_hyperparameter(holds: bool, optimizer: &str, what: std::fmt::Arguments<'_>) {
    assert!(holds, "{optimizer}: invalid {what}");
}
