//! Gradient clipping by global norm, kept apart from the optimizers so any of them can use it:
//! [`clip_grad_norm`] on a [`ParamGrads`] before stepping, or [`ClipGradNorm`] (also reached
//! through [`Optimizer::with_grad_clipping`]) to have an optimizer clip before every update.

use chainrule_autodiff::{Float, ParamGrads, ParamStore};

use crate::Optimizer;

/// PyTorch's `clip_grad_norm_` adds this to the norm before dividing, so a zero gradient does
/// not divide by zero.
const NORM_EPS: f64 = 1e-6;

/// The factor that brings gradients of global norm `norm` down to `max_norm`, or `None` when
/// they are within it already: `max_norm / (norm + 1e-6)` when that is below 1.
fn clip_factor<T: Float>(norm: T, max_norm: T) -> Option<T> {
    let factor = max_norm / (norm + T::of(NORM_EPS));
    (factor < T::one()).then_some(factor)
}

#[track_caller]
fn check_max_norm<T: Float>(max_norm: T) {
    assert!(
        max_norm >= T::zero(),
        "clip_grad_norm: max_norm {max_norm} must be non-negative"
    );
}

/// Clips gradients by their global norm, as `torch.nn.utils.clip_grad_norm_` (2-norm):
///
/// ```text
/// ‖g‖ = √(Σ over every element of every gradient of g²)
/// g ← g · max_norm / (‖g‖ + 10⁻⁶)    when that factor is below 1; otherwise g is left alone
/// ```
///
/// The direction of the whole update is kept; only its length is limited. Returns the norm
/// before clipping, which training loops log. A non-finite norm (an overflowing or NaN
/// gradient) is returned as it is and the gradients are left alone: check it to skip the step.
///
/// # Panics
/// When `max_norm` is negative or NaN.
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::clip_grad_norm;
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::<f64>::zeros(&[2]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![3.0, 4.0], &[2]));
///
/// let norm = clip_grad_norm(&mut grads, 1.0);
/// assert_eq!(norm, 5.0);
/// let clipped = grads.get(w).unwrap();
/// assert!((clipped.get(&[0]) - 0.6).abs() < 1e-6 && (clipped.get(&[1]) - 0.8).abs() < 1e-6);
/// ```
#[track_caller]
pub fn clip_grad_norm<T: Float>(grads: &mut ParamGrads<T>, max_norm: T) -> T {
    check_max_norm(max_norm);
    let norm = grads.global_norm();
    if let Some(factor) = clip_factor(norm, max_norm) {
        grads.scale(factor);
    }
    norm
}

/// An optimizer that clips the gradients to a global norm of at most `max_norm` (see
/// [`clip_grad_norm`]) before each update:
///
/// ```text
/// g ← g · max_norm / (‖g‖ + 10⁻⁶)    when that factor is below 1
/// then the wrapped optimizer's update with g
/// ```
///
/// The caller's gradients are not changed: clipped copies are made only when clipping is
/// needed.
///
/// ```
/// use chainrule_autodiff::{ParamKind, ParamStore, Tensor};
/// use chainrule_optim::{ClipGradNorm, GradientDescent, GradientDescentConfig, Optimizer};
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![0.0f64], &[1]), ParamKind::Weight);
/// let mut grads = params.empty_grads();
/// grads.set(w, Tensor::from_vec(vec![10.0], &[1]));
///
/// let descent = GradientDescent::new(GradientDescentConfig { learning_rate: 0.1 });
/// let mut optimizer = ClipGradNorm::new(descent, 2.0);
/// optimizer.apply(&mut params, &grads);
/// assert_eq!(optimizer.last_norm(), Some(10.0));
/// assert!((params.value(w).item() + 0.2).abs() < 1e-6); // −0.1 · 2, not −0.1 · 10
/// ```
#[derive(Clone, Debug)]
pub struct ClipGradNorm<O, T> {
    optimizer: O,
    max_norm: T,
    last_norm: Option<T>,
}

impl<O, T: Float> ClipGradNorm<O, T> {
    /// Wraps `optimizer` so that it clips gradients to a global norm of at most `max_norm`
    /// first.
    ///
    /// # Panics
    /// When `max_norm` is negative or NaN.
    ///
    /// ```
    /// use chainrule_optim::{Adam, ClipGradNorm};
    /// let optimizer = ClipGradNorm::new(Adam::<f32>::default(), 1.0);
    /// assert_eq!(optimizer.max_norm(), 1.0);
    /// ```
    #[track_caller]
    pub fn new(optimizer: O, max_norm: T) -> Self {
        check_max_norm(max_norm);
        ClipGradNorm {
            optimizer,
            max_norm,
            last_norm: None,
        }
    }

    /// The largest global norm the wrapped optimizer sees.
    ///
    /// ```
    /// use chainrule_optim::{Optimizer, Sgd};
    /// assert_eq!(Sgd::<f64>::default().with_grad_clipping(5.0).max_norm(), 5.0);
    /// ```
    pub fn max_norm(&self) -> T {
        self.max_norm
    }

    /// The global norm of the last gradients applied, before clipping; `None` before the first
    /// update. See [`ClipGradNorm`] for an example.
    pub fn last_norm(&self) -> Option<T> {
        self.last_norm
    }

    /// The wrapped optimizer (to read its state, say).
    ///
    /// ```
    /// use chainrule_optim::{Adam, ClipGradNorm};
    /// let optimizer = ClipGradNorm::new(Adam::<f64>::default(), 1.0);
    /// assert_eq!(optimizer.inner().config().learning_rate, 1e-3);
    /// ```
    pub fn inner(&self) -> &O {
        &self.optimizer
    }

    /// The wrapped optimizer, mutable.
    ///
    /// ```
    /// use chainrule_optim::{ClipGradNorm, GradientDescent, Optimizer};
    /// let mut optimizer = ClipGradNorm::new(GradientDescent::<f64>::default(), 1.0);
    /// optimizer.inner_mut().set_learning_rate(0.5);
    /// assert_eq!(optimizer.learning_rate(), 0.5);
    /// ```
    pub fn inner_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The wrapped optimizer, unwrapped.
    ///
    /// ```
    /// use chainrule_optim::{ClipGradNorm, Sgd};
    /// let sgd: Sgd<f64> = ClipGradNorm::new(Sgd::default(), 1.0).into_inner();
    /// # let _ = sgd;
    /// ```
    pub fn into_inner(self) -> O {
        self.optimizer
    }
}

impl<T: Float, O: Optimizer<T>> Optimizer<T> for ClipGradNorm<O, T> {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        let norm = grads.global_norm();
        self.last_norm = Some(norm);
        match clip_factor(norm, self.max_norm) {
            Some(factor) => {
                let mut clipped = grads.clone();
                clipped.scale(factor);
                self.optimizer.apply(params, &clipped);
            }
            None => self.optimizer.apply(params, grads),
        }
    }

    fn learning_rate(&self) -> T {
        self.optimizer.learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: T) {
        self.optimizer.set_learning_rate(learning_rate);
    }
}
