//! Every elementwise op through gradcheck, over random shapes (rank 0 to 4) and, for the
//! binary ops, random broadcasting pairs.

mod common;

use chainrule_autodiff::{Tensor, Var};
use common::*;
use proptest::prelude::*;

/// Runs a binary op's gradcheck over a broadcasting pair with values from the given ranges.
macro_rules! binary_case {
    ($name:ident, $a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {
        proptest! {
            #![proptest_config(config())]
            #[test]
            fn $name((a, b) in broadcast_pair().prop_flat_map(|(sa, sb)| ($a(sa), $b(sb)))) {
                let report = check(&[a, b], |_g, v| { let ($x, $y) = (v[0], v[1]); $body });
                prop_assert!(report.passed, "{}", report);
            }
        }
    };
}

binary_case!(add_broadcasting, tensor, tensor, |a, b| a + b);
binary_case!(sub_broadcasting, tensor, tensor, |a, b| a - b);
binary_case!(mul_broadcasting, tensor, tensor, |a, b| a * b);
binary_case!(
    div_broadcasting,
    tensor,
    |s| tensor_away_from_zero(s, 0.3),
    |a, b| a / b
);
binary_case!(
    pow_broadcasting,
    |s| tensor_in(s, 0.5, 2.0),
    |s| tensor_in(s, -2.0, 2.0),
    |a, b| a.pow(b)
);

proptest! {
    #![proptest_config(config())]

    #[test]
    fn maximum_broadcasting((sa, sb) in broadcast_pair(), offset in 0.05f64..1.0) {
        // b's values sit between a grid of a's values, never within `offset/2` of any of them.
        let a = Tensor::from_vec((0..sa.iter().product::<usize>()).map(|i| i as f64).collect(), &sa);
        let b = Tensor::from_vec((0..sb.iter().product::<usize>()).map(|i| i as f64 + 0.5 * offset).collect(), &sb);
        let report = check(&[a, b], |_g, v| v[0].maximum(v[1]));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn minimum_broadcasting((sa, sb) in broadcast_pair(), offset in 0.05f64..1.0) {
        let a = Tensor::from_vec((0..sa.iter().product::<usize>()).map(|i| 1.0 - i as f64).collect(), &sa);
        let b = Tensor::from_vec((0..sb.iter().product::<usize>()).map(|i| 1.0 - i as f64 - 0.5 * offset).collect(), &sb);
        let report = check(&[a, b], |_g, v| v[0].minimum(v[1]));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn neg(x in shape().prop_flat_map(tensor)) {
        let report = check(&[x], |_g, v| -v[0]);
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn add_scalar_and_mul_scalar(x in shape().prop_flat_map(tensor), c in -3.0f64..3.0) {
        let report = check(&[x], |_g, v| (v[0] + c) * c - c / (v[0] * v[0] + 1.0));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn powf(x in shape().prop_flat_map(|s| tensor_in(s, 0.3, 2.0)), c in -2.5f64..2.5) {
        let report = check(&[x], |_g, v| v[0].powf(c));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn exp(x in shape().prop_flat_map(tensor)) {
        let report = check(&[x], |_g, v| v[0].exp());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn ln(x in shape().prop_flat_map(|s| tensor_in(s, 0.2, 3.0))) {
        let report = check(&[x], |_g, v| v[0].ln());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn sqrt(x in shape().prop_flat_map(|s| tensor_in(s, 0.2, 3.0))) {
        let report = check(&[x], |_g, v| v[0].sqrt());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn abs(x in shape().prop_flat_map(|s| tensor_away_from_zero(s, 0.05))) {
        let report = check(&[x], |_g, v| v[0].abs());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn tanh(x in shape().prop_flat_map(tensor)) {
        let report = check(&[x], |_g, v| v[0].tanh());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn sigmoid(x in shape().prop_flat_map(|s| tensor_in(s, -6.0, 6.0))) {
        let report = check(&[x], |_g, v| v[0].sigmoid());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn relu(x in shape().prop_flat_map(|s| tensor_away_from_zero(s, 0.05))) {
        let report = check(&[x], |_g, v| v[0].relu());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn clamp(x in shape().prop_flat_map(tensor)) {
        // Keep values off the bounds ±0.5, where clamp has kinks.
        prop_assume!(x.as_slice().iter().all(|v| (v.abs() - 0.5).abs() > 0.01));
        let report = check(&[x], |_g, v| v[0].clamp(-0.5, 0.5));
        prop_assert!(report.passed, "{}", report);
    }
}

#[test]
fn sigmoid_is_finite_and_exact_at_large_logits() {
    let g = chainrule_autodiff::Graph::new();
    let x = g.param(Tensor::from_vec(vec![-1000.0f64, 1000.0], &[2]));
    let y = x.sigmoid();
    assert_eq!(y.value().to_vec(), vec![0.0, 1.0]);
    let grads = y.sum().backward();
    assert_eq!(grads[x].to_vec(), vec![0.0, 0.0]);
}

/// First- and second-order gradchecks of unary ops, one line per op: the op's name, the values
/// it is checked at (away from kinks and poles), and the op applied to the var `x`.
macro_rules! unary_gradchecks {
    ($($name:ident: $values:expr => |$x:ident| $op:expr;)*) => {
        proptest! {
            #![proptest_config(config())]
            $(
                #[test]
                fn $name(input in shape().prop_flat_map($values)) {
                    let first = check(std::slice::from_ref(&input), |_g, v| { let $x = v[0]; $op });
                    prop_assert!(first.passed, "first order: {}", first);
                    let second = check_second_order(&[input], |_g, v| { let $x = v[0]; $op });
                    prop_assert!(second.passed, "second order: {}", second);
                }
            )*
        }
    };
}

unary_gradchecks! {
    softplus: |s| tensor_in(s, -4.0, 4.0) => |x| x.softplus();
    leaky_relu: |s| tensor_away_from_zero(s, 0.05) => |x| x.leaky_relu(0.1) * x;
    gelu: |s| tensor_in(s, -3.0, 3.0) => |x| x.gelu();
    silu: |s| tensor_in(s, -4.0, 4.0) => |x| x.silu();
    log1p: |s| tensor_in(s, -0.7, 3.0) => |x| x.log1p();
    expm1: |s| tensor_in(s, -2.0, 2.0) => |x| x.expm1();
    sin: tensor => |x| x.sin();
    cos: tensor => |x| x.cos();
    erf: |s| tensor_in(s, -3.0, 3.0) => |x| x.erf();
    // The steps have derivative 0; times x, the product's derivative is the step's value, so a
    // wrong value or a gradient leaking through the step shows. Values keep 0.2 away from jumps.
    round: |s| tensor_in(s, -3.0, 3.0).prop_map(|t| t.map(|v| v.round() + 0.3 * v.signum())) => |x| x.round() * x;
    floor: |s| tensor_in(s, -3.0, 3.0).prop_map(|t| t.map(|v| v.floor() + 0.5)) => |x| x.floor() * x;
    sign: |s| tensor_away_from_zero(s, 0.2) => |x| x.sign() * x;
}

proptest! {
    #![proptest_config(config())]

    /// `where(mask, a, b)` over broadcasting pairs, the mask shaped like `a` and held constant:
    /// first order, and second order through a product so the second derivative is not zero.
    #[test]
    fn where_(
        (a, b) in broadcast_pair().prop_flat_map(|(sa, sb)| (tensor(sa), tensor(sb))),
        seed in any::<u64>(),
    ) {
        let picks = (0..a.as_slice().len()).map(|i| ((seed >> (i % 64)) & 1) as f64).collect();
        let mask = Tensor::from_vec(picks, a.shape());
        let first = check(&[a.clone(), b.clone()], |_g, v| select(&mask, v));
        prop_assert!(first.passed, "first order: {}", first);
        let second = check_second_order(&[a, b], |_g, v| select(&mask, v) * v[0] * v[1]);
        prop_assert!(second.passed, "second order: {}", second);
    }
}

/// `where(mask, v[0], v[1])` with the mask a constant of the graph.
fn select<'g>(mask: &Tensor<f64>, v: &[Var<'g, f64>]) -> Var<'g, f64> {
    Var::where_(v[0].graph().constant(mask.clone()), v[0], v[1])
}

/// The new ops against values computed another way, in `f64` and `f32`.
#[test]
fn new_unary_ops_match_their_definitions() {
    use chainrule_autodiff::Graph;
    let g = Graph::new();
    for &v in &[-30.0f64, -2.5, -0.3, 0.0, 0.4, 1.7, 25.0] {
        let x = g.input(Tensor::scalar(v));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        assert!(
            close(x.softplus().item(), (1.0 + v.exp()).ln()),
            "softplus({v})"
        );
        let u = (2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3));
        assert!(
            close(x.gelu().item(), 0.5 * v * (1.0 + u.tanh())),
            "gelu({v})"
        );
        assert!(close(x.silu().item(), v / (1.0 + (-v).exp())), "silu({v})");
        assert!(close(x.sin().item(), v.sin()) && close(x.cos().item(), v.cos()));
        assert!(close(x.expm1().item(), v.exp() - 1.0), "expm1({v})");
        let leaky = if v > 0.0 { v } else { 0.01 * v };
        assert_eq!(x.leaky_relu(0.01).item(), leaky);
    }
    // Far out, softplus is x itself and never overflows.
    assert_eq!(g.input(Tensor::scalar(1000.0f64)).softplus().item(), 1000.0);
    let gf = Graph::<f32>::new();
    assert_eq!(gf.input(Tensor::scalar(100.0f32)).softplus().item(), 100.0);
    assert!(gf.input(Tensor::scalar(-100.0f32)).softplus().item() > 0.0);
}

/// `erf` against published values (Abramowitz & Stegun, table 7.1), and the steps' values,
/// in `f64` and `f32`.
#[test]
fn erf_and_the_steps_match_their_definitions() {
    use chainrule_autodiff::Graph;
    let g = Graph::<f64>::new();
    for (x, erf) in [
        (0.5, 0.520_499_877_8),
        (1.0, 0.842_700_792_9),
        (2.0, 0.995_322_265_0),
    ] {
        assert!((g.scalar(x).erf().item() - erf).abs() < 1e-10, "erf({x})");
        assert!((g.scalar(-x).erf().item() + erf).abs() < 1e-10, "erf(−{x})");
    }
    let halves = g.input(Tensor::from_vec(
        vec![-2.5, -1.5, -0.5, 0.5, 1.5, 2.5],
        &[6],
    ));
    assert_eq!(
        halves.round().value().to_vec(),
        vec![-2.0, -2.0, -0.0, 0.0, 2.0, 2.0]
    );
    assert_eq!(
        halves.floor().value().to_vec(),
        vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]
    );
    assert_eq!(
        halves.sign().value().to_vec(),
        vec![-1.0, -1.0, -1.0, 1.0, 1.0, 1.0]
    );
    let g32 = Graph::<f32>::new();
    assert!((g32.scalar(1.0).erf().item() - 0.842_700_8).abs() < 1e-6);
    assert_eq!(g32.scalar(0.0).sign().item(), 0.0);
}
