//! How many threads the engine may use, and which work is worth splitting over them.
//!
//! Only matrix products run on several threads (see `tensor/matmul.rs`, whose products
//! convolutions share), and only those large enough to pay for it: an LSTM step's products
//! (32×128×512) are split, while everything else a training step does — elementwise ops,
//! reductions, the products of an MLP on a batch of 32 — runs on the calling thread whatever the
//! count, so on that work 2 threads run exactly the code 1 thread runs. The helpers are the
//! workers of rayon's global pool, woken rather than started for each product. The count is
//! decided once per process, like PyTorch's `torch.set_num_threads`: [`set_num_threads`] if the
//! program calls it, else the `CHAINRULE_NUM_THREADS` environment variable, else the number of
//! cores. Where a product starts to gain from a second thread is a measured threshold,
//! [`DEFAULT_SPLIT_WORK`], adjustable with [`set_split_work`] for a machine that measures
//! otherwise.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The chosen thread count; 0 until decided.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads a large matrix product may use (at least 1).
///
/// ```
/// chainrule_autodiff::set_num_threads(1);
/// assert_eq!(chainrule_autodiff::num_threads(), 1);
/// ```
pub fn set_num_threads(threads: usize) {
    THREADS.store(threads.max(1), Ordering::Relaxed);
}

/// How many threads a large matrix product may use: the count given to [`set_num_threads`],
/// else `CHAINRULE_NUM_THREADS`, else the number of cores.
///
/// ```
/// assert!(chainrule_autodiff::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let from_env = std::env::var("CHAINRULE_NUM_THREADS")
                .ok()
                .and_then(|text| text.trim().parse::<usize>().ok())
                .filter(|&n| n > 0);
            let threads = from_env.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            // Another thread may have decided meanwhile; the first decision stands.
            match THREADS.compare_exchange(0, threads, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => threads,
                Err(decided) => decided,
            }
        }
        threads => threads,
    }
}

/// Multiply-adds each thread of a matrix product must get before the product is split over
/// threads, unless [`set_split_work`] says otherwise: 2²⁰.
///
/// Measured, not guessed, at two levels; BENCHMARKS.md ("Where a second thread pays") has the
/// runs behind this value. `chainrule-bench split-threshold` times single products on 1 and on
/// 2 threads (the split forced): with helpers woken from a pool, products gained from 2¹⁸
/// multiply-adds per thread on the 2-core AMD EPYC. Whole workloads at 1 and 2 threads set the
/// value higher: at 2¹⁸ the splits of `mlp-digits`' batch-32 products (2¹⁸ per thread) made that
/// workload slower at 2 threads than at 1 — the halves of C written on two cores cost more to
/// bring back than the split saved — while at 2²⁰ it was not slower, and `lstm-seq`, whose step
/// products have 2²⁰ per thread, still gained.
pub const DEFAULT_SPLIT_WORK: usize = 1 << 20;

/// The per-thread work from which products are split; [`DEFAULT_SPLIT_WORK`] until set.
static SPLIT_WORK: AtomicUsize = AtomicUsize::new(DEFAULT_SPLIT_WORK);

/// Sets the multiply-adds each thread of a matrix product must get before the product is split
/// over threads (0 splits every product that has at least one multiply-add per thread): for a
/// machine where `chainrule-bench split-threshold` finds another crossover than
/// [`DEFAULT_SPLIT_WORK`], and for that measurement itself.
///
/// ```
/// use chainrule_autodiff::{set_split_work, split_work, DEFAULT_SPLIT_WORK};
/// set_split_work(1 << 24);
/// assert_eq!(split_work(), 1 << 24);
/// set_split_work(DEFAULT_SPLIT_WORK);
/// ```
pub fn set_split_work(multiply_adds_per_thread: usize) {
    SPLIT_WORK.store(multiply_adds_per_thread, Ordering::Relaxed);
}

/// The multiply-adds per thread from which a matrix product is split (see [`set_split_work`]).
///
/// ```
/// assert!(chainrule_autodiff::split_work() > 0);
/// ```
pub fn split_work() -> usize {
    SPLIT_WORK.load(Ordering::Relaxed)
}

/// How many threads a product of `work` multiply-adds runs on: as many of the
/// [`num_threads`] as each get [`split_work`], at least one.
pub(crate) fn threads_for_product(work: usize) -> usize {
    threads_for(work, num_threads(), split_work())
}

/// [`threads_for_product`] with the count and the threshold given.
fn threads_for(work: usize, available: usize, min_work_per_thread: usize) -> usize {
    let worth = work.checked_div(min_work_per_thread).unwrap_or(work);
    available.min(worth).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every product of `op-overhead` (none) and `mlp-digits` (batch 32: 32×64×128, 32×128×128,
    /// 32×128×10 and their backward products, the same three numbers reordered) stays on one
    /// thread at 2, so that workload is not slower there than at 1; an LSTM step's products
    /// (32×128×512), measured to gain, are split.
    #[test]
    fn batch_32_mlp_products_stay_on_one_thread_and_lstm_steps_split() {
        for (m, k, n) in [(32, 64, 128), (32, 128, 128), (32, 128, 10)] {
            assert_eq!(
                threads_for(m * k * n, 2, DEFAULT_SPLIT_WORK),
                1,
                "{m}×{k}×{n}"
            );
        }
        assert_eq!(threads_for(32 * 128 * 512, 2, DEFAULT_SPLIT_WORK), 2);
    }

    #[test]
    fn large_products_get_as_many_threads_as_their_work_is_worth() {
        let work = 1024 * 1024 * 1024;
        assert_eq!(threads_for(work, 2, DEFAULT_SPLIT_WORK), 2);
        assert_eq!(threads_for(work, 64, DEFAULT_SPLIT_WORK), 64);
        assert_eq!(
            threads_for(3 * DEFAULT_SPLIT_WORK - 1, 8, DEFAULT_SPLIT_WORK),
            2
        );
        assert_eq!(threads_for(10, 2, 0), 2);
        assert_eq!(threads_for(0, 2, 0), 1);
    }
}
