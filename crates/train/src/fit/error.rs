//! What stops a training run: [`FitError`], and [`Step`], where in the run it happened.

use std::fmt;

use chainrule_autodiff::NonFinite;
use thiserror::Error;

/// Which pass over the data a step belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A training step (forward, backward, update).
    Training,
    /// Measuring the validation loss after an epoch.
    Validation,
    /// [`evaluate`](crate::evaluate), or measuring the training loss in evaluation mode.
    Evaluation,
}

/// Where in a run something happened: the phase, the epoch (from 0; none outside `fit`) and
/// the batch (from 0). Displayed counting from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The pass.
    pub phase: Phase,
    /// The epoch, from 0.
    pub epoch: Option<usize>,
    /// The batch within the pass, from 0.
    pub batch: usize,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Training => "training",
            Phase::Validation => "validation",
            Phase::Evaluation => "evaluation",
        };
        if let Some(epoch) = self.epoch {
            write!(f, "epoch {}, ", epoch + 1)?;
        }
        write!(f, "{phase} batch {}", self.batch + 1)
    }
}

/// Why training (or evaluation) could not go on.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum FitError {
    /// A setting of [`FitConfig`](crate::FitConfig) is out of range.
    #[error("FitConfig.{field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The training or validation set has no rows.
    #[error("the {which} set is empty")]
    EmptyData {
        /// `"training"` or `"validation"`.
        which: &'static str,
    },
    /// The training and validation sets have different numbers of features.
    #[error("the training set has {train} features but the validation set has {validation}")]
    FeatureMismatch {
        /// Features of the training set.
        train: usize,
        /// Features of the validation set.
        validation: usize,
    },
    /// The loss function returned something other than a single number.
    #[error("{step}: the loss must be a scalar, but it has shape {shape:?}")]
    LossNotScalar {
        /// Where.
        step: Step,
        /// The shape it had.
        shape: Vec<usize>,
    },
    /// The loss became NaN or infinite; `first` names the op that first produced such a value.
    #[error("{step}: the loss is {value}; {}", match first {
        Some(first) => first.to_string(),
        None => "no node of the graph holds NaN or infinity".to_string(),
    })]
    NonFiniteLoss {
        /// Where.
        step: Step,
        /// The loss.
        value: f64,
        /// The first node of the step's graph holding NaN or infinity.
        first: Option<NonFinite>,
    },
    /// The loss was finite but a parameter's gradient was not.
    #[error(
        "{step}: the gradient of parameter {parameter:?} holds NaN or infinity (the loss was \
         {loss})"
    )]
    NonFiniteGradient {
        /// Where.
        step: Step,
        /// The parameter's name.
        parameter: String,
        /// The (finite) loss of that step.
        loss: f64,
    },
}
