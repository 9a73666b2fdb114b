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

/// The first position along `axis` whose value `wins` against every other, found by visiting
/// every element through `Tensor::get`: an oracle independent of the kernel's strided loop.
fn brute_force_arg(x: &Tensor<f64>, axis: usize, wins: impl Fn(f64, f64) -> bool) -> Vec<usize> {
    let mut reduced = x.shape().to_vec();
    let len = reduced.remove(axis);
    let count: usize = reduced.iter().product();
    (0..count)
        .map(|flat| {
            let mut index = Tensor::<f64>::zeros(&reduced).unravel_index(flat);
            index.insert(axis, 0);
            let values: Vec<f64> = (0..len)
                .map(|j| {
                    index[axis] = j;
                    x.get(&index)
                })
                .collect();
            // The first position that nothing beats (`wins` is strict, so ties go first).
            (0..len)
                .find(|&j| values.iter().all(|&other| !wins(other, values[j])))
                .expect("a non-empty axis has a winner")
        })
        .collect()
}

/// A tensor of rank 1 to 4 with small integer values (so ties are common) and one of its axes.
fn tied_tensor_and_axis() -> impl Strategy<Value = (Tensor<f64>, usize)> {
    shape_of_rank(1..=4).prop_flat_map(|s| {
        let rank = s.len();
        (
            tensor_in(s, -2.0, 2.0).prop_map(|t| t.map(f64::round)),
            0..rank,
        )
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn argmax_and_argmin_match_a_brute_force_search((x, axis) in tied_tensor_and_axis()) {
        let argmax = x.argmax(axis as isize);
        prop_assert_eq!(&argmax, &brute_force_arg(&x, axis, |a, b| a > b));
        prop_assert_eq!(x.argmin(axis as isize), brute_force_arg(&x, axis, |a, b| a < b));
        // The layout is gather's: picking the indices gives the maxima.
        prop_assert_eq!(
            x.gather(axis as isize, &argmax, 1).to_vec(),
            x.max_axis(axis as isize, false).to_vec()
        );
        // The var methods read the value and record nothing.
        let g = Graph::new();
        let v = g.param(x.clone());
        prop_assert_eq!(v.argmax(axis as isize - x.rank() as isize), argmax);
        prop_assert_eq!(g.len(), 1);
    }
}

#[test]
fn argmax_and_argmin_count_a_nan_as_the_extreme_as_pytorch_does() {
    let x = Tensor::from_vec(vec![1.0f64, f64::NAN, 5.0, f64::NAN, -1.0, 0.0], &[2, 3]);
    assert_eq!(x.argmax(1), vec![1, 0]);
    assert_eq!(x.argmin(1), vec![1, 0]);
    assert_eq!(x.argmax(0), vec![1, 0, 0]);
}

#[test]
#[should_panic(expected = "argmax: axis 1 of shape [2, 0] is empty")]
fn argmax_of_an_empty_axis_names_the_op_and_the_shape() {
    Tensor::<f64>::zeros(&[2, 0]).argmax(1);
}
