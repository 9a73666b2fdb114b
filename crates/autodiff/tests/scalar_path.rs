//! The backward sweep's scalar path: elementwise nodes whose values are single numbers have
//! their rule applied to the numbers themselves, not to tensors. These tests hold it to the
//! tensor path (which the traced backward always takes, because its observer watches every
//! step) and to finite differences, over random expressions of every elementwise op, with
//! one-element operands of different ranks mixed by broadcasting.

use chainrule_autodiff::{gradcheck, GradcheckOptions, Graph, Tensor, Var};
use proptest::prelude::*;

/// One step of a random expression: which op, and which earlier values it reads.
#[derive(Clone, Debug)]
struct Step {
    op: usize,
    a: usize,
    b: usize,
    constant: f64,
}

const OPS: usize = 17;

/// Builds the expression over `leaves`: every step appends one value; the result is the sum of
/// all values, so every step reaches the loss (some through several paths).
fn expression<'g>(leaves: &[Var<'g, f64>], steps: &[Step]) -> Var<'g, f64> {
    let mut values: Vec<Var<'g, f64>> = leaves.to_vec();
    for step in steps {
        let a = values[step.a % values.len()];
        let b = values[step.b % values.len()];
        // Keep arguments where every op is smooth: ln, sqrt, pow and division see positive
        // inputs bounded away from zero.
        let positive = |v: Var<'g, f64>| v.tanh() * 0.5 + 1.0;
        let c = step.constant;
        let value = match step.op {
            0 => a + b,
            1 => a - b,
            2 => a * b,
            3 => a / positive(b),
            4 => positive(a).pow(b.tanh()),
            5 => a.maximum(b * 0.5 + 0.25),
            6 => a.minimum(b * 0.5 + 0.25),
            7 => -a,
            8 => (a * 0.3).exp(),
            9 => positive(a).ln(),
            10 => positive(a).sqrt(),
            11 => (a + 0.1).abs(),
            12 => a.tanh(),
            13 => a.sigmoid(),
            14 => (a + 0.05).relu(),
            15 => positive(a).powf(c),
            _ => (a * c + c).clamp(-0.7, 0.9),
        };
        values.push(value);
    }
    values
        .into_iter()
        .reduce(|sum, v| sum + v)
        .expect("at least one leaf")
        .sum()
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (0..OPS, 0..64usize, 0..64usize, -1.5..1.5f64).prop_map(|(op, a, b, constant)| Step {
            op,
            a,
            b,
            constant,
        }),
        1..24,
    )
}

/// One-element leaves of ranks 0 to 2, so that broadcasting mixes them and the gradients must
/// come back in each leaf's own shape.
fn leaves() -> impl Strategy<Value = Vec<Tensor<f64>>> {
    let shapes: [&[usize]; 3] = [&[], &[1], &[1, 1]];
    prop::collection::vec((0..3usize, -1.5..1.5f64), 1..5).prop_map(move |leaves| {
        leaves
            .into_iter()
            .map(|(rank, value)| Tensor::from_vec(vec![value], shapes[rank]))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The scalar path gives exactly the tensor path's numbers, in each leaf's shape.
    #[test]
    fn scalar_path_matches_tensor_path(leaf_values in leaves(), steps in steps()) {
        let g = Graph::new();
        let leaves: Vec<_> = leaf_values.iter().map(|t| g.param(t.clone())).collect();
        let loss = expression(&leaves, &steps);
        let fast = loss.backward();
        let (traced, _trace) = loss.backward_traced();
        for (&leaf, value) in leaves.iter().zip(&leaf_values) {
            prop_assert_eq!(fast[leaf].shape(), value.shape());
            prop_assert_eq!(fast[leaf].to_vec(), traced[leaf].to_vec());
        }
    }

    /// And both agree with central finite differences.
    #[test]
    fn scalar_path_matches_finite_differences(leaf_values in leaves(), steps in steps()) {
        let report = gradcheck(
            |_g, vars| expression(vars, &steps),
            &leaf_values,
            GradcheckOptions::default(),
        );
        prop_assert!(report.passed, "{}", report);
    }
}

/// A node used both by scalar ops and by a broadcasting tensor op gathers both kinds of
/// contribution into one gradient.
#[test]
fn scalar_and_tensor_contributions_add_up() {
    let g = Graph::new();
    let s = g.scalar(0.5f64);
    let v = g.param(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]));
    // ∂/∂s of (s·s + Σ(v·s)) = 2s + Σv = 1 + 6.
    let loss = s * s + (v * s).sum();
    let grads = loss.backward();
    assert_eq!(grads[s].item(), 7.0);
    assert_eq!(grads[s].shape(), &[] as &[usize]);
    assert_eq!(grads[v].to_vec(), vec![0.5, 0.5, 0.5]);
}
