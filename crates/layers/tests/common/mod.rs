//! Helpers shared by the layer tests: seeded random tensors, an unevenly weighted sum so that
//! misrouted gradients cannot pass by symmetry, and gradchecks of a module with respect to its
//! input and to its parameters.

#![allow(dead_code)] // each test file uses its own subset

use chainrule_autodiff::{
    gradcheck, GradcheckOptions, GradcheckReport, Graph, ParamId, ParamStore, Tensor, Var,
};
use chainrule_layers::Module;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// A seeded generator.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A tensor of values drawn from `U(−1, 1)`.
pub fn random(shape: &[usize], rng: &mut StdRng) -> Tensor<f64> {
    Tensor::rand_uniform(shape, -1.0, 1.0, rng)
}

/// Fixed, varied, nonzero weights for every element of `shape`.
pub fn uneven_weights(shape: &[usize]) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| 1.0 + 0.75 * (1.3 * i as f64 + 0.4).sin())
        .collect();
    Tensor::from_vec(data, shape)
}

/// `Σ wᵢ·yᵢ` with [`uneven_weights`]: the upstream gradient differs per element.
pub fn weighted_sum(y: Var<'_, f64>) -> Var<'_, f64> {
    let w = y.graph().constant(uneven_weights(&y.shape()));
    (y * w).sum()
}

/// Panics when every element of a gradient is zero: a check against finite differences would
/// then pass without testing anything (a parameter the function does not reach, say).
#[track_caller]
fn assert_reaches(what: &str, grad: &Tensor<f64>) {
    assert!(
        grad.as_slice().iter().any(|&v| v != 0.0),
        "{what} gets no gradient, so gradcheck would test nothing"
    );
}

/// Gradcheck of `Σ w·f(x)` with respect to `x` (which must reach the output).
#[track_caller]
pub fn check_input<F>(x: Tensor<f64>, f: F) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, Var<'g, f64>) -> Var<'g, f64>,
{
    {
        let g = Graph::new();
        let v = g.param(x.clone());
        assert_reaches("the input", &weighted_sum(f(&g, v)).backward()[v]);
    }
    gradcheck(
        |g, v| weighted_sum(f(g, v[0])),
        &[x],
        GradcheckOptions::default(),
    )
}

/// Gradcheck of `Σ w·f()` with respect to the parameters `ids`: gradcheck's vars are bound in
/// their place with `ParamStore::bind_var`, so `f` uses them when it binds its parameters.
/// Every parameter must reach the output.
#[track_caller]
pub fn check_params<F>(params: &ParamStore<f64>, ids: &[ParamId], f: F) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>) -> Var<'g, f64>,
{
    let values: Vec<Tensor<f64>> = ids.iter().map(|&id| params.value(id).clone()).collect();
    {
        let g = Graph::new();
        let vars: Vec<_> = values.iter().map(|t| g.param(t.clone())).collect();
        for (&id, &var) in ids.iter().zip(&vars) {
            params.bind_var(id, var);
        }
        let grads = weighted_sum(f(&g)).backward();
        for (&id, &var) in ids.iter().zip(&vars) {
            assert_reaches(params.name(id), &grads[var]);
        }
    }
    gradcheck(
        |g, v| {
            for (&id, &var) in ids.iter().zip(v) {
                params.bind_var(id, var);
            }
            weighted_sum(f(g))
        },
        &values,
        GradcheckOptions::default(),
    )
}

/// Gradchecks a module with respect to its input and to every parameter in the store.
#[track_caller]
pub fn check_module(module: &dyn Module<f64>, params: &ParamStore<f64>, x: &Tensor<f64>) {
    check_input(x.clone(), |g, x| module.forward(g, params, x)).assert_passed();
    let ids: Vec<ParamId> = params.ids().collect();
    if !ids.is_empty() {
        check_params(params, &ids, |g| {
            module.forward(g, params, g.input(x.clone()))
        })
        .assert_passed();
    }
}

/// Asserts two slices agree element by element within `tol`.
#[track_caller]
pub fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol,
            "element {i}: {a} vs {e} (tolerance {tol})\nactual {actual:?}\nexpected {expected:?}"
        );
    }
}

/// Random normal inputs of a whole-sequence LSTM op (`x` `[batch, seq, ins]`, `W_x`, `W_h`,
/// bias, `h₀`, `c₀`) and an upstream gradient of its `[seq, batch, 8, hidden]` output.
pub fn lstm_sequence_inputs(
    [batch, seq, ins, hidden]: [usize; 4],
    seed: u64,
) -> (Vec<Tensor<f64>>, Tensor<f64>) {
    let mut rng = rng(seed);
    let mut normal = |shape: &[usize]| Tensor::<f64>::rand_normal(shape, 0.0, 1.0, &mut rng);
    let inputs = vec![
        normal(&[batch, seq, ins]),
        normal(&[ins, 4 * hidden]),
        normal(&[hidden, 4 * hidden]),
        normal(&[4 * hidden]),
        normal(&[batch, hidden]),
        normal(&[batch, hidden]),
    ];
    let blocks = chainrule_layers::recurrent::lstm_cell_op::lstm_block::COUNT;
    let grad = normal(&[seq, batch, blocks, hidden]);
    (inputs, grad)
}
