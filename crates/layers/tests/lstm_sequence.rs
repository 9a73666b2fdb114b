//! The whole-sequence LSTM ops — `LstmSequence`, which outputs every step's blocks, and
//! `LstmStates`, which `Lstm` records and which outputs only the states, keeping the blocks
//! for its backward: their values and the gradients of all six inputs against the same
//! sequence unrolled step by step through the fused cell (the graph the engine's generic
//! backward pass walks), their gradients and second derivatives against finite differences,
//! and their tensor rules against the rules they record on graphs.

mod common;

use chainrule_autodiff::{gradcheck, CustomOp, GradcheckOptions, Graph, Tensor, Var};
use chainrule_layers::recurrent::lstm_cell_op::lstm_block;
use chainrule_layers::recurrent::lstm_sequence_op::lstm_state;
use chainrule_layers::{FusedLstmCell, LstmSequence, LstmStates};
use common::{assert_close, weighted_sum};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// A tensor of the given shape with values in `[-scale, scale]`.
fn tensor(shape: Vec<usize>, scale: f64) -> impl Strategy<Value = Tensor<f64>> {
    let n = shape.iter().product::<usize>();
    prop::collection::vec(-scale..=scale, n).prop_map(move |v| Tensor::from_vec(v, &shape))
}

/// `x` `[batch, seq, in]`, `W_x`, `W_h`, bias, `h₀`, `c₀`, for batch, seq, in and hidden from
/// 1 to 3 (seq to 4).
fn sequence_inputs() -> impl Strategy<Value = Vec<Tensor<f64>>> {
    (1usize..=3, 1usize..=4, 1usize..=3, 1usize..=3).prop_flat_map(|(batch, seq, ins, hidden)| {
        (
            tensor(vec![batch, seq, ins], 1.5),
            tensor(vec![ins, 4 * hidden], 1.0),
            tensor(vec![hidden, 4 * hidden], 1.0),
            tensor(vec![4 * hidden], 0.5),
            tensor(vec![batch, hidden], 1.0),
            tensor(vec![batch, hidden], 1.0),
        )
            .prop_map(|(x, w_x, w_h, b, h0, c0)| vec![x, w_x, w_h, b, h0, c0])
    })
}

fn sequence<'g>(v: &[Var<'g, f64>]) -> Var<'g, f64> {
    Var::custom(LstmSequence, v)
}

fn states<'g>(v: &[Var<'g, f64>]) -> Var<'g, f64> {
    Var::custom(LstmStates::new(), v)
}

/// The same states from the sequence unrolled: the new hidden and cell states of every step,
/// `[seq, 2, batch, hidden]`.
fn unrolled_states<'g>(v: &[Var<'g, f64>]) -> Var<'g, f64> {
    let blocks = unrolled(v);
    let shape = blocks.shape();
    let (seq, batch, hidden) = (shape[0], shape[1], shape[3]);
    let take = |k: usize| blocks.narrow(2, k, 1).reshape(&[seq, 1, batch, hidden]);
    // Along axis 1 in `lstm_state`'s order: h, then c.
    assert_eq!(
        (lstm_state::HIDDEN, lstm_state::CELL, lstm_state::COUNT),
        (0, 1, 2)
    );
    Var::concat(&[take(lstm_block::HIDDEN), take(lstm_block::CELL)], 1)
}

/// The same blocks from the sequence unrolled: two products and the fused cell per step,
/// stacked time-major.
fn unrolled<'g>(v: &[Var<'g, f64>]) -> Var<'g, f64> {
    let [x, w_x, w_h, b, h0, c0] = [v[0], v[1], v[2], v[3], v[4], v[5]];
    let (batch, seq, ins) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let hidden = h0.shape()[1];
    let (mut h, mut c) = (h0, c0);
    let mut steps = Vec::new();
    for t in 0..seq {
        let x_t = x.narrow(1, t, 1).reshape(&[batch, ins]);
        let blocks = Var::custom(FusedLstmCell, &[x_t.matmul(w_x), h.matmul(w_h), b, c]);
        let take = |k: usize| blocks.narrow(1, k, 1).reshape(&[batch, hidden]);
        (h, c) = (take(lstm_block::HIDDEN), take(lstm_block::CELL));
        steps.push(blocks);
    }
    Var::stack(&steps, 0)
}

/// A way to build the sequence's output from its six input vars.
type Build = for<'g> fn(&[Var<'g, f64>]) -> Var<'g, f64>;

/// `op` and `reference` on the same inputs give the same values, and the same gradient of a
/// weighted sum for every input (to `tolerance`); `case` names the inputs in a failure.
fn assert_matches(inputs: &[Tensor<f64>], op: Build, reference: Build, tolerance: f64, case: &str) {
    let g = Graph::new();
    let v: Vec<_> = inputs.iter().map(|t| g.param(t.clone())).collect();
    let (a, b) = (op(&v), reference(&v));
    assert_eq!(a.shape(), b.shape(), "{case}");
    assert_close(a.value().as_slice(), b.value().as_slice(), 1e-12);
    let (ga, gb) = (weighted_sum(a).backward(), weighted_sum(b).backward());
    for (k, &p) in v.iter().enumerate() {
        assert_eq!(ga[p].shape(), inputs[k].shape(), "{case}, input {k}");
        assert_close(ga[p].as_slice(), gb[p].as_slice(), tolerance);
    }
}

/// Gradcheck of the second derivatives through `op`: of the sum of each input's weighted
/// gradient, recorded with `backward_create_graph`.
fn second_derivatives(inputs: &[Tensor<f64>], op: Build) -> chainrule_autodiff::GradcheckReport {
    gradcheck(
        |_g, v| {
            let grads = weighted_sum(op(v)).backward_create_graph();
            v.iter()
                .map(|&x| weighted_sum(grads.wrt(x)))
                .reduce(|a, b| a + b)
                .expect("six inputs")
        },
        inputs,
        GradcheckOptions::default(),
    )
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn sequence_matches_the_unrolled_cells(inputs in sequence_inputs()) {
        assert_matches(&inputs, sequence, unrolled, 1e-10, "random inputs");
    }

    #[test]
    fn states_match_the_unrolled_cells(inputs in sequence_inputs()) {
        assert_matches(&inputs, states, unrolled_states, 1e-10, "random inputs");
    }

    #[test]
    fn states_gradients_match_finite_differences(inputs in sequence_inputs()) {
        let report = gradcheck(
            |_g, v| weighted_sum(states(v)),
            &inputs,
            GradcheckOptions::default(),
        );
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn sequence_gradients_match_finite_differences(inputs in sequence_inputs()) {
        let report = gradcheck(
            |_g, v| weighted_sum(sequence(v)),
            &inputs,
            GradcheckOptions::default(),
        );
        prop_assert!(report.passed, "{}", report);
    }
}

proptest! {
    // Second derivatives record the whole backward on the graph: fewer, still random, cases.
    #![proptest_config(config(12))]

    #[test]
    fn sequence_second_derivatives_match_finite_differences(inputs in sequence_inputs()) {
        let report = second_derivatives(&inputs, sequence);
        prop_assert!(report.passed, "{}", report);
    }

    #[test]
    fn states_second_derivatives_match_finite_differences(inputs in sequence_inputs()) {
        let report = second_derivatives(&inputs, states);
        prop_assert!(report.passed, "{}", report);
    }
}

/// Random inputs and an upstream gradient of the `[seq, batch, 8, hidden]` output.
fn inputs_and_gradient(seed: u64) -> (Vec<Tensor<f64>>, Tensor<f64>) {
    common::lstm_sequence_inputs([3, 4, 2, 5], seed)
}

/// `op`'s tensor rule against the rule it records on vars, at `inputs` and upstream `grad`,
/// for each input wanted alone and for all six.
fn tensor_rule_matches_the_recorded_rule(
    op: &dyn CustomOp<f64>,
    inputs: &[Tensor<f64>],
    grad: &Tensor<f64>,
) {
    let refs: Vec<&Tensor<f64>> = inputs.iter().collect();
    let y = op.forward(&refs);
    let g = Graph::new();
    let vars: Vec<_> = inputs.iter().map(|t| g.constant(t.clone())).collect();
    let mut subsets: Vec<[bool; 6]> = (0..6).map(|k| std::array::from_fn(|j| j == k)).collect();
    subsets.push([true; 6]);
    for wants in subsets {
        let fast = op.backward(&refs, &y, grad, &wants);
        let recorded = op
            .backward_graph(
                &vars,
                g.constant(y.clone()),
                g.constant(grad.clone()),
                &wants,
            )
            .expect("the sequence ops have a rule on vars");
        for k in 0..6 {
            assert_eq!(fast[k].is_some(), wants[k], "tensors: {wants:?}, input {k}");
            assert_eq!(
                recorded[k].is_some(),
                wants[k],
                "vars: {wants:?}, input {k}"
            );
            if let (Some(fast), Some(recorded)) = (&fast[k], recorded[k]) {
                assert_eq!(fast.shape(), inputs[k].shape(), "input {k}");
                assert_close(fast.as_slice(), recorded.value().as_slice(), 1e-12);
            }
        }
    }
    assert!(op
        .backward(&refs, &y, grad, &[false; 6])
        .iter()
        .all(Option::is_none));
}

#[test]
fn tensor_rule_matches_the_recorded_rule_for_every_subset_wanted() {
    let (inputs, grad) = inputs_and_gradient(3);
    tensor_rule_matches_the_recorded_rule(&LstmSequence, &inputs, &grad);
}

/// An upstream gradient of `LstmStates`' output for `inputs`: `[seq, 2, batch, hidden]`.
fn states_gradient(inputs: &[Tensor<f64>], seed: u64) -> Tensor<f64> {
    use rand::SeedableRng;
    let (x, h0) = (inputs[0].shape(), inputs[4].shape());
    let shape = [x[1], lstm_state::COUNT, x[0], h0[1]];
    Tensor::rand_normal(
        &shape,
        0.0,
        1.0,
        &mut rand::rngs::StdRng::seed_from_u64(seed),
    )
}

#[test]
fn states_tensor_rule_matches_the_recorded_rule_for_every_subset_wanted() {
    let (inputs, _) = inputs_and_gradient(4);
    let grad = states_gradient(&inputs, 5);
    tensor_rule_matches_the_recorded_rule(&LstmStates::new(), &inputs, &grad);
}

#[test]
fn states_keep_their_blocks_for_their_own_output_only() {
    // A gradient check runs an op's forward again on other values between the forward and the
    // backward of the graph; the op's backward must then still differentiate at the output
    // it is handed, computing its blocks afresh.
    let (inputs, _) = inputs_and_gradient(6);
    let (other, _) = inputs_and_gradient(7);
    let grad = states_gradient(&inputs, 8);
    let refs: Vec<&Tensor<f64>> = inputs.iter().collect();
    let other_refs: Vec<&Tensor<f64>> = other.iter().collect();
    let fresh = LstmStates::new();
    let expected = fresh.backward(&refs, &fresh.forward(&refs), &grad, &[true; 6]);
    let op = LstmStates::new();
    let y = op.forward(&refs);
    let y_other = op.forward(&other_refs);
    assert_ne!(y.as_slice(), y_other.as_slice());
    let after_rerun = op.backward(&refs, &y, &grad, &[true; 6]);
    for (k, (a, b)) in after_rerun.iter().zip(&expected).enumerate() {
        let (a, b) = (a.as_ref().expect("wanted"), b.as_ref().expect("wanted"));
        assert_eq!(a.as_slice(), b.as_slice(), "input {k}");
    }
}

/// `LstmStates`' output and all six gradients for random inputs of sizes `[batch, seq, in,
/// hidden]`, through a graph built and dropped here.
fn states_run(sizes: [usize; 4], seed: u64) -> Vec<Tensor<f64>> {
    let (inputs, _) = common::lstm_sequence_inputs(sizes, seed);
    let g = Graph::new();
    let v: Vec<_> = inputs.iter().map(|t| g.param(t.clone())).collect();
    let y = states(&v);
    let grads = weighted_sum(y).backward();
    std::iter::once(y.value().clone())
        .chain(v.iter().map(|&p| grads[p].clone()))
        .collect()
}

#[test]
fn buffers_kept_from_earlier_sequences_change_nothing() {
    // The op keeps its blocks and gate gradients per thread for the next sequence, which
    // writes over them without zeroing: after a longer and a shorter sequence, a run must give
    // exactly what it gives on a thread that has kept nothing.
    let sizes = [3, 4, 2, 5];
    let fresh = std::thread::spawn(move || states_run(sizes, 9))
        .join()
        .expect("a fresh thread");
    for earlier in [[4, 6, 3, 7], [2, 2, 2, 3], [3, 4, 2, 5]] {
        states_run(earlier, 10);
        let again = states_run(sizes, 9);
        for (k, (a, b)) in again.iter().zip(&fresh).enumerate() {
            assert_eq!(a.as_slice(), b.as_slice(), "after {earlier:?}: tensor {k}");
        }
    }
}

#[test]
#[should_panic(expected = "lstm_sequence: sequence [2, 3, 4], weights [4, 8] and [3, 12]")]
fn mismatched_weights_name_every_shape() {
    let g = Graph::<f64>::new();
    let shapes: [&[usize]; 6] = [&[2, 3, 4], &[4, 8], &[3, 12], &[12], &[2, 3], &[2, 3]];
    let vars: Vec<_> = shapes.iter().map(|s| g.input(Tensor::zeros(s))).collect();
    sequence(&vars);
}

#[test]
fn empty_batches_inputs_and_hidden_sizes_match_the_unrolled_cells() {
    // (batch, seq, in, hidden) with one size zero: the op's products and buffers are empty
    // or have an empty inner dimension, and it must agree with the unrolled graph all the same.
    for (batch, seq, ins, hidden) in [(0, 3, 2, 2), (2, 3, 0, 2), (2, 3, 2, 0), (2, 1, 0, 3)] {
        let shapes = [
            vec![batch, seq, ins],
            vec![ins, 4 * hidden],
            vec![hidden, 4 * hidden],
            vec![4 * hidden],
            vec![batch, hidden],
            vec![batch, hidden],
        ];
        let inputs: Vec<Tensor<f64>> = shapes
            .iter()
            .enumerate()
            .map(|(k, shape)| {
                let n = shape.iter().product::<usize>();
                let values = (0..n).map(|i| ((i * 7 + k * 3) % 11) as f64 / 11.0 - 0.4);
                Tensor::from_vec(values.collect(), shape)
            })
            .collect();
        let case = format!("(batch, seq, in, hidden) = {:?}", (batch, seq, ins, hidden));
        assert_matches(&inputs, sequence, unrolled, 1e-12, &case);
        assert_matches(&inputs, states, unrolled_states, 1e-12, &case);
    }
}
