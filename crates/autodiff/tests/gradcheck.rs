//! The checks themselves: outputs of any shape, functions that depend on nothing, relative
//! errors that mean something, second derivatives (`gradgradcheck`) catching a rule that is
//! right in first order and wrong in second, the worst elements named by input and index, and
//! `f32` model code written generically, checked in `f64`.

use chainrule_autodiff::{
    gradcheck, gradcheck_generic, gradcheck_params, gradgradcheck, CustomOp, Float,
    GenericFunction, GenericLoss, GradcheckOptions, Graph, ParamId, ParamKind, ParamStore, Tensor,
    Var,
};

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

#[test]
fn the_worst_elements_are_listed_worst_first_by_name_and_multi_index() {
    let options = GradcheckOptions {
        worst_elements: 3,
        ..GradcheckOptions::default()
    };
    let report = gradcheck(
        |_, v| Var::custom(ForgetfulSoftmax, &[v[0].named("logits")]) * v[1],
        &[x(), Tensor::from_vec(vec![0.5, 2.0], &[2])],
        options,
    );
    assert!(!report.passed, "{report}");
    let worst = &report.worst_elements;
    assert_eq!(worst.len(), 3);
    assert!(worst
        .windows(2)
        .all(|w| w[0].error_over_tolerance >= w[1].error_over_tolerance));
    assert_eq!(report.worst.as_ref(), Some(&worst[0]));
    // The forgetful rule is wrong for the logits only; the second input is right.
    assert_eq!(worst[0].name, "logits");
    assert!(worst[0].error_over_tolerance > 1.0);
    let location = format!("logits[{},{}]", worst[0].index[0], worst[0].index[1]);
    assert_eq!(worst[0].location(), location);
    let text = report.to_string();
    assert!(
        text.contains(&format!("worst: {location}: analytic")),
        "{text}"
    );
    // An input the function does not name goes by its position in `inputs`.
    let unnamed = gradcheck(|_, v| v[0] * v[1], &[x(), x()], options);
    assert!(unnamed.passed, "{unnamed}");
    for element in &unnamed.worst_elements {
        assert_eq!(element.name, format!("inputs[{}]", element.input));
        assert!(element
            .location()
            .starts_with(&format!("inputs[{}][", element.input)));
    }
    // A 0-d input has no index to show.
    let scalar = gradcheck(
        |_, v| v[0].named("t").exp(),
        &[Tensor::scalar(0.3)],
        options,
    );
    assert_eq!(scalar.worst_elements[0].location(), "t");
}

/// `2x` whose rule forgets the factor 2, for any float type.
struct Doubling;

impl<T: Float> CustomOp<T> for Doubling {
    fn name(&self) -> &'static str {
        "doubling_without_its_factor"
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0] * T::of(2.0)
    }
    fn backward(
        &self,
        _inputs: &[&Tensor<T>],
        _output: &Tensor<T>,
        grad: &Tensor<T>,
        _wants: &[bool],
    ) -> Vec<Option<Tensor<T>>> {
        vec![Some(grad.clone())]
    }
}

/// A small tanh layer's squared error, written once for `f32` and `f64`; `planted_bug` routes
/// the bias through [`Doubling`].
struct TanhLayerLoss {
    weight: ParamId,
    bias: ParamId,
    inputs: Tensor<f32>,
    planted_bug: bool,
}

impl GenericLoss for TanhLayerLoss {
    fn eval<'g, T: Float>(&self, g: &'g Graph<T>, params: &ParamStore<T>) -> Var<'g, T> {
        let x = g.input(self.inputs.cast());
        let mut bias = params.bind(g, self.bias);
        if self.planted_bug {
            bias = Var::custom(Doubling, &[bias]);
        }
        (x.matmul(params.bind(g, self.weight)) + bias)
            .tanh()
            .square()
            .mean()
    }
}

fn tanh_layer(planted_bug: bool) -> (ParamStore<f32>, TanhLayerLoss) {
    let mut params = ParamStore::<f32>::new();
    let weight = params.insert(
        "dense.weight",
        Tensor::from_vec(vec![0.3, -0.6, 0.9, 0.2, -0.1, 0.5], &[3, 2]),
        ParamKind::Weight,
    );
    let bias = params.insert(
        "dense.bias",
        Tensor::from_vec(vec![0.2, -0.4], &[2]),
        ParamKind::Bias,
    );
    let inputs = Tensor::from_vec(vec![1.0, -0.5, 0.25, 0.7, 0.1, -1.2], &[2, 3]);
    let loss = TanhLayerLoss {
        weight,
        bias,
        inputs,
        planted_bug,
    };
    (params, loss)
}

#[test]
fn an_f32_model_written_generically_is_checked_in_f64_and_its_errors_named_by_parameter() {
    let (params, loss) = tanh_layer(false);
    let report = gradcheck_params(&loss, &params, GradcheckOptions::default());
    assert!(report.passed, "{report}");
    assert_eq!(report.elements, 8);
    // Differences of f32 values over a step of 1e-6 would be rounding noise; in f64 they agree.
    assert!(report.max_abs_error < 1e-8, "{report}");
    // The same code still runs in f32.
    let g = Graph::new();
    assert!(loss.eval(&g, &params).item() > 0.0f32);

    let (params, buggy) = tanh_layer(true);
    let report = gradcheck_params(&buggy, &params, GradcheckOptions::default());
    assert!(!report.passed, "{report}");
    let worst = report.worst.as_ref().expect("elements were compared");
    assert_eq!(worst.name, "dense.bias");
    assert!(
        report.to_string().contains("worst: dense.bias["),
        "{report}"
    );
    assert_eq!(
        report.wrong_op.expect("the op is found").op,
        "doubling_without_its_factor"
    );
}

/// `x ↦ x·sigmoid(x)` over every input, for any float type.
struct Swish;

impl GenericFunction for Swish {
    fn eval<'g, T: Float>(&self, _g: &'g Graph<T>, v: &[Var<'g, T>]) -> Var<'g, T> {
        v[0] * v[0].sigmoid()
    }
}

#[test]
fn a_generic_function_is_checked_in_f64_from_f32_inputs() {
    let inputs = [Tensor::from_vec(vec![0.3f32, -1.7, 2.2], &[3])];
    let report = gradcheck_generic(&Swish, &inputs, GradcheckOptions::default());
    assert!(report.passed, "{report}");
    assert!(report.max_abs_error < 1e-8, "{report}");
}
