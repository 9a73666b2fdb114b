//! `Sequential`: modules applied one after another, the simplest way to compose layers.

use chainrule_autodiff::{Float, Graph, ParamStore, Var};

use crate::Module;

/// Modules applied in order: `forward(x) = fₙ(… f₂(f₁(x)))`. Switching it to training or
/// evaluation switches every module it holds.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Activation, Dense, Dropout, Module, Sequential};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut params = ParamStore::<f64>::new();
/// let mut model = Sequential::new()
///     .with(Dense::new(&mut params, "l1", 4, 16, Activation::Relu, &mut rng))
///     .with(Dropout::new(0.5, 7))
///     .with(Dense::new(&mut params, "l2", 16, 1, Activation::Sigmoid, &mut rng));
/// model.set_training(false);
///
/// let g = Graph::new();
/// let x = g.input(Tensor::zeros(&[3, 4]));
/// assert_eq!(model.forward(&g, &params, x).shape().as_slice(), &[3, 1]);
/// assert_eq!(model.len(), 3);
/// ```
pub struct Sequential<T> {
    modules: Vec<Box<dyn Module<T>>>,
}

impl<T: Float> Default for Sequential<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Sequential<T> {
    /// An empty sequence: the identity until modules are added.
    ///
    /// ```
    /// use chainrule_layers::Sequential;
    /// assert!(Sequential::<f32>::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Sequential {
            modules: Vec::new(),
        }
    }

    /// Appends a module, builder style.
    ///
    /// ```
    /// use chainrule_layers::{Activation, Sequential};
    /// let model = Sequential::<f64>::new().with(Activation::Tanh).with(Activation::Sigmoid);
    /// assert_eq!(model.len(), 2);
    /// ```
    pub fn with(mut self, module: impl Module<T> + 'static) -> Self {
        self.push(module);
        self
    }

    /// Appends a module.
    ///
    /// ```
    /// use chainrule_layers::{Activation, Module, Sequential};
    /// let mut model = Sequential::<f64>::new();
    /// model.push(Activation::Relu);
    /// let boxed: Box<dyn Module<f64>> = Box::new(Activation::Tanh);
    /// model.push(boxed);
    /// assert_eq!(model.len(), 2);
    /// ```
    pub fn push(&mut self, module: impl Module<T> + 'static) {
        self.modules.push(Box::new(module));
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.modules.len()
    }

    /// Whether it holds no module.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }

    /// The modules, in the order they run.
    pub fn modules(&self) -> &[Box<dyn Module<T>>] {
        &self.modules
    }
}

impl<T: Float> Module<T> for Sequential<T> {
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        let mut x = x;
        for module in &self.modules {
            x = module.forward(g, params, x);
        }
        x
    }

    fn set_training(&mut self, training: bool) {
        for module in &mut self.modules {
            module.set_training(training);
        }
    }
}
