//! Shared strategies and checks for the op tests: random shapes (rank 0 to 4), broadcasting
//! pairs, values kept away from kinks and poles, and a gradcheck that weights the output so the
//! upstream gradient is not all ones.

#![allow(dead_code)] // each test file uses its own subset

use chainrule_autodiff::{gradcheck, GradcheckOptions, GradcheckReport, Graph, Tensor, Var};
use proptest::prelude::*;

/// Proptest cases per op: enough to cover ranks 0–4 and broadcasting, small enough for CI.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    }
}

/// A shape of rank 0 to 4 with axes of length 1 to 3.
pub fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=3, 0..=4)
}

/// A shape of the given rank range with axes of length 1 to 3.
pub fn shape_of_rank(ranks: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=3, ranks)
}

/// Two shapes that broadcast together: derived from one output shape by dropping leading axes
/// and setting some axes to 1 on either side.
pub fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape().prop_flat_map(|out| {
        let rank = out.len();
        (
            Just(out),
            0..=rank,
            0..=rank,
            prop::collection::vec(any::<bool>(), rank),
            prop::collection::vec(any::<bool>(), rank),
        )
            .prop_map(|(out, drop_a, drop_b, ones_a, ones_b)| {
                let derive = |drop: usize, ones: &[bool]| -> Vec<usize> {
                    out.iter()
                        .zip(ones)
                        .skip(drop)
                        .map(|(&n, &one)| if one { 1 } else { n })
                        .collect()
                };
                (derive(drop_a, &ones_a), derive(drop_b, &ones_b))
            })
    })
}

/// A tensor of the given shape with values in `[low, high]`.
pub fn tensor_in(shape: Vec<usize>, low: f64, high: f64) -> impl Strategy<Value = Tensor<f64>> {
    let n = shape.iter().product::<usize>();
    prop::collection::vec(low..=high, n).prop_map(move |v| Tensor::from_vec(v, &shape))
}

/// A tensor with values in `[-2, 2]`.
pub fn tensor(shape: Vec<usize>) -> impl Strategy<Value = Tensor<f64>> {
    tensor_in(shape, -2.0, 2.0)
}

/// A tensor whose values keep at least `gap` away from 0 (for relu and abs, whose kink is at 0),
/// with magnitudes up to 2.
pub fn tensor_away_from_zero(shape: Vec<usize>, gap: f64) -> impl Strategy<Value = Tensor<f64>> {
    let n = shape.iter().product::<usize>();
    prop::collection::vec((gap..=2.0, any::<bool>()), n).prop_map(move |v| {
        let values = v
            .into_iter()
            .map(|(m, neg)| if neg { -m } else { m })
            .collect();
        Tensor::from_vec(values, &shape)
    })
}

/// Deterministic, uneven weights for an output of this shape: `sin(1.3·i + 0.7) + 0.1`.
pub fn weights(shape: &[usize]) -> Tensor<f64> {
    let n = shape.iter().product::<usize>();
    let values = (0..n).map(|i| (1.3 * i as f64 + 0.7).sin() + 0.1).collect();
    Tensor::from_vec(values, shape)
}

/// `Σ wᵢ·yᵢ` with fixed uneven weights: a scalar whose upstream gradient differs per element,
/// so a rule that routes gradients to the wrong element cannot pass by symmetry.
pub fn weighted_sum<'g>(g: &'g Graph<f64>, y: Var<'g, f64>) -> Var<'g, f64> {
    let w = g.constant(weights(&y.shape()));
    (y * w).sum()
}

/// Gradchecks `op` composed with [`weighted_sum`] at the given inputs.
pub fn check<F>(inputs: &[Tensor<f64>], op: F) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    gradcheck(
        |g, v| weighted_sum(g, op(g, v)),
        inputs,
        GradcheckOptions::default(),
    )
}

/// Gradchecks the gradient of `op`: the checked function is `Σ w·∂(Σ w·op)/∂x` computed with
/// `backward_create_graph`, so gradcheck compares the second-order backward with finite
/// differences of the recorded first-order gradient.
pub fn check_second_order<F>(inputs: &[Tensor<f64>], op: F) -> GradcheckReport
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    gradcheck(
        |g, v| {
            let y = weighted_sum(g, op(g, v));
            let grads = y.backward_create_graph();
            v.iter()
                .map(|&x| weighted_sum(g, grads.wrt(x)))
                .reduce(|a, b| a + b)
                .expect("one input at least")
        },
        inputs,
        GradcheckOptions::default(),
    )
}

/// Whether every pair of values differs by more than `gap` (no ties near a max or a kink).
pub fn all_distinct(values: &[f64], gap: f64) -> bool {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.windows(2).all(|w| w[1] - w[0] > gap)
}
