//! chainrule's engine: tensors, the define-by-run graph, the generic backward pass, and
//! finite-difference gradient checking.
//!
//! - [`Tensor`] — an n-d array of `f32` or `f64` with the math kernels; no graph.
//! - [`Graph`] — the tape: every op appends a node, so the order of the tape is a topological
//!   order and backward is a reverse walk.
//! - [`Var`] — a `Copy` handle to a node, with operators (`a * b + 1.0`) and op methods.
//! - [`Var::backward`] — the one generic backward pass; [`Var::backward_create_graph`] records
//!   it on the graph so gradients can be differentiated again.
//! - [`init`] — Xavier/Glorot, He/Kaiming, uniform, normal and constant initial values,
//!   seeded by the caller.
//! - [`ParamStore`] — named weights and biases outside any graph, bound into each step's graph
//!   without copying.
//! - [`ops`] — the primitive ops: each op's name, formula, forward kernel and backward rule in
//!   one place (the elementwise ops one table entry each).
//! - [`CustomOp`] — an op of your own, recorded with [`Var::custom`], which the backward sweep,
//!   traces, pictures and gradcheck treat like a built-in one.
//! - [`gradcheck`](fn@gradcheck) — the engine's gradients against central finite differences in
//!   `f64`, of outputs of any shape, to second order ([`gradgradcheck`]), of `f32` model code
//!   written generically ([`gradcheck_params`]); the report names the worst elements (`w[2,0]`),
//!   and when a model fails, [`gradcheck::check_each_op`] names the op whose rule is wrong.
//! - [`Var::backward_traced`] — the chain rule written out step by step ([`Trace`]);
//!   [`Graph::to_dot`] — a picture of the graph with values and gradients (and `Graph::to_svg`
//!   with the `svg` feature); [`Var::named`] gives nodes names for both.
//!
//! Scalars are 0-d tensors on the same engine, so micrograd's style works as written:
//!
//! ```
//! use chainrule_autodiff::Graph;
//! let g = Graph::new();
//! let a = g.scalar(2.0);
//! let b = g.scalar(-3.0);
//! let c = a * b + a;
//! let grads = c.backward();
//! assert_eq!(grads[a].item(), -2.0);
//! assert_eq!(grads.wrt(b).item(), 2.0);
//! ```
//!
//! And the same engine on tensors, a linear layer with a loss:
//!
//! ```
//! use chainrule_autodiff::{Graph, Tensor};
//! let g = Graph::new();
//! let x = g.input(Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]));
//! let w = g.param(Tensor::from_vec(vec![0.1, -0.2, 0.3, 0.4], &[2, 2]));
//! let b = g.param(Tensor::zeros(&[2]));
//! let logits = x.matmul(w) + b;
//! let loss = logits.softmax_cross_entropy(&[0, 1]);
//! let grads = loss.backward();
//! assert_eq!(grads[w].shape(), &[2, 2]);
//! ```

#![warn(missing_docs)]

/// Panics with the message followed by the caller's source line: graph-building methods are
/// `#[track_caller]`, so a shape error points at the user's line, not at the engine's.
macro_rules! shape_panic {
    ($($arg:tt)*) => {
        panic!("{} (at {})", format_args!($($arg)*), ::std::panic::Location::caller())
    };
}

/// `assert!` with [`shape_panic!`]'s message.
macro_rules! shape_assert {
    ($cond:expr, $($arg:tt)*) => {
        let holds: bool = $cond;
        if !holds {
            shape_panic!($($arg)*)
        }
    };
}

pub mod anomaly;
mod arena;
pub mod backward;
mod custom;
mod describe;
mod dot;
mod float;
mod grad;
pub mod gradcheck;
pub mod graph;
pub mod init;
pub mod ops;
pub mod params;
mod spare;
pub mod tensor;
mod threads;
pub mod trace;
mod var;

pub use anomaly::{Anomaly, Pass};
pub use backward::{BackwardOptions, Gradients, VarGradients};
pub use custom::CustomOp;
pub use describe::Quantity;
#[doc(hidden)]
pub use float::{column_major_is_faster, gemm_by_columns, operand_strides};
pub use float::{with_wide_simd, Float};
pub use grad::{grad, grad_vars};
pub use gradcheck::{
    gradcheck, gradcheck_generic, gradcheck_params, gradgradcheck, GenericFunction, GenericLoss,
    GradcheckOptions, GradcheckReport, WorstElement, WrongOp,
};
pub use graph::{Graph, Node, NonFinite, Var};
pub use init::Init;
pub use ops::{Leaf, Op};
pub use params::{ParamGrads, ParamId, ParamKind, ParamStore, Parameter};
pub use tensor::{
    matmul_into, Conv1dOptions, Conv2dOptions, KeptPatches, Pool2dOptions, Shape, ShapeError,
    Tensor,
};
pub use threads::{
    num_threads, run_parts, set_num_threads, set_split_work, split_work, threads_for_work,
    DEFAULT_SPLIT_WORK,
};
pub use trace::{ChainStep, Trace, TraceNode};
