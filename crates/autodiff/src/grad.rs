//! Gradients of chosen outputs with respect to chosen vars — PyTorch's `torch.autograd.grad`.
//!
//! [`Var::backward`] answers "the gradient of this loss for every parameter". [`grad`] and
//! [`grad_vars`] answer narrower questions, in the same one sweep:
//!
//! - with respect to exactly the vars asked — parameters, inputs marked with
//!   [`Var::requires_grad_`], or intermediate nodes — and nothing else: nodes that lead to none
//!   of them are not visited, and no other gradient is kept;
//! - from outputs of any shape with seeds (vector–Jacobian products, `⟨seed, ∂y/∂x⟩`), several
//!   outputs at once (their seeded sums add up);
//! - recorded on the graph ([`grad_vars`], PyTorch's `create_graph=True`) so the result can be
//!   differentiated again: a Hessian-vector product is two calls.

use crate::backward::{sweep, Tape};
use crate::graph::{Graph, Node, Var};
use crate::{Float, Tensor};

/// A tape with the nodes that lead to none of the wanted vars treated as leaves, so the sweep
/// stops there.
struct Pruned<'a, P: ?Sized> {
    tape: &'a P,
    /// Whether each node depends on a wanted var.
    needed: Vec<bool>,
}

impl<T: Float, P: Tape<T> + ?Sized> Tape<T> for Pruned<'_, P> {
    type Value = P::Value;

    fn gradient_table(&self, len: usize) -> Vec<Option<P::Value>> {
        self.tape.gradient_table(len)
    }

    fn is_leaf(&self, id: usize) -> bool {
        !self.needed[id] || self.tape.is_leaf(id)
    }

    fn visit(
        &self,
        id: usize,
        grad: P::Value,
        grads: &mut [Option<P::Value>],
        observer: &mut impl crate::backward::SweepObserver<T, P::Value>,
    ) {
        self.tape.visit(id, grad, grads, observer)
    }

    fn shortcut(&self, id: usize, grads: &mut [Option<P::Value>], retain_all: bool) -> bool {
        self.tape.shortcut(id, grads, retain_all)
    }
}

/// Which nodes up to `root` depend on one of `wrt` (a forward walk: the tape is in order).
fn needed<T: Float>(nodes: &[Node<T>], root: usize, wrt: &[usize]) -> Vec<bool> {
    let mut needed = vec![false; root + 1];
    for &id in wrt.iter().filter(|&&id| id <= root) {
        needed[id] = true;
    }
    for id in 0..=root {
        if !needed[id] && nodes[id].inputs.iter().any(|&i| needed[i]) {
            needed[id] = true;
        }
    }
    needed
}

/// Checks the arguments and returns the one scalar root: the output itself when it is one
/// output without a seed, else `Σ sum(outputᵢ ⊙ seedᵢ)` recorded on the graph.
#[track_caller]
fn root<'g, T: Float>(
    op: &str,
    outputs: &[Var<'g, T>],
    seeds: Option<&[Var<'g, T>]>,
    wrt: &[Var<'g, T>],
) -> Var<'g, T> {
    shape_assert!(!outputs.is_empty(), "{op}: no outputs to differentiate");
    outputs[0].graph().assert_grad_enabled(op);
    for &var in outputs.iter().chain(wrt).chain(seeds.unwrap_or_default()) {
        outputs[0].same_graph(var, op);
    }
    for &x in wrt {
        shape_assert!(
            x.requires_grad(),
            "{op}: node {} ({}) does not want a gradient: make it a parameter or an input marked with requires_grad_(), or compute it from one",
            x.id(),
            x.op().name()
        );
    }
    match seeds {
        None => {
            for &y in outputs {
                shape_assert!(
                    y.shape().iter().product::<usize>() == 1,
                    "{op}: output node {} has shape {:?}; an output of more than one element needs a seed (the vector of a vector–Jacobian product)",
                    y.id(),
                    y.shape().as_slice()
                );
            }
            if let [y] = outputs {
                return *y;
            }
            let mut total = outputs[0].sum();
            for &y in &outputs[1..] {
                total = total + y.sum();
            }
            total
        }
        Some(seeds) => {
            shape_assert!(
                seeds.len() == outputs.len(),
                "{op}: {} seeds for {} outputs",
                seeds.len(),
                outputs.len()
            );
            let mut terms = outputs.iter().zip(seeds).map(|(&y, &seed)| {
                shape_assert!(
                    y.shape() == seed.shape(),
                    "{op}: output node {} has shape {:?} but its seed {:?}",
                    y.id(),
                    y.shape().as_slice(),
                    seed.shape().as_slice()
                );
                (y * seed).sum()
            });
            let first = terms.next().expect("one output at least");
            terms.fold(first, |a, b| a + b)
        }
    }
}

/// The gradients of `outputs` with respect to exactly the vars in `wrt`, in order, computed
/// now (nothing of the backward pass is recorded). Without `seeds` each output must have one
/// element; with seeds (one per output, of its shape) the result is the vector–Jacobian
/// product `Σᵢ ⟨seedᵢ, ∂outputᵢ/∂x⟩`. A var the outputs do not depend on gets zeros. PyTorch:
/// `torch.autograd.grad(outputs, inputs, grad_outputs)`.
///
/// # Panics
/// When a var of `wrt` wants no gradient (neither a parameter, an input marked with
/// [`Var::requires_grad_`], nor computed from one), when the vars belong to different graphs,
/// when an output of several elements has no seed, or when the graph was made with
/// [`Graph::no_grad`].
///
/// ```
/// use chainrule_autodiff::{grad, Graph, Tensor};
/// let g = Graph::new();
/// let x = g.input(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3])).requires_grad_();
/// let y = x * x; // a vector output: seed it
/// let seed = Tensor::from_vec(vec![1.0, 0.0, 2.0], &[3]);
/// let [dx] = &grad(&[y], Some(&[seed]), &[x])[..] else { unreachable!() };
/// assert_eq!(dx.to_vec(), vec![2.0, 0.0, 12.0]); // seed ⊙ 2x
/// ```
#[track_caller]
pub fn grad<'g, T: Float>(
    outputs: &[Var<'g, T>],
    seeds: Option<&[Tensor<T>]>,
    wrt: &[Var<'g, T>],
) -> Vec<Tensor<T>> {
    shape_assert!(!outputs.is_empty(), "grad: no outputs to differentiate");
    let graph = outputs[0].graph();
    let seed_vars: Option<Vec<Var<'g, T>>> =
        seeds.map(|seeds| seeds.iter().map(|s| graph.constant(s.clone())).collect());
    let root = root("grad", outputs, seed_vars.as_deref(), wrt);
    let ids: Vec<usize> = wrt.iter().map(Var::id).collect();
    let nodes = graph.nodes();
    let tape = Pruned {
        tape: &nodes[..],
        needed: needed(&nodes, root.id(), &ids),
    };
    // Intermediate vars keep their gradient only if every gradient is kept.
    let retain_all = wrt.iter().any(|x| !tape.tape.is_leaf(x.id()));
    let seed = Tensor::ones(nodes[root.id()].value.shape());
    let mut grads = sweep(&tape, root.id(), seed, retain_all, &mut ());
    ids.iter()
        .map(|&id| match grads.get_mut(id).and_then(Option::take) {
            Some(gradient) => gradient,
            None => Tensor::zeros(nodes[id].value.shape()),
        })
        .collect()
}

/// [`grad`] recorded on the graph: each gradient is a var that can be differentiated again
/// (PyTorch's `create_graph=True`); the seeds are vars too. A Hessian-vector product `H·v` is
/// the gradient of `⟨∇f, v⟩`:
///
/// ```
/// use chainrule_autodiff::{grad, grad_vars, Graph, Tensor};
/// let g = Graph::new();
/// let x = g.param(Tensor::from_vec(vec![1.0f64, 2.0], &[2]));
/// let f = (x * x * x).sum(); // f = Σ x³, H = diag(6x)
/// let v = Tensor::from_vec(vec![1.0, 1.0], &[2]);
/// let gradient = grad_vars(&[f], None, &[x])[0];
/// let hv = &grad(&[gradient], Some(&[v]), &[x])[0];
/// assert_eq!(hv.to_vec(), vec![6.0, 12.0]);
/// ```
///
/// # Panics
/// As for [`grad`]; also when the sweep meets a user-defined op without a rule on vars.
#[track_caller]
pub fn grad_vars<'g, T: Float>(
    outputs: &[Var<'g, T>],
    seeds: Option<&[Var<'g, T>]>,
    wrt: &[Var<'g, T>],
) -> Vec<Var<'g, T>> {
    let root = root("grad_vars", outputs, seeds, wrt);
    let graph: &'g Graph<T> = root.graph();
    let ids: Vec<usize> = wrt.iter().map(Var::id).collect();
    let needed = needed(&graph.nodes(), root.id(), &ids);
    let tape = Pruned {
        tape: &graph,
        needed,
    };
    let seed = graph.constant(Tensor::ones(&root.shape()));
    let mut grads = sweep(&tape, root.id(), seed, true, &mut ());
    ids.iter()
        .map(|&id| match grads.get_mut(id).and_then(Option::take) {
            Some(gradient) => gradient,
            None => graph.constant(Tensor::zeros(&Var::new(graph, id).shape())),
        })
        .collect()
}
