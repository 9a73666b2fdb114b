//! The element types a tensor can hold: `f32` and `f64`.
//!
//! Everything numeric in the engine is generic over one parameter `T: Float`. The trait adds to
//! `num_traits::Float` the few things the engine needs that the standard traits lack: a lossless
//! way to write constants (`T::of(0.5)`) and the matrix-multiplication kernel for the type.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point element type: implemented for `f32` and `f64`.
///
/// ```
/// use chainrule_autodiff::Float;
/// fn half<T: Float>() -> T { T::of(0.5) }
/// assert_eq!(half::<f32>(), 0.5f32);
/// ```
pub trait Float:
    num_traits::Float
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// The type's name as Rust spells it (`"f32"`, `"f64"`), for messages.
    const NAME: &'static str;

    /// Converts an `f64` constant to this type (rounding to nearest for `f32`).
    fn of(value: f64) -> Self;

    /// Widens this value to `f64` exactly.
    fn to_f64_exact(self) -> f64;

    /// `C ← A·B + beta·C` for one strided matrix product (`m×k` by `k×n`), on the calling
    /// thread; with `beta` zero, C is written without being read. The kernels are the `gemm`
    /// crate's, but for the f32 products that `matrixmultiply` was measured to compute faster
    /// (see BENCHMARKS.md, "GEMM").
    ///
    /// # Safety
    /// The pointers must be valid for every element addressed by the sizes and strides, and `c`
    /// must not alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    #[doc(hidden)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        a_strides: (isize, isize),
        b: *const Self,
        b_strides: (isize, isize),
        beta: Self,
        c: *mut Self,
        c_strides: (isize, isize),
    );

    /// Replaces every element by its logistic sigmoid `1 / (1 + e⁻ˣ)`, without overflow for
    /// any `x`. `f64` uses the standard library's `exp`; `f32` a vectorised exponential
    /// (within a few ulp) — the fused kernels' hot loop.
    #[doc(hidden)]
    fn sigmoid_in_place(xs: &mut [Self]) {
        for x in xs {
            *x = sigmoid_exact(*x);
        }
    }

    /// Replaces every element by `eˣ`; like [`Float::sigmoid_in_place`], the standard library's
    /// `exp` for `f64` and the vectorised exponential (within 2 ulp) for `f32` — the softmax
    /// and logsumexp kernels.
    #[doc(hidden)]
    fn exp_in_place(xs: &mut [Self]) {
        for x in xs {
            *x = x.exp();
        }
    }

    /// Replaces every element by its hyperbolic tangent; like [`Float::sigmoid_in_place`],
    /// exact for `f64` and vectorised for `f32` (absolute error about 1e-7).
    #[doc(hidden)]
    fn tanh_in_place(xs: &mut [Self]) {
        for x in xs {
            *x = x.tanh();
        }
    }
}

/// The sigmoid as `Tensor::sigmoid` computes it: only ever exponentiating a non-positive number,
/// so `e^…` cannot overflow.
pub(crate) fn sigmoid_exact<T: num_traits::Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// `eˣ` for `f32` without branches, so loops of it vectorise: Cephes' `expf` (range reduction
/// by `ln 2` in two parts, a degree-6 polynomial, the exponent put in with bit operations),
/// within 2 ulp of the true value where it is a normal `f32`. Outside, it saturates by
/// arithmetic alone, with no select at the end: `x` is clamped to [-104, 89], where 2ⁿ still
/// fits two exponent fields, so above 88.72 the product overflows to infinity and below -104
/// it rounds to 0 (between, it goes through the subnormals); NaN stays NaN. Dropping the
/// selects made the sigmoid and tanh loops, which are all it serves, a fifth faster (1.03 →
/// 0.83 ns per element on an AVX2 EPYC). It also serves softmax and logsumexp.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-104.0, 89.0);
    // n = round(x·log₂e) by adding 1.5·2²³, which leaves the rounded value in the low mantissa
    // bits (no call to `floor`, so the loop vectorises without SSE4.1).
    const ROUNDER: f32 = 12_582_912.0;
    let shifted = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    // The polynomial by Estrin's scheme, in pairs of terms: its chain of dependent operations
    // is half as long as Horner's, so a vector loop of it overlaps more iterations.
    let r2 = r * r;
    let r4 = r2 * r2;
    let low = 1.666_666_5e-1 * r + 0.5;
    let middle = 8.333_452e-3 * r + 4.166_579_6e-2;
    let high = 1.987_569_1e-4 * r + 1.398_199_9e-3;
    let p = (low + middle * r2) + high * r4;
    let y = p * r2 + r + 1.0;
    // n is a whole number in [-150, 129]: 2ⁿ as the product of two powers of two built in the
    // float's exponent field, each within a normal float's range.
    let n = shifted.to_bits() as i32 - ROUNDER.to_bits() as i32;
    let half = n >> 1;
    let scale_a = f32::from_bits(((half + 127) as u32) << 23);
    let scale_b = f32::from_bits(((n - half + 127) as u32) << 23);
    y * scale_a * scale_b
}

#[inline(always)]
fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

#[inline(always)]
fn tanh_f32(x: f32) -> f32 {
    // tanh x = 1 − 2 / (e²ˣ + 1): ±1 at the ends without overflow.
    1.0 - 2.0 / (exp_f32(2.0 * x) + 1.0)
}

/// Applies `f` to every element, eight lanes at a time where the processor has AVX2 and FMA
/// (see [`with_wide_simd`]).
#[inline(always)]
fn map_f32_in_place(xs: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    with_wide_simd(|| {
        for x in xs {
            *x = f(*x);
        }
    });
}

/// Runs `work` compiled for AVX2 and FMA when the processor has them, and for the baseline
/// x86-64 target (SSE2) otherwise; on other architectures it simply runs `work`.
///
/// A loop over `f32` or `f64` slices inside `work` then runs eight (or four) lanes at a time
/// instead of four (or two), which matters where the loop divides or takes square roots — the
/// update of the Adam optimizer, say — as those are the slow instructions either way. The result
/// is the same bit for bit on both paths: Rust never fuses a multiply and an add into an FMA on
/// its own, and each lane computes what the scalar code would. `work` must be inlined to benefit;
/// a closure called once is.
///
/// ```
/// use chainrule_autodiff::with_wide_simd;
/// let mut xs = vec![4.0f32, 9.0, 16.0];
/// with_wide_simd(|| {
///     for x in xs.iter_mut() {
///         *x = x.sqrt();
///     }
/// });
/// assert_eq!(xs, [2.0, 3.0, 4.0]);
/// ```
#[inline(always)]
pub fn with_wide_simd<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn wide<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the processor supports the features `wide` is compiled for.
            return unsafe { wide(work) };
        }
    }
    work()
}

/// Whether `matrixmultiply` computes an f32 product faster than `gemm` on the machines
/// measured: when B is read down its columns (a transposed operand: a convolution's weight
/// gradient `G·patchesᵀ`, say) over more than 768 terms, into more than 16 columns. There gemm
/// ran at 0.67–0.91 of matrixmultiply's speed on the AVX2 EPYC (64×1024×576: 0.81; conv-digits'
/// 32×1024×144: 0.69), and at 1.00 from 768 terms down; with 16 columns or fewer it was level
/// or ahead (16×4096×9: 1.85). Everywhere else gemm was level or ahead, by up to 1.3×; in f64
/// it was ahead on every product measured. See BENCHMARKS.md, "GEMM".
fn matrixmultiply_is_faster(k: usize, n: usize, (rsb, csb): (isize, isize)) -> bool {
    rsb == 1 && csb != 1 && k > 768 && n > 16
}

/// The (row, column) strides of `op(X)`, a `rows`×`cols` operand of a product, when X is stored
/// row-major as `op(X)` itself or, when `transposed`, as its transpose: the strides
/// [`Float::gemm`] takes. Public (hidden) for `chainrule-bench`.
#[doc(hidden)]
pub fn operand_strides(rows: usize, cols: usize, transposed: bool) -> (isize, isize) {
    if transposed {
        (1, rows as isize)
    } else {
        (cols as isize, 1)
    }
}

/// Whether a matrix with these (row, column) strides is stored transposed: read down its
/// columns, as `Aᵀ` or `Bᵀ` of a row-major matrix is.
fn transposed((rows, columns): (isize, isize)) -> bool {
    rows == 1 && columns != 1
}

/// Whether `gemm` computes an f32 product `C = op(A)·op(B)` (m×k times k×n) faster into a
/// column-major scratch matrix, copied into C afterwards, than straight into C's rows.
///
/// gemm works on column-major destinations, so for a row-major C it computes `Cᵀ = op(B)ᵀ·op(A)ᵀ`
/// instead. Which way round is faster depends on two things it does differently. Its left
/// operand is copied into panels of 16 rows, cheaply when that operand is stored by columns and
/// element by element when it is stored by rows. Those 16-row tiles waste most of their lanes
/// when the destination has only a few rows. Measured on the AVX2 EPYC (BENCHMARKS.md, "Which
/// way round gemm computes a product", and `chainrule-bench gemm-orientation`), the scratch
/// way, its copy included, was faster by:
/// - `A·Bᵀ` with m ≤ 32, k ≥ 64, n ≥ 64: 4–47% (the MLP's and the LSTM's input gradients
///   `∂Z·Wᵀ`, where the row-major way copies all of `W` element by element);
/// - `Aᵀ·B` with n of 2–4 or 9–12 and k ≥ 32, and `Aᵀ·Bᵀ` with such n: up to 78% (a weight
///   gradient of a layer with a few outputs, as the 10 classes of the digits);
/// - `Aᵀ·Bᵀ` with m ≤ 32 and k ≥ 32: 3–78%.
///
/// Everywhere else the row-major way was level or ahead, except `A·B` with m ≤ 32 and n of
/// exactly 1024 or 2048, where rows 4 KB apart make the row-major way slow; the scratch way
/// was faster on that product alone but not in conv-digits, whose second convolution has that
/// shape, so it is not taken there. Products of at most 256 elements are left to gemm's own
/// paths for small products. The two ways give the same bits: the same multiply-adds in the
/// same order.
///
/// Public (hidden) for `chainrule-bench gemm-orientation`, which measures both ways.
#[doc(hidden)]
pub fn column_major_is_faster(m: usize, k: usize, n: usize, a_t: bool, b_t: bool) -> bool {
    if m * n <= 256 {
        return false;
    }
    let few_columns = matches!(n, 2..=4 | 9..=12);
    match (a_t, b_t) {
        (false, false) => false,
        (false, true) => m <= 32 && k >= 64 && n >= 64,
        (true, false) => few_columns && k >= 32,
        (true, true) => few_columns || (m <= 32 && k >= 32),
    }
}

/// The largest column-major scratch matrix a thread keeps between products (1 MiB of f32).
const KEPT_SCRATCH_ELEMENTS: usize = 1 << 18;

thread_local! {
    /// The column-major results of [`gemm_by_columns`], one buffer per thread, kept between
    /// products so that a training step's products allocate nothing.
    static COLUMN_MAJOR_SCRATCH: std::cell::RefCell<Vec<f32>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `C ← op(A)·op(B)` through a column-major scratch matrix (see [`column_major_is_faster`]);
/// C's rows are `rsc` apart, its columns adjacent. Public (hidden) for
/// `chainrule-bench gemm-orientation`.
///
/// # Safety
/// As for [`Float::gemm`].
#[allow(clippy::too_many_arguments)]
#[inline(never)] // the rarer path: kept out of `Float::gemm`, which every product goes through
#[doc(hidden)]
pub unsafe fn gemm_by_columns(
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    a_strides: (isize, isize),
    b: *const f32,
    b_strides: (isize, isize),
    c: *mut f32,
    rsc: isize,
) {
    COLUMN_MAJOR_SCRATCH.with_borrow_mut(|scratch| {
        if scratch.len() < m * n {
            scratch.resize(m * n, 0.0);
        }
        let by_columns = scratch.as_mut_ptr();
        // SAFETY: the scratch holds m×n elements, column j at j·m; A and B are the caller's.
        unsafe {
            gemm_crate(
                m,
                k,
                n,
                a,
                a_strides,
                b,
                b_strides,
                0.0,
                by_columns,
                (1, m as isize),
            );
        }
        // SAFETY: as above; C holds m rows of n, `rsc` apart.
        unsafe { copy_column_major_into_rows(m, n, by_columns, c, rsc) };
        // A training step's products are small, and their scratch is worth keeping; a rare
        // large one (a tall Aᵀ·B with few columns) should not hold its memory for good.
        if scratch.len() > KEPT_SCRATCH_ELEMENTS {
            *scratch = Vec::new();
        }
    });
}

/// Copies the m×n column-major matrix at `from` (column j at j·m) into the rows of `to`, which
/// are `to_row_stride` apart, in tiles of 16×16: the 16 columns read for one row of a tile stay
/// in the cache for its other 15 rows. Full tiles have constant bounds, so the compiler unrolls
/// them; a loop with the bounds computed per tile took twice as long.
///
/// # Safety
/// `from` must hold m×n elements and `to` m rows of n; the two must not overlap.
unsafe fn copy_column_major_into_rows(
    m: usize,
    n: usize,
    from: *const f32,
    to: *mut f32,
    to_row_stride: isize,
) {
    const TILE: usize = 16;
    // SAFETY (each access): i < m and j < n, inside both matrices (the caller's promise).
    let copy = |i: usize, j: usize| unsafe {
        *to.offset(i as isize * to_row_stride + j as isize) = *from.add(j * m + i);
    };
    let (full_rows, full_columns) = (m - m % TILE, n - n % TILE);
    for rows in (0..full_rows).step_by(TILE) {
        for columns in (0..full_columns).step_by(TILE) {
            for i in rows..rows + TILE {
                for j in columns..columns + TILE {
                    copy(i, j);
                }
            }
        }
        for i in rows..rows + TILE {
            for j in full_columns..n {
                copy(i, j);
            }
        }
    }
    for i in full_rows..m {
        for j in 0..n {
            copy(i, j);
        }
    }
}

/// One product by the `gemm` crate on the calling thread: `C ← A·B + beta·C`, C not read when
/// `beta` is zero. gemm takes each matrix's column stride before its row stride, and computes
/// `dst ← alpha·dst + beta·lhs·rhs`, so our `beta` is its `alpha`.
///
/// # Safety
/// As for [`Float::gemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_crate<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: *const T,
    (rsa, csa): (isize, isize),
    b: *const T,
    (rsb, csb): (isize, isize),
    beta: T,
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
        beta != T::zero(),
        a,
        csa,
        rsa,
        b,
        csb,
        rsb,
        beta,
        T::one(),
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    fn of(value: f64) -> Self {
        value as f32
    }
    fn to_f64_exact(self) -> f64 {
        f64::from(self)
    }
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        (rsa, csa): (isize, isize),
        b: *const Self,
        (rsb, csb): (isize, isize),
        beta: Self,
        c: *mut Self,
        (rsc, csc): (isize, isize),
    ) {
        if matrixmultiply_is_faster(k, n, (rsb, csb)) {
            matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
        } else if beta == 0.0
            && csc == 1
            && column_major_is_faster(m, k, n, transposed((rsa, csa)), transposed((rsb, csb)))
        {
            gemm_by_columns(m, k, n, a, (rsa, csa), b, (rsb, csb), c, rsc);
        } else {
            gemm_crate(m, k, n, a, (rsa, csa), b, (rsb, csb), beta, c, (rsc, csc));
        }
    }
    fn sigmoid_in_place(xs: &mut [Self]) {
        map_f32_in_place(xs, sigmoid_f32);
    }
    fn tanh_in_place(xs: &mut [Self]) {
        map_f32_in_place(xs, tanh_f32);
    }
    fn exp_in_place(xs: &mut [Self]) {
        map_f32_in_place(xs, exp_f32);
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    fn of(value: f64) -> Self {
        value
    }
    fn to_f64_exact(self) -> f64 {
        self
    }
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        (rsa, csa): (isize, isize),
        b: *const Self,
        (rsb, csb): (isize, isize),
        beta: Self,
        c: *mut Self,
        (rsc, csc): (isize, isize),
    ) {
        gemm_crate(m, k, n, a, (rsa, csa), b, (rsb, csb), beta, c, (rsc, csc));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrixmultiply_takes_only_the_f32_products_it_was_measured_faster_on() {
        // (k, n, B's strides) of the workloads' products; B transposed has strides (1, k).
        let transposed = |k: usize| (1, k as isize);
        // Convolutions' weight gradients G·patchesᵀ: conv-32 (64×1024×576) and conv-digits'
        // second layer (32×1024×144).
        assert!(matrixmultiply_is_faster(1024, 576, transposed(1024)));
        assert!(matrixmultiply_is_faster(1024, 144, transposed(1024)));
        // 768 terms, or 16 columns (conv-digits' first layer, 16×4096×9), went to gemm.
        assert!(!matrixmultiply_is_faster(768, 576, transposed(768)));
        assert!(!matrixmultiply_is_faster(4096, 9, transposed(4096)));
        // B by rows: every MLP and LSTM product, matmul-1024.
        assert!(!matrixmultiply_is_faster(1024, 1024, (1024, 1)));
        assert!(!matrixmultiply_is_faster(128, 128, (128, 1)));
    }

    #[test]
    fn the_column_major_way_takes_the_products_it_was_measured_faster_on() {
        // (m, k, n, A transposed, B transposed) of the workloads' products.
        // Input gradients ∂Z·Wᵀ at batch 32: mlp-digits' second layer, lstm-seq's step.
        assert!(column_major_is_faster(32, 128, 128, false, true));
        assert!(column_major_is_faster(32, 512, 128, false, true));
        // The output layer's weight gradient Hᵀ·∂Z, 10 classes (mlp-digits, conv-digits).
        assert!(column_major_is_faster(128, 32, 10, true, false));
        // Through 10 inputs, or at batch 64, ∂Z·Wᵀ stays row-major.
        assert!(!column_major_is_faster(32, 10, 128, false, true));
        assert!(!column_major_is_faster(64, 128, 128, false, true));
        // Forward products and the hidden layers' weight gradients stay row-major.
        assert!(!column_major_is_faster(32, 128, 128, false, false));
        assert!(!column_major_is_faster(32, 144, 1024, false, false));
        assert!(!column_major_is_faster(128, 32, 128, true, false));
        assert!(!column_major_is_faster(1024, 1024, 1024, false, false));
        // One column: gemm's own matrix-vector path either way.
        assert!(!column_major_is_faster(512, 256, 1, true, false));
    }

    #[test]
    fn the_column_major_way_gives_the_row_major_way_s_product_bit_for_bit() {
        // The same multiply-adds in the same order, only the destination's layout differs;
        // C's rows 5 apart from its width (a column block of a wider C, as threads cut it).
        for (m, k, n, a_t, b_t) in [
            (32, 128, 128, false, true),
            (17, 70, 65, false, true),
            (128, 32, 10, true, false),
            (33, 40, 3, true, true),
            (20, 600, 9, true, false),
            // A result larger than the scratch a thread keeps.
            (27_000, 32, 10, true, false),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 9.0)
                .collect();
            let (a_strides, b_strides) = (operand_strides(m, k, a_t), operand_strides(k, n, b_t));
            let row_stride = n + 5;
            let mut by_rows = vec![f32::NAN; m * row_stride];
            let mut by_columns = by_rows.clone();
            // SAFETY: A, B and both Cs hold the elements their strides reach.
            unsafe {
                gemm_crate(
                    m,
                    k,
                    n,
                    a.as_ptr(),
                    a_strides,
                    b.as_ptr(),
                    b_strides,
                    0.0,
                    by_rows.as_mut_ptr(),
                    (row_stride as isize, 1),
                );
                gemm_by_columns(
                    m,
                    k,
                    n,
                    a.as_ptr(),
                    a_strides,
                    b.as_ptr(),
                    b_strides,
                    by_columns.as_mut_ptr(),
                    row_stride as isize,
                );
            }
            for i in 0..m {
                for j in 0..row_stride {
                    let (x, y) = (by_rows[i * row_stride + j], by_columns[i * row_stride + j]);
                    if j < n {
                        assert_eq!(x.to_bits(), y.to_bits(), "{m}×{k}×{n} at [{i}, {j}]");
                    } else {
                        assert!(y.is_nan(), "{m}×{k}×{n}: wrote past row {i}'s end");
                    }
                }
            }
        }
    }

    /// Points across the whole range, the saturated ends and the region near 0 included.
    fn points() -> Vec<f32> {
        let mut xs: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 0.01).collect();
        xs.extend([
            -1000.0, -100.0, -88.0, -87.0, 87.0, 88.0, 89.0, 100.0, 1000.0, 0.0,
        ]);
        xs.extend([1e-3, -1e-3, 1e-6, -1e-6, 1e-30, f32::MIN_POSITIVE]);
        xs
    }

    #[test]
    fn f32_exp_is_within_a_few_ulp() {
        for x in points().into_iter().filter(|x| x.abs() < 87.0) {
            let exact = f64::from(x).exp();
            let rel = ((f64::from(exp_f32(x)) - exact) / exact).abs();
            assert!(
                rel < 4.0 * f64::from(f32::EPSILON),
                "exp({x}): rel error {rel}"
            );
        }
    }

    #[test]
    fn f32_exp_saturates_outside_the_normal_range() {
        for x in [88.73, 89.0, 100.0, f32::MAX, f32::INFINITY] {
            assert_eq!(exp_f32(x), f32::INFINITY, "exp({x})");
        }
        for x in [-104.0, -200.0, f32::MIN, f32::NEG_INFINITY] {
            assert_eq!(exp_f32(x), 0.0, "exp({x})");
        }
        // Subnormal results stay within a subnormal step or two of the truth.
        for x in [-88.0f32, -95.0, -100.0, -103.0] {
            let exact = f64::from(x).exp();
            let step = f64::from(f32::from_bits(1));
            assert!((f64::from(exp_f32(x)) - exact).abs() <= exact * 1e-6 + 2.0 * step);
        }
        assert!(exp_f32(f32::NAN).is_nan());
        let mut nan = [f32::NAN];
        f32::sigmoid_in_place(&mut nan);
        assert!(nan[0].is_nan());
        f32::tanh_in_place(&mut nan);
        assert!(nan[0].is_nan());
        f32::exp_in_place(&mut nan);
        assert!(nan[0].is_nan());
    }

    #[test]
    fn f32_sigmoid_and_tanh_match_f64() {
        let xs = points();
        let mut s = xs.clone();
        f32::sigmoid_in_place(&mut s);
        let mut t = xs.clone();
        f32::tanh_in_place(&mut t);
        for ((&x, &sv), &tv) in xs.iter().zip(&s).zip(&t) {
            let x64 = f64::from(x);
            let sig = sigmoid_exact(x64);
            assert!(
                (f64::from(sv) - sig).abs() <= 2e-7 * sig.max(1e-30) + 1e-37,
                "σ({x}) = {sv}"
            );
            assert!(
                (f64::from(tv) - x64.tanh()).abs() <= 2e-7,
                "tanh({x}) = {tv}"
            );
            assert!(sv.is_finite() && tv.is_finite());
        }
        let mut ends = [f32::NEG_INFINITY, f32::INFINITY];
        f32::sigmoid_in_place(&mut ends);
        assert_eq!(ends, [0.0, 1.0]);
        let mut ends = [f32::NEG_INFINITY, f32::INFINITY];
        f32::tanh_in_place(&mut ends);
        assert_eq!(ends, [-1.0, 1.0]);
    }

    #[test]
    fn f64_matches_the_standard_library() {
        let xs: Vec<f64> = points().into_iter().map(f64::from).collect();
        let mut s = xs.clone();
        f64::sigmoid_in_place(&mut s);
        let mut t = xs.clone();
        f64::tanh_in_place(&mut t);
        for ((&x, &sv), &tv) in xs.iter().zip(&s).zip(&t) {
            assert_eq!(sv, sigmoid_exact(x));
            assert_eq!(tv, x.tanh());
        }
    }
}
