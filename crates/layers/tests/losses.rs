//! Losses: values against the formulas computed by hand, the relation between the two squared
//! errors, the L2 penalty's exclusion of biases, and gradients against finite differences (first
//! and second order for Huber and smooth L1, over random shapes).

mod common;

use chainrule_autodiff::{gradcheck, gradgradcheck, GradcheckOptions};
use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor, Var};
use chainrule_layers::losses::{
    binary_log_loss, half_mean_squared_error, huber_loss, l2_penalty, mean_squared_error,
    smooth_l1_loss, softmax_cross_entropy,
};
use chainrule_layers::{Activation, Dense};
use common::{check_input, check_params, random, rng};
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn mean_squared_error_is_the_mean_over_all_elements() {
    let (p, t) = (random(&[4, 3], &mut rng(71)), random(&[4, 3], &mut rng(72)));
    let by_hand: f64 = p
        .as_slice()
        .iter()
        .zip(t.as_slice())
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / 12.0;
    let g = Graph::new();
    let mse = mean_squared_error(g.input(p), g.input(t)).item();
    assert!(close(mse, by_hand), "{mse} vs {by_hand}");
}

#[test]
fn half_mean_squared_error_is_one_over_2m_times_the_sum() {
    // One output per example: exactly half the plain mean.
    let (p, t) = (random(&[5, 1], &mut rng(73)), random(&[5, 1], &mut rng(74)));
    let g = Graph::new();
    let (pv, tv) = (g.input(p.clone()), g.input(t.clone()));
    let sum: f64 = p
        .as_slice()
        .iter()
        .zip(t.as_slice())
        .map(|(a, b)| (a - b).powi(2))
        .sum();
    let half = half_mean_squared_error(pv, tv).item();
    assert!(close(half, sum / (2.0 * 5.0)));
    assert!(close(half, mean_squared_error(pv, tv).item() / 2.0));

    // k outputs per example: summed over outputs, averaged over the m examples, so k/2 times
    // the plain mean.
    let (p, t) = (random(&[5, 3], &mut rng(75)), random(&[5, 3], &mut rng(76)));
    let (pv, tv) = (g.input(p), g.input(t));
    let half = half_mean_squared_error(pv, tv).item();
    assert!(close(half, 3.0 / 2.0 * mean_squared_error(pv, tv).item()));
}

#[test]
fn binary_log_loss_matches_the_formula_on_probabilities() {
    let z = random(&[4, 2], &mut rng(77)).mul_scalar(3.0);
    let y = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.3], &[4, 2]);
    let by_hand: f64 = z
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .map(|(&z, &y)| {
            let p = 1.0 / (1.0 + (-z).exp());
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / 8.0;
    let g = Graph::new();
    let loss = binary_log_loss(g.input(z), g.input(y)).item();
    assert!(close(loss, by_hand), "{loss} vs {by_hand}");
}

#[test]
fn softmax_cross_entropy_matches_the_formula_on_probabilities() {
    let z = random(&[3, 4], &mut rng(78)).mul_scalar(2.0);
    let labels = [2, 0, 3];
    let mut by_hand = 0.0;
    for (i, &label) in labels.iter().enumerate() {
        let total: f64 = (0..4).map(|j| z.get(&[i, j]).exp()).sum();
        by_hand -= (z.get(&[i, label]).exp() / total).ln();
    }
    by_hand /= 3.0;
    let g = Graph::new();
    let loss = softmax_cross_entropy(g.input(z), &labels).item();
    assert!(close(loss, by_hand), "{loss} vs {by_hand}");
}

#[test]
fn loss_gradients_match_finite_differences() {
    let mut rng = rng(79);
    let (p, t) = (random(&[4, 2], &mut rng), random(&[4, 2], &mut rng));
    let probabilities = random(&[4, 2], &mut rng).map(|v| (v + 1.0) / 2.0);
    check_input(p.clone(), |g, p| mean_squared_error(p, g.input(t.clone()))).assert_passed();
    check_input(t.clone(), |g, t| mean_squared_error(g.input(p.clone()), t)).assert_passed();
    check_input(p.clone(), |g, p| {
        half_mean_squared_error(p, g.input(t.clone()))
    })
    .assert_passed();
    check_input(p.clone(), |g, z| {
        binary_log_loss(z, g.input(probabilities.clone()))
    })
    .assert_passed();
    check_input(random(&[3, 4], &mut rng), |_g, z| {
        softmax_cross_entropy(z, &[3, 0, 1])
    })
    .assert_passed();
}

#[test]
fn l2_penalty_counts_weights_and_ignores_biases() {
    let mut rng = rng(80);
    let mut params = ParamStore::new();
    let first = Dense::new(&mut params, "l1", 3, 4, Activation::Relu, &mut rng);
    let second = Dense::new(&mut params, "l2", 4, 2, Activation::Linear, &mut rng);
    for layer in [&first, &second] {
        let shape = params.value(layer.bias()).shape().to_vec();
        params.set_value(layer.bias(), Tensor::full(&shape, 100.0));
    }
    let (lambda, m) = (0.7, 25);
    let sum_of_squares: f64 = [first.weight(), second.weight()]
        .iter()
        .flat_map(|&id| params.value(id).to_vec())
        .map(|w| w * w)
        .sum();

    let g = Graph::new();
    let penalty = l2_penalty(&g, &params, lambda, m);
    assert!(close(
        penalty.item(),
        lambda / (2.0 * m as f64) * sum_of_squares
    ));

    let grads = penalty.backward();
    for layer in [&first, &second] {
        assert!(
            params.grad(&grads, layer.bias()).is_none(),
            "a bias was regularised"
        );
        let expected = params.value(layer.weight()).mul_scalar(lambda / m as f64);
        let grad = params.grad(&grads, layer.weight()).unwrap();
        for (a, b) in grad.as_slice().iter().zip(expected.as_slice()) {
            assert!(close(*a, *b));
        }
    }
}

#[test]
fn l2_penalty_gradients_match_finite_differences() {
    let mut params = ParamStore::new();
    let mut rng = rng(81);
    let w = params.insert("w", random(&[3, 2], &mut rng), ParamKind::Weight);
    let b = params.insert("b", random(&[2], &mut rng), ParamKind::Bias);
    let v = params.insert("v", random(&[2], &mut rng), ParamKind::Weight);
    check_params(&params, &[w, v], |g| l2_penalty(g, &params, 0.3, 7)).assert_passed();
    // Only the bias: no weight, so the penalty is the constant 0.
    let mut biases = ParamStore::<f64>::new();
    biases.insert("b", params.value(b).clone(), ParamKind::Bias);
    let g = Graph::new();
    let zero = l2_penalty(&g, &biases, 0.3, 7);
    assert_eq!(zero.item(), 0.0);
    assert!(!zero.requires_grad());
}

#[test]
#[should_panic(
    expected = "mean_squared_error: expected the target to have the prediction's shape [3], got [3, 1]"
)]
fn a_target_of_another_shape_is_refused_not_broadcast() {
    let g = Graph::new();
    let p = g.input(Tensor::<f64>::zeros(&[3]));
    let t = g.input(Tensor::zeros(&[3, 1]));
    mean_squared_error(p, t);
}

/// Targets and predictions of one random shape (rank 0 to 3), the predictions off the target
/// by errors of magnitude up to 3 that keep 0.05 away from the kink at `±delta` (and from 0,
/// the kink of smooth L1 with `beta = 0`), and `delta` itself.
fn robust_loss_case() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>, f64)> {
    (prop::collection::vec(1usize..=3, 0..=3), 0.3f64..2.0).prop_flat_map(|(shape, delta)| {
        let n: usize = shape.iter().product();
        let errors =
            prop::collection::vec((0.05f64..3.0, any::<bool>()), n).prop_map(move |errors| {
                errors
                    .into_iter()
                    .map(|(magnitude, negative)| {
                        let magnitude = if (magnitude - delta).abs() < 0.05 {
                            magnitude + 0.1
                        } else {
                            magnitude
                        };
                        if negative {
                            -magnitude
                        } else {
                            magnitude
                        }
                    })
                    .collect::<Vec<f64>>()
            });
        let targets = prop::collection::vec(-2.0f64..2.0, n);
        (targets, errors).prop_map(move |(targets, errors)| {
            let prediction: Vec<f64> = targets.iter().zip(&errors).map(|(t, e)| t + e).collect();
            (
                Tensor::from_vec(prediction, &shape),
                Tensor::from_vec(targets, &shape),
                delta,
            )
        })
    })
}

/// PyTorch's Huber term, written by branches: `½d²` inside `delta`, `delta·(|d| − ½delta)`
/// outside.
fn huber_by_branches(d: f64, delta: f64) -> f64 {
    if d.abs() <= delta {
        0.5 * d * d
    } else {
        delta * (d.abs() - 0.5 * delta)
    }
}

/// Huber with `delta` plus smooth L1 with `beta`, of `v[0]` against `v[1]`.
fn both_losses<'g>(v: &[Var<'g, f64>], delta: f64, beta: f64) -> Var<'g, f64> {
    huber_loss(v[0], v[1], delta) + smooth_l1_loss(v[0], v[1], beta)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn huber_and_smooth_l1_match_their_branch_formulas((p, t, delta) in robust_loss_case()) {
        let g = Graph::new();
        let (prediction, target) = (g.input(p.clone()), g.input(t.clone()));
        let errors: Vec<f64> = p.as_slice().iter().zip(t.as_slice()).map(|(a, b)| a - b).collect();
        let n = errors.len() as f64;
        let huber: f64 = errors.iter().map(|&d| huber_by_branches(d, delta)).sum::<f64>() / n;
        prop_assert!(close(huber_loss(prediction, target, delta).item(), huber));
        // smooth L1: ½d²/β inside β, |d| − ½β outside, i.e. Huber over β.
        let smooth: f64 = errors
            .iter()
            .map(|&d| if d.abs() < delta { 0.5 * d * d / delta } else { d.abs() - 0.5 * delta })
            .sum::<f64>() / n;
        prop_assert!(close(smooth_l1_loss(prediction, target, delta).item(), smooth));
        let l1 = errors.iter().map(|d| d.abs()).sum::<f64>() / n;
        prop_assert!(close(smooth_l1_loss(prediction, target, 0.0).item(), l1));
    }

    #[test]
    fn huber_and_smooth_l1_gradients_match_finite_differences_to_second_order(
        (p, t, delta) in robust_loss_case()
    ) {
        let options = GradcheckOptions::default();
        for beta_zero in [false, true] {
            let beta = if beta_zero { 0.0 } else { delta };
            let inputs = [p.clone(), t.clone()];
            let report = gradcheck(|_g, v| both_losses(v, delta, beta), &inputs, options);
            prop_assert!(report.passed, "{}", report);
            let report = gradgradcheck(|_g, v| both_losses(v, delta, beta), &inputs, options);
            prop_assert!(report.passed, "second order: {}", report);
        }
    }
}

#[test]
#[should_panic(expected = "huber_loss: delta must be positive, got 0")]
fn huber_loss_refuses_a_delta_of_zero() {
    let g = Graph::new();
    let x = g.input(Tensor::<f64>::zeros(&[2]));
    huber_loss(x, x, 0.0);
}
