//! Losses: values against the formulas computed by hand, the relation between the two squared
//! errors, the L2 penalty's exclusion of biases, and gradients against finite differences.

mod common;

use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
use chainrule_layers::losses::{
    binary_log_loss, half_mean_squared_error, l2_penalty, mean_squared_error, softmax_cross_entropy,
};
use chainrule_layers::{Activation, Dense};
use common::{check_input, check_params, random, rng};

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
