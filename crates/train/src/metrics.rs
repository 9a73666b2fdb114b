//! Metrics that judge predictions against the truth: accuracy, mean squared error, binary log
//! loss and the confusion matrix.
//!
//! Every metric takes what the model says first and the truth second, and returns an `f64`
//! whatever the tensors' float type.

use std::fmt;

use chainrule_autodiff::{Float, Tensor};

/// The probability log loss clips to `[ε, 1 − ε]` before taking logarithms, so a confident
/// wrong answer costs a large but finite amount (scikit-learn's historical choice).
pub const LOG_LOSS_EPSILON: f64 = 1e-15;

/// The class each row of `outputs` predicts. For `[n, k]` with `k ≥ 2` (logits or
/// probabilities), the column with the largest value (the first one on a tie). For one logit
/// per row (`[n, 1]` or `[n]`), class 1 when the logit is positive (that is, when
/// `sigmoid(logit) > 0.5`), else class 0.
///
/// # Panics
/// When `outputs` is not of rank 1 or 2, or has no columns.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::predicted_classes;
/// let logits = Tensor::from_vec(vec![0.1f32, 2.0, -1.0, 3.0, 0.0, 0.5], &[2, 3]);
/// assert_eq!(predicted_classes(&logits), [1, 0]);
/// let binary = Tensor::from_vec(vec![-0.3f64, 1.2], &[2, 1]);
/// assert_eq!(predicted_classes(&binary), [0, 1]);
/// ```
#[track_caller]
pub fn predicted_classes<T: Float>(outputs: &Tensor<T>) -> Vec<usize> {
    let columns = match outputs.shape() {
        [_] => 1,
        [_, k] if *k > 0 => *k,
        shape => panic!(
            "predicted_classes: expected outputs [rows, classes] or [rows], got shape {shape:?} \
             (at {})",
            std::panic::Location::caller()
        ),
    };
    let data = outputs.as_slice();
    if columns == 1 {
        return data.iter().map(|&v| usize::from(v > T::zero())).collect();
    }
    data.chunks_exact(columns)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// The fraction of rows whose predicted class (see [`predicted_classes`]) equals the label.
///
/// # Panics
/// When the number of rows differs from the number of labels, or as [`predicted_classes`].
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::accuracy;
/// let logits = Tensor::from_vec(vec![2.0f64, 1.0, 0.0, 5.0, 1.0, 0.0], &[3, 2]);
/// assert_eq!(accuracy(&logits, &[0, 1, 1]), 2.0 / 3.0);
/// ```
#[track_caller]
pub fn accuracy<T: Float>(outputs: &Tensor<T>, labels: &[usize]) -> f64 {
    accuracy_of_classes(&predicted_classes(outputs), labels)
}

/// The fraction of predicted classes equal to the labels (0 for no rows).
///
/// # Panics
/// When the lengths differ.
///
/// ```
/// use chainrule_train::accuracy_of_classes;
/// assert_eq!(accuracy_of_classes(&[1, 2, 3, 4], &[1, 2, 0, 0]), 0.5);
/// ```
#[track_caller]
pub fn accuracy_of_classes(predicted: &[usize], labels: &[usize]) -> f64 {
    assert!(
        predicted.len() == labels.len(),
        "accuracy: {} predictions but {} labels (at {})",
        predicted.len(),
        labels.len(),
        std::panic::Location::caller()
    );
    if labels.is_empty() {
        return 0.0;
    }
    let right = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / labels.len() as f64
}

/// `1/N · Σ (prediction − target)²` over every element (the plain mean; the material's
/// `1/(2m)` cost is half of this).
///
/// # Panics
/// When the shapes differ or are empty.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::mean_squared_error;
/// let predicted = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3, 1]);
/// let target = Tensor::from_vec(vec![1.0f64, 0.0, 6.0], &[3, 1]);
/// assert_eq!(mean_squared_error(&predicted, &target), (0.0 + 4.0 + 9.0) / 3.0);
/// ```
#[track_caller]
pub fn mean_squared_error<T: Float>(predictions: &Tensor<T>, targets: &Tensor<T>) -> f64 {
    assert!(
        predictions.shape() == targets.shape() && predictions.numel() > 0,
        "mean_squared_error: predictions have shape {:?}, targets {:?}; they must be equal and \
         non-empty (at {})",
        predictions.shape(),
        targets.shape(),
        std::panic::Location::caller()
    );
    let sum: f64 = predictions
        .as_slice()
        .iter()
        .zip(targets.as_slice())
        .map(|(&p, &t)| {
            let d = p.to_f64_exact() - t.to_f64_exact();
            d * d
        })
        .sum();
    sum / predictions.numel() as f64
}

/// The binary log loss (cross-entropy) of probabilities `p` (`[n]` or `[n, 1]`, the
/// probability of class 1) against labels `y ∈ {0, 1}`:
/// `−1/n · Σ [y·ln p + (1 − y)·ln(1 − p)]`, with `p` clipped to
/// `[LOG_LOSS_EPSILON, 1 − LOG_LOSS_EPSILON]`.
///
/// # Panics
/// When the number of probabilities differs from the number of labels, there are none, or a
/// label is neither 0 nor 1.
///
/// ```
/// use chainrule_autodiff::Tensor;
/// use chainrule_train::log_loss;
/// let p = Tensor::from_vec(vec![0.9f64, 0.2], &[2]);
/// let expected = -(0.9f64.ln() + 0.8f64.ln()) / 2.0;
/// assert!((log_loss(&p, &[1, 0]) - expected).abs() < 1e-12);
/// ```
#[track_caller]
pub fn log_loss<T: Float>(probabilities: &Tensor<T>, labels: &[usize]) -> f64 {
    let single_column = match probabilities.shape() {
        [_] => true,
        [_, k] => *k == 1,
        _ => false,
    };
    assert!(
        single_column && probabilities.numel() == labels.len() && !labels.is_empty(),
        "log_loss: expected one probability per label, [n] or [n, 1]; got shape {:?} for {} \
         labels (at {})",
        probabilities.shape(),
        labels.len(),
        std::panic::Location::caller()
    );
    let sum: f64 = probabilities
        .as_slice()
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p
                .to_f64_exact()
                .clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON);
            match y {
                1 => -p.ln(),
                0 => -(1.0 - p).ln(),
                other => panic!(
                    "log_loss: label {other} is neither 0 nor 1 (at {})",
                    std::panic::Location::caller()
                ),
            }
        })
        .sum();
    sum / labels.len() as f64
}

/// Counts of (actual class, predicted class) pairs: row `i`, column `j` is the number of
/// examples of class `i` predicted as class `j`, so the diagonal holds the right answers.
///
/// ```
/// use chainrule_train::ConfusionMatrix;
/// let m = ConfusionMatrix::new(&[0, 1, 1, 1], &[0, 0, 1, 1], 2);
/// assert_eq!(m.count(0, 1), 1); // one 0 taken for a 1
/// assert_eq!(m.accuracy(), 0.75);
/// assert_eq!(m.recall(0), 0.5);
/// assert_eq!(m.precision(1), 2.0 / 3.0);
/// println!("{m}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// Counts `predicted` against `labels` (the truth) for classes `0..classes`.
    ///
    /// # Panics
    /// When the lengths differ or a class is `classes` or more.
    #[track_caller]
    pub fn new(predicted: &[usize], labels: &[usize], classes: usize) -> Self {
        assert!(
            predicted.len() == labels.len(),
            "ConfusionMatrix::new: {} predictions but {} labels (at {})",
            predicted.len(),
            labels.len(),
            std::panic::Location::caller()
        );
        let mut counts = vec![0; classes * classes];
        for (&p, &l) in predicted.iter().zip(labels) {
            assert!(
                p < classes && l < classes,
                "ConfusionMatrix::new: class {} is out of range for {classes} classes (at {})",
                p.max(l),
                std::panic::Location::caller()
            );
            counts[l * classes + p] += 1;
        }
        ConfusionMatrix { classes, counts }
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many examples of class `actual` were predicted as `predicted`.
    ///
    /// # Panics
    /// When a class is out of range.
    #[track_caller]
    pub fn count(&self, actual: usize, predicted: usize) -> usize {
        assert!(
            actual < self.classes && predicted < self.classes,
            "ConfusionMatrix::count: class {} is out of range for {} classes (at {})",
            actual.max(predicted),
            self.classes,
            std::panic::Location::caller()
        );
        self.counts[actual * self.classes + predicted]
    }

    /// The number of examples counted.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The fraction on the diagonal (0 when empty).
    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..self.classes).map(|c| self.count(c, c)).sum();
        ratio(right, self.total())
    }

    /// Of the examples predicted as `class`, the fraction that are (0 when none were).
    #[track_caller]
    pub fn precision(&self, class: usize) -> f64 {
        let predicted: usize = (0..self.classes).map(|a| self.count(a, class)).sum();
        ratio(self.count(class, class), predicted)
    }

    /// Of the examples of `class`, the fraction predicted as such (0 when there are none).
    #[track_caller]
    pub fn recall(&self, class: usize) -> f64 {
        let actual: usize = (0..self.classes).map(|p| self.count(class, p)).sum();
        ratio(self.count(class, class), actual)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A table with one row per actual class and one column per predicted class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widest = self.counts.iter().max().copied().unwrap_or(0);
        let width = widest
            .to_string()
            .len()
            .max(self.classes.saturating_sub(1).to_string().len());
        let label = "actual \\ predicted";
        write!(f, "{label}")?;
        for p in 0..self.classes {
            write!(f, " {p:>width$}")?;
        }
        for a in 0..self.classes {
            write!(f, "\n{a:>w$}", w = label.len())?;
            for p in 0..self.classes {
                write!(f, " {:>width$}", self.count(a, p))?;
            }
        }
        Ok(())
    }
}
