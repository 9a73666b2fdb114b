//! AdamW against `torch.optim.AdamW`'s published update: p ← p − lr·λ·p on weights, then the
//! Adam step with the undecayed gradient; biases are not decayed.

mod common;

use chainrule_autodiff::ParamKind;
use chainrule_optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer};
use common::*;

/// AdamW for one element: decoupled decay (weights only), then textbook bias-corrected Adam.
fn reference(config: AdamWConfig<f64>, kind: ParamKind) -> Vec<[f64; 3]> {
    let AdamWConfig {
        learning_rate: lr,
        betas: (beta1, beta2),
        eps,
        weight_decay,
    } = config;
    let decay = if kind == ParamKind::Weight {
        weight_decay
    } else {
        0.0
    };
    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    reference_trajectory(|i, step, p, g| {
        let t = (step + 1) as f64;
        let p = p - lr * decay * p;
        m[i] = beta1 * m[i] + (1.0 - beta1) * g;
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
        let m_hat = m[i] / (1.0 - beta1.powf(t));
        let v_hat = v[i] / (1.0 - beta2.powf(t));
        p - lr * m_hat / (v_hat.sqrt() + eps)
    })
}

#[test]
fn one_step_decays_the_weight_and_not_the_bias() {
    let (mut params, w, b) = weight_and_bias(&[2.0], &[2.0]);
    let config = AdamWConfig {
        learning_rate: 0.1,
        weight_decay: 0.5,
        ..AdamWConfig::default()
    };
    let mut adamw = AdamW::new(config);
    adamw.apply(&mut params, &grads(&[(w, &[0.5]), (b, &[0.5])]));
    // Adam's first step: lr·0.5/(0.5 + ε) = 0.1·(1 − 2e-8) ≈ 0.1.
    let adam_step = 0.1 * 0.5 / (0.5 + 1e-8);
    // Weight: 2 − 0.1·0.5·2 = 1.9, then minus the Adam step ≈ 1.8.
    assert_close(params.value(w).as_slice(), &[1.9 - adam_step], 1e-14);
    // Bias: no decay, only the Adam step ≈ 1.9.
    assert_close(params.value(b).as_slice(), &[2.0 - adam_step], 1e-14);
}

#[test]
fn matches_the_reference_over_three_steps() {
    for weight_decay in [0.0, 1e-2, 0.3] {
        let config = AdamWConfig {
            learning_rate: 0.05,
            betas: (0.85, 0.99),
            eps: 1e-6,
            weight_decay,
        };
        for kind in [ParamKind::Weight, ParamKind::Bias] {
            let actual = optimizer_trajectory(&mut AdamW::new(config), kind);
            assert_trajectories_close(&actual, &reference(config, kind), 1e-13);
        }
    }
}

#[test]
fn bias_moves_exactly_as_with_adam_while_the_weight_is_decayed() {
    let config = AdamWConfig {
        learning_rate: 0.05,
        weight_decay: 0.3,
        ..AdamWConfig::default()
    };
    let adam = AdamConfig {
        learning_rate: 0.05,
        ..AdamConfig::default()
    };
    let bias = optimizer_trajectory(&mut AdamW::new(config), ParamKind::Bias);
    let weight = optimizer_trajectory(&mut AdamW::new(config), ParamKind::Weight);
    let undecayed = optimizer_trajectory(&mut Adam::new(adam), ParamKind::Bias);
    assert_trajectories_close(&bias, &undecayed, 0.0);
    // After three steps the weight has shrunk towards zero relative to the bias.
    for i in 0..3 {
        assert!(
            weight[2][i].abs() < bias[2][i].abs(),
            "element {i}: {weight:?} vs {bias:?}"
        );
    }
}

#[test]
fn decoupled_decay_differs_from_adams_l2() {
    // With L2 the decay passes through the moments (and is normalised away on the first step);
    // AdamW subtracts lr·λ·p outright.
    let (lr, lambda) = (0.1, 0.5);
    let l2 = AdamConfig {
        learning_rate: lr,
        weight_decay: lambda,
        ..AdamConfig::default()
    };
    let decoupled = AdamWConfig {
        learning_rate: lr,
        weight_decay: lambda,
        ..AdamWConfig::default()
    };
    let with_l2 = optimizer_trajectory(&mut Adam::new(l2), ParamKind::Weight);
    let with_adamw = optimizer_trajectory(&mut AdamW::new(decoupled), ParamKind::Weight);
    assert!((with_l2[0][0] - with_adamw[0][0]).abs() > 1e-3);
}

#[test]
fn defaults_are_pytorchs() {
    let config = AdamWConfig::<f64>::default();
    assert_eq!(config.learning_rate, 1e-3);
    assert_eq!(config.betas, (0.9, 0.999));
    assert_eq!(config.eps, 1e-8);
    assert_eq!(config.weight_decay, 1e-2);
}
