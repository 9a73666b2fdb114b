//! RMSProp against `torch.optim.RMSprop`'s published update: two steps worked by hand for the
//! plain, centered and momentum variants, and a scalar reference of the formula for every
//! combination over three steps.

mod common;

use chainrule_autodiff::ParamKind;
use chainrule_optim::{Optimizer, RmsProp, RmsPropConfig};
use common::*;

/// `torch.optim.RMSprop`'s algorithm for one element, from its documentation:
/// g ← g + λp; v ← αv + (1 − α)g²; ḡ ← αḡ + (1 − α)g (centered);
/// d = √(v − ḡ²) + ε or √v + ε; b ← μb + g/d, p ← p − lr·b (momentum) or p ← p − lr·g/d.
fn reference(config: RmsPropConfig<f64>, kind: ParamKind) -> Vec<[f64; 3]> {
    let RmsPropConfig {
        learning_rate: lr,
        alpha,
        eps,
        weight_decay,
        momentum,
        centered,
    } = config;
    let decay = if kind == ParamKind::Weight {
        weight_decay
    } else {
        0.0
    };
    let (mut v, mut mean, mut b) = ([0.0; 3], [0.0; 3], [0.0; 3]);
    reference_trajectory(|i, _step, p, g| {
        let g = g + decay * p;
        v[i] = alpha * v[i] + (1.0 - alpha) * g * g;
        let denominator = if centered {
            mean[i] = alpha * mean[i] + (1.0 - alpha) * g;
            (v[i] - mean[i] * mean[i]).sqrt() + eps
        } else {
            v[i].sqrt() + eps
        };
        if momentum > 0.0 {
            b[i] = momentum * b[i] + g / denominator;
            p - lr * b[i]
        } else {
            p - lr * g / denominator
        }
    })
}

/// Steps a scalar weight from 1.0 with gradients 0.5 then −0.2 and returns its values.
fn two_scalar_steps(config: RmsPropConfig<f64>) -> Vec<f64> {
    let (mut params, w, _) = weight_and_bias(&[1.0], &[0.0]);
    let mut rmsprop = RmsProp::new(config);
    [0.5, -0.2]
        .iter()
        .map(|&g| {
            rmsprop.apply(&mut params, &grads(&[(w, &[g])]));
            params.value(w).item()
        })
        .collect()
}

#[test]
fn plain_matches_hand_computed_steps() {
    // Defaults: lr 0.01, α 0.99, ε 1e-8.
    // v₁ = 0.01·0.25 = 0.0025 (√ = 0.05)            p₁ = 1 − 0.01·0.5/(0.05 + ε)
    // v₂ = 0.99·0.0025 + 0.01·0.04 = 0.002875       p₂ = p₁ + 0.01·0.2/(√0.002875 + ε)
    let p1 = 1.0 - 0.01 * 0.5 / (0.05 + 1e-8);
    let p2 = p1 + 0.01 * 0.2 / (0.002875f64.sqrt() + 1e-8);
    assert_close(
        &two_scalar_steps(RmsPropConfig::default()),
        &[p1, p2],
        1e-13,
    );
    assert!((p1 - 0.9).abs() < 1e-6); // the first step is lr·g/|g|/√(1 − α) = 0.1
}

#[test]
fn centered_matches_hand_computed_steps() {
    // ḡ₁ = 0.01·0.5 = 0.005;  v₁ − ḡ₁² = 0.0025 − 0.000025 = 0.002475
    // ḡ₂ = 0.99·0.005 − 0.01·0.2 = 0.00295;  v₂ − ḡ₂² = 0.002875 − 0.0000087025 = 0.0028662975
    let p1 = 1.0 - 0.01 * 0.5 / (0.002475f64.sqrt() + 1e-8);
    let p2 = p1 + 0.01 * 0.2 / (0.0028662975f64.sqrt() + 1e-8);
    let config = RmsPropConfig {
        centered: true,
        ..RmsPropConfig::default()
    };
    assert_close(&two_scalar_steps(config), &[p1, p2], 1e-13);
}

#[test]
fn momentum_matches_hand_computed_steps() {
    // b₁ = 0.5/(0.05 + ε)                          p₁ = 1 − 0.01·b₁
    // b₂ = 0.9·b₁ − 0.2/(√0.002875 + ε)            p₂ = p₁ − 0.01·b₂
    let b1 = 0.5 / (0.05 + 1e-8);
    let b2 = 0.9 * b1 - 0.2 / (0.002875f64.sqrt() + 1e-8);
    let p1 = 1.0 - 0.01 * b1;
    let p2 = p1 - 0.01 * b2;
    let config = RmsPropConfig {
        momentum: 0.9,
        ..RmsPropConfig::default()
    };
    assert_close(&two_scalar_steps(config), &[p1, p2], 1e-13);
}

#[test]
fn every_setting_matches_the_reference_over_three_steps() {
    for centered in [false, true] {
        for momentum in [0.0, 0.9] {
            for weight_decay in [0.0, 0.1] {
                for kind in [ParamKind::Weight, ParamKind::Bias] {
                    let config = RmsPropConfig {
                        learning_rate: 0.05,
                        alpha: 0.9,
                        eps: 1e-6,
                        weight_decay,
                        momentum,
                        centered,
                    };
                    let actual = optimizer_trajectory(&mut RmsProp::new(config), kind);
                    assert_trajectories_close(&actual, &reference(config, kind), 1e-12);
                }
            }
        }
    }
}

#[test]
fn weight_decay_applies_to_weights_only() {
    let config = RmsPropConfig {
        weight_decay: 0.5,
        ..RmsPropConfig::default()
    };
    let (mut params, w, b) = weight_and_bias(&[1.0], &[1.0]);
    let mut rmsprop = RmsProp::new(config);
    for g in [0.5, -0.2] {
        rmsprop.apply(&mut params, &grads(&[(w, &[g]), (b, &[g])]));
    }
    // The bias follows plain RMSProp exactly; the weight does not.
    let plain = two_scalar_steps(RmsPropConfig::default());
    assert_close(params.value(b).as_slice(), &plain[1..], 1e-15);
    assert!((params.value(w).item() - plain[1]).abs() > 1e-3);
}

#[test]
fn state_has_the_parameters_shape_and_only_the_buffers_asked_for() {
    let (mut params, w, _) = weight_and_bias(&[1.0, 2.0, 3.0], &[0.0]);
    let grads = grads(&[(w, &[0.1, 0.2, 0.3])]);

    let mut plain = RmsProp::<f64>::default();
    plain.apply(&mut params, &grads);
    let state = plain.state(w).unwrap();
    assert_eq!(state.square_avg.shape(), &[3]);
    assert!(state.grad_avg.is_none() && state.momentum_buffer.is_none());

    let config = RmsPropConfig {
        centered: true,
        momentum: 0.5,
        ..RmsPropConfig::default()
    };
    let mut full = RmsProp::new(config);
    full.apply(&mut params, &grads);
    let state = full.state(w).unwrap();
    assert_eq!(state.grad_avg.as_ref().unwrap().shape(), &[3]);
    assert_eq!(state.momentum_buffer.as_ref().unwrap().shape(), &[3]);
}

#[test]
fn defaults_are_pytorchs() {
    let config = RmsPropConfig::<f64>::default();
    assert_eq!(config.learning_rate, 1e-2);
    assert_eq!(config.alpha, 0.99);
    assert_eq!(config.eps, 1e-8);
    assert_eq!(config.weight_decay, 0.0);
    assert_eq!(config.momentum, 0.0);
    assert!(!config.centered);
}

#[test]
#[should_panic(expected = "RmsProp: invalid alpha -0.5")]
fn negative_alpha_is_refused() {
    RmsProp::new(RmsPropConfig {
        alpha: -0.5,
        ..RmsPropConfig::<f64>::default()
    });
}
