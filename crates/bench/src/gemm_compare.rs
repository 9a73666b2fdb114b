//! `gemm-compare` (built only with the `gemm-compare` feature): the engine's matrix products
//! (`matrixmultiply`, split over threads by the engine) beside the `gemm` crate's on the same
//! products, for issue 16's re-decision of the GEMM dependency on each machine type.
//!
//! Each product `C = op(A)·op(B)` of the workloads' shapes (with the transposes their backward
//! passes use) is timed through `Tensor::matmul_t` and through `gemm::gemm` writing a fresh
//! output of the same size, alternating, in f32 and f64, at `--threads` threads (gemm's own
//! rayon parallelism beyond one). Not part of the default build: gemm is not a dependency of
//! the engine, and CI need not compile it.

use std::fmt::Write as _;
use std::time::Duration;

use chainrule_autodiff::{Float, Tensor};
use rand::{rngs::StdRng, SeedableRng};

use crate::split::time_for;
use crate::workloads::median;

/// `(m, k, n, transpose A, transpose B, where it comes from)`: `op(A)` is m×k, `op(B)` k×n.
const SHAPES: [(usize, usize, usize, bool, bool, &str); 13] = [
    (32, 64, 128, false, false, "mlp-digits dense1"),
    (32, 128, 128, false, false, "mlp-digits dense2"),
    (32, 128, 64, false, true, "mlp-digits dense2 ∂X"),
    (128, 32, 128, true, false, "mlp-digits dense2 ∂W"),
    (32, 128, 512, false, false, "lstm-seq step h·W_h"),
    (32, 512, 128, false, true, "lstm-seq step ∂h"),
    (128, 32, 512, true, false, "lstm-seq step ∂W_h"),
    (256, 512, 512, false, false, "mlp-wide dense2"),
    (64, 576, 1024, false, false, "conv-32 im2col product"),
    (576, 64, 1024, true, false, "conv-32 ∂X columns"),
    (64, 1024, 576, false, true, "conv-32 ∂W"),
    (512, 512, 512, false, false, "square"),
    (1024, 1024, 1024, false, false, "matmul-1024"),
];

/// The table of both element types at `threads` threads.
pub fn gemm_compare(rounds: usize, threads: usize) -> Result<String, String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| product m×k×n | from | type | engine (µs) | gemm (µs) | engine GFLOP/s | gemm GFLOP/s | gemm speed-up |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    );
    for row in SHAPES {
        compare::<f32>(row, rounds, threads, &mut out)?;
        compare::<f64>(row, rounds, threads, &mut out)?;
    }
    Ok(out)
}

/// Checks that the two products agree, times them, `rounds` alternations, and appends the row.
fn compare<T: Float + 'static>(
    (m, k, n, transpose_a, transpose_b, origin): (usize, usize, usize, bool, bool, &str),
    rounds: usize,
    threads: usize,
    out: &mut String,
) -> Result<(), String> {
    let budget = Duration::from_millis(40);
    let mut rng = StdRng::seed_from_u64(0);
    let stored = |rows: usize, cols: usize, transposed: bool| {
        if transposed {
            [cols, rows]
        } else {
            [rows, cols]
        }
    };
    let a = Tensor::<T>::rand_normal(&stored(m, k, transpose_a), T::zero(), T::one(), &mut rng);
    let b = Tensor::<T>::rand_normal(&stored(k, n, transpose_b), T::zero(), T::one(), &mut rng);
    // gemm takes (column stride, row stride) for each matrix; C is row-major.
    let strides = |rows: usize, cols: usize, transposed: bool| -> (isize, isize) {
        if transposed {
            (rows as isize, 1)
        } else {
            (1, cols as isize)
        }
    };
    let (a_cs, a_rs) = strides(m, k, transpose_a);
    let (b_cs, b_rs) = strides(k, n, transpose_b);
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let peer_product = || {
        let mut c: Vec<T> = Vec::with_capacity(m * n);
        // SAFETY: A and B hold op(A) and op(B) at the strides given; C has room for m·n elements,
        // every one of which gemm writes (read_dst false), and aliases neither.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_slice().as_ptr(),
                a_cs,
                a_rs,
                b.as_slice().as_ptr(),
                b_cs,
                b_rs,
                T::zero(),
                T::one(),
                false,
                false,
                false,
                parallelism,
            );
            c.set_len(m * n);
        }
        c
    };
    // The two must agree before their times mean anything.
    let (expected, got) = (a.matmul_t(&b, transpose_a, transpose_b), peer_product());
    let differs = expected.as_slice().iter().zip(&got).any(|(&x, &y)| {
        let (x, y) = (x.to_f64_exact(), y.to_f64_exact());
        (x - y).abs() > 1e-4 * (1.0 + x.abs()) * k as f64
    });
    if differs {
        return Err(format!(
            "gemm-compare: gemm's {m}×{k}×{n} ({origin}) product differs from the engine's"
        ));
    }
    let mut engine = || {
        std::hint::black_box(a.matmul_t(&b, transpose_a, transpose_b));
    };
    let mut peer = || {
        std::hint::black_box(peer_product());
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(median(&time_for(budget, &mut engine)) * 1e6);
        theirs.push(median(&time_for(budget, &mut peer)) * 1e6);
    }
    let (ours, theirs) = (median(&ours), median(&theirs));
    let gflops = |us: f64| 2.0 * (m * k * n) as f64 / us / 1e3;
    eprintln!(
        "gemm-compare: {m}×{k}×{n} ({origin}) {}: engine {ours:.1} µs, gemm {theirs:.1} µs",
        T::NAME
    );
    let _ = writeln!(
        out,
        "| {m}×{k}×{n} | {origin} | {} | {ours:.1} | {theirs:.1} | {:.1} | {:.1} | {:.2} |",
        T::NAME,
        gflops(ours),
        gflops(theirs),
        ours / theirs
    );
    Ok(())
}
