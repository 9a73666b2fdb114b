//! Neural-network functions in their numerically stable forms: logsumexp, softmax, log_softmax,
//! and the two losses fused from logits.
//!
//! Each could be built from `exp`, `sum` and `ln`, but that form overflows: `e¹⁰⁰⁰` is infinite
//! in any float. The fused forms subtract the maximum first, and their backward rules are the
//! short closed forms — for cross-entropy from logits, `softmax(x) − onehot(label)`.

use std::sync::Arc;

use smallvec::smallvec;

use super::InputGrads;
use crate::backward::BackwardOps;
use crate::graph::Op;
use crate::tensor::normalize_axis;
use crate::{Float, Shape, Tensor, Var};

/// A numerically stable nn function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NnOp {
    /// `ln Σ eˣ` along an axis.
    LogSumExp {
        /// The reduced axis.
        axis: usize,
        /// Whether the reduced axis stays with length 1.
        keepdim: bool,
    },
    /// `eˣⁱ / Σ eˣ` along an axis.
    Softmax {
        /// The normalised axis.
        axis: usize,
    },
    /// `xᵢ − ln Σ eˣ` along an axis.
    LogSoftmax {
        /// The normalised axis.
        axis: usize,
    },
    /// Mean categorical cross-entropy of `[N, C]` logits against class indices.
    SoftmaxCrossEntropy {
        /// One class index per row.
        labels: Arc<[usize]>,
    },
    /// Mean binary log loss of logits against targets in `[0, 1]` (two inputs).
    BinaryCrossEntropyWithLogits,
    /// One LSTM step's pointwise part, fused (four inputs: the gate pre-activations from the
    /// input and from the hidden state, `[batch, 4·hidden]` each, the bias `[4·hidden]`, and the
    /// previous cell state `[batch, hidden]`). The output `[batch, 8, hidden]` holds, along
    /// axis 1, the gates `i, f, g, o`, the new cell state `c`, `tanh c`, the new hidden state
    /// `h` and `c_prev`: everything the backward rule needs, so it recomputes no exponential.
    LstmCell,
}

use crate::tensor::lstm_block;

impl NnOp {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        match self {
            NnOp::LogSumExp { .. } => "logsumexp",
            NnOp::Softmax { .. } => "softmax",
            NnOp::LogSoftmax { .. } => "log_softmax",
            NnOp::SoftmaxCrossEntropy { .. } => "softmax_cross_entropy",
            NnOp::BinaryCrossEntropyWithLogits => "binary_cross_entropy_with_logits",
            NnOp::LstmCell => "lstm_cell",
        }
    }

    /// The local derivative.
    pub fn formula(&self) -> &'static str {
        match self {
            NnOp::LogSumExp { .. } => "∂y/∂xᵢ = softmax(x)ᵢ",
            NnOp::Softmax { .. } => "∂L/∂x = y ⊙ (G − Σ G⊙y)",
            NnOp::LogSoftmax { .. } => "∂L/∂x = G − softmax(x)·Σ G",
            NnOp::SoftmaxCrossEntropy { .. } => "∂L/∂x = (softmax(x) − onehot(label)) / N",
            NnOp::BinaryCrossEntropyWithLogits => "∂L/∂x = (σ(x) − t) / n, ∂L/∂t = −x / n",
            NnOp::LstmCell => {
                "∂c = G_c + (G_tanh c + G_h·o)(1 − tanh² c), ∂z = (G_gate + [∂c·g, ∂c·c_prev, \
                 ∂c·i, G_h·tanh c]) ⊙ [i(1−i), f(1−f), 1−g², o(1−o)], ∂c_prev = ∂c·f + G_c_prev"
            }
        }
    }

    #[track_caller]
    fn forward<T: Float>(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let x = inputs[0];
        let second = inputs.get(1).copied();
        match self {
            NnOp::LogSumExp { axis, keepdim } => x.logsumexp(*axis as isize, *keepdim),
            NnOp::Softmax { axis } => x.softmax(*axis as isize),
            NnOp::LogSoftmax { axis } => x.log_softmax(*axis as isize),
            NnOp::SoftmaxCrossEntropy { labels } => x.softmax_cross_entropy(labels),
            NnOp::BinaryCrossEntropyWithLogits => {
                x.binary_cross_entropy_with_logits(second.expect("targets"))
            }
            NnOp::LstmCell => Tensor::lstm_cell(x, inputs[1], inputs[2], inputs[3]),
        }
    }

    /// ∂L/∂x (and ∂L/∂targets for the binary loss) from ∂L/∂y = `g`.
    pub(crate) fn backward<T: Float, V: BackwardOps<T>>(
        &self,
        inputs: &[&V],
        y: &V,
        g: V,
        wants: &[bool],
    ) -> InputGrads<V> {
        let x = inputs[0];
        let kept = |axis: usize| -> Shape {
            let mut shape = x.shape();
            shape[axis] = 1;
            shape
        };
        match self {
            NnOp::LogSumExp { axis, .. } => {
                smallvec![Some(g.reshape(&kept(*axis)) * x.softmax(*axis))]
            }
            NnOp::Softmax { axis } => {
                let dot = (g.clone() * y.clone()).sum_axis(*axis, true);
                smallvec![Some(y.clone() * (g - dot))]
            }
            NnOp::LogSoftmax { axis } => {
                let total = g.sum_axis(*axis, true);
                smallvec![Some(g - y.exp() * total)]
            }
            NnOp::SoftmaxCrossEntropy { labels } => {
                let shape = x.shape();
                let one_hot = x.constant(Tensor::one_hot(labels, shape[1]));
                let scale = T::one() / T::of(shape[0] as f64);
                smallvec![Some((x.softmax(1) - one_hot) * (g * scale))]
            }
            NnOp::BinaryCrossEntropyWithLogits => {
                let targets = inputs[1];
                let n: usize = x.shape().iter().product();
                let g_mean = g * (T::one() / T::of(n as f64));
                smallvec![
                    wants[0].then(|| (x.sigmoid() - targets.clone()) * g_mean.clone()),
                    wants[1].then(|| -(x.clone() * g_mean.clone())),
                ]
            }
            NnOp::LstmCell => {
                let (batch, hidden) = (y.shape()[0], y.shape()[2]);
                let (dz, d_cell_prev) = y.lstm_cell_backward(&g);
                let bias_shape = inputs[2].shape();
                smallvec![
                    wants[0].then(|| dz.clone()),
                    wants[1].then(|| dz.clone()),
                    wants[2].then(|| dz.sum_to(&bias_shape)),
                    wants[3].then(|| d_cell_prev.reshape(&[batch, hidden])),
                ]
            }
        }
    }
}

/// The rule of [`NnOp::LstmCell`], written against the output blocks (see [`lstm_block`]) so it
/// needs only products and sums. With `G_k` the upstream gradient of block `k`:
///
/// ```text
/// ∂tanh c = G_tanh c + G_h·o
/// ∂c      = G_c + ∂tanh c·(1 − tanh² c)
/// ∂gates  = G_gates + [∂c·g, ∂c·c_prev, ∂c·i, G_h·tanh c]      (for i, f, g, o)
/// ∂z      = ∂gates ⊙ [i(1−i), f(1−f), 1−g², o(1−o)]             (= ∂zx = ∂zh; ∂b sums rows)
/// ∂c_prev = ∂c·f + G_c_prev
/// ```
///
/// The activation derivatives are written as `a·(p − a) + δ` with `p = [1, 1, 0, 1]` and
/// `δ = [0, 0, 1, 0]` per gate, one expression for all four blocks.
///
/// Returns `(∂z [batch, 4·hidden], ∂c_prev [batch, 1, hidden])` from the blocks `y` and their
/// gradient `g`. This is the rule as recorded on a graph (so it can be differentiated again);
/// tensors run the same equations in one pass, `Tensor::lstm_cell_backward`, which
/// `tests/lstm_cell.rs` holds to this definition.
pub(crate) fn lstm_cell_backward_composed<T: Float, V: BackwardOps<T>>(y: &V, g: &V) -> (V, V) {
    use lstm_block::*;
    let g = g.clone();
    let shape = y.shape();
    let (batch, hidden) = (shape[0], shape[2]);
    let block = |v: &V, k: usize| v.narrow(1, k, 1);
    let gates = y.narrow(1, INPUT, 4);
    let (forget, output, cell_tanh) = (block(y, FORGET), block(y, OUTPUT), block(y, CELL_TANH));
    let g_hidden = block(&g, HIDDEN);
    let d_tanh = block(&g, CELL_TANH) + g_hidden.clone() * output;
    let d_cell = block(&g, CELL) + d_tanh * (-(cell_tanh.clone() * cell_tanh) + T::one());
    // [∂c, ∂c, ∂c, G_h] times the block each gate was multiplied by: [g, c_prev, i, tanh c].
    let coefficients = (d_cell.pad(1, 0, 1) + g_hidden.pad(1, 1, 0)).index_select(1, &[0, 0, 0, 1]);
    let partners = y.index_select(1, &[CANDIDATE, CELL_PREV, INPUT, CELL_TANH]);
    let d_gates = g.narrow(1, INPUT, 4) + partners * coefficients;
    let per_gate = |values: [f64; 4]| {
        let values = values.iter().map(|&v| T::of(v)).collect();
        y.constant(Tensor::from_parts(values, Shape::from_slice(&[4, 1])))
    };
    let slope =
        gates.clone() * (per_gate([1.0, 1.0, 0.0, 1.0]) - gates) + per_gate([0.0, 0.0, 1.0, 0.0]);
    let dz = (d_gates * slope).reshape(&[batch, 4 * hidden]);
    (dz, d_cell * forget + block(&g, CELL_PREV))
}

/// The nn functions on vars.
impl<'g, T: Float> Var<'g, T> {
    #[track_caller]
    fn nn(self, op: NnOp, others: &[Var<'g, T>]) -> Self {
        for &other in others {
            self.same_graph(other, op.name());
        }
        let value = {
            let nodes = self.graph().nodes();
            let mut values = vec![&nodes[self.id()].value];
            values.extend(others.iter().map(|o| &nodes[o.id()].value));
            op.forward(&values)
        };
        let mut inputs = smallvec![self.id()];
        inputs.extend(others.iter().map(|o| o.id()));
        self.graph().record(value, Op::Nn(op), inputs)
    }

    /// `ln Σ exp(x)` along `axis`, computed as `m + ln Σ exp(x − m)` with `m` the maximum so it
    /// never overflows; derivative `softmax(x)`. PyTorch: `torch.logsumexp`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1000.0f64, 1000.0], &[2]));
    /// let lse = x.logsumexp(0, false).item();
    /// assert!((lse - (1000.0 + 2.0f64.ln())).abs() < 1e-9);
    /// ```
    #[track_caller]
    pub fn logsumexp(self, axis: isize, keepdim: bool) -> Self {
        let axis = normalize_axis(axis, self.rank(), "logsumexp");
        self.nn(NnOp::LogSumExp { axis, keepdim }, &[])
    }

    /// `exp(xᵢ) / Σ exp(x)` along `axis`: each slice becomes probabilities summing to 1.
    /// PyTorch: `torch.softmax`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[1, 3]));
    /// let p = x.softmax(-1).value();
    /// assert!((p.sum_all().item() - 1.0).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn softmax(self, axis: isize) -> Self {
        let axis = normalize_axis(axis, self.rank(), "softmax");
        self.nn(NnOp::Softmax { axis }, &[])
    }

    /// `xᵢ − logsumexp(x)` along `axis`: log-probabilities without overflow.
    /// PyTorch: `torch.log_softmax`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![0.0f64, 0.0], &[2]));
    /// assert!((x.log_softmax(0).value().get(&[0]) - 0.5f64.ln()).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn log_softmax(self, axis: isize) -> Self {
        let axis = normalize_axis(axis, self.rank(), "log_softmax");
        self.nn(NnOp::LogSoftmax { axis }, &[])
    }

    /// Mean categorical cross-entropy of `[N, C]` logits against one class index per row,
    /// computed from logits (finite even for logits of ±1000); gradient
    /// `(softmax(x) − onehot(label)) / N`. PyTorch: `torch.nn.functional.cross_entropy`.
    ///
    /// # Panics
    /// When the logits are not 2-D, there is not one label per row, or a label is `≥ C`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let logits = g.param(Tensor::from_vec(vec![0.0f64, 0.0], &[1, 2]));
    /// let loss = logits.softmax_cross_entropy(&[1]);
    /// assert!((loss.item() - 2.0f64.ln()).abs() < 1e-12);
    /// assert_eq!(loss.backward()[logits].to_vec(), vec![0.5, -0.5]);
    /// ```
    #[track_caller]
    pub fn softmax_cross_entropy(self, labels: &[usize]) -> Self {
        self.nn(
            NnOp::SoftmaxCrossEntropy {
                labels: labels.into(),
            },
            &[],
        )
    }

    /// Mean binary log loss of logits against targets in `[0, 1]`, fused with the sigmoid so it
    /// stays finite for logits of ±1000: `max(x,0) − x·t + ln(1 + e^−|x|)`; gradient
    /// `(σ(x) − t) / n`. PyTorch: `torch.nn.functional.binary_cross_entropy_with_logits`.
    ///
    /// # Panics
    /// When the two shapes differ.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![0.0f64], &[1]));
    /// let t = g.input(Tensor::from_vec(vec![1.0], &[1]));
    /// let loss = x.binary_cross_entropy_with_logits(t);
    /// assert!((loss.item() - 2.0f64.ln()).abs() < 1e-12);
    /// assert_eq!(loss.backward()[x].to_vec(), vec![-0.5]);
    /// ```
    #[track_caller]
    pub fn binary_cross_entropy_with_logits(self, targets: Var<'g, T>) -> Self {
        self.nn(NnOp::BinaryCrossEntropyWithLogits, &[targets])
    }

    /// One step of an LSTM cell after its two matrix products, fused into one op: `self` is
    /// `x·W_x` and `hidden_gates` is `h·W_h` (`[batch, 4·hidden]` each, gates in the order
    /// input, forget, cell candidate, output), `bias` is `[4·hidden]` and `cell` the previous
    /// cell state `[batch, hidden]`. With `z = self + hidden_gates + bias`,
    ///
    /// ```text
    /// i, f, o = σ(z_i), σ(z_f), σ(z_o)    g = tanh(z_g)
    /// c' = f·c + i·g                        h' = o·tanh(c')
    /// ```
    ///
    /// returns `(h', c')`. One kernel computes every gate, and the backward rule reads the
    /// saved gates instead of recomputing them; the result equals the same equations written
    /// with `narrow`, `sigmoid`, `tanh`, `*` and `+`. PyTorch: the pointwise part of
    /// `torch.nn.LSTMCell`.
    ///
    /// # Panics
    /// When `cell` is not 2-D `[batch, hidden]` or the other shapes do not fit it.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let zx = g.input(Tensor::from_vec(vec![0.0f64, 0.0, 2.0, 0.0], &[1, 4]));
    /// let zh = g.param(Tensor::zeros(&[1, 4]));
    /// let b = g.param(Tensor::zeros(&[4]));
    /// let c = g.input(Tensor::from_vec(vec![1.0], &[1, 1]));
    /// let (h, c_next) = zx.lstm_cell(zh, b, c);
    /// // i = f = o = σ(0) = ½, g = tanh 2: c' = ½·1 + ½·tanh 2, h' = ½·tanh c'.
    /// let expected_c = 0.5 + 0.5 * 2f64.tanh();
    /// assert!((c_next.item() - expected_c).abs() < 1e-12);
    /// assert!((h.item() - 0.5 * expected_c.tanh()).abs() < 1e-12);
    /// let grads = (h + c_next).backward();
    /// assert_eq!(grads[b].shape(), &[4]);
    /// ```
    #[track_caller]
    pub fn lstm_cell(
        self,
        hidden_gates: Var<'g, T>,
        bias: Var<'g, T>,
        cell: Var<'g, T>,
    ) -> (Var<'g, T>, Var<'g, T>) {
        let blocks = self.nn(NnOp::LstmCell, &[hidden_gates, bias, cell]);
        let shape = cell.shape();
        let take = |k: usize| blocks.narrow(1, k, 1).reshape(&shape);
        (take(lstm_block::HIDDEN), take(lstm_block::CELL))
    }
}
