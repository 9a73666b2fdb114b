//! Helpers shared by the optimizer tests: a store with one weight and one bias, gradients for
//! it, and element-wise comparison.

#![allow(dead_code)]

use chainrule_autodiff::{ParamGrads, ParamId, ParamKind, ParamStore, Tensor};

/// A store holding a weight `w` and a bias `b`, both 1-d.
pub fn weight_and_bias(w: &[f64], b: &[f64]) -> (ParamStore<f64>, ParamId, ParamId) {
    let mut params = ParamStore::new();
    let wid = params.insert(
        "w",
        Tensor::from_vec(w.to_vec(), &[w.len()]),
        ParamKind::Weight,
    );
    let bid = params.insert(
        "b",
        Tensor::from_vec(b.to_vec(), &[b.len()]),
        ParamKind::Bias,
    );
    (params, wid, bid)
}

/// Gradients for some parameters, each 1-d (the others have none).
pub fn grads(of: &[(ParamId, &[f64])]) -> ParamGrads<f64> {
    let mut grads = ParamGrads::new(0);
    for &(id, values) in of {
        grads.set(id, Tensor::from_vec(values.to_vec(), &[values.len()]));
    }
    grads
}

/// Asserts that two sequences agree element by element to within `tolerance` (relative to the
/// larger magnitude, or absolute near zero).
#[track_caller]
pub fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "lengths differ: {actual:?} vs {expected:?}"
    );
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let scale = a.abs().max(e.abs()).max(1.0);
        assert!(
            (a - e).abs() <= tolerance * scale,
            "element {i}: got {a}, expected {e} (all: {actual:?} vs {expected:?})"
        );
    }
}

/// Three steps' gradients for a 3-element parameter: varied signs and sizes.
pub const GRADS: [[f64; 3]; 3] = [[0.5, -1.0, 2.0], [-0.2, 0.3, 1.5], [0.4, -0.7, -0.1]];

/// The starting value of the 3-element parameter the tests step.
pub const START: [f64; 3] = [1.0, -2.0, 0.5];

/// The value of each element after each step of a scalar reference `update`, which maps
/// (element index, step index counted from 0, current value, gradient) to the new value and
/// keeps whatever state it needs itself.
pub fn reference_trajectory(
    mut update: impl FnMut(usize, usize, f64, f64) -> f64,
) -> Vec<[f64; 3]> {
    let mut p = START;
    let mut trajectory = Vec::new();
    for (step, grad) in GRADS.iter().enumerate() {
        for i in 0..3 {
            p[i] = update(i, step, p[i], grad[i]);
        }
        trajectory.push(p);
    }
    trajectory
}

/// The value of a 3-element parameter of the given kind after each of the three steps of
/// [`GRADS`], starting from [`START`].
pub fn optimizer_trajectory(
    optimizer: &mut dyn chainrule_optim::Optimizer<f64>,
    kind: ParamKind,
) -> Vec<[f64; 3]> {
    let mut params = ParamStore::new();
    let id = params.insert("p", Tensor::from_vec(START.to_vec(), &[3]), kind);
    GRADS
        .iter()
        .map(|grad| {
            optimizer.apply(&mut params, &grads(&[(id, grad)]));
            let value = params.value(id).as_slice();
            [value[0], value[1], value[2]]
        })
        .collect()
}

/// Asserts that two trajectories agree step by step.
#[track_caller]
pub fn assert_trajectories_close(actual: &[[f64; 3]], expected: &[[f64; 3]], tolerance: f64) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert_close(a, e, tolerance);
    }
}
