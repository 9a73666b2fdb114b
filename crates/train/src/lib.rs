//! Training: data sets, splits, mini-batches, metrics, the fit loop and weight files.
//!
//! Where things live, in the order a training script uses them:
//!
//! - [`data`] — [`Dataset`] (features `[n, d]` and [`Targets`]) and [`load_csv`].
//! - [`split`](mod@split) — seeded train / cross-validation / test splits by ratio
//!   ([`split()`]) or by an explicit assignment ([`split_by_assignment`], and
//!   [`load_assignment`] for a split file).
//! - [`standardize`] — the z-score [`Standardizer`], fitted on the training split only.
//! - [`batch`] — mini-batch iteration ([`batches`], [`Batch`]).
//! - [`fit`](mod@fit) — the training loop ([`fit()`], [`FitConfig`], early stopping), and
//!   [`predict`] / [`evaluate`] in evaluation mode; [`progress`] says how it reports.
//! - [`history`] — the per-epoch losses a run returns ([`History`]).
//! - [`diagnose`](mod@diagnose) — bias or variance, from a history ([`Diagnosis`]).
//! - [`metrics`] — accuracy, mean squared error, log loss, [`ConfusionMatrix`].
//! - [`weights`] — parameters to and from safetensors files ([`save_weights`],
//!   [`load_weights`], [`load_weights_into`]).
//! - [`atomic`] — whole-or-nothing file writes ([`write_atomically`]).
//!
//! Bad input — a malformed CSV cell, a truncated weight file — is an `Err` naming the file, the
//! line and the column (or the tensor); misuse in code — a batch size of 0, mismatched shapes —
//! panics with the call site, as graph building does.
//!
//! The whole pipeline, on a small regression:
//!
//! ```
//! use chainrule_autodiff::{Graph, ParamGrads, ParamId, ParamKind, ParamStore, Tensor, Var};
//! use chainrule_layers::Module;
//! use chainrule_optim::Optimizer;
//! use chainrule_train::*;
//!
//! struct Linear { w: ParamId, b: ParamId }
//! impl Module<f64> for Linear {
//!     fn forward<'g>(
//!         &self,
//!         g: &'g Graph<f64>,
//!         p: &ParamStore<f64>,
//!         x: Var<'g, f64>,
//!     ) -> Var<'g, f64> {
//!         x.matmul(p.bind(g, self.w)) + p.bind(g, self.b)
//!     }
//! }
//! struct Descent(f64);
//! impl Optimizer<f64> for Descent {
//!     fn apply(&mut self, params: &mut ParamStore<f64>, grads: &ParamGrads<f64>) {
//!         for (id, grad) in grads.iter() {
//!             let lr = self.0;
//!             for (v, g) in params.value_mut(id).data_mut().iter_mut().zip(grad.as_slice()) {
//!                 *v -= lr * g;
//!             }
//!         }
//!     }
//!     fn learning_rate(&self) -> f64 { self.0 }
//!     fn set_learning_rate(&mut self, lr: f64) { self.0 = lr }
//! }
//!
//! // y = 2·x₀ − x₁ + 1 on 50 rows.
//! let x: Vec<f64> = (0..100).map(|i| ((i * 37) % 11) as f64).collect();
//! let y: Vec<f64> = x.chunks(2).map(|r| 2.0 * r[0] - r[1] + 1.0).collect();
//! let targets = Targets::Values(Tensor::from_vec(y, &[50, 1]));
//! let data = Dataset::new(Tensor::from_vec(x, &[50, 2]), targets);
//!
//! let parts = split(&data, SplitRatios::default(), 0);
//! let scaler = Standardizer::fit_dataset(&parts.train);
//! let train = scaler.transform_dataset(&parts.train);
//! let val = scaler.transform_dataset(&parts.validation);
//!
//! let mut params = ParamStore::new();
//! let mut model = Linear {
//!     w: params.insert("w", Tensor::zeros(&[2, 1]), ParamKind::Weight),
//!     b: params.insert("b", Tensor::zeros(&[1]), ParamKind::Bias),
//! };
//! let mse = loss_fn(|out: Var<'_, f64>, batch: &Batch<f64>| {
//!     (out - out.graph().input(batch.values().clone())).square().mean()
//! });
//! let config = FitConfig {
//!     epochs: 300,
//!     batch_size: 10,
//!     progress: Progress::Quiet,
//!     ..FitConfig::default()
//! };
//! let mut descent = Descent(0.05);
//! let history = fit(&mut model, &mut params, &mut descent, mse, &train, &val, &config).unwrap();
//! assert!(history.validation_loss.last().unwrap() < &1e-6);
//!
//! let test = scaler.transform_dataset(&parts.test);
//! let predicted = predict(&mut model, &params, test.features(), 32);
//! assert!(mean_squared_error(&predicted, test.values().unwrap()) < 1e-6);
//! ```

#![warn(missing_docs)]

pub mod atomic;
pub mod batch;
mod csv_file;
pub mod data;
pub mod diagnose;
pub mod fit;
pub mod history;
#[cfg(unix)]
mod interrupt;
pub mod metrics;
pub mod progress;
pub mod split;
pub mod standardize;
pub mod weights;

pub use atomic::{check_writable, resolve_target, write_all_or_none, write_atomically};
pub use batch::{batches, Batch, Batches};
pub use csv_file::{closest_name, CsvFile, DataError, Row};
pub use data::{
    load_csv, load_csv_inferring, load_csv_inferring_with, Dataset, LoadedCsv, Targets, Task,
    MAX_CLASSES, MAX_INFERRED_CLASSES, MAX_INFERRED_LABEL,
};
pub use diagnose::{
    assess, diagnose, Assessment, Curve, Diagnosis, DiagnosisThresholds, Finding, LeastSquares,
    RunFacts, Simplest, Verdict,
};
pub use fit::{
    evaluate, fit, fit_with_penalty, loss_fn, predict, EarlyStopping, FitConfig, FitError, Phase,
    Step,
};
pub use history::{History, Metric};
pub use metrics::{
    accuracy, accuracy_of_classes, log_loss, mean_squared_error, predicted_classes,
    ConfusionMatrix, LOG_LOSS_EPSILON,
};
pub use progress::Progress;
pub use split::{
    load_assignment, split, split_by_assignment, split_stratified, Part, Split, SplitError,
    SplitIndices, SplitRatios,
};
pub use standardize::Standardizer;
pub use weights::{
    encode_weights, load_weights, load_weights_into, save_weights, WeightFile, WeightsError,
};
