//! sum, mean and max through gradcheck: over all elements and along each axis, with and
//! without keepdim, over random shapes of rank 0 to 4.

mod common;

use chainrule_autodiff::{Graph, Tensor};
use common::*;
use proptest::prelude::*;

/// A tensor with an axis of it (an index in `0..rank`, or `None` for a 0-d tensor).
fn tensor_and_axis() -> impl Strategy<Value = (Tensor<f64>, Option<isize>, bool)> {
    shape().prop_flat_map(|s| {
        let rank = s.len();
        let axis = if rank == 0 {
            Just(None).boxed()
        } else {
            // Negative axes count from the end; cover both spellings.
            (0..rank as isize, any::<bool>())
                .prop_map(move |(a, neg)| Some(if neg { a - rank as isize } else { a }))
                .boxed()
        };
        (tensor(s), axis, any::<bool>())
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sum_all(x in shape().prop_flat_map(tensor)) {
        let report = check(&[x], |_g, v| v[0].sum() * v[0].sum());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn sum_axis((x, axis, keepdim) in tensor_and_axis()) {
        let report = check(&[x], |_g, v| match axis {
            Some(a) => v[0].sum_axis(a, keepdim),
            None => v[0].sum(),
        });
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn mean_all(x in shape().prop_flat_map(tensor)) {
        let report = check(&[x], |_g, v| v[0].mean().exp());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn mean_axis((x, axis, keepdim) in tensor_and_axis()) {
        let report = check(&[x], |_g, v| match axis {
            Some(a) => v[0].mean_axis(a, keepdim),
            None => v[0].mean(),
        });
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn max_all(x in shape().prop_flat_map(tensor)) {
        prop_assume!(all_distinct(x.as_slice(), 1e-3));
        let report = check(&[x], |_g, v| v[0].max());
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn max_axis((x, axis, keepdim) in tensor_and_axis()) {
        prop_assume!(all_distinct(x.as_slice(), 1e-3));
        let report = check(&[x], |_g, v| match axis {
            Some(a) => v[0].max_axis(a, keepdim),
            None => v[0].max(),
        });
        prop_assert!(report.passed, "{}", report);
    }
}

#[test]
fn max_splits_the_gradient_evenly_between_ties() {
    let g = Graph::new();
    let x = g.param(Tensor::from_vec(
        vec![3.0f64, 1.0, 3.0, 3.0, 2.0, 0.0],
        &[2, 3],
    ));
    let grads = x.max_axis(1, false).sum().backward();
    assert_eq!(grads[x].to_vec(), vec![0.5, 0.0, 0.5, 1.0, 0.0, 0.0]);
    let grads = x.max().backward();
    let third = 1.0 / 3.0;
    assert_eq!(grads[x].to_vec(), vec![third, 0.0, third, third, 0.0, 0.0]);
}

#[test]
fn keepdim_keeps_the_axis_with_length_one() {
    let g = Graph::new();
    let x = g.input(Tensor::<f64>::zeros(&[2, 3, 4]));
    assert_eq!(x.sum_axis(1, true).shape().as_slice(), &[2, 1, 4]);
    assert_eq!(x.mean_axis(-1, false).shape().as_slice(), &[2, 3]);
    assert_eq!(x.max_axis(0, true).shape().as_slice(), &[1, 3, 4]);
}
