//! The whole-sequence LSTM ops (`LstmSequence` and `LstmStates`) with their steps' cells cut by
//! rows over several threads give exactly what one thread gives, forward and backward: batches that divide evenly among the
//! threads and batches that do not, and a batch of one row.
//!
//! A test binary of its own, because it changes the process-wide thread count and split
//! threshold: `set_split_work(0)` splits every product, and with it every cell, at sizes small
//! enough for a test.

mod common;

use chainrule_autodiff::{set_num_threads, set_split_work, CustomOp, Tensor};
use chainrule_layers::{LstmSequence, LstmStates};

/// Both ops' values and the gradients of all six inputs, for random inputs of the given sizes
/// (`LstmStates`' upstream gradient is `0.5 − states`).
fn forward_and_backward(batch: usize, hidden: usize, seed: u64) -> Vec<Tensor<f64>> {
    let (inputs, grad) = common::lstm_sequence_inputs([batch, 4, 3, hidden], seed);
    let refs: Vec<&Tensor<f64>> = inputs.iter().collect();
    let y = LstmSequence.forward(&refs);
    let grads = LstmSequence.backward(&refs, &y, &grad, &[true; 6]);
    let states_op = LstmStates::new();
    let states = states_op.forward(&refs);
    let states_grad = states.map(|v| 0.5 - v);
    let states_grads = states_op.backward(&refs, &states, &states_grad, &[true; 6]);
    [y, states]
        .into_iter()
        .chain(
            grads
                .into_iter()
                .chain(states_grads)
                .map(|g| g.expect("every input wants a gradient")),
        )
        .collect()
}

#[test]
fn cells_split_by_rows_match_one_thread() {
    for (batch, hidden) in [(6, 5), (7, 3), (1, 4), (2, 8)] {
        set_num_threads(1);
        set_split_work(chainrule_autodiff::DEFAULT_SPLIT_WORK);
        let one = forward_and_backward(batch, hidden, 7);
        for threads in [2, 3] {
            set_num_threads(threads);
            set_split_work(0);
            let many = forward_and_backward(batch, hidden, 7);
            for (k, (a, b)) in many.iter().zip(&one).enumerate() {
                let what = format!("batch {batch}, hidden {hidden}, {threads} threads, tensor {k}");
                assert_eq!(a.shape(), b.shape(), "{what}");
                for (i, (x, y)) in a.as_slice().iter().zip(b.as_slice()).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                        "{what}, element {i}: {x} on {threads} threads, {y} on 1"
                    );
                }
            }
        }
    }
}
