//! Convolution and pooling over `[N, C, H, W]` images (kernels in `tensor/conv.rs`).
//!
//! A convolution `Y = conv(X, W)` is bilinear, and so are the two products its backward rule
//! needs: `∂L/∂X = convᵀ(G, W)` (the transposed convolution) and `∂L/∂W = conv_w(X, G)` (the
//! weight gradient). Each of the three is an op here, and the derivatives of each are the other
//! two, so the family is closed: a gradient of a gradient is again these ops, exactly.
//!
//! Pooling: the gradient of max pooling goes to the element each window took (its index is
//! kept by the op, ties to the first, as PyTorch does), a `scatter_add` whose own derivative is
//! a `gather`; average pooling's gradient spreads each element evenly over its window
//! (`avg_pool2d_backward`), whose own derivative is average pooling again.

use std::sync::Arc;

use smallvec::smallvec;

use super::vocabulary::BackwardOps;
use super::InputGrads;
use crate::{Conv2dOptions, Float, KeptPatches, Pool2dOptions, Tensor};

/// A convolution or pooling op and its fixed arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConvOp {
    /// `conv2d(X, W) + b`: inputs `[N, C, H, W]`, `[O, C / groups, kh, kw]` and, when the
    /// convolution has a bias, `[O]` (PyTorch's `conv2d` is one op with it too); and what the
    /// forward kept for the weight gradient (the patch matrices; [`KeptPatches`]).
    Conv2d(Conv2dOptions, KeptPatches),
    /// `conv_transpose2d(G, W)`: inputs `[N, O, H', W']` and `[O, C / groups, kh, kw]`, output
    /// `[N, C, size…]`.
    ConvTranspose2d {
        /// The options of the convolution this is the adjoint of.
        options: Conv2dOptions,
        /// The output's spatial size.
        size: [usize; 2],
    },
    /// `conv2d_weight(X, G)`: the weight gradient of a convolution, `[O, C / groups, kernel…]`.
    Conv2dWeight {
        /// The convolution's options.
        options: Conv2dOptions,
        /// The kernel's spatial size.
        kernel: [usize; 2],
    },
    /// Max pooling, with the in-plane index of the element each output took.
    MaxPool2d {
        /// The pooling window.
        options: Pool2dOptions,
        /// The input's spatial size.
        size: [usize; 2],
        /// For each output element, row-major, the index `row·W + column` it was taken from.
        indices: Arc<[usize]>,
    },
    /// Average pooling (padding counted as zeros).
    AvgPool2d(Pool2dOptions),
    /// Average pooling's adjoint onto an input of spatial size `size`.
    AvgPool2dBackward {
        /// The pooling window.
        options: Pool2dOptions,
        /// The output's spatial size.
        size: [usize; 2],
    },
}

impl ConvOp {
    /// The op's name.
    pub fn name(&self) -> &'static str {
        match self {
            ConvOp::Conv2d(..) => "conv2d",
            ConvOp::ConvTranspose2d { .. } => "conv_transpose2d",
            ConvOp::Conv2dWeight { .. } => "conv2d_weight",
            ConvOp::MaxPool2d { .. } => "max_pool2d",
            ConvOp::AvgPool2d(_) => "avg_pool2d",
            ConvOp::AvgPool2dBackward { .. } => "avg_pool2d_backward",
        }
    }

    /// The local derivatives.
    pub fn formula(&self) -> &'static str {
        match self {
            ConvOp::Conv2d(..) => {
                "Y = X⋆W + b: ∂L/∂X = convᵀ(G, W), ∂L/∂W = Σₙ G·patches(X)ᵀ, ∂L/∂b = Σ G per channel"
            }
            ConvOp::ConvTranspose2d { .. } => {
                "Y = convᵀ(X, W): ∂L/∂X = conv(G, W), ∂L/∂W = conv_w(G, X)"
            }
            ConvOp::Conv2dWeight { .. } => {
                "Y = conv_w(X, D): ∂L/∂X = convᵀ(D, G), ∂L/∂D = conv(X, G)"
            }
            ConvOp::MaxPool2d { .. } => "∂y/∂xᵢ = 1 for the window's first maximum, else 0",
            ConvOp::AvgPool2d(_) => "∂y/∂xᵢ = 1 / (kh·kw) for each xᵢ in the window",
            ConvOp::AvgPool2dBackward { .. } => "∂L/∂g = avg_pool(G)",
        }
    }

    #[track_caller]
    pub(crate) fn forward<T: Float>(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let x = inputs[0];
        match self {
            ConvOp::Conv2d(options, _) => {
                let bias = inputs.get(2).copied();
                x.conv2d_keeping(inputs[1], bias, *options, false).0
            }
            ConvOp::ConvTranspose2d { options, size } => {
                x.conv_transpose2d_to(inputs[1], *options, *size)
            }
            ConvOp::Conv2dWeight { options, kernel } => {
                x.conv2d_weight(inputs[1], *options, *kernel)
            }
            ConvOp::MaxPool2d { options, .. } => x.max_pool2d(*options),
            ConvOp::AvgPool2d(options) => x.avg_pool2d(*options),
            ConvOp::AvgPool2dBackward { options, size } => x.avg_pool2d_backward(*options, *size),
        }
    }

    /// The gradients of the inputs from ∂L/∂Y = `g`.
    pub(crate) fn backward<T: Float, V: BackwardOps<T>>(
        &self,
        inputs: &[&V],
        g: V,
        wants: &[bool],
    ) -> InputGrads<V> {
        let x = inputs[0];
        let spatial = |v: &V| {
            let shape = v.shape();
            [shape[2], shape[3]]
        };
        match self {
            ConvOp::Conv2d(options, kept) => {
                let w = inputs[1];
                let mut grads: InputGrads<V> = smallvec![
                    wants[0].then(|| g.conv_transpose2d(w, *options, spatial(x))),
                    wants[1].then(|| x.conv2d_weight_kept(&g, *options, spatial(w), kept)),
                ];
                if inputs.len() == 3 {
                    // The bias was broadcast over the batch and every position: summed back.
                    let channels = g.shape()[1];
                    grads.push(
                        wants[2].then(|| g.sum_to(&[1, channels, 1, 1]).reshape(&[channels])),
                    );
                }
                grads
            }
            ConvOp::ConvTranspose2d { options, .. } => {
                let w = inputs[1];
                smallvec![
                    wants[0].then(|| g.conv2d(w, *options)),
                    wants[1].then(|| g.conv2d_weight(x, *options, spatial(w))),
                ]
            }
            ConvOp::Conv2dWeight { options, .. } => {
                let d = inputs[1];
                smallvec![
                    wants[0].then(|| d.conv_transpose2d(&g, *options, spatial(x))),
                    wants[1].then(|| x.conv2d(&g, *options)),
                ]
            }
            ConvOp::MaxPool2d { size, indices, .. } => {
                let shape = g.shape();
                let planes = shape[0] * shape[1];
                let flat = g.reshape(&[planes, shape[2] * shape[3]]);
                let spread = flat.scatter_add(1, indices, size[0] * size[1]);
                smallvec![Some(
                    spread.reshape(&[shape[0], shape[1], size[0], size[1]])
                )]
            }
            ConvOp::AvgPool2d(options) => {
                smallvec![Some(g.avg_pool2d_backward(*options, spatial(x)))]
            }
            ConvOp::AvgPool2dBackward { options, .. } => smallvec![Some(g.avg_pool2d(*options))],
        }
    }
}
