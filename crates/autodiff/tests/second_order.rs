//! Gradients of gradients: the backward rules run on vars record the gradient on the graph, so
//! it can be differentiated again. Checked against closed forms and finite differences, and
//! `gradgradcheck` run over every op of the vocabulary: every unary function of the table
//! (a new entry without a case here fails `every_unary_function_passes_gradgradcheck`), every
//! binary, reduction, matmul, shape, nn and convolution op, and the ops composed from them
//! (layer_norm). Piecewise ops (relu, abs, clamp, max, round …) are multiplied by their input,
//! so their zero second derivative is not all that is checked.

mod common;

use chainrule_autodiff::ops::UnaryOp;
use chainrule_autodiff::{
    Conv1dOptions, Conv2dOptions, GradcheckOptions, Graph, Pool2dOptions, Tensor, Var,
};
use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn second_derivative_of_cube_is_six_x(x in -3.0f64..3.0) {
        let g = Graph::new();
        let v = g.scalar(x);
        let first = (v * v * v).backward_create_graph().wrt(v);
        prop_assert!((first.item() - 3.0 * x * x).abs() < 1e-12);
        let second = first.backward()[v].item();
        prop_assert!((second - 6.0 * x).abs() < 1e-12, "{} vs {}", second, 6.0 * x);
    }

    #[test]
    fn second_derivative_of_tanh_matches_its_closed_form(x in -3.0f64..3.0) {
        let g = Graph::new();
        let v = g.scalar(x);
        let second = v.tanh().backward_create_graph().wrt(v).backward()[v].item();
        let t = x.tanh();
        let expected = -2.0 * t * (1.0 - t * t);
        prop_assert!((second - expected).abs() < 1e-12, "{} vs {}", second, expected);
    }
}

/// Runs the library's `gradgradcheck` on `op` (a fixed random projection of its gradient,
/// checked against central differences), and [`check_second_order`] (unevenly weighted sums,
/// through `backward_create_graph`); panics on failure.
#[track_caller]
fn gradgradcheck<F>(inputs: Vec<Tensor<f64>>, op: F)
where
    F: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    chainrule_autodiff::gradgradcheck(&op, &inputs, GradcheckOptions::default()).assert_passed();
    check_second_order(&inputs, op).assert_passed();
}

fn values(shape: &[usize], offset: f64) -> Tensor<f64> {
    let n = shape.iter().product::<usize>();
    let v = (0..n)
        .map(|i| (0.9 * i as f64 + offset).sin() * 1.5)
        .collect();
    Tensor::from_vec(v, shape)
}

fn positive(shape: &[usize]) -> Tensor<f64> {
    values(shape, 0.3).map(|v| v.abs() + 0.5)
}

#[test]
fn second_order_elementwise() {
    let x = values(&[2, 3], 0.1);
    let p = positive(&[2, 3]);
    gradgradcheck(vec![x.clone()], |_g, v| v[0].exp());
    gradgradcheck(vec![p.clone()], |_g, v| v[0].ln());
    gradgradcheck(vec![p.clone()], |_g, v| v[0].sqrt());
    gradgradcheck(vec![x.clone()], |_g, v| v[0].tanh());
    gradgradcheck(vec![x.clone()], |_g, v| v[0].sigmoid());
    gradgradcheck(vec![p.clone()], |_g, v| v[0].powf(-1.5));
    gradgradcheck(vec![x.clone()], |_g, v| v[0].relu() * v[0]);
    gradgradcheck(vec![x.clone()], |_g, v| v[0].abs() * v[0]);
    gradgradcheck(vec![x.clone()], |_g, v| v[0].clamp(-0.5, 0.5) * v[0]);
    gradgradcheck(vec![x.clone(), values(&[3], 2.0)], |_g, v| {
        v[0] * v[1] - v[1]
    });
    gradgradcheck(vec![x.clone(), positive(&[3])], |_g, v| v[0] / v[1]);
    gradgradcheck(vec![p.clone(), values(&[2, 1], 0.7)], |_g, v| {
        v[0].pow(v[1])
    });
    gradgradcheck(vec![x.clone(), values(&[2, 3], 5.0)], |_g, v| {
        v[0].maximum(v[1]) * v[0] + v[0].minimum(v[1]) * v[1]
    });
}

#[test]
fn second_order_reductions_and_matmul() {
    let x = values(&[2, 3], 0.1);
    gradgradcheck(vec![x.clone()], |_g, v| v[0].sum_axis(1, true) * v[0]);
    gradgradcheck(vec![x.clone()], |_g, v| v[0].mean_axis(0, false).exp());
    gradgradcheck(vec![x.clone()], |_g, v| {
        v[0].max_axis(1, false) * v[0].sum()
    });
    gradgradcheck(vec![x.clone(), values(&[3, 4], 1.0)], |_g, v| {
        v[0].matmul(v[1]).tanh()
    });
    gradgradcheck(
        vec![values(&[2, 2, 3], 0.2), values(&[3, 2], 1.0)],
        |_g, v| v[0].matmul(v[1]).sigmoid(),
    );
    gradgradcheck(
        vec![values(&[2, 3, 2], 0.2), values(&[2, 3, 2], 1.0)],
        |_g, v| v[0].matmul_t(v[1], true, false).tanh(),
    );
    gradgradcheck(
        vec![
            values(&[2, 3], 0.1),
            values(&[3, 4], 1.0),
            values(&[4], 0.5),
        ],
        |_g, v| v[0].matmul_bias(v[1], v[2]).tanh(),
    );
}

#[test]
fn second_order_shape_and_nn() {
    let x = values(&[2, 3], 0.1);
    gradgradcheck(vec![x.clone()], |_g, v| {
        v[0].reshape(&[3, 2]).transpose(0, 1).exp()
    });
    gradgradcheck(vec![x.clone()], |_g, v| {
        v[0].narrow(1, 1, 2).pad(0, 1, 0).exp()
    });
    gradgradcheck(vec![x.clone()], |_g, v| {
        v[0].broadcast_to(&[2, 2, 3]).sum_to(&[3]).exp()
    });
    gradgradcheck(vec![x.clone(), values(&[2, 1], 3.0)], |_g, v| {
        Var::concat(&[v[0], v[1]], 1).tanh()
    });
    gradgradcheck(vec![x.clone(), values(&[2, 3], 3.0)], |_g, v| {
        Var::stack(&[v[0], v[1]], 0).sigmoid()
    });
    gradgradcheck(vec![x.clone()], |_g, v| {
        v[0].index_select(1, &[2, 0, 2]).exp()
    });
    gradgradcheck(vec![x.clone()], |_g, v| {
        v[0].index_add(1, &[1, 1, 0], 2).exp()
    });
    gradgradcheck(vec![x.clone()], |_g, v| v[0].gather(1, &[2, 1], 1).exp());
    gradgradcheck(vec![x.clone()], |_g, v| {
        v[0].scatter_add(0, &[1, 0, 1, 0, 0, 1], 2).exp()
    });
    gradgradcheck(vec![x.clone()], |_g, v| v[0].logsumexp(1, false));
    gradgradcheck(vec![x.clone()], |_g, v| v[0].softmax(1));
    gradgradcheck(vec![x.clone()], |_g, v| v[0].log_softmax(0));
    gradgradcheck(vec![x.clone()], |_g, v| v[0].softmax_cross_entropy(&[2, 0]));
    gradgradcheck(
        vec![x.clone(), positive(&[2, 3]).map(|t| t / 3.0)],
        |_g, v| v[0].binary_cross_entropy_with_logits(v[1]),
    );
}

/// The loss of a small MLP and its parameter values.
fn mlp_loss<'g>(g: &'g Graph<f64>, params: &[Var<'g, f64>]) -> Var<'g, f64> {
    let x = g.input(values(&[5, 3], 0.4));
    let hidden = (x.matmul(params[0]) + params[1]).tanh();
    let logits = hidden.matmul(params[2]) + params[3];
    logits.softmax_cross_entropy(&[0, 1, 1, 0, 1])
}

#[test]
fn hessian_vector_product_of_an_mlp_loss_matches_finite_differences_of_its_gradient() {
    let theta = [
        values(&[3, 4], 0.0),
        values(&[4], 1.0),
        values(&[4, 2], 2.0),
        values(&[2], 3.0),
    ];
    let direction = [
        values(&[3, 4], 5.0),
        values(&[4], 6.0),
        values(&[4, 2], 7.0),
        values(&[2], 8.0),
    ];

    // H·v by double backward: ∂/∂θ (∇L(θ) · v).
    let g = Graph::new();
    let params: Vec<_> = theta.iter().map(|t| g.param(t.clone())).collect();
    let grads = mlp_loss(&g, &params).backward_create_graph();
    let grad_dot_v = params
        .iter()
        .zip(&direction)
        .map(|(&p, v)| (grads.wrt(p) * g.constant(v.clone())).sum())
        .reduce(|a, b| a + b)
        .unwrap();
    let hvp = grad_dot_v.backward();

    // H·v by central differences of the first-order gradient along v.
    let h = 1e-5;
    let gradient_at = |sign: f64| -> Vec<Tensor<f64>> {
        let g = Graph::new();
        let params: Vec<_> = theta
            .iter()
            .zip(&direction)
            .map(|(t, v)| g.param(t.add(&v.mul_scalar(sign * h))))
            .collect();
        let grads = mlp_loss(&g, &params).backward();
        params.iter().map(|&p| grads[p].clone()).collect()
    };
    let (plus, minus) = (gradient_at(1.0), gradient_at(-1.0));
    for (i, &p) in params.iter().enumerate() {
        let exact = hvp[p].as_slice();
        for (j, (a, b)) in plus[i]
            .as_slice()
            .iter()
            .zip(minus[i].as_slice())
            .enumerate()
        {
            let numeric = (a - b) / (2.0 * h);
            assert!(
                (exact[j] - numeric).abs() < 1e-6 * (1.0 + numeric.abs()),
                "parameter {i} element {j}: H·v {} vs finite difference {numeric}",
                exact[j]
            );
        }
    }
}

#[test]
fn first_order_backward_records_no_nodes() {
    let g = Graph::new();
    let params: Vec<_> = [
        values(&[3, 4], 0.0),
        values(&[4], 1.0),
        values(&[4, 2], 2.0),
        values(&[2], 3.0),
    ]
    .into_iter()
    .map(|t| g.param(t))
    .collect();
    let loss = mlp_loss(&g, &params);
    let before = g.len();
    let _grads = loss.backward();
    assert_eq!(
        g.len(),
        before,
        "first-order backward added nodes to the graph"
    );
    let _grads = loss.backward_create_graph();
    assert!(
        g.len() > before,
        "create-graph backward records the gradient computation"
    );
}

/// Each public unary function with the numbers it is called with and values away from its
/// kinks, poles and jumps; the op is multiplied by `x` so a piecewise op's check has substance.
fn unary_case(name: &str) -> (Vec<f64>, Tensor<f64>) {
    let x = values(&[2, 3], 0.1);
    // Values at least 0.2 from 0 and from every integer and half-integer jump.
    let off_grid = x.map(|v| v.round() + 0.3 * if v >= v.round() { 1.0 } else { -1.0 });
    match name {
        "exp" | "tanh" | "sigmoid" | "softplus" | "gelu" | "silu" | "expm1" | "sin" | "cos"
        | "erf" => (vec![], x),
        "ln" | "sqrt" => (vec![], positive(&[2, 3])),
        "log1p" => (vec![], x.map(|v| v.abs() * 0.5)),
        "powf" => (vec![-1.5], positive(&[2, 3])),
        "abs" | "relu" | "sign" | "round" | "floor" => (vec![], off_grid),
        "clamp" => (
            vec![-0.5, 0.5],
            x.map(|v| {
                if (v.abs() - 0.5).abs() < 0.1 {
                    v * 1.5
                } else {
                    v
                }
            }),
        ),
        "leaky_relu" => (vec![0.1], off_grid),
        other => panic!(
            "unary function `{other}` has no second-order case: add one to `unary_case` in \
             tests/second_order.rs"
        ),
    }
}

#[test]
fn every_unary_function_passes_gradgradcheck() {
    let functions = UnaryOp::<f64>::functions();
    assert!(
        functions.len() >= 20,
        "the table lists {} functions",
        functions.len()
    );
    for (name, parameters) in functions {
        let (numbers, input) = unary_case(name);
        assert_eq!(
            numbers.len(),
            parameters.len(),
            "{name}'s numbers {parameters:?}"
        );
        let op = UnaryOp::by_name(name, &numbers).expect("a function of the table");
        let report = chainrule_autodiff::gradgradcheck(
            |_g, v| v[0].apply_unary(op) * v[0],
            std::slice::from_ref(&input),
            GradcheckOptions::default(),
        );
        assert!(report.passed, "{name}: {report}");
    }
}

#[test]
fn second_order_scalar_arithmetic_and_where() {
    let x = values(&[2, 3], 0.1);
    gradgradcheck(vec![x.clone()], |_g, v| {
        (-v[0] + 1.5) * v[0] * 0.5 - 2.0 / (v[0] * v[0] + 1.0)
    });
    let mask = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0], &[2, 3]);
    gradgradcheck(vec![x.clone(), values(&[3], 2.0)], move |g, v| {
        Var::where_(g.constant(mask.clone()), v[0], v[1]) * v[0] * v[1]
    });
}

#[test]
fn second_order_convolutions_and_pools() {
    let image = values(&[1, 2, 4, 4], 0.2);
    let weight = values(&[2, 2, 2, 2], 1.1);
    let bias = values(&[2], 2.3);
    let options = Conv2dOptions::new().padding(1).stride(2);
    gradgradcheck(
        vec![image.clone(), weight.clone(), bias.clone()],
        |_g, v| v[0].conv2d(v[1], Some(v[2]), options).tanh(),
    );
    gradgradcheck(vec![values(&[1, 2, 3, 3], 0.4), weight.clone()], |_g, v| {
        v[0].conv_transpose2d(v[1], None, Conv2dOptions::new().stride(2))
            .tanh()
    });
    gradgradcheck(vec![image.clone(), values(&[1, 2, 3, 3], 0.6)], |_g, v| {
        v[0].conv2d_weight(v[1], Conv2dOptions::new(), [2, 2])
            .tanh()
    });
    gradgradcheck(
        vec![values(&[1, 2, 6], 0.3), values(&[3, 2, 3], 0.8)],
        |_g, v| {
            v[0].conv1d(v[1], None, Conv1dOptions::new().padding(1))
                .tanh()
        },
    );
    // Max pooling over distinct values, so no window holds a tie.
    let distinct = Tensor::from_vec(
        (0..32).map(|i| ((i * 7) % 32) as f64 * 0.1).collect(),
        &[1, 2, 4, 4],
    );
    gradgradcheck(vec![distinct], |_g, v| {
        v[0].max_pool2d(Pool2dOptions::new(2)).square()
    });
    gradgradcheck(vec![image], |_g, v| {
        v[0].avg_pool2d(Pool2dOptions::new(2)).tanh()
    });
}

#[test]
fn second_order_layer_norm_and_arg_extremes() {
    let x = values(&[2, 2, 3], 0.1);
    gradgradcheck(
        vec![x.clone(), positive(&[2, 3]), values(&[2, 3], 4.0)],
        |_g, v| v[0].layer_norm(&[2, 3], Some(v[1]), Some(v[2]), 1e-5),
    );
    gradgradcheck(vec![x.clone()], |_g, v| {
        v[0].layer_norm(&[3], None, None, 1e-5).tanh()
    });
    // argmax has no gradient; what it picks through gather does.
    gradgradcheck(vec![x], |_g, v| {
        let flat = v[0].reshape(&[4, 3]);
        flat.gather(1, &flat.argmax(1), 1).exp()
    });
}
