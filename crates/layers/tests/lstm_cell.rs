//! The fused LSTM cell (`lstm_cell`, the user-defined op `FusedLstmCell`): its values against
//! the same equations written with elementary ops, its gradients against finite differences
//! for all four inputs, its second derivatives (through `backward_create_graph`) likewise, and
//! its one-pass backward kernel against the rule it records on graphs.

mod common;

use chainrule_autodiff::{
    gradcheck, CustomOp, Float, GradcheckOptions, GradcheckReport, Graph, Tensor, Var,
};
use chainrule_layers::recurrent::lstm_cell_op::lstm_block;
use chainrule_layers::{lstm_cell, FusedLstmCell};
use common::{assert_close, rng, weighted_sum};
use proptest::prelude::*;
use std::panic::AssertUnwindSafe;

/// Proptest cases per property: enough to cover every batch and hidden size from 1 to 3.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    }
}

/// A tensor of the given shape with values in `[low, high]`.
fn tensor_in(shape: Vec<usize>, low: f64, high: f64) -> impl Strategy<Value = Tensor<f64>> {
    let n = shape.iter().product::<usize>();
    prop::collection::vec(low..=high, n).prop_map(move |v| Tensor::from_vec(v, &shape))
}

/// `zx`, `zh` `[batch, 4·hidden]`, bias `[4·hidden]`, cell state `[batch, hidden]`.
fn cell_inputs() -> impl Strategy<Value = Vec<Tensor<f64>>> {
    (1usize..=3, 1usize..=3).prop_flat_map(|(batch, hidden)| {
        (
            tensor_in(vec![batch, 4 * hidden], -2.0, 2.0),
            tensor_in(vec![batch, 4 * hidden], -2.0, 2.0),
            tensor_in(vec![4 * hidden], -1.0, 1.0),
            tensor_in(vec![batch, hidden], -2.0, 2.0),
        )
            .prop_map(|(zx, zh, b, c)| vec![zx, zh, b, c])
    })
}

/// Both outputs in one var, so one weighted sum reaches `h'` and `c'` with different weights.
fn fused<'g, T: Float>(v: &[Var<'g, T>]) -> Var<'g, T> {
    let (h, c) = lstm_cell(v[0], v[1], v[2], v[3]);
    Var::stack(&[h, c], 0)
}

/// The same step from elementary ops, as `LstmCell::step` once wrote it.
fn composed<'g>(v: &[Var<'g, f64>]) -> Var<'g, f64> {
    let n = v[3].shape()[1];
    let z = v[0] + v[1] + v[2];
    let i = z.narrow(-1, 0, n).sigmoid();
    let f = z.narrow(-1, n, n).sigmoid();
    let g = z.narrow(-1, 2 * n, n).tanh();
    let o = z.narrow(-1, 3 * n, n).sigmoid();
    let c = f * v[3] + i * g;
    let h = o * c.tanh();
    Var::stack(&[h, c], 0)
}

/// Gradchecks `Σ w·op` over all inputs.
fn check<F>(inputs: &[Tensor<f64>], op: F) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    gradcheck(
        |g, v| weighted_sum(op(g, v)),
        inputs,
        GradcheckOptions::default(),
    )
}

/// Gradchecks `Σ w·∂(Σ w·op)/∂x` over all inputs: second derivatives against finite
/// differences of the recorded first derivatives.
fn gradgradcheck<F>(inputs: &[Tensor<f64>], op: F) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    gradcheck(
        |g, v| {
            let grads = weighted_sum(op(g, v)).backward_create_graph();
            v.iter()
                .map(|&x| weighted_sum(grads.wrt(x)))
                .reduce(|a, b| a + b)
                .expect("four inputs")
        },
        inputs,
        GradcheckOptions::default(),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn lstm_cell_gradients(inputs in cell_inputs()) {
        let report = check(&inputs, |_g, v| fused(v));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn lstm_cell_second_order(inputs in cell_inputs()) {
        let report = gradgradcheck(&inputs, |_g, v| fused(v));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn lstm_cell_matches_the_composed_equations(inputs in cell_inputs()) {
        let g = Graph::new();
        let v: Vec<_> = inputs.iter().map(|t| g.param(t.clone())).collect();
        let (a, b) = (fused(&v), composed(&v));
        for (x, y) in a.value().as_slice().iter().zip(b.value().as_slice()) {
            prop_assert!((x - y).abs() < 1e-12, "{} vs {}", x, y);
        }
        let (ga, gb) = (weighted_sum(a).backward(), weighted_sum(b).backward());
        for &p in &v {
            prop_assert_eq!(ga[p].shape(), gb[p].shape());
            for (x, y) in ga[p].as_slice().iter().zip(gb[p].as_slice()) {
                prop_assert!((x - y).abs() < 1e-12, "{} vs {}", x, y);
            }
        }
    }
}

/// Random inputs of a step and an upstream gradient of its `[batch, 8, hidden]` output.
fn step_and_gradient(batch: usize, hidden: usize, seed: u64) -> (Vec<Tensor<f64>>, Tensor<f64>) {
    let mut rng = rng(seed);
    let mut normal = |shape: &[usize]| Tensor::<f64>::rand_normal(shape, 0.0, 1.5, &mut rng);
    let inputs = vec![
        normal(&[batch, 4 * hidden]),
        normal(&[batch, 4 * hidden]),
        normal(&[4 * hidden]),
        normal(&[batch, hidden]),
    ];
    let grad = normal(&[batch, lstm_block::COUNT, hidden]);
    (inputs, grad)
}

#[test]
fn one_pass_backward_matches_the_composed_rule() {
    let (inputs, grad) = step_and_gradient(3, 5, 7);
    let op = FusedLstmCell;
    let refs: Vec<&Tensor<f64>> = inputs.iter().collect();
    let y = op.forward(&refs);
    let wants = [true; 4];
    let fast = op.backward(&refs, &y, &grad, &wants);

    let g = Graph::new();
    let vars: Vec<_> = inputs.iter().map(|t| g.constant(t.clone())).collect();
    let recorded = op
        .backward_graph(&vars, g.constant(y), g.constant(grad), &wants)
        .expect("the fused cell has a rule on vars");

    assert_eq!(fast.len(), 4);
    assert_eq!(recorded.len(), 4);
    for (k, (fast, recorded)) in fast.iter().zip(&recorded).enumerate() {
        let fast = fast.as_ref().expect("every input wants a gradient");
        let recorded = recorded.expect("every input wants a gradient").value();
        assert_eq!(fast.shape(), inputs[k].shape(), "input {k}");
        assert_eq!(recorded.shape(), inputs[k].shape(), "input {k}");
        assert_close(fast.as_slice(), recorded.as_slice(), 1e-12);
    }
}

#[test]
fn backward_gives_only_the_gradients_wanted() {
    let (inputs, grad) = step_and_gradient(2, 3, 8);
    let op = FusedLstmCell;
    let refs: Vec<&Tensor<f64>> = inputs.iter().collect();
    let y = op.forward(&refs);
    let g = Graph::new();
    let vars: Vec<_> = inputs.iter().map(|t| g.constant(t.clone())).collect();
    for k in 0..4 {
        let mut wants = [false; 4];
        wants[k] = true;
        let fast = op.backward(&refs, &y, &grad, &wants);
        let recorded = op
            .backward_graph(
                &vars,
                g.constant(y.clone()),
                g.constant(grad.clone()),
                &wants,
            )
            .expect("the fused cell has a rule on vars");
        for j in 0..4 {
            assert_eq!(
                fast[j].is_some(),
                j == k,
                "tensors: wants {wants:?}, input {j}"
            );
            assert_eq!(
                recorded[j].is_some(),
                j == k,
                "vars: wants {wants:?}, input {j}"
            );
        }
    }
    let none = op.backward(&refs, &y, &grad, &[false; 4]);
    assert!(none.iter().all(Option::is_none));
}

#[test]
fn the_op_goes_by_its_name() {
    let g = Graph::new();
    let v: Vec<_> = step_and_gradient(1, 2, 9)
        .0
        .into_iter()
        .map(|t| g.param(t))
        .collect();
    let blocks = Var::custom(FusedLstmCell, &v);
    assert_eq!(blocks.op().name(), "lstm_cell");
    assert_eq!(blocks.shape().as_slice(), &[1, lstm_block::COUNT, 2]);
    let (h, c) = lstm_cell(v[0], v[1], v[2], v[3]);
    let block = |k: usize| blocks.value().narrow(1, k, 1).reshape(&[1, 2]);
    assert_eq!(h.value(), block(lstm_block::HIDDEN));
    assert_eq!(c.value(), block(lstm_block::CELL));
    assert_eq!(block(lstm_block::CELL_PREV), v[3].value());
}

#[test]
fn f32_lstm_cell_matches_f64() {
    let (batch, hidden) = (5, 7);
    let wave = |n: usize, k: f64| -> Vec<f64> {
        (0..n).map(|i| (i as f64 * k + 0.3).sin() * 6.0).collect()
    };
    let values = [
        Tensor::from_vec(wave(batch * 4 * hidden, 0.7), &[batch, 4 * hidden]),
        Tensor::from_vec(wave(batch * 4 * hidden, 1.9), &[batch, 4 * hidden]),
        Tensor::from_vec(wave(4 * hidden, 2.3), &[4 * hidden]),
        Tensor::from_vec(wave(batch * hidden, 0.4), &[batch, hidden]),
    ];
    let g64 = Graph::new();
    let v64: Vec<_> = values.iter().map(|t| g64.param(t.clone())).collect();
    let g32 = Graph::new();
    let v32: Vec<_> = values.iter().map(|t| g32.param(t.cast::<f32>())).collect();
    let (y64, y32) = (fused(&v64), fused(&v32));
    for (x, y) in y64.value().as_slice().iter().zip(y32.value().as_slice()) {
        assert!((x - f64::from(*y)).abs() < 1e-5, "{x} vs {y}");
    }
    let (g64, g32) = (y64.sum().backward(), y32.sum().backward());
    for (p64, p32) in v64.iter().zip(&v32) {
        for (x, y) in g64[*p64].as_slice().iter().zip(g32[*p32].as_slice()) {
            assert!(
                (x - f64::from(*y)).abs() < 1e-4 * (1.0 + x.abs()),
                "{x} vs {y}"
            );
        }
    }
}

#[test]
fn lstm_cell_saturates_without_nan() {
    let g = Graph::new();
    let zx = g.param(Tensor::from_vec(
        vec![1000.0f32, -1000.0, 1000.0, -1000.0],
        &[1, 4],
    ));
    let zh = g.param(Tensor::zeros(&[1, 4]));
    let b = g.param(Tensor::zeros(&[4]));
    let c = g.param(Tensor::from_vec(vec![3.0f32], &[1, 1]));
    let (h, c_next) = lstm_cell(zx, zh, b, c);
    // i = 1, f = 0, g = 1, o = 0: c' = 1, h' = 0.
    assert_eq!(c_next.item(), 1.0);
    assert_eq!(h.item(), 0.0);
    let grads = (h + c_next).backward();
    assert!(grads[zx].as_slice().iter().all(|v| v.is_finite()));
}

#[test]
#[should_panic(expected = "lstm_cell: gate inputs")]
fn lstm_cell_shape_mismatch_panics() {
    let g = Graph::new();
    let zx = g.input(Tensor::<f64>::zeros(&[2, 8]));
    let zh = g.input(Tensor::zeros(&[2, 8]));
    let b = g.input(Tensor::zeros(&[8]));
    let c = g.input(Tensor::zeros(&[2, 3]));
    let _ = lstm_cell(zx, zh, b, c);
}

#[test]
fn lstm_cell_shape_mismatch_names_the_callers_line() {
    let g = Graph::new();
    let zx = g.input(Tensor::<f64>::zeros(&[2, 8]));
    let zh = g.input(Tensor::zeros(&[2, 8]));
    let b = g.input(Tensor::zeros(&[8]));
    let c = g.input(Tensor::zeros(&[2, 3]));
    let line = line!() + 1;
    let panic = std::panic::catch_unwind(AssertUnwindSafe(|| lstm_cell(zx, zh, b, c)))
        .expect_err("a panic");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.contains("lstm_cell: gate inputs"), "{message}");
    assert!(
        message.contains(&format!("{}:{line}:", file!())),
        "{message}"
    );
}

#[test]
#[should_panic(expected = "lstm_cell: gate inputs")]
fn the_op_recorded_directly_checks_shapes_too() {
    let g = Graph::new();
    let zx = g.input(Tensor::<f64>::zeros(&[2, 8]));
    let zh = g.input(Tensor::zeros(&[2, 4]));
    let b = g.input(Tensor::zeros(&[8]));
    let c = g.input(Tensor::zeros(&[2, 2]));
    let _ = Var::custom(FusedLstmCell, &[zx, zh, b, c]);
}

#[test]
#[should_panic(expected = "lstm_cell: the cell state must be 2-D")]
fn a_cell_state_that_is_not_2d_panics() {
    let g = Graph::new();
    let zx = g.input(Tensor::<f64>::zeros(&[2, 8]));
    let zh = g.input(Tensor::zeros(&[2, 8]));
    let b = g.input(Tensor::zeros(&[8]));
    let c = g.input(Tensor::zeros(&[2, 2, 1]));
    let _ = lstm_cell(zx, zh, b, c);
}
