//! `Highway`: the carry behaviour with a closed gate, the formula computed by hand, the gate
//! bias initialisation, and gradients against finite differences.

mod common;

use chainrule_autodiff::{Graph, ParamStore, Tensor};
use chainrule_layers::{Activation, Highway, Module};
use common::{assert_close, check_module, random, rng};

#[test]
fn the_gate_bias_starts_at_minus_two_or_as_chosen() {
    let mut params = ParamStore::<f64>::new();
    let layer = Highway::new(&mut params, "hw", 3, Activation::Relu, &mut rng(0));
    assert_eq!(
        params.value(layer.transform_gate().bias()).to_vec(),
        vec![-2.0; 3]
    );
    assert_eq!(
        params.value(layer.transform().bias()).to_vec(),
        vec![0.0; 3]
    );
    assert_eq!(
        params.name(layer.transform_gate().weight()),
        "hw.transform_gate.weight"
    );

    let other = Highway::with_gate_bias(&mut params, "hw2", 2, Activation::Tanh, -1.0, &mut rng(0));
    assert_eq!(
        params.value(other.transform_gate().bias()).to_vec(),
        vec![-1.0; 2]
    );
}

#[test]
fn a_closed_gate_carries_the_input_through() {
    let mut rng = rng(41);
    let mut params = ParamStore::new();
    let layer = Highway::with_gate_bias(&mut params, "hw", 4, Activation::Relu, -40.0, &mut rng);
    let x = random(&[3, 4], &mut rng);
    let g = Graph::new();
    let y = layer.forward(&g, &params, g.input(x.clone())).value();
    // T(x) ≈ σ(−40) ≈ 4e-18: y = x to rounding.
    assert_close(y.as_slice(), x.as_slice(), 1e-15);
}

#[test]
fn output_equals_the_formula_by_hand() {
    let mut rng = rng(42);
    let mut params = ParamStore::new();
    let layer = Highway::new(&mut params, "hw", 3, Activation::Tanh, &mut rng);
    params.set_value(layer.transform().bias(), random(&[3], &mut rng));
    let x = random(&[2, 3], &mut rng);

    let affine = |weight, bias, i: usize, j: usize| {
        let (w, b): (&Tensor<f64>, &Tensor<f64>) = (params.value(weight), params.value(bias));
        (0..3).map(|k| x.get(&[i, k]) * w.get(&[k, j])).sum::<f64>() + b.get(&[j])
    };
    let (h, t) = (layer.transform(), layer.transform_gate());
    let g = Graph::new();
    let y = layer.forward(&g, &params, g.input(x.clone())).value();
    for i in 0..2 {
        for j in 0..3 {
            let transform = affine(h.weight(), h.bias(), i, j).tanh();
            let gate = 1.0 / (1.0 + (-affine(t.weight(), t.bias(), i, j)).exp());
            let expected = gate * transform + (1.0 - gate) * x.get(&[i, j]);
            assert_close(&[y.get(&[i, j])], &[expected], 1e-12);
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    for activation in [Activation::Relu, Activation::Tanh] {
        let mut rng = rng(43);
        let mut params = ParamStore::new();
        let layer = Highway::with_gate_bias(&mut params, "hw", 3, activation, -0.5, &mut rng);
        params.set_value(layer.transform().bias(), random(&[3], &mut rng));
        check_module(&layer, &params, &random(&[2, 3], &mut rng));
        check_module(&layer, &params, &random(&[2, 2, 3], &mut rng));
    }
}

#[test]
#[should_panic(
    expected = "Highway \"hw\": expected input [batch, 3] or [batch, seq, 3], got [2, 2]"
)]
fn a_wrong_width_names_the_layer() {
    let mut params = ParamStore::<f64>::new();
    let layer = Highway::new(&mut params, "hw", 3, Activation::Relu, &mut rng(0));
    let g = Graph::new();
    layer.forward(&g, &params, g.input(Tensor::zeros(&[2, 2])));
}
