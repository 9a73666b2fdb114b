//! The long short-term memory cell (Hochreiter & Schmidhuber 1997, with the forget gate of
//! Gers, Schmidhuber & Cummins 2000) and the layer that unrolls it over a sequence:
//!
//! ```text
//! i = σ(x·W_xi + h·W_hi + b_i)        input gate
//! f = σ(x·W_xf + h·W_hf + b_f)        forget gate
//! g = tanh(x·W_xg + h·W_hg + b_g)     cell candidate
//! o = σ(x·W_xo + h·W_ho + b_o)        output gate
//! c' = f ⊙ c + i ⊙ g
//! h' = o ⊙ tanh(c')
//! ```
//!
//! The four gates' weights are stored side by side, so one matrix product per input computes
//! all four pre-activations: columns `[0, H)` are the input gate, `[H, 2H)` the forget gate,
//! `[2H, 3H)` the cell candidate and `[3H, 4H)` the output gate. That is PyTorch's gate order;
//! its `weight_ih_l0` and `weight_hh_l0` are these matrices transposed, and its two biases sum
//! to this one.
//!
//! The forget-gate bias starts at 1, as Jozefowicz, Zaremba & Sutskever (2015, "An Empirical
//! Exploration of Recurrent Network Architectures") recommend: the cell begins by remembering,
//! so gradients reach early steps while training starts.

use std::fmt;

use chainrule_autodiff::{Float, Graph, ParamId, ParamKind, ParamStore, Tensor, Var};
use rand::Rng;

use super::lstm_sequence_op::lstm_state;
use super::{lstm_cell, zeros, LstmStates};
use crate::shapes::{expect_sequence, expect_shape, Layer};
use crate::{Init, Module};

/// The state an LSTM carries from step to step: the hidden state `h` (its output) and the cell
/// state `c` (its memory), both `[batch, hidden]`.
#[derive(Clone, Copy)]
pub struct LstmState<'g, T> {
    /// The hidden state, the cell's output at this step.
    pub h: Var<'g, T>,
    /// The cell state, the memory the gates read and write.
    pub c: Var<'g, T>,
}

impl<T: Float> fmt::Debug for LstmState<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LstmState")
            .field("h", &self.h)
            .field("c", &self.c)
            .finish()
    }
}

/// One step of an LSTM (see the module docs for the equations), `x: [batch, in]`.
///
/// Parameters: `"{name}.input_weight"` `[in, 4·hidden]` and `"{name}.hidden_weight"`
/// `[hidden, 4·hidden]` (Xavier per gate, [`ParamKind::Weight`]), `"{name}.bias"`
/// `[4·hidden]` (zeros, except 1 for the forget gate), gates in the order input, forget,
/// cell candidate, output.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::LstmCell;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let cell = LstmCell::new(&mut params, "lstm", 3, 4, &mut rng);
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[2, 3]));
/// let state = cell.step(&g, &params, x, cell.zero_state(&g, 2));
/// assert_eq!(state.h.shape().as_slice(), &[2, 4]);
/// assert_eq!(state.c.shape().as_slice(), &[2, 4]);
/// ```
#[derive(Clone, Debug)]
pub struct LstmCell {
    name: String,
    input_weight: ParamId,
    hidden_weight: ParamId,
    bias: ParamId,
    inputs: usize,
    hidden: usize,
}

impl LstmCell {
    /// Creates the cell's parameters in `params`.
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::LstmCell;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let cell = LstmCell::new(&mut params, "lstm", 3, 2, &mut rng);
    /// let bias = params.value(cell.bias()).to_vec();
    /// assert_eq!(bias, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]); // forget gate: 1
    /// ```
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        inputs: usize,
        hidden: usize,
        rng: &mut R,
    ) -> LstmCell {
        let gates = 4 * hidden;
        let input_weight = params.insert(
            format!("{name}.input_weight"),
            Init::XavierUniform.tensor(&[inputs, gates], inputs, hidden, rng),
            ParamKind::Weight,
        );
        let hidden_weight = params.insert(
            format!("{name}.hidden_weight"),
            Init::XavierUniform.tensor(&[hidden, gates], hidden, hidden, rng),
            ParamKind::Weight,
        );
        let mut bias = Tensor::zeros(&[gates]);
        bias.data_mut()[hidden..2 * hidden].fill(T::one());
        let bias = params.insert(format!("{name}.bias"), bias, ParamKind::Bias);
        LstmCell {
            name: name.to_owned(),
            input_weight,
            hidden_weight,
            bias,
            inputs,
            hidden,
        }
    }

    /// The next state from input `x: [batch, in]` and the previous state.
    ///
    /// # Panics
    /// When `x` is not `[batch, in]` or the state is not `[batch, hidden]`.
    #[track_caller]
    pub fn step<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
        state: LstmState<'g, T>,
    ) -> LstmState<'g, T> {
        self.check_step(x, state);
        let w_x = params.bind(g, self.input_weight);
        let w_h = params.bind(g, self.hidden_weight);
        let b = params.bind(g, self.bias);
        // The two products, then every gate and both states in one fused op
        // ([`lstm_cell`], the module docs' equations with its own backward rule).
        let (h, c) = lstm_cell(x.matmul(w_x), state.h.matmul(w_h), b, state.c);
        LstmState { h, c }
    }

    /// `h = c = 0`, `[batch, hidden]` constants.
    pub fn zero_state<'g, T: Float>(&self, g: &'g Graph<T>, batch: usize) -> LstmState<'g, T> {
        LstmState {
            h: zeros(g, batch, self.hidden),
            c: zeros(g, batch, self.hidden),
        }
    }

    #[track_caller]
    fn check_step<T: Float>(&self, x: Var<'_, T>, state: LstmState<'_, T>) {
        let layer = self.layer();
        let batch = x.shape().first().copied().unwrap_or(0);
        expect_shape(layer, "input x", x, &[batch, self.inputs]);
        expect_shape(layer, "hidden state h", state.h, &[batch, self.hidden]);
        expect_shape(layer, "cell state c", state.c, &[batch, self.hidden]);
    }

    fn layer(&self) -> Layer<'_> {
        Layer {
            kind: "LstmCell",
            name: &self.name,
        }
    }

    /// The id of the input weights of all four gates, shape `[in, 4·hidden]`.
    pub fn input_weight(&self) -> ParamId {
        self.input_weight
    }

    /// The id of the recurrent weights of all four gates, shape `[hidden, 4·hidden]`.
    pub fn hidden_weight(&self) -> ParamId {
        self.hidden_weight
    }

    /// The id of the biases of all four gates, shape `[4·hidden]`.
    pub fn bias(&self) -> ParamId {
        self.bias
    }

    /// The number of input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The size of the hidden and cell states.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
}

/// An LSTM layer: [`LstmCell`] run over `[batch, seq, in]` from a zero state. As a
/// [`Module`] it returns every step's hidden state, `[batch, seq, hidden]`;
/// [`Lstm::last_hidden`] returns only the last, `[batch, hidden]`.
///
/// The sequence is recorded as one op, [`LstmStates`]: the same cell equations and the same
/// parameters as [`LstmCell::step`] at every step, but the input products of all steps and the
/// weight gradients run as single large products (see that op's module).
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Lstm, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let lstm = Lstm::new(&mut params, "lstm", 2, 5, &mut rng);
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[3, 7, 2]));
/// assert_eq!(lstm.forward(&g, &params, x).shape().as_slice(), &[3, 7, 5]);
/// assert_eq!(lstm.last_hidden(&g, &params, x).shape().as_slice(), &[3, 5]);
/// ```
#[derive(Clone, Debug)]
pub struct Lstm {
    cell: LstmCell,
}

impl Lstm {
    /// Creates the cell's parameters (see [`LstmCell::new`]).
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::Lstm;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f32>::new();
    /// let lstm = Lstm::new(&mut params, "lstm", 2, 5, &mut rng);
    /// assert_eq!(params.value(lstm.cell().input_weight()).shape(), &[2, 20]);
    /// ```
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        inputs: usize,
        hidden: usize,
        rng: &mut R,
    ) -> Lstm {
        Lstm {
            cell: LstmCell::new(params, name, inputs, hidden, rng),
        }
    }

    /// Unrolls from the zero state: every hidden state `[batch, seq, hidden]` and the final
    /// state.
    ///
    /// # Panics
    /// When `x` is not `[batch, seq ≥ 1, in]`.
    #[track_caller]
    pub fn run<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
    ) -> (Var<'g, T>, LstmState<'g, T>) {
        let (batch, _) = expect_sequence(self.layer(), x, self.cell.inputs);
        self.run_from(g, params, x, self.cell.zero_state(g, batch))
    }

    /// As [`Lstm::run`], from a given initial state (to carry the state across chunks of a long
    /// sequence, say).
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, ParamStore, Tensor};
    /// use chainrule_layers::Lstm;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let lstm = Lstm::new(&mut params, "lstm", 1, 2, &mut rng);
    /// let g = Graph::new();
    /// let x = g.input(Tensor::ones(&[1, 4, 1]));
    /// let (_, whole) = lstm.run(&g, &params, x);
    /// let (_, half) = lstm.run(&g, &params, x.narrow(1, 0, 2));
    /// let (_, rest) = lstm.run_from(&g, &params, x.narrow(1, 2, 2), half);
    /// assert_eq!(rest.h.value(), whole.h.value());
    /// ```
    #[track_caller]
    pub fn run_from<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
        initial: LstmState<'g, T>,
    ) -> (Var<'g, T>, LstmState<'g, T>) {
        let (states, seq) = self.sequence(g, params, x, initial);
        let state = LstmState {
            h: Self::last(states, seq, lstm_state::HIDDEN),
            c: Self::last(states, seq, lstm_state::CELL),
        };
        (Self::every_step(states, lstm_state::HIDDEN), state)
    }

    /// The whole sequence as one [`LstmStates`] op: every step's new states
    /// `[seq, 2, batch, hidden]` (see [`lstm_state`]), and the number of steps.
    #[track_caller]
    fn sequence<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
        initial: LstmState<'g, T>,
    ) -> (Var<'g, T>, usize) {
        let (batch, seq) = expect_sequence(self.layer(), x, self.cell.inputs);
        let hidden = self.cell.hidden;
        expect_shape(self.layer(), "hidden state h", initial.h, &[batch, hidden]);
        expect_shape(self.layer(), "cell state c", initial.c, &[batch, hidden]);
        let cell = &self.cell;
        let [w_x, w_h, b] =
            [cell.input_weight, cell.hidden_weight, cell.bias].map(|id| params.bind(g, id));
        let inputs = [x, w_x, w_h, b, initial.h, initial.c];
        (Var::custom(LstmStates::new(), &inputs), seq)
    }

    /// State `k` of every step, batch-first: `[batch, seq, hidden]`.
    fn every_step<'g, T: Float>(states: Var<'g, T>, k: usize) -> Var<'g, T> {
        let shape = states.shape();
        states
            .narrow(1, k, 1)
            .reshape(&[shape[0], shape[2], shape[3]])
            .transpose(0, 1)
    }

    /// State `k` after the last step, `[batch, hidden]`.
    fn last<'g, T: Float>(states: Var<'g, T>, seq: usize, k: usize) -> Var<'g, T> {
        let shape = states.shape();
        states
            .narrow(0, seq - 1, 1)
            .narrow(1, k, 1)
            .reshape(&[shape[2], shape[3]])
    }

    /// The hidden state after the last step, `[batch, hidden]`.
    #[track_caller]
    pub fn last_hidden<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
    ) -> Var<'g, T> {
        let (batch, _) = expect_sequence(self.layer(), x, self.cell.inputs);
        let (states, seq) = self.sequence(g, params, x, self.cell.zero_state(g, batch));
        Self::last(states, seq, lstm_state::HIDDEN)
    }

    fn layer(&self) -> Layer<'_> {
        Layer {
            kind: "Lstm",
            name: &self.cell.name,
        }
    }

    /// The cell unrolled at every step.
    pub fn cell(&self) -> &LstmCell {
        &self.cell
    }
}

impl<T: Float> Module<T> for Lstm {
    /// Every step's hidden state, `[batch, seq, hidden]`.
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        self.run(g, params, x).0
    }
}
