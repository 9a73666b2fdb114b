//! Lowerings for user-defined ops: a user-defined op (`chainrule_autodiff::CustomOp`) has no
//! ONNX form the exporter can know, so its author supplies one — a [`CustomLowering`] keyed by
//! the op's name — written with the same ONNX building blocks the built-in ops use.

use std::collections::HashMap;
use std::sync::Arc;

use crate::builder::Builder;
use crate::proto::AttributeProto;

/// The ONNX form of a user-defined op: nodes that compute its output from its inputs.
///
/// A lowering for an op `y = scale · x` (recorded as a custom op called `"scale"`):
///
/// ```
/// use chainrule_onnx::{CustomLowering, Lowering};
///
/// struct Scale(f32);
/// impl CustomLowering for Scale {
///     fn lower(&self, cx: &mut Lowering<'_>) -> Result<String, String> {
///         let factor = cx.scalar(self.0);
///         let x = cx.input(0).to_owned();
///         Ok(cx.node("Mul", &[&x, &factor], vec![]))
///     }
/// }
/// ```
///
/// Register it with [`Export::lowering`](crate::Export::lowering)`("scale", Scale(2.0))`.
pub trait CustomLowering: Send + Sync {
    /// Emits the op's nodes and returns the name of the value that is its output; `Err` with a
    /// reason when this occurrence of the op cannot be exported (shapes it does not support).
    fn lower(&self, cx: &mut Lowering<'_>) -> Result<String, String>;

    /// The axis of the op's output that follows its inputs' batch: where an input's first axis
    /// is dynamic (see [`crate::dims`]) and has this axis's traced size, this axis is dynamic
    /// too. The first axis unless the op says otherwise; a time-major output has it second.
    fn batch_axis(&self) -> usize {
        0
    }
}

/// What a [`CustomLowering`] sees of the node it lowers and how it adds ONNX nodes.
pub struct Lowering<'a> {
    pub(crate) builder: &'a mut Builder,
    pub(crate) inputs: Vec<String>,
    pub(crate) input_shapes: Vec<Vec<usize>>,
    pub(crate) output_shape: Vec<usize>,
}

impl Lowering<'_> {
    /// The ONNX name of the op's input `i`.
    pub fn input(&self, i: usize) -> &str {
        &self.inputs[i]
    }

    /// How many inputs the op has.
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// The shape input `i` had when traced (a dynamic axis, the batch, may differ at run time:
    /// do not bake its size into a shape).
    pub fn input_shape(&self, i: usize) -> &[usize] {
        &self.input_shapes[i]
    }

    /// The shape the output had when traced.
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    /// Appends an ONNX node of `op_type` (default domain) and returns its output's name.
    pub fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        self.builder.node(op_type, inputs, attributes)
    }

    /// A 0-d float constant.
    pub fn scalar(&mut self, value: f32) -> String {
        self.builder.scalar(value)
    }

    /// A float constant of the given shape.
    pub fn constant(&mut self, data: &[f32], shape: &[usize]) -> String {
        self.builder.constant(data, shape)
    }

    /// A 1-D int64 constant (axes, starts, shapes).
    pub fn ints(&mut self, values: &[i64]) -> String {
        self.builder.ints(values)
    }
}

/// The lowerings known to an export, by op name.
#[derive(Clone, Default)]
pub struct Lowerings {
    by_name: HashMap<String, Arc<dyn CustomLowering>>,
}

impl Lowerings {
    /// The lowerings for chainrule's own user-defined ops: the fused LSTM cell of
    /// `chainrule-layers` (`"lstm_cell"`) and its whole-sequence ops (`"lstm_sequence"`, and
    /// `"lstm_states"`, which `Lstm` records).
    pub fn builtin() -> Self {
        let mut lowerings = Lowerings::default();
        lowerings.insert("lstm_cell", crate::lstm_cell::LstmCellLowering);
        lowerings.insert("lstm_sequence", crate::lstm_cell::LstmSequenceLowering);
        lowerings.insert("lstm_states", crate::lstm_cell::LstmStatesLowering);
        lowerings
    }

    /// Adds (or replaces) the lowering for ops called `name`.
    pub fn insert(&mut self, name: &str, lowering: impl CustomLowering + 'static) {
        self.by_name.insert(name.to_owned(), Arc::new(lowering));
    }

    /// The lowering for ops called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn CustomLowering> {
        self.by_name.get(name).map(|l| l.as_ref())
    }
}

/// Attribute helpers for lowerings: ONNX attributes by name.
pub mod attribute {
    pub use crate::builder::{attr_float as float, attr_int as int, attr_ints as ints};
}
