//! Convolution and pooling on vars (rules in `ops/conv.rs`, kernels in `tensor/conv.rs`).

use smallvec::{smallvec, SmallVec};

use crate::graph::Var;
use crate::ops::{ConvOp, Op};
use crate::{Conv1dOptions, Conv2dOptions, Float, Pool2dOptions};

impl<'g, T: Float> Var<'g, T> {
    #[track_caller]
    pub(crate) fn conv(self, op: ConvOp, other: Var<'g, T>) -> Self {
        self.record_op(Op::Conv(Box::new(op)), &[other])
    }

    /// Records `conv2d(self, weight) + bias` as one node (the bias, when given, its third
    /// input), keeping the patch matrices it builds for the weight gradient when the weight
    /// wants one (see [`KeptPatches`](crate::KeptPatches)).
    #[track_caller]
    pub(crate) fn conv2d_op(
        self,
        weight: Var<'g, T>,
        bias: Option<Var<'g, T>>,
        options: Conv2dOptions,
    ) -> Self {
        let keep = weight.requires_grad();
        let bias_value = bias.map(|b| b.value());
        let (value, kept) =
            self.value()
                .conv2d_keeping(&weight.value(), bias_value.as_ref(), options, keep);
        let op = ConvOp::Conv2d(options, kept);
        let mut others: SmallVec<[Var<'g, T>; 2]> = smallvec![weight];
        others.extend(bias);
        self.record_with(Op::Conv(Box::new(op)), &others, |_| value)
    }

    #[track_caller]
    pub(crate) fn pool(self, op: ConvOp) -> Self {
        self.record_op(Op::Conv(Box::new(op)), &[])
    }

    /// Adds a per-channel bias `[C]` to an `[N, C, …]` output.
    #[track_caller]
    fn add_channel_bias(self, bias: Option<Var<'g, T>>, op: &str) -> Self {
        let Some(bias) = bias else { return self };
        let shape = self.shape();
        shape_assert!(
            bias.shape().as_slice() == [shape[1]],
            "{op}: the bias has shape {:?}, but the output {:?} has {} channels",
            bias.shape(),
            shape,
            shape[1]
        );
        let mut broadcast = vec![1; shape.len()];
        broadcast[1] = shape[1];
        self + bias.reshape(&broadcast)
    }

    /// The 2-D convolution of an `[N, C, H, W]` batch with a `[O, C / groups, kh, kw]` filter
    /// bank, plus an optional bias `[O]`: output `[N, O, H', W']`,
    /// `H' = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1`. Each filter is one small
    /// set of weights shared across every position — why a convolution needs far fewer weights
    /// than a dense layer on the same image. Derivatives: `∂L/∂X` is the transposed convolution
    /// of `G` by the same filters, `∂L/∂W` sums `G` times each patch over the batch.
    /// PyTorch: `torch.nn.functional.conv2d`.
    ///
    /// # Panics
    /// When the shapes do not fit or the kernel is larger than the padded input; the message
    /// names both shapes and the caller's line.
    ///
    /// ```
    /// use chainrule_autodiff::{Conv2dOptions, Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3]));
    /// let w = g.param(Tensor::ones(&[1, 1, 2, 2]));
    /// let b = g.param(Tensor::from_vec(vec![0.5], &[1]));
    /// let y = x.conv2d(w, Some(b), Conv2dOptions::new());
    /// assert_eq!(y.value().to_vec(), vec![12.5, 16.5, 24.5, 28.5]);
    /// let grads = y.sum().backward();
    /// // Each weight touched four inputs; the bias was added four times.
    /// assert_eq!(grads[w].to_vec(), vec![12.0, 16.0, 24.0, 28.0]);
    /// assert_eq!(grads[b].to_vec(), vec![4.0]);
    /// ```
    #[track_caller]
    pub fn conv2d(
        self,
        weight: Var<'g, T>,
        bias: Option<Var<'g, T>>,
        options: Conv2dOptions,
    ) -> Self {
        self.conv2d_op(weight, bias, options)
    }

    /// The 1-D convolution of an `[N, C, L]` batch of sequences with a `[O, C / groups, k]`
    /// filter bank, plus an optional bias `[O]`: output `[N, O, L']`. It is [`Var::conv2d`] on
    /// images one row high. PyTorch: `torch.nn.functional.conv1d`.
    ///
    /// # Panics
    /// When the input or weight is not 3-D, or as for [`Var::conv2d`].
    ///
    /// ```
    /// use chainrule_autodiff::{Conv1dOptions, Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[1, 1, 4]));
    /// // A difference filter: y[t] = x[t + 1] − x[t].
    /// let w = g.param(Tensor::from_vec(vec![-1.0, 1.0], &[1, 1, 2]));
    /// let y = x.conv1d(w, None, Conv1dOptions::new());
    /// assert_eq!(y.value().to_vec(), vec![1.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn conv1d(
        self,
        weight: Var<'g, T>,
        bias: Option<Var<'g, T>>,
        options: Conv1dOptions,
    ) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        shape_assert!(
            xs.len() == 3 && ws.len() == 3,
            "conv1d: input [N, C, L] and weight [O, C / groups, k] must be 3-D (input shape {:?}, weight shape {:?})",
            xs,
            ws
        );
        if let Some(bias) = bias {
            shape_assert!(
                bias.shape().as_slice() == [ws[0]],
                "conv1d: the bias has shape {:?}, but the weight {:?} has {} output channels",
                bias.shape(),
                ws,
                ws[0]
            );
        }
        let image = self.reshape(&[xs[0], xs[1], 1, xs[2]]);
        let filters = weight.reshape(&[ws[0], ws[1], 1, ws[2]]);
        let y = image.conv2d_op(filters, bias, options.to_2d());
        let ys = y.shape();
        y.reshape(&[ys[0], ys[1], ys[3]])
    }

    /// The transposed convolution of an `[N, O, H', W']` batch with an `[O, C / groups, kh,
    /// kw]` weight, plus an optional bias `[C]`: output `[N, C, H, W]` with
    /// `H = (H' − 1)·stride − 2·padding + dilation·(kh − 1) + output_padding + 1`. It is the
    /// adjoint of [`Var::conv2d`] — the very op a convolution's backward pass records — and
    /// the learned upsampling of decoders. PyTorch: `torch.nn.functional.conv_transpose2d`.
    ///
    /// # Panics
    /// When the shapes do not fit, or the output padding is not smaller than the stride or the
    /// dilation.
    ///
    /// ```
    /// use chainrule_autodiff::{Conv2dOptions, Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0], &[1, 1, 1, 2]));
    /// let w = g.param(Tensor::ones(&[1, 1, 2, 2]));
    /// let y = x.conv_transpose2d(w, None, Conv2dOptions::new().stride(2));
    /// assert_eq!(y.shape().as_slice(), &[1, 1, 2, 4]);
    /// assert_eq!(y.sum().backward()[w].to_vec(), vec![3.0; 4]);
    /// ```
    #[track_caller]
    pub fn conv_transpose2d(
        self,
        weight: Var<'g, T>,
        bias: Option<Var<'g, T>>,
        options: Conv2dOptions,
    ) -> Self {
        let size = crate::tensor::transposed_output_size(&self.shape(), &weight.shape(), options);
        self.conv(ConvOp::ConvTranspose2d { options, size }, weight)
            .add_channel_bias(bias, "conv_transpose2d")
    }

    /// The weight gradient of a convolution as an op of its own: from the convolution's input
    /// `self` and the gradient `grad` of its output, `[O, C / groups, kernel…]`. A convolution's
    /// backward pass records it; it is exposed for checking and for second-order work.
    /// PyTorch: `torch.nn.grad.conv2d_weight`.
    ///
    /// # Panics
    /// When `grad` does not have the shape the convolution gives.
    ///
    /// ```
    /// use chainrule_autodiff::{Conv2dOptions, Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3]));
    /// let grad = g.input(Tensor::ones(&[1, 1, 2, 2]));
    /// let dw = x.conv2d_weight(grad, Conv2dOptions::new(), [2, 2]);
    /// assert_eq!(dw.value().to_vec(), vec![12.0, 16.0, 24.0, 28.0]);
    /// ```
    #[track_caller]
    pub fn conv2d_weight(
        self,
        grad: Var<'g, T>,
        options: Conv2dOptions,
        kernel: [usize; 2],
    ) -> Self {
        self.conv(ConvOp::Conv2dWeight { options, kernel }, grad)
    }

    /// The maximum of each pooling window of an `[N, C, H, W]` batch. The gradient goes to the
    /// element each window took — the first of equal maxima, as in PyTorch.
    /// PyTorch: `torch.nn.functional.max_pool2d`.
    ///
    /// # Panics
    /// When the input is not 4-D, the padding is more than half the window, or the window is
    /// larger than the padded input.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Pool2dOptions, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, 4.0, 4.0, 2.0], &[1, 1, 2, 2]));
    /// let y = x.max_pool2d(Pool2dOptions::new(2));
    /// assert_eq!(y.item(), 4.0);
    /// // A tie: the first maximum takes the gradient.
    /// assert_eq!(y.backward()[x].to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn max_pool2d(self, options: Pool2dOptions) -> Self {
        let (value, indices) = self.value().max_pool2d_shared(options);
        let shape = self.shape();
        let op = ConvOp::MaxPool2d {
            options,
            size: [shape[2], shape[3]],
            indices,
        };
        self.record_with(Op::Conv(Box::new(op)), &[], |_| value)
    }

    /// The mean of each pooling window of an `[N, C, H, W]` batch, padding counted as zeros
    /// (PyTorch's default). Each input in a window gets `1 / (kh·kw)` of its gradient.
    /// PyTorch: `torch.nn.functional.avg_pool2d`.
    ///
    /// # Panics
    /// As for [`Var::max_pool2d`].
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Pool2dOptions, Tensor};
    /// let g = Graph::new();
    /// let x = g.param(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 6.0], &[1, 1, 2, 2]));
    /// let y = x.avg_pool2d(Pool2dOptions::new(2));
    /// assert_eq!(y.item(), 3.0);
    /// assert_eq!(y.backward()[x].to_vec(), vec![0.25; 4]);
    /// ```
    #[track_caller]
    pub fn avg_pool2d(self, options: Pool2dOptions) -> Self {
        self.pool(ConvOp::AvgPool2d(options))
    }
}
