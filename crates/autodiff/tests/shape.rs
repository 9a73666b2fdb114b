//! Shape and indexing ops through gradcheck over random shapes of rank 0 to 4 (1 to 4 where
//! the op needs an axis).

mod common;

use chainrule_autodiff::{Graph, Tensor, Var};
use common::*;
use proptest::prelude::*;

/// A tensor of rank 1 to 4 and one of its axes.
fn tensor_with_axis() -> impl Strategy<Value = (Tensor<f64>, usize)> {
    shape_of_rank(1..=4).prop_flat_map(|s| {
        let rank = s.len();
        (tensor(s), 0..rank)
    })
}

/// A permutation of `0..rank`.
fn permutation(rank: usize) -> impl Strategy<Value = Vec<usize>> {
    Just((0..rank).collect::<Vec<_>>()).prop_shuffle()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reshape(x in shape().prop_flat_map(tensor)) {
        // Reshape to the flat vector and to the reversed shape.
        let reversed: Vec<usize> = x.shape().iter().rev().copied().collect();
        let n = x.numel();
        let report = check(&[x], |_g, v| v[0].reshape(&[n]).reshape(&reversed) * 1.5);
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn permute((x, axes) in shape().prop_flat_map(|s| { let r = s.len(); (tensor(s), permutation(r)) })) {
        let report = check(&[x], |_g, v| v[0].permute(&axes));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn transpose((x, a) in tensor_with_axis(), b in 0usize..4) {
        let b = (b % x.rank()) as isize;
        let report = check(&[x], |_g, v| v[0].transpose(a as isize, b));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn broadcast_to((small, big) in broadcast_pair().prop_map(|(a, _)| a).prop_flat_map(|s| {
        // A target shape that `s` broadcasts to: grow each axis of length 1, add leading axes.
        let grow = prop::collection::vec(1usize..=3, s.len());
        let lead = prop::collection::vec(1usize..=3, 0..=(4 - s.len()));
        (tensor(s.clone()), (grow, lead).prop_map(move |(grow, lead)| {
            let tail = s.iter().zip(grow).map(|(&n, g)| if n == 1 { g } else { n });
            lead.into_iter().chain(tail).collect::<Vec<usize>>()
        }))
    })) {
        let report = check(&[small], |_g, v| v[0].broadcast_to(&big));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn sum_to((a, b) in broadcast_pair()) {
        // a + b has the broadcast shape; sum it back to a's shape.
        let runner_shape = a.clone();
        let report = check(
            &[Tensor::ones(&a), weights(&b)],
            |_g, v| (v[0] * v[1]).sum_to(&runner_shape),
        );
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn narrow((x, axis) in tensor_with_axis(), start in 0usize..3, len in 1usize..3) {
        let n = x.shape()[axis];
        let start = start % n;
        let len = len.min(n - start);
        let report = check(&[x], |_g, v| v[0].narrow(axis as isize, start, len));
        prop_assert!(report.passed, "{}", report);
    }

    /// The sweep adds a narrow's gradient into its slice of the input's running sum: every
    /// index along the axis sliced out, overlapping slices, and the whole tensor used as well.
    #[test]
    fn narrow_slices_gather_into_one_gradient((x, axis) in tensor_with_axis(), scale in 0.5f64..2.0) {
        let n = x.shape()[axis];
        let report = check(&[x], |_g, v| {
            let a = axis as isize;
            let mut total = v[0] * scale;
            for i in 0..n {
                total = total + v[0].narrow(a, i, 1) * (i as f64 + scale);
            }
            total + v[0].narrow(a, 0, n) * v[0].narrow(a, 0, n)
        });
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn pad((x, axis) in tensor_with_axis(), before in 0usize..3, after in 0usize..3) {
        let report = check(&[x], |_g, v| v[0].pad(axis as isize, before, after));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn concat((parts, axis) in shape_of_rank(1..=4).prop_flat_map(|s| {
        let rank = s.len();
        (Just(s), 0..rank, prop::collection::vec(1usize..=3, 1..=3))
    }).prop_flat_map(|(s, axis, lengths)| {
        let parts: Vec<_> = lengths.into_iter().map(|len| {
            let mut shape = s.clone();
            shape[axis] = len;
            tensor(shape)
        }).collect();
        (parts, Just(axis))
    })) {
        let report = check(&parts, |_g, v| Var::concat(v, axis as isize));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn stack((parts, axis) in shape_of_rank(0..=3).prop_flat_map(|s| {
        let rank = s.len();
        (prop::collection::vec(tensor(s), 1..=3), 0..=rank)
    })) {
        let report = check(&parts, |_g, v| Var::stack(v, axis as isize));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn index_select((x, axis, indices) in tensor_with_axis().prop_flat_map(|(x, axis)| {
        let n = x.shape()[axis];
        (Just(x), Just(axis), prop::collection::vec(0..n, 1..=4))
    })) {
        let report = check(&[x], |_g, v| v[0].index_select(axis as isize, &indices));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn index_add((x, axis, indices, size) in tensor_with_axis().prop_flat_map(|(x, axis)| {
        let n = x.shape()[axis];
        (1usize..=3).prop_flat_map(move |size| {
            (Just(x.clone()), Just(axis), prop::collection::vec(0..size, n), Just(size))
        })
    })) {
        let report = check(&[x], |_g, v| v[0].index_add(axis as isize, &indices, size));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn gather((x, axis, indices, len) in tensor_with_axis().prop_flat_map(|(x, axis)| {
        let n = x.shape()[axis];
        (1usize..=3).prop_flat_map(move |len| {
            let mut out_shape = x.shape().to_vec();
            out_shape[axis] = len;
            let count = out_shape.iter().product::<usize>();
            (Just(x.clone()), Just(axis), prop::collection::vec(0..n, count), Just(len))
        })
    })) {
        let report = check(&[x], |_g, v| v[0].gather(axis as isize, &indices, len));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn scatter_add((x, axis, indices, size) in tensor_with_axis().prop_flat_map(|(x, axis)| {
        (1usize..=3).prop_flat_map(move |size| {
            (Just(x.clone()), Just(axis), prop::collection::vec(0..size, x.numel()), Just(size))
        })
    })) {
        let report = check(&[x], |_g, v| v[0].scatter_add(axis as isize, &indices, size));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn squeeze_and_unsqueeze(x in shape_of_rank(0..=3).prop_flat_map(tensor)) {
        let report = check(&[x], |_g, v| v[0].unsqueeze(0).exp().squeeze(0));
        prop_assert!(report.passed, "{}", report);
    }
}

#[test]
fn gather_picks_the_label_logit_of_each_row() {
    let g = Graph::new();
    let logits = g.param(Tensor::from_vec(
        vec![0.1f64, 0.2, 0.3, 1.0, 2.0, 3.0],
        &[2, 3],
    ));
    let picked = logits.gather(1, &[2, 0], 1);
    assert_eq!(picked.shape().as_slice(), &[2, 1]);
    assert_eq!(picked.value().to_vec(), vec![0.3, 1.0]);
}
