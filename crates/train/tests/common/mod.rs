//! What the tests share: a linear layer and a two-layer network written against the `Module`
//! trait, plain gradient descent written against the `Optimizer` trait (so the tests depend on
//! no concrete layer or optimizer), a per-test scratch directory, and small data makers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chainrule_autodiff::{Float, Graph, ParamGrads, ParamId, ParamKind, ParamStore, Tensor, Var};
use chainrule_layers::Module;
use chainrule_optim::Optimizer;
use chainrule_train::{Batch, Dataset, Targets};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// `y = x·W + b`.
pub struct Linear {
    pub weight: ParamId,
    pub bias: ParamId,
}

impl Linear {
    /// Small random weights (seeded), zero bias, named `NAME.weight` and `NAME.bias`.
    pub fn new<T: Float>(
        params: &mut ParamStore<T>,
        name: &str,
        inputs: usize,
        outputs: usize,
        seed: u64,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let scale = T::of(1.0 / (inputs as f64).sqrt());
        let weight = Tensor::rand_uniform(&[inputs, outputs], -scale, scale, &mut rng);
        Linear {
            weight: params.insert(format!("{name}.weight"), weight, ParamKind::Weight),
            bias: params.insert(
                format!("{name}.bias"),
                Tensor::rand_uniform(&[outputs], -scale, scale, &mut rng),
                ParamKind::Bias,
            ),
        }
    }
}

impl<T: Float> Module<T> for Linear {
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        x.matmul(params.bind(g, self.weight)) + params.bind(g, self.bias)
    }
}

/// `y = tanh(x·W₁ + b₁)·W₂ + b₂`.
pub struct TwoLayer {
    pub hidden: Linear,
    pub output: Linear,
}

impl TwoLayer {
    pub fn new<T: Float>(
        params: &mut ParamStore<T>,
        inputs: usize,
        hidden: usize,
        outputs: usize,
        seed: u64,
    ) -> Self {
        TwoLayer {
            hidden: Linear::new(params, "hidden", inputs, hidden, seed),
            output: Linear::new(params, "output", hidden, outputs, seed + 1),
        }
    }
}

impl<T: Float> Module<T> for TwoLayer {
    fn forward<'g>(&self, g: &'g Graph<T>, params: &ParamStore<T>, x: Var<'g, T>) -> Var<'g, T> {
        let h = self.hidden.forward(g, params, x).tanh();
        self.output.forward(g, params, h)
    }
}

/// `θ ← θ − α·∇θ`, updating in place.
pub struct Descent<T> {
    pub learning_rate: T,
}

impl<T: Float> Optimizer<T> for Descent<T> {
    fn apply(&mut self, params: &mut ParamStore<T>, grads: &ParamGrads<T>) {
        for (id, grad) in grads.iter() {
            let value = params.value_mut(id).data_mut();
            for (v, &g) in value.iter_mut().zip(grad.as_slice()) {
                *v -= self.learning_rate * g;
            }
        }
    }

    fn learning_rate(&self) -> T {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: T) {
        self.learning_rate = learning_rate;
    }
}

/// The mean squared error of a regression batch.
pub fn mse<'g, T: Float>(output: Var<'g, T>, batch: &Batch<T>) -> Var<'g, T> {
    let target = output.graph().input(batch.values().clone());
    (output - target).square().mean()
}

/// Softmax cross-entropy of a classification batch.
pub fn cross_entropy<'g, T: Float>(logits: Var<'g, T>, batch: &Batch<T>) -> Var<'g, T> {
    logits.softmax_cross_entropy(batch.classes())
}

/// A fresh, empty directory for one test, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("chainrule-train-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// Writes a file in the directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// The names of the files in the directory, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `y = x·w + b + noise` on `n` rows of standard normal features (seeded).
pub fn linear_data(n: usize, w: &[f64], b: f64, noise: f64, seed: u64) -> Dataset<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let d = w.len();
    let x = Tensor::<f64>::rand_normal(&[n, d], 0.0, 1.0, &mut rng);
    let e = Tensor::<f64>::rand_normal(&[n], 0.0, noise, &mut rng);
    let y: Vec<f64> = x
        .as_slice()
        .chunks(d)
        .zip(e.as_slice())
        .map(|(row, e)| row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b + e)
        .collect();
    Dataset::new(x, Targets::Values(Tensor::from_vec(y, &[n, 1])))
}

/// The path of a file under the repository's `data/`.
pub fn repo_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}
