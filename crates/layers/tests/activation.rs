//! Activations as functions and as layers: values against the textbook formulas and gradients
//! against finite differences.

mod common;

use chainrule_autodiff::{Graph, ParamStore, Tensor};
use chainrule_layers::activation::{relu, sigmoid, softmax, tanh};
use chainrule_layers::{Activation, Module};
use common::{assert_close, check_module, random, rng};

const ALL: [Activation; 5] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::Linear,
    Activation::Softmax,
];

#[test]
fn values_match_the_formulas() {
    let z: [f64; 6] = [-2.0, -0.5, 0.0, 0.5, 3.0, 1.0];
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(z.to_vec(), &[2, 3]));

    let expect_sigmoid: Vec<f64> = z.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let expect_tanh: Vec<f64> = z.iter().map(|v| v.tanh()).collect();
    let expect_relu: Vec<f64> = z.iter().map(|v| v.max(0.0)).collect();
    let mut expect_softmax = Vec::new();
    for row in z.chunks(3) {
        let total: f64 = row.iter().map(|v| v.exp()).sum();
        expect_softmax.extend(row.iter().map(|v| v.exp() / total));
    }

    assert_close(&sigmoid(x).value().to_vec(), &expect_sigmoid, 1e-15);
    assert_close(&tanh(x).value().to_vec(), &expect_tanh, 1e-15);
    assert_close(&relu(x).value().to_vec(), &expect_relu, 0.0);
    assert_close(&softmax(x).value().to_vec(), &expect_softmax, 1e-15);
    assert_close(&Activation::Linear.apply(x).value().to_vec(), &z, 0.0);
}

#[test]
fn as_layers_they_equal_the_functions_and_pass_gradcheck() {
    let mut rng = rng(21);
    let params = ParamStore::new();
    let x = random(&[3, 4], &mut rng);
    for activation in ALL {
        let g = Graph::new();
        let input = g.input(x.clone());
        let as_layer = activation.forward(&g, &params, input).value();
        assert_eq!(
            as_layer,
            activation.apply(input).value(),
            "{}",
            activation.name()
        );
        check_module(&activation, &params, &x);
    }
}

#[test]
fn softmax_runs_along_the_last_axis_of_a_sequence() {
    let g = Graph::new();
    let x = g.input(random(&[2, 3, 4], &mut rng(22)));
    let p = Activation::Softmax.apply(x).value().sum_axis(-1, false);
    assert_close(p.as_slice(), &[1.0; 6], 1e-12);
}
