//! Graph pictures as SVG (feature `svg`): well-formed XML with one box per graph node.

use chainrule_autodiff::{Graph, Tensor};

/// Parses the SVG as XML and counts its `<rect>` elements (the node boxes).
fn boxes(svg: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.tag_name().name() == "rect")
        .count()
}

#[test]
fn a_scalar_expression_draws_one_box_per_node() {
    let g = Graph::new();
    let w = g.scalar(-1.0f64).named("w");
    let x = g.scalar(0.5f64).named("x");
    let b = g.scalar(2.0f64).named("b");
    let y = (w * x + b).tanh();
    let (grads, _) = y.backward_traced();
    let svg = g.to_svg(Some(&grads));
    assert_eq!(boxes(&svg), g.len());
    assert!(svg.contains("tanh(n4)"));
    assert!(svg.contains("grad 0.0903533"));
}

#[test]
fn a_tensor_graph_with_fan_out_draws_too() {
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]));
    let w = g
        .param(Tensor::from_vec(vec![0.5, -1.0, 0.0, 2.0], &[2, 2]))
        .named("W");
    let h = x.matmul(w).tanh();
    let loss = (h * h + h).mean();
    let (grads, _) = loss.backward_traced();
    assert_eq!(boxes(&g.to_svg(Some(&grads))), g.len());
    assert_eq!(boxes(&g.to_svg(None)), g.len());
}

#[test]
fn a_single_node_draws() {
    let g = Graph::new();
    let _ = g.scalar(1.0f64).named("x");
    assert_eq!(boxes(&g.to_svg(None)), 1);
}
