//! `Dense`: values against a hand-written loop, gradients against finite differences, 3-D
//! inputs, and the shape error.

mod common;

use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};
use chainrule_layers::{Activation, Dense, Module};
use common::{assert_close, check_module, random, rng};

fn activate(a: Activation, z: &[f64]) -> Vec<f64> {
    match a {
        Activation::Sigmoid => z.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
        Activation::Tanh => z.iter().map(|v| v.tanh()).collect(),
        Activation::Relu => z.iter().map(|v| v.max(0.0)).collect(),
        Activation::Linear => z.to_vec(),
        Activation::Softmax => {
            let total: f64 = z.iter().map(|v| v.exp()).sum();
            z.iter().map(|v| v.exp() / total).collect()
        }
    }
}

const ALL: [Activation; 5] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::Linear,
    Activation::Softmax,
];

#[test]
fn output_equals_a_hand_written_loop() {
    let (batch, inputs, outputs) = (4, 3, 5);
    for activation in ALL {
        let mut rng = rng(1);
        let mut params = ParamStore::new();
        let layer = Dense::new(&mut params, "fc", inputs, outputs, activation, &mut rng);
        params.set_value(layer.bias(), random(&[outputs], &mut rng));
        let x = random(&[batch, inputs], &mut rng);

        let g = Graph::new();
        let y = layer.forward(&g, &params, g.input(x.clone())).value();
        assert_eq!(y.shape(), &[batch, outputs]);

        let (w, b) = (params.value(layer.weight()), params.value(layer.bias()));
        for i in 0..batch {
            let z: Vec<f64> = (0..outputs)
                .map(|j| {
                    let mut sum = b.get(&[j]);
                    for k in 0..inputs {
                        sum += x.get(&[i, k]) * w.get(&[k, j]);
                    }
                    sum
                })
                .collect();
            let row: Vec<f64> = (0..outputs).map(|j| y.get(&[i, j])).collect();
            assert_close(&row, &activate(activation, &z), 1e-12);
        }
    }
}

#[test]
fn parameters_are_named_and_kinded() {
    let mut params = ParamStore::<f64>::new();
    let layer = Dense::new(&mut params, "hidden", 3, 2, Activation::Tanh, &mut rng(0));
    assert_eq!(params.name(layer.weight()), "hidden.weight");
    assert_eq!(params.kind(layer.weight()), ParamKind::Weight);
    assert_eq!(params.value(layer.weight()).shape(), &[3, 2]);
    assert_eq!(params.name(layer.bias()), "hidden.bias");
    assert_eq!(params.kind(layer.bias()), ParamKind::Bias);
    assert_eq!(params.value(layer.bias()).to_vec(), vec![0.0, 0.0]);
}

#[test]
fn gradients_match_finite_differences_for_every_activation() {
    for activation in ALL {
        let mut rng = rng(2);
        let mut params = ParamStore::new();
        let layer = Dense::new(&mut params, "fc", 3, 4, activation, &mut rng);
        params.set_value(layer.bias(), random(&[4], &mut rng));
        check_module(&layer, &params, &random(&[2, 3], &mut rng));
    }
}

#[test]
fn a_sequence_input_applies_the_same_weights_at_every_position() {
    let mut rng = rng(3);
    let mut params = ParamStore::new();
    let layer = Dense::new(&mut params, "fc", 3, 2, Activation::Tanh, &mut rng);
    params.set_value(layer.bias(), random(&[2], &mut rng));
    let x = random(&[2, 4, 3], &mut rng);

    let g = Graph::new();
    let whole = layer.forward(&g, &params, g.input(x.clone())).value();
    assert_eq!(whole.shape(), &[2, 4, 2]);
    let flat = g.input(x.reshape(&[8, 3]));
    let rows = layer.forward(&g, &params, flat).value();
    assert_close(whole.as_slice(), rows.as_slice(), 1e-12);

    check_module(&layer, &params, &x);
}

#[test]
#[should_panic(expected = "Dense \"fc\": expected input [batch, 3] or [batch, seq, 3], got [2, 4]")]
fn a_wrong_width_names_the_layer_and_both_shapes() {
    let mut params = ParamStore::<f64>::new();
    let layer = Dense::new(&mut params, "fc", 3, 2, Activation::Relu, &mut rng(0));
    let g = Graph::new();
    layer.forward(&g, &params, g.input(Tensor::zeros(&[2, 4])));
}
