//! A trained model as one safetensors file: the weights as tensors, and in the file's
//! `__metadata__` (a map of strings) everything `predict` needs to rebuild and use the model —
//! the task, the target and feature columns, the layer sizes and activation, and the
//! standardization fitted on the training rows.
//!
//! The metadata keys, each value a string (lists and numbers are JSON text):
//!
//! | key | example |
//! | --- | --- |
//! | `format` | `chainrule-mlp` |
//! | `format_version` | `3` (files of versions 1 and 2 still load; see below) |
//! | `task` | `classification` or `regression` |
//! | `target` | `target` (the column the model predicts) |
//! | `features` | `["pixel_0_0", "pixel_0_1", …]` (the input columns, in the model's order) |
//! | `hidden` | `[128, 128]` (the hidden layers' sizes) |
//! | `activation` | `relu`, `tanh` or `sigmoid` (the hidden layers'; the output is linear) |
//! | `outputs` | `10` (the classes for classification, 1 for regression) |
//! | `classes` | `["setosa", "versicolor", "virginica"]` (only when the target held class names: output `i` is class `i`) |
//! | `feature_mean`, `feature_std` | `[0.0, 0.30, …]` (per feature, in the order of `features`) |
//! | `target_mean`, `target_std` | `152.1`, `77.0` (regression only: the target is standardized) |
//! | `trained_with` | `adam, learning rate 0.001, …` (for people; not read back) |
//!
//! The layers are `Dense` layers named `hidden1`, `hidden2`, … and `output`, so the tensors are
//! `hidden1.weight` `[128, inputs]`, `hidden1.bias` `[128]`, …, `output.weight` `[outputs, 128]`,
//! `output.bias` `[outputs]`, all `F32`. A weight is stored as PyTorch's `nn.Linear` holds it,
//! `[out, in]`, so the file's tensors are the `state_dict` of an `nn.Sequential` whose
//! `nn.Linear` modules carry the same names (the README shows the few lines of Python); `Dense`
//! computes `x·W` with `W` `[in, out]`, and the weights are transposed on the way in and out.
//!
//! Versions: 1 had no `classes`; 1 and 2 stored a weight as `Dense` holds it, `[in, out]`. Files
//! of every version load.

use std::collections::BTreeMap;
use std::path::Path;

use chainrule::{ParamKind, ParamStore, Tensor};
use chainrule_layers::{Activation, Dense, Sequential};
use chainrule_train::{encode_weights, load_weights, Task};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::error::CliError;

/// The float type of models trained and saved by the program.
pub type Real = f32;

const FORMAT: &str = "chainrule-mlp";
/// The version written. Version 2 added `classes` (a version-1 file reads as a version-2 file
/// without it); version 3 stores weights `[out, in]`, as PyTorch's `nn.Linear` does.
const FORMAT_VERSION: &str = "3";
/// Every version this program reads.
const READABLE_VERSIONS: [&str; 3] = ["1", "2", "3"];

/// How a file lays out a `Dense` layer's weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WeightLayout {
    /// `[in, out]`, as `Dense` holds it: versions 1 and 2.
    InputsByOutputs,
    /// `[out, in]`, as PyTorch's `nn.Linear` holds it: version 3 on.
    OutputsByInputs,
}

impl WeightLayout {
    /// The layout of a file of format `version` (one of [`READABLE_VERSIONS`]).
    fn of_version(version: &str) -> Self {
        match version {
            "1" | "2" => WeightLayout::InputsByOutputs,
            _ => WeightLayout::OutputsByInputs,
        }
    }

    /// The shape a weight of a layer from `inputs` to `outputs` has in a file.
    fn shape(self, inputs: usize, outputs: usize) -> Vec<usize> {
        match self {
            WeightLayout::InputsByOutputs => vec![inputs, outputs],
            WeightLayout::OutputsByInputs => vec![outputs, inputs],
        }
    }

    /// A weight as `Dense` holds it, from or to this layout (a transpose is its own inverse).
    fn convert(self, weight: &Tensor<Real>) -> Tensor<Real> {
        match self {
            WeightLayout::InputsByOutputs => weight.clone(),
            WeightLayout::OutputsByInputs => weight.transpose(0, 1),
        }
    }
}

/// Everything about a model except its weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Architecture {
    /// Classification or regression.
    pub task: Task,
    /// The column the model predicts.
    pub target: String,
    /// The input columns, in the order the model takes them.
    pub features: Vec<String>,
    /// The sizes of the hidden layers.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The number of outputs: the classes, or 1.
    pub outputs: usize,
    /// The name of each class, in output order, when the target held names rather than
    /// labels 0…k−1.
    pub classes: Option<Vec<String>>,
    /// Per feature, the training rows' mean and standard deviation.
    pub feature_scaling: Scaling,
    /// For regression, the training targets' mean and standard deviation.
    pub target_scaling: Option<Scaling>,
}

/// Means and standard deviations for z-scores, `(x − μ) / σ`, where a σ of 0 counts as 1 (as
/// `chainrule_train::Standardizer` does; it has no constructor from saved values, so this
/// applies them).
#[derive(Clone, Debug, PartialEq)]
pub struct Scaling {
    /// μ per column.
    pub mean: Vec<Real>,
    /// σ per column (0 for a column that was constant).
    pub std: Vec<Real>,
}

impl Scaling {
    /// `(x − μ) / σ` for each column of `x` `[rows, columns]`.
    pub fn apply(&self, x: &Tensor<Real>) -> Tensor<Real> {
        self.map(x, |x, m, s| (x - m) / s)
    }

    /// `x · σ + μ`, the inverse of [`Scaling::apply`].
    pub fn invert(&self, x: &Tensor<Real>) -> Tensor<Real> {
        self.map(x, |x, m, s| x * s + m)
    }

    fn map(&self, x: &Tensor<Real>, f: impl Fn(Real, Real, Real) -> Real) -> Tensor<Real> {
        let columns = self.mean.len();
        assert_eq!(x.shape().get(1), Some(&columns), "one μ and σ per column");
        let mut values = x.to_vec();
        if columns > 0 {
            for row in values.chunks_exact_mut(columns) {
                for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                    *v = f(*v, m, if s > 0.0 { s } else { 1.0 });
                }
            }
        }
        Tensor::from_vec(values, x.shape())
    }
}

impl Architecture {
    /// The model: `Dense` layers with the activation, then a linear output layer; its
    /// parameters go into a fresh store, initialized from `seed`.
    pub fn build(&self, seed: u64) -> (Sequential<Real>, ParamStore<Real>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut params = ParamStore::new();
        let mut model = Sequential::new();
        let mut inputs = self.features.len();
        for (i, &size) in self.hidden.iter().enumerate() {
            let name = format!("hidden{}", i + 1);
            model.push(Dense::new(
                &mut params,
                &name,
                inputs,
                size,
                self.activation,
                &mut rng,
            ));
            inputs = size;
        }
        let output = Dense::new(
            &mut params,
            "output",
            inputs,
            self.outputs,
            Activation::Linear,
            &mut rng,
        );
        model.push(output);
        (model, params)
    }

    /// `64 → 128 relu → 128 relu → 10`.
    pub fn describe(&self) -> String {
        let mut text = self.features.len().to_string();
        for size in &self.hidden {
            text += &format!(" → {size} {}", self.activation.name());
        }
        text + &format!(" → {}", self.outputs)
    }

    /// The metadata entries that describe this model, and `trained_with` for people.
    fn to_metadata(&self, trained_with: &str) -> BTreeMap<String, String> {
        // serde_json writes an f32 in its shortest form (0.3, not 0.30000001192092896).
        fn json(value: &impl serde::Serialize) -> String {
            serde_json::to_string(value).expect("names and numbers serialize")
        }
        let mut entries = BTreeMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("task".to_string(), task_name(self.task).to_string()),
            ("target".to_string(), self.target.clone()),
            ("features".to_string(), json(&self.features)),
            ("hidden".to_string(), json(&self.hidden)),
            ("activation".to_string(), self.activation.name().to_string()),
            ("outputs".to_string(), self.outputs.to_string()),
            ("feature_mean".to_string(), json(&self.feature_scaling.mean)),
            ("feature_std".to_string(), json(&self.feature_scaling.std)),
            ("trained_with".to_string(), trained_with.to_string()),
        ]);
        if let Some(classes) = &self.classes {
            entries.insert("classes".to_string(), json(classes));
        }
        if let Some(target) = &self.target_scaling {
            entries.insert("target_mean".to_string(), json(&target.mean[0]));
            entries.insert("target_std".to_string(), json(&target.std[0]));
        }
        entries
    }

    /// Reads the architecture back from a file's metadata, checking each entry.
    fn from_metadata(path: &Path, metadata: &BTreeMap<String, String>) -> Result<Self, CliError> {
        let bad = |reason: String| CliError::NotAModel {
            path: path.to_path_buf(),
            reason,
        };
        let entry = |key: &str| {
            metadata.get(key).map(String::as_str).ok_or_else(|| {
                bad(format!(
                    "its metadata has no {key:?} entry (files saved by `chainrule train --save` \
                     have one)"
                ))
            })
        };
        let parse = |key: &str, what: &str| -> Result<serde_json::Value, CliError> {
            let text = entry(key)?;
            serde_json::from_str(text)
                .map_err(|_| bad(format!("metadata {key:?} is {text:?}, not {what}")))
        };
        let numbers = |key: &str, len: usize| -> Result<Vec<Real>, CliError> {
            let what = format!("a list of {len} numbers");
            let value = parse(key, &what)?;
            let numbers: Option<Vec<Real>> = value.as_array().and_then(|items| {
                items
                    .iter()
                    .map(|v| v.as_f64().map(|x| x as Real))
                    .collect()
            });
            match numbers {
                Some(numbers) if numbers.len() == len => Ok(numbers),
                _ => Err(bad(format!("metadata {key:?} is not {what}"))),
            }
        };
        let number = |key: &str| -> Result<Real, CliError> {
            match parse(key, "a number")?.as_f64() {
                Some(x) => Ok(x as Real),
                None => Err(bad(format!("metadata {key:?} is not a number"))),
            }
        };

        if entry("format")? != FORMAT {
            return Err(bad(format!(
                "metadata \"format\" is {:?}, expected {FORMAT:?}",
                entry("format")?
            )));
        }
        if !READABLE_VERSIONS.contains(&entry("format_version")?) {
            return Err(bad(format!(
                "format version {:?}; this program reads versions {} and {}",
                entry("format_version")?,
                READABLE_VERSIONS[..READABLE_VERSIONS.len() - 1].join(", "),
                READABLE_VERSIONS[READABLE_VERSIONS.len() - 1]
            )));
        }
        let task = match entry("task")? {
            "classification" => Task::Classification,
            "regression" => Task::Regression,
            other => return Err(bad(format!("unknown task {other:?}"))),
        };
        let features: Vec<String> =
            serde_json::from_value(parse("features", "a list of column names")?)
                .map_err(|_| bad("metadata \"features\" is not a list of column names".into()))?;
        if features.is_empty() {
            return Err(bad("metadata \"features\" lists no columns".into()));
        }
        let hidden: Vec<usize> = serde_json::from_value(parse("hidden", "a list of sizes")?)
            .map_err(|_| bad("metadata \"hidden\" is not a list of layer sizes".into()))?;
        if hidden.contains(&0) {
            return Err(bad("metadata \"hidden\" has a layer of size 0".into()));
        }
        let activation = match entry("activation")? {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            other => return Err(bad(format!("unknown activation {other:?}"))),
        };
        let outputs: usize = match entry("outputs")?.parse() {
            Ok(n) if n >= 1 => n,
            _ => return Err(bad("metadata \"outputs\" is not a whole number".into())),
        };
        if task == Task::Regression && outputs != 1 {
            return Err(bad(format!(
                "metadata \"outputs\" is {outputs}, but a regression model has 1 output"
            )));
        }
        let classes = match metadata.get("classes") {
            None => None,
            Some(_) => {
                let names: Vec<String> = serde_json::from_value(parse("classes", "a list")?)
                    .map_err(|_| bad("metadata \"classes\" is not a list of class names".into()))?;
                if task != Task::Classification || names.len() != outputs {
                    return Err(bad(format!(
                        "metadata \"classes\" names {} classes, but the model is a {} with {outputs} \
                         outputs",
                        names.len(),
                        task_name(task)
                    )));
                }
                let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
                if distinct.len() != names.len() || names.iter().any(String::is_empty) {
                    return Err(bad(
                        "metadata \"classes\" has an empty or repeated class name".into(),
                    ));
                }
                Some(names)
            }
        };
        let feature_scaling = Scaling {
            mean: numbers("feature_mean", features.len())?,
            std: numbers("feature_std", features.len())?,
        };
        let target_scaling = match task {
            Task::Classification => None,
            Task::Regression => Some(Scaling {
                mean: vec![number("target_mean")?],
                std: vec![number("target_std")?],
            }),
        };
        // In f32, as the model computes: 1e39 in the JSON is infinity here.
        let scalings = [
            ("feature_mean", &feature_scaling.mean),
            ("feature_std", &feature_scaling.std),
        ]
        .into_iter()
        .chain(
            target_scaling
                .iter()
                .flat_map(|t| [("target_mean", &t.mean), ("target_std", &t.std)]),
        );
        for (key, values) in scalings {
            if let Some(value) = values.iter().find(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "metadata {key:?} holds {value}, which is not a finite f32"
                )));
            }
            if key.ends_with("_std") && values.iter().any(|&v| v < 0.0) {
                return Err(bad(format!("metadata {key:?} holds a negative deviation")));
            }
        }
        Ok(Architecture {
            task,
            target: entry("target")?.to_string(),
            features,
            hidden,
            activation,
            outputs,
            classes,
            feature_scaling,
            target_scaling,
        })
    }
}

/// The metadata's name of a task.
pub fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "classification",
        Task::Regression => "regression",
    }
}

/// The model file's bytes: the weights with the architecture in the metadata (`path` names
/// the file in errors; the caller writes it, with any other outputs, all or none).
pub fn encode(
    path: &Path,
    architecture: &Architecture,
    params: &ParamStore<Real>,
    trained_with: &str,
) -> Result<Vec<u8>, CliError> {
    let layout = WeightLayout::of_version(FORMAT_VERSION);
    let mut saved = ParamStore::new();
    for (_, name, param) in params.iter() {
        let value = match param.kind {
            ParamKind::Weight => layout.convert(&param.value),
            _ => param.value.clone(),
        };
        saved.insert(name, value, param.kind);
    }
    Ok(encode_weights(
        path,
        &saved,
        &architecture.to_metadata(trained_with),
    )?)
}

/// A saved model, rebuilt: its architecture, the model and its trained parameters.
///
/// The file is read once (its size bounded by what its header announces). Before anything is
/// built from the metadata, every tensor the metadata implies is checked against the file —
/// name, kind, shape and finite values — so a crafted `hidden: [1e11]` is an error, not an
/// allocation: the model built is no larger than the tensors the file really holds.
pub fn load(path: &Path) -> Result<(Architecture, Sequential<Real>, ParamStore<Real>), CliError> {
    let file = load_weights::<Real>(path)?;
    let architecture = Architecture::from_metadata(path, &file.metadata)?;
    // `from_metadata` has checked the version.
    let layout = WeightLayout::of_version(&file.metadata["format_version"]);
    architecture.check_tensors(path, &file.params, layout)?;
    let (model, mut params) = architecture.build(0);
    let ids: Vec<_> = params.ids().collect();
    for id in ids {
        let name = params.name(id).to_string();
        let saved = file.params.id(&name).expect("checked by check_tensors");
        let value = file.params.value(saved);
        let value = match params.kind(id) {
            ParamKind::Weight => layout.convert(value),
            _ => value.clone(),
        };
        params.set_value(id, value);
    }
    Ok((architecture, model, params))
}

impl Architecture {
    /// The parameters the model has, in the order it creates them: name, kind and shape in a
    /// file of `layout`.
    fn tensors(&self, layout: WeightLayout) -> Vec<(String, ParamKind, Vec<usize>)> {
        let mut tensors = Vec::with_capacity(2 * (self.hidden.len() + 1));
        let mut inputs = self.features.len();
        let layers = self
            .hidden
            .iter()
            .enumerate()
            .map(|(i, &size)| (format!("hidden{}", i + 1), size));
        for (name, size) in layers.chain([("output".to_string(), self.outputs)]) {
            tensors.push((
                format!("{name}.weight"),
                ParamKind::Weight,
                layout.shape(inputs, size),
            ));
            tensors.push((format!("{name}.bias"), ParamKind::Bias, vec![size]));
            inputs = size;
        }
        tensors
    }

    /// Checks that `saved` holds exactly this model's parameters, each with its kind and
    /// shape and only finite values.
    fn check_tensors(
        &self,
        path: &Path,
        saved: &ParamStore<Real>,
        layout: WeightLayout,
    ) -> Result<(), CliError> {
        let bad = |reason: String| CliError::NotAModel {
            path: path.to_path_buf(),
            reason,
        };
        // Counted first, so that a metadata of a million layers builds no list of them.
        let layers = self.hidden.len() + 1;
        if saved.len() != 2 * layers {
            return Err(bad(format!(
                "the metadata describes {layers} layers ({}), which have {} tensors, but the \
                 file holds {}",
                self.describe(),
                2 * layers,
                saved.len()
            )));
        }
        for (name, kind, shape) in self.tensors(layout) {
            let Some(id) = saved.id(&name) else {
                return Err(bad(format!(
                    "the metadata describes the model {}, which has a tensor {name:?}, but the \
                     file has none",
                    self.describe()
                )));
            };
            let value = saved.value(id);
            if value.shape() != shape.as_slice() {
                return Err(bad(format!(
                    "tensor {name:?} has shape {:?}, but the model the metadata describes ({}) \
                     needs {shape:?}",
                    value.shape(),
                    self.describe()
                )));
            }
            if saved.kind(id) != kind {
                return Err(bad(format!(
                    "tensor {name:?} is saved as a {}, but it is a {}",
                    saved.kind(id).as_str(),
                    kind.as_str()
                )));
            }
            if let Some(x) = value.as_slice().iter().find(|x| !x.is_finite()) {
                return Err(bad(format!(
                    "tensor {name:?} holds {x}, which is not finite"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn architecture(task: Task) -> Architecture {
        Architecture {
            task,
            target: "y".into(),
            features: vec!["a".into(), "b, with a comma".into()],
            hidden: vec![3],
            activation: Activation::Tanh,
            outputs: if task == Task::Regression { 1 } else { 2 },
            classes: (task == Task::Classification)
                .then(|| vec!["no, with a comma".to_string(), "yes \"quoted\"".to_string()]),
            feature_scaling: Scaling {
                mean: vec![0.1, -2.5],
                std: vec![1.5, 0.0],
            },
            target_scaling: (task == Task::Regression).then(|| Scaling {
                mean: vec![152.13],
                std: vec![77.0],
            }),
        }
    }

    #[test]
    fn the_metadata_reads_back_as_it_was_written() {
        for task in [Task::Classification, Task::Regression] {
            let written = architecture(task);
            let metadata = written.to_metadata("test");
            let read = Architecture::from_metadata(Path::new("m"), &metadata).unwrap();
            assert_eq!(read, written);
        }
    }

    #[test]
    fn a_missing_or_malformed_entry_is_named() {
        let mut metadata = architecture(Task::Classification).to_metadata("test");
        metadata.remove("hidden");
        let err = Architecture::from_metadata(Path::new("m"), &metadata).unwrap_err();
        assert!(err.to_string().contains("no \"hidden\" entry"), "{err}");
        let mut metadata = architecture(Task::Classification).to_metadata("test");
        metadata.insert("feature_std".into(), "[1]".into());
        let err = Architecture::from_metadata(Path::new("m"), &metadata).unwrap_err();
        assert!(err.to_string().contains("a list of 2 numbers"), "{err}");
    }

    #[test]
    fn version_1_files_without_classes_still_read() {
        let mut written = architecture(Task::Classification);
        written.classes = None;
        let mut metadata = written.to_metadata("test");
        metadata.insert("format_version".into(), "1".into());
        let read = Architecture::from_metadata(Path::new("m"), &metadata).unwrap();
        assert_eq!(read, written);
        metadata.insert("format_version".into(), "4".into());
        let err = Architecture::from_metadata(Path::new("m"), &metadata).unwrap_err();
        assert!(
            err.to_string().contains("reads versions 1, 2 and 3"),
            "{err}"
        );
    }

    #[test]
    fn weights_are_saved_out_by_in_and_files_of_every_version_load() {
        let arch = architecture(Task::Classification);
        let (_, mut params) = arch.build(7);
        // Distinct values, so that a transpose in the wrong place cannot go unseen.
        let ids: Vec<_> = params.ids().collect();
        for (k, id) in ids.iter().enumerate() {
            let shape = params.value(*id).shape().to_vec();
            let n: usize = shape.iter().product();
            let values = (0..n).map(|i| (k * 100 + i) as Real).collect();
            params.set_value(*id, Tensor::from_vec(values, &shape));
        }
        let dir = std::env::temp_dir().join(format!("chainrule-model-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        let current = dir.join("v3.safetensors");
        std::fs::write(&current, encode(&current, &arch, &params, "test").unwrap()).unwrap();
        let file = load_weights::<Real>(&current).unwrap();
        let hidden = file.params.value(file.params.id("hidden1.weight").unwrap());
        // Dense holds [in = 2, out = 3] with rows (0 1 2) and (3 4 5); nn.Linear's [out, in]
        // has the columns as rows.
        assert_eq!(hidden.shape(), &[3, 2]);
        assert_eq!(hidden.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);

        // A version-2 file: the weights as Dense holds them.
        let old = dir.join("v2.safetensors");
        let mut metadata = arch.to_metadata("test");
        metadata.insert("format_version".into(), "2".into());
        std::fs::write(&old, encode_weights(&old, &params, &metadata).unwrap()).unwrap();

        for path in [&current, &old] {
            let (read, _, loaded) = load(path).unwrap();
            assert_eq!(read, arch);
            for id in params.ids() {
                let again = loaded.id(params.name(id)).unwrap();
                assert_eq!(loaded.value(again), params.value(id), "{path:?}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn class_names_must_match_the_outputs() {
        let mut metadata = architecture(Task::Classification).to_metadata("test");
        metadata.insert("classes".into(), r#"["a","b","c"]"#.into());
        let err = Architecture::from_metadata(Path::new("m"), &metadata).unwrap_err();
        assert!(err.to_string().contains("names 3 classes"), "{err}");
        metadata.insert("classes".into(), r#"["a","a"]"#.into());
        let err = Architecture::from_metadata(Path::new("m"), &metadata).unwrap_err();
        assert!(err.to_string().contains("repeated"), "{err}");
    }

    #[test]
    fn scaling_applies_and_inverts_with_a_constant_column_only_centred() {
        let scaling = architecture(Task::Classification).feature_scaling;
        let x = Tensor::from_vec(vec![1.6, -2.5, 0.1, 0.5], &[2, 2]);
        let z = scaling.apply(&x);
        assert_eq!(z.to_vec(), vec![1.0, 0.0, 0.0, 3.0]);
        assert_eq!(scaling.invert(&z).to_vec(), x.to_vec());
    }

    #[test]
    fn the_model_has_the_described_layers() {
        let arch = architecture(Task::Classification);
        let (_, params) = arch.build(0);
        let names: Vec<&str> = params.iter().map(|(_, name, _)| name).collect();
        assert_eq!(
            names,
            [
                "hidden1.weight",
                "hidden1.bias",
                "output.weight",
                "output.bias"
            ]
        );
        assert_eq!(arch.describe(), "2 → 3 tanh → 2");
        // What `load` checks a file against is what `build` makes.
        let built: Vec<(String, ParamKind, Vec<usize>)> = params
            .iter()
            .map(|(_, name, p)| (name.to_string(), p.kind, p.value.shape().to_vec()))
            .collect();
        assert_eq!(built, arch.tensors(WeightLayout::InputsByOutputs));
        // In a file of today's version, weights are [out, in].
        let filed = arch.tensors(WeightLayout::of_version(FORMAT_VERSION));
        assert_eq!(filed[0].2, [3, 2]);
        assert_eq!(filed[2].2, [2, 3]);
    }
}
