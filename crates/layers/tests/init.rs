//! Initialisation: sample statistics of large tensors against the formulas, and the choice each
//! layer makes for its activation.

mod common;

use chainrule_autodiff::{ParamStore, Tensor};
use chainrule_layers::init::{he_normal, xavier_uniform, zeros};
use chainrule_layers::{Activation, Dense, Init};
use common::rng;

fn mean_and_variance(t: &Tensor<f64>) -> (f64, f64) {
    let n = t.numel() as f64;
    let mean = t.as_slice().iter().sum::<f64>() / n;
    let variance = t.as_slice().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, variance)
}

#[test]
fn xavier_uniform_has_variance_two_over_fan_in_plus_fan_out() {
    let (fan_in, fan_out) = (300, 200);
    let w: Tensor<f64> = xavier_uniform(&[fan_in, fan_out], fan_in, fan_out, &mut rng(1));
    let (mean, variance) = mean_and_variance(&w);
    let expected = 2.0 / (fan_in + fan_out) as f64;
    assert!(mean.abs() < 0.002, "mean {mean}");
    assert!(
        (variance / expected - 1.0).abs() < 0.02,
        "variance {variance}, formula {expected}"
    );
    let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
    let largest = w.as_slice().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        largest <= bound && largest > 0.99 * bound,
        "largest {largest}, bound {bound}"
    );
}

#[test]
fn he_normal_has_variance_two_over_fan_in() {
    let (fan_in, fan_out) = (250, 240);
    let w: Tensor<f64> = he_normal(&[fan_in, fan_out], fan_in, &mut rng(2));
    let (mean, variance) = mean_and_variance(&w);
    let expected = 2.0 / fan_in as f64;
    assert!(mean.abs() < 0.002, "mean {mean}");
    assert!(
        (variance / expected - 1.0).abs() < 0.02,
        "variance {variance}, formula {expected}"
    );
    // A normal sample, not a uniform one: some values beyond √3·σ, which a uniform of this
    // variance never reaches.
    let uniform_bound = (3.0 * expected).sqrt();
    assert!(w.as_slice().iter().any(|v| v.abs() > uniform_bound));
}

#[test]
fn the_same_seed_gives_the_same_weights() {
    let a: Tensor<f32> = Init::HeNormal.tensor(&[4, 4], 4, 4, &mut rng(9));
    let b: Tensor<f32> = Init::HeNormal.tensor(&[4, 4], 4, 4, &mut rng(9));
    let c: Tensor<f32> = Init::HeNormal.tensor(&[4, 4], 4, 4, &mut rng(10));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn zeros_constants_uniform_and_normal() {
    let mut rng = rng(3);
    assert_eq!(zeros::<f64>(&[3]).to_vec(), vec![0.0; 3]);
    let c: Tensor<f64> = Init::Constant(-2.0).tensor(&[2], 1, 1, &mut rng);
    assert_eq!(c.to_vec(), vec![-2.0, -2.0]);
    let u: Tensor<f64> = Init::Uniform {
        low: 2.0,
        high: 3.0,
    }
    .tensor(&[1000], 1, 1, &mut rng);
    assert!(u.as_slice().iter().all(|v| (2.0..3.0).contains(v)));
    let n: Tensor<f64> = Init::Normal {
        mean: 5.0,
        std: 0.1,
    }
    .tensor(&[10_000], 1, 1, &mut rng);
    let (mean, variance) = mean_and_variance(&n);
    assert!((mean - 5.0).abs() < 0.01 && (variance - 0.01).abs() < 0.001);
}

#[test]
fn dense_chooses_he_for_relu_and_xavier_otherwise() {
    let (inputs, outputs) = (400, 100);
    let mut params = ParamStore::<f64>::new();
    let relu = Dense::new(
        &mut params,
        "relu",
        inputs,
        outputs,
        Activation::Relu,
        &mut rng(4),
    );
    let tanh = Dense::new(
        &mut params,
        "tanh",
        inputs,
        outputs,
        Activation::Tanh,
        &mut rng(5),
    );
    let (_, relu_variance) = mean_and_variance(params.value(relu.weight()));
    let (_, tanh_variance) = mean_and_variance(params.value(tanh.weight()));
    let he = 2.0 / inputs as f64;
    let xavier = 2.0 / (inputs + outputs) as f64;
    assert!(
        (relu_variance / he - 1.0).abs() < 0.03,
        "{relu_variance} vs {he}"
    );
    assert!(
        (tanh_variance / xavier - 1.0).abs() < 0.03,
        "{tanh_variance} vs {xavier}"
    );
}
