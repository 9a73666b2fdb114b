//! Work spread over threads gives what one thread gives: matrix products cut into blocks of C,
//! convolutions whose chunks of images are spread over the threads, and max pooling cut into
//! runs of planes, checked against the same calls on one thread.
//!
//! A test binary of its own, because it changes the process-wide thread count and split
//! threshold: `set_split_work(0)` forces the split on shapes small enough for a test, so the
//! threaded paths run here at a fraction of the size that triggers them in training.

use chainrule_autodiff::{
    run_parts, set_num_threads, set_split_work, Conv2dOptions, Graph, Pool2dOptions, Tensor,
    DEFAULT_SPLIT_WORK,
};
use rand::{rngs::StdRng, SeedableRng};

fn random(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_normal(shape, 0.0, 1.0, &mut StdRng::seed_from_u64(seed))
}

fn assert_close(what: &str, threaded: &Tensor<f64>, one_thread: &Tensor<f64>) {
    assert_eq!(threaded.shape(), one_thread.shape(), "{what}");
    for (i, (x, y)) in threaded
        .as_slice()
        .iter()
        .zip(one_thread.as_slice())
        .enumerate()
    {
        assert!(
            (x - y).abs() <= 1e-12 * y.abs().max(1.0),
            "{what}, element {i}: {x} on 2 threads, {y} on 1"
        );
    }
}

/// Computes `f` on one thread, then on `threads` threads with every product and every batch
/// of convolution chunks split, and returns both.
fn one_and_many<R>(threads: usize, f: impl Fn() -> R) -> (R, R) {
    set_num_threads(1);
    let one = f();
    set_num_threads(threads);
    set_split_work(0);
    let many = f();
    (one, many)
}

#[test]
fn threaded_work_matches_one_thread() {
    // Convolutions: [batch, channels, h, w] with a 3×3 kernel. 16 channels of 32×32 make chunks
    // of 7 images (a last chunk of 3 of a batch of 17); 16 channels of 64×64, chunks of one
    // image. Padding, stride and groups vary the geometry each chunk is cut with.
    let cases = [
        (
            [17, 16, 32, 32],
            [6, 16, 3, 3],
            Conv2dOptions::new().padding(1),
        ),
        ([3, 16, 64, 64], [4, 16, 3, 3], Conv2dOptions::new()),
        (
            [9, 16, 32, 32],
            [8, 8, 3, 3],
            Conv2dOptions::new().stride(2).padding(1).groups(2),
        ),
    ];
    for threads in [2, 3] {
        for (seed, (input, weight, options)) in cases.into_iter().enumerate() {
            let seed = seed as u64;
            let (x, w) = (random(&input, seed), random(&weight, seed + 10));
            let kernel = [weight[2], weight[3]];
            let what = |op: &str| format!("{op} of {input:?} by {weight:?} on {threads} threads");
            let (one, many) = one_and_many(threads, || x.conv2d(&w, options));
            assert_close(&what("conv2d"), &many, &one);
            let g = random(one.shape(), seed + 20);
            let (one, many) = one_and_many(threads, || g.conv_transpose2d(&w, options));
            assert_close(&what("conv_transpose2d"), &many, &one);
            let (one, many) = one_and_many(threads, || x.conv2d_weight(&g, options, kernel));
            assert_close(&what("conv2d_weight"), &many, &one);
        }
        // Max pooling cut into runs of planes: 2×2 windows (the unrolled path) and 3×3 with
        // stride 2 and padding (the general walk), over plane counts that do and do not divide
        // among the threads; the indices too, since the backward takes them.
        let pools = [
            ([5, 3, 8, 8], Pool2dOptions::new(2)),
            ([4, 4, 7, 9], Pool2dOptions::new(3).stride(2).padding(1)),
        ];
        for (seed, (input, options)) in pools.into_iter().enumerate() {
            let x = random(&input, 30 + seed as u64);
            let (one, many) = one_and_many(threads, || x.max_pool2d_with_indices(options));
            let what = format!("max_pool2d of {input:?} on {threads} threads");
            assert_close(&what, &many.0, &one.0);
            assert_eq!(many.1, one.1, "{what}: indices");
            // Its backward, a scatter along the last axis cut into runs of rows: a gradient
            // per output added at the indices, into planes of the input's size.
            let (planes, plane) = (input[0] * input[1], input[2] * input[3]);
            let g = random(&[planes, one.1.len() / planes], 50 + seed as u64);
            let (one, many) = one_and_many(threads, || g.scatter_add(-1, &one.1, plane));
            assert_close(&format!("scatter_add of {what}"), &many, &one);
        }
        // A convolution's weight gradient on more threads than its forward ran on: the
        // patch matrices the forward kept are cut into other chunks than the backward's, which
        // then builds its own.
        let (x, w) = (random(&[17, 16, 32, 32], 40), random(&[6, 16, 3, 3], 41));
        let weight_gradient = |forward_threads: usize, backward_threads: usize| {
            set_num_threads(forward_threads);
            set_split_work(if forward_threads > 1 {
                0
            } else {
                DEFAULT_SPLIT_WORK
            });
            let g = Graph::new();
            let (xv, wv) = (g.input(x.clone()), g.param(w.clone()));
            let loss = xv
                .conv2d(wv, None, Conv2dOptions::new().padding(1))
                .square()
                .sum();
            set_num_threads(backward_threads);
            set_split_work(if backward_threads > 1 {
                0
            } else {
                DEFAULT_SPLIT_WORK
            });
            loss.backward()[wv].clone()
        };
        let one = weight_gradient(1, 1);
        let what = format!("conv2d weight gradient, forward on 1 thread, backward on {threads}");
        assert_close(&what, &weight_gradient(1, threads), &one);
        let what = format!("conv2d weight gradient, forward on {threads} threads, backward on 1");
        assert_close(&what, &weight_gradient(threads, 1), &one);
        // A product cut into blocks of columns, and a tall one into blocks of rows.
        for (m, k, n) in [(24, 40, 300), (300, 40, 24)] {
            let (a, b) = (random(&[m, k], 1), random(&[k, n], 2));
            let (one, many) = one_and_many(threads, || a.matmul(&b));
            assert_close(&format!("{m}×{k}×{n} on {threads} threads"), &many, &one);
        }
    }
}

/// A product's two input gradients, which two threads compute side by side when each is too
/// small to be split but large enough to pay for a thread, are the gradients one thread
/// computes: for each combination of transposes, and for a batch against a shared matrix.
#[test]
fn a_products_two_gradients_side_by_side_match_one_thread() {
    // 64×64×96 and the batch's 4·16×64×96: 393,216 multiply-adds per product.
    let (m, k, n) = (64, 64, 96);
    for (transpose_a, transpose_b) in [(false, false), (false, true), (true, false), (true, true)] {
        let a = random(&if transpose_a { [k, m] } else { [m, k] }, 60);
        let b = random(&if transpose_b { [n, k] } else { [k, n] }, 61);
        let gradients = |threads: usize| {
            set_num_threads(threads);
            let g = Graph::new();
            let (av, bv) = (g.param(a.clone()), g.param(b.clone()));
            // Squared, so that ∂L/∂C is not all ones and a transposed gradient would show.
            let grads = av
                .matmul_t(bv, transpose_a, transpose_b)
                .square()
                .sum()
                .backward();
            (grads[av].clone(), grads[bv].clone())
        };
        let (one, two) = (gradients(1), gradients(2));
        let what = format!(
            "A{} B{}",
            if transpose_a { "ᵀ" } else { "" },
            if transpose_b { "ᵀ" } else { "" }
        );
        assert_close(&format!("∂L/∂A of {what}"), &two.0, &one.0);
        assert_close(&format!("∂L/∂B of {what}"), &two.1, &one.1);
    }
    let (x, w) = (random(&[4, 16, 64], 62), random(&[64, 96], 63));
    let gradients = |threads: usize| {
        set_num_threads(threads);
        let g = Graph::new();
        let (xv, wv) = (g.param(x.clone()), g.param(w.clone()));
        let grads = xv.matmul(wv).square().sum().backward();
        (grads[xv].clone(), grads[wv].clone())
    };
    let (one, two) = (gradients(1), gradients(2));
    assert_close("∂L/∂X of a batch by a shared W", &two.0, &one.0);
    assert_close("∂L/∂W of a batch by a shared W", &two.1, &one.1);
}

/// A part that panics on a helper thread reaches the caller as a panic, after the parts already
/// running are done, instead of aborting the process; the parts after it are not started.
#[test]
fn a_panicking_part_reaches_the_caller() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    set_num_threads(2);
    let started = AtomicUsize::new(0);
    // Every part panics, each after a moment's work, so that the helper claims some of them.
    let outcome = std::panic::catch_unwind(|| {
        run_parts(64, 2, &|i| {
            started.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_millis(2));
            panic!("part {i} failed");
        })
    });
    let payload = outcome.expect_err("the panic reached the caller");
    let message = payload
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(message.starts_with("part "), "{message}");
    // One part per thread at most was running when the first panicked.
    assert!(
        started.load(Ordering::Relaxed) <= 2,
        "parts kept starting after a panic"
    );
    // The threads still work afterwards.
    let (a, b) = (random(&[24, 40], 1), random(&[40, 300], 2));
    let (one, many) = one_and_many(2, || a.matmul(&b));
    assert_close("a product after a panic", &many, &one);
}
