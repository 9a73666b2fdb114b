//! Initial values for parameters: Xavier/Glorot uniform, He/Kaiming normal, zeros and
//! constants, each drawn from a generator the caller seeds, so a model is reproducible.
//!
//! Why the scale matters: with weights of variance `Var(w)`, one layer multiplies the variance of
//! its signal by about `fan_in · Var(w)` on the way forward and `fan_out · Var(w)` on the way
//! back. Keeping both near 1 keeps deep networks from vanishing or exploding at the start.
//!
//! - **Xavier/Glorot uniform** (Glorot & Bengio 2010), for sigmoid, tanh and linear layers:
//!   `w ~ U(−a, a)` with `a = √(6 / (fan_in + fan_out))`, so `Var(w) = 2 / (fan_in + fan_out)`.
//! - **He/Kaiming normal** (He et al. 2015), for ReLU layers, which zero half their inputs:
//!   `w ~ N(0, σ²)` with `σ = √(2 / fan_in)`, so `Var(w) = 2 / fan_in`.
//! - **Zeros** for biases.
//!
//! For a weight of shape `[in, out]`, `fan_in = in` and `fan_out = out`.
//!
//! They live in the engine, not in `chainrule-layers`, so a model written from raw graph ops
//! starts from the same values as the layers do; the layers crate re-exports them unchanged.

use rand::Rng;

use crate::{Float, Tensor};

/// How to fill a new parameter.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_autodiff::init::Init;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let w: Tensor<f32> = Init::XavierUniform.tensor(&[4, 3], 4, 3, &mut rng);
/// let bound = (6.0f32 / 7.0).sqrt();
/// assert!(w.as_slice().iter().all(|v| v.abs() <= bound));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every element the same value.
    Constant(f64),
    /// `U(−a, a)` with `a = √(6 / (fan_in + fan_out))`: variance `2 / (fan_in + fan_out)`.
    XavierUniform,
    /// `N(0, 2 / fan_in)`: variance `2 / fan_in`.
    HeNormal,
    /// Kaiming uniform with leaky-ReLU slope `a`: `U(−b, b)` with `b = √(6 / ((1 + a²)·fan_in))`.
    /// With `a = √5` it is PyTorch's default for `nn.Linear` and `nn.Conv2d`,
    /// `U(−1/√fan_in, 1/√fan_in)`.
    KaimingUniform {
        /// The negative slope the gain is computed for.
        a: f64,
    },
    /// `U(low, high)`.
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// `N(mean, std²)`.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
}

impl Init {
    /// A tensor of `shape` filled by this scheme; `fan_in` and `fan_out` are the number of
    /// inputs and outputs of the layer the tensor belongs to (ignored by the schemes that do
    /// not use them).
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// use chainrule_autodiff::init::Init;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let b: Tensor<f64> = Init::Constant(1.0).tensor(&[3], 2, 3, &mut rng);
    /// assert_eq!(b.to_vec(), vec![1.0; 3]);
    /// ```
    pub fn tensor<T: Float, R: Rng + ?Sized>(
        self,
        shape: &[usize],
        fan_in: usize,
        fan_out: usize,
        rng: &mut R,
    ) -> Tensor<T> {
        match self {
            Init::Zeros => zeros(shape),
            Init::Constant(value) => Tensor::full(shape, T::of(value)),
            Init::XavierUniform => xavier_uniform(shape, fan_in, fan_out, rng),
            Init::HeNormal => he_normal(shape, fan_in, rng),
            Init::KaimingUniform { a } => kaiming_uniform(shape, fan_in, a, rng),
            Init::Uniform { low, high } => {
                Tensor::rand_uniform(shape, T::of(low), T::of(high), rng)
            }
            Init::Normal { mean, std } => Tensor::rand_normal(shape, T::of(mean), T::of(std), rng),
        }
    }
}

/// Xavier/Glorot uniform: `U(−a, a)` with `a = √(6 / (fan_in + fan_out))`, so the variance is
/// `2 / (fan_in + fan_out)`. For sigmoid, tanh and linear layers.
///
/// ```
/// use chainrule_autodiff::init::xavier_uniform;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let w = xavier_uniform::<f64, _>(&[100, 100], 100, 100, &mut rng);
/// let variance = w.square().mean_all().item();
/// assert!((variance - 2.0 / 200.0).abs() < 1e-3);
/// ```
pub fn xavier_uniform<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    fan_in: usize,
    fan_out: usize,
    rng: &mut R,
) -> Tensor<T> {
    let bound = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
    Tensor::rand_uniform(shape, T::of(-bound), T::of(bound), rng)
}

/// He/Kaiming normal: `N(0, σ²)` with `σ = √(2 / fan_in)`. For ReLU layers: ReLU zeroes about
/// half its inputs, and the factor 2 makes up for that.
///
/// ```
/// use chainrule_autodiff::init::he_normal;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let w = he_normal::<f64, _>(&[100, 100], 100, &mut rng);
/// let variance = w.square().mean_all().item();
/// assert!((variance - 2.0 / 100.0).abs() < 2e-3);
/// ```
pub fn he_normal<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    fan_in: usize,
    rng: &mut R,
) -> Tensor<T> {
    let std = (2.0 / fan_in.max(1) as f64).sqrt();
    Tensor::rand_normal(shape, T::zero(), T::of(std), rng)
}

/// Kaiming/He uniform for a leaky ReLU of slope `a`: `U(−b, b)` with
/// `b = √(6 / ((1 + a²)·fan_in))`. `a = √5` gives PyTorch's default for dense and convolutional
/// weights, `b = 1/√fan_in`.
///
/// ```
/// use chainrule_autodiff::init::kaiming_uniform;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let w = kaiming_uniform::<f64, _>(&[8, 1, 3, 3], 9, 5f64.sqrt(), &mut rng);
/// assert!(w.as_slice().iter().all(|v| v.abs() <= 1.0 / 3.0));
/// ```
pub fn kaiming_uniform<T: Float, R: Rng + ?Sized>(
    shape: &[usize],
    fan_in: usize,
    a: f64,
    rng: &mut R,
) -> Tensor<T> {
    let bound = (6.0 / ((1.0 + a * a) * fan_in.max(1) as f64)).sqrt();
    Tensor::rand_uniform(shape, T::of(-bound), T::of(bound), rng)
}

/// All zeros: the usual start for biases.
///
/// ```
/// use chainrule_autodiff::init::zeros;
/// assert_eq!(zeros::<f32>(&[2]).to_vec(), vec![0.0, 0.0]);
/// ```
pub fn zeros<T: Float>(shape: &[usize]) -> Tensor<T> {
    Tensor::zeros(shape)
}
