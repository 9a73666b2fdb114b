//! The parameter store: binding into a step's graph shares storage and happens once per graph,
//! gradients are found through the binding, and updates after the step are in place.

use chainrule_autodiff::{Graph, ParamKind, ParamStore, Tensor};

fn store() -> ParamStore<f64> {
    let mut params = ParamStore::new();
    params.insert(
        "w",
        Tensor::from_vec(vec![1.0, 2.0], &[2]),
        ParamKind::Weight,
    );
    params.insert("b", Tensor::scalar(0.5), ParamKind::Bias);
    params
}

#[test]
fn binding_twice_in_one_graph_gives_one_leaf_with_the_summed_gradient() {
    let params = store();
    let w = params.id("w").unwrap();
    let g = Graph::new();
    let first = params.bind(&g, w);
    let second = params.bind(&g, w);
    assert_eq!(first.id(), second.id());
    assert!(first.value().shares_storage(params.value(w)));
    let loss = (first * 3.0 + second * second).sum();
    let grads = loss.backward();
    assert_eq!(params.grad(&grads, w).unwrap().to_vec(), vec![5.0, 7.0]);
}

#[test]
fn a_parameter_not_bound_in_the_step_has_no_gradient() {
    let params = store();
    let (w, b) = (params.id("w").unwrap(), params.id("b").unwrap());
    let g = Graph::new();
    let grads = params.bind(&g, w).sum().backward();
    assert!(params.grad(&grads, b).is_none());
    assert!(params.bound(&g, b).is_none());
}

#[test]
#[should_panic(expected = "ParamStore::grad: the gradients come from graph")]
fn gradients_of_another_graph_are_refused() {
    let params = store();
    let w = params.id("w").unwrap();
    let g1 = Graph::new();
    let grads = params.bind(&g1, w).sum().backward();
    let g2 = Graph::new();
    let _ = params.bind(&g2, w);
    let _ = params.grad(&grads, w);
}

#[test]
fn updates_after_the_step_write_in_place() {
    let mut params = store();
    let w = params.id("w").unwrap();
    let before = params.value(w).storage_ptr();
    let step = {
        let g = Graph::new();
        let grads = (params.bind(&g, w) * params.bind(&g, w)).sum().backward();
        params.grad(&grads, w).unwrap().clone()
    };
    for (p, d) in params
        .value_mut(w)
        .data_mut()
        .iter_mut()
        .zip(step.as_slice())
    {
        *p -= 0.25 * d;
    }
    assert_eq!(params.value(w).storage_ptr(), before);
    assert_eq!(params.value(w).to_vec(), vec![0.5, 1.0]);
}

#[test]
fn kinds_names_and_order_are_kept() {
    let params = store();
    let listed: Vec<_> = params
        .iter()
        .map(|(_, name, p)| (name.to_string(), p.kind))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("w".to_string(), ParamKind::Weight),
            ("b".to_string(), ParamKind::Bias)
        ]
    );
    assert_eq!(params.num_elements(), 3);
    assert_eq!(
        ParamKind::parse(ParamKind::Bias.as_str()),
        Some(ParamKind::Bias)
    );
}

#[test]
#[should_panic(expected = "a parameter named \"w\" already exists")]
fn duplicate_names_are_refused() {
    let mut params = store();
    params.insert("w", Tensor::scalar(0.0), ParamKind::Weight);
}
