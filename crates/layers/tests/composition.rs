//! `Sequential` and `Residual`: values against the composition written out by hand, gradients
//! against finite differences, and training mode passed on to children.

mod common;

use chainrule_autodiff::{Graph, ParamStore, Tensor};
use chainrule_layers::{Activation, Dense, Dropout, Module, Residual, Sequential};
use common::{assert_close, check_module, random, rng};

#[test]
fn sequential_applies_its_modules_in_order() {
    let mut rng = rng(31);
    let mut params = ParamStore::new();
    let first = Dense::new(&mut params, "l1", 3, 4, Activation::Tanh, &mut rng);
    let second = Dense::new(&mut params, "l2", 4, 2, Activation::Linear, &mut rng);
    let model = Sequential::new()
        .with(first.clone())
        .with(Activation::Sigmoid)
        .with(second.clone());
    let x = random(&[5, 3], &mut rng);

    let g = Graph::new();
    let input = g.input(x.clone());
    let by_hand = second.forward(&g, &params, first.forward(&g, &params, input).sigmoid());
    assert_eq!(model.forward(&g, &params, input).value(), by_hand.value());
    check_module(&model, &params, &x);
}

#[test]
fn an_empty_sequential_is_the_identity() {
    let model = Sequential::<f64>::new();
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(vec![1.0, 2.0], &[1, 2]));
    assert_eq!(model.forward(&g, &ParamStore::new(), x).value(), x.value());
}

#[test]
fn sequential_passes_training_mode_to_its_children() {
    let params = ParamStore::<f64>::new();
    let inner = Sequential::new().with(Dropout::new(0.5, 3));
    let mut model = Sequential::new().with(Activation::Linear).with(inner);
    let g = Graph::new();
    let x = g.input(Tensor::ones(&[1, 64]));

    let dropped = model.forward(&g, &params, x).value();
    assert!(dropped.as_slice().contains(&0.0), "training mode drops");
    model.set_training(false);
    assert_eq!(model.forward(&g, &params, x).value(), x.value());
    model.set_training(true);
    assert!(model
        .forward(&g, &params, x)
        .value()
        .as_slice()
        .contains(&0.0));
}

#[test]
fn residual_of_equal_widths_is_x_plus_f_of_x() {
    let mut rng = rng(32);
    let mut params = ParamStore::new();
    let inner = Dense::new(&mut params, "block.fc", 4, 4, Activation::Tanh, &mut rng);
    params.set_value(inner.bias(), random(&[4], &mut rng));
    let block = Residual::new(&mut params, "block", 4, 4, inner.clone(), &mut rng);
    assert!(block.projection().is_none());
    assert_eq!(params.len(), 2, "no projection parameters");
    let x = random(&[3, 4], &mut rng);

    let g = Graph::new();
    let input = g.input(x.clone());
    let y = block.forward(&g, &params, input).value();
    let expected = x.add(&inner.forward(&g, &params, input).value());
    assert_close(y.as_slice(), expected.as_slice(), 1e-15);
    check_module(&block, &params, &x);
}

#[test]
fn residual_of_different_widths_projects_the_skip_path() {
    let mut rng = rng(33);
    let mut params = ParamStore::new();
    let inner = Sequential::new()
        .with(Dense::new(
            &mut params,
            "block.fc1",
            3,
            5,
            Activation::Relu,
            &mut rng,
        ))
        .with(Dense::new(
            &mut params,
            "block.fc2",
            5,
            2,
            Activation::Tanh,
            &mut rng,
        ));
    let block = Residual::new(&mut params, "block", 3, 2, inner, &mut rng);
    let projection = block.projection().expect("widths differ").clone();
    assert_eq!(params.name(projection.weight()), "block.projection.weight");
    assert_eq!(projection.activation(), Activation::Linear);
    params.set_value(projection.bias(), random(&[2], &mut rng));
    let x = random(&[4, 3], &mut rng);

    let g = Graph::new();
    let input = g.input(x.clone());
    let y = block.forward(&g, &params, input).value();
    let skip = x
        .matmul(params.value(projection.weight()))
        .add(params.value(projection.bias()));
    let fx = block.inner().forward(&g, &params, input).value();
    assert_close(y.as_slice(), skip.add(&fx).as_slice(), 1e-12);
    check_module(&block, &params, &x);
}

#[test]
fn residual_passes_training_mode_to_its_inner_module() {
    let mut params = ParamStore::<f64>::new();
    let mut block = Residual::new(&mut params, "r", 8, 8, Dropout::new(0.5, 1), &mut rng(0));
    let g = Graph::new();
    let x = g.input(Tensor::ones(&[1, 8]));
    block.set_training(false);
    assert_eq!(block.forward(&g, &params, x).value().to_vec(), vec![2.0; 8]);
}

#[test]
#[should_panic(
    expected = "Residual \"r\": expected the inner module's output of shape [2, 3], got [2, 4]"
)]
fn residual_names_an_inner_module_of_the_wrong_width() {
    let mut params = ParamStore::<f64>::new();
    let mut rng = rng(0);
    let inner = Dense::new(&mut params, "r.fc", 3, 4, Activation::Relu, &mut rng);
    let block = Residual::new(&mut params, "r", 3, 3, inner, &mut rng);
    let g = Graph::new();
    block.forward(&g, &params, g.input(Tensor::zeros(&[2, 3])));
}
