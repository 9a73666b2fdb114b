//! Every elementwise op through gradcheck, over random shapes (rank 0 to 4) and, for the
//! binary ops, random broadcasting pairs.

mod common;

use chainrule_autodiff::Tensor;
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
