//! Matrix multiplication: 2-D·2-D, batched 3-D·3-D, and a 3-D batch times one shared 2-D matrix,
//! each with an optional transpose of either operand's last two axes.
//!
//! A transpose only swaps the strides handed to the GEMM kernel ([`Float::gemm`], which calls
//! the `gemm` crate, or `matrixmultiply` for the f32 shapes it is faster on, single-threaded),
//! so no operand is ever copied. The backward pass of
//! `C = A·B` is `∂A = ∂C·Bᵀ` and `∂B = Aᵀ·∂C`, exactly the transposed products
//! [`Tensor::matmul_t`] offers.
//!
//! Threads are decided here, per product: a product large enough to pay for them is cut into
//! blocks of C, one per thread (see [`crate::num_threads`]); the many small products of a
//! training step run on the calling thread.

use std::sync::{Mutex, PoisonError};

use super::{Shape, Tensor};
use crate::float::operand_strides;
use crate::threads::{
    in_parallel_work, num_threads, run_claimed, split_work, threads_for, threads_for_product,
};
use crate::Float;

/// One product `C ← op(A)·op(B) + beta·C` as the GEMM kernel takes it, by raw parts, so it can
/// be cut into pieces that write disjoint blocks of C.
#[derive(Clone, Copy)]
struct Gemm<T> {
    m: usize,
    k: usize,
    n: usize,
    a: *const T,
    a_strides: (isize, isize),
    b: *const T,
    b_strides: (isize, isize),
    beta: T,
    c: *mut T,
    c_strides: (isize, isize),
}

// SAFETY: a `Gemm`'s buffers are read or written only while `Gemm::run_threaded` keeps them
// alive, and its pieces write disjoint blocks of C; the pointers are otherwise plain addresses.
unsafe impl<T: Send> Send for Gemm<T> {}
// SAFETY: as for `Send`: shared between threads, a `Gemm` is only cut into disjoint pieces.
unsafe impl<T: Sync> Sync for Gemm<T> {}

impl<T: Float> Gemm<T> {
    /// Runs the product on one thread.
    ///
    /// # Safety
    /// As for [`Float::gemm`].
    unsafe fn run(self) {
        T::gemm(
            self.m,
            self.k,
            self.n,
            self.a,
            self.a_strides,
            self.b,
            self.b_strides,
            self.beta,
            self.c,
            self.c_strides,
        );
    }

    /// Runs the product on up to [`crate::num_threads`] threads, as many as the work is worth
    /// ([`crate::split_work`] multiply-adds each).
    ///
    /// C is cut into one block of columns (or rows, for a tall product) per thread, which the
    /// calling thread and the engine's helper threads claim one at a time (`run_claimed`): on a
    /// busy machine a helper that has not started by the time the caller is done with its own
    /// block leaves its block to the caller, so the product takes about what it takes on one
    /// thread. One block per thread, not more: each block packs its whole panel of the other
    /// operand again, and with the helpers lingering between products (see `threads`) they
    /// are rarely late. Two blocks per thread against one, alternating builds at 2 threads
    /// (2026-12-01, medians of 60–150 runs): lstm-seq 8.8 → 8.4 ms, mlp-wide 3.3 → 3.1 ms,
    /// conv-digits and conv-32 within the noise; matmul-1024 had one block per thread already.
    ///
    /// # Safety
    /// As for [`Float::gemm`].
    unsafe fn run_threaded(self) {
        let threads = threads_for_product(self.m * self.k * self.n);
        if threads == 1 {
            return self.run();
        }
        run_claimed(threads, threads, &|i| {
            let piece = self.piece(i, threads);
            if piece.m > 0 && piece.n > 0 {
                // SAFETY: `run_claimed` returns only when every piece is done, so the buffers
                // are alive; pieces are disjoint blocks of C.
                unsafe { piece.run() };
            }
        });
    }

    /// Piece `i` of `count`: a block of C's columns when C is at least as wide as it is tall,
    /// else a block of its rows, with block edges on multiples of 16 (whole GEMM micro-tiles).
    fn piece(self, i: usize, count: usize) -> Gemm<T> {
        let edge = |total: usize, i: usize| (total * i / count).next_multiple_of(16).min(total);
        if self.n >= self.m {
            let (start, end) = (edge(self.n, i), edge(self.n, i + 1));
            let offset = start as isize;
            Gemm {
                n: end - start,
                b: self.b.wrapping_offset(offset * self.b_strides.1),
                c: self.c.wrapping_offset(offset * self.c_strides.1),
                ..self
            }
        } else {
            let (start, end) = (edge(self.m, i), edge(self.m, i + 1));
            let offset = start as isize;
            Gemm {
                m: end - start,
                a: self.a.wrapping_offset(offset * self.a_strides.0),
                c: self.c.wrapping_offset(offset * self.c_strides.0),
                ..self
            }
        }
    }
}

/// `C ← op(A)·op(B) + beta·C` on row-major slices, threaded as [`Tensor::matmul_t`]'s products
/// are: the way kernels that keep their own buffers (convolution's im2col products, a
/// user-defined op's loop over steps) reach the GEMM path without building a [`Tensor`] for each
/// operand. `a` holds `op(A)` (m×k) as an m×k matrix, or as k×m when `transpose_a`; likewise `b`
/// for k×n; `c` is m×n. With `beta` zero, `c` is written and never read (it may hold anything);
/// with `beta` one, the product is added to it.
///
/// # Panics
/// When a slice is shorter than its matrix.
///
/// ```
/// use chainrule_autodiff::matmul_into;
/// let a = [1.0f64, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [1.0, 0.0, 1.0, 1.0]; // [[1, 0], [1, 1]]
/// let mut c = [10.0; 4];
/// matmul_into((2, 2, 2), &a, false, &b, false, 1.0, &mut c);
/// assert_eq!(c, [13.0, 12.0, 17.0, 14.0]);
/// // Aᵀ·B, written over c.
/// matmul_into((2, 2, 2), &a, true, &b, false, 0.0, &mut c);
/// assert_eq!(c, [4.0, 3.0, 6.0, 4.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn matmul_into<T: Float>(
    (m, k, n): (usize, usize, usize),
    a: &[T],
    transpose_a: bool,
    b: &[T],
    transpose_b: bool,
    beta: T,
    c: &mut [T],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // As the kernel does: with `beta` zero, `C` is written, never read (it may be
        // uninitialised scratch, even NaN).
        if beta == T::zero() {
            c[..m * n].fill(T::zero());
        } else {
            c[..m * n].iter_mut().for_each(|v| *v *= beta);
        }
        return;
    }
    let a_strides = operand_strides(m, k, transpose_a);
    let b_strides = operand_strides(k, n, transpose_b);
    // SAFETY: the lengths were checked above; `c` is a unique borrow, so it aliases neither
    // input; the buffers outlive the call.
    unsafe {
        Gemm {
            m,
            k,
            n,
            a: a.as_ptr(),
            a_strides,
            b: b.as_ptr(),
            b_strides,
            beta,
            c: c.as_mut_ptr(),
            c_strides: (n as isize, 1),
        }
        .run_threaded();
    }
}

/// One operand as the GEMM kernel sees it: `op(X)` is `rows × cols`, read with these strides.
struct MatrixView {
    /// The leading batch length of a 3-D operand.
    batch: Option<usize>,
    rows: usize,
    cols: usize,
    strides: (isize, isize),
    /// Elements in one matrix of the batch.
    size: usize,
}

impl MatrixView {
    /// Views a 2-D or 3-D row-major shape as matrices, transposed or not; `None` for other ranks.
    fn of(shape: &[usize], transpose: bool) -> Option<MatrixView> {
        let (batch, r, c) = match *shape {
            [r, c] => (None, r, c),
            [b, r, c] => (Some(b), r, c),
            _ => return None,
        };
        let (rows, cols, strides) = if transpose {
            (c, r, (1, c as isize))
        } else {
            (r, c, (c as isize, 1))
        };
        Some(MatrixView {
            batch,
            rows,
            cols,
            strides,
            size: r * c,
        })
    }
}

impl<T: Float> Tensor<T> {
    /// The matrix product `self · other`, like `torch.matmul` for the supported shapes:
    /// `[m, k]·[k, n] → [m, n]`, `[b, m, k]·[b, k, n] → [b, m, n]`, and
    /// `[b, m, k]·[k, n] → [b, m, n]` (one matrix applied to every batch element).
    ///
    /// # Panics
    /// When the shapes are of another kind, the batch lengths differ, or the inner dimensions
    /// do not match.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// let b = Tensor::from_vec(vec![5.0f64, 6.0, 7.0, 8.0], &[2, 2]);
    /// assert_eq!(a.matmul(&b).to_vec(), vec![19.0, 22.0, 43.0, 50.0]);
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Tensor<T>) -> Tensor<T> {
        self.matmul_t(other, false, false)
    }

    /// The matrix product `op(self) · op(other)`, where `op` transposes the last two axes of an
    /// operand whose flag is set (without copying it). Shapes as for [`Tensor::matmul`], after
    /// the transposes.
    ///
    /// # Panics
    /// As for [`Tensor::matmul`]; the message says which operands were transposed.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// // aᵀ·a is 3×3; a·aᵀ is 2×2.
    /// assert_eq!(a.matmul_t(&a, true, false).shape(), &[3, 3]);
    /// assert_eq!(a.matmul_t(&a, false, true).to_vec(), vec![14.0, 32.0, 32.0, 77.0]);
    /// ```
    #[track_caller]
    pub fn matmul_t(&self, other: &Tensor<T>, transpose_a: bool, transpose_b: bool) -> Tensor<T> {
        self.matmul_t_plus(other, transpose_a, transpose_b, None)
    }

    /// [`Tensor::matmul_t`] plus `bias` (shape `[n]`) added to every row of the product, as
    /// `torch.addmm` does: each row of the result starts as the bias and the kernel adds the
    /// product to it as it writes, so the sum costs no pass of its own. With a `k` longer than
    /// the kernel's blocks of the inner axis, the bias is added before the last block's partial
    /// sums rather than after all of them, which can change the last bit.
    ///
    /// # Panics
    /// As for [`Tensor::matmul_t`]; and when the bias is not `[n]`.
    #[track_caller]
    pub(crate) fn matmul_t_plus(
        &self,
        other: &Tensor<T>,
        transpose_a: bool,
        transpose_b: bool,
        bias: Option<&Tensor<T>>,
    ) -> Tensor<T> {
        let shapes = || {
            let mark = |t: bool| if t { " (transposed)" } else { "" };
            format!(
                "shapes {:?}{} and {:?}{}",
                self.shape(),
                mark(transpose_a),
                other.shape(),
                mark(transpose_b)
            )
        };
        let views = (
            MatrixView::of(self.shape(), transpose_a),
            MatrixView::of(other.shape(), transpose_b),
        );
        let (a, b) = match views {
            (Some(a), Some(b)) if a.batch.is_some() || b.batch.is_none() => (a, b),
            _ => shape_panic!(
                "matmul: {} are not supported (need 2-D·2-D, 3-D·3-D or 3-D·2-D)",
                shapes()
            ),
        };
        let batch = match (a.batch, b.batch) {
            (Some(x), Some(y)) if x != y => {
                shape_panic!(
                    "matmul: {} have different batch lengths {x} and {y}",
                    shapes()
                )
            }
            (batch, _) => batch,
        };
        if a.cols != b.rows {
            shape_panic!(
                "matmul: {} do not match (inner dimensions {} and {})",
                shapes(),
                a.cols,
                b.rows
            );
        }

        let (m, k, n) = (a.rows, a.cols, b.cols);
        if let Some(bias) = bias {
            if bias.shape() != [n] {
                shape_panic!(
                    "matmul: the bias has shape {:?}, but the product of {} has {n} columns",
                    bias.shape(),
                    shapes()
                );
            }
        }
        let count = batch.unwrap_or(1);
        let shape: Shape = match batch {
            Some(count) => Shape::from_slice(&[count, m, n]),
            None => Shape::from_slice(&[m, n]),
        };
        // Not zeroed first: with beta = 0 the kernel writes every element of C without reading
        // it (both libraries' documented contract), and zeroing was 5% of an LSTM's time. With
        // a bias, every row starts as the bias and the kernel adds to it (beta = 1).
        let mut out: Vec<T> = Vec::with_capacity(count * m * n);
        let beta = match bias {
            Some(bias) => {
                // The first row, then copies of all the rows so far: a few long copies rather
                // than one call per row (a call per row showed as 1.5% of `mlp-digits`).
                let total = count * m * n;
                out.extend_from_slice(bias.as_slice());
                while !out.is_empty() && out.len() < total {
                    let more = out.len().min(total - out.len());
                    out.extend_from_within(..more);
                }
                T::one()
            }
            None => T::zero(),
        };
        // An empty product is all zeros (plus the bias).
        if m == 0 || k == 0 || n == 0 {
            out.resize(count * m * n, T::zero());
            return Tensor::from_parts(out, shape);
        }
        let pa = self.as_slice().as_ptr();
        let pb = other.as_slice().as_ptr();
        let pc = out.as_mut_ptr();
        let c_strides = (n as isize, 1);
        if batch.is_some() && b.batch.is_none() && !transpose_a {
            // The batch of A is one (count·m)×k row-major matrix: a single product does it all.
            // SAFETY: A has count·m·k elements at strides (k, 1), B has k·n at its own strides,
            // C is a fresh count·m·n buffer at (n, 1), and C aliases neither input.
            unsafe {
                Gemm {
                    m: count * m,
                    k,
                    n,
                    a: pa,
                    a_strides: a.strides,
                    b: pb,
                    b_strides: b.strides,
                    beta,
                    c: pc,
                    c_strides,
                }
                .run_threaded();
            }
        } else {
            for i in 0..count {
                let a_start = if a.batch.is_some() { i * a.size } else { 0 };
                let b_start = if b.batch.is_some() { i * b.size } else { 0 };
                // SAFETY: matrix i of each operand starts at i·size inside its buffer and spans
                // `size` elements at the view's strides; C's matrix i is m·n fresh elements at
                // (n, 1) inside `out`, which aliases neither input.
                unsafe {
                    Gemm {
                        m,
                        k,
                        n,
                        a: pa.add(a_start),
                        a_strides: a.strides,
                        b: pb.add(b_start),
                        b_strides: b.strides,
                        beta,
                        c: pc.add(i * m * n),
                        c_strides,
                    }
                    .run_threaded();
                }
            }
        }
        // SAFETY: the products above wrote all count·m·n elements (every matrix of the batch,
        // every element of each, beta = 0), or added to the bias rows already there.
        unsafe { out.set_len(count * m * n) };
        Tensor::from_parts(out, shape)
    }

    /// Two independent products, each given as `(left, right, transpose_left, transpose_right)`
    /// for [`Tensor::matmul_t`] — a product's two input gradients in the backward pass — run
    /// side by side on two threads where that pays: when neither is large enough to be split
    /// over the threads by itself, but each is at least [`PAIR_WORK`] multiply-adds. Otherwise
    /// one after the other. The values are the same either way (each product is computed whole
    /// by one thread).
    pub(crate) fn matmul_t_pair(
        first: ProductArgs<'_, T>,
        second: ProductArgs<'_, T>,
    ) -> (Tensor<T>, Tensor<T>) {
        let compute = |(left, right, ta, tb): ProductArgs<'_, T>| left.matmul_t(right, ta, tb);
        let works = [product_work(first), product_work(second)];
        let side_by_side =
            !in_parallel_work() && pays_side_by_side(works, num_threads(), split_work());
        if !side_by_side {
            return (compute(first), compute(second));
        }
        let results: [Mutex<Option<Tensor<T>>>; 2] = Default::default();
        run_claimed(2, 2, &|i| {
            let value = compute(if i == 0 { first } else { second });
            *results[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        });
        let [a, b] = results.map(|result| {
            result
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .expect("run_claimed runs every part before it returns")
        });
        (a, b)
    }
}

/// The arguments of one [`Tensor::matmul_t`]: left, right, and whether each is transposed.
pub(crate) type ProductArgs<'a, T> = (&'a Tensor<T>, &'a Tensor<T>, bool, bool);

/// The fewest multiply-adds each of two independent products needs for
/// [`Tensor::matmul_t_pair`] to run them side by side: measured with both gradients of one
/// product on 1 thread and on 2 (see BENCHMARKS.md, "Where a second thread pays").
const PAIR_WORK: usize = 1 << 18;

/// Whether two products of `works` multiply-adds gain by running side by side on `threads`
/// threads: each has [`PAIR_WORK`], and neither is large enough to be split by itself (a
/// product that is gets every thread).
fn pays_side_by_side(works: [usize; 2], threads: usize, split_work: usize) -> bool {
    threads > 1
        && works
            .iter()
            .all(|&work| work >= PAIR_WORK && threads_for(work, threads, split_work) == 1)
}

/// The multiply-adds of a product (every matrix of a batch), or 0 when the shapes do not
/// multiply (the product itself then panics, naming them).
fn product_work<T: Float>((left, right, ta, tb): ProductArgs<'_, T>) -> usize {
    match (
        MatrixView::of(left.shape(), ta),
        MatrixView::of(right.shape(), tb),
    ) {
        (Some(a), Some(b)) if a.cols == b.rows => {
            let count = a.batch.or(b.batch).unwrap_or(1);
            count * a.rows * a.cols * b.cols
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic, irregular values so that a transposed or misplaced element shows.
    fn values(shape: &[usize], seed: f64) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        let data = (0..n)
            .map(|i| ((i as f64 + seed) * 0.7).sin() * 3.0)
            .collect();
        Tensor::from_vec(data, shape)
    }

    /// The textbook triple loop over one pair of matrices, with the transposes applied by index.
    fn naive(
        a: &[f64],
        a_dims: (usize, usize),
        ta: bool,
        b: &[f64],
        b_dims: (usize, usize),
        tb: bool,
    ) -> Vec<f64> {
        let at = |i: usize, p: usize| {
            if ta {
                a[p * a_dims.1 + i]
            } else {
                a[i * a_dims.1 + p]
            }
        };
        let bt = |p: usize, j: usize| {
            if tb {
                b[j * b_dims.1 + p]
            } else {
                b[p * b_dims.1 + j]
            }
        };
        let (m, k) = if ta { (a_dims.1, a_dims.0) } else { a_dims };
        let n = if tb { b_dims.0 } else { b_dims.1 };
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    out[i * n + j] += at(i, p) * bt(p, j);
                }
            }
        }
        out
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (x, y) in actual.iter().zip(expected) {
            assert!((x - y).abs() < 1e-12, "{actual:?} != {expected:?}");
        }
    }

    fn stored_dims(m: usize, k: usize, transposed: bool) -> (usize, usize) {
        if transposed {
            (k, m)
        } else {
            (m, k)
        }
    }

    #[test]
    fn two_by_two_by_hand() {
        let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = Tensor::from_vec(vec![5.0, 6.0, 7.0, 8.0], &[2, 2]);
        assert_eq!(a.matmul(&b).to_vec(), vec![19.0, 22.0, 43.0, 50.0]);
        assert_eq!(
            a.matmul_t(&b, true, false).to_vec(),
            vec![26.0, 30.0, 38.0, 44.0]
        );
        assert_eq!(
            a.matmul_t(&b, false, true).to_vec(),
            vec![17.0, 23.0, 39.0, 53.0]
        );
        assert_eq!(
            a.matmul_t(&b, true, true).to_vec(),
            vec![23.0, 31.0, 34.0, 46.0]
        );
    }

    #[test]
    fn two_d_every_transpose_against_naive() {
        let (m, k, n) = (3, 4, 5);
        for ta in [false, true] {
            for tb in [false, true] {
                let (ad, bd) = (stored_dims(m, k, ta), stored_dims(k, n, tb));
                let a = values(&[ad.0, ad.1], 1.0);
                let b = values(&[bd.0, bd.1], 2.0);
                let c = a.matmul_t(&b, ta, tb);
                assert_eq!(c.shape(), &[m, n]);
                assert_close(
                    c.as_slice(),
                    &naive(a.as_slice(), ad, ta, b.as_slice(), bd, tb),
                );
            }
        }
    }

    #[test]
    fn batched_every_transpose_against_naive() {
        let (batch, m, k, n) = (3, 2, 4, 5);
        for ta in [false, true] {
            for tb in [false, true] {
                let (ad, bd) = (stored_dims(m, k, ta), stored_dims(k, n, tb));
                let a = values(&[batch, ad.0, ad.1], 0.5);
                let b = values(&[batch, bd.0, bd.1], 3.0);
                let c = a.matmul_t(&b, ta, tb);
                assert_eq!(c.shape(), &[batch, m, n]);
                for i in 0..batch {
                    let ai = &a.as_slice()[i * m * k..(i + 1) * m * k];
                    let bi = &b.as_slice()[i * k * n..(i + 1) * k * n];
                    let expected = naive(ai, ad, ta, bi, bd, tb);
                    assert_close(&c.as_slice()[i * m * n..(i + 1) * m * n], &expected);
                }
            }
        }
    }

    #[test]
    fn batch_times_shared_matrix_against_naive() {
        let (batch, m, k, n) = (4, 3, 2, 5);
        for ta in [false, true] {
            for tb in [false, true] {
                let (ad, bd) = (stored_dims(m, k, ta), stored_dims(k, n, tb));
                let a = values(&[batch, ad.0, ad.1], 0.25);
                let b = values(&[bd.0, bd.1], 7.0);
                let c = a.matmul_t(&b, ta, tb);
                assert_eq!(c.shape(), &[batch, m, n]);
                for i in 0..batch {
                    let ai = &a.as_slice()[i * m * k..(i + 1) * m * k];
                    let expected = naive(ai, ad, ta, b.as_slice(), bd, tb);
                    assert_close(&c.as_slice()[i * m * n..(i + 1) * m * n], &expected);
                }
            }
        }
    }

    #[test]
    fn f32_matches_f64() {
        let a = values(&[4, 6], 1.5);
        let b = values(&[6, 3], 2.5);
        let c64 = a.matmul(&b);
        let c32 = a.cast::<f32>().matmul(&b.cast::<f32>()).cast::<f64>();
        for (x, y) in c64.as_slice().iter().zip(c32.as_slice()) {
            assert!((x - y).abs() < 1e-4);
        }
    }

    #[test]
    fn zero_sized_dimensions() {
        let a = Tensor::<f64>::zeros(&[2, 0]);
        let b = Tensor::<f64>::zeros(&[0, 3]);
        let c = a.matmul(&b);
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.to_vec(), vec![0.0; 6]);
        assert_eq!(b.matmul(&Tensor::zeros(&[3, 4])).shape(), &[0, 4]);
        let batched = Tensor::<f64>::ones(&[0, 2, 3]).matmul(&Tensor::ones(&[3, 4]));
        assert_eq!(batched.shape(), &[0, 2, 4]);
        let empty_k = Tensor::<f64>::ones(&[2, 3, 0]).matmul(&Tensor::ones(&[2, 0, 4]));
        assert_eq!(empty_k.to_vec(), vec![0.0; 24]);
    }

    #[test]
    fn products_large_enough_to_split_match_the_triple_loop() {
        // Three threads (each with at least the default split work) cut C into six blocks of
        // uneven sizes, by columns for the wide product and by rows for the tall one.
        crate::set_num_threads(3);
        for (m, k, n) in [(192, 512, 272), (1088, 512, 48)] {
            assert!(m * k * n / crate::DEFAULT_SPLIT_WORK >= 3);
            let (a, b) = (values(&[m, k], 0.3), values(&[k, n], 1.9));
            let product = a.matmul(&b);
            let expected = naive(a.as_slice(), (m, k), false, b.as_slice(), (k, n), false);
            for (x, y) in product.as_slice().iter().zip(&expected) {
                assert!(
                    (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                    "{m}×{k}×{n}: {x} != {y}"
                );
            }
        }
    }

    #[test]
    fn f32_products_on_either_library_match_the_triple_loop() {
        // With B transposed over 1000 terms into 20 columns the f32 product goes to
        // matrixmultiply; untransposed, and in f64, to gemm. Each against the triple loop in
        // f64, to f32's precision over 1000 terms.
        let (m, k, n) = (5, 1000, 20);
        for transpose_b in [true, false] {
            let a = values(&[m, k], 0.4);
            let b = values(&if transpose_b { [n, k] } else { [k, n] }, 1.3);
            let expected = naive(
                a.as_slice(),
                (m, k),
                false,
                b.as_slice(),
                if transpose_b { (n, k) } else { (k, n) },
                transpose_b,
            );
            let narrow = |t: &Tensor<f64>| t.cast::<f32>();
            let product = narrow(&a).matmul_t(&narrow(&b), false, transpose_b);
            for (x, y) in product.as_slice().iter().zip(&expected) {
                assert!(
                    (f64::from(*x) - y).abs() <= 1e-4 * y.abs().max(10.0),
                    "B transposed {transpose_b}: {x} != {y}"
                );
            }
        }
    }

    #[test]
    fn only_mid_sized_product_pairs_run_side_by_side() {
        let split = crate::DEFAULT_SPLIT_WORK;
        // mlp-digits' hidden layer: both gradients of 32×128×128, at 2 threads, not at 1.
        assert!(pays_side_by_side([32 * 128 * 128; 2], 2, split));
        assert!(!pays_side_by_side([32 * 128 * 128; 2], 1, split));
        // Its output layer (32×128×10) is too small; so is a pair with one small product.
        assert!(!pays_side_by_side([32 * 128 * 10; 2], 2, split));
        assert!(!pays_side_by_side(
            [32 * 128 * 128, 32 * 128 * 10],
            2,
            split
        ));
        // matmul-1024's products are each split over the threads instead.
        assert!(!pays_side_by_side([1 << 30; 2], 2, split));
        assert_eq!(
            product_work((&values(&[4, 8, 3], 0.0), &values(&[5, 3], 0.0), false, true)),
            4 * 8 * 3 * 5
        );
        assert_eq!(
            product_work((&values(&[8, 3], 0.0), &values(&[5, 3], 0.0), false, false)),
            0
        );
    }

    #[test]
    fn a_pair_of_products_is_each_product() {
        crate::set_num_threads(2);
        let (a, b) = (values(&[32, 128], 0.3), values(&[128, 128], 1.9));
        let g = values(&[32, 128], 2.7);
        // ∂L/∂A = G·Bᵀ and ∂L/∂B = Aᵀ·G, large enough to run side by side.
        let (ga, gb) = Tensor::matmul_t_pair((&g, &b, false, true), (&a, &g, true, false));
        assert_eq!(ga.to_vec(), g.matmul_t(&b, false, true).to_vec());
        assert_eq!(gb.to_vec(), a.matmul_t(&g, true, false).to_vec());
    }

    #[test]
    #[should_panic(
        expected = "matmul: shapes [2, 3] and [4, 5] do not match (inner dimensions 3 and 4)"
    )]
    fn inner_mismatch_panics() {
        Tensor::<f64>::zeros(&[2, 3]).matmul(&Tensor::zeros(&[4, 5]));
    }

    #[test]
    #[should_panic(
        expected = "matmul: shapes [2, 3] (transposed) and [4, 5] do not match (inner dimensions 2 and 4)"
    )]
    fn inner_mismatch_mentions_transposes() {
        Tensor::<f64>::zeros(&[2, 3]).matmul_t(&Tensor::zeros(&[4, 5]), true, false);
    }

    #[test]
    #[should_panic(expected = "matmul: shapes [3] and [3, 2] are not supported")]
    fn vector_operand_panics() {
        Tensor::<f64>::zeros(&[3]).matmul(&Tensor::zeros(&[3, 2]));
    }

    #[test]
    #[should_panic(expected = "matmul: shapes [2, 3] and [4, 3, 2] are not supported")]
    fn two_d_times_three_d_panics() {
        Tensor::<f64>::zeros(&[2, 3]).matmul(&Tensor::zeros(&[4, 3, 2]));
    }

    #[test]
    #[should_panic(
        expected = "matmul: shapes [2, 2, 3] and [3, 3, 2] have different batch lengths 2 and 3"
    )]
    fn batch_mismatch_panics() {
        Tensor::<f64>::zeros(&[2, 2, 3]).matmul(&Tensor::zeros(&[3, 3, 2]));
    }
}
