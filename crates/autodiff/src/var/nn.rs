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

    /// Layer normalisation over the trailing axes `normalized_shape`: each slice `x` of that
    /// shape becomes `(x − mean(x)) / √(var(x) + eps)`, with the biased variance (divided by
    /// the slice's size `n`), then `· weight + bias` elementwise when given (both of shape
    /// `normalized_shape`). Composed from graph ops — mean, square, `powf(−½)`, products — so
    /// the gradient, `(1/σ)·(g − mean(g) − x̂·mean(g·x̂))` for `x̂` the normalised slice and `g`
    /// its upstream gradient, and every higher derivative are exact.
    /// PyTorch: `torch.nn.functional.layer_norm(x, normalized_shape, weight, bias, eps)`
    /// (`eps` is `1e-5` there).
    ///
    /// # Panics
    /// When `normalized_shape` is empty or not the trailing axes of this var's shape, or
    /// `weight` or `bias` is not of shape `normalized_shape`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 10.0, 20.0, 30.0], &[2, 3]));
    /// let y = x.layer_norm(&[3], None, None, 1e-5).value();
    /// for row in 0..2 {
    ///     let slice: Vec<f64> = (0..3).map(|j| y.get(&[row, j])).collect();
    ///     let mean = slice.iter().sum::<f64>() / 3.0;
    ///     let variance = slice.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0;
    ///     assert!(mean.abs() < 1e-12 && (variance - 1.0).abs() < 1e-4);
    /// }
    /// // With a weight and a bias, shaped like the normalised axes:
    /// let w = g.param(Tensor::from_vec(vec![1.0, 2.0, 0.5], &[3]));
    /// let b = g.param(Tensor::zeros(&[3]));
    /// let loss = x.layer_norm(&[3], Some(w), Some(b), 1e-5).square().sum();
    /// assert_eq!(loss.backward()[w].shape(), &[3]);
    /// ```
    #[track_caller]
    pub fn layer_norm(
        self,
        normalized_shape: &[usize],
        weight: Option<Var<'g, T>>,
        bias: Option<Var<'g, T>>,
        eps: T,
    ) -> Self {
        let shape = self.shape();
        let rank = shape.len();
        let k = normalized_shape.len();
        shape_assert!(
            k >= 1 && k <= rank && shape[rank - k..] == *normalized_shape,
            "layer_norm: normalized_shape {:?} is not the trailing axes of the input's shape {:?}",
            normalized_shape,
            shape.as_slice()
        );
        for (what, affine) in [("weight", weight), ("bias", bias)] {
            if let Some(affine) = affine {
                shape_assert!(
                    affine.shape().as_slice() == normalized_shape,
                    "layer_norm: the {what} has shape {:?}, expected normalized_shape {:?}",
                    affine.shape().as_slice(),
                    normalized_shape
                );
            }
        }
        // One row per normalised slice, so the statistics are two one-axis means.
        let mut rows: Vec<usize> = shape[..rank - k].to_vec();
        rows.push(normalized_shape.iter().product());
        let x = self.reshape(&rows);
        let centered = x - x.mean_axis(-1, true);
        let variance = centered.square().mean_axis(-1, true);
        let mut y = (centered * (variance + eps).powf(T::of(-0.5))).reshape(&shape);
        if let Some(weight) = weight {
            y = y * weight;
        }
        if let Some(bias) = bias {
            y = y + bias;
        }
        y
    }
}
