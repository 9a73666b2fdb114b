//! Plain gradient descent against `p ← p − lr·g`, worked by hand.

mod common;

use chainrule_autodiff::ParamKind;
use chainrule_optim::{GradientDescent, GradientDescentConfig, Optimizer};
use common::*;

#[test]
fn one_step_matches_hand_computed_update() {
    let (mut params, w, b) = weight_and_bias(&[1.0, -2.0], &[0.5]);
    let grads = grads(&[(w, &[0.5, -1.0]), (b, &[2.0])]);
    let mut optimizer = GradientDescent::new(GradientDescentConfig { learning_rate: 0.1 });
    optimizer.apply(&mut params, &grads);
    // w: 1 − 0.1·0.5 = 0.95, −2 − 0.1·(−1) = −1.9; b: 0.5 − 0.1·2 = 0.3.
    assert_close(params.value(w).as_slice(), &[0.95, -1.9], 1e-15);
    assert_close(params.value(b).as_slice(), &[0.3], 1e-15);
}

#[test]
fn three_steps_match_hand_computed_updates() {
    let mut optimizer = GradientDescent::new(GradientDescentConfig { learning_rate: 0.1 });
    let trajectory = optimizer_trajectory(&mut optimizer, ParamKind::Weight);
    // START = [1, −2, 0.5]; each step subtracts 0.1·GRADS[step]:
    // step 1: [1 − 0.05, −2 + 0.1, 0.5 − 0.2]  = [0.95, −1.9, 0.3]
    // step 2: [0.95 + 0.02, −1.9 − 0.03, 0.3 − 0.15] = [0.97, −1.93, 0.15]
    // step 3: [0.97 − 0.04, −1.93 + 0.07, 0.15 + 0.01] = [0.93, −1.86, 0.16]
    let expected = [[0.95, -1.9, 0.3], [0.97, -1.93, 0.15], [0.93, -1.86, 0.16]];
    assert_trajectories_close(&trajectory, &expected, 1e-14);
}

#[test]
fn defaults_are_pytorchs() {
    assert_eq!(GradientDescentConfig::<f64>::default().learning_rate, 1e-3);
    let mut optimizer = GradientDescent::<f64>::default();
    optimizer.set_learning_rate(0.25);
    assert_eq!(optimizer.learning_rate(), 0.25);
    assert_eq!(optimizer.config().learning_rate, 0.25);
}

#[test]
#[should_panic(expected = "GradientDescent: invalid learning_rate -0.1")]
fn negative_learning_rate_is_refused() {
    GradientDescent::new(GradientDescentConfig {
        learning_rate: -0.1,
    });
}

#[test]
#[should_panic(expected = "the gradient of \"w\" has shape [3], the parameter [2]")]
fn gradient_of_the_wrong_shape_is_refused() {
    let (mut params, w, _) = weight_and_bias(&[1.0, -2.0], &[0.5]);
    let grads = grads(&[(w, &[0.5, -1.0, 3.0])]);
    GradientDescent::<f64>::default().apply(&mut params, &grads);
}
