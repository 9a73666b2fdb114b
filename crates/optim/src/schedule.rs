//! Learning-rate schedules: the rate for an epoch as a closed-form function of the base rate
//! and the epoch number, so a schedule holds no state and can be asked about any epoch.
//!
//! - [`LearningRateSchedule`] — the trait: `learning_rate(base, epoch)`; closures
//!   `|base, epoch| …` are schedules too.
//! - [`StepDecay`] — `torch.optim.lr_scheduler.StepLR`.
//! - [`CosineAnnealing`] — `torch.optim.lr_scheduler.CosineAnnealingLR`'s closed form.
//! - [`set_learning_rate_for_epoch`] — sets an optimizer's rate from a schedule, between epochs.
//!
//! Epochs count from 0, as PyTorch's `last_epoch` does after the scheduler is built: epoch 0
//! runs at the base rate.

use chainrule_autodiff::Float;

use crate::Optimizer;

/// A learning rate as a function of the base rate and the epoch (counted from 0).
///
/// Any `Fn(T, usize) -> T` is a schedule:
///
/// ```
/// use chainrule_optim::LearningRateSchedule;
/// let warmup = |base: f64, epoch: usize| base * ((epoch + 1) as f64 / 5.0).min(1.0);
/// assert!((warmup.learning_rate(0.1, 0) - 0.02).abs() < 1e-15);
/// assert_eq!(warmup.learning_rate(0.1, 9), 0.1);
/// ```
pub trait LearningRateSchedule<T: Float> {
    /// The learning rate for `epoch`, given the rate at epoch 0.
    fn learning_rate(&self, base: T, epoch: usize) -> T;
}

impl<T: Float, F: Fn(T, usize) -> T> LearningRateSchedule<T> for F {
    fn learning_rate(&self, base: T, epoch: usize) -> T {
        self(base, epoch)
    }
}

/// Multiplies the rate by `gamma` every `step_size` epochs, as
/// `torch.optim.lr_scheduler.StepLR`:
///
/// ```text
/// lr(epoch) = base · gamma^⌊epoch / step_size⌋
/// ```
///
/// ```
/// use chainrule_optim::{LearningRateSchedule, StepDecay};
/// let schedule = StepDecay::new(10, 0.5);
/// assert_eq!(schedule.learning_rate(0.1, 9), 0.1);
/// assert_eq!(schedule.learning_rate(0.1, 10), 0.05);
/// assert_eq!(schedule.learning_rate(0.1, 25), 0.025);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay<T> {
    /// How many epochs between decays. PyTorch: `step_size` (required).
    pub step_size: usize,
    /// The factor applied at each decay. PyTorch: `gamma`; default 0.1.
    pub gamma: T,
}

impl<T: Float> StepDecay<T> {
    /// Decay by `gamma` every `step_size` epochs (PyTorch's default `gamma` is 0.1).
    ///
    /// # Panics
    /// When `step_size` is 0.
    ///
    /// ```
    /// use chainrule_optim::StepDecay;
    /// let schedule = StepDecay::new(30, 0.1f32);
    /// assert_eq!(schedule.step_size, 30);
    /// ```
    #[track_caller]
    pub fn new(step_size: usize, gamma: T) -> Self {
        assert!(step_size > 0, "StepDecay: step_size must be at least 1");
        StepDecay { step_size, gamma }
    }
}

impl<T: Float> LearningRateSchedule<T> for StepDecay<T> {
    #[track_caller]
    fn learning_rate(&self, base: T, epoch: usize) -> T {
        assert!(
            self.step_size > 0,
            "StepDecay: step_size must be at least 1"
        );
        let decays = epoch / self.step_size;
        base * self.gamma.powi(i32::try_from(decays).unwrap_or(i32::MAX))
    }
}

/// Anneals the rate from `base` down to `eta_min` along half a cosine over `t_max` epochs, as
/// the closed form of `torch.optim.lr_scheduler.CosineAnnealingLR`:
///
/// ```text
/// lr(epoch) = eta_min + (base − eta_min) · (1 + cos(π · epoch / t_max)) / 2
/// ```
///
/// The rate reaches `eta_min` at `epoch = t_max`. Past `t_max` the closed form climbs back
/// towards `base` (PyTorch's closed form does the same); train for `t_max` epochs, or use a
/// closure schedule to hold the minimum.
///
/// ```
/// use chainrule_optim::{CosineAnnealing, LearningRateSchedule};
/// let schedule = CosineAnnealing::new(10, 0.0f64);
/// assert_eq!(schedule.learning_rate(0.1, 0), 0.1);
/// assert!((schedule.learning_rate(0.1, 5) - 0.05).abs() < 1e-12);
/// assert!(schedule.learning_rate(0.1, 10).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealing<T> {
    /// The number of epochs from `base` down to `eta_min`. PyTorch: `T_max` (required).
    pub t_max: usize,
    /// The lowest rate. PyTorch: `eta_min`; default 0.
    pub eta_min: T,
}

impl<T: Float> CosineAnnealing<T> {
    /// Anneal to `eta_min` over `t_max` epochs (PyTorch's default `eta_min` is 0).
    ///
    /// # Panics
    /// When `t_max` is 0.
    ///
    /// ```
    /// use chainrule_optim::CosineAnnealing;
    /// let schedule = CosineAnnealing::new(50, 1e-5f64);
    /// assert_eq!(schedule.t_max, 50);
    /// ```
    #[track_caller]
    pub fn new(t_max: usize, eta_min: T) -> Self {
        assert!(t_max > 0, "CosineAnnealing: t_max must be at least 1");
        CosineAnnealing { t_max, eta_min }
    }
}

impl<T: Float> LearningRateSchedule<T> for CosineAnnealing<T> {
    #[track_caller]
    fn learning_rate(&self, base: T, epoch: usize) -> T {
        assert!(self.t_max > 0, "CosineAnnealing: t_max must be at least 1");
        let angle = std::f64::consts::PI * epoch as f64 / self.t_max as f64;
        let half = T::of(0.5) * (T::one() + T::of(angle.cos()));
        self.eta_min + (base - self.eta_min) * half
    }
}

/// Sets `optimizer`'s learning rate to the schedule's rate for `epoch` and returns it; call it
/// before each epoch, with the same `base` every time (the rate the schedule starts from, not
/// the optimizer's current rate).
///
/// ```
/// use chainrule_optim::{set_learning_rate_for_epoch, Optimizer, Sgd, SgdConfig, StepDecay};
/// let base = 0.1f64;
/// let mut sgd = Sgd::new(SgdConfig { learning_rate: base, ..SgdConfig::default() });
/// let schedule = StepDecay::new(2, 0.1);
/// for epoch in 0..5 {
///     set_learning_rate_for_epoch(&mut sgd, &schedule, base, epoch);
///     // … one epoch of training …
/// }
/// assert!((sgd.learning_rate() - 0.001).abs() < 1e-15); // epoch 4: 0.1 · 0.1²
/// ```
pub fn set_learning_rate_for_epoch<T, O, S>(
    optimizer: &mut O,
    schedule: &S,
    base: T,
    epoch: usize,
) -> T
where
    T: Float,
    O: Optimizer<T> + ?Sized,
    S: LearningRateSchedule<T> + ?Sized,
{
    let learning_rate = schedule.learning_rate(base, epoch);
    optimizer.set_learning_rate(learning_rate);
    learning_rate
}
