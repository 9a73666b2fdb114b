//! SGD against `torch.optim.SGD`'s published update: numbers worked by hand for a scalar, and a
//! scalar reference of the formula for every combination of momentum, dampening, Nesterov and
//! weight decay.

mod common;

use chainrule_autodiff::ParamKind;
use chainrule_optim::{Optimizer, Sgd, SgdConfig};
use common::*;

/// `torch.optim.SGD`'s algorithm for one element, from its documentation:
/// g ← g + λp; b ← g (first step) or μb + (1 − τ)g; g ← g + μb (Nesterov) or b; p ← p − lr·g.
fn reference(config: SgdConfig<f64>, kind: ParamKind) -> Vec<[f64; 3]> {
    let decay = if kind == ParamKind::Weight {
        config.weight_decay
    } else {
        0.0
    };
    let mut buffers: [Option<f64>; 3] = [None; 3];
    reference_trajectory(|i, _step, p, g| {
        let mut g = g + decay * p;
        if config.momentum != 0.0 {
            let b = match buffers[i] {
                None => g,
                Some(b) => config.momentum * b + (1.0 - config.dampening) * g,
            };
            buffers[i] = Some(b);
            g = if config.nesterov {
                g + config.momentum * b
            } else {
                b
            };
        }
        p - config.learning_rate * g
    })
}

/// Steps a scalar parameter from 1.0 with gradients 0.5, −0.2, 0.4 and returns its values.
fn scalar_steps(config: SgdConfig<f64>) -> Vec<f64> {
    let (mut params, w, _) = weight_and_bias(&[1.0], &[0.0]);
    let mut sgd = Sgd::new(config);
    [0.5, -0.2, 0.4]
        .iter()
        .map(|&g| {
            sgd.apply(&mut params, &grads(&[(w, &[g])]));
            params.value(w).item()
        })
        .collect()
}

fn config(momentum: f64, dampening: f64, nesterov: bool, weight_decay: f64) -> SgdConfig<f64> {
    SgdConfig {
        learning_rate: 0.1,
        momentum,
        dampening,
        weight_decay,
        nesterov,
    }
}

#[test]
fn momentum_matches_hand_computed_steps() {
    // b₁ = 0.5                  p₁ = 1 − 0.05      = 0.95
    // b₂ = 0.9·0.5 − 0.2 = 0.25  p₂ = 0.95 − 0.025  = 0.925
    // b₃ = 0.9·0.25 + 0.4 = 0.625 p₃ = 0.925 − 0.0625 = 0.8625
    assert_close(
        &scalar_steps(config(0.9, 0.0, false, 0.0)),
        &[0.95, 0.925, 0.8625],
        1e-14,
    );
}

#[test]
fn nesterov_matches_hand_computed_steps() {
    // b₁ = 0.5,   step 0.5 + 0.9·0.5 = 0.95      p₁ = 1 − 0.095 = 0.905
    // b₂ = 0.25,  step −0.2 + 0.9·0.25 = 0.025   p₂ = 0.905 − 0.0025 = 0.9025
    // b₃ = 0.625, step 0.4 + 0.9·0.625 = 0.9625  p₃ = 0.9025 − 0.09625 = 0.80625
    assert_close(
        &scalar_steps(config(0.9, 0.0, true, 0.0)),
        &[0.905, 0.9025, 0.80625],
        1e-14,
    );
}

#[test]
fn dampening_matches_hand_computed_steps() {
    // The first buffer is the undampened gradient, as in PyTorch.
    // b₁ = 0.5                          p₁ = 0.95
    // b₂ = 0.9·0.5 + 0.5·(−0.2) = 0.35  p₂ = 0.95 − 0.035 = 0.915
    // b₃ = 0.9·0.35 + 0.5·0.4 = 0.515   p₃ = 0.915 − 0.0515 = 0.8635
    assert_close(
        &scalar_steps(config(0.9, 0.5, false, 0.0)),
        &[0.95, 0.915, 0.8635],
        1e-14,
    );
}

#[test]
fn weight_decay_applies_to_weights_only() {
    let (mut params, w, b) = weight_and_bias(&[1.0], &[1.0]);
    let grads = grads(&[(w, &[0.5]), (b, &[0.5])]);
    let mut sgd = Sgd::new(config(0.0, 0.0, false, 0.1));
    sgd.apply(&mut params, &grads);
    // Weight: g = 0.5 + 0.1·1 = 0.6, p = 1 − 0.06 = 0.94. Bias: p = 1 − 0.05 = 0.95.
    assert_close(params.value(w).as_slice(), &[0.94], 1e-15);
    assert_close(params.value(b).as_slice(), &[0.95], 1e-15);
}

#[test]
fn every_setting_matches_the_reference_over_three_steps() {
    for momentum in [0.0, 0.9] {
        for dampening in [0.0, 0.3] {
            for nesterov in [false, true] {
                if nesterov && (momentum == 0.0 || dampening != 0.0) {
                    continue;
                }
                for weight_decay in [0.0, 0.05] {
                    for kind in [ParamKind::Weight, ParamKind::Bias] {
                        let config = config(momentum, dampening, nesterov, weight_decay);
                        let actual = optimizer_trajectory(&mut Sgd::new(config), kind);
                        assert_trajectories_close(&actual, &reference(config, kind), 1e-13);
                    }
                }
            }
        }
    }
}

#[test]
fn first_step_buffer_is_the_gradient_and_no_buffer_without_momentum() {
    let (mut params, w, b) = weight_and_bias(&[1.0, 2.0], &[0.0]);
    let grads = grads(&[(w, &[0.5, -1.5]), (b, &[1.0])]);
    let mut sgd = Sgd::new(config(0.9, 0.3, false, 0.0));
    sgd.apply(&mut params, &grads);
    let state = sgd.state(w).unwrap();
    assert_eq!(state.momentum_buffer.shape(), &[2]);
    assert_eq!(state.momentum_buffer.to_vec(), vec![0.5, -1.5]);

    let mut plain = Sgd::new(config(0.0, 0.0, false, 0.0));
    plain.apply(&mut params, &grads);
    assert!(plain.state(w).is_none());
}

#[test]
fn defaults_are_pytorchs() {
    let config = SgdConfig::<f64>::default();
    assert_eq!(config.learning_rate, 1e-3);
    assert_eq!(config.momentum, 0.0);
    assert_eq!(config.dampening, 0.0);
    assert_eq!(config.weight_decay, 0.0);
    assert!(!config.nesterov);
}

#[test]
#[should_panic(expected = "Nesterov momentum needs a positive momentum and zero dampening")]
fn nesterov_without_momentum_is_refused() {
    Sgd::new(SgdConfig {
        nesterov: true,
        ..SgdConfig::<f64>::default()
    });
}

#[test]
#[should_panic(expected = "Nesterov momentum needs a positive momentum and zero dampening")]
fn nesterov_with_dampening_is_refused() {
    Sgd::new(config(0.9, 0.1, true, 0.0));
}
