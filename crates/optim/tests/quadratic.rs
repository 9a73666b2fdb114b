//! Every optimizer, driven by the engine's backward pass, lowers the loss of a small quadratic
//! problem, and updates the parameters in place (the storage is never reallocated).
//!
//! The problem: a 2×3 weight `W` and a bias `b` of 3, with
//! `L = Σ (W − A)² + Σ (b − c)² + Σ (x·W + b)²/10` for fixed `A`, `c` and a row `x`.

use chainrule_autodiff::{Float, Graph, ParamId, ParamKind, ParamStore, Tensor};
use chainrule_optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradientDescent, GradientDescentConfig, Optimizer,
    RmsProp, RmsPropConfig, Sgd, SgdConfig,
};

struct Problem<T> {
    params: ParamStore<T>,
    w: ParamId,
    b: ParamId,
}

impl<T: Float> Problem<T> {
    fn new() -> Self {
        let of = |values: &[f64]| values.iter().map(|&v| T::of(v)).collect::<Vec<_>>();
        let mut params = ParamStore::new();
        let w = params.insert(
            "w",
            Tensor::from_vec(of(&[0.5, -1.0, 2.0, 0.0, 1.5, -0.5]), &[2, 3]),
            ParamKind::Weight,
        );
        let b = params.insert(
            "b",
            Tensor::from_vec(of(&[1.0, -1.0, 0.5]), &[3]),
            ParamKind::Bias,
        );
        Problem { params, w, b }
    }

    /// The loss at the current parameters and, when `optimizer` is given, one update from its
    /// gradients after the graph is dropped. Checks that the update happened in place.
    fn step(&mut self, optimizer: Option<&mut dyn Optimizer<T>>) -> T {
        let of = |values: &[f64]| values.iter().map(|&v| T::of(v)).collect::<Vec<_>>();
        let g = Graph::new();
        let w = self.params.bind(&g, self.w);
        let b = self.params.bind(&g, self.b);
        let target_w = g.constant(Tensor::from_vec(
            of(&[1.0, 2.0, -1.0, 0.5, 0.0, 1.0]),
            &[2, 3],
        ));
        let target_b = g.constant(Tensor::from_vec(of(&[-0.5, 0.5, 0.0]), &[3]));
        let x = g.input(Tensor::from_vec(of(&[1.0, -2.0]), &[1, 2]));
        let fit = (x.matmul(w) + b).square().sum() * T::of(0.1);
        let loss = (w - target_w).square().sum() + (b - target_b).square().sum() + fit;
        let value = loss.item();
        let grads = self.params.collect_grads(&loss.backward());
        drop(g);
        if let Some(optimizer) = optimizer {
            let before = [self.w, self.b].map(|id| self.params.value(id).storage_ptr());
            optimizer.apply(&mut self.params, &grads);
            let after = [self.w, self.b].map(|id| self.params.value(id).storage_ptr());
            assert_eq!(before, after, "the update reallocated a parameter");
        }
        value
    }
}

/// Runs `steps` updates and returns the loss before and after.
fn train<T: Float>(optimizer: &mut dyn Optimizer<T>, steps: usize) -> (T, T) {
    let mut problem = Problem::<T>::new();
    let initial = problem.step(None);
    for _ in 0..steps {
        problem.step(Some(&mut *optimizer));
    }
    (initial, problem.step(None))
}

fn every_optimizer() -> Vec<(&'static str, Box<dyn Optimizer<f64>>)> {
    vec![
        (
            "GradientDescent",
            Box::new(GradientDescent::new(GradientDescentConfig {
                learning_rate: 0.1,
            })),
        ),
        (
            "Sgd",
            Box::new(Sgd::new(SgdConfig {
                learning_rate: 0.05,
                momentum: 0.9,
                ..SgdConfig::default()
            })),
        ),
        (
            "Sgd (Nesterov, weight decay)",
            Box::new(Sgd::new(SgdConfig {
                learning_rate: 0.05,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 1e-3,
                ..SgdConfig::default()
            })),
        ),
        ("RmsProp", Box::new(RmsProp::new(RmsPropConfig::default()))),
        (
            "RmsProp (centered, momentum)",
            Box::new(RmsProp::new(RmsPropConfig {
                learning_rate: 1e-3,
                momentum: 0.9,
                centered: true,
                ..RmsPropConfig::default()
            })),
        ),
        (
            "Adam",
            Box::new(Adam::new(AdamConfig {
                learning_rate: 0.05,
                ..AdamConfig::default()
            })),
        ),
        (
            "Adam (weight decay)",
            Box::new(Adam::new(AdamConfig {
                learning_rate: 0.05,
                weight_decay: 1e-3,
                ..AdamConfig::default()
            })),
        ),
        (
            "AdamW",
            Box::new(AdamW::new(AdamWConfig {
                learning_rate: 0.05,
                ..AdamWConfig::default()
            })),
        ),
        (
            "Adam (clipped)",
            Box::new(
                Adam::new(AdamConfig {
                    learning_rate: 0.05,
                    ..AdamConfig::default()
                })
                .with_grad_clipping(1.0),
            ),
        ),
    ]
}

#[test]
fn every_optimizer_lowers_the_loss_in_place() {
    for (name, mut optimizer) in every_optimizer() {
        let (initial, last) = train(optimizer.as_mut(), 200);
        assert!(
            last < 0.1 * initial,
            "{name}: loss went from {initial} to {last} in 200 steps"
        );
    }
}

#[test]
fn the_first_step_already_lowers_the_loss() {
    for (name, mut optimizer) in every_optimizer() {
        let (initial, after_one) = train(optimizer.as_mut(), 1);
        assert!(after_one < initial, "{name}: {initial} → {after_one}");
    }
}

#[test]
fn works_in_f32() {
    let mut adam = Adam::<f32>::new(AdamConfig {
        learning_rate: 0.05,
        ..AdamConfig::default()
    });
    let (initial, last) = train::<f32>(&mut adam, 200);
    assert!(last < 0.1 * initial, "{initial} → {last}");
}

#[test]
fn step_from_backward_gradients_matches_apply() {
    // `step` looks the gradients up through the live graph; the update is the same (though
    // not in place, since the graph still shares the parameters).
    let mut stepped = Problem::<f64>::new();
    let mut applied = Problem::<f64>::new();
    let config = AdamConfig {
        learning_rate: 0.05,
        ..AdamConfig::default()
    };
    let (mut via_step, mut via_apply) = (Adam::new(config), Adam::new(config));
    for _ in 0..3 {
        let g = Graph::new();
        let w = stepped.params.bind(&g, stepped.w);
        let b = stepped.params.bind(&g, stepped.b);
        let loss = (w - 1.0).square().sum() + (b + 2.0).square().sum();
        via_step.step(&mut stepped.params, &loss.backward());
        drop(g);

        let g = Graph::new();
        let w = applied.params.bind(&g, applied.w);
        let b = applied.params.bind(&g, applied.b);
        let loss = (w - 1.0).square().sum() + (b + 2.0).square().sum();
        let grads = applied.params.collect_grads(&loss.backward());
        drop(g);
        via_apply.apply(&mut applied.params, &grads);
    }
    for (x, y) in [(stepped.w, applied.w), (stepped.b, applied.b)] {
        assert_eq!(stepped.params.value(x), applied.params.value(y));
    }
}
