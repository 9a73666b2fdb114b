//! chainrule: reverse-mode automatic differentiation for learning, teaching and building neural
//! networks.
//!
//! This root package gathers the workspace's crates under one name, and owns the command-line
//! program `chainrule`, the examples and the end-to-end tests:
//!
//! - [`autodiff`] — tensors, the define-by-run graph, the generic backward pass, traces and
//!   pictures of the graph, gradient checking (its main types are re-exported here);
//! - [`layers`] — dense, residual, highway and recurrent layers, activations and losses;
//! - [`optim`] — gradient descent, SGD with momentum, RMSProp, Adam and AdamW;
//! - [`train`] — data sets, splits, batches, metrics, the fit loop and weight files;
//! - [`material`] — the course material model by model, each checked against an independent
//!   answer, and the tour that runs them all.
//!
//! ```
//! use chainrule::Graph;
//! let g = Graph::new();
//! let a = g.scalar(2.0);
//! let b = g.scalar(-3.0);
//! let c = a * b + a;
//! let grads = c.backward();
//! assert_eq!(grads[a].item(), -2.0);
//! ```

pub use chainrule_autodiff as autodiff;
/// Initial values for parameters (Xavier/Glorot, He/Kaiming, …), usable without the layers.
pub use chainrule_autodiff::init;
pub use chainrule_autodiff::{
    grad, grad_vars, gradcheck, gradcheck_generic, gradcheck_params, gradgradcheck,
    BackwardOptions, Conv1dOptions, Conv2dOptions, Float, GenericFunction, GenericLoss,
    GradcheckOptions, GradcheckReport, Gradients, Graph, Init, ParamGrads, ParamId, ParamKind,
    ParamStore, Pool2dOptions, Quantity, Tensor, Trace, Var, VarGradients,
};
pub use chainrule_layers as layers;
#[cfg(feature = "material")]
pub use chainrule_material as material;
pub use chainrule_optim as optim;
pub use chainrule_train as train;
/// The `rand` the constructors take (`Tensor::rand_normal`, every layer's initialiser): use
/// this one (`chainrule::rand::SeedableRng`), and a newer `rand` in your own `Cargo.toml` will
/// not get in the way.
pub use rand;

/// The README's examples, compiled and run as doctests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
