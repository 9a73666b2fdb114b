//! `examples/custom_model.rs`, each part against an answer computed another way: early
//! stopping against the validation losses recomputed on plain tensors, the Hessian-vector
//! product against central differences of the gradient, the gradient penalty against central
//! differences of the critic, and the attention check against a planted bug.

#[allow(dead_code)]
#[path = "../examples/custom_model.rs"]
mod custom_model;

use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::{grad, gradcheck, GradcheckOptions, Graph, ParamStore, Tensor};
use custom_model::{
    attention, check_attention, critic_batch, critic_loss, diabetes, hessian_vector_product, mlp,
    train_critic, train_with_early_stopping, Mlp, Rows,
};

/// The MLP's outputs on plain tensors, no graph.
fn predict_on_tensors(model: &Mlp, params: &ParamStore<f64>, x: &Tensor<f64>) -> Vec<f64> {
    let [w1, b1, w2, b2] = model.ids.map(|id| params.value(id).clone());
    x.matmul(&w1).add(&b1).tanh().matmul(&w2).add(&b2).to_vec()
}

/// The mean Huber loss (δ = 1) written with `if`, on numbers.
fn huber_on_numbers(predicted: &[f64], actual: &[f64]) -> f64 {
    let each = predicted.iter().zip(actual).map(|(p, a)| {
        let r = (p - a).abs();
        if r <= 1.0 {
            0.5 * r * r
        } else {
            r - 0.5
        }
    });
    each.sum::<f64>() / actual.len() as f64
}

#[test]
fn early_stopping_keeps_the_best_validation_epoch_and_beats_the_mean_on_held_out_rows() {
    let data = diabetes();
    let patience = 30;
    let stopped = train_with_early_stopping(&data, patience, 2000);
    let losses = &stopped.validation_losses;
    let lowest = (0..losses.len())
        .min_by(|&a, &b| losses[a].total_cmp(&losses[b]))
        .unwrap();
    assert_eq!(stopped.best_epoch, lowest, "{losses:?}");
    // It stopped because of the patience, not the epoch limit: the validation loss turned up.
    assert_eq!(losses.len(), stopped.best_epoch + patience + 1);
    // The kept parameters are that epoch's: their validation loss, recomputed without a
    // graph, is the one recorded then.
    let validation = &data.validation;
    let recomputed = huber_on_numbers(
        &predict_on_tensors(&stopped.model, &stopped.params, &validation.x),
        &validation.y.to_vec(),
    );
    assert!((recomputed - losses[stopped.best_epoch]).abs() < 1e-12);
    // On the held-out rows, better than predicting the training mean (0 once standardized).
    let actual = data.test.y.to_vec();
    let predicted = predict_on_tensors(&stopped.model, &stopped.params, &data.test.x);
    let model_error: f64 = predicted
        .iter()
        .zip(&actual)
        .map(|(p, a)| (p - a).abs())
        .sum();
    let mean_error: f64 = actual.iter().map(|a| a.abs()).sum();
    assert!(
        model_error < 0.8 * mean_error,
        "{model_error} vs {mean_error}"
    );
}

/// ∂L/∂W₁ by the plain first-order backward, with `W₁` replaced by `w1`.
fn gradient_at(model: &Mlp, params: &ParamStore<f64>, rows: &Rows, w1: Tensor<f64>) -> Tensor<f64> {
    let mut params = params.clone();
    params.set_value(model.ids[0], w1);
    let g = Graph::new();
    let loss = custom_model::huber(model.forward(&g, &params, &rows.x), &rows.y, 1.0);
    params.grad(&loss.backward(), model.ids[0]).unwrap().clone()
}

#[test]
fn the_hessian_vector_product_matches_central_differences_of_the_gradient() {
    let data = diabetes();
    let stopped = train_with_early_stopping(&data, 30, 2000);
    let (model, params) = (&stopped.model, &stopped.params);
    let w1 = params.value(model.ids[0]).clone();
    let v = Tensor::rand_normal(w1.shape(), 0.0, 1.0, &mut StdRng::seed_from_u64(9));
    let hv = hessian_vector_product(&stopped, &data.train, v.clone());
    let h = 1e-5;
    let plus = gradient_at(model, params, &data.train, w1.add(&v.mul_scalar(h)));
    let minus = gradient_at(model, params, &data.train, w1.sub(&v.mul_scalar(h)));
    let central = plus.sub(&minus).mul_scalar(0.5 / h);
    assert_eq!(hv.shape(), central.shape());
    let largest = central
        .as_slice()
        .iter()
        .fold(0.0f64, |m, c| m.max(c.abs()));
    assert!(
        largest > 1e-3,
        "a Hessian-vector product of zeros proves nothing"
    );
    for (a, c) in hv.as_slice().iter().zip(central.as_slice()) {
        assert!((a - c).abs() < 1e-6 * (1.0 + c.abs()), "{a} vs {c}");
    }
}

#[test]
fn the_critic_gradient_is_the_central_difference_and_the_penalty_loss_gradchecks() {
    let mut params = ParamStore::new();
    let critic = Mlp::new(&mut params, 2, 5, 4);
    let weights: Vec<Tensor<f64>> = critic
        .ids
        .iter()
        .map(|&id| params.value(id).clone())
        .collect();
    let [real, fake, epsilon] = critic_batch(6, 11);

    // ∂D/∂x of each row against central differences of D.
    let g = Graph::new();
    let bound = || critic.ids.map(|id| params.bind(&g, id));
    let x = g.input(real.clone()).requires_grad_();
    let dx = grad(&[mlp(x, bound()).sum()], None, &[x]).remove(0);
    let critic_sum = |at: &Tensor<f64>| {
        let g = Graph::no_grad();
        mlp(
            g.input(at.clone()),
            critic.ids.map(|id| params.bind(&g, id)),
        )
        .sum()
        .item()
    };
    let h = 1e-6;
    for flat in 0..real.numel() {
        let mut shifted = real.to_vec();
        shifted[flat] += h;
        let plus = critic_sum(&Tensor::from_vec(shifted.clone(), real.shape()));
        shifted[flat] -= 2.0 * h;
        let minus = critic_sum(&Tensor::from_vec(shifted, real.shape()));
        let central = (plus - minus) / (2.0 * h);
        assert!(
            (dx.as_slice()[flat] - central).abs() < 1e-7,
            "element {flat}"
        );
    }

    // The whole critic loss — penalty included, a second-order quantity — against central
    // differences in the critic's weights.
    let report = gradcheck(
        |_, w| critic_loss([w[0], w[1], w[2], w[3]], &real, &fake, &epsilon).0,
        &weights,
        GradcheckOptions::default(),
    );
    assert!(report.passed, "{report}");

    let losses = train_critic(60);
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(
        last.0 < first.0 - 1.0,
        "the critic learns: {first:?} → {last:?}"
    );
    assert!(last.1 < 0.5, "and keeps its gradient norm near 1: {last:?}");
}

#[test]
fn the_attention_check_passes_the_block_and_catches_the_planted_bug() {
    assert!(check_attention(false).passed, "{}", check_attention(false));
    let buggy = check_attention(true);
    assert!(!buggy.passed, "{buggy}");
    // The bug is in the gradient only: both blocks compute the same values.
    let mut rng = StdRng::seed_from_u64(1);
    let mut draw = |shape: &[usize]| Tensor::<f64>::rand_normal(shape, 0.0, 1.0, &mut rng);
    let inputs = [draw(&[3, 4]), draw(&[4, 2]), draw(&[4, 2]), draw(&[4, 2])];
    let g = Graph::new();
    let vars = inputs.clone().map(|t| g.param(t));
    let (right, wrong) = (
        attention(vars, false).value(),
        attention(vars, true).value(),
    );
    assert_eq!(right.to_vec(), wrong.to_vec());
}
