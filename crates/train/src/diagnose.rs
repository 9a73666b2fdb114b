//! Bias and variance, in the material's terms: compare the training loss with a baseline
//! (what is achievable — human-level performance, a published result, or 0) and the validation
//! loss with the training loss.
//!
//! - Training loss well above the baseline: **high bias** — the model underfits. Try a bigger
//!   model, more or better features, a smaller regularization λ, training longer.
//! - Training loss near the baseline but validation loss well above it: **high variance** — the
//!   model overfits. Try more training data, a larger λ, fewer features, a smaller model or
//!   early stopping.
//! - Both gaps large: both problems. Neither: the model is just right.
//!
//! "Well above" is a threshold, explicit in [`DiagnosisThresholds`].

use std::fmt;

use crate::History;

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
