//! Convolutional layers and pooling: [`Conv2d`], [`Conv1d`], [`MaxPool2d`], [`AvgPool2d`] and
//! [`Flatten`], with PyTorch's shapes, defaults and parameter names.
//!
//! A dense neuron sees every input; a convolutional neuron sees one small patch, and one set of
//! weights (a filter) is shared by every patch. A 3×3 filter over a one-channel image has 10
//! parameters however large the image is, where a dense layer from an 8×8 image to 64 units has
//! 4,160 — which is why a CNN captures spatial patterns with far fewer weights.
//!
//! Initialisation is PyTorch's: the weight Kaiming-uniform with `a = √5`, that is
//! `U(−1/√fan_in, 1/√fan_in)` with `fan_in = in_channels / groups · kh · kw`, and the bias
//! uniform in the same bounds.

use chainrule_autodiff::{
    Conv1dOptions, Conv2dOptions, Float, Graph, ParamId, ParamKind, ParamStore, Pool2dOptions, Var,
};
use rand::Rng;

use crate::shapes::Layer;
use crate::{Init, Module};

/// Creates a convolution's weight `[out, in / groups, kernel…]` and optional bias `[out]` with
/// PyTorch's initialisation.
#[track_caller]
fn conv_params<T: Float, R: Rng + ?Sized>(
    params: &mut ParamStore<T>,
    name: &str,
    weight_shape: &[usize],
    bias: bool,
    rng: &mut R,
) -> (ParamId, Option<ParamId>) {
    let fan_in: usize = weight_shape[1..].iter().product();
    let fan_out = weight_shape[0] * weight_shape[2..].iter().product::<usize>();
    let weight = params.insert(
        format!("{name}.weight"),
        Init::KaimingUniform { a: 5f64.sqrt() }.tensor(weight_shape, fan_in, fan_out, rng),
        ParamKind::Weight,
    );
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    let bias = bias.then(|| {
        params.insert(
            format!("{name}.bias"),
            Init::Uniform {
                low: -bound,
                high: bound,
            }
            .tensor(&[weight_shape[0]], fan_in, fan_out, rng),
            ParamKind::Bias,
        )
    });
    (weight, bias)
}

/// Panics unless both channel counts split into `groups` (at least 1); returns `groups`.
#[track_caller]
fn check_groups(kind: &str, name: &str, inputs: usize, outputs: usize, groups: usize) -> usize {
    let split = |channels: usize| groups >= 1 && channels.is_multiple_of(groups);
    if !split(inputs) || !split(outputs) {
        layer_panic!(
            "{kind} {name:?}: {inputs} input and {outputs} output channels must both split into {groups} groups"
        );
    }
    groups
}

/// Panics unless `x` has `rank` axes with `channels` along axis 1.
#[track_caller]
fn expect_channels<T: Float>(layer: Layer<'_>, x: Var<'_, T>, rank: usize, channels: usize) {
    let shape = x.shape();
    if shape.len() != rank || shape[1] != channels {
        let axes = if rank == 4 { "H, W" } else { "L" };
        layer_panic!(
            "{layer}: expected input [batch, {channels}, {axes}], got {:?}",
            shape.as_slice()
        );
    }
}

/// A 2-D convolution layer: `[N, in, H, W] → [N, out, H', W']`, `Y = X ⋆ W + b`.
/// PyTorch: `nn.Conv2d`.
///
/// Its parameters are `"{name}.weight"` (`[out, in / groups, kh, kw]`) and `"{name}.bias"`
/// (`[out]`), PyTorch's names and layout.
///
/// ```
/// use chainrule_autodiff::{Conv2dOptions, Graph, ParamStore, Tensor};
/// use chainrule_layers::{Conv2d, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f32>::new();
/// let conv = Conv2d::new(&mut params, "conv1", 1, 8, 3, Conv2dOptions::new().padding(1), &mut rng);
/// assert_eq!(params.value(conv.weight()).shape(), &[8, 1, 3, 3]);
/// assert_eq!(params.name(conv.bias().unwrap()), "conv1.bias");
///
/// let g = Graph::new();
/// let x = g.input(Tensor::zeros(&[4, 1, 8, 8]));
/// assert_eq!(conv.forward(&g, &params, x).shape().as_slice(), &[4, 8, 8, 8]);
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d {
    name: String,
    weight: ParamId,
    bias: Option<ParamId>,
    in_channels: usize,
    out_channels: usize,
    kernel: [usize; 2],
    options: Conv2dOptions,
}

impl Conv2d {
    /// A square `kernel × kernel` convolution with a bias.
    ///
    /// # Panics
    /// When the parameter names are taken, or the channels do not split into the groups.
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        options: Conv2dOptions,
        rng: &mut R,
    ) -> Conv2d {
        let shape = [in_channels, out_channels, kernel, kernel];
        Conv2d::with_kernel(params, name, shape, options, true, rng)
    }

    /// A convolution with a rectangular kernel: `shape` is `[in_channels, out_channels, kh,
    /// kw]`; `bias` says whether it has one (PyTorch's `bias=False` for a layer followed by a
    /// normalisation).
    ///
    /// ```
    /// use chainrule_autodiff::{Conv2dOptions, ParamStore};
    /// use chainrule_layers::Conv2d;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let conv = Conv2d::with_kernel(&mut params, "c", [4, 6, 1, 3], Conv2dOptions::new().groups(2), false, &mut rng);
    /// assert_eq!(params.value(conv.weight()).shape(), &[6, 2, 1, 3]);
    /// assert!(conv.bias().is_none());
    /// ```
    #[track_caller]
    pub fn with_kernel<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        [in_channels, out_channels, kh, kw]: [usize; 4],
        options: Conv2dOptions,
        bias: bool,
        rng: &mut R,
    ) -> Conv2d {
        let groups = check_groups("Conv2d", name, in_channels, out_channels, options.groups);
        let shape = [out_channels, in_channels / groups, kh, kw];
        let (weight, bias) = conv_params(params, name, &shape, bias, rng);
        Conv2d {
            name: name.to_owned(),
            weight,
            bias,
            in_channels,
            out_channels,
            kernel: [kh, kw],
            options,
        }
    }

    /// The id of the filters, shape `[out, in / groups, kh, kw]`.
    pub fn weight(&self) -> ParamId {
        self.weight
    }

    /// The id of the bias `[out]`, if the layer has one.
    pub fn bias(&self) -> Option<ParamId> {
        self.bias
    }

    /// Input channels, output channels.
    pub fn channels(&self) -> (usize, usize) {
        (self.in_channels, self.out_channels)
    }

    /// The kernel's height and width.
    pub fn kernel(&self) -> [usize; 2] {
        self.kernel
    }

    /// Stride, padding, dilation and groups.
    pub fn options(&self) -> Conv2dOptions {
        self.options
    }

    /// The name its parameters start with.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<T: Float> Module<T> for Conv2d {
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        let layer = Layer {
            kind: "Conv2d",
            name: &self.name,
        };
        expect_channels(layer, x, 4, self.in_channels);
        let bias = self.bias.map(|b| params.bind(g, b));
        x.conv2d(params.bind(g, self.weight), bias, self.options)
    }
}

/// A 1-D convolution layer over sequences: `[N, in, L] → [N, out, L']`. PyTorch: `nn.Conv1d`.
///
/// Its parameters are `"{name}.weight"` (`[out, in / groups, k]`) and `"{name}.bias"`
/// (`[out]`).
///
/// ```
/// use chainrule_autodiff::{Conv1dOptions, Graph, ParamStore, Tensor};
/// use chainrule_layers::{Conv1d, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let conv = Conv1d::new(&mut params, "conv", 3, 5, 4, Conv1dOptions::new().stride(2), &mut rng);
/// let g = Graph::new();
/// let x = g.input(Tensor::zeros(&[2, 3, 10]));
/// assert_eq!(conv.forward(&g, &params, x).shape().as_slice(), &[2, 5, 4]);
/// ```
#[derive(Clone, Debug)]
pub struct Conv1d {
    name: String,
    weight: ParamId,
    bias: Option<ParamId>,
    in_channels: usize,
    options: Conv1dOptions,
}

impl Conv1d {
    /// A convolution with a kernel of `kernel` taps and a bias.
    ///
    /// # Panics
    /// When the parameter names are taken, or the channels do not split into the groups.
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        options: Conv1dOptions,
        rng: &mut R,
    ) -> Conv1d {
        let groups = check_groups("Conv1d", name, in_channels, out_channels, options.groups);
        let shape = [out_channels, in_channels / groups, kernel];
        let (weight, bias) = conv_params(params, name, &shape, true, rng);
        Conv1d {
            name: name.to_owned(),
            weight,
            bias,
            in_channels,
            options,
        }
    }

    /// The id of the filters, shape `[out, in / groups, k]`.
    pub fn weight(&self) -> ParamId {
        self.weight
    }

    /// The id of the bias `[out]`.
    pub fn bias(&self) -> Option<ParamId> {
        self.bias
    }

    /// Stride, padding, dilation and groups.
    pub fn options(&self) -> Conv1dOptions {
        self.options
    }
}

impl<T: Float> Module<T> for Conv1d {
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        let layer = Layer {
            kind: "Conv1d",
            name: &self.name,
        };
        expect_channels(layer, x, 3, self.in_channels);
        let bias = self.bias.map(|b| params.bind(g, b));
        x.conv1d(params.bind(g, self.weight), bias, self.options)
    }
}

/// Max pooling over `[N, C, H, W]`: the largest value of each window. PyTorch: `nn.MaxPool2d`.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Pool2dOptions, Tensor};
/// use chainrule_layers::{MaxPool2d, Module};
/// let pool = MaxPool2d::new(Pool2dOptions::new(2));
/// let g = Graph::new();
/// let x = g.input(Tensor::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]));
/// let y = pool.forward(&g, &ParamStore::new(), x);
/// assert_eq!(y.value().to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    options: Pool2dOptions,
}

impl MaxPool2d {
    /// Pooling with this window.
    pub fn new(options: Pool2dOptions) -> MaxPool2d {
        MaxPool2d { options }
    }

    /// The window.
    pub fn options(&self) -> Pool2dOptions {
        self.options
    }
}

impl<T: Float> Module<T> for MaxPool2d {
    #[track_caller]
    fn forward<'g>(&self, _: &'g Graph<T>, _: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        x.max_pool2d(self.options)
    }
}

/// Average pooling over `[N, C, H, W]`, padding counted as zeros. PyTorch: `nn.AvgPool2d`.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Pool2dOptions, Tensor};
/// use chainrule_layers::{AvgPool2d, Module};
/// let pool = AvgPool2d::new(Pool2dOptions::new(2));
/// let g = Graph::new();
/// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 6.0], &[1, 1, 2, 2]));
/// assert_eq!(pool.forward(&g, &ParamStore::new(), x).item(), 3.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AvgPool2d {
    options: Pool2dOptions,
}

impl AvgPool2d {
    /// Pooling with this window.
    pub fn new(options: Pool2dOptions) -> AvgPool2d {
        AvgPool2d { options }
    }

    /// The window.
    pub fn options(&self) -> Pool2dOptions {
        self.options
    }
}

impl<T: Float> Module<T> for AvgPool2d {
    #[track_caller]
    fn forward<'g>(&self, _: &'g Graph<T>, _: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        x.avg_pool2d(self.options)
    }
}

/// Merges every axis from `start` on into one (default 1: `[N, C, H, W] → [N, C·H·W]`), the
/// bridge from convolutions to dense layers. PyTorch: `nn.Flatten`.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Flatten, Module};
/// let g = Graph::new();
/// let x = g.input(Tensor::<f32>::zeros(&[2, 3, 4, 4]));
/// let y = Flatten::default().forward(&g, &ParamStore::new(), x);
/// assert_eq!(y.shape().as_slice(), &[2, 48]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Flatten {
    start: usize,
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten { start: 1 }
    }
}

impl Flatten {
    /// Flattens the axes from `start` on.
    pub fn from_axis(start: usize) -> Flatten {
        Flatten { start }
    }
}

impl<T: Float> Module<T> for Flatten {
    #[track_caller]
    fn forward<'g>(&self, _: &'g Graph<T>, _: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        x.flatten(self.start)
    }
}

/// Splits one axis into several (`[N, 64] → [N, 1, 8, 8]`): the way from a table of pixel
/// columns to images a convolution takes. PyTorch: `nn.Unflatten`.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Module, Unflatten};
/// let g = Graph::new();
/// let x = g.input(Tensor::<f32>::zeros(&[5, 64]));
/// let y = Unflatten::new(1, &[1, 8, 8]).forward(&g, &ParamStore::new(), x);
/// assert_eq!(y.shape().as_slice(), &[5, 1, 8, 8]);
/// ```
#[derive(Clone, Debug)]
pub struct Unflatten {
    axis: usize,
    sizes: Vec<usize>,
}

impl Unflatten {
    /// Splits `axis` into axes of these `sizes` (whose product must be the axis's length).
    pub fn new(axis: usize, sizes: &[usize]) -> Unflatten {
        Unflatten {
            axis,
            sizes: sizes.to_vec(),
        }
    }
}

impl<T: Float> Module<T> for Unflatten {
    #[track_caller]
    fn forward<'g>(&self, _: &'g Graph<T>, _: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        let shape = x.shape();
        let fits =
            self.axis < shape.len() && shape[self.axis] == self.sizes.iter().product::<usize>();
        if !fits {
            layer_panic!(
                "Unflatten: axis {} of shape {:?} cannot be split into {:?}",
                self.axis,
                shape.as_slice(),
                self.sizes
            );
        }
        let mut split = shape[..self.axis].to_vec();
        split.extend(&self.sizes);
        split.extend(&shape[self.axis + 1..]);
        x.reshape(&split)
    }
}
