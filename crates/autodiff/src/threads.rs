//! How many threads the engine may use, and which work is worth splitting over them.
//!
//! Only matrix products (`tensor/matmul.rs`), convolutions' chunks of images and max pooling's
//! runs of planes (`tensor/conv.rs`), and the parts a user-defined op hands to [`run_parts`]
//! (an LSTM sequence's cells, cut by rows) run on several threads, and only where the work is
//! large enough to pay for it: an LSTM's step and whole-sequence products and a convolution over
//! a batch are split, while everything else a training step does — elementwise ops,
//! reductions, the products of an MLP on a batch of 32 — runs on the calling thread whatever
//! the count, so on that work 2 threads run exactly the code 1 thread runs. The helpers are the
//! engine's own pool of threads (a `rayon-core` pool), woken rather than started for each piece
//! of work, and after each piece they keep watching for the next for a moment ([`LINGER`])
//! instead of going straight back to sleep. The count is decided once per process, like
//! PyTorch's `torch.set_num_threads`: [`set_num_threads`] if the program calls it, else the
//! `CHAINRULE_NUM_THREADS` environment variable, else the number of cores. Where a product
//! starts to gain from a second thread is a measured threshold, [`DEFAULT_SPLIT_WORK`],
//! adjustable with [`set_split_work`] for a machine that measures otherwise.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rayon_core::{ThreadPool, ThreadPoolBuilder};

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
/// bring back than the split saved. With helpers that sleep between splits, 2²¹ was best, as
/// waking one cost more than splitting an LSTM step's recurrent product (32×128×512, 2²⁰ per
/// thread) saved. Since helpers linger for the next split (`LINGER` in `threads.rs`), splitting
/// those step products pays: `lstm-seq` at 2 threads, 3 alternations, 17.2–19.0 ms/batch at 2²¹
/// against 13.5–13.8 at 2²⁰, `mlp-wide` unchanged (3.9–4.1 ms/step).
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
    if in_parallel_work() {
        return 1;
    }
    threads_for(work, num_threads(), split_work())
}

/// How many threads work worth `multiply_adds` (a matrix product's multiply-adds, or work of
/// that cost) may use: as many of the [`num_threads`] as each get [`split_work`], at least one,
/// and exactly one inside work already spread over the threads. The engine's own products
/// decide by this; a user-defined op asks it before [`run_parts`], so that its own work is
/// split where the engine's would be and small work stays on the calling thread.
///
/// ```
/// use chainrule_autodiff::threads_for_work;
/// // A batch-32 MLP layer's product is never worth a second thread.
/// assert_eq!(threads_for_work(32 * 128 * 128), 1);
/// assert!(threads_for_work(1 << 30) >= 1);
/// ```
pub fn threads_for_work(multiply_adds: usize) -> usize {
    threads_for_product(multiply_adds)
}

/// Runs `part(i)` for every `i` in `0..count`, each exactly once, on the calling thread and on
/// up to `threads − 1` of the engine's helper threads; returns when every part is done.
///
/// The parts are claimed one at a time by whichever thread is free, so a helper that starts late
/// (or never, on a busy machine) leaves its share to the caller: no part waits on another, and
/// parts must not wait on one another either. Matrix products inside a part run on the thread
/// that runs it. A part that panics stops the parts not yet started, and its panic reaches the
/// caller once the parts already running are done, as it would on one thread. For a
/// user-defined op's own loops (see [`crate::CustomOp`]); `threads` is usually
/// [`threads_for_work`]'s answer. A part that needs to write gives each part its own
/// slice, split off beforehand (`chunks_mut`) and handed out through a `Mutex` per part.
///
/// ```
/// use std::sync::Mutex;
/// use chainrule_autodiff::{num_threads, run_parts};
/// let mut squares = vec![0u64; 1000];
/// let parts: Vec<Mutex<&mut [u64]>> = squares.chunks_mut(250).map(Mutex::new).collect();
/// run_parts(parts.len(), num_threads(), &|i| {
///     let mut chunk = parts[i].lock().unwrap();
///     for (j, v) in chunk.iter_mut().enumerate() {
///         let n = (250 * i + j) as u64;
///         *v = n * n;
///     }
/// });
/// drop(parts);
/// assert_eq!(squares[999], 999 * 999);
/// ```
pub fn run_parts(count: usize, threads: usize, part: &(dyn Fn(usize) + Sync)) {
    run_claimed(count, threads, part);
}

/// [`threads_for_product`] with the count and the threshold given.
pub(crate) fn threads_for(work: usize, available: usize, min_work_per_thread: usize) -> usize {
    let worth = work.checked_div(min_work_per_thread).unwrap_or(work);
    available.min(worth).max(1)
}

/// Runs `task(i)` for every `i` in `0..count`, each exactly once, on the calling thread and on
/// up to `threads − 1` workers of the engine's pool (`helper_pool`), each claiming the next
/// unclaimed index until none is left; returns when every task is done.
///
/// The caller never waits for a worker to be scheduled, only for tasks a worker has claimed: on
/// a busy machine a helper that starts late or not at all leaves its share to the caller, and a
/// caller that is itself one of the pool's workers cannot deadlock. A helper that runs after
/// the last index was claimed finds nothing to claim and never touches `task`, which is why
/// `task` may borrow from the caller's stack. Products inside the tasks run on the thread that
/// runs the task (see [`in_parallel_work`]): the work is already spread.
///
/// A task that panics, on whichever thread, stops the tasks not yet started, and the panic is
/// raised again on the caller once the tasks already running are done: as on one thread, where
/// it unwinds straight to the caller. (Left to unwind on a helper, it would abort the process:
/// a pool job has nowhere to unwind to.)
pub(crate) fn run_claimed(count: usize, threads: usize, task: &(dyn Fn(usize) + Sync)) {
    if threads <= 1 || count <= 1 {
        (0..count).for_each(task);
        return;
    }
    // SAFETY: only the lifetime is erased. `task` is called only for an index below `count`,
    // claimed before `WaitForClaimed` below closes the claims, and its drop (which runs on
    // unwinding too) does not return before each such call has finished.
    let task: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(task) };
    let helpers = threads.min(count) - 1;
    let claims = Arc::new(Claims {
        task,
        count,
        seats: AtomicUsize::new(helpers),
        next: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        stopped: AtomicBool::new(false),
        panicked: Mutex::new(None),
    });
    // Helpers still lingering from the last parallel work join by themselves; the pool is
    // asked for the rest.
    let lingering = publish(&claims);
    if let Some(pool) = helper_pool() {
        for _ in lingering.min(helpers)..helpers {
            let claims = Arc::clone(&claims);
            pool.spawn(move || help(&claims));
        }
    }
    {
        let _wait = WaitForClaimed(&claims);
        claims.claim_and_run();
    }
    let panicked = claims
        .panicked
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(payload) = panicked {
        std::panic::resume_unwind(payload);
    }
}

/// How long a helper that has just finished its share of parallel work keeps watching for the
/// next, spinning, before it goes back to its pool to sleep.
///
/// A training step alternates parallel products with short serial stretches (elementwise ops,
/// pooling, the optimizer), a few hundred microseconds each. A helper asleep in the pool took
/// about that long to wake on the 2-core EPYC — a 4-way split convolution of conv-digits ran in
/// 570 µs on 1 thread, 210 µs on 2 back to back, and 575 µs on 2 after 150 µs of serial work —
/// so the second thread gained nothing on the work between its naps. OpenMP (PyTorch's threads)
/// keeps its threads spinning for the same reason. The cost is a core kept busy for this long
/// after the last parallel work, and only when there is more than one thread.
const LINGER: Duration = Duration::from_millis(2);

/// The parallel work published last, for lingering helpers to join, and its number.
static LATEST: Mutex<Option<Arc<Claims>>> = Mutex::new(None);
static PUBLISHED: AtomicUsize = AtomicUsize::new(0);
/// Helpers spinning in [`help`], waiting for the next parallel work.
static LINGERING: AtomicUsize = AtomicUsize::new(0);

/// Makes `claims` the work lingering helpers join; returns how many helpers are lingering.
fn publish(claims: &Arc<Claims>) -> usize {
    *LATEST.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(claims));
    PUBLISHED.fetch_add(1, Ordering::Release);
    LINGERING.load(Ordering::Acquire)
}

/// A helper's job in the pool: its share of `claims`, then of any parallel work published
/// while it lingers (see [`LINGER`]).
fn help(claims: &Arc<Claims>) {
    let mut seen = PUBLISHED.load(Ordering::Acquire);
    if !claims.join_and_run() {
        return;
    }
    LINGERING.fetch_add(1, Ordering::AcqRel);
    let mut since = Instant::now();
    let mut spins = 0u32;
    loop {
        let published = PUBLISHED.load(Ordering::Acquire);
        if published != seen {
            seen = published;
            let latest = LATEST
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(latest) = latest {
                if latest.join_and_run() {
                    since = Instant::now();
                }
            }
        }
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        // The clock is read now and then, not on every spin.
        if spins.is_multiple_of(64) && since.elapsed() > LINGER {
            break;
        }
    }
    LINGERING.fetch_sub(1, Ordering::AcqRel);
}

/// The engine's own pool of helper threads: [`num_threads`] − 1 workers, so that with the
/// calling thread exactly [`num_threads`] threads run. rayon's global pool would have a worker
/// per core besides the caller, and the one left idle spins looking for work on a core the
/// others need (on the 2-core EPYC, a fifth of an LSTM's samples were threads switching).
/// Built when first needed and again when the count changes; `None` if the system cannot start
/// threads, and then the caller does all the work.
fn helper_pool() -> Option<Arc<ThreadPool>> {
    static POOL: Mutex<Option<(usize, Arc<ThreadPool>)>> = Mutex::new(None);
    let workers = num_threads().saturating_sub(1).max(1);
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((size, built)) = &*pool {
        if *size == workers {
            return Some(Arc::clone(built));
        }
    }
    let built = ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("chainrule-helper-{i}"))
        .build()
        .ok()
        .map(Arc::new)?;
    *pool = Some((workers, Arc::clone(&built)));
    Some(built)
}

/// The tasks of one [`run_claimed`], claimed one index at a time by whichever thread is free.
struct Claims {
    task: &'static (dyn Fn(usize) + Sync),
    count: usize,
    /// Helpers that may still join (the caller always takes part).
    seats: AtomicUsize,
    /// The next index to claim; at `count` or beyond, none is left.
    next: AtomicUsize,
    /// Claimed tasks that have returned (or unwound).
    finished: AtomicUsize,
    /// Set when a task has panicked: tasks claimed after it are skipped.
    stopped: AtomicBool,
    /// The first panic of a task, for the caller to raise again.
    panicked: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Claims {
    /// Takes a helper's seat, if one is left, and claims tasks; whether it had a seat.
    fn join_and_run(&self) -> bool {
        let seated = self
            .seats
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |seats| {
                seats.checked_sub(1)
            })
            .is_ok();
        if seated {
            self.claim_and_run();
        }
        seated
    }

    fn claim_and_run(&self) {
        let _flag = ParallelWorkFlag::raise();
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.count {
                return;
            }
            let _finished = CountOnDrop(&self.finished);
            if self.stopped.load(Ordering::Acquire) {
                continue;
            }
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (self.task)(i))) {
                self.stopped.store(true, Ordering::Release);
                let mut panicked = self.panicked.lock().unwrap_or_else(PoisonError::into_inner);
                panicked.get_or_insert(payload);
            }
        }
    }
}

/// Marks the calling thread as running parallel tasks until dropped, when the mark it had before
/// is restored.
struct ParallelWorkFlag(bool);

impl ParallelWorkFlag {
    fn raise() -> ParallelWorkFlag {
        ParallelWorkFlag(PARALLEL_WORK.with(|flag| flag.replace(true)))
    }
}

impl Drop for ParallelWorkFlag {
    fn drop(&mut self) {
        PARALLEL_WORK.with(|flag| flag.set(self.0));
    }
}

/// Adds one to a counter when dropped, so a task counts as finished even if it unwinds.
struct CountOnDrop<'a>(&'a AtomicUsize);

impl Drop for CountOnDrop<'_> {
    fn drop(&mut self) {
        // Release: the task's writes happen before the caller's Acquire sees it finished.
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// Closes the claims and waits for every claimed task to finish, when [`run_claimed`] returns
/// or unwinds.
struct WaitForClaimed<'a>(&'a Claims);

impl Drop for WaitForClaimed<'_> {
    fn drop(&mut self) {
        let claimed = self
            .0
            .next
            .swap(usize::MAX / 2, Ordering::Relaxed)
            .min(self.0.count);
        while self.0.finished.load(Ordering::Acquire) < claimed {
            std::thread::yield_now();
        }
        // Finished work is no longer offered to lingering helpers (joining it would find
        // nothing to claim, but neither need it outlive its caller).
        let mut latest = LATEST.lock().unwrap_or_else(PoisonError::into_inner);
        if latest
            .as_ref()
            .is_some_and(|claims| std::ptr::eq(Arc::as_ptr(claims), self.0))
        {
            *latest = None;
        }
    }
}

thread_local! {
    /// Whether this thread is running a task of [`run_claimed`].
    static PARALLEL_WORK: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is running one of several tasks already spread over the threads,
/// so a product it computes must not be split again.
pub(crate) fn in_parallel_work() -> bool {
    PARALLEL_WORK.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every product of `op-overhead` (none) and `mlp-digits` (batch 32: 32×64×128, 32×128×128,
    /// 32×128×10 and their backward products, the same three numbers reordered) stays on one
    /// thread at 2, so those workloads are not slower there than at 1; an LSTM step's recurrent
    /// product (32×128×512) and a sequence's input projection and weight gradients (50 steps of
    /// 32 rows: 1600×32×512, 128×1600×512), measured to gain, are split.
    #[test]
    fn batch_32_mlp_products_stay_on_one_thread_and_lstm_products_split() {
        for (m, k, n) in [(32, 64, 128), (32, 128, 128), (32, 128, 10)] {
            assert_eq!(
                threads_for(m * k * n, 2, DEFAULT_SPLIT_WORK),
                1,
                "{m}×{k}×{n}"
            );
        }
        assert_eq!(threads_for(32 * 128 * 512, 2, DEFAULT_SPLIT_WORK), 2);
        assert_eq!(threads_for(1600 * 32 * 512, 2, DEFAULT_SPLIT_WORK), 2);
        assert_eq!(threads_for(128 * 1600 * 512, 2, DEFAULT_SPLIT_WORK), 2);
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
