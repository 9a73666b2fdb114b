//! `Residual`: a skip connection around any module, `y = x + f(x)` (He et al. 2016, "Deep
//! Residual Learning for Image Recognition"). The gradient reaches `x` through the identity
//! unchanged as well as through `f`, which is what lets very deep stacks train.
//!
//! When `f` changes the width, `x` cannot be added as it is: the skip path gets a learned linear
//! projection `xP + p` (a [`Dense`] without activation), the paper's "projection shortcut".

use chainrule_autodiff::{Float, Graph, ParamStore, Var};
use rand::Rng;

use crate::shapes::{expect_features, Layer};
use crate::{Activation, Dense, Module};

/// `y = skip(x) + f(x)`, where `skip` is the identity when `f` keeps the width, and a learned
/// projection `"{name}.projection"` (`[in, out]` weight and `[out]` bias) when it does not.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Activation, Dense, Module, Residual};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let inner = Dense::new(&mut params, "block.fc", 4, 4, Activation::Relu, &mut rng);
/// let block = Residual::new(&mut params, "block", 4, 4, inner, &mut rng);
/// assert!(block.projection().is_none()); // same width: identity skip
///
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[2, 4]));
/// assert_eq!(block.forward(&g, &params, x).shape().as_slice(), &[2, 4]);
/// ```
pub struct Residual<T> {
    name: String,
    inner: Box<dyn Module<T>>,
    projection: Option<Dense>,
    inputs: usize,
    outputs: usize,
}

impl<T: Float> Residual<T> {
    /// Wraps `inner`, which maps `inputs` features to `outputs` features. When the two differ,
    /// creates the skip path's projection `"{name}.projection.weight"` (Xavier) and
    /// `"{name}.projection.bias"` (zeros) in `params`; otherwise creates nothing.
    ///
    /// ```
    /// use chainrule_autodiff::ParamStore;
    /// use chainrule_layers::{Activation, Dense, Residual};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut params = ParamStore::<f64>::new();
    /// let inner = Dense::new(&mut params, "wide.fc", 3, 5, Activation::Tanh, &mut rng);
    /// let block = Residual::new(&mut params, "wide", 3, 5, inner, &mut rng);
    /// assert!(block.projection().is_some());
    /// assert!(params.id("wide.projection.weight").is_some());
    /// ```
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        params: &mut ParamStore<T>,
        name: &str,
        inputs: usize,
        outputs: usize,
        inner: impl Module<T> + 'static,
        rng: &mut R,
    ) -> Self {
        let projection = (inputs != outputs).then(|| {
            let name = format!("{name}.projection");
            Dense::new(params, &name, inputs, outputs, Activation::Linear, rng)
        });
        Residual {
            name: name.to_owned(),
            inner: Box::new(inner),
            projection,
            inputs,
            outputs,
        }
    }

    /// The skip path's projection, when the widths differ.
    pub fn projection(&self) -> Option<&Dense> {
        self.projection.as_ref()
    }

    /// The wrapped module `f`.
    pub fn inner(&self) -> &dyn Module<T> {
        &*self.inner
    }
}

impl<T: Float> Module<T> for Residual<T> {
    /// `skip(x) + f(x)`.
    ///
    /// # Panics
    /// When `x` does not have `inputs` features, or `f(x)` does not have `x`'s shape with
    /// `outputs` features.
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        let layer = Layer {
            kind: "Residual",
            name: &self.name,
        };
        expect_features(layer, x, self.inputs);
        let fx = self.inner.forward(g, params, x);
        let mut expected = x.shape();
        let last = expected.len() - 1;
        expected[last] = self.outputs;
        if fx.shape() != expected {
            layer_panic!(
                "{layer}: expected the inner module's output of shape {:?}, got {:?}",
                expected.as_slice(),
                fx.shape().as_slice()
            );
        }
        let skip = match &self.projection {
            Some(projection) => projection.forward(g, params, x),
            None => x,
        };
        skip + fx
    }

    fn set_training(&mut self, training: bool) {
        self.inner.set_training(training);
    }
}
