//! matmul through gradcheck: 2-D, batched 3-D, a 2-D right operand shared by a batch, and every
//! combination of the transpose flags; and the product with a bias (`matmul_bias`).

mod common;

use chainrule_autodiff::{Graph, Tensor};
use common::*;
use proptest::prelude::*;
use rand::SeedableRng;

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
    fn matmul_with_a_bias_2d_batched_and_broadcast((a, b, bias) in (
        1usize..=4, 1usize..=4, 1usize..=4, 1usize..=3, 0..3usize
    ).prop_flat_map(|(m, k, n, b, layout)| {
        let (batch_a, batch_b) = match layout {
            0 => (None, None),
            1 => (Some(b), Some(b)),
            _ => (Some(b), None),
        };
        (
            tensor(operand(batch_a, m, k, false)),
            tensor(operand(batch_b, k, n, false)),
            tensor(vec![n]),
        )
    })) {
        let report = check(&[a, b, bias], |_g, v| v[0].matmul_bias(v[1], v[2]).tanh());
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

#[test]
fn a_bias_in_the_product_gives_what_a_separate_add_gives() {
    // Inner lengths well inside one block of the kernel: the same sums in the same order, so
    // the same bits. Both layouts that take a bias row by row: 2-D, and a batch against one
    // shared matrix; f32 and f64.
    fn compare<T: chainrule_autodiff::Float>(x_shape: &[usize], k: usize, n: usize) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let x0 = Tensor::<T>::rand_normal(x_shape, T::zero(), T::one(), &mut rng);
        let w0 = Tensor::<T>::rand_normal(&[k, n], T::zero(), T::one(), &mut rng);
        let b0 = Tensor::<T>::rand_normal(&[n], T::zero(), T::one(), &mut rng);
        let run = |fused: bool| {
            let g = Graph::new();
            let (x, w, b) = (
                g.param(x0.clone()),
                g.param(w0.clone()),
                g.param(b0.clone()),
            );
            let before = g.len();
            let z = if fused {
                x.matmul_bias(w, b)
            } else {
                x.matmul(w) + b
            };
            let recorded = g.len() - before;
            let grads = (z * z).sum().backward();
            let values = [
                z.value(),
                grads[x].clone(),
                grads[w].clone(),
                grads[b].clone(),
            ];
            (values.map(|t| t.to_vec()), recorded)
        };
        let (fused, fused_nodes) = run(true);
        let (separate, separate_nodes) = run(false);
        assert_eq!(
            (fused_nodes, separate_nodes),
            (1, 2),
            "one node instead of two"
        );
        for (name, (f, s)) in ["z", "∂x", "∂w", "∂b"]
            .iter()
            .zip(fused.iter().zip(&separate))
        {
            assert_eq!(f, s, "{name} for x {x_shape:?}, k {k}, n {n}");
        }
    }
    compare::<f32>(&[32, 64], 64, 128);
    compare::<f32>(&[3, 5, 7], 7, 10);
    compare::<f64>(&[4, 3], 3, 5);
    compare::<f64>(&[2, 6, 9], 9, 1);
}

#[test]
#[should_panic(
    expected = "matmul: the bias has shape [2, 3], but the product of shapes [4, 5] and [5, 3] has 3 columns"
)]
fn a_bias_of_the_wrong_shape_names_both_shapes() {
    let g = Graph::new();
    let x = g.input(Tensor::<f64>::zeros(&[4, 5]));
    let w = g.param(Tensor::zeros(&[5, 3]));
    let b = g.param(Tensor::zeros(&[2, 3]));
    x.matmul_bias(w, b);
}
