//! `Dropout`: identity in evaluation, inverted scaling and the drop rate in training, the same
//! mask after a reseed, and gradients against finite differences in both modes.

mod common;

use chainrule_autodiff::{Graph, ParamStore, Tensor};
use chainrule_layers::{Dropout, Module};
use common::{check_input, check_module, random, rng};

#[test]
fn evaluation_mode_is_the_identity() {
    let mut dropout = Dropout::new(0.9, 0);
    dropout.set_training(false);
    assert!(!dropout.is_training());
    let x = random(&[3, 4], &mut rng(61));
    let g = Graph::<f64>::new();
    let input = g.input(x.clone());
    assert_eq!(dropout.forward(&g, &ParamStore::new(), input).value(), x);
    check_module(&dropout, &ParamStore::new(), &x);
}

#[test]
fn training_mode_drops_at_rate_p_and_scales_the_rest() {
    let p = 0.3;
    let dropout = Dropout::new(p, 62);
    let g = Graph::<f64>::new();
    let x = g.input(Tensor::ones(&[100, 100]));
    let y = dropout.forward(&g, &ParamStore::new(), x).value();
    let dropped = y.as_slice().iter().filter(|&&v| v == 0.0).count() as f64 / 10_000.0;
    assert!((dropped - p).abs() < 0.02, "dropped {dropped}");
    let scale = 1.0 / (1.0 - p);
    assert!(y.as_slice().iter().all(|&v| v == 0.0 || v == scale));
    // A fresh mask for each forward.
    assert_ne!(dropout.forward(&g, &ParamStore::new(), x).value(), y);
}

#[test]
fn reseeding_gives_the_same_mask() {
    let dropout = Dropout::new(0.5, 7);
    let fresh = Dropout::new(0.5, 7);
    let g = Graph::<f64>::new();
    let x = g.input(Tensor::ones(&[4, 8]));
    let params = ParamStore::new();
    let first = fresh.forward(&g, &params, x).value();
    dropout.forward(&g, &params, x);
    dropout.reseed(7);
    assert_eq!(dropout.forward(&g, &params, x).value(), first);
}

#[test]
fn training_mode_gradients_match_finite_differences_with_a_fixed_mask() {
    // gradcheck evaluates the forward many times; reseeding before each forward makes every
    // evaluation use the same mask, so the finite differences see one fixed function.
    let dropout = Dropout::new(0.4, 0);
    let params = ParamStore::new();
    let x = random(&[3, 5], &mut rng(63));
    check_input(x.clone(), |g, x| {
        dropout.reseed(99);
        dropout.forward(g, &params, x)
    })
    .assert_passed();

    // And the gradient is exactly the mask: zero where dropped, 1/(1 − p) where kept.
    dropout.reseed(99);
    let g = Graph::<f64>::new();
    let v = g.param(x);
    let y = dropout.forward(&g, &params, v);
    let grad = y.sum().backward()[v].clone();
    for (&g, &out) in grad.as_slice().iter().zip(y.value().as_slice()) {
        assert_eq!(g, if out == 0.0 { 0.0 } else { 1.0 / 0.6 });
    }
}

#[test]
fn probability_zero_is_the_identity() {
    let dropout = Dropout::new(0.0, 0);
    let g = Graph::<f64>::new();
    let x = g.input(Tensor::ones(&[2, 2]));
    assert_eq!(dropout.forward(&g, &ParamStore::new(), x).id(), x.id());
}

#[test]
#[should_panic(expected = "Dropout: the drop probability must be in [0, 1), got 1")]
fn probability_one_is_refused() {
    Dropout::new(1.0, 0);
}
