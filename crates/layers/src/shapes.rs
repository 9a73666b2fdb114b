//! Shape checks shared by the layers. A wrong shape is a bug in building the model, so each
//! check panics, naming the layer, the shape it expected and the shape it got, at the caller's
//! line (the checks and the forward methods that call them are `#[track_caller]`).

use std::fmt;

use chainrule_autodiff::{Float, Var};

/// Who is complaining: a layer's kind and, when it has one, the name its parameters use.
#[derive(Clone, Copy)]
pub(crate) struct Layer<'a> {
    pub kind: &'static str,
    pub name: &'a str,
}

impl fmt::Display for Layer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{} {:?}", self.kind, self.name)
        }
    }
}

/// Panics unless `x` is `[batch, features]` or `[batch, seq, features]`.
#[track_caller]
pub(crate) fn expect_features<T: Float>(layer: Layer<'_>, x: Var<'_, T>, features: usize) {
    let shape = x.shape();
    let fits = matches!(shape.len(), 2 | 3) && shape[shape.len() - 1] == features;
    if !fits {
        layer_panic!(
            "{layer}: expected input [batch, {features}] or [batch, seq, {features}], got {:?}",
            shape.as_slice()
        );
    }
}

/// Panics unless `x` is `[batch, seq, features]` with at least one time step; returns
/// `(batch, seq)`.
#[track_caller]
pub(crate) fn expect_sequence<T: Float>(
    layer: Layer<'_>,
    x: Var<'_, T>,
    features: usize,
) -> (usize, usize) {
    let shape = x.shape();
    if shape.len() != 3 || shape[2] != features || shape[1] == 0 {
        layer_panic!(
            "{layer}: expected a sequence [batch, seq ≥ 1, {features}], got {:?}",
            shape.as_slice()
        );
    }
    (shape[0], shape[1])
}

/// Panics unless `x` has exactly the shape `expected`; `what` says which argument it is.
#[track_caller]
pub(crate) fn expect_shape<T: Float>(
    layer: Layer<'_>,
    what: &str,
    x: Var<'_, T>,
    expected: &[usize],
) {
    let shape = x.shape();
    if shape.as_slice() != expected {
        layer_panic!(
            "{layer}: expected {what} of shape {expected:?}, got {:?}",
            shape.as_slice()
        );
    }
}
