//! The elementwise methods of [`Var`], one per entry of the op tables in `ops/elementwise.rs`,
//! each with the doc comment written in its entry; and `where`, `square`.

use crate::graph::Var;
use crate::ops::{binary_ops, unary_ops, BinaryOp, Op, UnaryOp};
use crate::Float;

/// One `Var` method per unary table entry: records the entry's op with its fixed numbers.
macro_rules! unary_methods {
    ($(
        $(#[$doc:meta])*
        $variant:ident => $vis:vis fn $method:ident($($param:ident: T),*) { $($rule:tt)* }
    )*) => {
        impl<'g, T: Float> Var<'g, T> {
            $(
                $(#[$doc])*
                #[track_caller]
                $vis fn $method(self, $($param: T),*) -> Self {
                    self.unary(UnaryOp::$variant { $($param),* })
                }
            )*
        }
    };
}

unary_ops!(unary_methods);

/// One `Var` method per binary table entry that has one (`+ − · /` are operators).
macro_rules! binary_methods {
    ($(
        $(#[$doc:meta])*
        $variant:ident ($name:literal) $(=> pub fn $method:ident)? { $($rule:tt)* }
    )*) => {
        $(binary_method! { $(#[$doc])* $variant $($method)? })*
    };
}

/// The `Var` method of one binary entry, if it names one.
macro_rules! binary_method {
    ($(#[$doc:meta])* $variant:ident) => {};
    ($(#[$doc:meta])* $variant:ident $method:ident) => {
        impl<'g, T: Float> Var<'g, T> {
            $(#[$doc])*
            #[track_caller]
            pub fn $method(self, other: Var<'g, T>) -> Self {
                self.binary(other, BinaryOp::$variant)
            }
        }
    };
}

binary_ops!(binary_methods);

impl<'g, T: Float> Var<'g, T> {
    /// `on_true` where `mask` is non-zero, else `on_false`, elementwise; the three shapes
    /// broadcast together. The gradient goes to whichever input was picked, and none to the
    /// mask. PyTorch: `torch.where(mask, on_true, on_false)`.
    ///
    /// # Panics
    /// When the three shapes do not broadcast; the message names the shapes and the caller's
    /// line.
    ///
    /// ```
    /// use chainrule_autodiff::{Graph, Tensor, Var};
    /// let g = Graph::new();
    /// let mask = g.input(Tensor::from_vec(vec![1.0f64, 0.0], &[2]));
    /// let a = g.param(Tensor::from_vec(vec![10.0, 20.0], &[2]));
    /// let b = g.param(Tensor::scalar(-1.0));
    /// let y = Var::where_(mask, a, b);
    /// assert_eq!(y.value().to_vec(), vec![10.0, -1.0]);
    /// let grads = y.sum().backward();
    /// assert_eq!(grads[a].to_vec(), vec![1.0, 0.0]);
    /// assert_eq!(grads[b].item(), 1.0);
    /// ```
    #[track_caller]
    pub fn where_(mask: Var<'g, T>, on_true: Var<'g, T>, on_false: Var<'g, T>) -> Self {
        mask.record_op(Op::Where, &[on_true, on_false])
    }

    /// `x²`, as `x · x`.
    ///
    /// ```
    /// use chainrule_autodiff::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(3.0f64);
    /// assert_eq!(x.square().backward()[x].item(), 6.0);
    /// ```
    #[track_caller]
    pub fn square(self) -> Self {
        self * self
    }
}
