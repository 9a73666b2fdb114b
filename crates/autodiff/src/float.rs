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

    /// `C ← alpha·A·B + beta·C` for one strided matrix product (`m×k` by `k×n`).
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
        matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
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
        matrixmultiply::dgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    }
}
