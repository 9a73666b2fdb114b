//! A 10,000-step loop of build graph → backward → update keeps memory flat.
//!
//! A counting allocator measures the bytes alive at step 1,000 and at step 10,000: they must be
//! equal, since each step's graph and gradients are dropped at the end of the step. (The first
//! steps are left out so that anything set up once, lazily, on first use does not count.) The
//! loop
//! also checks that updating a parameter writes into its own storage: binding it into a graph
//! shares the storage, and once the graph is gone nothing else holds it, so nothing is cloned.
//!
//! A second loop does the same for a graph that mixes every kind of node dropping must free —
//! one-element nodes that own nothing beside tensors, boxed shape and convolution ops,
//! a user-defined op (shared), a fused op holding its labels, nodes with more than two inputs,
//! a one-element tensor of rank 3 — swept with and without keeping every gradient: dropping a
//! graph and its gradients visits only the nodes and slots that own heap memory, and a node
//! it wrongly skipped would show here as growth.
//!
//! This file runs without the test harness (`harness = false`) so that no other thread
//! allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use chainrule_autodiff::{BackwardOptions, Conv2dOptions, CustomOp, Graph, Tensor, Var};
use rand::SeedableRng;

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `2·x`, whose rule also returns a gradient for its second input, wanted or not.
struct DoubleFirst;

impl CustomOp<f64> for DoubleFirst {
    fn name(&self) -> &'static str {
        "double_first"
    }
    fn formula(&self) -> &'static str {
        "∂y/∂x = 2"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0] * 2.0
    }
    fn backward(
        &self,
        inputs: &[&Tensor<f64>],
        _output: &Tensor<f64>,
        grad: &Tensor<f64>,
        _wants: &[bool],
    ) -> Vec<Option<Tensor<f64>>> {
        vec![Some(grad * 2.0), Some(Tensor::zeros(inputs[1].shape()))]
    }
}

/// One step on a graph of every kind of node; the loss.
fn mixed_step(retain_all: bool, rng: &mut rand::rngs::StdRng) -> f64 {
    let g = Graph::new();
    let image = g.input(Tensor::rand_normal(&[1, 1, 4, 4], 0.0, 1.0, rng));
    let filter = g.param(Tensor::rand_normal(&[2, 1, 3, 3], 0.0, 1.0, rng));
    let features = image
        .conv2d(filter, None, Conv2dOptions::default())
        .reshape(&[2, 4]);
    let parts = [features.narrow(1, 0, 2), features.narrow(1, 2, 2), features];
    let wide = Var::concat(&parts, 1);
    let mask = g.constant(Tensor::from_vec(vec![1.0, 0.0], &[2, 1]));
    let chosen = Var::where_(mask, wide, wide * 0.5);
    let doubled = Var::custom(DoubleFirst, &[chosen, g.constant(Tensor::zeros(&[2, 8]))]);
    let cross_entropy = doubled.softmax_cross_entropy(&[1, 3]);
    let deep = g.param(Tensor::from_vec(vec![0.5], &[1, 1, 1]));
    let x = g.input(Tensor::from_vec(vec![0.25], &[])).requires_grad_();
    let mut scalar = g.scalar(0.3) * x;
    for _ in 0..50 {
        scalar = (scalar * 1.01 + 0.1).tanh();
    }
    // One-element values whose ops own heap memory: a user-defined op, a boxed reshape.
    let scalar = Var::custom(DoubleFirst, &[scalar, g.scalar(0.0)]);
    let deep = deep.reshape(&[1]).sum();
    let loss = cross_entropy + scalar + deep * scalar;
    let options = BackwardOptions {
        retain_all,
        ..Default::default()
    };
    let grads = loss.backward_with(options);
    std::hint::black_box(grads[filter].as_slice()[0] + grads[x].item());
    loss.item()
}

/// The mixed graph's loop: bytes alive after step 50 and after step 500 are the same.
fn every_kind_of_node_is_freed() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut live_at_step_50 = 0;
    for step in 1..=500 {
        let loss = mixed_step(step % 2 == 0, &mut rng);
        assert!(loss.is_finite(), "step {step}: loss {loss}");
        if step == 50 {
            live_at_step_50 = LIVE_BYTES.load(Ordering::SeqCst);
        }
    }
    let live_at_end = LIVE_BYTES.load(Ordering::SeqCst);
    assert_eq!(
        live_at_end, live_at_step_50,
        "memory grew between step 50 and step 500 of the mixed graph"
    );
    println!(
        "memory: the mixed graph frees every node ({live_at_end} bytes alive at steps 50 and 500)"
    );
}

fn main() {
    every_kind_of_node_is_freed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let x = Tensor::<f64>::rand_normal(&[16, 8], 0.0, 1.0, &mut rng);
    let labels: Vec<usize> = (0..16).map(|i| i % 4).collect();
    let mut w1 = Tensor::<f64>::rand_normal(&[8, 32], 0.0, 0.3, &mut rng);
    let mut b1 = Tensor::<f64>::zeros(&[32]);
    let mut w2 = Tensor::<f64>::rand_normal(&[32, 4], 0.0, 0.3, &mut rng);
    let storage = [w1.storage_ptr(), b1.storage_ptr(), w2.storage_ptr()];

    let mut live_at_step_1000 = 0;
    let mut first_loss = 0.0;
    let mut last_loss = 0.0;
    for step in 1..=10_000 {
        let loss_value = {
            let g = Graph::new();
            let input = g.input(x.clone());
            let (p1, pb, p2) = (
                g.param(w1.clone()),
                g.param(b1.clone()),
                g.param(w2.clone()),
            );
            let logits = (input.matmul(p1) + pb).tanh().matmul(p2);
            let loss = logits.softmax_cross_entropy(&labels);
            let grads = loss.backward();
            let (g1, gb, g2) = (grads[p1].clone(), grads[pb].clone(), grads[p2].clone());
            let loss_value = loss.item();
            drop(grads);
            drop(g);
            // Only our own handles remain, so these updates are in place.
            for (param, grad) in [(&mut w1, g1), (&mut b1, gb), (&mut w2, g2)] {
                for (p, d) in param.data_mut().iter_mut().zip(grad.as_slice()) {
                    *p -= 0.01 * d;
                }
            }
            loss_value
        };
        if step == 1 {
            first_loss = loss_value;
        }
        last_loss = loss_value;
        if step == 1_000 {
            live_at_step_1000 = LIVE_BYTES.load(Ordering::SeqCst);
        }
    }
    let live_at_end = LIVE_BYTES.load(Ordering::SeqCst);
    assert_eq!(
        [w1.storage_ptr(), b1.storage_ptr(), w2.storage_ptr()],
        storage,
        "a parameter's storage was cloned during the loop"
    );
    assert_eq!(
        live_at_end, live_at_step_1000,
        "memory grew between step 1,000 and step 10,000"
    );
    assert!(
        last_loss < first_loss,
        "the loop trained: {first_loss} → {last_loss}"
    );
    println!(
        "memory: {live_at_end} bytes alive at step 10,000, as at step 1,000; loss {first_loss:.4} → {last_loss:.4}"
    );
    println!("2 passed, 0 failed");
}
