//! logsumexp, softmax, log_softmax, layer_norm and the two fused losses through gradcheck, and
//! their behaviour at logits of ±1000, where the naive formulas overflow.

mod common;

use chainrule_autodiff::{gradgradcheck, GradcheckOptions, Graph, Tensor, Var};
use common::*;
use proptest::prelude::*;

/// A tensor of rank 1 to 4 and one of its axes, values in [-3, 3].
fn tensor_with_axis() -> impl Strategy<Value = (Tensor<f64>, usize)> {
    shape_of_rank(1..=4).prop_flat_map(|s| {
        let rank = s.len();
        (tensor_in(s, -3.0, 3.0), 0..rank)
    })
}

/// `[N, C]` logits and one label per row.
fn logits_and_labels() -> impl Strategy<Value = (Tensor<f64>, Vec<usize>)> {
    (1usize..=4, 1usize..=5).prop_flat_map(|(n, c)| {
        (
            tensor_in(vec![n, c], -3.0, 3.0),
            prop::collection::vec(0..c, n),
        )
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn logsumexp((x, axis) in tensor_with_axis(), keepdim in any::<bool>()) {
        let report = check(&[x], |_g, v| v[0].logsumexp(axis as isize, keepdim));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn softmax((x, axis) in tensor_with_axis()) {
        let report = check(&[x], |_g, v| v[0].softmax(axis as isize));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn log_softmax((x, axis) in tensor_with_axis()) {
        let report = check(&[x], |_g, v| v[0].log_softmax(axis as isize));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn softmax_cross_entropy((x, labels) in logits_and_labels()) {
        let report = check(&[x], |_g, v| v[0].softmax_cross_entropy(&labels));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn softmax_cross_entropy_matches_log_softmax_picked_by_gather((x, labels) in logits_and_labels()) {
        let g = Graph::new();
        let logits = g.input(x.clone());
        let fused = logits.softmax_cross_entropy(&labels).item();
        let n = labels.len() as f64;
        let composed = -logits.log_softmax(1).gather(1, &labels, 1).sum().item() / n;
        prop_assert!((fused - composed).abs() < 1e-12, "{} vs {}", fused, composed);
    }

    #[test]
    fn binary_cross_entropy_with_logits((x, t) in shape().prop_flat_map(|s| {
        (tensor_in(s.clone(), -4.0, 4.0), tensor_in(s, 0.0, 1.0))
    })) {
        let report = check(&[x, t], |_g, v| v[0].binary_cross_entropy_with_logits(v[1]));
        prop_assert!(report.passed, "{}", report);
    }
}

#[test]
fn softmax_cross_entropy_is_finite_at_logits_of_1000() {
    let g = Graph::new();
    let logits = g.param(Tensor::from_vec(
        vec![1000.0f64, -1000.0, -1000.0, 1000.0],
        &[2, 2],
    ));
    let loss = logits.softmax_cross_entropy(&[1, 1]);
    // Row 0 puts all mass on the wrong class: loss 2000; row 1 on the right one: loss 0.
    assert_eq!(loss.item(), 1000.0);
    let grads = loss.backward();
    assert!(grads[logits].all_finite());
    assert_eq!(grads[logits].to_vec(), vec![0.5, -0.5, 0.0, 0.0]);
}

#[test]
fn binary_cross_entropy_with_logits_is_finite_at_logits_of_1000() {
    let g = Graph::new();
    let x = g.param(Tensor::from_vec(
        vec![1000.0f64, -1000.0, 1000.0, -1000.0],
        &[4],
    ));
    let t = g.input(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[4]));
    let loss = x.binary_cross_entropy_with_logits(t);
    assert_eq!(loss.item(), 500.0); // two right (0 each), two wrong (1000 each), mean of four
    let grads = loss.backward();
    assert_eq!(grads[x].to_vec(), vec![0.0, 0.0, 0.25, -0.25]);
}

#[test]
fn softmax_log_softmax_and_logsumexp_are_finite_at_1000() {
    let g = Graph::new();
    let x = g.param(Tensor::from_vec(vec![1000.0f64, -1000.0, 0.0], &[3]));
    assert!(x.softmax(0).value().all_finite());
    assert!(x.log_softmax(0).value().all_finite());
    assert_eq!(x.logsumexp(0, false).item(), 1000.0);
    let grads = (x.log_softmax(0).sum() + x.softmax(0).max()).backward();
    assert!(grads[x].all_finite());
}

/// An input of rank 1 to 3, the number `k` of trailing axes to normalise, and whether to pass a
/// weight and a bias; `eps` is large enough (0.1) that a slice of nearly equal values does not
/// make the check ill-conditioned.
fn layer_norm_case() -> impl Strategy<Value = (Vec<Tensor<f64>>, usize, bool, bool)> {
    shape_of_rank(1..=3).prop_flat_map(|s| {
        let rank = s.len();
        (Just(s), 1..=rank, any::<bool>(), any::<bool>()).prop_flat_map(
            |(s, k, weighted, biased)| {
                let normalized = s[s.len() - k..].to_vec();
                let mut inputs = vec![tensor_in(s, -3.0, 3.0).boxed()];
                if weighted {
                    inputs.push(tensor_in(normalized.clone(), 0.5, 2.0).boxed());
                }
                if biased {
                    inputs.push(tensor(normalized).boxed());
                }
                (inputs, Just(k), Just(weighted), Just(biased))
            },
        )
    })
}

/// `x.layer_norm` over its last `k` axes, with `v[1]` and `v[2]` as weight and bias when
/// present.
fn layer_norm_of<'g>(v: &[Var<'g, f64>], k: usize, weighted: bool, biased: bool) -> Var<'g, f64> {
    let shape = v[0].shape();
    let normalized = &shape[shape.len() - k..];
    let weight = weighted.then(|| v[1]);
    let bias = biased.then(|| v[if weighted { 2 } else { 1 }]);
    v[0].layer_norm(normalized, weight, bias, 0.1)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn layer_norm((inputs, k, weighted, biased) in layer_norm_case()) {
        let report = check(&inputs, |_g, v| layer_norm_of(v, k, weighted, biased));
        prop_assert!(report.passed, "{}", report);
        let report = gradgradcheck(
            |_g, v| layer_norm_of(v, k, weighted, biased),
            &inputs,
            GradcheckOptions::default(),
        );
        prop_assert!(report.passed, "second order: {}", report);
    }

    #[test]
    fn layer_norm_gives_each_slice_mean_zero_and_variance_one(
        (x, k) in shape_of_rank(1..=4).prop_flat_map(|s| {
            let rank = s.len();
            (tensor_in(s, -3.0, 3.0), 1..=rank)
        })
    ) {
        let n: usize = x.shape()[x.rank() - k..].iter().product();
        prop_assume!(n >= 2);
        let rows: Vec<&[f64]> = x.as_slice().chunks(n).collect();
        let g = Graph::new();
        let normalized = x.shape()[x.rank() - k..].to_vec();
        let y = g.input(x.clone()).layer_norm(&normalized, None, None, 1e-5).value();
        for (row, out) in rows.iter().zip(y.as_slice().chunks(n)) {
            // PyTorch's formula, by hand: the biased variance of the slice, eps inside the root.
            let mean = row.iter().sum::<f64>() / n as f64;
            let variance = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            for (a, b) in row.iter().zip(out) {
                let expected = (a - mean) / (variance + 1e-5).sqrt();
                prop_assert!((b - expected).abs() < 1e-12, "{} vs {}", b, expected);
            }
            let out_mean = out.iter().sum::<f64>() / n as f64;
            let out_variance = out.iter().map(|v| (v - out_mean).powi(2)).sum::<f64>() / n as f64;
            prop_assert!(out_mean.abs() < 1e-12);
            prop_assert!(
                (out_variance - variance / (variance + 1e-5)).abs() < 1e-12,
                "variance {} of a slice of variance {}", out_variance, variance
            );
        }
    }
}

#[test]
#[should_panic(
    expected = "layer_norm: normalized_shape [2] is not the trailing axes of the input's shape [2, 3]"
)]
fn layer_norm_over_axes_that_are_not_trailing_names_both_shapes() {
    let g = Graph::new();
    g.input(Tensor::<f64>::zeros(&[2, 3]))
        .layer_norm(&[2], None, None, 1e-5);
}
