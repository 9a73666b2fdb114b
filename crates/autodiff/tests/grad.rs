//! `grad` and `grad_vars`: gradients of chosen outputs (any shape, with seeds) with respect to
//! exactly the vars asked, first and second order; and inputs that want a gradient.

use chainrule_autodiff::{grad, grad_vars, BackwardOptions, Graph, Tensor, Var};

fn vector(values: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(values.to_vec(), &[values.len()])
}

fn close(a: &Tensor<f64>, b: &Tensor<f64>, tolerance: f64) -> bool {
    a.shape() == b.shape()
        && a.as_slice()
            .iter()
            .zip(b.as_slice())
            .all(|(x, y)| (x - y).abs() <= tolerance * (1.0 + y.abs()))
}

#[test]
fn an_input_marked_requires_grad_gets_its_gradient_and_stays_data() {
    let g = Graph::new();
    let x = g.input(vector(&[0.5, -1.0])).requires_grad_();
    let w = g.param(vector(&[2.0, 3.0]));
    let loss = (x * w).tanh().sum();
    let grads = loss.backward();
    let expected: Vec<f64> = [(0.5f64, 2.0f64), (-1.0, 3.0)]
        .iter()
        .map(|(x, w)| w * (1.0 - (x * w).tanh().powi(2)))
        .collect();
    assert!(close(&grads[x], &vector(&expected), 1e-12));
    // Still data: not a parameter.
    assert!(x.is_leaf(chainrule_autodiff::Leaf::Input));
}

#[test]
fn requires_grad_after_use_or_on_a_constant_panics_with_the_remedy() {
    let message = |f: &dyn Fn()| {
        let error = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        error.downcast_ref::<String>().cloned().unwrap()
    };
    let used = message(&|| {
        let g = Graph::new();
        let x = g.input(vector(&[1.0]));
        let _y = x.exp();
        x.requires_grad_();
    });
    assert!(used.contains("already used by node 1"), "{used}");
    assert!(used.contains("g.input(x).requires_grad_()"), "{used}");
    let constant = message(&|| {
        let g = Graph::new();
        g.constant(vector(&[1.0])).requires_grad_();
    });
    assert!(constant.contains("not an input"), "{constant}");
    // The error a user meets first names the remedy.
    let missing = message(&|| {
        let g = Graph::new();
        let x = g.input(vector(&[1.0]));
        let w = g.param(vector(&[1.0]));
        let grads = (x * w).sum().backward();
        let _ = &grads[x];
    });
    assert!(missing.contains("requires_grad_()"), "{missing}");
}

#[test]
fn grad_gives_exactly_the_vars_asked_including_intermediates() {
    let g = Graph::new();
    let a = g.param(vector(&[1.0, 2.0]));
    let b = g.param(vector(&[-0.5, 0.25]));
    let hidden = (a * b).sin();
    let loss = (hidden * hidden).sum() + (b * 3.0).sum();
    let all = loss.backward_with(BackwardOptions {
        retain_all: true,
        ..Default::default()
    });
    let picked = grad(&[loss], None, &[hidden, a]);
    assert_eq!(picked.len(), 2);
    assert!(close(&picked[0], &all[hidden], 1e-15));
    assert!(close(&picked[1], &all[a], 1e-15));
}

#[test]
fn seeds_make_vector_jacobian_products_of_several_outputs() {
    let g = Graph::new();
    let x = g.param(vector(&[0.3, -0.7, 1.1]));
    let y1 = x.exp();
    let y2 = (x * x).sum();
    let s1 = vector(&[1.0, -2.0, 0.5]);
    let s2 = Tensor::scalar(3.0);
    let vjp = &grad(&[y1, y2], Some(&[s1.clone(), s2]), &[x])[0];
    // ⟨s1, eˣ⟩ + 3·Σx² differentiated by hand: s1 ⊙ eˣ + 6x.
    let expected: Vec<f64> = [0.3f64, -0.7, 1.1]
        .iter()
        .zip(s1.as_slice())
        .map(|(x, s)| s * x.exp() + 6.0 * x)
        .collect();
    assert!(close(vjp, &vector(&expected), 1e-12));
}

#[test]
fn a_var_the_output_does_not_depend_on_gets_zeros() {
    let g = Graph::new();
    let x = g.param(vector(&[1.0, 2.0]));
    let unused = g.param(Tensor::ones(&[3]));
    let dy = grad(&[(x * x).sum()], None, &[unused]);
    assert_eq!(dy[0].to_vec(), vec![0.0; 3]);
}

#[test]
fn grad_vars_records_only_what_leads_to_the_vars_asked() {
    // A large branch of another parameter: backward_create_graph records its gradients too,
    // grad_vars with respect to x does not.
    fn build(g: &Graph<f64>) -> (Var<'_, f64>, Var<'_, f64>) {
        let x = g.param(vector(&[0.5, 1.5]));
        let other = g.param(Tensor::ones(&[2]));
        let mut branch = other;
        for _ in 0..50 {
            branch = branch.tanh() * 1.1;
        }
        let loss = (x * x).sum() + branch.sum();
        (x, loss)
    }
    let g = Graph::new();
    let (x, loss) = build(&g);
    let before = g.len();
    let dx = grad_vars(&[loss], None, &[x])[0];
    let recorded_for_x = g.len() - before;
    assert_eq!(dx.value().to_vec(), vec![1.0, 3.0]);

    let g = Graph::new();
    let (x, loss) = build(&g);
    let before = g.len();
    let dx = loss.backward_create_graph().wrt(x);
    let recorded_for_all = g.len() - before;
    assert_eq!(dx.value().to_vec(), vec![1.0, 3.0]);
    assert!(
        recorded_for_x * 10 < recorded_for_all,
        "{recorded_for_x} nodes for x alone against {recorded_for_all} for every parameter"
    );
}

#[test]
fn a_hessian_vector_product_in_three_lines_matches_central_differences() {
    // f(x) = Σ tanh(W·x)², a non-quadratic function with a full Hessian.
    let w = Tensor::from_vec(vec![0.3, -1.2, 0.8, 0.5, 0.9, -0.4], &[3, 2]);
    let x0 = Tensor::from_vec(vec![0.7, -0.2], &[2, 1]);
    let v = Tensor::from_vec(vec![1.0, -2.0], &[2, 1]);
    let gradient_at = |x: &Tensor<f64>| {
        let g = Graph::new();
        let x = g.param(x.clone());
        let f = g.constant(w.clone()).matmul(x).tanh().square().sum();
        grad(&[f], None, &[x]).remove(0)
    };

    let g = Graph::new();
    let x = g.param(x0.clone());
    let f = g.constant(w.clone()).matmul(x).tanh().square().sum();
    // The user's lines: the gradient as a var, then the gradient of ⟨∇f, v⟩.
    let df = grad_vars(&[f], None, &[x])[0];
    let hv = grad(&[df], Some(std::slice::from_ref(&v)), &[x]).remove(0);

    let h = 1e-5;
    let plus = gradient_at(&(&x0 + &(&v * h)));
    let minus = gradient_at(&(&x0 - &(&v * h)));
    let numeric = &(&plus - &minus) * (1.0 / (2.0 * h));
    assert!(close(&hv, &numeric, 1e-7), "{hv} against {numeric}");
}

#[test]
fn derivatives_of_derivatives_of_x_to_the_fourth() {
    let g = Graph::new();
    let x = g.scalar(1.5f64);
    let y = x.powf(4.0);
    let d1 = grad_vars(&[y], None, &[x])[0];
    let d2 = grad_vars(&[d1], None, &[x])[0];
    let d3 = grad(&[d2], None, &[x]).remove(0);
    assert!((d1.item() - 4.0 * 1.5f64.powi(3)).abs() < 1e-12);
    assert!((d2.item() - 12.0 * 1.5f64.powi(2)).abs() < 1e-12);
    assert!((d3.item() - 24.0 * 1.5).abs() < 1e-12);
}

#[test]
#[should_panic(expected = "needs a seed")]
fn a_vector_output_without_a_seed_panics() {
    let g = Graph::new();
    let x = g.param(vector(&[1.0, 2.0]));
    grad(&[x.exp()], None, &[x]);
}

#[test]
#[should_panic(expected = "does not want a gradient")]
fn asking_for_the_gradient_of_plain_data_panics() {
    let g = Graph::new();
    let x = g.input(vector(&[1.0, 2.0]));
    let w = g.param(vector(&[1.0, 2.0]));
    grad(&[(x * w).sum()], None, &[x]);
}
