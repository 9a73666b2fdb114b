//! The graph and the backward sweep: fan-out accumulation, detach, gradients that must be
//! exactly zero, what gets a gradient, and the messages of shape-mismatch panics.

use std::cell::Cell;
use std::panic::{catch_unwind, UnwindSafe};

use chainrule_autodiff::{BackwardOptions, Graph, Tensor};

#[test]
fn micrograd_example_gives_the_hand_computed_gradients() {
    let g = Graph::new();
    let a = g.scalar(2.0);
    let b = g.scalar(-3.0);
    let c = a * b + a;
    let grads = c.backward();
    assert_eq!(c.item(), -4.0);
    assert_eq!(grads[a].item(), -2.0);
    assert_eq!(grads.wrt(b).item(), 2.0);
}

#[test]
fn micrograd_sanity_check_matches_its_published_values() {
    // micrograd's test_sanity_check, whose expected values come from PyTorch.
    let g = Graph::new();
    let x = g.scalar(-4.0f64);
    let z = 2.0 * x + 2.0 + x;
    let q = z.relu() + z * x;
    let h = (z * z).relu();
    let y = h + q + q * x;
    let grads = y.backward();
    assert_eq!(y.item(), -20.0);
    assert_eq!(grads[x].item(), 46.0);
}

#[test]
fn micrograd_more_ops_match_pytorch() {
    // micrograd's test_more_ops: values and gradient taken from PyTorch.
    let g = Graph::new();
    let a = g.scalar(-4.0f64);
    let b = g.scalar(2.0f64);
    let mut c = a + b;
    let mut d = a * b + b.powf(3.0);
    c = c + c + 1.0;
    c = c + 1.0 + c + (-a);
    d = d + d * 2.0 + (b + a).relu();
    d = d + 3.0 * d + (b - a).relu();
    let e = c - d;
    let f = e.powf(2.0);
    let mut g2 = f / 2.0;
    g2 = g2 + 10.0 / f;
    let grads = g2.backward();
    assert!((g2.item() - 24.70408163265306).abs() < 1e-9);
    assert!((grads[a].item() - 138.83381924198252).abs() < 1e-9);
    assert!((grads[b].item() - 645.5772594752186).abs() < 1e-9);
}

#[test]
fn a_var_used_several_times_sums_its_contributions() {
    let g = Graph::new();
    let x = g.param(Tensor::from_vec(vec![1.5f64, -2.0], &[2]));
    // y = x + x·x + exp(x): three uses of x (four edges).
    let y = (x + x * x + x.exp()).sum();
    let grads = y.backward();
    let expected: Vec<f64> = [1.5f64, -2.0]
        .iter()
        .map(|v| 1.0 + 2.0 * v + v.exp())
        .collect();
    assert_eq!(grads[x].to_vec(), expected);
}

#[test]
fn detach_stops_the_gradient() {
    let g = Graph::new();
    let x = g.scalar(3.0f64);
    let y = x * x.detach() + x.detach().exp();
    assert_eq!(y.backward()[x].item(), 3.0);
}

#[test]
fn gradients_that_must_be_zero_are_exactly_zero() {
    let g = Graph::new();
    let x = g.param(Tensor::from_vec(vec![-1.0f64, -0.5, 2.0], &[3]));
    let unused = g.param(Tensor::from_vec(vec![7.0f64, 8.0], &[2]));
    let loss = x.relu().sum() + (x - x).sum() * 5.0;
    let grads = loss.backward();
    assert_eq!(grads[x].to_vec(), vec![0.0, 0.0, 1.0]);
    // A parameter the loss does not depend on gets zeros, as in micrograd.
    assert_eq!(grads[unused].to_vec(), vec![0.0, 0.0]);
}

#[test]
fn inputs_and_constants_get_no_gradient_and_intermediates_only_on_request() {
    let g = Graph::new();
    let w = g.scalar(2.0f64);
    let x = g.input(Tensor::scalar(3.0));
    let c = g.constant(Tensor::scalar(4.0));
    let h = w * x;
    let loss = h * c;
    let grads = loss.backward();
    assert_eq!(grads[w].item(), 12.0);
    assert!(grads.get(x).is_none());
    assert!(grads.get(c).is_none());
    assert!(grads.get(h).is_none());
    let all = loss.backward_with(BackwardOptions {
        retain_all: true,
        ..Default::default()
    });
    assert_eq!(all[h].item(), 4.0);
    assert!(all.get(x).is_none());
}

#[test]
fn nodes_that_lead_to_no_parameter_are_not_visited() {
    let g = Graph::new();
    let w = g.scalar(1.0f64);
    let data = g.input(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    // A side computation on data alone: its gradient would be needed by nothing.
    let side = data.exp().sum();
    assert!(!side.requires_grad());
    let loss = w * side;
    assert!(loss.requires_grad());
    let grads = loss.backward_with(BackwardOptions {
        retain_all: true,
        ..Default::default()
    });
    assert!(
        grads.get(side).is_none(),
        "the sweep skipped the side computation"
    );
    assert_eq!(grads[w].item(), 1f64.exp() + 2f64.exp());
}

#[test]
fn broadcasting_gradients_are_summed_back_to_the_input_shape() {
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(
        vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0],
        &[2, 3],
    ));
    let b = g.param(Tensor::from_vec(vec![0.0, 0.0, 0.0], &[3]));
    let s = g.param(Tensor::scalar(2.0));
    let grads = ((x + b) * s).sum().backward();
    assert_eq!(grads[b].to_vec(), vec![4.0, 4.0, 4.0]);
    assert_eq!(grads[s].item(), 21.0);
}

thread_local! {
    /// The line the next expected panic should name (tests run on threads of their own).
    static EXPECTED_LINE: Cell<u32> = const { Cell::new(0) };
}

/// The message of the panic `f` raises.
fn panic_message(f: impl FnOnce() + UnwindSafe) -> String {
    let payload = catch_unwind(f).expect_err("the op should have panicked");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn assert_names(message: &str, parts: &[&str]) {
    let line = format!("engine.rs:{}", EXPECTED_LINE.get());
    for part in parts.iter().copied().chain([line.as_str()]) {
        assert!(message.contains(part), "{message:?} does not name {part:?}");
    }
}

#[test]
fn shape_mismatch_in_add_names_the_op_both_shapes_and_the_caller() {
    let message = panic_message(|| {
        let g = Graph::new();
        let a = g.input(Tensor::<f64>::zeros(&[2, 3]));
        let b = g.input(Tensor::<f64>::zeros(&[4]));
        EXPECTED_LINE.set(line!() + 1);
        let _ = a + b;
    });
    assert_names(&message, &["add", "[2, 3]", "[4]"]);
}

#[test]
fn shape_mismatch_in_matmul_names_the_op_both_shapes_and_the_caller() {
    let message = panic_message(|| {
        let g = Graph::new();
        let a = g.input(Tensor::<f32>::zeros(&[2, 3]));
        let b = g.input(Tensor::<f32>::zeros(&[4, 5]));
        EXPECTED_LINE.set(line!() + 1);
        let _ = a.matmul(b);
    });
    assert_names(&message, &["matmul", "[2, 3]", "[4, 5]"]);
}

#[test]
fn shape_mismatch_in_reshape_and_concat_names_the_op_and_the_caller() {
    let message = panic_message(|| {
        let g = Graph::new();
        let a = g.input(Tensor::<f64>::zeros(&[2, 3]));
        EXPECTED_LINE.set(line!() + 1);
        let _ = a.reshape(&[4]);
    });
    assert_names(&message, &["reshape", "[2, 3]", "[4]"]);

    let message = panic_message(|| {
        let g = Graph::new();
        let a = g.input(Tensor::<f64>::zeros(&[2, 3]));
        let b = g.input(Tensor::<f64>::zeros(&[2, 4]));
        EXPECTED_LINE.set(line!() + 1);
        let _ = chainrule_autodiff::Var::concat(&[a, b], 0);
    });
    assert_names(&message, &["concat", "[2, 3]", "[2, 4]"]);
}

#[test]
fn clamp_with_min_above_max_names_both_bounds_and_the_caller() {
    // One inline element and a tensor of several take different paths through the op.
    for shape in [&[][..], &[5]] {
        let message = panic_message(|| {
            let g = Graph::new();
            let x = g.input(Tensor::<f64>::zeros(shape));
            EXPECTED_LINE.set(line!() + 1);
            let _ = x.clamp(2.0, 1.0);
        });
        assert_names(&message, &["clamp: min 2 is greater than max 1"]);
    }
}

#[test]
fn backward_from_a_non_scalar_says_to_reduce_first() {
    let message = panic_message(|| {
        let g = Graph::new();
        let w = g.param(Tensor::<f64>::zeros(&[3]));
        EXPECTED_LINE.set(line!() + 1);
        let _ = (w * 2.0).backward();
    });
    assert_names(&message, &["backward", "[3]", "sum or mean"]);
}

#[test]
fn first_non_finite_names_the_op_that_made_the_nan() {
    let g = Graph::new();
    let x = g.param(Tensor::from_vec(vec![1.0f64, -1.0], &[2]));
    let y = x.exp() + x.sqrt();
    let _loss = y.sum();
    let bad = g.first_non_finite().expect("sqrt(-1) is NaN");
    assert_eq!(bad.op, "sqrt");
}

#[test]
fn f32_graphs_work_the_same_way() {
    let g = Graph::new();
    let w = g.param(Tensor::from_vec(vec![0.5f32, -0.5], &[2]));
    let loss = (w * w * 3.0f32).sum();
    assert_eq!(loss.backward()[w].to_vec(), vec![3.0f32, -3.0]);
}
