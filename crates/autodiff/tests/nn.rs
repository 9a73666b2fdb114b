//! logsumexp, softmax, log_softmax and the two fused losses through gradcheck, and their
//! behaviour at logits of ±1000, where the naive formulas overflow.

mod common;

use chainrule_autodiff::{Graph, Tensor};
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
