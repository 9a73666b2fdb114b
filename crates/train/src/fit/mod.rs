//! The training loop: [`fit`] runs epochs of shuffled mini-batches, measures the validation loss
//! after each, stops early when it no longer improves and restores the best parameters;
//! [`predict`] and [`evaluate`] run a model in evaluation mode over data in batches.
//!
//! The settings live in `config.rs` ([`FitConfig`], [`EarlyStopping`]), the errors in
//! `error.rs` ([`FitError`] and where it happened, [`Step`]), and the evaluation-mode passes in
//! `evaluate.rs`; this file holds the loop itself.
//!
//! One step of training, as the design describes it:
//!
//! ```text
//! graph ← new;  x ← input(batch.features)
//! loss ← loss(model.forward(graph, params, x), batch)
//! param_grads ← params.collect_grads(backward(loss))
//! drop the graph and its gradients
//! optimizer.apply(params, param_grads)        // in place: nothing shares the storage now
//! ```
//!
//! The loss is any function from the model's output var and the batch to a scalar var, with
//! the signature `for<'g> Fn(Var<'g, T>, &Batch<T>) -> Var<'g, T>`: its result lives in the same
//! step's graph as its input. The graph is reachable from the var ([`Var::graph`]), for the
//! targets. A closure written in the call to [`fit`] gets that signature by itself; a closure
//! kept in a variable first needs [`loss_fn`] to get it (Rust does not infer a closure's
//! lifetimes from a later use); a `fn` item works as it is:
//!
//! ```
//! use chainrule_autodiff::Var;
//! use chainrule_train::{loss_fn, Batch};
//! let mse = loss_fn(|output: Var<'_, f64>, batch: &Batch<f64>| {
//!     let target = output.graph().input(batch.values().clone());
//!     (output - target).square().mean()
//! });
//! fn cross_entropy<'g>(logits: Var<'g, f32>, batch: &Batch<f32>) -> Var<'g, f32> {
//!     logits.softmax_cross_entropy(batch.classes())
//! }
//! # let _ = (mse, cross_entropy);
//! ```

mod config;
mod error;
mod evaluate;

use chainrule_autodiff::{BackwardOptions, Float, Graph, ParamGrads, ParamStore, Var};
use chainrule_layers::Module;
use chainrule_optim::Optimizer;
use rand::rngs::StdRng;
use rand::SeedableRng;

pub use config::{EarlyStopping, FitConfig};
pub use error::{FitError, Phase, Step};
pub use evaluate::{evaluate, predict};

use crate::progress::Reporter;
use crate::{batches, Batch, Dataset, History, Metric};
use evaluate::{mean_loss, mean_loss_and_metric, scalar_value};

/// Gives a closure the loss signature `for<'g> Fn(Var<'g, T>, &Batch<T>) -> Var<'g, T>`, so it
/// can be kept in a variable and passed to [`fit`] and [`evaluate`] later. It returns the
/// closure unchanged.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_train::{loss_fn, Batch, Targets};
/// let cross_entropy =
///     loss_fn(|logits, batch: &Batch<f64>| logits.softmax_cross_entropy(batch.classes()));
/// let g = Graph::new();
/// let batch = Batch {
///     features: Tensor::zeros(&[1, 2]),
///     targets: Targets::Classes(vec![1]),
///     rows: vec![0],
/// };
/// let loss = cross_entropy(g.input(Tensor::zeros(&[1, 2])), &batch);
/// assert!((loss.item() - 2f64.ln()).abs() < 1e-12);
/// ```
pub fn loss_fn<T, F>(loss: F) -> F
where
    T: Float,
    F: for<'g> Fn(Var<'g, T>, &Batch<T>) -> Var<'g, T>,
{
    loss
}

/// The loss function type: the model's output and the batch to a scalar in the same graph.
pub(crate) type LossFn<'a, T> = dyn for<'g> Fn(Var<'g, T>, &Batch<T>) -> Var<'g, T> + 'a;

/// A penalty on the parameters, added to the training objective only.
type PenaltyFn<'a, T> = dyn for<'g> Fn(&'g Graph<T>, &ParamStore<T>, &Batch<T>) -> Var<'g, T> + 'a;

/// Trains `model`'s parameters in `params` with `optimizer` to lower `loss` on `train`,
/// measuring the loss on `validation` after each epoch. Returns the per-epoch losses.
///
/// Each epoch runs over the training set in mini-batches (shuffled with a generator seeded by
/// `config.seed` when `config.shuffle`). Each step builds a fresh graph, runs the model and the
/// loss, runs backward, collects the parameters' gradients and drops the graph before the
/// optimizer updates the parameters in place. After each epoch the model is switched to
/// evaluation mode ([`Module::set_training`]), the validation loss is measured (the mean over
/// rows, batch losses weighted by batch size), and the model is switched back.
///
/// With [`FitConfig::early_stopping`], the run stops once the validation loss has not improved
/// for `patience` epochs, and (with `restore_best`) the parameters are set back to those of the
/// best epoch — kept as a clone of the store, which shares storage until the optimizer writes.
///
/// # Errors
/// [`FitError`] for a bad configuration or empty data (before any step), and for a loss that
/// is not a scalar or becomes NaN or infinite (naming the first op that produced a non-finite
/// value) or a gradient that does: the parameters are then left as the last good step made them.
///
/// ```
/// use chainrule_autodiff::{Float, Graph, ParamGrads, ParamKind, ParamStore, Tensor, Var};
/// use chainrule_layers::Module;
/// use chainrule_optim::Optimizer;
/// use chainrule_train::{fit, Batch, Dataset, FitConfig, Progress, Targets};
///
/// // y = w·x, one weight.
/// struct Scale { w: chainrule_autodiff::ParamId }
/// impl Module<f64> for Scale {
///     fn forward<'g>(
///         &self,
///         g: &'g Graph<f64>,
///         p: &ParamStore<f64>,
///         x: Var<'g, f64>,
///     ) -> Var<'g, f64> {
///         x * p.bind(g, self.w)
///     }
/// }
/// struct Descent(f64);
/// impl Optimizer<f64> for Descent {
///     fn apply(&mut self, params: &mut ParamStore<f64>, grads: &ParamGrads<f64>) {
///         for (id, grad) in grads.iter() {
///             let step = grad.mul_scalar(self.0);
///             params.set_value(id, params.value(id).sub(&step));
///         }
///     }
///     fn learning_rate(&self) -> f64 { self.0 }
///     fn set_learning_rate(&mut self, lr: f64) { self.0 = lr }
/// }
///
/// let mut params = ParamStore::new();
/// let w = params.insert("w", Tensor::from_vec(vec![0.0], &[1]), ParamKind::Weight);
/// let model = &mut Scale { w };
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4, 1]);
/// let data = Dataset::new(x.clone(), Targets::Values(&x * 3.0));
/// let config = FitConfig {
///     epochs: 200,
///     batch_size: 4,
///     progress: Progress::Quiet,
///     ..FitConfig::default()
/// };
/// let history = fit(
///     model,
///     &mut params,
///     &mut Descent(0.05),
///     |out, batch| (out - out.graph().input(batch.values().clone())).square().mean(),
///     &data,
///     &data,
///     &config,
/// )
/// .unwrap();
/// assert!((params.value(model.w).item() - 3.0).abs() < 1e-6);
/// assert!(history.train_loss[199] < 1e-10);
/// ```
pub fn fit<T, M, O, L>(
    model: &mut M,
    params: &mut ParamStore<T>,
    optimizer: &mut O,
    loss: L,
    train: &Dataset<T>,
    validation: &Dataset<T>,
    config: &FitConfig,
) -> Result<History, FitError>
where
    T: Float,
    M: Module<T> + ?Sized,
    O: Optimizer<T> + ?Sized,
    L: for<'g> Fn(Var<'g, T>, &Batch<T>) -> Var<'g, T>,
{
    let objective = Objective {
        loss: &loss,
        penalty: None,
    };
    Trainer {
        model,
        params,
        optimizer,
        objective,
        config,
    }
    .run(train, validation)
}

/// [`fit`] with a penalty on the parameters (an L2 penalty `λ/(2m)·Σw²`, say) added to the
/// loss that is minimized. The reported training and validation losses are the data loss
/// alone, as the material computes `J_train` and `J_cv` without the regularization term.
///
/// The penalty gets the step's graph, the parameters (to bind) and the batch (for its size
/// `m`).
///
/// # Errors
/// As [`fit`].
#[allow(clippy::too_many_arguments)]
pub fn fit_with_penalty<T, M, O, L, P>(
    model: &mut M,
    params: &mut ParamStore<T>,
    optimizer: &mut O,
    loss: L,
    penalty: P,
    train: &Dataset<T>,
    validation: &Dataset<T>,
    config: &FitConfig,
) -> Result<History, FitError>
where
    T: Float,
    M: Module<T> + ?Sized,
    O: Optimizer<T> + ?Sized,
    L: for<'g> Fn(Var<'g, T>, &Batch<T>) -> Var<'g, T>,
    P: for<'g> Fn(&'g Graph<T>, &ParamStore<T>, &Batch<T>) -> Var<'g, T>,
{
    let objective = Objective {
        loss: &loss,
        penalty: Some(&penalty),
    };
    Trainer {
        model,
        params,
        optimizer,
        objective,
        config,
    }
    .run(train, validation)
}

/// The loss to minimize: the data loss and an optional penalty.
struct Objective<'a, T> {
    loss: &'a LossFn<'a, T>,
    penalty: Option<&'a PenaltyFn<'a, T>>,
}

/// Everything one run of `fit` works on.
struct Trainer<'a, T, M: ?Sized, O: ?Sized> {
    model: &'a mut M,
    params: &'a mut ParamStore<T>,
    optimizer: &'a mut O,
    objective: Objective<'a, T>,
    config: &'a FitConfig,
}

impl<T, M, O> Trainer<'_, T, M, O>
where
    T: Float,
    M: Module<T> + ?Sized,
    O: Optimizer<T> + ?Sized,
{
    fn run(mut self, train: &Dataset<T>, validation: &Dataset<T>) -> Result<History, FitError> {
        self.check(train, validation)?;
        let config = self.config;
        let num_batches = train.len().div_ceil(config.batch_size);
        let reporter = Reporter::new(
            config.progress,
            config.epochs,
            num_batches,
            config.log_every,
        );
        let result = self.epochs(train, validation, &reporter);
        if result.is_err() {
            reporter.abandon();
        }
        result
    }

    fn check(&self, train: &Dataset<T>, validation: &Dataset<T>) -> Result<(), FitError> {
        let config = self.config;
        if config.epochs == 0 {
            return Err(FitError::Config {
                field: "epochs",
                reason: "must be at least 1",
            });
        }
        if config.batch_size == 0 {
            return Err(FitError::Config {
                field: "batch_size",
                reason: "must be at least 1",
            });
        }
        if let Some(stopping) = config.early_stopping {
            if !(stopping.min_delta >= 0.0 && stopping.min_delta.is_finite()) {
                return Err(FitError::Config {
                    field: "early_stopping.min_delta",
                    reason: "must be a finite number, 0 or more",
                });
            }
        }
        if train.is_empty() {
            return Err(FitError::EmptyData { which: "training" });
        }
        if validation.is_empty() {
            return Err(FitError::EmptyData {
                which: "validation",
            });
        }
        if train.num_features() != validation.num_features() {
            return Err(FitError::FeatureMismatch {
                train: train.num_features(),
                validation: validation.num_features(),
            });
        }
        Ok(())
    }

    fn epochs(
        &mut self,
        train: &Dataset<T>,
        validation: &Dataset<T>,
        reporter: &Reporter,
    ) -> Result<History, FitError> {
        let config = self.config;
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut history = History::default();
        let mut best_loss = f64::INFINITY;
        let mut best_params: Option<ParamStore<T>> = None;
        let restore = config.early_stopping.is_some_and(|s| s.restore_best);

        for epoch in 0..config.epochs {
            self.model.set_training(true);
            let running = self.train_epoch(train, epoch, &mut rng, reporter)?;

            self.model.set_training(false);
            let train_loss = if config.evaluate_train_loss {
                self.mean_loss(train, Phase::Evaluation, epoch)?
            } else {
                running
            };
            let (validation_loss, metric) = self.validation_pass(validation, epoch)?;
            self.model.set_training(true);

            let min_delta = config.early_stopping.map_or(0.0, |s| s.min_delta);
            let improved = epoch == 0 || validation_loss < best_loss - min_delta;
            if improved {
                best_loss = validation_loss;
                history.best_epoch = epoch;
                if restore {
                    best_params = Some(self.params.clone());
                }
            }
            history.train_loss.push(train_loss);
            history.validation_loss.push(validation_loss);
            if let Some((name, value)) = metric {
                history.metric = Some(name);
                history.validation_metric.push(value);
            }
            reporter.epoch(epoch, train_loss, validation_loss, metric, improved);

            if let Some(stopping) = config.early_stopping {
                let stale = epoch - history.best_epoch;
                if stale >= stopping.patience && epoch + 1 < config.epochs {
                    history.stopped_early = true;
                    break;
                }
            }
        }

        if let Some(best) = best_params {
            for id in best.ids() {
                self.params.set_value(id, best.value(id).clone());
            }
            history.restored_best = true;
        }
        reporter.finish(&summary(&history));
        Ok(history)
    }

    /// One pass of training steps; returns the mean data loss over the rows.
    fn train_epoch(
        &mut self,
        train: &Dataset<T>,
        epoch: usize,
        rng: &mut StdRng,
        reporter: &Reporter,
    ) -> Result<f64, FitError> {
        let order = if self.config.shuffle {
            Some(rng as &mut dyn rand::RngCore)
        } else {
            None
        };
        let mut sum = 0.0;
        for (index, batch) in batches(train, self.config.batch_size, order).enumerate() {
            let step = Step {
                phase: Phase::Training,
                epoch: Some(epoch),
                batch: index,
            };
            let (loss, grads) = self.gradients(&batch, step)?;
            // The step's graph is gone: the optimizer's writes go in place.
            self.optimizer.apply(self.params, &grads);
            sum += loss * batch.len() as f64;
            reporter.step();
        }
        Ok(sum / train.len() as f64)
    }

    /// Forward and backward for one batch: the data loss and the parameters' gradients. The
    /// graph lives only inside this function. A step whose loss or gradients hold NaN or
    /// infinity is run again under the NaN sentinel, so that the error says where the first
    /// such value appeared; the sentinel costs nothing on the steps that go well. (A model
    /// that draws random numbers, as dropout does, draws new ones for the replay.)
    fn gradients(&self, batch: &Batch<T>, step: Step) -> Result<(f64, ParamGrads<T>), FitError> {
        let mut result = self.plain_gradients(batch, step);
        if let Err(
            FitError::NonFiniteLoss { origin, .. } | FitError::NonFiniteGradient { origin, .. },
        ) = &mut result
        {
            let g = Graph::with_source_lines();
            let (_, total) = self.losses(&g, batch);
            let sentinel = BackwardOptions {
                detect_anomaly: true,
                ..BackwardOptions::default()
            };
            *origin = total.try_backward_with(sentinel).err();
        }
        result
    }

    /// [`Self::gradients`] without the sentinel.
    fn plain_gradients(
        &self,
        batch: &Batch<T>,
        step: Step,
    ) -> Result<(f64, ParamGrads<T>), FitError> {
        let params: &ParamStore<T> = self.params;
        let g = Graph::new();
        let (data_loss, total) = self.losses(&g, batch);
        let value = scalar_value(data_loss, step)?;
        if self.objective.penalty.is_some() {
            scalar_value(total, step)?;
        }
        let grads = params.collect_grads(&total.backward());
        if let Some((id, _)) = grads.iter().find(|(_, grad)| !grad.all_finite()) {
            return Err(FitError::NonFiniteGradient {
                step,
                parameter: params.name(id).to_string(),
                loss: value,
                origin: None,
            });
        }
        Ok((value, grads))
    }

    /// The forward pass of one batch on `g`: the data loss, and the loss to differentiate
    /// (the data loss plus the penalty, if any).
    fn losses<'g>(&self, g: &'g Graph<T>, batch: &Batch<T>) -> (Var<'g, T>, Var<'g, T>) {
        let x = g.input(batch.features.clone());
        let output = self.model.forward(g, self.params, x);
        let data_loss = (self.objective.loss)(output, batch);
        let total = match self.objective.penalty {
            Some(penalty) => data_loss + penalty(g, self.params, batch),
            None => data_loss,
        };
        (data_loss, total)
    }

    /// The validation loss, and the validation metric when the outputs have one.
    fn validation_pass(
        &mut self,
        data: &Dataset<T>,
        epoch: usize,
    ) -> Result<(f64, Option<(Metric, f64)>), FitError> {
        mean_loss_and_metric(
            self.model,
            self.params,
            self.objective.loss,
            data,
            self.config.batch_size,
            Some(epoch),
        )
    }

    fn mean_loss(
        &mut self,
        data: &Dataset<T>,
        phase: Phase,
        epoch: usize,
    ) -> Result<f64, FitError> {
        mean_loss(
            self.model,
            self.params,
            self.objective.loss,
            data,
            self.config.batch_size,
            phase,
            Some(epoch),
        )
    }
}

/// How a run ended, for the progress report.
fn summary(history: &History) -> String {
    let best = format!(
        "best validation loss {:.6} at epoch {}",
        history.best_validation_loss(),
        history.best_epoch + 1
    );
    let ending = if history.stopped_early {
        format!("stopped early after epoch {}", history.epochs())
    } else {
        format!("finished {} epochs", history.epochs())
    };
    let kept = if history.restored_best {
        "; restored its parameters"
    } else {
        ""
    };
    format!("{ending}; {best}{kept}")
}
