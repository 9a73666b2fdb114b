//! The NaN sentinel: `BackwardOptions::detect_anomaly` names where the first NaN or infinity
//! appeared — in a forward value or in a gradient — and changes nothing when all is finite.

use chainrule_autodiff::{BackwardOptions, Graph, ParamKind, ParamStore, Pass, Tensor};
use proptest::prelude::*;

fn sentinel() -> BackwardOptions {
    BackwardOptions {
        detect_anomaly: true,
        ..Default::default()
    }
}

#[test]
fn a_nan_made_in_the_forward_pass_is_traced_to_its_op_its_inputs_and_its_line() {
    let g = Graph::with_source_lines();
    let w = g
        .param(Tensor::from_vec(vec![2.0f64, -3.0], &[2]))
        .named("w");
    let h = (w * 0.5).exp();
    let bad = (w - 1.0).ln();
    let line = line!() - 1;
    let loss = (h * bad).sum();
    let anomaly = loss.try_backward_with(sentinel()).unwrap_err();
    assert_eq!(anomaly.pass, Pass::Forward);
    assert_eq!(anomaly.what, "NaN");
    assert_eq!(anomaly.op, "ln");
    assert_eq!(anomaly.node, bad.id());
    assert_eq!(anomaly.shape, [2]);
    assert_eq!(anomaly.source_line.unwrap().line(), line);
    assert_eq!(anomaly.source_line.unwrap().file(), file!());
    let message = anomaly.to_string();
    assert!(
        message.starts_with("NaN first appears in the forward value of n"),
        "{message}"
    );
    assert!(
        message.contains(&format!("tests/anomaly.rs:{line}")),
        "{message}"
    );
}

#[test]
fn a_nan_in_the_data_is_blamed_on_the_input_that_holds_it() {
    let g = Graph::new();
    let x = g
        .input(Tensor::from_vec(vec![1.0f64, f64::NAN], &[2]))
        .named("x");
    let w = g.param(Tensor::from_vec(vec![0.5f64, 0.5], &[2]));
    let anomaly = (w * x).sum().try_backward_with(sentinel()).unwrap_err();
    assert_eq!((anomaly.pass, anomaly.op), (Pass::Forward, "input"));
    assert_eq!(anomaly.name, "x");
    assert!(anomaly.inputs.is_empty());
    assert_eq!(anomaly.source_line, None, "a plain graph keeps no lines");
    assert_eq!(
        anomaly.to_string(),
        "NaN first appears in the forward value of x (input, shape [2])"
    );
}

#[test]
fn an_infinite_gradient_with_finite_values_is_blamed_on_the_rule_that_made_it() {
    let g = Graph::new();
    let x = g.scalar(0.0f64).named("x");
    let root = x.sqrt();
    let loss = root * 3.0 + 1.0;
    let anomaly = loss.try_backward_with(sentinel()).unwrap_err();
    assert_eq!(anomaly.pass, Pass::Backward);
    assert_eq!((anomaly.op, anomaly.what), ("sqrt", "infinity"));
    assert_eq!(anomaly.node, root.id());
    assert_eq!(anomaly.receiver.as_deref(), Some("x"));
    let message = anomaly.to_string();
    assert!(
        message.contains("backward rule of n1 = sqrt(x)")
            && message.contains("gave x a gradient holding infinity"),
        "{message}"
    );
}

#[test]
fn a_sum_of_finite_contributions_that_overflows_is_caught_where_it_overflows() {
    // Each use of x contributes 3e38 (finite in f32); their sum is not.
    let g = Graph::new();
    let x = g.scalar(1e-30f32).named("x");
    let a = x * 3e38;
    let b = x * 3e38;
    let loss = a + b;
    assert!(loss.item().is_finite());
    let anomaly = loss.try_backward_with(sentinel()).unwrap_err();
    assert_eq!((anomaly.pass, anomaly.what), (Pass::Backward, "infinity"));
    assert_eq!(anomaly.receiver.as_deref(), Some("x"));
    assert!([a.id(), b.id()].contains(&anomaly.node));
}

#[test]
fn values_the_loss_does_not_depend_on_are_not_blamed() {
    let g = Graph::new();
    let w = g.scalar(-1.0f64);
    let _unused = w.ln();
    let loss = w * w;
    let grads = loss
        .try_backward_with(sentinel())
        .expect("the loss is finite");
    assert_eq!(grads[w].item(), -2.0);
}

#[test]
fn a_no_grad_graph_keeps_no_links_so_every_earlier_value_is_a_suspect() {
    let g = Graph::no_grad();
    let x = g.input(Tensor::from_vec(vec![-1.0f64, 4.0], &[2]));
    let loss = (x.sqrt() * 2.0).sum();
    let anomaly = loss.forward_anomaly().expect("sqrt(-1) is NaN");
    assert_eq!((anomaly.op, anomaly.node), ("sqrt", 1));
}

#[test]
fn without_the_option_nothing_is_checked() {
    let g = Graph::new();
    let w = g.scalar(-1.0f64);
    let grads = w
        .ln()
        .try_backward_with(BackwardOptions::default())
        .unwrap();
    assert_eq!(grads[w].item(), -1.0, "d ln(w)/dw = 1/w, whatever ln(w) is");
}

#[test]
#[should_panic(expected = "backward: NaN first appears in the forward value of n1 = ln(n0)")]
fn backward_with_the_option_panics_with_the_report() {
    let g = Graph::new();
    let w = g.scalar(-1.0f64);
    w.ln().backward_with(sentinel());
}

#[test]
fn parameters_bound_from_a_store_are_named_after_the_parameter() {
    let mut params = ParamStore::new();
    let weight = params.insert(
        "hidden1.weight",
        Tensor::from_vec(vec![1.0f64, f64::INFINITY], &[1, 2]),
        ParamKind::Weight,
    );
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(vec![1.0, 2.0], &[2, 1]));
    let loss = params.bind(&g, weight).matmul(x).sum();
    let anomaly = loss.try_backward_with(sentinel()).unwrap_err();
    assert_eq!((anomaly.op, anomaly.what), ("parameter", "infinity"));
    assert_eq!(anomaly.name, "hidden1.weight");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// On finite graphs the sentinel finds nothing and gives exactly the gradients of the plain
    /// backward, on the tensor path and on the scalar path it turns off.
    #[test]
    fn finite_graphs_get_the_same_gradients_with_the_sentinel(
        values in prop::collection::vec(-2.0f64..2.0, 6),
        scalar in -2.0f64..2.0,
    ) {
        let g = Graph::new();
        let w = g.param(Tensor::from_vec(values, &[2, 3]));
        let s = g.scalar(scalar);
        let h = (w * s).tanh();
        let loss = (h.matmul(h.transpose(0, 1)).sum() + s * s).sigmoid();
        let plain = loss.backward();
        let watched = loss.try_backward_with(sentinel()).expect("all finite");
        prop_assert_eq!(plain[w].as_slice(), watched[w].as_slice());
        prop_assert_eq!(plain[s].item(), watched[s].item());
    }
}
