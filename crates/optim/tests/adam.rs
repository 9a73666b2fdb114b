//! Adam against `torch.optim.Adam`'s published update: two steps worked by hand, and the
//! textbook bias-corrected form (m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), p ← p − lr·m̂/(√v̂ + ε))
//! as a scalar reference over three steps, with and without L2 weight decay.

mod common;

use chainrule_autodiff::ParamKind;
use chainrule_optim::{Adam, AdamConfig, Optimizer};
use common::*;

/// Adam for one element in the textbook form, with L2 decay on weights only.
fn reference(config: AdamConfig<f64>, kind: ParamKind) -> Vec<[f64; 3]> {
    let AdamConfig {
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
        let g = g + decay * p;
        m[i] = beta1 * m[i] + (1.0 - beta1) * g;
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
        let m_hat = m[i] / (1.0 - beta1.powf(t));
        let v_hat = v[i] / (1.0 - beta2.powf(t));
        p - lr * m_hat / (v_hat.sqrt() + eps)
    })
}

#[test]
fn two_steps_match_hand_computed_updates() {
    let (mut params, w, _) = weight_and_bias(&[1.0], &[0.0]);
    let mut adam = Adam::new(AdamConfig::default());
    // Step 1, g = 0.5: m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 0.00025,
    // m̂ = 0.05/0.1 = 0.5, v̂ = 0.00025/0.001 = 0.25.
    adam.apply(&mut params, &grads(&[(w, &[0.5])]));
    let p1 = 1.0 - 0.001 * 0.5 / (0.25f64.sqrt() + 1e-8);
    assert_close(params.value(w).as_slice(), &[p1], 1e-14);
    // Step 2, g = −0.2: m = 0.9·0.05 − 0.1·0.2 = 0.025, v = 0.999·0.00025 + 0.001·0.04 =
    // 0.00028975; corrections 1 − 0.9² = 0.19 and 1 − 0.999² = 0.001999.
    adam.apply(&mut params, &grads(&[(w, &[-0.2])]));
    let p2 = p1 - 0.001 * (0.025 / 0.19) / ((0.00028975f64 / 0.001999).sqrt() + 1e-8);
    assert_close(params.value(w).as_slice(), &[p2], 1e-14);
    assert_eq!(adam.state(w).unwrap().step, 2);
}

#[test]
fn matches_the_reference_over_three_steps() {
    for (learning_rate, betas, eps) in [(1e-3, (0.9, 0.999), 1e-8), (0.05, (0.8, 0.95), 1e-4)] {
        let config = AdamConfig {
            learning_rate,
            betas,
            eps,
            weight_decay: 0.0,
        };
        for kind in [ParamKind::Weight, ParamKind::Bias] {
            let actual = optimizer_trajectory(&mut Adam::new(config), kind);
            assert_trajectories_close(&actual, &reference(config, kind), 1e-13);
        }
    }
}

#[test]
fn weight_decay_enters_weights_gradients_only() {
    let config = AdamConfig {
        learning_rate: 0.05,
        weight_decay: 0.3,
        ..AdamConfig::default()
    };
    let weight = optimizer_trajectory(&mut Adam::new(config), ParamKind::Weight);
    let bias = optimizer_trajectory(&mut Adam::new(config), ParamKind::Bias);
    assert_trajectories_close(&weight, &reference(config, ParamKind::Weight), 1e-13);
    // The bias moves exactly as without decay; the weight does not.
    let undecayed = AdamConfig {
        weight_decay: 0.0,
        ..config
    };
    assert_trajectories_close(&bias, &reference(undecayed, ParamKind::Bias), 1e-13);
    assert!((weight[2][1] - bias[2][1]).abs() > 1e-4);
}

#[test]
fn one_step_with_weight_decay_by_hand() {
    let (mut params, w, b) = weight_and_bias(&[1.0], &[1.0]);
    let config = AdamConfig {
        learning_rate: 0.1,
        weight_decay: 0.1,
        ..AdamConfig::default()
    };
    let mut adam = Adam::new(config);
    adam.apply(&mut params, &grads(&[(w, &[-0.05]), (b, &[-0.05])]));
    // Weight: g = −0.05 + 0.1·1 = 0.05, so the first step goes down by lr·0.05/(0.05 + ε).
    // Bias: g = −0.05, so it goes up by lr·0.05/(0.05 + ε).
    let step = 0.1 * 0.05 / (0.05 + 1e-8);
    assert_close(params.value(w).as_slice(), &[1.0 - step], 1e-14);
    assert_close(params.value(b).as_slice(), &[1.0 + step], 1e-14);
}

#[test]
fn step_counts_are_per_parameter() {
    let (mut params, w, b) = weight_and_bias(&[1.0], &[1.0]);
    let mut adam = Adam::new(AdamConfig {
        learning_rate: 0.1,
        ..AdamConfig::default()
    });
    adam.apply(&mut params, &grads(&[(w, &[0.5]), (b, &[0.5])]));
    adam.apply(&mut params, &grads(&[(w, &[0.5])]));
    adam.apply(&mut params, &grads(&[(w, &[0.5]), (b, &[-0.2])]));
    assert_eq!(adam.state(w).unwrap().step, 3);
    assert_eq!(adam.state(b).unwrap().step, 2);
    // The bias's second update uses t = 2: the hand-computed second step of the test above,
    // with lr 0.1, starting from 1 − 0.1·0.5/(0.5 + ε).
    let p1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
    let p2 = p1 - 0.1 * (0.025 / 0.19) / ((0.00028975f64 / 0.001999).sqrt() + 1e-8);
    assert_close(params.value(b).as_slice(), &[p2], 1e-14);
}

#[test]
fn defaults_are_pytorchs() {
    let config = AdamConfig::<f64>::default();
    assert_eq!(config.learning_rate, 1e-3);
    assert_eq!(config.betas, (0.9, 0.999));
    assert_eq!(config.eps, 1e-8);
    assert_eq!(config.weight_decay, 0.0);
}

#[test]
#[should_panic(expected = "Adam: invalid beta parameter at index 1: 1")]
fn beta_of_one_is_refused() {
    Adam::new(AdamConfig {
        betas: (0.9, 1.0),
        ..AdamConfig::<f64>::default()
    });
}

/// Three Adam steps on a parameter of `len` elements, and the same elements each stepped as a
/// parameter of its own: the long one runs the update's vector body (eight lanes on AVX2), the
/// one-element ones its scalar tail, and the two must agree bit for bit.
fn vector_body_matches_one_element_updates<T: chainrule_autodiff::Float>(len: usize) {
    use chainrule_autodiff::{ParamStore, Tensor};
    let value = |i: usize| T::of(((i * 37 % 23) as f64 - 11.0) / 7.0);
    let grad = |step: usize, i: usize| T::of(((i * 13 + step * 5) % 17) as f64 / 4.0 - 2.0);
    let config = AdamConfig {
        learning_rate: T::of(0.05),
        betas: (T::of(0.8), T::of(0.95)),
        eps: T::of(1e-4),
        weight_decay: T::of(0.01),
    };

    let mut whole = ParamStore::new();
    let w = whole.insert(
        "w",
        Tensor::from_vec((0..len).map(value).collect(), &[len]),
        ParamKind::Weight,
    );
    let mut separate = ParamStore::new();
    let ids: Vec<_> = (0..len)
        .map(|i| {
            separate.insert(
                format!("w{i}"),
                Tensor::from_vec(vec![value(i)], &[1]),
                ParamKind::Weight,
            )
        })
        .collect();

    let (mut adam_whole, mut adam_separate) = (Adam::new(config), Adam::new(config));
    for step in 0..3 {
        let mut g = chainrule_autodiff::ParamGrads::new(0);
        g.set(
            w,
            Tensor::from_vec((0..len).map(|i| grad(step, i)).collect(), &[len]),
        );
        adam_whole.apply(&mut whole, &g);
        let mut g = chainrule_autodiff::ParamGrads::new(0);
        for (i, &id) in ids.iter().enumerate() {
            g.set(id, Tensor::from_vec(vec![grad(step, i)], &[1]));
        }
        adam_separate.apply(&mut separate, &g);
    }
    for (i, &id) in ids.iter().enumerate() {
        let (a, b) = (
            whole.value(w).as_slice()[i],
            separate.value(id).as_slice()[0],
        );
        assert!(
            a.to_f64_exact().to_bits() == b.to_f64_exact().to_bits(),
            "{} element {i} of {len}: {a} in the whole tensor, {b} on its own",
            T::NAME
        );
    }
}

#[test]
fn the_vector_body_agrees_bit_for_bit_with_the_scalar_tail() {
    for len in [1, 7, 8, 9, 37, 64] {
        vector_body_matches_one_element_updates::<f32>(len);
        vector_body_matches_one_element_updates::<f64>(len);
    }
}
