//! `Graph::no_grad`: evaluation that computes what a recording graph computes, records nothing
//! backward needs, and refuses to be differentiated with a message that says why.

use chainrule_autodiff::{grad, grad_vars, Graph, Tensor, Var};
use proptest::prelude::*;

/// A small model exercising several op families: matmul, broadcast add, tanh, a reduction, a
/// softmax and a three-input `where`.
fn model<'g>(g: &'g Graph<f64>, x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>) -> Var<'g, f64> {
    let x = g.input(x.clone());
    let w = g.param(w.clone());
    let b = g.param(b.clone());
    let hidden = (x.matmul(w) + b).tanh();
    let mask = g.constant(hidden.value().map(|v| if v > 0.0 { 1.0 } else { 0.0 }));
    let gated = Var::where_(mask, hidden, hidden * 0.5);
    gated.softmax(-1).sum_axis(0, false) + gated.mean()
}

fn tensor(shape: &[usize]) -> impl Strategy<Value = Tensor<f64>> {
    let shape = shape.to_vec();
    let n: usize = shape.iter().product();
    prop::collection::vec(-2.0f64..2.0, n).prop_map(move |v| Tensor::from_vec(v, &shape))
}

proptest! {
    #[test]
    fn no_grad_computes_exactly_what_a_recording_graph_computes(
        (x, w, b) in (1usize..5, 1usize..4, 1usize..4).prop_flat_map(|(n, d, h)| {
            (tensor(&[n, d]), tensor(&[d, h]), tensor(&[h]))
        })
    ) {
        let recording = Graph::new();
        let evaluating = Graph::no_grad();
        let expected = model(&recording, &x, &w, &b).value();
        let got = model(&evaluating, &x, &w, &b).value();
        prop_assert_eq!(got.shape(), expected.shape());
        prop_assert_eq!(got.to_vec(), expected.to_vec());
        // The same number of nodes, the same ops: only what backward needs is missing.
        prop_assert_eq!(evaluating.len(), recording.len());
    }
}

#[test]
fn a_no_grad_graph_records_no_links_and_no_gradient_wishes() {
    let g = Graph::no_grad();
    let x = Tensor::from_vec(vec![1.0, -2.0, 0.5, 3.0], &[2, 2]);
    let out = model(&g, &x, &Tensor::ones(&[2, 3]), &Tensor::zeros(&[3]));
    assert!(!g.is_grad_enabled());
    assert!(!out.requires_grad());
    let nodes = g.nodes();
    assert!(nodes
        .iter()
        .all(|n| !n.requires_grad && n.inputs.is_empty()));
    // The ops are still named, so a NaN during evaluation is reported by op.
    assert!(nodes.iter().any(|n| n.op.name() == "matmul"));
    // The recording graph of the same model does keep links and wishes.
    let recording = Graph::new();
    let out = model(&recording, &x, &Tensor::ones(&[2, 3]), &Tensor::zeros(&[3]));
    assert!(out.requires_grad());
    assert!(recording.nodes().iter().any(|n| !n.inputs.is_empty()));
}

fn panic_message(f: impl FnOnce()) -> String {
    let error = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
    error
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| error.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap()
}

/// A way to differentiate, by the name its panic starts with.
type Differentiate = (&'static str, fn(Var<'_, f64>));

#[test]
fn differentiating_a_no_grad_graph_panics_naming_the_call_and_no_grad() {
    let calls: [Differentiate; 6] = [
        ("backward:", |y| drop(y.backward())),
        ("backward_create_graph:", |y| {
            drop(y.backward_create_graph())
        }),
        ("backward_traced:", |y| drop(y.backward_traced())),
        ("grad:", |y| drop(grad(&[y], None, &[y]))),
        ("grad_vars:", |y| drop(grad_vars(&[y], None, &[y]))),
        ("requires_grad_:", |_| {}),
    ];
    for (name, call) in calls {
        let message = panic_message(|| {
            let g = Graph::no_grad();
            let x = g.input(Tensor::scalar(3.0));
            if name == "requires_grad_:" {
                x.requires_grad_();
            }
            let w = g.scalar(2.0);
            call((x * w).tanh());
        });
        assert!(message.starts_with(name), "{name}: {message}");
        assert!(message.contains("Graph::no_grad()"), "{message}");
        assert!(message.contains("Graph::new()"), "{message}");
        assert!(
            message.contains("no_grad.rs"),
            "names the caller: {message}"
        );
    }
}
