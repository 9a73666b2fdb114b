//! Layers, activations and losses for chainrule, built only from graph ops: no layer or loss
//! has a hand-written gradient; the engine's one backward pass differentiates them all. The
//! one exception is by choice: the LSTM cell's pointwise part is a fused user-defined op
//! ([`FusedLstmCell`]) whose rule is tested against the same equations composed from graph ops.
//!
//! - [`Module`] — the one trait: a layer owns the ids of its parameters in a [`ParamStore`]
//!   and maps a var to a var.
//! - [`init`] — Xavier/Glorot, He/Kaiming and zero initialisation, seeded by the caller.
//! - [`Activation`] — sigmoid, tanh, ReLU, linear and softmax, as functions and as layers.
//! - [`Dense`] — the material's `Z = g(XW + B)` on a batch.
//! - [`Conv2d`], [`Conv1d`], [`MaxPool2d`], [`AvgPool2d`], [`Flatten`] — convolutional networks:
//!   one small filter shared across every patch of an image or sequence.
//! - [`Sequential`], [`Residual`], [`Highway`] — ways to compose layers.
//! - [`RnnCell`], [`LstmCell`], [`Rnn`], [`Lstm`] — recurrent layers; backpropagation through
//!   time is the generic backward pass over the unrolled graph. [`lstm_cell`] is the LSTM
//!   cell's pointwise part as one fused op, a user-defined op ([`FusedLstmCell`]) of the layer.
//! - [`Embedding`], [`Dropout`].
//! - [`losses`] — mean squared error (plain and the material's `1/(2m)`), Huber and smooth L1,
//!   binary log loss and softmax cross-entropy from logits, and the L2 penalty over weights only.
//!
//! One training step of a small MLP:
//!
//! ```
//! use chainrule_autodiff::{Graph, ParamStore, Tensor};
//! use chainrule_layers::{losses, Activation, Dense, Module, Sequential};
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let mut params = ParamStore::<f64>::new();
//! let model = Sequential::new()
//!     .with(Dense::new(&mut params, "hidden", 2, 8, Activation::Relu, &mut rng))
//!     .with(Dense::new(&mut params, "output", 8, 3, Activation::Linear, &mut rng));
//!
//! let g = Graph::new();
//! let x = g.input(Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.0], &[2, 2]));
//! let logits = model.forward(&g, &params, x);
//! let loss = losses::softmax_cross_entropy(logits, &[2, 0]);
//! let grads = params.collect_grads(&loss.backward());
//! assert_eq!(grads.iter().count(), 4); // two weights, two biases
//! ```

#![warn(missing_docs)]

use chainrule_autodiff::{Float, Graph, ParamStore, Var};

/// Panics with the message followed by the caller's source line, as the engine's shape errors
/// do: the layers' forward methods are `#[track_caller]`, so the line is the user's.
macro_rules! layer_panic {
    ($($arg:tt)*) => {
        panic!("{} (at {})", format_args!($($arg)*), ::std::panic::Location::caller())
    };
}

pub mod activation;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod highway;
pub mod init;
pub mod losses;
pub mod recurrent;
pub mod residual;
pub mod sequential;
mod shapes;

pub use activation::Activation;
pub use conv::{AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d, Unflatten};
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use highway::Highway;
pub use init::Init;
pub use losses::{
    binary_log_loss, half_mean_squared_error, huber_loss, l2_penalty, mean_squared_error,
    smooth_l1_loss, softmax_cross_entropy,
};
pub use recurrent::{
    lstm_cell, FusedLstmCell, Lstm, LstmCell, LstmSequence, LstmState, LstmStates, Rnn, RnnCell,
};
pub use residual::Residual;
pub use sequential::Sequential;

/// A layer or model: it owns the ids of its parameters in a [`ParamStore`] and maps a var to a
/// var. Modules compose ([`Sequential`] and any user struct can be a module).
///
/// A module never holds tensors of its own between steps: it binds its parameters into each
/// step's graph with [`ParamStore::bind`], so the optimizer can update them in place afterwards.
///
/// The trait is object safe, so models can be built from `Box<dyn Module<T>>`:
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Activation, Module};
/// let layers: Vec<Box<dyn Module<f64>>> = vec![Box::new(Activation::Tanh)];
/// let g = Graph::new();
/// let x = g.input(Tensor::from_vec(vec![0.0, 1.0], &[1, 2]));
/// let y = layers[0].forward(&g, &ParamStore::new(), x);
/// assert_eq!(y.value().get(&[0, 1]), 1.0f64.tanh());
/// ```
pub trait Module<T: Float> {
    /// Runs the module on `x` in graph `g`, binding its parameters from `params`.
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T>;

    /// Switches between training and evaluation behaviour (dropout); containers pass it on to
    /// their children. Most modules behave the same in both and keep this default.
    fn set_training(&mut self, _training: bool) {}
}

/// A boxed module is a module, so containers can hold `Box<dyn Module<T>>` and still be handed
/// to anything that takes `impl Module<T>`.
impl<T: Float, M: Module<T> + ?Sized> Module<T> for Box<M> {
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        (**self).forward(g, params, x)
    }

    fn set_training(&mut self, training: bool) {
        (**self).set_training(training)
    }
}
