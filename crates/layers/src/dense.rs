//! The fully connected layer, the material's `Z = g(WX + B)`, written for a batch of row
//! vectors.
//!
//! **Row convention.** The material stacks examples as the *columns* of `X` (`[in, m]`) and
//! writes `Z = g(WX + B)` with `W` of shape `[out, in]`. Data sets and PyTorch-style code hold
//! examples as *rows* (`[m, in]`: one example per line of a CSV file). Transposing the
//! material's formula gives the same numbers for row-stacked data:
//! `Zᵀ = g(XᵀWᵀ + Bᵀ)`. So this layer computes `Z = g(XW + B)` with `X` of shape `[batch, in]`,
//! `W` of shape `[in, out]` (the material's `W` transposed) and `B` of shape `[out]`, broadcast
//! over the batch. Row `i` of `Z` is the material's column `i`.

use chainrule_autodiff::{Float, Graph, ParamId, ParamKind, ParamStore, Var};
use rand::Rng;

use crate::shapes::{expect_features, Layer};
use crate::{Activation, Init, Module};

/// A fully connected layer `Z = g(XW + B)`: `[batch, in] → [batch, out]`, or
/// `[batch, seq, in] → [batch, seq, out]` applying the same weights at every position.
///
/// Its parameters are `"{name}.weight"` (`[in, out]`, [`ParamKind::Weight`]) and
/// `"{name}.bias"` (`[out]`, [`ParamKind::Bias`], zeros).
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Activation, Dense, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let layer = Dense::new(&mut params, "fc", 3, 2, Activation::Relu, &mut rng);
/// assert_eq!(params.value(layer.weight()).shape(), &[3, 2]);
/// assert_eq!(params.name(layer.bias()), "fc.bias");
///
/// let g = Graph::new();
/// let x = g.input(Tensor::zeros(&[5, 3]));
/// assert_eq!(layer.forward(&g, &params, x).shape().as_slice(), &[5, 2]);
/// ```
#[derive(Clone, Debug)]
pub struct Dense {
    name: String,
    weight: ParamId,
    bias: ParamId,
    inputs: usize,
    outputs: usize,
    activation: Activation,
}

impl Dense {
    /// Creates the layer's weight and bias in `params`. The weight is initialised for the
    /// activation ([`init::for_activation`](crate::init::for_activation): He for ReLU, Xavier
    /// otherwise), the bias to zeros.
    ///
    /// # Panics
    /// When `"{name}.weight"` or `"{name}.bias"` is already in the store.
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::{Activation, Dense};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f32>::new();
    /// let layer = Dense::new(&mut params, "out", 4, 1, Activation::Sigmoid, &mut rng);
    /// assert_eq!((layer.inputs(), layer.outputs()), (4, 1));
    /// assert_eq!(params.len(), 2);
    /// ```
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        inputs: usize,
        outputs: usize,
        activation: Activation,
        rng: &mut R,
    ) -> Dense {
        let init = crate::init::for_activation(activation);
        Dense::with_init(params, name, inputs, outputs, activation, init, rng)
    }

    /// As [`Dense::new`], with the weight's initialisation chosen by the caller.
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::{Activation, Dense, Init};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let layer = Dense::with_init(&mut params, "fc", 2, 2, Activation::Tanh, Init::Zeros, &mut rng);
    /// assert_eq!(params.value(layer.weight()).to_vec(), vec![0.0; 4]);
    /// ```
    #[track_caller]
    pub fn with_init<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        inputs: usize,
        outputs: usize,
        activation: Activation,
        weight_init: Init,
        rng: &mut R,
    ) -> Dense {
        let weight = params.insert(
            format!("{name}.weight"),
            weight_init.tensor(&[inputs, outputs], inputs, outputs, rng),
            ParamKind::Weight,
        );
        let bias = params.insert(
            format!("{name}.bias"),
            Init::Zeros.tensor(&[outputs], inputs, outputs, rng),
            ParamKind::Bias,
        );
        Dense {
            name: name.to_owned(),
            weight,
            bias,
            inputs,
            outputs,
            activation,
        }
    }

    /// The pre-activation `Z = XW + B` (the logits, for a layer feeding a loss).
    ///
    /// # Panics
    /// When `x` is not `[batch, in]` or `[batch, seq, in]`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, ParamStore, Tensor};
    /// use chainrule_layers::{Activation, Dense, Init};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let fc = Dense::with_init(&mut params, "fc", 1, 1, Activation::Relu, Init::Constant(-1.0), &mut rng);
    /// let g = Graph::new();
    /// let x = g.input(Tensor::from_vec(vec![2.0], &[1, 1]));
    /// assert_eq!(fc.pre_activation(&g, &params, x).item(), -2.0); // before the ReLU
    /// ```
    #[track_caller]
    pub fn pre_activation<'g, T: Float>(
        &self,
        g: &'g Graph<T>,
        params: &ParamStore<T>,
        x: Var<'g, T>,
    ) -> Var<'g, T> {
        let layer = Layer {
            kind: "Dense",
            name: &self.name,
        };
        expect_features(layer, x, self.inputs);
        x.matmul_bias(params.bind(g, self.weight), params.bind(g, self.bias))
    }

    /// The id of the weight `W`, shape `[in, out]`.
    pub fn weight(&self) -> ParamId {
        self.weight
    }

    /// The id of the bias `B`, shape `[out]`.
    pub fn bias(&self) -> ParamId {
        self.bias
    }

    /// The number of input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The number of output units.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// The activation `g` applied after `XW + B`.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The name its parameters start with.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<T: Float> Module<T> for Dense {
    /// `g(XW + B)`.
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        self.activation.apply(self.pre_activation(g, params, x))
    }
}
