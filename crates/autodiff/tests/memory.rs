//! A 10,000-step loop of build graph → backward → update keeps memory flat.
//!
//! A counting allocator measures the bytes alive at step 1,000 and at step 10,000: they must be
//! equal, since each step's graph and gradients are dropped at the end of the step. (The first
//! steps are left out so that anything set up once, lazily, on first use does not count.) The
//! loop
//! also checks that updating a parameter writes into its own storage: binding it into a graph
//! shares the storage, and once the graph is gone nothing else holds it, so nothing is cloned.
//!
//! This file runs without the test harness (`harness = false`) so that no other thread
//! allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use chainrule_autodiff::{Graph, Tensor};
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

fn main() {
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
    println!("1 passed, 0 failed");
}
