//! Z-score standardization: `x' = (x − μ) / σ` per feature column.
//!
//! The means and standard deviations are fitted on the training split only and then applied
//! unchanged to every split, so nothing about the validation or test rows leaks into training
//! (their means are close to, but not forced to, zero).

use chainrule_autodiff::{Float, Tensor};

use crate::Dataset;

/// Per-column means and standard deviations, fitted on training features.
///
/// A column with zero variance (every training value equal) is only centred: it is divided by
/// 1 instead of 0, so it becomes all zeros on the training split instead of NaN.
///
/// The standard deviation is the population one (divide by `n`, like scikit-learn's
/// `StandardScaler`).
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::Standardizer;
/// let train = Tensor::from_vec(vec![1.0f64, 10.0, 3.0, 10.0], &[2, 2]);
/// let scaler = Standardizer::fit(&train);
/// assert_eq!(scaler.mean(), [2.0, 10.0]);
/// assert_eq!(scaler.std(), [1.0, 0.0]);
/// assert_eq!(scaler.transform(&train).to_vec(), vec![-1.0, 0.0, 1.0, 0.0]);
/// let test = Tensor::from_vec(vec![5.0, 12.0], &[1, 2]);
/// assert_eq!(scaler.transform(&test).to_vec(), vec![3.0, 2.0]); // 12 − 10, divided by 1
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<T> {
    mean: Vec<T>,
    std: Vec<T>,
}

impl<T: Float> Standardizer<T> {
    /// Fits the per-column mean and standard deviation of `features` `[n, d]`.
    ///
    /// # Panics
    /// When `features` is not a matrix or has no rows.
    #[track_caller]
    pub fn fit(features: &Tensor<T>) -> Self {
        assert!(
            features.rank() == 2 && features.shape()[0] > 0,
            "Standardizer::fit: expected a matrix [rows, features] with at least one row, got \
             shape {:?} (at {})",
            features.shape(),
            std::panic::Location::caller()
        );
        let (rows, columns) = (features.shape()[0], features.shape()[1]);
        let data = features.as_slice();
        let n = rows as f64;
        // Accumulate in f64 so that f32 data keeps its precision over many rows.
        let mut mean = vec![0.0f64; columns];
        for row in data.chunks_exact(columns) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x.to_f64_exact();
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut variance = vec![0.0f64; columns];
        for row in data.chunks_exact(columns) {
            for ((v, &m), &x) in variance.iter_mut().zip(&mean).zip(row) {
                let d = x.to_f64_exact() - m;
                *v += d * d;
            }
        }
        Standardizer {
            mean: mean.iter().map(|&m| T::of(m)).collect(),
            std: variance.iter().map(|&v| T::of((v / n).sqrt())).collect(),
        }
    }

    /// Fits on a data set's features (its training split, that is).
    ///
    /// # Panics
    /// When the data set has no rows.
    #[track_caller]
    pub fn fit_dataset(train: &Dataset<T>) -> Self {
        Self::fit(train.features())
    }

    /// The fitted mean of each column.
    pub fn mean(&self) -> &[T] {
        &self.mean
    }

    /// The fitted standard deviation of each column (0 for a constant column).
    pub fn std(&self) -> &[T] {
        &self.std
    }

    /// `(x − μ) / σ` per column, with the training statistics; a column with `σ = 0` is only
    /// centred.
    ///
    /// # Panics
    /// When `features` is not a matrix with as many columns as the fitted data.
    #[track_caller]
    pub fn transform(&self, features: &Tensor<T>) -> Tensor<T> {
        assert!(
            features.rank() == 2 && features.shape()[1] == self.mean.len(),
            "Standardizer::transform: fitted on {} columns, got shape {:?} (at {})",
            self.mean.len(),
            features.shape(),
            std::panic::Location::caller()
        );
        let columns = self.mean.len();
        let scale: Vec<T> = self
            .std
            .iter()
            .map(|&s| if s > T::zero() { s } else { T::one() })
            .collect();
        let mut out = features.to_vec();
        if columns > 0 {
            for row in out.chunks_exact_mut(columns) {
                for ((x, &m), &s) in row.iter_mut().zip(&self.mean).zip(&scale) {
                    *x = (*x - m) / s;
                }
            }
        }
        Tensor::from_vec(out, features.shape())
    }

    /// The data set with standardized features (targets and names unchanged).
    ///
    /// # Panics
    /// As [`Standardizer::transform`].
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// use chainrule_train::{Dataset, Standardizer, Targets};
    /// let train = Dataset::new(
    ///     Tensor::from_vec(vec![0.0f64, 2.0], &[2, 1]),
    ///     Targets::Classes(vec![0, 1]),
    /// );
    /// let scaler = Standardizer::fit_dataset(&train);
    /// assert_eq!(scaler.transform_dataset(&train).features().to_vec(), vec![-1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn transform_dataset(&self, data: &Dataset<T>) -> Dataset<T> {
        data.with_features(self.transform(data.features()))
    }

    /// `x = x' · σ + μ`, the inverse of [`Standardizer::transform`] (for a constant column,
    /// `x' + μ`).
    ///
    /// # Panics
    /// As [`Standardizer::transform`].
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// use chainrule_train::Standardizer;
    /// let x = Tensor::from_vec(vec![1.0f64, 4.0, 7.0], &[3, 1]);
    /// let scaler = Standardizer::fit(&x);
    /// let back = scaler.inverse_transform(&scaler.transform(&x));
    /// assert!(back.as_slice().iter().zip(x.as_slice()).all(|(a, b)| (a - b).abs() < 1e-12));
    /// ```
    #[track_caller]
    pub fn inverse_transform(&self, standardized: &Tensor<T>) -> Tensor<T> {
        assert!(
            standardized.rank() == 2 && standardized.shape()[1] == self.mean.len(),
            "Standardizer::inverse_transform: fitted on {} columns, got shape {:?} (at {})",
            self.mean.len(),
            standardized.shape(),
            std::panic::Location::caller()
        );
        let columns = self.mean.len();
        let mut out = standardized.to_vec();
        if columns > 0 {
            for row in out.chunks_exact_mut(columns) {
                for ((x, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                    let s = if s > T::zero() { s } else { T::one() };
                    *x = *x * s + m;
                }
            }
        }
        Tensor::from_vec(out, standardized.shape())
    }
}
