//! `chainrule export`: a model saved by `train --save` as an ONNX model, for ONNX Runtime and
//! every other ONNX engine.
//!
//! The exported model does what `chainrule predict` does, end to end: it takes the raw feature
//! columns (in the order `predict` lists them), standardizes them with the training rows'
//! statistics, runs the layers, and gives class probabilities (softmax) for a classifier or the
//! prediction in the target's units for a regression. The batch axis is dynamic.

use chainrule::{Graph, Tensor};
use chainrule_onnx::Export;
use chainrule_train::Task;

use super::error::CliError;
use super::files::{self, Output};
use super::model_file::{self, Scaling};
use super::train_args::ExportArgs;

/// The batch the graph is traced with; the exported model takes any batch.
const TRACED_BATCH: usize = 2;

/// Runs `chainrule export`.
pub fn run(args: &ExportArgs) -> Result<(), CliError> {
    let output = Output {
        what: "ONNX model",
        flag: "--onnx",
        path: &args.onnx,
    };
    files::check(&[output])?;
    let (architecture, model, params) = model_file::load(&args.model)?;
    let g = Graph::new();
    let features = architecture.features.len();
    let x = g.input(Tensor::zeros(&[TRACED_BATCH, features]));
    let (shift, scale) = affine(&architecture.feature_scaling, |m, s| (-m / s, 1.0 / s));
    let standardized = x * g.constant(scale) + g.constant(shift);
    let outputs = chainrule::layers::Module::forward(&model, &g, &params, standardized);
    let (name, y) = match (architecture.task, &architecture.target_scaling) {
        (Task::Regression, Some(target)) => {
            let (shift, scale) = affine(target, |m, s| (m, s));
            (
                "prediction",
                outputs * g.constant(scale) + g.constant(shift),
            )
        }
        _ => ("probabilities", outputs.softmax(-1)),
    };
    let bytes = Export::new(&g)
        .params(&params)
        .input("features", x)
        .output(name, y)
        .to_bytes()
        .map_err(|error| CliError::Export {
            model: args.model.clone(),
            reason: error.to_string(),
        })?;
    let printed = files::write(&[(output, &bytes)])?;
    if !printed {
        let columns = match architecture.features.as_slice() {
            [first, .., last] if features > 4 => format!("{first} … {last}"),
            all => all.join(", "),
        };
        super::output::print(&format!(
            "Wrote {} ({} bytes): input \"features\" [batch, {features}] ({columns}), output \
             \"{name}\" [batch, {}].\n",
            args.onnx.display(),
            bytes.len(),
            architecture.outputs
        ))?;
    }
    Ok(())
}

/// The per-column `(shift, scale)` of `x ↦ x·scale + shift` made by `f(μ, σ)` from a scaling,
/// with a σ of 0 counted as 1 (as `Scaling::apply` does).
fn affine(scaling: &Scaling, f: impl Fn(f32, f32) -> (f32, f32)) -> (Tensor<f32>, Tensor<f32>) {
    let (shift, scale): (Vec<f32>, Vec<f32>) = scaling
        .mean
        .iter()
        .zip(&scaling.std)
        .map(|(&m, &s)| f(m, if s > 0.0 { s } else { 1.0 }))
        .unzip();
    let n = shift.len();
    (Tensor::from_vec(shift, &[n]), Tensor::from_vec(scale, &[n]))
}
