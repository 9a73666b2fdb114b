//! The numerically stable nn functions on vars (rules in `ops/nn.rs`).

use crate::graph::Var;
use crate::ops::{NnOp, Op};
use crate::tensor::normalize_axis;
use crate::Float;

/// The nn functions on vars.
impl<'g, T: Float> Var<'g, T> {
    #[track_caller]
    fn nn(self, op: NnOp, others: &[Var<'g, T>]) -> Self {
        self.record_op(Op::Nn(op), others)
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
}
