//! User-defined ops (`CustomOp`): they train, gradcheck, differentiate twice, show by name in
//! traces, pictures and NaN reports, and the localized check finds a planted wrong rule.

mod common;

use chainrule_autodiff::gradcheck::check_each_op;
use chainrule_autodiff::{gradcheck, CustomOp, GradcheckOptions, Graph, Tensor, Var};
use common::*;
use proptest::prelude::*;

/// `a · eᵇ` for two broadcast inputs, with a rule on tensors and one on vars. `SLOPE_ERROR`
/// scales ∂/∂b: 1.0 is the right rule, anything else a planted bug.
struct ScaledExp<const WRONG: bool>;

impl<const WRONG: bool> CustomOp<f64> for ScaledExp<WRONG> {
    fn name(&self) -> &'static str {
        "scaled_exp"
    }
    fn formula(&self) -> &'static str {
        "∂y/∂a = eᵇ, ∂y/∂b = y"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].mul(&inputs[1].exp())
    }
    fn backward(
        &self,
        inputs: &[&Tensor<f64>],
        output: &Tensor<f64>,
        grad: &Tensor<f64>,
        wants: &[bool],
    ) -> Vec<Option<Tensor<f64>>> {
        let slip = if WRONG { 1.01 } else { 1.0 };
        vec![
            wants[0].then(|| grad.mul(&inputs[1].exp())),
            wants[1].then(|| grad.mul(output).mul_scalar(slip)),
        ]
    }
    fn backward_graph<'g>(
        &self,
        inputs: &[Var<'g, f64>],
        output: Var<'g, f64>,
        grad: Var<'g, f64>,
        wants: &[bool],
    ) -> Option<Vec<Option<Var<'g, f64>>>> {
        Some(vec![
            wants[0].then(|| grad * inputs[1].exp()),
            wants[1].then(|| grad * output),
        ])
    }
}

/// The identity with no rule on vars: second derivatives through it must refuse clearly.
struct FirstOrderOnly;

impl CustomOp<f64> for FirstOrderOnly {
    fn name(&self) -> &'static str {
        "first_order_only"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].clone()
    }
    fn backward(
        &self,
        _: &[&Tensor<f64>],
        _: &Tensor<f64>,
        grad: &Tensor<f64>,
        _: &[bool],
    ) -> Vec<Option<Tensor<f64>>> {
        vec![Some(grad.clone())]
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn custom_op_first_and_second_order(
        (a, b) in broadcast_pair().prop_flat_map(|(sa, sb)| (tensor(sa), tensor(sb))),
    ) {
        let first = check(&[a.clone(), b.clone()], |_g, v| Var::custom(ScaledExp::<false>, &[v[0], v[1]]));
        prop_assert!(first.passed, "first order: {}", first);
        let second = check_second_order(&[a, b], |_g, v| Var::custom(ScaledExp::<false>, &[v[0], v[1]]));
        prop_assert!(second.passed, "second order: {}", second);
    }
}

/// A small model with the custom op in the middle: tanh(x·W) → scaled_exp → mean.
fn model<'g, const WRONG: bool>(_g: &'g Graph<f64>, v: &[Var<'g, f64>]) -> Var<'g, f64> {
    let hidden = v[0].matmul(v[1]).tanh();
    let y = Var::custom(ScaledExp::<WRONG>, &[hidden, v[2]]);
    (y * hidden).mean()
}

fn model_inputs() -> Vec<Tensor<f64>> {
    let values = |n: usize, shift: f64| (0..n).map(|i| (0.7 * i as f64 + shift).sin()).collect();
    vec![
        Tensor::from_vec(values(6, 0.1), &[2, 3]),
        Tensor::from_vec(values(12, 1.3), &[3, 4]),
        Tensor::from_vec(values(4, 2.9), &[4]),
    ]
}

#[test]
fn the_localized_check_names_a_planted_wrong_rule() {
    let inputs = model_inputs();
    let right = gradcheck(model::<false>, &inputs, GradcheckOptions::default());
    assert!(right.passed, "{right}");
    assert_eq!(right.wrong_op, None);

    let wrong = gradcheck(model::<true>, &inputs, GradcheckOptions::default());
    assert!(!wrong.passed);
    let culprit = wrong
        .wrong_op
        .as_ref()
        .expect("the check names the wrong op");
    assert_eq!(culprit.op, "scaled_exp");
    assert_eq!(culprit.worst.input, 1, "the planted error is in ∂/∂b");
    let line = culprit.source_line.expect("the graph kept source lines");
    assert!(line.file().ends_with("custom_op.rs"), "{line}");
    let text = wrong.to_string();
    assert!(text.contains("the backward rule of `scaled_exp`"), "{text}");
    // The same answer without the whole-model check, and none for the right rule.
    assert_eq!(
        check_each_op(model::<true>, &inputs, GradcheckOptions::default())
            .unwrap()
            .node,
        culprit.node
    );
    assert_eq!(
        check_each_op(model::<false>, &inputs, GradcheckOptions::default()),
        None
    );
}

#[test]
fn the_localized_check_finds_no_fault_in_built_in_ops() {
    let inputs = model_inputs();
    let wrong = check_each_op(
        |_g, v| {
            let h = v[0].matmul(v[1]).softplus().gelu() + v[2].sin();
            let p = h.log_softmax(1);
            (p.silu() * h.leaky_relu(0.2)).sum() + h.max_axis(0, false).sum()
        },
        &inputs,
        GradcheckOptions::default(),
    );
    assert_eq!(wrong, None);
}

#[test]
fn custom_ops_show_by_name_in_traces_pictures_and_nan_reports() {
    let g = Graph::new();
    let a = g.scalar(2.0).named("a");
    let b = g.scalar(0.0).named("b");
    let y = Var::custom(ScaledExp::<false>, &[a, b]).named("y");
    let (grads, trace) = y.backward_traced();
    assert_eq!((grads[a].item(), grads[b].item()), (1.0, 2.0));
    let text = trace.to_string();
    assert!(text.contains("scaled_exp"), "{text}");
    assert!(text.contains("∂y/∂a = eᵇ"), "{text}");
    assert!(g.to_dot(Some(&grads)).contains("scaled_exp"));

    let g = Graph::new();
    let a = g.scalar(1.0);
    let b = g.scalar(1000.0);
    let _ = Var::custom(ScaledExp::<false>, &[a, b]);
    assert_eq!(g.first_non_finite().unwrap().op, "scaled_exp");
}

#[test]
#[should_panic(expected = "the custom op `first_order_only` has no backward rule on vars")]
fn second_order_through_an_op_without_a_rule_on_vars_names_it() {
    let g = Graph::new();
    let x = g.scalar(1.5);
    let y = Var::custom(FirstOrderOnly, &[x * x]);
    let _ = y.backward_create_graph();
}

#[test]
#[should_panic(
    expected = "custom op `first_order_only`: backward returned 1 gradients for 2 inputs"
)]
fn a_rule_with_the_wrong_number_of_gradients_is_refused() {
    let g = Graph::new();
    let x = g.scalar(1.5);
    let y = Var::custom(FirstOrderOnly, &[x, x]);
    let _ = y.backward();
}
