//! Clipping by global norm against `torch.nn.utils.clip_grad_norm_`: the factor
//! `max_norm/(‖g‖ + 1e-6)` when below 1, nothing otherwise.

mod common;

use chainrule_autodiff::Tensor;
use chainrule_optim::{
    clip_grad_norm, ClipGradNorm, GradientDescent, GradientDescentConfig, Optimizer, Sgd, SgdConfig,
};
use common::*;

#[test]
fn large_gradients_are_scaled_to_the_max_norm() {
    let (_, w, b) = weight_and_bias(&[0.0, 0.0], &[0.0]);
    // ‖g‖ = √(3² + 4² + 12²) = 13.
    let mut grads = grads(&[(w, &[3.0, 4.0]), (b, &[12.0])]);
    let norm = clip_grad_norm(&mut grads, 2.0);
    assert_eq!(norm, 13.0);
    let factor = 2.0 / (13.0 + 1e-6);
    assert_close(
        grads.get(w).unwrap().as_slice(),
        &[3.0 * factor, 4.0 * factor],
        1e-15,
    );
    assert_close(grads.get(b).unwrap().as_slice(), &[12.0 * factor], 1e-15);
    // The new norm is the max norm, short by PyTorch's 1e-6 in the denominator.
    assert!((grads.global_norm() - 2.0).abs() < 1e-6);
    assert!(grads.global_norm() < 2.0);
}

#[test]
fn small_gradients_are_left_alone() {
    let (params, w, b) = weight_and_bias(&[0.0, 0.0], &[0.0]);
    let mut grads = grads(&[(w, &[0.3, -0.4]), (b, &[0.0])]);
    let before = grads.clone();
    assert!((clip_grad_norm(&mut grads, 1.0) - 0.5).abs() < 1e-15);
    assert_eq!(grads, before);
    // So are zero gradients (no division by zero) ...
    let mut zeros = self::grads(&[(w, &[0.0, 0.0])]);
    assert_eq!(clip_grad_norm(&mut zeros, 1.0), 0.0);
    assert_eq!(zeros.get(w).unwrap().to_vec(), vec![0.0, 0.0]);
    // ... and no gradients at all.
    let mut none = params.empty_grads();
    assert_eq!(clip_grad_norm(&mut none, 1.0), 0.0);
}

#[test]
fn wrapper_clips_before_the_optimizer_and_keeps_the_callers_gradients() {
    let (mut params, w, b) = weight_and_bias(&[1.0, 1.0], &[1.0]);
    let (mut expected_params, _, _) = weight_and_bias(&[1.0, 1.0], &[1.0]);
    let grads = grads(&[(w, &[3.0, 4.0]), (b, &[12.0])]);
    let config = SgdConfig {
        learning_rate: 0.1,
        momentum: 0.9,
        ..SgdConfig::default()
    };

    let mut clipped = Sgd::new(config).with_grad_clipping(1.0);
    let mut by_hand = Sgd::new(config);
    for _ in 0..3 {
        clipped.apply(&mut params, &grads);
        let mut copy = grads.clone();
        clip_grad_norm(&mut copy, 1.0);
        by_hand.apply(&mut expected_params, &copy);
    }
    assert_eq!(clipped.last_norm(), Some(13.0));
    assert_eq!(grads.get(b).unwrap().to_vec(), vec![12.0]);
    for id in [w, b] {
        assert_close(
            params.value(id).as_slice(),
            expected_params.value(id).as_slice(),
            1e-15,
        );
    }
}

#[test]
fn wrapper_passes_small_gradients_through_and_forwards_the_learning_rate() {
    let (mut params, w, _) = weight_and_bias(&[1.0], &[0.0]);
    let grads = grads(&[(w, &[0.5])]);
    let descent = GradientDescent::new(GradientDescentConfig { learning_rate: 0.1 });
    let mut optimizer = ClipGradNorm::new(descent, 10.0);
    optimizer.set_learning_rate(0.2);
    assert_eq!(optimizer.inner().learning_rate(), 0.2);
    optimizer.apply(&mut params, &grads);
    assert_close(params.value(w).as_slice(), &[1.0 - 0.2 * 0.5], 1e-15);
    assert_eq!(optimizer.last_norm(), Some(0.5));
}

#[test]
fn works_in_f32() {
    let mut params = chainrule_autodiff::ParamStore::<f32>::new();
    let w = params.insert(
        "w",
        Tensor::zeros(&[2]),
        chainrule_autodiff::ParamKind::Weight,
    );
    let mut grads = params.empty_grads();
    grads.set(w, Tensor::from_vec(vec![6.0f32, 8.0], &[2]));
    assert_eq!(clip_grad_norm(&mut grads, 5.0), 10.0);
    let clipped = grads.get(w).unwrap();
    assert!((clipped.get(&[0]) - 3.0).abs() < 1e-5 && (clipped.get(&[1]) - 4.0).abs() < 1e-5);
}

#[test]
#[should_panic(expected = "max_norm -1 must be non-negative")]
fn negative_max_norm_is_refused() {
    let (params, _, _) = weight_and_bias(&[0.0], &[0.0]);
    clip_grad_norm(&mut params.empty_grads(), -1.0);
}
