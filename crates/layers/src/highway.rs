//! `Highway`: a layer that learns, per unit and per example, how much to transform its input
//! and how much to carry it through unchanged (Srivastava, Greff & Schmidhuber 2015, "Highway
//! Networks", arXiv:1505.00387):
//!
//! ```text
//! y = T(x)·H(x) + (1 − T(x))·x
//! H(x) = g(x·W_H + b_H)          the transform, with any activation g
//! T(x) = σ(x·W_T + b_T)          the transform gate, in (0, 1)
//! ```
//!
//! The paper initialises the gate bias `b_T` negative (it suggests −1 or −3) so that at the
//! start `T(x) ≈ 0` and every layer mostly carries its input: a deep stack begins close to the
//! identity and gradients flow through it, as through a residual network. The default here is
//! −2; [`Highway::with_gate_bias`] chooses another.

use chainrule_autodiff::{Float, Graph, ParamStore, Tensor, Var};
use rand::Rng;

use crate::shapes::{expect_features, Layer};
use crate::{Activation, Dense, Module};

/// The transform-gate bias the paper's scheme starts from unless the caller chooses another.
pub const DEFAULT_GATE_BIAS: f64 = -2.0;

/// A highway layer `y = T(x)·H(x) + (1 − T(x))·x`, `[batch, width] → [batch, width]` (or
/// `[batch, seq, width]`).
///
/// Parameters: `"{name}.transform.{weight,bias}"` for `H` and
/// `"{name}.transform_gate.{weight,bias}"` for `T`, all `[width, width]` and `[width]`.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Activation, Highway, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let layer = Highway::new(&mut params, "hw", 3, Activation::Relu, &mut rng);
/// let gate_bias = params.value(layer.transform_gate().bias());
/// assert_eq!(gate_bias.to_vec(), vec![-2.0; 3]);
///
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[2, 3]));
/// assert_eq!(layer.forward(&g, &params, x).shape().as_slice(), &[2, 3]);
/// ```
#[derive(Clone, Debug)]
pub struct Highway {
    name: String,
    transform: Dense,
    transform_gate: Dense,
    width: usize,
}

impl Highway {
    /// Creates `H` (weight initialised for `activation`, bias zeros) and `T` (Xavier weight,
    /// bias [`DEFAULT_GATE_BIAS`] = −2) in `params`.
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::{Activation, Highway};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f32>::new();
    /// let layer = Highway::new(&mut params, "hw", 8, Activation::Tanh, &mut rng);
    /// assert_eq!((layer.width(), params.len()), (8, 4));
    /// ```
    #[track_caller]
    pub fn new<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        width: usize,
        activation: Activation,
        rng: &mut R,
    ) -> Highway {
        Highway::with_gate_bias(params, name, width, activation, DEFAULT_GATE_BIAS, rng)
    }

    /// As [`Highway::new`], with every element of the gate bias `b_T` set to `gate_bias`.
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::{Activation, Highway};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let layer = Highway::with_gate_bias(&mut params, "hw", 2, Activation::Relu, -3.0, &mut rng);
    /// assert_eq!(params.value(layer.transform_gate().bias()).to_vec(), vec![-3.0, -3.0]);
    /// ```
    #[track_caller]
    pub fn with_gate_bias<T: Float, R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        width: usize,
        activation: Activation,
        gate_bias: f64,
        rng: &mut R,
    ) -> Highway {
        let transform = Dense::new(
            params,
            &format!("{name}.transform"),
            width,
            width,
            activation,
            rng,
        );
        let transform_gate = Dense::new(
            params,
            &format!("{name}.transform_gate"),
            width,
            width,
            Activation::Sigmoid,
            rng,
        );
        params.set_value(
            transform_gate.bias(),
            Tensor::full(&[width], T::of(gate_bias)),
        );
        Highway {
            name: name.to_owned(),
            transform,
            transform_gate,
            width,
        }
    }

    /// `H`: the transform, a [`Dense`] with the layer's activation.
    pub fn transform(&self) -> &Dense {
        &self.transform
    }

    /// `T`: the transform gate, a [`Dense`] with a sigmoid.
    pub fn transform_gate(&self) -> &Dense {
        &self.transform_gate
    }

    /// The number of features in and out.
    pub fn width(&self) -> usize {
        self.width
    }
}

impl<T: Float> Module<T> for Highway {
    /// `T(x)·H(x) + (1 − T(x))·x`.
    ///
    /// # Panics
    /// When `x` does not have `width` features.
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        let layer = Layer {
            kind: "Highway",
            name: &self.name,
        };
        expect_features(layer, x, self.width);
        let h = self.transform.forward(g, params, x);
        let t = self.transform_gate.forward(g, params, x);
        let carry = -t + T::one();
        t * h + carry * x
    }
}
