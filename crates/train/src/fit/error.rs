//! What stops a training run: [`FitError`], and [`Step`], where in the run it happened.

use std::fmt;

use chainrule_autodiff::Anomaly;
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
    /// The loss became NaN or infinite; `origin` says where the first such value appeared.
    #[error("{step}: the loss is {value}; {}", describe_origin(origin))]
    NonFiniteLoss {
        /// Where.
        step: Step,
        /// The loss.
        value: f64,
        /// The NaN sentinel's report: the first value the loss depends on that holds NaN or
        /// infinity (the op, its inputs by name, and the source line that recorded it).
        origin: Option<Box<Anomaly>>,
    },
    /// The loss was finite but a parameter's gradient was not.
    #[error(
        "{step}: the gradient of parameter {parameter:?} holds NaN or infinity (the loss was \
         {loss}); {}",
        describe_origin(origin)
    )]
    NonFiniteGradient {
        /// Where.
        step: Step,
        /// The parameter's name.
        parameter: String,
        /// The (finite) loss of that step.
        loss: f64,
        /// The NaN sentinel's report: the chain-rule step that first gave a gradient holding
        /// NaN or infinity.
        origin: Option<Box<Anomaly>>,
    },
}

/// The sentinel's report for an error message.
fn describe_origin(origin: &Option<Box<Anomaly>>) -> String {
    match origin {
        Some(anomaly) => anomaly.to_string(),
        None => "the NaN sentinel found no NaN or infinity on replaying the step".to_string(),
    }
}
