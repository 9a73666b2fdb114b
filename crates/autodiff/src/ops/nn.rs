//! Neural-network functions in their numerically stable forms: logsumexp, softmax, log_softmax,
//! and the two losses fused from logits.
//!
//! Each could be built from `exp`, `sum` and `ln`, but that form overflows: `e¹⁰⁰⁰` is infinite
//! in any float. The fused forms subtract the maximum first, and their backward rules are the
//! short closed forms — for cross-entropy from logits, `softmax(x) − onehot(label)`.

use std::sync::Arc;

use smallvec::smallvec;

use super::vocabulary::BackwardOps;
use super::InputGrads;
use crate::{Float, Shape, Tensor};

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
    pub(crate) fn forward<T: Float>(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
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
        }
    }
}
