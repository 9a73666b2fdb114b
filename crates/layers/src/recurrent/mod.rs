//! Recurrent layers: a cell maps one time step's input and the previous state to the next
//! state; a sequence layer unrolls its cell over the time axis of `[batch, seq, features]`.
//!
//! Unrolling records every step on the graph — slice step `t` out with `narrow`, run the cell,
//! collect the hidden states with `Var::stack` — so backpropagation through time is nothing but
//! the engine's generic backward pass over that unrolled graph. The cell's parameters are bound
//! once per graph and used at every step; the engine sums their gradients over the steps. That
//! is how [`Rnn`] runs, and how [`LstmCell::step`] runs step by step. [`Lstm`] records its
//! whole sequence as one op instead, [`LstmStates`], for speed: its backward walks the same
//! steps in reverse with the same cell rule, and the tests hold it to the unrolled graph.
//!
//! - [`rnn`]: the simple (Elman) cell `h' = tanh(x·W_x + h·W_h + b)` and [`Rnn`].
//! - [`lstm`]: the LSTM cell with input, forget and output gates and [`Lstm`].
//! - [`lstm_cell_op`]: the cell's pointwise part fused into one user-defined op, [`lstm_cell`].
//! - [`lstm_sequence_op`]: a whole LSTM sequence as one user-defined op: the input products
//!   of all steps and the weight gradients become single large products. [`LstmSequence`]
//!   outputs every step's gates and states; [`LstmStates`], which [`Lstm`] records, only the
//!   states, keeping the rest for its backward.

use chainrule_autodiff::{Float, Graph, Tensor, Var};

pub mod lstm;
pub mod lstm_cell_op;
pub mod lstm_sequence_op;
pub mod rnn;

pub use lstm::{Lstm, LstmCell, LstmState};
pub use lstm_cell_op::{lstm_block, lstm_cell, FusedLstmCell};
pub use lstm_sequence_op::{LstmSequence, LstmStates};
pub use rnn::{Rnn, RnnCell};

/// Step `t` of a sequence: `[batch, seq, features] → [batch, features]`.
#[track_caller]
fn time_step<'g, T: Float>(x: Var<'g, T>, t: usize) -> Var<'g, T> {
    x.narrow(1, t, 1).squeeze(1)
}

/// The zero state `[batch, hidden]` sequences start from; a constant, so it gets no gradient.
fn zeros<T: Float>(g: &Graph<T>, batch: usize, hidden: usize) -> Var<'_, T> {
    g.constant(Tensor::zeros(&[batch, hidden]))
}
