//! A user-defined op, from outside the engine: a numerically stable `ln(1 + eˣ)` with its own
//! kernel and backward rule, checked against finite differences, used as the activation of a
//! small network that learns `y = |x|`, and then — with a bug planted in its rule — found by
//! the localized gradient check, which names the op and the line that recorded it.
//!
//! Run with `cargo run --release --example custom_op`. It exits with status 1 if a check does
//! not come out as described.

use chainrule::autodiff::gradcheck::check_each_op;
use chainrule::autodiff::CustomOp;
use chainrule::{gradcheck, GradcheckOptions, Graph, Tensor, Var};

/// `ln(1 + eˣ)`, computed as `max(x, 0) + ln(1 + e^−|x|)` so that it never overflows (the
/// naive form is infinite from x ≈ 710 on). Its derivative is the sigmoid `σ(x)`.
/// `BUGGY` plants the mistake a hurried author makes: `σ(x)·(1 − σ(x))`, the sigmoid's own
/// derivative.
struct StableSoftplus<const BUGGY: bool>;

impl<const BUGGY: bool> CustomOp<f64> for StableSoftplus<BUGGY> {
    fn name(&self) -> &'static str {
        "stable_softplus"
    }

    fn formula(&self) -> &'static str {
        "∂y/∂x = σ(x)"
    }

    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].map(|x| x.max(0.0) + (-x.abs()).exp().ln_1p())
    }

    fn backward(
        &self,
        inputs: &[&Tensor<f64>],
        _output: &Tensor<f64>,
        grad: &Tensor<f64>,
        _wants: &[bool],
    ) -> Vec<Option<Tensor<f64>>> {
        let slope = inputs[0].map(|x| {
            let s = 1.0 / (1.0 + (-x).exp());
            if BUGGY {
                s * (1.0 - s)
            } else {
                s
            }
        });
        vec![Some(grad.mul(&slope))]
    }

    /// The same rule with graph ops, so a gradient through the op can be differentiated again.
    fn backward_graph<'g>(
        &self,
        inputs: &[Var<'g, f64>],
        _output: Var<'g, f64>,
        grad: Var<'g, f64>,
        _wants: &[bool],
    ) -> Option<Vec<Option<Var<'g, f64>>>> {
        Some(vec![Some(grad * inputs[0].sigmoid())])
    }
}

/// A 1 → 8 → 1 network with the custom activation, and its mean squared error on `(x, y)`.
fn loss<'g, const BUGGY: bool>(
    x: Var<'g, f64>,
    y: Var<'g, f64>,
    params: &[Var<'g, f64>],
) -> Var<'g, f64> {
    let hidden = Var::custom(StableSoftplus::<BUGGY>, &[x.matmul(params[0]) + params[1]]);
    let prediction = hidden.matmul(params[2]) + params[3];
    (prediction - y).square().mean()
}

/// The network with the planted bug, its parameters as `v`, on the data `x`, `y`.
fn buggy<'g>(
    g: &'g Graph<f64>,
    v: &[Var<'g, f64>],
    x: &Tensor<f64>,
    y: &Tensor<f64>,
) -> Var<'g, f64> {
    loss::<true>(g.input(x.clone()), g.input(y.clone()), v)
}

fn main() {
    let mut ok = true;

    // 1. The op against central differences, far into both tails and at a second order.
    let points = Tensor::from_vec(vec![-800.0, -3.0, -0.5, 0.0, 0.7, 2.5, 800.0], &[7]);
    let first = gradcheck(
        |_g, v| Var::custom(StableSoftplus::<false>, &[v[0]]).sum(),
        std::slice::from_ref(&points),
        GradcheckOptions::default(),
    );
    println!("gradcheck of stable_softplus: {first}");
    let second = gradcheck(
        |_g, v| {
            let y = Var::custom(StableSoftplus::<false>, &[v[0]]).sum();
            y.backward_create_graph().wrt(v[0]).sum()
        },
        &[points],
        GradcheckOptions::default(),
    );
    println!("gradcheck of its derivative (second order): {second}");
    ok &= first.passed && second.passed;

    // 2. Train the network on y = |x| by plain gradient descent.
    let xs: Vec<f64> = (0..64).map(|i| -2.0 + 4.0 * i as f64 / 63.0).collect();
    let x = Tensor::from_vec(xs.clone(), &[64, 1]);
    let y = Tensor::from_vec(xs.iter().map(|v| v.abs()).collect(), &[64, 1]);
    let uneven = |n: usize, shift: f64| (0..n).map(|i| (1.7 * i as f64 + shift).sin()).collect();
    let mut params = vec![
        Tensor::from_vec(uneven(8, 0.3), &[1, 8]),
        Tensor::from_vec(uneven(8, 1.1), &[8]),
        Tensor::from_vec(uneven(8, 2.2).iter().map(|v| v * 0.5).collect(), &[8, 1]),
        Tensor::zeros(&[1]),
    ];
    let learning_rate = 0.1;
    let mut losses = Vec::new();
    for step in 0..3000 {
        let g = Graph::new();
        let vars: Vec<_> = params.iter().map(|p| g.param(p.clone())).collect();
        let l = loss::<false>(g.input(x.clone()), g.input(y.clone()), &vars);
        let grads = l.backward();
        for (p, v) in params.iter_mut().zip(&vars) {
            *p = p.sub(&grads[*v].mul_scalar(learning_rate));
        }
        losses.push(l.item());
        if step % 500 == 0 {
            println!("step {step:4}  mse {:.5}", l.item());
        }
    }
    let (start, end) = (losses[0], *losses.last().expect("trained"));
    println!("mse {start:.4} → {end:.5} after {} steps", losses.len());
    ok &= end < start / 20.0;

    // 3. A wrong rule inside the network: the whole-model check fails, and the localized check
    //    names the op, the node and the source line.
    let (x8, y8) = (x.narrow(0, 0, 8), y.narrow(0, 0, 8));
    let options = GradcheckOptions::default();
    let report = gradcheck(|g, v| buggy(g, v, &x8, &y8), &params, options);
    println!("\nwith a bug planted in the rule:\ngradcheck of the model: {report}");
    match check_each_op(|g, v| buggy(g, v, &x8, &y8), &params, options) {
        Some(wrong) => {
            println!("localized check: {wrong}");
            ok &= !report.passed && wrong.op == "stable_softplus";
        }
        None => {
            println!("localized check: found no wrong op");
            ok = false;
        }
    }

    if !ok {
        eprintln!("error: a check did not come out as described above");
        std::process::exit(1);
    }
}
