//! The checks themselves: outputs of any shape, functions that depend on nothing, relative
//! errors that mean something, and second derivatives (`gradgradcheck`) catching a rule that is
//! right in first order and wrong in second.

use chainrule_autodiff::{gradcheck, gradgradcheck, CustomOp, GradcheckOptions, Tensor, Var};

fn x() -> Tensor<f64> {
    Tensor::from_vec(vec![0.4, -1.1, 0.7, 2.0], &[2, 2])
}

#[test]
fn a_vector_output_is_checked_through_a_projection() {
    let report = gradcheck(|_, v| v[0].softmax(-1), &[x()], GradcheckOptions::default());
    assert!(report.passed, "{report}");
    assert_eq!(report.elements, 4);
}

/// Softmax whose rule forgets the `− Σ G⊙y` term — invisible through a plain sum, whose
/// upstream gradient is all ones and for which `y ⊙ (1 − Σ y) = 0` happens to be the truth.
struct ForgetfulSoftmax;

impl CustomOp<f64> for ForgetfulSoftmax {
    fn name(&self) -> &'static str {
        "forgetful_softmax"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].softmax(-1)
    }
    fn backward(
        &self,
        _inputs: &[&Tensor<f64>],
        output: &Tensor<f64>,
        grad: &Tensor<f64>,
        _wants: &[bool],
    ) -> Vec<Option<Tensor<f64>>> {
        let ones = Tensor::ones(grad.shape());
        // y ⊙ (G − 1): right only when G is all ones.
        vec![Some(output.mul(&(grad - &ones)))]
    }
}

#[test]
fn the_projection_catches_an_error_a_sum_hides() {
    let summed = gradcheck(
        |_, v| Var::custom(ForgetfulSoftmax, &[v[0]]).sum(),
        &[x()],
        GradcheckOptions::default(),
    );
    assert!(summed.passed, "a plain sum cannot see this bug: {summed}");
    let projected = gradcheck(
        |_, v| Var::custom(ForgetfulSoftmax, &[v[0]]),
        &[x()],
        GradcheckOptions::default(),
    );
    assert!(!projected.passed, "{projected}");
    let wrong = projected.wrong_op.expect("the op is named");
    assert_eq!(wrong.op, "forgetful_softmax");
}

#[test]
fn a_function_of_nothing_is_reported_not_a_panic() {
    let report = gradcheck(
        |g, _| g.constant(Tensor::scalar(3.0)),
        &[x()],
        GradcheckOptions::default(),
    );
    assert!(report.passed, "{report}");
    assert_eq!(report.max_abs_error, 0.0);
}

#[test]
fn gradients_near_zero_do_not_make_a_large_relative_error() {
    // x³ at x = 1e-5 has derivative 3e-10, so a tiny absolute difference is a huge relative one;
    // the check passes on the absolute tolerance and says so.
    let x = Tensor::from_vec(vec![1e-5, 1.0], &[2]);
    let report = gradcheck(
        |_, v| v[0].powf(3.0).sum(),
        &[x],
        GradcheckOptions::default(),
    );
    assert!(report.passed, "{report}");
    assert!(report.max_rel_error < 1e-6, "{report}");
    assert!(report.max_error_over_tolerance < 1e-2, "{report}");
}

/// `x²` whose rule is right on tensors but, recorded on vars, claims `2·G` for `2x·G` — a
/// first derivative that is right and a second derivative that is wrong.
struct SquareWithWrongSecondOrder;

impl CustomOp<f64> for SquareWithWrongSecondOrder {
    fn name(&self) -> &'static str {
        "square_wrong_second_order"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].mul(inputs[0])
    }
    fn backward(
        &self,
        inputs: &[&Tensor<f64>],
        _output: &Tensor<f64>,
        grad: &Tensor<f64>,
        _wants: &[bool],
    ) -> Vec<Option<Tensor<f64>>> {
        vec![Some(&grad.mul(inputs[0]) * 2.0)]
    }
    fn backward_graph<'g>(
        &self,
        inputs: &[Var<'g, f64>],
        _output: Var<'g, f64>,
        grad: Var<'g, f64>,
        _wants: &[bool],
    ) -> Option<Vec<Option<Var<'g, f64>>>> {
        // The value is right (x is folded in as a constant), its dependence on x is lost.
        Some(vec![Some(grad * inputs[0].detach() * 2.0)])
    }
}

#[test]
fn gradgradcheck_passes_on_built_in_ops_and_catches_a_wrong_second_order_rule() {
    let smooth = gradgradcheck(
        |_, v| (v[0].tanh() * v[0].exp()).softmax(-1),
        &[x()],
        GradcheckOptions::default(),
    );
    assert!(smooth.passed, "{smooth}");
    let first = gradcheck(
        |_, v| Var::custom(SquareWithWrongSecondOrder, &[v[0]]),
        &[x()],
        GradcheckOptions::default(),
    );
    assert!(first.passed, "{first}");
    let second = gradgradcheck(
        |_, v| Var::custom(SquareWithWrongSecondOrder, &[v[0]]),
        &[x()],
        GradcheckOptions::default(),
    );
    assert!(!second.passed, "{second}");
}
