//! Elementwise kernels: unary maps, binary ops with NumPy broadcasting, and the arithmetic
//! operators (`+ - * /` and unary `-`) on tensors and scalars.
//!
//! Every binary op goes through [`Tensor::zip_map`]. It takes one contiguous pass when each
//! operand is either a single element or already lines up with the output, and otherwise walks
//! the output row by row with each operand's broadcast strides (0 on broadcast axes). The owned
//! operators (`a + b` on tensors given up by value) write into an operand's storage when nobody
//! else holds it, which saves an allocation per step in a training loop.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::layout::{broadcast_shapes, broadcast_strides, StridedRows};
use super::{same_dims, shape_of, Shape, Tensor};
use crate::Float;

impl<T: Float> Tensor<T> {
    /// Applies `f` to every element.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// assert_eq!(t.map(|x| 10.0 * x).to_vec(), vec![10.0, 20.0]);
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T) -> Tensor<T> {
        // One element, the scalar graph's every op: no slices, no lengths to compare.
        if let Some(x) = self.one_element() {
            return Tensor::one(f(x), shape_of(&self.shape));
        }
        Tensor::from_map(self, f)
    }

    /// [`Tensor::map`], writing over `self`'s storage when nobody else holds it.
    pub(crate) fn map_reusing(mut self, f: impl Fn(T) -> T) -> Tensor<T> {
        if let Some(values) = self.data_mut_if_unique() {
            for v in values.iter_mut() {
                *v = f(*v);
            }
            return self;
        }
        self.map(f)
    }

    /// `self · f(x)` elementwise for an `x` of `self`'s shape, in one pass over the two slices and
    /// written over `self`'s storage when nobody else holds it: a gradient times the derivative
    /// of a piecewise-linear function (relu's mask, abs's sign) without building the mask
    /// tensor. The loop has no branch for `f`'s usual `if`/`else` of constants to become, so
    /// it compiles to selects over whole vector registers. Other shapes broadcast, as
    /// `self * x.map(f)`.
    #[track_caller]
    pub(crate) fn mul_map_of(mut self, x: &Tensor<T>, f: impl Fn(T) -> T) -> Tensor<T> {
        if self.shape != x.shape {
            return self * x.map(f);
        }
        if let Some(values) = self.data_mut_if_unique() {
            for (g, &v) in values.iter_mut().zip(x.as_slice()) {
                *g *= f(v);
            }
            return self;
        }
        Tensor::from_zip(&self, x, |g, v| g * f(v))
    }

    /// Applies `f` to pairs of elements of `self` and `other`, broadcast to a common shape.
    ///
    /// # Panics
    /// When the shapes do not broadcast; the message starts with `op`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2, 1]);
    /// let b = Tensor::from_vec(vec![10.0f64, 20.0, 30.0], &[3]);
    /// let c = a.zip_map(&b, "hypot", |x, y| x.hypot(y));
    /// assert_eq!(c.shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn zip_map(&self, other: &Tensor<T>, op: &str, f: impl Fn(T, T) -> T) -> Tensor<T> {
        // Same shapes — every op of a scalar graph, most of a training step — need no
        // broadcasting at all.
        if same_dims(&self.shape, &other.shape) {
            if let (Some(a), Some(b)) = (self.one_element(), other.one_element()) {
                return Tensor::one(f(a, b), shape_of(&self.shape));
            }
            return Tensor::from_zip(self, other, f);
        }
        let shape = broadcast_or_panic(self.shape(), other.shape(), op);
        let n = shape.iter().product();
        let mut out = Vec::with_capacity(n);
        if n == 0 {
            // Nothing to compute.
        } else if lines_up(self, n) && lines_up(other, n) {
            push_run(&mut out, n, whole(self, n), whole(other, n), &f);
        } else {
            let strides_a = broadcast_strides(self.shape(), &shape);
            let strides_b = broadcast_strides(other.shape(), &shape);
            let rows = StridedRows::new(&shape, [&strides_a, &strides_b]);
            let (len, [step_a, step_b]) = (rows.len, rows.step);
            for [a, b] in rows {
                let run_a = run(self.as_slice(), a, step_a, len);
                let run_b = run(other.as_slice(), b, step_b, len);
                push_run(&mut out, len, run_a, run_b, &f);
            }
        }
        Tensor::from_parts(out, shape)
    }

    /// Elementwise `self + other`, broadcasting.
    ///
    /// # Panics
    /// When the shapes do not broadcast.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let column = Tensor::from_vec(vec![0.0f64, 10.0], &[2, 1]);
    /// let row = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
    /// let sum = column.add(&row);
    /// assert_eq!(sum.shape(), &[2, 3]);
    /// assert_eq!(sum.to_vec(), vec![1.0, 2.0, 3.0, 11.0, 12.0, 13.0]);
    /// ```
    #[track_caller]
    pub fn add(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_map(other, "add", |x, y| x + y)
    }

    /// Elementwise `self - other`, broadcasting.
    #[track_caller]
    pub fn sub(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_map(other, "sub", |x, y| x - y)
    }

    /// Elementwise `self · other`, broadcasting.
    #[track_caller]
    pub fn mul(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_map(other, "mul", |x, y| x * y)
    }

    /// Elementwise `self / other`, broadcasting.
    #[track_caller]
    pub fn div(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_map(other, "div", |x, y| x / y)
    }

    /// Elementwise `self ^ other` (`powf`), broadcasting.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let base = Tensor::from_vec(vec![2.0f64, 3.0], &[2]);
    /// let exponent = Tensor::from_vec(vec![3.0f64, 2.0], &[2]);
    /// assert_eq!(base.pow(&exponent).to_vec(), vec![8.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn pow(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_map(other, "pow", |x, y| x.powf(y))
    }

    /// Elementwise larger of `self` and `other` (NaN if either is NaN), broadcasting.
    #[track_caller]
    pub fn maximum(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_map(
            other,
            "maximum",
            |x, y| {
                if x > y || x.is_nan() {
                    x
                } else {
                    y
                }
            },
        )
    }

    /// Elementwise smaller of `self` and `other` (NaN if either is NaN), broadcasting.
    #[track_caller]
    pub fn minimum(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_map(
            other,
            "minimum",
            |x, y| {
                if x < y || x.is_nan() {
                    x
                } else {
                    y
                }
            },
        )
    }

    /// Elementwise `-x`.
    pub fn neg(&self) -> Tensor<T> {
        self.map(|x| -x)
    }

    /// Elementwise `eˣ`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// assert_eq!(Tensor::from_vec(vec![0.0f64], &[1]).exp().to_vec(), vec![1.0]);
    /// ```
    pub fn exp(&self) -> Tensor<T> {
        self.map(T::exp)
    }

    /// Elementwise natural logarithm `ln x` (NaN below 0, -∞ at 0).
    pub fn ln(&self) -> Tensor<T> {
        self.map(T::ln)
    }

    /// Elementwise `√x`.
    pub fn sqrt(&self) -> Tensor<T> {
        self.map(T::sqrt)
    }

    /// Elementwise `|x|`.
    pub fn abs(&self) -> Tensor<T> {
        self.map(T::abs)
    }

    /// Elementwise `tanh x`.
    pub fn tanh(&self) -> Tensor<T> {
        self.map(T::tanh)
    }

    /// Elementwise logistic sigmoid `1 / (1 + e⁻ˣ)`, computed without overflow for any `x`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let s = Tensor::from_vec(vec![-1000.0f32, 0.0, 1000.0], &[3]).sigmoid();
    /// assert_eq!(s.to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    pub fn sigmoid(&self) -> Tensor<T> {
        self.map(crate::float::sigmoid_exact)
    }

    /// Elementwise rectified linear unit `max(x, 0)` (NaN stays NaN).
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let r = Tensor::from_vec(vec![-2.0f64, 3.0], &[2]).relu();
    /// assert_eq!(r.to_vec(), vec![0.0, 3.0]);
    /// ```
    pub fn relu(&self) -> Tensor<T> {
        self.map(|x| if x < T::zero() { T::zero() } else { x })
    }

    /// Elementwise `xᵉ` for one exponent `e`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![4.0f64, 9.0], &[2]);
    /// assert_eq!(t.powf(0.5).to_vec(), vec![2.0, 3.0]);
    /// ```
    pub fn powf(&self, exponent: T) -> Tensor<T> {
        self.map(|x| x.powf(exponent))
    }

    /// Elementwise `x` limited to `[min, max]` (NaN stays NaN).
    ///
    /// # Panics
    /// When `min > max`.
    ///
    /// ```
    /// use chainrule_autodiff::Tensor;
    /// let t = Tensor::from_vec(vec![-5.0f64, 0.5, 5.0], &[3]);
    /// assert_eq!(t.clamp(0.0, 1.0).to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn clamp(&self, min: T, max: T) -> Tensor<T> {
        shape_assert!(min <= max, "clamp: min {min} is greater than max {max}");
        self.map(|x| {
            if x < min {
                min
            } else if x > max {
                max
            } else {
                x
            }
        })
    }

    /// Elementwise `x + c` for one number `c`.
    pub fn add_scalar(&self, c: T) -> Tensor<T> {
        self.map(|x| x + c)
    }

    /// Elementwise `c · x` for one number `c`.
    pub fn mul_scalar(&self, c: T) -> Tensor<T> {
        self.map(|x| x * c)
    }

    /// Elementwise `x²`.
    pub fn square(&self) -> Tensor<T> {
        self.map(|x| x * x)
    }
}

/// The broadcast shape of an op's operands, or a panic that names the op and both shapes.
#[track_caller]
fn broadcast_or_panic(a: &[usize], b: &[usize], op: &str) -> Shape {
    match broadcast_shapes(a, b) {
        Some(shape) => shape,
        None => shape_panic!("{op}: shapes {a:?} and {b:?} do not broadcast"),
    }
}

/// How one operand's values line up with a run of consecutive output elements.
#[derive(Clone, Copy)]
enum Run<'a, T> {
    /// One value per output element.
    Values(&'a [T]),
    /// The same value for every output element (a broadcast axis).
    Repeat(T),
}

/// The run of `len` values starting at `start` with stride `step`, which is 0 or 1 for a
/// broadcast operand.
fn run<T: Copy>(data: &[T], start: usize, step: usize, len: usize) -> Run<'_, T> {
    if step == 0 {
        Run::Repeat(data[start])
    } else {
        Run::Values(&data[start..start + len])
    }
}

/// Whether `t`'s elements, in order, already line up with an output of `n` elements: either it
/// has exactly that many (it differs from the output shape only by leading or unit axes) or it
/// is a single element to repeat.
fn lines_up<T: Float>(t: &Tensor<T>, n: usize) -> bool {
    let len = t.numel();
    len == n || len == 1
}

/// The whole of an operand that [`lines_up`] with `n` output elements, as one run.
fn whole<T: Float>(t: &Tensor<T>, n: usize) -> Run<'_, T> {
    if t.numel() == n {
        Run::Values(t.as_slice())
    } else {
        Run::Repeat(t.as_slice()[0])
    }
}

/// Appends `f(a, b)` for `len` pairs of run values.
fn push_run<T: Float>(out: &mut Vec<T>, len: usize, a: Run<T>, b: Run<T>, f: &impl Fn(T, T) -> T) {
    match (a, b) {
        (Run::Values(x), Run::Values(y)) => out.extend(x.iter().zip(y).map(|(&x, &y)| f(x, y))),
        (Run::Values(x), Run::Repeat(y)) => out.extend(x.iter().map(|&x| f(x, y))),
        (Run::Repeat(x), Run::Values(y)) => out.extend(y.iter().map(|&y| f(x, y))),
        (Run::Repeat(x), Run::Repeat(y)) => out.resize(out.len() + len, f(x, y)),
    }
}

/// Replaces each `d` of `dst` by `g(d, o)` for the matching value `o` of the other operand.
fn update_run<T: Float>(dst: &mut [T], other: Run<T>, g: &impl Fn(T, T) -> T) {
    match other {
        Run::Values(o) => {
            for (d, &o) in dst.iter_mut().zip(o) {
                *d = g(*d, o);
            }
        }
        Run::Repeat(o) => {
            for d in dst.iter_mut() {
                *d = g(*d, o);
            }
        }
    }
}

/// An operand of an arithmetic operator: given up by value (its storage may be reused for the
/// result) or borrowed.
enum Operand<'a, T> {
    Owned(Tensor<T>),
    Borrowed(&'a Tensor<T>),
}

impl<T> Operand<'_, T> {
    fn tensor(&self) -> &Tensor<T> {
        match self {
            Operand::Owned(t) => t,
            Operand::Borrowed(t) => t,
        }
    }
}

/// [`Tensor::zip_map`] for operators: writes the result over the left operand's storage, else
/// the right one's, when that operand was given up, nobody else holds its storage, and it
/// already has the output's shape. Falls back to a fresh tensor.
#[track_caller]
fn zip_operands<T: Float>(
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    op: &str,
    f: impl Fn(T, T) -> T,
) -> Tensor<T> {
    let (shape_a, shape_b) = (a.tensor().shape(), b.tensor().shape());
    // Operands of one shape (the usual case) need no copy of it.
    let broadcast =
        (!same_dims(shape_a, shape_b)).then(|| broadcast_or_panic(shape_a, shape_b, op));
    let has_output_shape = |t: &Tensor<T>| match &broadcast {
        None => true,
        Some(shape) => same_dims(&t.shape, shape),
    };
    let a = match a {
        Operand::Owned(t) if has_output_shape(&t) => match overwrite(t, b.tensor(), &f) {
            Ok(result) => return result,
            Err(t) => Operand::Owned(t),
        },
        a => a,
    };
    let b = match b {
        Operand::Owned(t) if has_output_shape(&t) => {
            match overwrite(t, a.tensor(), |d, o| f(o, d)) {
                Ok(result) => return result,
                Err(t) => Operand::Owned(t),
            }
        }
        b => b,
    };
    a.tensor().zip_map(b.tensor(), op, f)
}

/// Sets each element `d` of `target` to `g(d, o)`, with `o` the matching element of `other`
/// broadcast to `target`'s shape (which must be the broadcast shape). Gives `target` back
/// untouched when its storage is shared.
fn overwrite<T: Float>(
    mut target: Tensor<T>,
    other: &Tensor<T>,
    g: impl Fn(T, T) -> T,
) -> Result<Tensor<T>, Tensor<T>> {
    // The shape is copied only for the broadcast path, which walks it.
    let n = target.numel();
    let shape = (n > 0 && !lines_up(other, n)).then(|| shape_of(&target.shape));
    let Some(values) = target.data_mut_if_unique() else {
        return Err(target);
    };
    if n == 0 {
        // Nothing to compute.
    } else if let Some(shape) = shape {
        let strides = broadcast_strides(other.shape(), &shape);
        let rows = StridedRows::new(&shape, [&strides]);
        let (len, [step]) = (rows.len, rows.step);
        for (chunk, [start]) in values.chunks_exact_mut(len).zip(rows) {
            update_run(chunk, run(other.as_slice(), start, step, len), &g);
        }
    } else {
        update_run(values, whole(other, n), &g);
    }
    Ok(target)
}

/// Implements an arithmetic operator for every pairing of owned and borrowed tensors, and for a
/// tensor with a scalar on the right, through the element type's own operator.
macro_rules! tensor_operator {
    ($Trait:ident, $method:ident) => {
        impl<T: Float> $Trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                self.zip_map(rhs, stringify!($method), <T as $Trait>::$method)
            }
        }

        impl<T: Float> $Trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                zip_operands(
                    Operand::Owned(self),
                    Operand::Owned(rhs),
                    stringify!($method),
                    <T as $Trait>::$method,
                )
            }
        }

        impl<T: Float> $Trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                zip_operands(
                    Operand::Owned(self),
                    Operand::Borrowed(rhs),
                    stringify!($method),
                    <T as $Trait>::$method,
                )
            }
        }

        impl<T: Float> $Trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                zip_operands(
                    Operand::Borrowed(self),
                    Operand::Owned(rhs),
                    stringify!($method),
                    <T as $Trait>::$method,
                )
            }
        }

        impl<T: Float> $Trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map_reusing(|x| <T as $Trait>::$method(x, rhs))
            }
        }

        impl<T: Float> $Trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map(|x| <T as $Trait>::$method(x, rhs))
            }
        }
    };
}

tensor_operator!(Add, add);
tensor_operator!(Sub, sub);
tensor_operator!(Mul, mul);
tensor_operator!(Div, div);

/// Implements the arithmetic operators with a scalar of a concrete float type on the left
/// (`1.0 - t`); Rust's orphan rules rule out doing this once for a generic `T`.
macro_rules! scalar_on_left {
    ($Scalar:ty => $($Trait:ident :: $method:ident),*) => {$(
        impl $Trait<Tensor<$Scalar>> for $Scalar {
            type Output = Tensor<$Scalar>;
            fn $method(self, rhs: Tensor<$Scalar>) -> Tensor<$Scalar> {
                rhs.map_reusing(|x| $Trait::$method(self, x))
            }
        }

        impl $Trait<&Tensor<$Scalar>> for $Scalar {
            type Output = Tensor<$Scalar>;
            fn $method(self, rhs: &Tensor<$Scalar>) -> Tensor<$Scalar> {
                rhs.map(|x| $Trait::$method(self, x))
            }
        }
    )*};
}

scalar_on_left!(f32 => Add::add, Sub::sub, Mul::mul, Div::div);
scalar_on_left!(f64 => Add::add, Sub::sub, Mul::mul, Div::div);

impl<T: Float> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        self.map_reusing(|x| -x)
    }
}

impl<T: Float> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        self.map(|x| -x)
    }
}

#[cfg(test)]
mod tests {
    // Not `super::*`: with `std::ops::Add` in scope, `a.add(&b)` on an owned `a` would resolve to
    // the operator (which consumes `a`) rather than the inherent method the tests mean.
    use crate::tensor::broadcast_shapes;
    use crate::Tensor;
    use proptest::prelude::*;

    fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    fn range(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::arange(0.0, n as f64, 1.0).reshape(shape)
    }

    /// The broadcast sum computed one multi-index at a time, independently of the kernels.
    fn naive_add(a: &Tensor<f64>, b: &Tensor<f64>) -> Tensor<f64> {
        let shape = broadcast_shapes(a.shape(), b.shape()).unwrap();
        let mut out = Tensor::zeros(&shape);
        let pick = |t: &Tensor<f64>, index: &[usize]| {
            let lead = index.len() - t.rank();
            let own: Vec<usize> = index[lead..]
                .iter()
                .zip(t.shape())
                .map(|(&i, &n)| if n == 1 { 0 } else { i })
                .collect();
            t.get(&own)
        };
        for flat in 0..out.numel() {
            let index = out.unravel_index(flat);
            out.data_mut()[flat] = pick(a, &index) + pick(b, &index);
        }
        out
    }

    #[test]
    fn broadcasting_column_plus_row() {
        let col = t(&[0.0, 10.0], &[2, 1]);
        let row = t(&[1.0, 2.0, 3.0], &[3]);
        let sum = col.add(&row);
        assert_eq!(sum.shape(), &[2, 3]);
        assert_eq!(sum.to_vec(), vec![1.0, 2.0, 3.0, 11.0, 12.0, 13.0]);
        assert_eq!(row.add(&col), sum);
        assert_eq!(
            row.sub(&col).to_vec(),
            vec![1.0, 2.0, 3.0, -9.0, -8.0, -7.0]
        );
    }

    #[test]
    fn broadcasting_matches_naive_on_awkward_shapes() {
        let cases: [(&[usize], &[usize]); 6] = [
            (&[2, 3, 4], &[3, 1]),
            (&[2, 1, 4], &[3, 1]),
            (&[1, 3, 1], &[2, 1, 4]),
            (&[4], &[2, 3, 4]),
            (&[], &[2, 3]),
            (&[2, 1], &[1, 1, 1]),
        ];
        for (sa, sb) in cases {
            let a = range(sa);
            let b = range(sb).mul_scalar(100.0);
            assert_eq!(a.add(&b), naive_add(&a, &b), "{sa:?} + {sb:?}");
            assert_eq!(b.add(&a), naive_add(&b, &a), "{sb:?} + {sa:?}");
        }
    }

    #[test]
    fn scalars_and_empty_tensors() {
        let s = Tensor::scalar(2.0);
        assert_eq!(s.mul(&s).item(), 4.0);
        assert_eq!(s.mul(&range(&[3])).to_vec(), vec![0.0, 2.0, 4.0]);
        let empty = Tensor::<f64>::zeros(&[2, 0]);
        assert_eq!(empty.add(&range(&[1, 1])).shape(), &[2, 0]);
        assert_eq!(empty.add(&Tensor::zeros(&[0])).shape(), &[2, 0]);
    }

    #[test]
    #[should_panic(expected = "add: shapes [2, 3] and [4] do not broadcast")]
    fn incompatible_shapes_panic_with_op_name() {
        let _ = &range(&[2, 3]) + &range(&[4]);
    }

    #[test]
    #[should_panic(expected = "mul: shapes [2] and [3] do not broadcast")]
    fn owned_operator_panics_with_op_name() {
        let _ = range(&[2]) * range(&[3]);
    }

    #[test]
    fn binary_ops_by_hand() {
        let a = t(&[1.0, -2.0, 3.0], &[3]);
        let b = t(&[2.0, 2.0, -1.0], &[3]);
        assert_eq!(a.mul(&b).to_vec(), vec![2.0, -4.0, -3.0]);
        assert_eq!(a.div(&b).to_vec(), vec![0.5, -1.0, -3.0]);
        assert_eq!(a.pow(&t(&[2.0], &[1])).to_vec(), vec![1.0, 4.0, 9.0]);
        assert_eq!(a.maximum(&b).to_vec(), vec![2.0, 2.0, 3.0]);
        assert_eq!(a.minimum(&b).to_vec(), vec![1.0, -2.0, -1.0]);
        assert!(a.maximum(&t(&[f64::NAN], &[])).as_slice()[0].is_nan());
    }

    #[test]
    fn unary_ops_by_hand() {
        let a = t(&[-1.0, 0.0, 4.0], &[3]);
        assert_eq!(a.neg().to_vec(), vec![1.0, -0.0, -4.0]);
        assert_eq!(a.abs().to_vec(), vec![1.0, 0.0, 4.0]);
        assert_eq!(a.relu().to_vec(), vec![0.0, 0.0, 4.0]);
        assert_eq!(a.square().to_vec(), vec![1.0, 0.0, 16.0]);
        assert_eq!(a.clamp(-0.5, 2.0).to_vec(), vec![-0.5, 0.0, 2.0]);
        assert_eq!(a.add_scalar(1.0).to_vec(), vec![0.0, 1.0, 5.0]);
        assert_eq!(a.mul_scalar(-2.0).to_vec(), vec![2.0, -0.0, -8.0]);
        assert_eq!(a.abs().sqrt().to_vec(), vec![1.0, 0.0, 2.0]);
        assert_eq!(a.abs().powf(1.5).to_vec(), vec![1.0, 0.0, 8.0]);
        assert_eq!(a.exp().ln().to_vec(), vec![-1.0, 0.0, 4.0]);
        assert_eq!(
            a.tanh().to_vec(),
            vec![(-1.0f64).tanh(), 0.0, 4.0f64.tanh()]
        );
        let s = a.sigmoid();
        for (&x, &y) in a.as_slice().iter().zip(s.as_slice()) {
            assert!((y - 1.0 / (1.0 + (-x).exp())).abs() < 1e-15);
        }
    }

    #[test]
    fn sigmoid_is_finite_at_extremes() {
        let s = Tensor::from_vec(vec![-1000.0f32, -50.0, 50.0, 1000.0], &[4]).sigmoid();
        assert!(s.all_finite());
        assert_eq!(s.as_slice()[0], 0.0);
        assert_eq!(s.as_slice()[3], 1.0);
        assert!(s.as_slice()[1] > 0.0);
    }

    #[test]
    #[should_panic(expected = "clamp: min 2 is greater than max 1")]
    fn clamp_rejects_inverted_bounds() {
        range(&[2]).clamp(2.0, 1.0);
    }

    #[test]
    fn mul_map_of_is_the_product_with_the_mapped_tensor_in_place_when_unique() {
        let relu_mask = |v: f64| if v > 0.0 { 1.0 } else { 0.0 };
        let x = t(&[-1.0, 0.0, 2.0, 3.0, -0.5, 7.0], &[2, 3]);
        let g = t(&[1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0], &[2, 3]);
        let expected = (&g * &x.map(relu_mask)).to_vec();
        let shared = g.clone();
        let fresh = shared.clone().mul_map_of(&x, relu_mask);
        assert!(
            !fresh.shares_storage(&shared),
            "shared storage must not be written over"
        );
        assert_eq!(shared.to_vec()[0], 1.0);
        let address = g.storage_ptr();
        drop(shared);
        let in_place = g.mul_map_of(&x, relu_mask);
        assert_eq!(in_place.storage_ptr(), address);
        for result in [fresh, in_place] {
            let values = result.to_vec();
            assert_eq!(values[..4], expected[..4]);
            assert!(
                values[4].is_nan(),
                "NaN · 0 stays NaN, as in the product with the mask"
            );
            assert_eq!(values[5], expected[5]);
        }
        let column = t(&[2.0, -2.0], &[2, 1]);
        let broadcast = t(&[1.0; 6], &[2, 3]).mul_map_of(&column, relu_mask);
        assert_eq!(broadcast.to_vec(), vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn operators_agree_with_methods() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = t(&[10.0, 20.0], &[2]);
        assert_eq!(&a + &b, a.add(&b));
        assert_eq!(&a - &b, a.sub(&b));
        assert_eq!(&a * &b, a.mul(&b));
        assert_eq!(&a / &b, a.div(&b));
        assert_eq!(a.clone() + b.clone(), a.add(&b));
        assert_eq!(b.clone() - a.clone(), b.sub(&a));
        assert_eq!(a.clone() * &b, a.mul(&b));
        assert_eq!(&b / a.clone(), b.div(&a));
        assert_eq!(&a * 2.0, a.mul_scalar(2.0));
        assert_eq!(a.clone() - 1.0, a.add_scalar(-1.0));
        assert_eq!(1.0 - &a, a.neg().add_scalar(1.0));
        assert_eq!(12.0 / a.clone(), a.map(|x| 12.0 / x));
        assert_eq!(2.0 * a.clone(), a.mul_scalar(2.0));
        assert_eq!(1.0 + &a, a.add_scalar(1.0));
        assert_eq!(-&a, a.neg());
        assert_eq!(-a.clone(), a.neg());
        let f = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
        assert_eq!((1.0f32 - f).to_vec(), vec![0.0, -1.0]);
    }

    #[test]
    fn owned_operators_reuse_unshared_storage() {
        let a = range(&[2, 3]);
        let ptr = a.storage_ptr();
        let bias = t(&[1.0, 1.0, 1.0], &[3]);
        let sum = a + &bias;
        assert_eq!(sum.storage_ptr(), ptr);
        assert_eq!(sum.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

        // The right operand is reused when the left one cannot be.
        let right = range(&[2, 3]);
        let ptr = right.storage_ptr();
        let diff = &bias - right;
        assert_eq!(diff.storage_ptr(), ptr);
        assert_eq!(diff.to_vec(), vec![1.0, 0.0, -1.0, -2.0, -3.0, -4.0]);

        // Shared storage is never written over.
        let shared = range(&[3]);
        let keep = shared.clone();
        let doubled = shared * 2.0;
        assert_eq!(keep.to_vec(), vec![0.0, 1.0, 2.0]);
        assert_eq!(doubled.to_vec(), vec![0.0, 2.0, 4.0]);
        assert!(!doubled.shares_storage(&keep));

        // An operand whose shape is not the output's is not reused.
        let small = t(&[1.0, 2.0], &[2, 1]);
        let wide = range(&[3]);
        assert_eq!((small + wide).to_vec(), vec![1.0, 2.0, 3.0, 2.0, 3.0, 4.0]);
    }

    proptest! {
        #[test]
        fn broadcast_add_matches_naive(
            dims_a in prop::collection::vec(1usize..4, 0..4),
            keep in prop::collection::vec(any::<bool>(), 4),
            drop in 0usize..4,
        ) {
            // b takes a's trailing axes, with some collapsed to 1.
            let start = drop.min(dims_a.len());
            let dims_b: Vec<usize> = dims_a[start..]
                .iter()
                .zip(&keep)
                .map(|(&n, &k)| if k { n } else { 1 })
                .collect();
            let a = range(&dims_a);
            let b = range(&dims_b).mul_scalar(0.5);
            prop_assert_eq!(a.add(&b), naive_add(&a, &b));
            prop_assert_eq!(b.clone() + a.clone(), naive_add(&b, &a));
        }
    }
}
