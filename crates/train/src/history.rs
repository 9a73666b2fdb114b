//! The record of a training run: the loss on the training and validation sets after each
//! epoch, a validation metric (accuracy or R²), the best epoch, and how the run ended. [`crate::fit()`] returns one;
//! [`crate::Diagnosis`] reads it.

use std::fmt;

/// Per-epoch losses of a training run. Epochs are counted from 0 here (index into the
/// vectors); progress messages count them from 1.
///
/// ```
/// use chainrule_train::History;
/// let history = History {
///     train_loss: vec![0.9, 0.5, 0.3],
///     validation_loss: vec![1.0, 0.6, 0.7],
///     best_epoch: 1,
///     stopped_early: false,
///     restored_best: true,
///     metric: None,
///     validation_metric: vec![],
/// };
/// assert_eq!(history.epochs(), 3);
/// assert_eq!(history.best_validation_loss(), 0.6);
/// assert_eq!(history.final_epoch(), 1); // the parameters are epoch 1's
/// assert_eq!(history.final_losses(), (0.5, 0.6));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The training loss of each epoch (the data loss, without any penalty term).
    pub train_loss: Vec<f64>,
    /// The validation loss after each epoch, in evaluation mode.
    pub validation_loss: Vec<f64>,
    /// The epoch with the lowest validation loss (the earliest on a tie).
    pub best_epoch: usize,
    /// Whether early stopping ended the run before the last epoch.
    pub stopped_early: bool,
    /// Whether the parameters were set back to those of [`History::best_epoch`] at the end.
    pub restored_best: bool,
    /// What [`History::validation_metric`] measures; `None` when the model's outputs are
    /// neither class scores (two columns or more, for class labels) nor values.
    pub metric: Option<Metric>,
    /// The validation metric after each epoch (empty when [`History::metric`] is `None`).
    pub validation_metric: Vec<f64>,
}

/// A measure of the validation set's predictions that people read more easily than the loss.
///
/// ```
/// use chainrule_train::Metric;
/// assert_eq!(Metric::Accuracy.name(), "accuracy");
/// assert_eq!(Metric::RSquared.column(), "validation_r_squared");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// The share of rows whose highest-scoring output is their class (for class labels).
    Accuracy,
    /// 1 − mean squared error / variance of the targets (for values): 1 is perfect, 0 no
    /// better than the validation targets' own mean. Unchanged by standardizing the targets.
    RSquared,
}

impl Metric {
    /// Its name in words.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::RSquared => "R²",
        }
    }

    /// Its column in a history CSV.
    pub fn column(self) -> &'static str {
        match self {
            Metric::Accuracy => "validation_accuracy",
            Metric::RSquared => "validation_r_squared",
        }
    }
}

impl History {
    /// The number of epochs run.
    pub fn epochs(&self) -> usize {
        self.train_loss.len()
    }

    /// The lowest validation loss (NaN when no epoch ran).
    pub fn best_validation_loss(&self) -> f64 {
        self.validation_loss
            .get(self.best_epoch)
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// The epoch whose parameters the model ended with: the best one when they were restored,
    /// else the last.
    pub fn final_epoch(&self) -> usize {
        if self.restored_best {
            self.best_epoch
        } else {
            self.epochs().saturating_sub(1)
        }
    }

    /// The validation metric of `epoch`, when one was measured.
    pub fn metric_at(&self, epoch: usize) -> Option<(Metric, f64)> {
        Some((self.metric?, *self.validation_metric.get(epoch)?))
    }

    /// The training and validation loss of [`History::final_epoch`] (NaN when no epoch ran).
    pub fn final_losses(&self) -> (f64, f64) {
        let epoch = self.final_epoch();
        (
            self.train_loss.get(epoch).copied().unwrap_or(f64::NAN),
            self.validation_loss.get(epoch).copied().unwrap_or(f64::NAN),
        )
    }
}

impl fmt::Display for History {
    /// One line per epoch (counted from 1), the best marked with `*`, then how it ended.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:>6}  {:>12}  {:>12}", "epoch", "train", "validation")?;
        for (epoch, (train, validation)) in self
            .train_loss
            .iter()
            .zip(&self.validation_loss)
            .enumerate()
        {
            let mark = if epoch == self.best_epoch { " *" } else { "" };
            writeln!(
                f,
                "{:>6}  {train:>12.6}  {validation:>12.6}{mark}",
                epoch + 1
            )?;
        }
        let how = if self.stopped_early {
            "stopped early"
        } else {
            "ran every epoch"
        };
        let kept = if self.restored_best {
            format!("parameters of epoch {} restored", self.best_epoch + 1)
        } else {
            "parameters of the last epoch kept".to_string()
        };
        write!(f, "{how}; {kept}")
    }
}
