//! How many threads the engine may use.
//!
//! Only large matrix products run on several threads (see `tensor/matmul.rs`): everything else
//! a training step does is too small for a thread to pay for its start. The count is decided
//! once per process, like PyTorch's `torch.set_num_threads`: [`set_num_threads`] if the program
//! calls it, else the `CHAINRULE_NUM_THREADS` environment variable, else the number of cores.

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
