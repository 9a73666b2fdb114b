//! The operations backward rules are written against — the rules' vocabulary.
//!
//! Each rule in this folder is written once, generic over these traits, and runs on three kinds
//! of value:
//!
//! - [`Tensor`]: the rule computes the gradient now — the fast first-order backward;
//! - `Var` (implemented in `crate::var`, which sits above this folder): the rule records the
//!   gradient as new nodes of the graph, so it can be differentiated again;
//! - plain numbers (`f32`, `f64`, elementwise rules only): the backward sweep's shortcut for a
//!   graph of scalars, where building a tensor per node would cost more than the rule.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::float::sigmoid_exact;
use crate::tensor::{same_dims, shape_of, Shape, Tensor};
use crate::{Conv2dOptions, Float, KeptPatches, Pool2dOptions};

/// What the elementwise rules (`elementwise.rs`) use. Numbers implement it too, so the sweep
/// applies the very same rules to the numbers of a graph of scalars.
pub(crate) trait ElementwiseOps<T: Float>:
    Clone
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<T, Output = Self>
    + Mul<T, Output = Self>
{
    fn shape(&self) -> Shape;
    /// Whether `self` has the same shape as `other` (no copy of either shape).
    fn same_shape(&self, other: &Self) -> bool;
    fn exp(&self) -> Self;
    fn ln(&self) -> Self;
    fn tanh(&self) -> Self;
    fn sigmoid(&self) -> Self;
    fn sin(&self) -> Self;
    fn cos(&self) -> Self;
    fn powf(&self, exponent: T) -> Self;
    fn pow(&self, exponent: &Self) -> Self;
    fn sum_to(&self, shape: &[usize]) -> Self;
    /// An elementwise function of the value whose result is a constant (no gradient flows
    /// through it): the masks and signs of piecewise rules such as relu's.
    fn map_constant(&self, f: impl Fn(T) -> T) -> Self;
    /// `self · derivative(x)` elementwise, `self` a gradient of `x`'s shape (or broadcasting
    /// with it) and `derivative(x)` a constant, as [`ElementwiseOps::map_constant`] makes it:
    /// the backward of a piecewise-linear op (relu, clamp, abs). The same as
    /// `self * x.map_constant(derivative)`, and so it is for a var; a tensor does it in one pass
    /// over the two slices, without building the mask, writing over `self` when it can.
    fn mul_piecewise(self, x: &Self, derivative: impl Fn(T) -> T) -> Self;
    /// A broadcasting function of two values whose result is a constant, like
    /// [`ElementwiseOps::map_constant`].
    fn zip_constant(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self;
    /// `self · other`, `other` borrowed: a tensor's value is read where it lies (a clone of a
    /// small node value is a copy out of the graph's arena), and `self`, when nobody else
    /// holds it, is written over.
    fn times(self, other: &Self) -> Self;
    /// `self / other`, `other` borrowed (as [`ElementwiseOps::times`]).
    fn over(self, other: &Self) -> Self;
}

/// What every other rule may use; implemented by [`Tensor`] (compute now) and `Var` (record on
/// the graph). Axes are already normalised to `0..rank`.
pub(crate) trait BackwardOps<T: Float>: ElementwiseOps<T> {
    fn sum_all(&self) -> Self;
    fn sum_axis(&self, axis: usize, keepdim: bool) -> Self;
    fn broadcast_to(&self, shape: &[usize]) -> Self;
    fn reshape(&self, shape: &[usize]) -> Self;
    fn permute(&self, axes: &[usize]) -> Self;
    fn matmul_t(&self, other: &Self, transpose_a: bool, transpose_b: bool) -> Self;
    /// Two products that do not depend on each other (a product's two input gradients), one
    /// after the other; tensors may run them side by side (`Tensor::matmul_t_pair`).
    fn matmul_t_pair(first: Product<'_, Self>, second: Product<'_, Self>) -> (Self, Self)
    where
        Self: Sized,
    {
        (first.compute(), second.compute())
    }
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self;
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self;
    fn index_select(&self, axis: usize, indices: &[usize]) -> Self;
    fn index_add(&self, axis: usize, indices: &[usize], size: usize) -> Self;
    fn gather(&self, axis: usize, indices: &[usize], len: usize) -> Self;
    fn scatter_add(&self, axis: usize, indices: &[usize], size: usize) -> Self;
    fn softmax(&self, axis: usize) -> Self;
    fn conv2d(&self, weight: &Self, options: Conv2dOptions) -> Self;
    fn conv_transpose2d(&self, weight: &Self, options: Conv2dOptions, size: [usize; 2]) -> Self;
    fn conv2d_weight(&self, grad: &Self, options: Conv2dOptions, kernel: [usize; 2]) -> Self;
    /// `conv2d_weight`, reusing the patch matrices the convolution's forward kept where this
    /// kind of value can (tensors; a recorded gradient builds its own).
    fn conv2d_weight_kept(
        &self,
        grad: &Self,
        options: Conv2dOptions,
        kernel: [usize; 2],
        _kept: &KeptPatches,
    ) -> Self {
        self.conv2d_weight(grad, options, kernel)
    }
    fn avg_pool2d(&self, options: Pool2dOptions) -> Self;
    fn avg_pool2d_backward(&self, options: Pool2dOptions, size: [usize; 2]) -> Self;
    /// A constant in the same place as `self` (the same graph, for a var).
    fn constant(&self, value: Tensor<T>) -> Self;
}

/// One matrix product `op(left)·op(right)` not computed yet, where `op` transposes the last two
/// axes when its flag is set: an argument of [`BackwardOps::matmul_t_pair`].
pub(crate) struct Product<'a, V> {
    pub left: &'a V,
    pub right: &'a V,
    pub transpose_left: bool,
    pub transpose_right: bool,
}

impl<V> Clone for Product<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Product<'_, V> {}

impl<'a, V> Product<'a, V> {
    /// The operands and flags, in [`Tensor::matmul_t`]'s order.
    pub fn args(self) -> (&'a V, &'a V, bool, bool) {
        (
            self.left,
            self.right,
            self.transpose_left,
            self.transpose_right,
        )
    }

    /// The product's value.
    pub fn compute<T: Float>(self) -> V
    where
        V: BackwardOps<T>,
    {
        let (left, right, transpose_left, transpose_right) = self.args();
        left.matmul_t(right, transpose_left, transpose_right)
    }
}

/// A single number: the value of a 0-d (or one-element) node, for the sweep's scalar path.
impl<T: Float> ElementwiseOps<T> for T {
    fn shape(&self) -> Shape {
        Shape::new()
    }
    fn same_shape(&self, _: &Self) -> bool {
        true
    }
    fn exp(&self) -> Self {
        num_traits::Float::exp(*self)
    }
    fn ln(&self) -> Self {
        num_traits::Float::ln(*self)
    }
    fn tanh(&self) -> Self {
        num_traits::Float::tanh(*self)
    }
    fn sigmoid(&self) -> Self {
        sigmoid_exact(*self)
    }
    fn sin(&self) -> Self {
        num_traits::Float::sin(*self)
    }
    fn cos(&self) -> Self {
        num_traits::Float::cos(*self)
    }
    fn powf(&self, exponent: T) -> Self {
        num_traits::Float::powf(*self, exponent)
    }
    fn pow(&self, exponent: &Self) -> Self {
        num_traits::Float::powf(*self, *exponent)
    }
    fn sum_to(&self, _one_element: &[usize]) -> Self {
        *self
    }
    fn map_constant(&self, f: impl Fn(T) -> T) -> Self {
        f(*self)
    }
    fn mul_piecewise(self, x: &Self, derivative: impl Fn(T) -> T) -> Self {
        self * derivative(*x)
    }
    fn zip_constant(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        f(*self, *other)
    }
    fn times(self, other: &Self) -> Self {
        self * *other
    }
    fn over(self, other: &Self) -> Self {
        self / *other
    }
}

impl<T: Float> ElementwiseOps<T> for Tensor<T> {
    fn shape(&self) -> Shape {
        shape_of(Tensor::shape(self))
    }
    fn same_shape(&self, other: &Self) -> bool {
        same_dims(Tensor::shape(self), Tensor::shape(other))
    }
    fn exp(&self) -> Self {
        Tensor::exp(self)
    }
    fn ln(&self) -> Self {
        Tensor::ln(self)
    }
    fn tanh(&self) -> Self {
        Tensor::tanh(self)
    }
    fn sigmoid(&self) -> Self {
        Tensor::sigmoid(self)
    }
    fn sin(&self) -> Self {
        self.map(num_traits::Float::sin)
    }
    fn cos(&self) -> Self {
        self.map(num_traits::Float::cos)
    }
    fn powf(&self, exponent: T) -> Self {
        Tensor::powf(self, exponent)
    }
    fn pow(&self, exponent: &Self) -> Self {
        Tensor::pow(self, exponent)
    }
    fn sum_to(&self, shape: &[usize]) -> Self {
        Tensor::sum_to(self, shape)
    }
    fn map_constant(&self, f: impl Fn(T) -> T) -> Self {
        self.map(f)
    }
    fn mul_piecewise(self, x: &Self, derivative: impl Fn(T) -> T) -> Self {
        self.mul_map_of(x, derivative)
    }
    fn zip_constant(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        self.zip_map(other, "backward", f)
    }
    fn times(self, other: &Self) -> Self {
        self * other
    }
    fn over(self, other: &Self) -> Self {
        self / other
    }
}

impl<T: Float> BackwardOps<T> for Tensor<T> {
    fn sum_all(&self) -> Self {
        Tensor::sum_all(self)
    }
    fn sum_axis(&self, axis: usize, keepdim: bool) -> Self {
        Tensor::sum_axis(self, axis as isize, keepdim)
    }
    fn broadcast_to(&self, shape: &[usize]) -> Self {
        Tensor::broadcast_to(self, shape)
    }
    fn reshape(&self, shape: &[usize]) -> Self {
        Tensor::reshape(self, shape)
    }
    fn permute(&self, axes: &[usize]) -> Self {
        Tensor::permute(self, axes)
    }
    fn matmul_t(&self, other: &Self, transpose_a: bool, transpose_b: bool) -> Self {
        Tensor::matmul_t(self, other, transpose_a, transpose_b)
    }
    fn matmul_t_pair(first: Product<'_, Self>, second: Product<'_, Self>) -> (Self, Self) {
        Tensor::matmul_t_pair(first.args(), second.args())
    }
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        Tensor::narrow(self, axis as isize, start, len)
    }
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self {
        Tensor::pad(self, axis as isize, before, after)
    }
    fn index_select(&self, axis: usize, indices: &[usize]) -> Self {
        Tensor::index_select(self, axis as isize, indices)
    }
    fn index_add(&self, axis: usize, indices: &[usize], size: usize) -> Self {
        Tensor::index_add(self, axis as isize, indices, size)
    }
    fn gather(&self, axis: usize, indices: &[usize], len: usize) -> Self {
        Tensor::gather(self, axis as isize, indices, len)
    }
    fn scatter_add(&self, axis: usize, indices: &[usize], size: usize) -> Self {
        Tensor::scatter_add(self, axis as isize, indices, size)
    }
    fn softmax(&self, axis: usize) -> Self {
        Tensor::softmax(self, axis as isize)
    }
    fn conv2d(&self, weight: &Self, options: Conv2dOptions) -> Self {
        Tensor::conv2d(self, weight, options)
    }
    fn conv_transpose2d(&self, weight: &Self, options: Conv2dOptions, size: [usize; 2]) -> Self {
        Tensor::conv_transpose2d_to(self, weight, options, size)
    }
    fn conv2d_weight(&self, grad: &Self, options: Conv2dOptions, kernel: [usize; 2]) -> Self {
        Tensor::conv2d_weight(self, grad, options, kernel)
    }
    fn conv2d_weight_kept(
        &self,
        grad: &Self,
        options: Conv2dOptions,
        kernel: [usize; 2],
        kept: &KeptPatches,
    ) -> Self {
        Tensor::conv2d_weight_from(self, grad, options, kernel, Some(kept))
    }
    fn avg_pool2d(&self, options: Pool2dOptions) -> Self {
        Tensor::avg_pool2d(self, options)
    }
    fn avg_pool2d_backward(&self, options: Pool2dOptions, size: [usize; 2]) -> Self {
        Tensor::avg_pool2d_backward(self, options, size)
    }
    fn constant(&self, value: Tensor<T>) -> Self {
        value
    }
}
