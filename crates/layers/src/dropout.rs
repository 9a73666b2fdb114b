//! `Dropout` (Srivastava et al. 2014), in its "inverted" form: while training, each element is
//! zeroed with probability `p` and the survivors are scaled by `1 / (1 − p)`, so the expected
//! value of every element is unchanged and evaluation is the plain identity, with no rescaling.
//!
//! The mask is a constant of the graph: the gradient passes through the kept elements (times
//! `1 / (1 − p)`) and not through the dropped ones, which is exactly the engine's rule for a
//! product with a constant. Masks come from the layer's own seeded generator, so a run is
//! reproducible; it sits in a `RefCell` because `forward` takes `&self`.

use std::cell::RefCell;

use chainrule_autodiff::{Float, Graph, ParamStore, Tensor, Var};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::Module;

/// Inverted dropout with drop probability `p`. It starts in training mode (as PyTorch's
/// modules do); call [`Dropout::set_training`]`(false)` to evaluate, where it is the identity.
///
/// Each training-mode forward draws a new mask from the layer's generator. To get the same
/// mask again (to check gradients by finite differences, say), call [`Dropout::reseed`] with
/// the same seed before each forward.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor};
/// use chainrule_layers::{Dropout, Module};
/// let mut dropout = Dropout::new(0.5, 42);
/// let params = ParamStore::<f64>::new();
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[1, 1000]));
///
/// let y = dropout.forward(&g, &params, x).value();
/// assert!(y.as_slice().iter().all(|&v| v == 0.0 || v == 2.0)); // kept ones scaled by 1/(1−p)
/// assert!((y.mean_all().item() - 1.0).abs() < 0.1); // expectation unchanged
///
/// dropout.set_training(false);
/// assert_eq!(dropout.forward(&g, &params, x).value(), x.value());
/// ```
#[derive(Clone, Debug)]
pub struct Dropout {
    p: f64,
    training: bool,
    rng: RefCell<StdRng>,
}

impl Dropout {
    /// Dropout with probability `p` of zeroing each element, its masks drawn from a generator
    /// seeded with `seed`; in training mode.
    ///
    /// # Panics
    /// When `p` is not in `[0, 1)`.
    ///
    /// ```
    /// use chainrule_layers::Dropout;
    /// let dropout = Dropout::new(0.2, 0);
    /// assert_eq!(dropout.probability(), 0.2);
    /// assert!(dropout.is_training());
    /// ```
    #[track_caller]
    pub fn new(p: f64, seed: u64) -> Dropout {
        if !(0.0..1.0).contains(&p) {
            layer_panic!("Dropout: the drop probability must be in [0, 1), got {p}");
        }
        Dropout {
            p,
            training: true,
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// Restarts the mask generator from `seed`: the next forward on the same shape draws the
    /// same mask as the first forward after [`Dropout::new`]`(p, seed)`.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, ParamStore, Tensor};
    /// use chainrule_layers::{Dropout, Module};
    /// let dropout = Dropout::new(0.5, 1);
    /// let params = ParamStore::<f64>::new();
    /// let g = Graph::new();
    /// let x = g.input(Tensor::ones(&[1, 50]));
    /// let first = dropout.forward(&g, &params, x).value();
    /// dropout.reseed(1);
    /// assert_eq!(dropout.forward(&g, &params, x).value(), first);
    /// ```
    pub fn reseed(&self, seed: u64) {
        *self.rng.borrow_mut() = StdRng::seed_from_u64(seed);
    }

    /// The probability `p` of zeroing an element.
    pub fn probability(&self) -> f64 {
        self.p
    }

    /// Switches between training (drop) and evaluation (identity); the same as
    /// [`Module::set_training`], callable without naming the float type.
    ///
    /// ```
    /// use chainrule_layers::Dropout;
    /// let mut dropout = Dropout::new(0.5, 0);
    /// dropout.set_training(false);
    /// assert!(!dropout.is_training());
    /// ```
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// Whether it drops elements (training) or passes them through (evaluation).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// A fresh mask of `shape`: `0` with probability `p`, else `1 / (1 − p)`.
    fn mask<T: Float>(&self, shape: &[usize]) -> Tensor<T> {
        let keep = T::of(1.0 / (1.0 - self.p));
        let mut rng = self.rng.borrow_mut();
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| {
                if rng.gen::<f64>() < self.p {
                    T::zero()
                } else {
                    keep
                }
            })
            .collect();
        Tensor::from_vec(data, shape)
    }
}

impl<T: Float> Module<T> for Dropout {
    /// `x ⊙ mask` in training mode (when `p > 0`), `x` itself in evaluation mode.
    #[track_caller]
    fn forward<'g>(&self, g: &'g Graph<T>, _params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        if !self.training || self.p == 0.0 {
            return x;
        }
        x * g.constant(self.mask(&x.shape()))
    }

    fn set_training(&mut self, training: bool) {
        Dropout::set_training(self, training);
    }
}
