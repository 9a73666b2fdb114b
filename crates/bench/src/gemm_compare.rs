//! `gemm-compare`: the two GEMM libraries the engine chooses between, `matrixmultiply` and
//! `gemm`, side by side on the workloads' products, with the engine's own product (which calls
//! one or the other, per [`chainrule_autodiff::Float::gemm`]) beside them — the measurement
//! behind issue 16's re-decision of the GEMM dependency, to repeat on each machine type.
//!
//! Each product `C = op(A)·op(B)` (with the transposes the backward passes use) is timed on one
//! thread through each library writing a fresh output, and through `Tensor::matmul_t` with the
//! engine set to one thread, alternating, `--runs` rounds, in f32 and f64.

use std::fmt::Write as _;
use std::time::Duration;

use chainrule_autodiff::{operand_strides, set_num_threads, Float, Tensor};
use rand::{rngs::StdRng, SeedableRng};

use crate::split::time_for;
use crate::workloads::median;

/// `(m, k, n, transpose A, transpose B, where it comes from)`: `op(A)` is m×k, `op(B)` k×n.
const SHAPES: [(usize, usize, usize, bool, bool, &str); 22] = [
    (32, 64, 128, false, false, "mlp-digits dense1"),
    (32, 128, 128, false, false, "mlp-digits dense2"),
    (32, 128, 128, false, true, "mlp-digits dense2 ∂X"),
    (128, 32, 128, true, false, "mlp-digits dense2 ∂W"),
    (128, 32, 10, true, false, "mlp-digits output ∂W"),
    (32, 128, 512, false, false, "lstm-seq step h·W_h"),
    (32, 512, 128, false, true, "lstm-seq step ∂h"),
    (128, 32, 512, true, false, "lstm-seq step ∂W_h"),
    (256, 512, 512, false, false, "mlp-wide dense2"),
    (16, 9, 4096, false, false, "conv-digits conv1"),
    (16, 4096, 9, false, true, "conv-digits conv1 ∂W"),
    (32, 144, 1024, false, false, "conv-digits conv2"),
    (144, 32, 1024, true, false, "conv-digits conv2 ∂X columns"),
    (32, 1024, 144, false, true, "conv-digits conv2 ∂W"),
    (64, 576, 1024, false, false, "conv-32 im2col product"),
    (576, 64, 1024, true, false, "conv-32 ∂X columns"),
    (64, 1024, 576, false, true, "conv-32 ∂W"),
    (64, 768, 576, false, true, "conv-32 ∂W, 768 terms"),
    (64, 1024, 576, false, false, "conv-32 ∂W's shape, B by rows"),
    (32, 1024, 16, false, true, "B by columns, 16 columns"),
    (512, 512, 512, false, false, "square"),
    (1024, 1024, 1024, false, false, "matmul-1024"),
];

/// The table of both element types.
pub fn gemm_compare(rounds: usize) -> Result<String, String> {
    set_num_threads(1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| product m×k×n | from | type | matrixmultiply (µs) | gemm (µs) | gemm speed-up | engine (µs) |"
    );
    let _ = writeln!(out, "| --- | --- | --- | ---: | ---: | ---: | ---: |");
    for row in SHAPES {
        compare::<f32>(row, rounds, &mut out)?;
        compare::<f64>(row, rounds, &mut out)?;
    }
    Ok(out)
}

/// One library's product into a fresh m×n row-major C.
type Library<T> = unsafe fn(
    (usize, usize, usize),
    *const T,
    (isize, isize),
    *const T,
    (isize, isize),
    *mut T,
    (isize, isize),
);

/// The two libraries for one element type.
trait Libraries: Float {
    const MATRIXMULTIPLY: Library<Self>;
}

impl Libraries for f32 {
    const MATRIXMULTIPLY: Library<f32> =
        |(m, k, n), a, (rsa, csa), b, (rsb, csb), c, (rsc, csc)| unsafe {
            matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, 0.0, c, rsc, csc)
        };
}

impl Libraries for f64 {
    const MATRIXMULTIPLY: Library<f64> =
        |(m, k, n), a, (rsa, csa), b, (rsb, csb), c, (rsc, csc)| unsafe {
            matrixmultiply::dgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, 0.0, c, rsc, csc)
        };
}

/// gemm's product, one thread, C written without being read.
///
/// # Safety
/// The pointers hold the matrices at the strides given; C has room for m·n and aliases neither.
unsafe fn gemm_crate<T: Float>(
    (m, k, n): (usize, usize, usize),
    a: *const T,
    (rsa, csa): (isize, isize),
    b: *const T,
    (rsb, csb): (isize, isize),
    c: *mut T,
    (rsc, csc): (isize, isize),
) {
    gemm::gemm(
        m,
        n,
        k,
        c,
        csc,
        rsc,
        false,
        a,
        csa,
        rsa,
        b,
        csb,
        rsb,
        T::zero(),
        T::one(),
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}

/// Checks that the three products agree, times them, `rounds` alternations, and appends the row.
fn compare<T: Libraries>(
    (m, k, n, transpose_a, transpose_b, origin): (usize, usize, usize, bool, bool, &str),
    rounds: usize,
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
    let a_strides = operand_strides(m, k, transpose_a);
    let b_strides = operand_strides(k, n, transpose_b);
    let product = |library: Library<T>| {
        let mut c: Vec<T> = Vec::with_capacity(m * n);
        // SAFETY: A and B hold op(A) and op(B) at the strides given; C has room for m·n
        // elements, every one of which the library writes (beta zero), and aliases neither.
        unsafe {
            library(
                (m, k, n),
                a.as_slice().as_ptr(),
                a_strides,
                b.as_slice().as_ptr(),
                b_strides,
                c.as_mut_ptr(),
                (n as isize, 1),
            );
            c.set_len(m * n);
        }
        c
    };
    // The three must agree before their times mean anything.
    let expected = a.matmul_t(&b, transpose_a, transpose_b);
    for (name, got) in [
        ("matrixmultiply", product(T::MATRIXMULTIPLY)),
        ("gemm", product(gemm_crate::<T>)),
    ] {
        let differs = expected.as_slice().iter().zip(&got).any(|(&x, &y)| {
            let (x, y) = (x.to_f64_exact(), y.to_f64_exact());
            (x - y).abs() > 1e-4 * (1.0 + x.abs()) * k as f64
        });
        if differs {
            return Err(format!(
                "gemm-compare: {name}'s {m}×{k}×{n} ({origin}) product differs from the engine's"
            ));
        }
    }
    let mut timings = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        timings[0].push(median(&time_for(budget, &mut || {
            std::hint::black_box(product(T::MATRIXMULTIPLY));
        })));
        timings[1].push(median(&time_for(budget, &mut || {
            std::hint::black_box(product(gemm_crate::<T>));
        })));
        timings[2].push(median(&time_for(budget, &mut || {
            std::hint::black_box(a.matmul_t(&b, transpose_a, transpose_b));
        })));
    }
    let [mm, gemm, engine] = timings.map(|t| median(&t) * 1e6);
    eprintln!(
        "gemm-compare: {m}×{k}×{n} ({origin}) {}: matrixmultiply {mm:.1} µs, gemm {gemm:.1} µs, engine {engine:.1} µs",
        T::NAME
    );
    let _ = writeln!(
        out,
        "| {m}×{k}×{n} | {origin} | {} | {mm:.1} | {gemm:.1} | {:.2} | {engine:.1} |",
        T::NAME,
        mm / gemm
    );
    Ok(())
}

/// `gemm-orientation`: for f32 products over a grid of shapes and all four transpositions,
/// gemm straight into C's rows against gemm into a column-major scratch copied into C
/// (`chainrule_autodiff::gemm_by_columns`), one thread, `rounds` alternations: one table per
/// transposition, each cell the scratch way's time relative to the row-major way's (negative:
/// the scratch way is faster), starred where the engine takes the scratch way
/// (`chainrule_autodiff::column_major_is_faster`) — the measurement behind that rule.
pub fn gemm_orientation(rounds: usize) -> Result<String, String> {
    set_num_threads(1);
    let budget = Duration::from_millis(4);
    let (ms, ks) = ([16, 32, 64, 128, 256], [16, 32, 64, 128, 512]);
    let ns = [2, 4, 8, 10, 12, 16, 32, 128, 512, 1024];
    let mut out = String::new();
    for (transpose_a, transpose_b) in [(false, false), (false, true), (true, false), (true, true)] {
        let name = |t: bool, x: &str| if t { format!("{x}ᵀ") } else { x.to_string() };
        let _ = writeln!(
            out,
            "\n{}·{}: the scratch way's time against the row-major way's (* the engine's choice)\n",
            name(transpose_a, "A"),
            name(transpose_b, "B")
        );
        let header: String = ns.iter().map(|n| format!(" n = {n} |")).collect();
        let _ = writeln!(out, "| m | k |{header}");
        let _ = writeln!(out, "| ---: | ---: |{}", " ---: |".repeat(ns.len()));
        for m in ms {
            for k in ks {
                let mut row = format!("| {m} | {k} |");
                for n in ns {
                    let ratio =
                        orientation_ratio((m, k, n), (transpose_a, transpose_b), budget, rounds);
                    let star = if chainrule_autodiff::column_major_is_faster(
                        m,
                        k,
                        n,
                        transpose_a,
                        transpose_b,
                    ) {
                        "*"
                    } else {
                        ""
                    };
                    let _ = write!(row, " {:+.0}%{star} |", (ratio - 1.0) * 100.0);
                }
                eprintln!("{row}");
                let _ = writeln!(out, "{row}");
            }
        }
    }
    Ok(out)
}

/// The scratch way's median time over the row-major way's for one f32 product.
fn orientation_ratio(
    (m, k, n): (usize, usize, usize),
    (transpose_a, transpose_b): (bool, bool),
    budget: Duration,
    rounds: usize,
) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect();
    let a_strides = operand_strides(m, k, transpose_a);
    let b_strides = operand_strides(k, n, transpose_b);
    let mut c = vec![0.0f32; m * n];
    let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    let (mut by_rows, mut by_columns) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        // SAFETY (both): A and B hold op(A) and op(B) at their strides; C holds m rows of n.
        by_rows.push(median(&time_for(budget, &mut || unsafe {
            gemm_crate((m, k, n), a, a_strides, b, b_strides, c, (n as isize, 1));
        })));
        by_columns.push(median(&time_for(budget, &mut || unsafe {
            chainrule_autodiff::gemm_by_columns(m, k, n, a, a_strides, b, b_strides, c, n as isize);
        })));
    }
    median(&by_columns) / median(&by_rows)
}
