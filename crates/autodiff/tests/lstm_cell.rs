//! The fused LSTM cell (`Var::lstm_cell`): its values against the same equations written with
//! elementary ops, its gradients against finite differences for all four inputs, and its
//! second derivatives (through `backward_create_graph`) likewise.

mod common;

use chainrule_autodiff::{gradcheck, GradcheckOptions, Graph, Tensor, Var};
use common::*;
use proptest::prelude::*;

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
fn fused<'g, T: chainrule_autodiff::Float>(v: &[Var<'g, T>]) -> Var<'g, T> {
    let (h, c) = v[0].lstm_cell(v[1], v[2], v[3]);
    Var::stack(&[h, c], 0)
}

/// The same step from elementary ops, as `LstmCell::step` used to write it.
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

/// Gradchecks `Σ w·∂(Σ w·op)/∂x` over all inputs: second derivatives against finite
/// differences of the recorded first derivatives.
fn gradgradcheck<F>(inputs: &[Tensor<f64>], op: F) -> chainrule_autodiff::GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    gradcheck(
        |g, v| {
            let grads = weighted_sum(g, op(g, v)).backward_create_graph();
            v.iter()
                .map(|&x| weighted_sum(g, grads.wrt(x)))
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
    fn lstm_cell(inputs in cell_inputs()) {
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
        let (ga, gb) = (weighted_sum(&g, a).backward(), weighted_sum(&g, b).backward());
        for &p in &v {
            for (x, y) in ga[p].as_slice().iter().zip(gb[p].as_slice()) {
                prop_assert!((x - y).abs() < 1e-12, "{} vs {}", x, y);
            }
        }
    }
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
    let (h, c_next) = zx.lstm_cell(zh, b, c);
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
    let _ = zx.lstm_cell(zh, b, c);
}
