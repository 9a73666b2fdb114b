//! The settings of a training run: [`FitConfig`] and [`EarlyStopping`], with their defaults.

use crate::Progress;

/// Settings of a training run. Build one from the defaults:
///
/// ```
/// use chainrule_train::{EarlyStopping, FitConfig, Progress};
/// let config = FitConfig {
///     epochs: 50,
///     batch_size: 64,
///     early_stopping: Some(EarlyStopping { patience: 5, ..EarlyStopping::default() }),
///     progress: Progress::Quiet,
///     ..FitConfig::default()
/// };
/// assert_eq!(config.seed, 0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FitConfig {
    /// The most epochs to run (passes over the training set). Default 100.
    pub epochs: usize,
    /// Rows per mini-batch (the last batch of an epoch may be smaller). Default 32.
    pub batch_size: usize,
    /// Whether to shuffle the training rows before each epoch. Default true.
    pub shuffle: bool,
    /// Seeds the shuffling, so a run can be repeated exactly. Default 0.
    pub seed: u64,
    /// Stop when the validation loss stops improving. Default `None`: run every epoch.
    pub early_stopping: Option<EarlyStopping>,
    /// How the training loss of an epoch is measured. `false` (the default): the mean of the
    /// batch losses seen during the epoch, as the parameters moved (free, but it lags and
    /// includes dropout). `true`: one more pass over the training set in evaluation mode at
    /// the end of the epoch — the `J_train` of the material, comparable with the validation
    /// loss, which a bias/variance diagnosis wants.
    pub evaluate_train_loss: bool,
    /// How progress is shown. Default [`Progress::Auto`].
    pub progress: Progress,
    /// With [`Progress::Lines`] (or `Auto` off a terminal), a line every this many epochs,
    /// and for the last. Default 1: every epoch.
    pub log_every: usize,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            epochs: 100,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            early_stopping: None,
            evaluate_train_loss: false,
            progress: Progress::Auto,
            log_every: 1,
        }
    }
}

/// Early stopping on the validation loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Stop after this many epochs in a row without improvement. Default 10.
    pub patience: usize,
    /// An epoch improves when its validation loss is below the best so far by more than
    /// this. Default 0.
    pub min_delta: f64,
    /// Set the parameters back to those of the best epoch at the end (whether the run stopped
    /// early or not). Default true.
    pub restore_best: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            patience: 10,
            min_delta: 0.0,
            restore_best: true,
        }
    }
}
