//! The simple recurrent cell (Elman 1990) and the layer that unrolls it over a sequence:
//!
//! ```text
//! h_t = tanh(x_t·W_x + h_{t−1}·W_h + b),   h_0 = 0
//! ```

use chainrule_autodiff::{Float, Graph, ParamId, ParamKind, ParamStore, Var};
use rand::Rng;

use super::{time_step, zeros};
use crate::shapes::{expect_sequence, expect_shape, Layer};
use crate::{Init, Module};

/// One step of a simple recurrent network: `h' = tanh(x·W_x + h·W_h + b)`, with
/// `x: [batch, in]`, `h: [batch, hidden]`.
///
/// Parameters: `"{name}.input_weight"` `W_x: [in, hidden]` and `"{name}.hidden_weight"`
/// `W_h: [hidden, hidden]` (Xavier, [`ParamKind::Weight`]), `"{name}.bias"` `b: [hidden]` (zeros).
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::RnnCell;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let cell = RnnCell::new(&mut params, "rnn", 3, 4, &mut rng);
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[2, 3]));
/// let h = cell.step(&g, &params, x, cell.zero_state(&g, 2));
/// assert_eq!(h.shape().as_slice(), &[2, 4]);
/// ```
#[derive(Clone, Debug)]
pub struct RnnCell {
    name: String,
    input_weight: ParamId,
    hidden_weight: ParamId,
    bias: ParamId,
    inputs: usize,
    hidden: usize,
}

impl RnnCell {
    /// Creates the cell's parameters in `params`.
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::RnnCell;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f32>::new();
    /// let cell = RnnCell::new(&mut params, "rnn", 3, 4, &mut rng);
    /// assert_eq!(params.value(cell.hidden_weight()).shape(), &[4, 4]);
    /// ```
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        inputs: usize,
        hidden: usize,
        rng: &mut R,
    ) -> RnnCell {
        let input_weight = params.insert(
            format!("{name}.input_weight"),
            Init::XavierUniform.tensor(&[inputs, hidden], inputs, hidden, rng),
            ParamKind::Weight,
        );
        let hidden_weight = params.insert(
            format!("{name}.hidden_weight"),
            Init::XavierUniform.tensor(&[hidden, hidden], hidden, hidden, rng),
            ParamKind::Weight,
        );
        let bias = params.insert(
            format!("{name}.bias"),
            Init::Zeros.tensor(&[hidden], inputs, hidden, rng),
            ParamKind::Bias,
        );
        RnnCell {
            name: name.to_owned(),
            input_weight,
            hidden_weight,
            bias,
            inputs,
            hidden,
        }
    }

    /// The next hidden state `tanh(x·W_x + h·W_h + b)`.
    ///
    /// # Panics
    /// When `x` is not `[batch, in]` or `h` is not `[batch, hidden]`.
    #[track_caller]
    pub fn step<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
        h: Var<'g, T>,
    ) -> Var<'g, T> {
        self.check_step(x, h);
        let w_x = params.bind(g, self.input_weight);
        let w_h = params.bind(g, self.hidden_weight);
        let b = params.bind(g, self.bias);
        (x.matmul(w_x) + h.matmul(w_h) + b).tanh()
    }

    /// The zero state `[batch, hidden]`, a constant.
    pub fn zero_state<'g, T: Float>(&self, g: &'g Graph<T>, batch: usize) -> Var<'g, T> {
        zeros(g, batch, self.hidden)
    }

    #[track_caller]
    fn check_step<T: Float>(&self, x: Var<'_, T>, h: Var<'_, T>) {
        let layer = self.layer();
        let batch = x.shape().first().copied().unwrap_or(0);
        expect_shape(layer, "input x", x, &[batch, self.inputs]);
        expect_shape(layer, "hidden state h", h, &[batch, self.hidden]);
    }

    fn layer(&self) -> Layer<'_> {
        Layer {
            kind: "RnnCell",
            name: &self.name,
        }
    }

    /// The id of `W_x`, shape `[in, hidden]`.
    pub fn input_weight(&self) -> ParamId {
        self.input_weight
    }

    /// The id of `W_h`, shape `[hidden, hidden]`.
    pub fn hidden_weight(&self) -> ParamId {
        self.hidden_weight
    }

    /// The id of `b`, shape `[hidden]`.
    pub fn bias(&self) -> ParamId {
        self.bias
    }

    /// The number of input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The size of the hidden state.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
}

/// A simple recurrent layer: [`RnnCell`] unrolled over `[batch, seq, in]` from a zero state.
/// As a [`Module`] it returns every step's hidden state, `[batch, seq, hidden]`;
/// [`Rnn::last_hidden`] returns only the last, `[batch, hidden]`.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Module, Rnn};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let rnn = Rnn::new(&mut params, "rnn", 2, 5, &mut rng);
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[3, 7, 2])); // 3 sequences of 7 steps
/// assert_eq!(rnn.forward(&g, &params, x).shape().as_slice(), &[3, 7, 5]);
/// assert_eq!(rnn.last_hidden(&g, &params, x).shape().as_slice(), &[3, 5]);
/// ```
#[derive(Clone, Debug)]
pub struct Rnn {
    cell: RnnCell,
}

impl Rnn {
    /// Creates the cell's parameters (see [`RnnCell::new`]).
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::Rnn;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f32>::new();
    /// let rnn = Rnn::new(&mut params, "rnn", 2, 5, &mut rng);
    /// assert_eq!(rnn.cell().hidden(), 5);
    /// ```
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        inputs: usize,
        hidden: usize,
        rng: &mut R,
    ) -> Rnn {
        Rnn {
            cell: RnnCell::new(params, name, inputs, hidden, rng),
        }
    }

    /// Unrolls from the zero state: every hidden state `[batch, seq, hidden]` and the last
    /// `[batch, hidden]`.
    ///
    /// # Panics
    /// When `x` is not `[batch, seq ≥ 1, in]`.
    #[track_caller]
    pub fn run<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
    ) -> (Var<'g, T>, Var<'g, T>) {
        let (batch, _) = expect_sequence(self.layer(), x, self.cell.inputs);
        self.run_from(g, params, x, self.cell.zero_state(g, batch))
    }

    /// As [`Rnn::run`], from the initial hidden state `h0: [batch, hidden]`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, ParamStore, Tensor};
    /// use chainrule_layers::Rnn;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let rnn = Rnn::new(&mut params, "rnn", 1, 2, &mut rng);
    /// let g = Graph::new();
    /// let x = g.input(Tensor::ones(&[1, 3, 1]));
    /// let h0 = g.param(Tensor::zeros(&[1, 2])); // a learned initial state
    /// let (_, last) = rnn.run_from(&g, &params, x, h0);
    /// assert_eq!(last.sum().backward()[h0].shape(), &[1, 2]);
    /// ```
    #[track_caller]
    pub fn run_from<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
        h0: Var<'g, T>,
    ) -> (Var<'g, T>, Var<'g, T>) {
        let (_, seq) = expect_sequence(self.layer(), x, self.cell.inputs);
        let mut h = h0;
        let mut outputs = Vec::with_capacity(seq);
        for t in 0..seq {
            h = self.cell.step(g, params, time_step(x, t), h);
            outputs.push(h);
        }
        (Var::stack(&outputs, 1), h)
    }

    /// The hidden state after the last step, `[batch, hidden]`: the summary of the sequence a
    /// classifier reads.
    #[track_caller]
    pub fn last_hidden<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
    ) -> Var<'g, T> {
        self.run(g, params, x).1
    }

    fn layer(&self) -> Layer<'_> {
        Layer {
            kind: "Rnn",
            name: &self.cell.name,
        }
    }

    /// The cell unrolled at every step.
    pub fn cell(&self) -> &RnnCell {
        &self.cell
    }
}

impl<T: Float> Module<T> for Rnn {
    /// Every step's hidden state, `[batch, seq, hidden]`.
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        self.run(g, params, x).0
    }
}
