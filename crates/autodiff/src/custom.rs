//! User-defined ops: a primitive the engine lacks, added from outside the crate with its own
//! forward kernel and backward rule — what PyTorch's `torch.autograd.Function` and JAX's
//! `custom_vjp` are for.
//!
//! Implement [`CustomOp`] and record the op with [`Var::custom`]. It then goes through the same
//! door as a built-in op: the backward sweep applies its rule (reducing a broadcast gradient
//! back to each input's shape), traces and pictures show it by its name and formula,
//! [`Graph::first_non_finite`](crate::Graph::first_non_finite) names it, and
//! [`gradcheck`](crate::gradcheck()) and [`check_each_op`](crate::gradcheck::check_each_op)
//! check it unchanged.

use std::any::Any;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::graph::Var;
use crate::ops::{CustomCall, InputGrads, Op, RecordedCustomOp};
use crate::{Float, Tensor};

/// A user-defined primitive: a forward kernel on tensors and its backward rule.
///
/// `backward` is the fast first-order rule, on tensors. `backward_graph` is the same rule
/// written with `Var` ops, so that the sweep can record it and a gradient through the op can be
/// differentiated again ([`Var::backward_create_graph`]); leave it out and second derivatives
/// through the op end with a panic that names the op.
///
/// The rules return one entry per input, `None` for an input that wants no gradient
/// (`wants[i]` false) or gets none. A gradient may have the output's shape where the input was
/// broadcast: the sweep sums it back to the input's shape, as for built-in ops.
///
/// A numerically stable `ln(1 + eˣ)`, checked against finite differences:
///
/// ```
/// use chainrule_autodiff::{gradcheck, CustomOp, Graph, Tensor, Var};
///
/// struct Softplus;
///
/// impl CustomOp<f64> for Softplus {
///     fn name(&self) -> &'static str {
///         "my_softplus"
///     }
///     fn formula(&self) -> &'static str {
///         "∂y/∂x = σ(x)"
///     }
///     fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
///         inputs[0].map(|x| x.max(0.0) + (-x.abs()).exp().ln_1p())
///     }
///     fn backward(
///         &self,
///         inputs: &[&Tensor<f64>],
///         _output: &Tensor<f64>,
///         grad: &Tensor<f64>,
///         _wants: &[bool],
///     ) -> Vec<Option<Tensor<f64>>> {
///         vec![Some(grad * &inputs[0].sigmoid())]
///     }
///     fn backward_graph<'g>(
///         &self,
///         inputs: &[Var<'g, f64>],
///         _output: Var<'g, f64>,
///         grad: Var<'g, f64>,
///         _wants: &[bool],
///     ) -> Option<Vec<Option<Var<'g, f64>>>> {
///         Some(vec![Some(grad * inputs[0].sigmoid())])
///     }
/// }
///
/// let x = Tensor::from_vec(vec![-30.0, -1.0, 0.5, 40.0], &[4]);
/// let report = gradcheck(|_g, v| Var::custom(Softplus, &[v[0]]).sum(), &[x], Default::default());
/// report.assert_passed();
///
/// let g = Graph::new();
/// let x = g.scalar(0.0);
/// let y = Var::custom(Softplus, &[x]);
/// assert_eq!(y.op().name(), "my_softplus");
/// assert_eq!(y.backward()[x].item(), 0.5);
/// ```
pub trait CustomOp<T: Float>: Send + Sync + 'static {
    /// The op's name, as traces, pictures and error messages show it.
    fn name(&self) -> &'static str;

    /// The local derivative in textbook form (`∂y/∂x = σ(x)`), for traces and pictures.
    fn formula(&self) -> &'static str {
        ""
    }

    /// The output value from the input values. Panic on inputs of the wrong shape, naming the
    /// op and the shapes.
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T>;

    /// The vector–Jacobian product on tensors: from the inputs, the output and the gradient
    /// `grad` of the output, the gradient of each input (`None` where `wants[i]` is false).
    fn backward(
        &self,
        inputs: &[&Tensor<T>],
        output: &Tensor<T>,
        grad: &Tensor<T>,
        wants: &[bool],
    ) -> Vec<Option<Tensor<T>>>;

    /// The same rule written with `Var` ops, recorded on the graph so that it can be
    /// differentiated again; `None` (the default) when the op has no such rule.
    fn backward_graph<'g>(
        &self,
        inputs: &[Var<'g, T>],
        output: Var<'g, T>,
        grad: Var<'g, T>,
        wants: &[bool],
    ) -> Option<Vec<Option<Var<'g, T>>>> {
        let _ = (inputs, output, grad, wants);
        None
    }
}

/// A user's op as the tape keeps it: behind one reference count, its element type known.
struct Registered<T> {
    op: Box<dyn CustomOp<T>>,
}

impl<T: Float> RecordedCustomOp for Registered<T> {
    fn name(&self) -> &'static str {
        self.op.name()
    }
    fn formula(&self) -> &'static str {
        self.op.formula()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The user's op a node recorded.
fn recorded<T: Float>(call: &CustomCall) -> &dyn CustomOp<T> {
    let registered = call.op().downcast_ref::<Registered<T>>();
    registered
        .expect("a custom op is recorded with its graph's element type")
        .op
        .as_ref()
}

impl<'g, T: Float> Var<'g, T> {
    /// Records a user-defined op (see [`CustomOp`]) applied to `inputs`, which must all belong
    /// to one graph.
    ///
    /// # Panics
    /// When `inputs` is empty or spans two graphs, or when the op's forward panics.
    ///
    /// ```
    /// use chainrule_autodiff::{CustomOp, Graph, Tensor, Var};
    ///
    /// /// Gradient reversal: the identity forward, the negated gradient backward.
    /// struct ReverseGradient;
    /// impl CustomOp<f64> for ReverseGradient {
    ///     fn name(&self) -> &'static str { "reverse_gradient" }
    ///     fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> { inputs[0].clone() }
    ///     fn backward(&self, _: &[&Tensor<f64>], _: &Tensor<f64>, grad: &Tensor<f64>, _: &[bool])
    ///         -> Vec<Option<Tensor<f64>>> {
    ///         vec![Some(-grad)]
    ///     }
    /// }
    /// let g = Graph::new();
    /// let x = g.scalar(3.0);
    /// let y = Var::custom(ReverseGradient, &[x]) * 2.0;
    /// assert_eq!(y.item(), 6.0);
    /// assert_eq!(y.backward()[x].item(), -2.0);
    /// ```
    #[track_caller]
    pub fn custom(op: impl CustomOp<T>, inputs: &[Var<'g, T>]) -> Var<'g, T> {
        let Some((&first, others)) = inputs.split_first() else {
            shape_panic!("{}: a custom op needs at least one input", op.name())
        };
        let registered = Arc::new(Registered { op: Box::new(op) });
        let call = CustomCall::new(registered.clone());
        first.record_with(Op::Custom(call), others, |values| {
            registered.op.forward(values)
        })
    }
}

/// The forward kernel of a user-defined op.
pub(crate) fn forward_on_tensors<T: Float>(call: &CustomCall, inputs: &[&Tensor<T>]) -> Tensor<T> {
    recorded::<T>(call).forward(inputs)
}

/// The first-order rule of a user-defined op, on tensors.
pub(crate) fn backward_on_tensors<T: Float>(
    call: &CustomCall,
    inputs: &[&Tensor<T>],
    output: &Tensor<T>,
    grad: Tensor<T>,
    wants: &[bool],
) -> InputGrads<Tensor<T>> {
    let grads = recorded::<T>(call).backward(inputs, output, &grad, wants);
    checked(call.name(), grads, wants)
}

/// The rule of a user-defined op recorded on the graph, for second derivatives.
#[track_caller]
pub(crate) fn backward_on_vars<'g, T: Float>(
    call: &CustomCall,
    inputs: &[&Var<'g, T>],
    output: &Var<'g, T>,
    grad: Var<'g, T>,
    wants: &[bool],
) -> InputGrads<Var<'g, T>> {
    let inputs: SmallVec<[Var<'g, T>; 4]> = inputs.iter().map(|&&v| v).collect();
    let Some(grads) = recorded::<T>(call).backward_graph(&inputs, *output, grad, wants) else {
        panic!(
            "backward_create_graph: the custom op `{}` has no backward rule on vars; implement \
             CustomOp::backward_graph to differentiate through it twice",
            call.name()
        )
    };
    checked(call.name(), grads, wants)
}

/// A user rule's gradients for the sweep, after checking there is one per input; a gradient
/// for an input that wants none is dropped.
fn checked<V>(name: &str, grads: Vec<Option<V>>, wants: &[bool]) -> InputGrads<V> {
    assert!(
        grads.len() == wants.len(),
        "custom op `{name}`: backward returned {} gradients for {} inputs",
        grads.len(),
        wants.len()
    );
    grads
        .into_iter()
        .zip(wants)
        .map(|(grad, &wants)| grad.filter(|_| wants))
        .collect()
}
