//! `split-threshold`: where a second thread starts to pay for a matrix product — the
//! measurement behind `chainrule_autodiff::DEFAULT_SPLIT_WORK`.
//!
//! Products are the only work the engine splits over threads. This times f32 products of square
//! sizes 32…512 and of the workloads' own shapes on 1 thread and on 2 with the split forced
//! (`set_split_work(0)`), alternating the two settings so drift in the machine's speed falls on
//! both alike, and prints each shape's per-thread work and the ratio of the 1-thread time to the
//! 2-thread time (above 1: the split paid). The crossover it reports is the smallest per-thread
//! work from which every larger product measured gained at least 5%.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chainrule_autodiff::{set_num_threads, set_split_work, Tensor, DEFAULT_SPLIT_WORK};
use rand::{rngs::StdRng, SeedableRng};

use crate::workloads::median;

/// The shapes measured: `(m, k, n, where it comes from)`.
const SHAPES: [(usize, usize, usize, &str); 17] = [
    (32, 64, 128, "mlp-digits dense1"),
    (32, 128, 128, "mlp-digits dense2"),
    (128, 32, 128, "mlp-digits dense2 ∂W"),
    (32, 128, 512, "lstm-seq step"),
    (128, 32, 512, "lstm-seq step ∂W_h"),
    (64, 64, 64, "square"),
    (96, 96, 96, "square"),
    (128, 128, 128, "square"),
    (192, 192, 192, "square"),
    (256, 256, 256, "square"),
    (256, 10, 512, "mlp-wide dense1"),
    (384, 384, 384, "square"),
    (256, 512, 512, "mlp-wide dense2"),
    (512, 256, 512, "mlp-wide dense2 ∂W"),
    (512, 512, 512, "square"),
    (64, 576, 1024, "conv-32 im2col product"),
    (1024, 1024, 1024, "matmul-1024"),
];

/// A ratio above this counts as the split paying.
const GAIN: f64 = 1.05;

/// One shape's measurement.
struct Crossing {
    shape: (usize, usize, usize),
    origin: &'static str,
    one_thread_us: f64,
    two_threads_us: f64,
}

impl Crossing {
    fn work_per_thread(&self) -> usize {
        let (m, k, n) = self.shape;
        m * k * n / 2
    }

    fn ratio(&self) -> f64 {
        self.one_thread_us / self.two_threads_us
    }
}

/// Times each shape at 1 and 2 threads, `rounds` alternations of about `budget` each, and
/// returns the table and the crossover.
pub fn split_threshold(rounds: usize) -> Result<String, String> {
    let budget = Duration::from_millis(40);
    let mut rng = StdRng::seed_from_u64(0);
    let mut rows = Vec::new();
    for (m, k, n, origin) in SHAPES {
        let a = Tensor::<f32>::rand_normal(&[m, k], 0.0, 1.0, &mut rng);
        let b = Tensor::<f32>::rand_normal(&[k, n], 0.0, 1.0, &mut rng);
        let mut product = || {
            std::hint::black_box(a.matmul(&b));
        };
        let (mut one, mut two) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for threads in [1, 2] {
                set_num_threads(threads);
                set_split_work(if threads == 1 { usize::MAX } else { 0 });
                let median_us = median(&time_for(budget, &mut product)) * 1e6;
                if threads == 1 { &mut one } else { &mut two }.push(median_us);
            }
        }
        let row = Crossing {
            shape: (m, k, n),
            origin,
            one_thread_us: median(&one),
            two_threads_us: median(&two),
        };
        eprintln!(
            "split-threshold: {m}×{k}×{n} ({origin}): 1 thread {:.1} µs, 2 threads {:.1} µs",
            row.one_thread_us, row.two_threads_us
        );
        rows.push(row);
    }
    set_split_work(DEFAULT_SPLIT_WORK);
    Ok(report(&mut rows))
}

/// Runs `f` a few times to warm up, then until `budget` is spent (at least 5 times): each run's
/// seconds.
pub(crate) fn time_for(budget: Duration, f: &mut impl FnMut()) -> Vec<f64> {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut seconds = Vec::new();
    while seconds.len() < 5 || start.elapsed() < budget {
        let run = Instant::now();
        f();
        seconds.push(run.elapsed().as_secs_f64());
    }
    seconds
}

/// The table, by per-thread work, and the crossover line.
fn report(rows: &mut [Crossing]) -> String {
    rows.sort_by_key(Crossing::work_per_thread);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| product m×k×n | from | multiply-adds per thread | 1 thread (µs) | 2 threads (µs) | 1t / 2t |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: |");
    for row in rows.iter() {
        let (m, k, n) = row.shape;
        let _ = writeln!(
            out,
            "| {m}×{k}×{n} | {} | {} | {:.1} | {:.1} | {:.2} |",
            row.origin,
            row.work_per_thread(),
            row.one_thread_us,
            row.two_threads_us,
            row.ratio()
        );
    }
    let crossover = crossover(rows);
    let _ = match crossover {
        Some(work) => write!(
            out,
            "\nsplit-threshold: every product from {work} multiply-adds per thread (2^{:.1}) up \
             gained ≥ {GAIN}× from a second thread; the engine splits from {DEFAULT_SPLIT_WORK} \
             (2^{:.0})",
            (work as f64).log2(),
            (DEFAULT_SPLIT_WORK as f64).log2()
        ),
        None => write!(
            out,
            "\nsplit-threshold: the largest product did not gain ≥ {GAIN}× from a second \
             thread; no crossover on this machine now"
        ),
    };
    out
}

/// The smallest per-thread work from which every row (sorted by work) gained at least [`GAIN`].
fn crossover(rows: &[Crossing]) -> Option<usize> {
    let first_paying = rows
        .iter()
        .rposition(|row| row.ratio() < GAIN)
        .map_or(0, |last_loss| last_loss + 1);
    rows.get(first_paying).map(Crossing::work_per_thread)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(work: usize, ratio: f64) -> Crossing {
        Crossing {
            shape: (2, work, 1),
            origin: "test",
            one_thread_us: ratio,
            two_threads_us: 1.0,
        }
    }

    #[test]
    fn the_crossover_is_where_the_gains_stop_being_interrupted() {
        let rows = [
            row(10, 0.5),
            row(20, 1.2),
            row(30, 0.9),
            row(40, 1.3),
            row(50, 1.8),
        ];
        assert_eq!(crossover(&rows), Some(40));
        assert_eq!(crossover(&[row(10, 1.1), row(20, 1.5)]), Some(10));
        assert_eq!(crossover(&[row(10, 1.5), row(20, 1.0)]), None);
    }
}
