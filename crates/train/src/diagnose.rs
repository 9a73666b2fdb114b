//! Bias and variance, in the material's terms: compare the training loss with a baseline
//! level of performance, and the validation loss with the training loss; read the validation
//! curve for its shape.
//!
//! Two layers live here:
//!
//! - [`Diagnosis`] ([`diagnose`]) is the material's two-by-two table against a baseline that
//!   can be *reached* (human-level performance, a published result, or 0), with explicit
//!   thresholds ([`DiagnosisThresholds`]):
//!   - training loss well above the baseline: **high bias** — the model underfits. Try a
//!     bigger model, more or better features, a smaller regularization λ, training longer;
//!   - validation loss well above the training loss: **high variance** — the model overfits.
//!     Try more training data, a larger λ, fewer features, a smaller model or early stopping;
//!   - both gaps large: both problems. Neither: the model is just right.
//! - [`Assessment`] ([`assess`]) is what a training run is told: it also reads the *shape*
//!   of the validation curve ([`Curve`]: still falling → train longer; rising since epoch k →
//!   overfitting since k), names a data set too small for its model, and, when no reachable
//!   level is known, compares against the simplest model fitted to the data ([`Simplest`]:
//!   predict the training mean, or the training rows' class frequencies) and, for a regression,
//!   against least squares ([`LeastSquares`]). Those are *ceilings*: a model that learns
//!   anything is well below them, but how far below it could get is unknown — so a model no
//!   better than least squares is told that the rest of its error may be noise, not that it
//!   needs to be bigger.
//!
//! Every comparison is in the units of the loss the run reports (cross-entropy, or the mean
//! squared error of the standardized target), so the same numbers are on the learning curves.

use std::fmt;

use chainrule_autodiff::Float;

use crate::{Dataset, History};

/// When a gap between two losses counts as large: when it exceeds
/// `max(absolute, relative × reference)`, the reference being the baseline (for bias) or the
/// training loss (for variance). Both parts are in the loss's own units, so set them for the
/// loss at hand; the defaults suit cross-entropy, error rates and the mean squared error of
/// standardized targets.
///
/// ```
/// use chainrule_train::{Diagnosis, DiagnosisThresholds, Verdict};
/// // The material's speech-recognition example, as error rates: human level 10.6%,
/// // training 10.8%, cross-validation 14.8%.
/// let d = Diagnosis::from_losses(0.108, 0.148, Some(0.106), &DiagnosisThresholds::default());
/// assert_eq!(d.verdict, Verdict::HighVariance);
/// let d = Diagnosis::from_losses(0.152, 0.155, Some(0.106), &DiagnosisThresholds::default());
/// assert_eq!(d.verdict, Verdict::HighBias);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiagnosisThresholds {
    /// The smallest training-minus-baseline gap that means high bias. Default 0.02.
    pub bias_absolute: f64,
    /// The same gap as a fraction of the baseline. Default 0.1.
    pub bias_relative: f64,
    /// The smallest validation-minus-training gap that means high variance. Default 0.02.
    pub variance_absolute: f64,
    /// The same gap as a fraction of the training loss. Default 0.1.
    pub variance_relative: f64,
}

impl Default for DiagnosisThresholds {
    fn default() -> Self {
        DiagnosisThresholds {
            bias_absolute: 0.02,
            bias_relative: 0.1,
            variance_absolute: 0.02,
            variance_relative: 0.1,
        }
    }
}

/// The outcome of a bias/variance diagnosis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The training loss is too high: the model underfits.
    HighBias,
    /// The validation loss is much higher than the training loss: the model overfits.
    HighVariance,
    /// Both.
    HighBiasAndVariance,
    /// Neither gap is large.
    JustRight,
}

impl Verdict {
    /// What to try next, in the material's words.
    ///
    /// ```
    /// use chainrule_train::Verdict;
    /// assert!(Verdict::HighVariance.advice().iter().any(|a| a.contains("more training data")));
    /// ```
    pub fn advice(self) -> &'static [&'static str] {
        const BIAS: &[&str] = &[
            "try a bigger model (more units or layers)",
            "try more or better features (polynomial features, say)",
            "try a smaller regularization parameter λ",
            "train longer",
        ];
        const VARIANCE: &[&str] = &[
            "get more training data",
            "try a larger regularization parameter λ",
            "try fewer features",
            "try a smaller model, dropout or early stopping",
        ];
        const BOTH: &[&str] = &[
            "fix the bias first: a bigger model, more features or a smaller λ",
            "then the variance: more training data or a larger λ",
        ];
        const NEITHER: &[&str] = &["nothing to fix: check the result on the test set"];
        match self {
            Verdict::HighBias => BIAS,
            Verdict::HighVariance => VARIANCE,
            Verdict::HighBiasAndVariance => BOTH,
            Verdict::JustRight => NEITHER,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::HighBias => "high bias (underfitting)",
            Verdict::HighVariance => "high variance (overfitting)",
            Verdict::HighBiasAndVariance => "high bias and high variance",
            Verdict::JustRight => "neither high bias nor high variance",
        })
    }
}

/// A bias/variance diagnosis: the losses compared, the gaps, their thresholds and the verdict.
/// Its `Display` prints the numbers and the advice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Diagnosis {
    /// The verdict.
    pub verdict: Verdict,
    /// The training loss judged.
    pub train_loss: f64,
    /// The validation loss judged.
    pub validation_loss: f64,
    /// The baseline (0 when none was given).
    pub baseline: f64,
    /// `train_loss − baseline`.
    pub bias_gap: f64,
    /// The bias gap above which bias counts as high.
    pub bias_threshold: f64,
    /// `validation_loss − train_loss`.
    pub variance_gap: f64,
    /// The variance gap above which variance counts as high.
    pub variance_threshold: f64,
}

impl Diagnosis {
    /// Diagnoses a training and a validation loss against a baseline (0 when `None`).
    pub fn from_losses(
        train_loss: f64,
        validation_loss: f64,
        baseline: Option<f64>,
        thresholds: &DiagnosisThresholds,
    ) -> Self {
        let baseline = baseline.unwrap_or(0.0);
        let bias_gap = train_loss - baseline;
        let variance_gap = validation_loss - train_loss;
        let bias_threshold = thresholds
            .bias_absolute
            .max(thresholds.bias_relative * baseline.abs());
        let variance_threshold = thresholds
            .variance_absolute
            .max(thresholds.variance_relative * train_loss.abs());
        let verdict = match (bias_gap > bias_threshold, variance_gap > variance_threshold) {
            (true, true) => Verdict::HighBiasAndVariance,
            (true, false) => Verdict::HighBias,
            (false, true) => Verdict::HighVariance,
            (false, false) => Verdict::JustRight,
        };
        Diagnosis {
            verdict,
            train_loss,
            validation_loss,
            baseline,
            bias_gap,
            bias_threshold,
            variance_gap,
            variance_threshold,
        }
    }

    /// Diagnoses the losses of the epoch whose parameters a run ended with
    /// ([`History::final_losses`]).
    ///
    /// ```
    /// use chainrule_train::{Diagnosis, DiagnosisThresholds, History, Verdict};
    /// let underfit = History {
    ///     train_loss: vec![1.2, 0.95, 0.9],
    ///     validation_loss: vec![1.25, 0.97, 0.93],
    ///     best_epoch: 2,
    ///     ..History::default()
    /// };
    /// let d = Diagnosis::from_history(&underfit, None, &DiagnosisThresholds::default());
    /// assert_eq!(d.verdict, Verdict::HighBias);
    /// println!("{d}");
    /// ```
    pub fn from_history(
        history: &History,
        baseline: Option<f64>,
        thresholds: &DiagnosisThresholds,
    ) -> Self {
        let (train, validation) = history.final_losses();
        Self::from_losses(train, validation, baseline, thresholds)
    }
}

/// [`Diagnosis::from_history`] with the default thresholds.
///
/// ```
/// use chainrule_train::{diagnose, History, Verdict};
/// let overfit = History {
///     train_loss: vec![0.5, 0.1, 0.01],
///     validation_loss: vec![0.6, 0.4, 0.45],
///     best_epoch: 1,
///     ..History::default()
/// };
/// assert_eq!(diagnose(&overfit, None).verdict, Verdict::HighVariance);
/// ```
pub fn diagnose(history: &History, baseline: Option<f64>) -> Diagnosis {
    Diagnosis::from_history(history, baseline, &DiagnosisThresholds::default())
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "training loss {:.4} is {:.4} above the baseline {:.4} (high bias above {:.4})",
            self.train_loss, self.bias_gap, self.baseline, self.bias_threshold
        )?;
        writeln!(
            f,
            "validation loss {:.4} is {:.4} above the training loss (high variance above {:.4})",
            self.validation_loss, self.variance_gap, self.variance_threshold
        )?;
        write!(f, "diagnosis: {}", self.verdict)?;
        for advice in self.verdict.advice() {
            write!(f, "\n- {advice}")?;
        }
        Ok(())
    }
}

// What a training run is told: the table above, the curve's shape, the size of the data, and
// baselines computed from the data when none is given.

/// The simplest model of the data, fitted on the training rows, whose loss a model has to get
/// well below: for a regression, predicting the training rows' mean (its loss the mean squared
/// error); for a classification, predicting the training rows' class frequencies for every
/// row (its loss the cross-entropy: about the entropy of the classes).
///
/// For a classification the diagnosis compares cross-entropies, not the majority class's
/// error rate with the model's: the run reports, plots and stops early on the cross-entropy,
/// which the [`History`] holds for every epoch on both parts, while the training error rate is
/// not measured per epoch. The majority class's validation error rate is kept alongside
/// ([`Simplest::majority_error`]) for the report.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::{Dataset, Simplest, Targets};
/// let x = Tensor::<f64>::zeros(&[4, 1]);
/// let train = Dataset::new(x.clone(), Targets::Values(Tensor::from_vec(vec![1.0, 3.0, 1.0, 3.0], &[4, 1])));
/// let validation = Dataset::new(x, Targets::Values(Tensor::from_vec(vec![2.0, 2.0, 2.0, 4.0], &[4, 1])));
/// let simplest = Simplest::of(&train, &validation);
/// assert_eq!(simplest.train_loss, 1.0); // the training mean, 2, is off by 1 on every row
/// assert_eq!(simplest.validation_loss, 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Simplest {
    /// Whether the targets are classes (cross-entropy) or values (mean squared error).
    pub classification: bool,
    /// Its loss on the training rows.
    pub train_loss: f64,
    /// Its loss on the validation rows.
    pub validation_loss: f64,
    /// For a classification, the validation error rate of always answering the training rows'
    /// most frequent class.
    pub majority_error: Option<f64>,
    /// For a regression, the variance of the targets of the training and of the validation
    /// rows about their own means: the denominators of R².
    pub variances: Option<[f64; 2]>,
}

impl Simplest {
    /// The simplest model of `train`, measured on `train` and `validation`. Class frequencies
    /// are add-one smoothed, so that a class absent from the training rows has a finite loss.
    ///
    /// # Panics
    /// When `train` is empty, or the two parts' targets are of different kinds.
    #[track_caller]
    pub fn of<T: Float>(train: &Dataset<T>, validation: &Dataset<T>) -> Self {
        assert!(!train.is_empty(), "Simplest::of: no training rows");
        match (train.classes(), validation.classes()) {
            (Some(train_labels), Some(validation_labels)) => {
                let classes = train_labels
                    .iter()
                    .chain(validation_labels)
                    .max()
                    .map_or(1, |&m| m + 1);
                let mut counts = vec![0usize; classes];
                for &label in train_labels {
                    counts[label] += 1;
                }
                let total = (train_labels.len() + classes) as f64;
                let log_prior: Vec<f64> = counts
                    .iter()
                    .map(|&c| ((c + 1) as f64 / total).ln())
                    .collect();
                let cross_entropy = |labels: &[usize]| {
                    -labels.iter().map(|&l| log_prior[l]).sum::<f64>() / labels.len().max(1) as f64
                };
                let majority = (0..classes).max_by_key(|&c| (counts[c], usize::MAX - c));
                let wrong = validation_labels
                    .iter()
                    .filter(|&&l| Some(l) != majority)
                    .count();
                Simplest {
                    classification: true,
                    train_loss: cross_entropy(train_labels),
                    validation_loss: cross_entropy(validation_labels),
                    majority_error: Some(wrong as f64 / validation_labels.len().max(1) as f64),
                    variances: None,
                }
            }
            (None, None) => {
                let train_values = train.values().expect("regression targets");
                let validation_values = validation.values().expect("regression targets");
                let width = train_values.numel() / train.len();
                let means = column_means(train_values.as_slice(), width);
                let squared_error = |values: &[T], means: &[f64]| {
                    let sum: f64 = values
                        .chunks(width)
                        .flat_map(|row| {
                            row.iter()
                                .zip(means)
                                .map(|(&v, m)| (v.to_f64_exact() - m).powi(2))
                        })
                        .sum();
                    sum / values.len().max(1) as f64
                };
                let train_loss = squared_error(train_values.as_slice(), &means);
                let validation_loss = squared_error(validation_values.as_slice(), &means);
                let own_means = column_means(validation_values.as_slice(), width);
                Simplest {
                    classification: false,
                    train_loss,
                    validation_loss,
                    majority_error: None,
                    variances: Some([
                        train_loss,
                        squared_error(validation_values.as_slice(), &own_means),
                    ]),
                }
            }
            _ => panic!("Simplest::of: the training and validation targets are of different kinds"),
        }
    }

    /// What the simplest model is, in words.
    pub fn describe(&self) -> &'static str {
        if self.classification {
            "predicting the training rows' class frequencies"
        } else {
            "predicting the training rows' mean"
        }
    }
}

/// The mean of each of `width` columns of a row-major matrix.
fn column_means<T: Float>(values: &[T], width: usize) -> Vec<f64> {
    let rows = (values.len() / width.max(1)).max(1) as f64;
    let mut means = vec![0.0; width];
    for row in values.chunks(width.max(1)) {
        for (mean, &v) in means.iter_mut().zip(row) {
            *mean += v.to_f64_exact();
        }
    }
    means.iter_mut().for_each(|m| *m /= rows);
    means
}

/// The losses of least squares — a linear model with an intercept, fitted exactly on the
/// training rows — for a regression: what the features explain linearly. A network that does
/// no better on the validation rows has found nothing beyond a line, and what is left may be
/// noise.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::{Dataset, LeastSquares, Targets};
/// // y = 2x + 1 exactly: least squares leaves nothing.
/// let x: Vec<f64> = (0..6).map(f64::from).collect();
/// let y: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
/// let data = Dataset::new(Tensor::from_vec(x, &[6, 1]), Targets::Values(Tensor::from_vec(y, &[6, 1])));
/// let fit = LeastSquares::fit(&data, &data).unwrap();
/// assert!(fit.train_loss < 1e-12 && fit.validation_loss < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeastSquares {
    /// Its mean squared error on the training rows.
    pub train_loss: f64,
    /// Its mean squared error on the validation rows.
    pub validation_loss: f64,
}

impl LeastSquares {
    /// Least squares on `train` (features and targets as given: standardize both first for
    /// losses in the run's units), measured on both parts. `None` for classes, for fewer
    /// training rows than coefficients (no unique fit), for more than
    /// [`LeastSquares::MAX_WORK`] multiply-adds, or when the features are collinear.
    pub fn fit<T: Float>(train: &Dataset<T>, validation: &Dataset<T>) -> Option<Self> {
        let (train_y, validation_y) = (train.values()?, validation.values()?);
        let rows = train.len();
        let coefficients = train.num_features() + 1;
        let outputs = train_y.numel() / rows.max(1);
        if rows <= coefficients
            || (rows as u128) * (coefficients as u128).pow(2) > Self::MAX_WORK
            || outputs == 0
        {
            return None;
        }
        let row_of = |data: &Dataset<T>, r: usize| -> Vec<f64> {
            let d = data.num_features();
            std::iter::once(1.0)
                .chain(
                    data.features().as_slice()[r * d..(r + 1) * d]
                        .iter()
                        .map(|v| v.to_f64_exact()),
                )
                .collect()
        };
        // The normal equations XᵀX w = Xᵀy, solved by Cholesky with a ridge far below any
        // real signal, there only to keep round-off from breaking the factorization.
        let mut gram = vec![0.0; coefficients * coefficients];
        let mut moments = vec![0.0; coefficients * outputs];
        let y = train_y.as_slice();
        for r in 0..rows {
            let x = row_of(train, r);
            for i in 0..coefficients {
                for j in 0..=i {
                    gram[i * coefficients + j] += x[i] * x[j];
                }
                for o in 0..outputs {
                    moments[i * outputs + o] += x[i] * y[r * outputs + o].to_f64_exact();
                }
            }
        }
        let trace: f64 = (0..coefficients).map(|i| gram[i * coefficients + i]).sum();
        let ridge = 1e-10 * trace / coefficients as f64;
        for i in 0..coefficients {
            gram[i * coefficients + i] += ridge;
        }
        let lower = cholesky(&gram, coefficients)?;
        let weights: Vec<Vec<f64>> = (0..outputs)
            .map(|o| {
                let rhs: Vec<f64> = (0..coefficients)
                    .map(|i| moments[i * outputs + o])
                    .collect();
                cholesky_solve(&lower, coefficients, &rhs)
            })
            .collect();
        let loss = |data: &Dataset<T>, targets: &[T]| {
            let mut sum = 0.0;
            for r in 0..data.len() {
                let x = row_of(data, r);
                for (o, w) in weights.iter().enumerate() {
                    let predicted: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
                    sum += (predicted - targets[r * outputs + o].to_f64_exact()).powi(2);
                }
            }
            sum / (data.len() * outputs).max(1) as f64
        };
        let fit = LeastSquares {
            train_loss: loss(train, y),
            validation_loss: loss(validation, validation_y.as_slice()),
        };
        (fit.train_loss.is_finite() && fit.validation_loss.is_finite()).then_some(fit)
    }

    /// The most multiply-adds (rows × coefficients²) spent on the normal equations: a
    /// hundred thousand rows of a hundred features, a second or so.
    pub const MAX_WORK: u128 = 1_000_000_000;
}

/// The lower-triangular Cholesky factor of a symmetric matrix given by its lower triangle
/// (row-major, `n × n`); `None` when it is not positive definite.
fn cholesky(matrix: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut lower = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| lower[i * n + k] * lower[j * n + k]).sum();
            let value = matrix[i * n + j] - dot;
            if i == j {
                if value <= 0.0 || !value.is_finite() {
                    return None;
                }
                lower[i * n + i] = value.sqrt();
            } else {
                lower[i * n + j] = value / lower[j * n + j];
            }
        }
    }
    Some(lower)
}

/// Solves `L Lᵀ x = b` for the factor of [`cholesky`].
fn cholesky_solve(lower: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; n];
    for i in 0..n {
        let dot: f64 = (0..i).map(|k| lower[i * n + k] * z[k]).sum();
        z[i] = (b[i] - dot) / lower[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let dot: f64 = (i + 1..n).map(|k| lower[k * n + i] * x[k]).sum();
        x[i] = (z[i] - dot) / lower[i * n + i];
    }
    x
}

/// The shape of the validation curve, read from a [`History`]. Epochs count from 0.
///
/// ```
/// use chainrule_train::{Curve, History};
/// let falling = History {
///     train_loss: vec![1.0, 0.6, 0.4, 0.3, 0.25],
///     validation_loss: vec![1.1, 0.7, 0.5, 0.42, 0.38],
///     best_epoch: 4,
///     ..History::default()
/// };
/// assert_eq!(Curve::of(&falling, 1.0), Curve::StillFalling);
/// let rising = History {
///     train_loss: vec![1.0, 0.5, 0.3, 0.2, 0.1, 0.05],
///     validation_loss: vec![1.1, 0.6, 0.5, 0.55, 0.6, 0.7],
///     best_epoch: 2,
///     ..History::default()
/// };
/// assert_eq!(Curve::of(&rising, 1.0), Curve::RisingSince { best_epoch: 2 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// Fewer than [`Curve::MIN_EPOCHS`] epochs: no shape to read.
    TooShort,
    /// The lowest validation loss is among the last tenth of the epochs (two at least), and
    /// their mean is
    /// more than [`Curve::STILL_FALLING`] of the problem's scale (the simplest model's loss)
    /// below the mean of the tenth before.
    StillFalling,
    /// The validation loss was lowest at `best_epoch` and, at least
    /// [`Curve::MIN_EPOCHS_AFTER`] epochs later, ended more than [`Curve::RISE`] of itself
    /// higher: the model has overfitted since.
    RisingSince {
        /// The epoch of the lowest validation loss.
        best_epoch: usize,
    },
    /// Neither: the validation loss has levelled off.
    Levelled,
}

impl Curve {
    /// The fewest epochs whose curve has a shape.
    pub const MIN_EPOCHS: usize = 3;
    /// The fall between the last two tenths of the run, as a share of the simplest model's
    /// loss, that counts as still falling: a fall that matters at the problem's scale, not
    /// the crawl of a levelled curve.
    pub const STILL_FALLING: f64 = 0.01;
    /// The relative rise above the lowest validation loss that counts as rising.
    pub const RISE: f64 = 0.05;
    /// The fewest epochs after the lowest for a rise to count.
    pub const MIN_EPOCHS_AFTER: usize = 3;

    /// Reads the validation curve of `history`; `scale` is the loss of the simplest model
    /// ([`Simplest`]), against which a fall is measured.
    pub fn of(history: &History, scale: f64) -> Curve {
        let losses = &history.validation_loss;
        let epochs = losses.len();
        if epochs < Self::MIN_EPOCHS || losses.iter().any(|l| !l.is_finite()) {
            return Curve::TooShort;
        }
        let best = losses
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        let lowest = losses[best];
        let last = epochs - 1;
        let tail = (epochs / 10).max(2).min(epochs / 2);
        let mean = |part: &[f64]| part.iter().sum::<f64>() / part.len().max(1) as f64;
        let recent = mean(&losses[epochs - tail..]);
        let before = mean(&losses[epochs.saturating_sub(2 * tail)..epochs - tail]);
        if best + tail >= epochs && before - recent > Self::STILL_FALLING * scale.abs() {
            return Curve::StillFalling;
        }
        if last >= best + Self::MIN_EPOCHS_AFTER
            && losses[last] - lowest > Self::RISE * lowest.abs()
        {
            return Curve::RisingSince { best_epoch: best };
        }
        Curve::Levelled
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Curve::TooShort => f.write_str("too few epochs to have a shape"),
            Curve::StillFalling => f.write_str("still falling at the last epoch"),
            Curve::RisingSince { best_epoch } => {
                write!(f, "lowest at epoch {}, rising since", best_epoch + 1)
            }
            Curve::Levelled => f.write_str("levelled off"),
        }
    }
}

/// What [`assess`] knows of a run besides its [`History`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunFacts {
    /// A loss that can be reached — human-level performance, a published result — in the
    /// loss's units: a floor. When given, bias is judged against it.
    pub reachable: Option<f64>,
    /// The simplest model's losses: a ceiling, the baseline when no reachable level is given.
    pub simplest: Simplest,
    /// Least squares' losses, for a regression.
    pub least_squares: Option<LeastSquares>,
    /// Training rows.
    pub training_rows: usize,
    /// Validation rows.
    pub validation_rows: usize,
    /// Input features.
    pub features: usize,
    /// Trained numbers in the model.
    pub parameters: usize,
}

impl RunFacts {
    /// The fewest training rows a model is trained and judged on: [`RunFacts::MIN_ROWS`], and
    /// more rows than features (fewer can be fitted by any line through them).
    pub fn min_training_rows(&self) -> usize {
        Self::MIN_ROWS.max(self.features + 1)
    }

    /// The least of [`RunFacts::min_training_rows`].
    pub const MIN_ROWS: usize = 20;
    /// The fewest validation rows whose loss says anything about the model rather than the
    /// rows drawn.
    pub const MIN_VALIDATION_ROWS: usize = 5;
}

/// What [`assess`] concludes, in the order it is looked for: a data set too small comes
/// first, a curve still falling next (the numbers of an unfinished run say little), then the
/// material's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finding {
    /// Too few rows to train this model or to judge it.
    TooFewRows,
    /// The validation loss was still falling when the run ended.
    TrainLonger,
    /// The training loss is too high: the model underfits.
    HighBias,
    /// The validation loss is well above the training loss: the model overfits.
    HighVariance,
    /// Both.
    HighBiasAndVariance,
    /// A regression no better than least squares, with no reachable level given: what is left
    /// may be noise, and a bigger model is not what the numbers ask for.
    MayBeNoise,
    /// No gap is large.
    JustRight,
}

impl Finding {
    /// What to try next.
    ///
    /// ```
    /// use chainrule_train::Finding;
    /// assert!(Finding::TrainLonger.advice().iter().any(|a| a.contains("more epochs")));
    /// ```
    pub fn advice(self) -> &'static [&'static str] {
        match self {
            Finding::TooFewRows => &[
                "get more rows: no model is trained or judged on so few",
                "meanwhile, keep the model small: a linear one (no hidden layer) with a \
                 larger regularization λ",
            ],
            Finding::TrainLonger => &[
                "train longer: more epochs (the validation loss was still falling)",
                "or a larger learning rate, if every epoch gains little",
            ],
            Finding::MayBeNoise => &[
                "a bigger model is not what the numbers ask for: least squares does as well",
                "better features could help; if a lower loss is known to be reachable, give \
                 it as the baseline to judge bias against it",
            ],
            Finding::HighBias => Verdict::HighBias.advice(),
            Finding::HighVariance => Verdict::HighVariance.advice(),
            Finding::HighBiasAndVariance => Verdict::HighBiasAndVariance.advice(),
            Finding::JustRight => Verdict::JustRight.advice(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Finding::TooFewRows => "too few rows for this model",
            Finding::TrainLonger => "still improving: train longer",
            Finding::MayBeNoise => "as good as least squares: the rest may be noise",
            Finding::HighBias => "high bias (underfitting)",
            Finding::HighVariance => "high variance (overfitting)",
            Finding::HighBiasAndVariance => "high bias and high variance",
            Finding::JustRight => "neither high bias nor high variance",
        })
    }
}

/// A run's diagnosis: the finding, the reason in words (which baseline was used, and how),
/// the curve's shape and the numbers compared. Its `Display` prints them with the advice.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// The conclusion.
    pub finding: Finding,
    /// Why, in a sentence or two with the numbers.
    pub reason: String,
    /// The validation curve's shape.
    pub curve: Curve,
    /// The epoch judged (from 0): the one whose parameters the run ended with.
    pub epoch: usize,
    /// Its training loss.
    pub train_loss: f64,
    /// Its validation loss.
    pub validation_loss: f64,
    /// What the run was compared with.
    pub facts: RunFacts,
}

impl Assessment {
    /// What the bias was judged against, in words.
    pub fn baseline_used(&self) -> String {
        match self.facts.reachable {
            Some(level) => format!(
                "the reachable level given, {level:.4}: a floor the training loss should come near"
            ),
            None => format!(
                "the simplest model ({}), loss {:.4} on the training rows: a ceiling the \
                 training loss must be well below",
                self.facts.simplest.describe(),
                self.facts.simplest.train_loss
            ),
        }
    }

    /// R² on the training and validation rows, for a regression: 1 − loss / variance of
    /// the part's targets (1 is perfect, 0 no better than that part's own mean).
    pub fn r_squared(&self) -> Option<[f64; 2]> {
        let [train, validation] = self.facts.simplest.variances?;
        Some([
            1.0 - self.train_loss / train,
            1.0 - self.validation_loss / validation,
        ])
    }
}

/// The gap above which a difference of losses is large: [`LARGE_GAP_OF_BASELINE`] of the
/// simplest model's loss (the problem's scale), or [`LARGE_GAP_OF_LOSS`] of the smaller loss
/// compared, whichever is larger. Differences of validation losses also allow for the
/// sampling error of the validation loss ([`sampling_error`]).
///
/// ```
/// use chainrule_train::diagnose::large_gap;
/// // Iris: the class frequencies' cross-entropy ln 3; a training loss of 0.08.
/// assert!((large_gap(3f64.ln(), 0.08) - 0.05 * 3f64.ln()).abs() < 1e-12);
/// ```
pub fn large_gap(scale: f64, loss: f64) -> f64 {
    (LARGE_GAP_OF_BASELINE * scale.abs()).max(LARGE_GAP_OF_LOSS * loss.abs())
}

/// How much a validation loss moves with the rows drawn: `loss × √(2/n)`, the standard error
/// of a mean squared error of `n` Gaussian residuals — an approximation for the cross-entropy
/// too. On 88 rows it is 15% of the loss: differences smaller than that are not evidence.
///
/// ```
/// use chainrule_train::diagnose::sampling_error;
/// assert!((sampling_error(0.6, 88) - 0.6 * (2.0f64 / 88.0).sqrt()).abs() < 1e-12);
/// ```
pub fn sampling_error(loss: f64, rows: usize) -> f64 {
    loss.abs() * (2.0 / rows.max(1) as f64).sqrt()
}

/// See [`large_gap`].
pub const LARGE_GAP_OF_BASELINE: f64 = 0.05;
/// See [`large_gap`].
pub const LARGE_GAP_OF_LOSS: f64 = 0.1;
/// A training loss above this share of the simplest model's has learned little: high bias.
pub const LITTLE_LEARNED: f64 = 0.9;

/// Diagnoses a run: the epoch it ended with, against `facts`.
///
/// - Fewer training rows than [`RunFacts::min_training_rows`], or validation rows than
///   [`RunFacts::MIN_VALIDATION_ROWS`]: [`Finding::TooFewRows`].
/// - A validation curve still falling ([`Curve::StillFalling`]): [`Finding::TrainLonger`],
///   whatever the gaps — an unfinished run is not overfitting.
/// - Bias: with a reachable level, the training loss more than [`DiagnosisThresholds`]'s
///   default gap above it. Without one, the training loss above [`LITTLE_LEARNED`] of the
///   simplest model's, or (a regression) a large gap above least squares' training loss.
/// - Variance: the validation loss a large gap ([`large_gap`], or the validation loss's
///   [`sampling_error`]) above the training loss, less the gap least squares has too (which
///   is the split's, not the model's); or a validation curve rising while the weights kept
///   are the last epoch's.
/// - A regression with neither, no reachable level, and a validation loss no better than
///   least squares' by more than its sampling error: [`Finding::MayBeNoise`] (and the reason
///   says so with the other findings too).
///
/// ```
/// use chainrule_train::{assess, Finding, History, RunFacts, Simplest};
/// let facts = RunFacts {
///     reachable: None,
///     simplest: Simplest {
///         classification: true,
///         train_loss: 1.1,
///         validation_loss: 1.1,
///         majority_error: Some(0.67),
///         variances: None,
///     },
///     least_squares: None,
///     training_rows: 90,
///     validation_rows: 30,
///     features: 4,
///     parameters: 17_155,
/// };
/// let overfit = History {
///     train_loss: vec![0.9, 0.3, 0.1, 0.05, 0.02, 0.01],
///     validation_loss: vec![0.9, 0.4, 0.3, 0.35, 0.4, 0.5],
///     best_epoch: 2,
///     ..History::default()
/// };
/// let a = assess(&overfit, &facts);
/// assert_eq!(a.finding, Finding::HighVariance);
/// assert!(a.reason.contains("overfitting since epoch 3"), "{}", a.reason);
/// ```
pub fn assess(history: &History, facts: &RunFacts) -> Assessment {
    let curve = Curve::of(history, facts.simplest.train_loss);
    let epoch = history.final_epoch();
    let (train, validation) = history.final_losses();
    let simplest = &facts.simplest;
    let done = |finding: Finding, reason: String| Assessment {
        finding,
        reason,
        curve,
        epoch,
        train_loss: train,
        validation_loss: validation,
        facts: *facts,
    };

    if facts.training_rows < facts.min_training_rows()
        || facts.validation_rows < RunFacts::MIN_VALIDATION_ROWS
    {
        return done(
            Finding::TooFewRows,
            format!(
                "{} training and {} validation rows for a model of {} parameters on {} \
                 features: at least {} training and {} validation rows are needed before the \
                 losses say anything about the model rather than the rows drawn",
                facts.training_rows,
                facts.validation_rows,
                facts.parameters,
                facts.features,
                facts.min_training_rows(),
                RunFacts::MIN_VALIDATION_ROWS
            ),
        );
    }
    if curve == Curve::StillFalling {
        return done(
            Finding::TrainLonger,
            format!(
                "the validation loss was still falling at the last epoch ({} of them, lowest \
                 {:.4} at the end): the run stopped before the model was done, so the gaps \
                 between the losses are not yet overfitting",
                history.epochs(),
                history.best_validation_loss()
            ),
        );
    }

    let mut reasons: Vec<String> = Vec::new();
    let scale = simplest.train_loss;
    let high_bias = match facts.reachable {
        Some(level) => {
            let table = Diagnosis::from_losses(
                train,
                validation,
                Some(level),
                &DiagnosisThresholds::default(),
            );
            let high = table.bias_gap > table.bias_threshold;
            reasons.push(format!(
                "training loss {train:.4} is {:.4} {} the reachable level {level:.4} given \
                 (high bias above {:.4})",
                table.bias_gap.abs(),
                if table.bias_gap >= 0.0 {
                    "above"
                } else {
                    "below"
                },
                table.bias_threshold
            ));
            high
        }
        None => {
            let share = train / scale;
            let line_better = facts
                .least_squares
                .filter(|line| train - line.train_loss > large_gap(scale, line.train_loss));
            if share > LITTLE_LEARNED {
                reasons.push(format!(
                    "training loss {train:.4} is {:.0}% of the simplest model's {scale:.4} \
                     ({}): the model has learned little from the features, or they say little \
                     about the target",
                    100.0 * share,
                    simplest.describe()
                ));
                true
            } else if let Some(line) = line_better {
                reasons.push(format!(
                    "training loss {train:.4} is above least squares' {:.4}: a linear model \
                     fits the training rows better, so the network underfits",
                    line.train_loss
                ));
                true
            } else {
                reasons.push(format!(
                    "training loss {train:.4} is {:.0}% of the simplest model's {scale:.4} \
                     ({}), a ceiling: how much lower it could go is not known without a \
                     reachable level",
                    100.0 * share,
                    simplest.describe()
                ));
                false
            }
        }
    };

    let gap = validation - train;
    let split_gap = facts.least_squares.map_or(0.0, |line| {
        (line.validation_loss - line.train_loss).max(0.0)
    });
    let noise = sampling_error(validation, facts.validation_rows);
    let variance_threshold = split_gap + large_gap(scale, train).max(noise);
    let mut high_variance = gap > variance_threshold;
    let split_note = if split_gap > 0.0 {
        format!(" (least squares' own gap, {split_gap:.4}, counted as the split's)")
    } else {
        String::new()
    };
    reasons.push(format!(
        "validation loss {validation:.4} is {:.4} {} the training loss (high variance above \
         {variance_threshold:.4}{split_note})",
        gap.abs(),
        if gap >= 0.0 { "above" } else { "below" }
    ));
    if let Curve::RisingSince { best_epoch } = curve {
        let lowest = history.validation_loss[best_epoch];
        let end = history.validation_loss[history.epochs() - 1];
        if history.restored_best && epoch == best_epoch {
            reasons.push(format!(
                "the validation loss has risen since epoch {k}, from {lowest:.4} to \
                 {end:.4}: overfitting since epoch {k}; early stopping restored epoch {k}'s \
                 weights, which are the ones judged",
                k = best_epoch + 1,
            ));
        } else {
            high_variance = true;
            reasons.push(format!(
                "the validation loss has risen since epoch {k}, from {lowest:.4} to \
                 {end:.4}: overfitting since epoch {k}, and the weights kept are the last \
                 epoch's",
                k = best_epoch + 1,
            ));
        }
    }

    // A regression no better than a line on new rows, with no level known to be reachable:
    // the error left may be the target's noise, whatever the gaps say.
    let like_a_line = match (facts.reachable, facts.least_squares) {
        (None, Some(line)) if !high_bias && line.validation_loss - validation <= noise => {
            reasons.push(format!(
                "the validation loss is no better than least squares' {:.4} (within its \
                 sampling error, {noise:.4}): the model finds little a line does not, and the \
                 error left may be noise, unless a reachable level says a lower loss can be had",
                line.validation_loss
            ));
            true
        }
        _ => false,
    };
    let finding = match (high_bias, high_variance) {
        (true, true) => Finding::HighBiasAndVariance,
        (true, false) => Finding::HighBias,
        (false, true) => Finding::HighVariance,
        (false, false) if like_a_line => Finding::MayBeNoise,
        (false, false) => Finding::JustRight,
    };
    done(finding, reasons.join("; "))
}

impl fmt::Display for Assessment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "baseline: {}", self.baseline_used())?;
        if let Some(line) = self.facts.least_squares {
            writeln!(
                f,
                "least squares: training loss {:.4}, validation loss {:.4}",
                line.train_loss, line.validation_loss
            )?;
        }
        writeln!(f, "validation curve: {}", self.curve)?;
        writeln!(f, "diagnosis: {}", self.finding)?;
        write!(f, "because {}", self.reason)?;
        for advice in self.finding.advice() {
            write!(f, "\n- {advice}")?;
        }
        Ok(())
    }
}
