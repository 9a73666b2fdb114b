//! Running a model in evaluation mode over data in batches: [`predict`] for the outputs,
//! [`evaluate`] (and the validation pass of `fit`) for the mean loss.

use chainrule_autodiff::{Float, Graph, ParamStore, Tensor, Var};
use chainrule_layers::Module;

use super::{FitError, LossFn, Phase, Step};
use crate::{batches, predicted_classes, Batch, Dataset, Metric, Targets};

/// Runs `model` in evaluation mode on `features` `[n, d]`, `batch_size` rows at a time, and
/// joins the outputs along the first axis. The model is left in evaluation mode
/// ([`fit`](crate::fit()) switches it back to training itself).
///
/// # Panics
/// When `batch_size` is 0 or `features` is not a matrix.
///
/// ```
/// use chainrule_autodiff::{Graph, ParamStore, Tensor, Var};
/// use chainrule_layers::Module;
/// use chainrule_train::predict;
/// struct Double;
/// impl Module<f32> for Double {
///     fn forward<'g>(
///         &self,
///         _: &'g Graph<f32>,
///         _: &ParamStore<f32>,
///         x: Var<'g, f32>,
///     ) -> Var<'g, f32> {
///         x * 2.0
///     }
/// }
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3, 1]);
/// let y = predict(&mut Double, &ParamStore::new(), &x, 2);
/// assert_eq!(y.to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
#[track_caller]
pub fn predict<T, M>(
    model: &mut M,
    params: &ParamStore<T>,
    features: &Tensor<T>,
    batch_size: usize,
) -> Tensor<T>
where
    T: Float,
    M: Module<T> + ?Sized,
{
    assert!(
        batch_size > 0 && features.rank() == 2,
        "predict: need a batch size of at least 1 and features [rows, features]; got batch size \
         {batch_size} and shape {:?} (at {})",
        features.shape(),
        std::panic::Location::caller()
    );
    model.set_training(false);
    let run = |rows: Tensor<T>| {
        let g = Graph::no_grad();
        let x = g.input(rows);
        model.forward(&g, params, x).value()
    };
    let n = features.shape()[0];
    if n == 0 {
        return run(features.clone());
    }
    let outputs: Vec<Tensor<T>> = (0..n)
        .step_by(batch_size)
        .map(|start| run(features.narrow(0, start, batch_size.min(n - start))))
        .collect();
    let parts: Vec<&Tensor<T>> = outputs.iter().collect();
    Tensor::concat(&parts, 0)
}

/// The mean loss of `model` over `data` in evaluation mode, `batch_size` rows at a time (batch
/// losses weighted by batch size, so a loss that is a mean over its batch gives the mean over
/// all rows). The model is left in evaluation mode.
///
/// # Errors
/// [`FitError::EmptyData`] for no rows, [`FitError::LossNotScalar`], and
/// [`FitError::NonFiniteLoss`] naming the first op that produced NaN or infinity (the
/// forward half of the NaN sentinel).
///
/// # Panics
/// When `batch_size` is 0.
pub fn evaluate<T, M, L>(
    model: &mut M,
    params: &ParamStore<T>,
    loss: L,
    data: &Dataset<T>,
    batch_size: usize,
) -> Result<f64, FitError>
where
    T: Float,
    M: Module<T> + ?Sized,
    L: for<'g> Fn(Var<'g, T>, &Batch<T>) -> Var<'g, T>,
{
    if data.is_empty() {
        return Err(FitError::EmptyData {
            which: "evaluation",
        });
    }
    model.set_training(false);
    mean_loss(
        model,
        params,
        &loss,
        data,
        batch_size,
        Phase::Evaluation,
        None,
    )
}

/// The mean over rows of the loss, in batches, with no backward pass.
pub(super) fn mean_loss<T, M>(
    model: &M,
    params: &ParamStore<T>,
    loss: &LossFn<'_, T>,
    data: &Dataset<T>,
    batch_size: usize,
    phase: Phase,
    epoch: Option<usize>,
) -> Result<f64, FitError>
where
    T: Float,
    M: Module<T> + ?Sized,
{
    walk_batches(
        model,
        params,
        loss,
        data,
        batch_size,
        phase,
        epoch,
        |_, _| (),
    )
}

/// Runs the model over `data` in batches with no backward pass, handing each batch's outputs
/// to `look` with the batch, and returns the mean over rows of the loss.
#[allow(clippy::too_many_arguments)]
fn walk_batches<T, M>(
    model: &M,
    params: &ParamStore<T>,
    loss: &LossFn<'_, T>,
    data: &Dataset<T>,
    batch_size: usize,
    phase: Phase,
    epoch: Option<usize>,
    mut look: impl FnMut(&Tensor<T>, &Batch<T>),
) -> Result<f64, FitError>
where
    T: Float,
    M: Module<T> + ?Sized,
{
    let mut sum = 0.0;
    for (index, batch) in batches(data, batch_size, None).enumerate() {
        let step = Step {
            phase,
            epoch,
            batch: index,
        };
        let g = Graph::no_grad();
        let x = g.input(batch.features.clone());
        let output = model.forward(&g, params, x);
        sum += scalar_value(loss(output, &batch), step)? * batch.len() as f64;
        look(&output.value(), &batch);
    }
    Ok(sum / data.len() as f64)
}

/// The loss as an `f64`, or the error for a non-scalar or non-finite loss.
pub(super) fn scalar_value<T: Float>(loss: Var<'_, T>, step: Step) -> Result<f64, FitError> {
    let shape = loss.shape();
    if shape.iter().product::<usize>() != 1 {
        return Err(FitError::LossNotScalar {
            step,
            shape: shape.to_vec(),
        });
    }
    let value = loss.item().to_f64_exact();
    if !value.is_finite() {
        return Err(FitError::NonFiniteLoss {
            step,
            value,
            origin: loss.forward_anomaly().map(Box::new),
        });
    }
    Ok(value)
}

/// [`mean_loss`] with the validation metric of the same outputs: accuracy for class labels
/// (when the model gives a score per class, two columns or more), R² for values (when the
/// outputs have the targets' shape); `None` otherwise.
pub(super) fn mean_loss_and_metric<T, M>(
    model: &M,
    params: &ParamStore<T>,
    loss: &LossFn<'_, T>,
    data: &Dataset<T>,
    batch_size: usize,
    epoch: Option<usize>,
) -> Result<(f64, Option<(Metric, f64)>), FitError>
where
    T: Float,
    M: Module<T> + ?Sized,
{
    let mut right = 0usize;
    let mut squared_error = 0.0;
    let mut measurable = true;
    let phase = Phase::Validation;
    let mean = walk_batches(
        model,
        params,
        loss,
        data,
        batch_size,
        phase,
        epoch,
        |scores, batch| match &batch.targets {
            Targets::Classes(labels) if scores.rank() == 2 && scores.shape()[1] >= 2 => {
                right += predicted_classes(scores)
                    .iter()
                    .zip(labels)
                    .filter(|(p, l)| p == l)
                    .count();
            }
            Targets::Values(values) if values.shape() == scores.shape() => {
                squared_error += scores
                    .as_slice()
                    .iter()
                    .zip(values.as_slice())
                    .map(|(&p, &y)| (p.to_f64_exact() - y.to_f64_exact()).powi(2))
                    .sum::<f64>();
            }
            _ => measurable = false,
        },
    )?;
    let rows = data.len() as f64;
    let metric = match data.targets() {
        _ if !measurable => None,
        Targets::Classes(_) => Some((Metric::Accuracy, right as f64 / rows)),
        Targets::Values(values) => {
            let spread = squared_spread(values);
            (spread > 0.0).then(|| (Metric::RSquared, 1.0 - squared_error / spread))
        }
    };
    Ok((mean, metric))
}

/// The sum of squares of `values` `[n, k]` about their column means: the denominator of R².
fn squared_spread<T: Float>(values: &Tensor<T>) -> f64 {
    let width = values.shape().get(1).copied().unwrap_or(1).max(1);
    let rows = (values.numel() / width).max(1) as f64;
    let mut means = vec![0.0; width];
    for row in values.as_slice().chunks(width) {
        for (m, &v) in means.iter_mut().zip(row) {
            *m += v.to_f64_exact() / rows;
        }
    }
    values
        .as_slice()
        .chunks(width)
        .flat_map(|row| {
            row.iter()
                .zip(&means)
                .map(|(&v, m)| (v.to_f64_exact() - m).powi(2))
        })
        .sum()
}
