//! Activation functions `g` of the material's `a = g(z)`: as an [`Activation`] value a layer
//! can hold and apply, as a parameter-free layer (it implements [`Module`]), and as free
//! functions to pass where a `fn(Var) -> Var` is wanted.
//!
//! Each is one engine op, so its derivative is the engine's rule for that op (sigmoid:
//! `σ(z)(1 − σ(z))`, tanh: `1 − tanh²(z)`, ReLU: `1` for `z > 0` else `0`, softmax: the
//! softmax Jacobian), not something written here.

use chainrule_autodiff::{Float, Graph, ParamStore, Var};

use crate::Module;

/// An elementwise nonlinearity `g`, or softmax along the last axis.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_layers::Activation;
/// let g = Graph::new();
/// let z = g.input(Tensor::from_vec(vec![-1.0f64, 0.0, 2.0], &[1, 3]));
/// assert_eq!(Activation::Relu.apply(z).value().to_vec(), vec![0.0, 0.0, 2.0]);
/// assert_eq!(Activation::Sigmoid.apply(z).value().get(&[0, 1]), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `σ(z) = 1 / (1 + e^−z)`: outputs in (0, 1), for probabilities of a binary outcome.
    Sigmoid,
    /// `tanh(z)`: outputs in (−1, 1), centred at zero.
    Tanh,
    /// `max(z, 0)`: the usual choice for hidden layers.
    Relu,
    /// The identity `g(z) = z`: for regression outputs and for logits fed to a loss.
    #[default]
    Linear,
    /// `e^zᵢ / Σⱼ e^zⱼ` along the last axis: each row becomes a probability distribution. To
    /// train a classifier, prefer [`Activation::Linear`] outputs (logits) with
    /// [`softmax_cross_entropy`](crate::losses::softmax_cross_entropy), which is exact even for
    /// large logits.
    Softmax,
}

impl Activation {
    /// `g(z)`, recorded on `z`'s graph.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor};
    /// use chainrule_layers::Activation;
    /// let g = Graph::new();
    /// let z = g.input(Tensor::from_vec(vec![1.0f64, 1.0], &[1, 2]));
    /// let p = Activation::Softmax.apply(z).value();
    /// assert!(p.as_slice().iter().all(|&v| (v - 0.5).abs() < 1e-15));
    /// ```
    #[track_caller]
    pub fn apply<'g, T: Float>(self, z: Var<'g, T>) -> Var<'g, T> {
        match self {
            Activation::Sigmoid => z.sigmoid(),
            Activation::Tanh => z.tanh(),
            Activation::Relu => z.relu(),
            Activation::Linear => z,
            Activation::Softmax => z.softmax(-1),
        }
    }

    /// The name as written in the material and in PyTorch (`"sigmoid"`, `"relu"`, …).
    ///
    /// ```
    /// use chainrule_layers::Activation;
    /// assert_eq!(Activation::Tanh.name(), "tanh");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Linear => "linear",
            Activation::Softmax => "softmax",
        }
    }
}

/// An activation as a layer without parameters, to put between layers of a
/// [`Sequential`](crate::Sequential).
impl<T: Float> Module<T> for Activation {
    #[track_caller]
    fn forward<'g>(&self, _g: &'g Graph<T>, _params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        self.apply(x)
    }
}

/// `σ(z) = 1 / (1 + e^−z)`, elementwise.
///
/// ```
/// use chainrule_autodiff::Graph;
/// let g = Graph::new();
/// assert_eq!(chainrule_layers::activation::sigmoid(g.scalar(0.0f64)).item(), 0.5);
/// ```
#[track_caller]
pub fn sigmoid<T: Float>(z: Var<'_, T>) -> Var<'_, T> {
    Activation::Sigmoid.apply(z)
}

/// `tanh(z)`, elementwise.
///
/// ```
/// use chainrule_autodiff::Graph;
/// let g = Graph::new();
/// assert_eq!(chainrule_layers::activation::tanh(g.scalar(0.0f64)).item(), 0.0);
/// ```
#[track_caller]
pub fn tanh<T: Float>(z: Var<'_, T>) -> Var<'_, T> {
    Activation::Tanh.apply(z)
}

/// `max(z, 0)`, elementwise.
///
/// ```
/// use chainrule_autodiff::Graph;
/// let g = Graph::new();
/// assert_eq!(chainrule_layers::activation::relu(g.scalar(-2.0f64)).item(), 0.0);
/// ```
#[track_caller]
pub fn relu<T: Float>(z: Var<'_, T>) -> Var<'_, T> {
    Activation::Relu.apply(z)
}

/// `e^zᵢ / Σⱼ e^zⱼ` along the last axis.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// let g = Graph::new();
/// let z = g.input(Tensor::from_vec(vec![0.0f64, 1.0, 5.0, 6.0], &[2, 2]));
/// let p = chainrule_layers::activation::softmax(z).value();
/// assert!((p.get(&[0, 0]) - p.get(&[1, 0])).abs() < 1e-15); // each row on its own: shifts cancel
/// assert!((p.get(&[0, 0]) + p.get(&[0, 1]) - 1.0).abs() < 1e-15);
/// ```
#[track_caller]
pub fn softmax<T: Float>(z: Var<'_, T>) -> Var<'_, T> {
    Activation::Softmax.apply(z)
}
