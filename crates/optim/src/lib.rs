//! Optimizers: update parameters from gradients.
//!
//! Gradients come fresh from each backward pass, so there is nothing to zero; accumulating
//! over several batches is an explicit sum of [`ParamGrads`].

#![warn(missing_docs)]

use chainrule_autodiff::{Float, Gradients, ParamGrads, ParamStore};

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
}
