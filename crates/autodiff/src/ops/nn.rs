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
}

impl NnOp {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        match self {
            NnOp::LogSumExp { .. } => "logsumexp",
            NnOp::Softmax { .. } => "softmax",
            NnOp::LogSoftmax { .. } => "log_softmax",
            NnOp::SoftmaxCrossEntropy { .. } => "softmax_cross_entropy",
            NnOp::BinaryCrossEntropyWithLogits => "binary_cross_entropy_with_logits",
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
        }
    }

    #[track_caller]
    fn forward<T: Float>(&self, x: &Tensor<T>, second: Option<&Tensor<T>>) -> Tensor<T> {
        match self {
            NnOp::LogSumExp { axis, keepdim } => x.logsumexp(*axis as isize, *keepdim),
            NnOp::Softmax { axis } => x.softmax(*axis as isize),
            NnOp::LogSoftmax { axis } => x.log_softmax(*axis as isize),
            NnOp::SoftmaxCrossEntropy { labels } => x.softmax_cross_entropy(labels),
            NnOp::BinaryCrossEntropyWithLogits => {
                x.binary_cross_entropy_with_logits(second.expect("targets"))
            }
        }
    }

    /// ∂L/∂x (and ∂L/∂targets for the binary loss) from ∂L/∂y = `g`.
    pub(crate) fn backward<T: Float, V: BackwardOps<T>>(
        &self,
        inputs: &[V],
        y: &V,
        g: V,
        wants: &[bool],
    ) -> InputGrads<V> {
        let x = &inputs[0];
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
                let targets = &inputs[1];
                let n: usize = x.shape().iter().product();
                let g_mean = g * (T::one() / T::of(n as f64));
                smallvec![
                    wants[0].then(|| (x.sigmoid() - targets.clone()) * g_mean.clone()),
                    wants[1].then(|| -(x.clone() * g_mean.clone())),
                ]
            }
        }
    }
}

/// The nn functions on vars.
impl<'g, T: Float> Var<'g, T> {
    #[track_caller]
    fn nn(self, op: NnOp, second: Option<Var<'g, T>>) -> Self {
        if let Some(s) = second {
            self.same_graph(s, op.name());
        }
        let value = {
            let nodes = self.graph().nodes();
            op.forward(
                &nodes[self.id()].value,
                second.map(|s| &nodes[s.id()].value),
            )
        };
        let mut inputs = smallvec![self.id()];
        if let Some(s) = second {
            inputs.push(s.id());
        }
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
        self.nn(NnOp::LogSumExp { axis, keepdim }, None)
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
        self.nn(NnOp::Softmax { axis }, None)
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
        self.nn(NnOp::LogSoftmax { axis }, None)
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
            None,
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
        self.nn(NnOp::BinaryCrossEntropyWithLogits, Some(targets))
    }
}
