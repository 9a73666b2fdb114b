//! Graph pictures as DOT: one node statement per graph node, one edge per input.

use std::collections::BTreeSet;

use chainrule_autodiff::{Graph, Tensor};

/// The ids of the `nK [...]` node statements and the `nI -> nJ` edges of a DOT text.
fn parse(dot: &str) -> (Vec<usize>, Vec<(usize, usize)>) {
    let id = |s: &str| s.trim().trim_start_matches('n').parse::<usize>().unwrap();
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for line in dot.lines().map(str::trim) {
        if let Some((from, to)) = line.strip_suffix(';').and_then(|l| l.split_once(" -> ")) {
            edges.push((id(from), id(to)));
        } else if let Some((name, _)) = line.split_once(" [") {
            nodes.push(id(name));
        }
    }
    (nodes, edges)
}

#[test]
fn every_node_once_and_an_edge_from_each_input() {
    let g = Graph::new();
    let w = g.scalar(-1.0f64).named("w");
    let x = g.scalar(0.5f64).named("x");
    let b = g.scalar(2.0f64).named("b");
    let y = (w * x + b).tanh();
    let (grads, _) = y.backward_traced();
    let dot = g.to_dot(Some(&grads));
    assert!(dot.starts_with("digraph chainrule {"));
    assert!(dot.trim_end().ends_with('}'));

    let (nodes, edges) = parse(&dot);
    assert_eq!(nodes, (0..g.len()).collect::<Vec<_>>());
    let expected: Vec<(usize, usize)> = g
        .nodes()
        .iter()
        .enumerate()
        .flat_map(|(id, n)| n.inputs.iter().map(move |&i| (i, id)).collect::<Vec<_>>())
        .collect();
    assert_eq!(edges, expected);
    assert_eq!(edges, [(0, 3), (1, 3), (3, 4), (2, 4), (4, 5)]);

    assert!(dot.contains(r#"n0 [shape=box, label="w (parameter)\nvalue −1.0\ngrad 0.0903533", style=filled, fillcolor=lightblue];"#), "{dot}");
    assert!(
        dot.contains(r#"label="n3 = w · x\nvalue −0.5\ngrad 0.180707""#),
        "{dot}"
    );
    assert!(
        dot.contains(r#"label="n5 = tanh(n4)\nvalue 0.905148\ngrad 1.0""#),
        "{dot}"
    );
}

#[test]
fn without_gradients_the_boxes_show_values_only() {
    let g = Graph::new();
    let x = g.scalar(3.0f64);
    let _ = x * x;
    let dot = g.to_dot(None);
    assert!(!dot.contains("grad"));
    let (nodes, edges) = parse(&dot);
    assert_eq!(nodes, [0, 1]);
    assert_eq!(edges, [(0, 1), (0, 1)]); // x is read twice
}

#[test]
fn tensors_show_shape_first_values_and_norm() {
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(
        vec![3.0f32, 4.0, 0.0, 0.0, 0.0, 0.0],
        &[2, 3],
    ));
    let _ = x.sum();
    let dot = g.to_dot(None);
    assert!(
        dot.contains(r"value [2, 3] (3.0, 4.0, 0.0, 0.0, …; ‖·‖ = 5.0)"),
        "{dot}"
    );
    assert!(dot.contains("fillcolor=lightgray"));
}

#[test]
fn labels_are_escaped() {
    let g = Graph::new();
    let _ = g.scalar(1.0f64).named(r#"say "hi" \o/"#);
    let dot = g.to_dot(None);
    assert!(
        dot.contains(r#"label="say \"hi\" \\o/ (parameter)\n"#),
        "{dot}"
    );
}

#[test]
#[should_panic(expected = "to_dot: the gradients belong to another graph")]
fn gradients_of_another_graph_are_refused() {
    let g1 = Graph::new();
    let x = g1.scalar(1.0f64);
    let grads = x.exp().backward();
    let g2 = Graph::<f64>::new();
    let _ = g2.scalar(1.0);
    let _ = g2.to_dot(Some(&grads));
}

#[test]
fn node_names_are_unique_statements() {
    let g = Graph::new();
    let a = g.scalar(1.0f64).named("a");
    let _ = (a + a) * a;
    let (nodes, _) = parse(&g.to_dot(None));
    assert_eq!(nodes.iter().collect::<BTreeSet<_>>().len(), g.len());
}
