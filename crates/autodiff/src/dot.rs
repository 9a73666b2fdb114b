//! Pictures of a graph: Graphviz DOT text, and (with the `svg` feature) an SVG drawing of the
//! same picture laid out in-process by the pure-Rust `layout-rs` crate, so no system Graphviz is
//! needed.
//!
//! As micrograd's `draw_dot`, every node is a box showing its name and op, its value and (given
//! the gradients) its gradient, with an arrow from each input to the node that reads it. For a
//! tensor the box shows its shape, its first values and its L2 norm.
//!
//! This lives apart from the graph itself because drawing is for people; the engine never reads
//! it.

use std::fmt::Write;

use crate::ops::{Leaf, Op};
use crate::{Float, Gradients, Graph, Quantity};

impl<T: Float> Graph<T> {
    /// The graph as Graphviz DOT text: one box per node (`n0`, `n1`, … by tape position)
    /// labelled with its name and what it computes (`n3 = w · x`, or a leaf's kind:
    /// `w (parameter)`), its value and, when `grads` is given and holds one, its gradient; one edge from each input to the node that reads it (twice when
    /// a node reads an input twice). Parameters are filled blue, the other leaves grey.
    ///
    /// Render it with `dot -Tsvg`, or without Graphviz through `to_svg` (feature `svg`).
    /// Gradients of every node come from [`Var::backward_traced`](crate::Var::backward_traced)
    /// or [`BackwardOptions::retain_all`](crate::BackwardOptions::retain_all).
    ///
    /// # Panics
    /// When `grads` belongs to another graph.
    ///
    /// ```
    /// use chainrule_autodiff::{BackwardOptions, Graph};
    /// let g = Graph::new();
    /// let a = g.scalar(2.0f64).named("a");
    /// let b = g.scalar(-3.0f64).named("b");
    /// let c = a * b;
    /// let grads = c.backward_with(BackwardOptions { retain_all: true, ..Default::default() });
    /// let dot = g.to_dot(Some(&grads));
    /// assert!(dot.starts_with("digraph"));
    /// assert!(dot.contains("n0 -> n2;"));
    /// assert!(dot.contains(r"a (parameter)\nvalue 2.0\ngrad −3.0"));
    /// ```
    #[track_caller]
    pub fn to_dot(&self, grads: Option<&Gradients<T>>) -> String {
        if let Some(grads) = grads {
            shape_assert!(
                grads.graph_id() == self.id(),
                "to_dot: the gradients belong to another graph than this one"
            );
        }
        let mut dot = String::from("digraph chainrule {\n  rankdir=LR;\n");
        let nodes = self.nodes();
        for (id, node) in nodes.iter().enumerate() {
            let (name, expression) = (self.display_name(id), self.node_expression(id));
            let mut lines = match node.op {
                Op::Leaf(_) => vec![format!("{name} ({expression})")],
                _ => vec![format!("{name} = {expression}")],
            };
            lines.push(format!("value {}", Quantity::of(&node.value)));
            if let Some(grad) = grads.and_then(|g| g.by_id(id)) {
                lines.push(format!("grad {}", Quantity::of(grad)));
            }
            let label: Vec<String> = lines.iter().map(|l| escape(l)).collect();
            let fill = match node.op {
                Op::Leaf(Leaf::Parameter) => ", style=filled, fillcolor=lightblue",
                Op::Leaf(_) => ", style=filled, fillcolor=lightgray",
                _ => "",
            };
            let _ = writeln!(
                dot,
                "  n{id} [shape=box, label=\"{}\"{fill}];",
                label.join("\\n")
            );
        }
        for (id, node) in nodes.iter().enumerate() {
            for input in &node.inputs {
                let _ = writeln!(dot, "  n{input} -> n{id};");
            }
        }
        dot.push_str("}\n");
        dot
    }

    /// The picture of [`Graph::to_dot`] drawn as SVG, laid out in-process (no Graphviz
    /// needed): one rectangle per node, one arrow per edge. Needs the `svg` feature.
    ///
    /// # Panics
    /// When `grads` belongs to another graph.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(0.5f64).named("x");
    /// let (grads, _) = x.tanh().backward_traced();
    /// let svg = g.to_svg(Some(&grads));
    /// assert!(svg.contains("<svg"));
    /// assert_eq!(svg.matches("<rect").count(), 2);
    /// ```
    #[cfg(feature = "svg")]
    #[track_caller]
    pub fn to_svg(&self, grads: Option<&Gradients<T>>) -> String {
        use layout::backends::svg::SVGWriter;
        use layout::gv::{DotParser, GraphBuilder};

        let dot = self.to_dot(grads);
        let ast = match DotParser::new(&dot).process() {
            Ok(ast) => ast,
            Err(e) => panic!("to_svg: the DOT of to_dot does not parse ({e}):\n{dot}"),
        };
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&ast);
        let mut picture = builder.get();
        let mut svg = SVGWriter::new();
        picture.do_it(false, false, false, &mut svg);
        svg.finalize()
    }
}

/// Escapes text for a double-quoted DOT string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
