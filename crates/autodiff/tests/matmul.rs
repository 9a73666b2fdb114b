//! matmul through gradcheck: 2-D, batched 3-D, a 2-D right operand shared by a batch, and every
//! combination of the transpose flags.

mod common;

use chainrule_autodiff::{Graph, Tensor};
use common::*;
use proptest::prelude::*;

/// The shape of an operand with optional batch axis, stored transposed when `transposed`.
fn operand(batch: Option<usize>, rows: usize, cols: usize, transposed: bool) -> Vec<usize> {
    let (r, c) = if transposed {
        (cols, rows)
    } else {
        (rows, cols)
    };
    batch.into_iter().chain([r, c]).collect()
}

/// (A, B, transpose_a, transpose_b) for one of the three supported layouts.
fn matmul_case() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>, bool, bool)> {
    (
        1usize..=4,
        1usize..=4,
        1usize..=4,
        1usize..=3,
        0..3usize,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(m, k, n, b, layout, ta, tb)| {
            let (batch_a, batch_b) = match layout {
                0 => (None, None),       // [m,k]·[k,n]
                1 => (Some(b), Some(b)), // [b,m,k]·[b,k,n]
                _ => (Some(b), None),    // [b,m,k]·[k,n]
            };
            (
                tensor(operand(batch_a, m, k, ta)),
                tensor(operand(batch_b, k, n, tb)),
                Just(ta),
                Just(tb),
            )
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn matmul_2d_batched_and_broadcast((a, b, ta, tb) in matmul_case()) {
        let report = check(&[a, b], |_g, v| v[0].matmul_t(v[1], ta, tb));
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn matmul_chain_of_three((a, b, c) in (1usize..=3, 1usize..=3, 1usize..=3).prop_flat_map(
        |(m, k, n)| (tensor(vec![m, k]), tensor(vec![k, n]), tensor(vec![n, m]))
    )) {
        let report = check(&[a, b, c], |_g, v| v[0].matmul(v[1]).matmul(v[2]).tanh());
        prop_assert!(report.passed, "{}", report);
    }
}

#[test]
fn matmul_values_match_a_hand_computed_product() {
    let g = Graph::new();
    let a = g.input(Tensor::from_vec(
        vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0],
        &[2, 3],
    ));
    let b = g.input(Tensor::from_vec(
        vec![7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
        &[3, 2],
    ));
    assert_eq!(a.matmul(b).value().to_vec(), vec![58.0, 64.0, 139.0, 154.0]);
    assert_eq!(
        a.matmul_t(a, false, true).value().to_vec(),
        vec![14.0, 32.0, 32.0, 77.0]
    );
}
