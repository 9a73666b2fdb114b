//! The backward trace: the steps it records, the sums it shows, and that it is the ordinary
//! sweep (same gradients, nothing recorded on the graph).

use chainrule_autodiff::{ChainStep, Graph, Quantity, Tensor};

fn number(q: &Quantity) -> f64 {
    q.as_number().expect("a 0-d quantity")
}

#[test]
fn micrograd_example_traces_each_chain_rule_step() {
    let g = Graph::new();
    let a = g.scalar(2.0f64).named("a");
    let b = g.scalar(-3.0f64).named("b");
    let c = a * b + a;
    let (grads, trace) = c.backward_traced();
    assert_eq!((grads[a].item(), grads[b].item()), (-2.0, 2.0));

    // The sweep visits the add (node 3), then the mul (node 2); leaves have no rule.
    let visited: Vec<_> = trace.nodes.iter().map(|n| (n.node, n.op)).collect();
    assert_eq!(visited, [(3, "add"), (2, "mul")]);
    assert_eq!(trace.root_name, "n3");

    let add = &trace.nodes[0];
    assert_eq!(number(&add.upstream), 1.0);
    assert_eq!(add.expression, "n2 + a");
    let into: Vec<_> = add.steps.iter().map(|s| s.input_name.as_str()).collect();
    assert_eq!(into, ["n2", "a"]);
    assert!(add
        .steps
        .iter()
        .all(|s| s.local == Some(Quantity::Number(1.0))));

    let mul = &trace.nodes[1];
    assert_eq!(mul.formula, "∂y/∂a = b, ∂y/∂b = a");
    let to_a: &ChainStep = &mul.steps[0];
    assert_eq!(to_a.input, a.id());
    assert_eq!(to_a.local, Some(Quantity::Number(-3.0)));
    assert_eq!(number(&to_a.product), -3.0);
    // a feeds both nodes: its second contribution is added to the first.
    assert_eq!(to_a.earlier, Some(Quantity::Number(1.0)));
    assert_eq!(number(&to_a.sum), -2.0);
    let to_b = &mul.steps[1];
    assert_eq!((to_b.earlier.clone(), number(&to_b.sum)), (None, 2.0));

    // The last running sum of each parameter is its gradient.
    for var in [a, b] {
        let last = trace
            .nodes
            .iter()
            .flat_map(|n| &n.steps)
            .rfind(|s| s.input == var.id())
            .unwrap();
        assert_eq!(number(&last.sum), grads[var].item());
    }

    let text = trace.to_string();
    for line in [
        "L = n3: the sweep seeds ∂L/∂n3 = 1.0",
        "  ∂L/∂n2 += ∂L/∂n3 · ∂n3/∂n2 = 1.0 · 1.0 = 1.0",
        "  ∂L/∂a += ∂L/∂n3 · ∂n3/∂a = 1.0 · 1.0 = 1.0",
        "n2 = a · b",
        "n3 = n2 + a    ∂n3/∂n2 = 1, ∂n3/∂a = 1",
        "n2 = a · b     ∂n2/∂a = b, ∂n2/∂b = a",
        "  ∂L/∂a += ∂L/∂n2 · ∂n2/∂a = 1.0 · (−3.0) = −3.0, so far ∂L/∂a = 1.0 + (−3.0) = −2.0",
        "  ∂L/∂b += ∂L/∂n2 · ∂n2/∂b = 1.0 · 2.0 = 2.0",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn an_input_read_twice_by_one_node_gets_two_steps() {
    let g = Graph::new();
    let x = g.scalar(3.0f64).named("x");
    let (grads, trace) = (x * x).backward_traced();
    assert_eq!(grads[x].item(), 6.0);
    let steps = &trace.nodes[0].steps;
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[1].earlier, Some(Quantity::Number(3.0)));
    assert_eq!(number(&steps[1].sum), 6.0);
}

#[test]
fn traced_gradients_equal_the_plain_ones_and_nothing_is_recorded() {
    let g = Graph::new();
    let w = g.scalar(-1.0f64).named("w");
    let x = g.scalar(0.5f64).named("x");
    let b = g.scalar(2.0f64).named("b");
    let z = w * x + b;
    let y = z.tanh();
    let nodes_before = g.len();
    let plain = y.backward();
    let (traced, trace) = y.backward_traced();
    assert_eq!(g.len(), nodes_before);
    for v in [w, x, b] {
        assert_eq!(plain[v].item(), traced[v].item());
    }
    // Every node that wants a gradient keeps it, for pictures.
    let t = 1.5f64.tanh();
    assert_eq!(traced[z].item(), 1.0 - t * t);
    let tanh = &trace.nodes[0];
    assert!((number(tanh.steps[0].local.as_ref().unwrap()) - (1.0 - t * t)).abs() < 1e-15);
    let text = trace.to_string();
    assert!(
        text.contains("n5 = tanh(n4)    ∂n5/∂n4 = 1 − n5²"),
        "{text}"
    );
}

#[test]
fn local_derivatives_are_written_in_the_nodes_names_without_internal_op_names() {
    let g = Graph::new();
    let x = g.scalar(0.5f64).named("x");
    let w = g.scalar(-2.0f64).named("w");
    // add_scalar, mul_scalar, powf, div and relu, as the engine records them.
    let y = ((x * 3.0 + 1.0).powf(3.0) / w).relu() + (x * x).powf(2.0);
    let (_, trace) = y.backward_traced();
    let text = trace.to_string();
    for line in [
        "n2 = 3.0 · x",
        "∂n2/∂x = 3.0",
        "n3 = n2 + 1.0",
        "∂n3/∂n2 = 1",
        "n4 = n3^3.0",
        "∂n4/∂n3 = 3.0·n3^2.0",
        "∂n5/∂n4 = 1/w, ∂n5/∂w = −n4/w²",
        "∂n6/∂n5 = 1 if n5 > 0, else 0",
        // x read twice by one node: one rule, two steps.
        "n7 = x · x",
        "∂n8/∂n7 = 2·n7",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("n7 = x · x") && !text.contains("∂n7/∂x = x, ∂n7/∂x = x"));
    for internal in ["add_scalar", "mul_scalar", "powf", "∂y/", "mul:", "add:"] {
        assert!(!text.contains(internal), "{internal:?} in\n{text}");
    }
}

#[test]
fn ops_on_tensors_state_their_rule_on_tensors() {
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0], &[1, 2]));
    let w = g
        .param(Tensor::from_vec(vec![0.5, -1.0], &[2, 1]))
        .named("W");
    let (_, trace) = x.matmul(w).tanh().sum().backward_traced();
    let text = trace.to_string();
    assert!(text.contains("∂n3/∂n2 = 1 − n3²"), "{text}");
    assert!(text.contains("matmul: "), "{text}");
}

#[test]
fn branches_that_reach_no_parameter_are_not_visited() {
    let g = Graph::new();
    let x = g.scalar(2.0f64).named("x");
    let k = g.constant(Tensor::scalar(4.0)).named("k");
    let y = x * k.exp();
    let (_, trace) = y.backward_traced();
    let visited: Vec<_> = trace.nodes.iter().map(|n| n.op).collect();
    assert_eq!(visited, ["mul"]);
    // The constant wants no gradient, so the mul sends nothing to it.
    assert_eq!(trace.nodes[0].steps.len(), 1);
}

#[test]
fn tensor_steps_show_shapes_and_norms_instead_of_jacobians() {
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]));
    let w = g
        .param(Tensor::from_vec(vec![0.5, -1.0, 0.0, 2.0], &[2, 2]))
        .named("W");
    let loss = x.matmul(w).sum();
    let (grads, trace) = loss.backward_traced();
    let matmul = &trace.nodes[1];
    assert_eq!(matmul.op, "matmul");
    assert!(matches!(matmul.upstream, Quantity::Tensor { ref shape, .. } if shape == &[2, 2]));
    let step = &matmul.steps[0];
    assert_eq!(step.input_name, "W");
    assert_eq!(step.local, None);
    assert_eq!(step.product, Quantity::of(&grads[w]));
    let text = trace.to_string();
    assert!(
        text.contains("∂L/∂W += ∂L/∂n2 · ∂n2/∂W = [2, 2] (4.0, 4.0, 6.0, 6.0; ‖·‖ = "),
        "{text}"
    );
}

#[test]
fn a_parameter_as_the_root_has_an_empty_trace() {
    let g = Graph::new();
    let x = g.scalar(1.0f64).named("x");
    let (grads, trace) = x.backward_traced();
    assert_eq!(grads[x].item(), 1.0);
    assert!(trace.nodes.is_empty());
    assert!(trace
        .to_string()
        .contains("no op lies between x and the parameters"));
}
