//! Layers, activations and losses for chainrule, built only from graph ops: no layer or loss
//! has a hand-written gradient; the engine's one backward pass differentiates them all.

#![warn(missing_docs)]

use chainrule_autodiff::{Float, Graph, ParamStore, Var};

/// A layer or model: it owns the ids of its parameters in a [`ParamStore`] and maps a var to a
/// var. Modules compose ([`Sequential`] and any user struct can be a module).
///
/// A module never holds tensors of its own between steps: it binds its parameters into each
/// step's graph with [`ParamStore::bind`], so the optimizer can update them in place afterwards.
pub trait Module<T: Float> {
    /// Runs the module on `x` in graph `g`, binding its parameters from `params`.
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T>;

    /// Switches between training and evaluation behaviour (dropout); containers pass it on to
    /// their children. Most modules behave the same in both and keep this default.
    fn set_training(&mut self, _training: bool) {}
}
