//! What can stop an export: an op with no ONNX mapping, a shape that would not hold for another
//! batch size, a var that is not part of the graph's declared inputs, or the file itself.

use std::path::PathBuf;

/// Why a graph could not be exported. Each message names the op and the node at fault, so a
/// model is refused with a reason rather than written wrong.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// An op the exporter has no ONNX mapping for: a user-defined op without a registered
    /// lowering, an op that only a backward pass records, or a loss.
    #[error("node {node} ({op}): no ONNX mapping: {reason}")]
    Unsupported {
        /// The op's name, as traces show it.
        op: String,
        /// The node's id on the tape.
        node: usize,
        /// Why it has none, and what to do instead.
        reason: String,
    },
    /// An op whose traced shapes tie a dynamic axis (the batch) to a fixed size, so the
    /// exported model would be wrong for another size.
    #[error("node {node} ({op}): {reason}")]
    DynamicShape {
        /// The op's name.
        op: String,
        /// The node's id on the tape.
        node: usize,
        /// What ties the axis.
        reason: String,
    },
    /// The outputs depend on an input leaf that was not declared as a model input: its traced
    /// value would be baked into the file.
    #[error("node {node} (input): the outputs depend on an input leaf not declared with `Export::input`")]
    UndeclaredInput {
        /// The leaf's node id.
        node: usize,
    },
    /// A declared input or output is wrong in itself (a name used twice, an axis out of range,
    /// a var of another graph, no outputs).
    #[error("{0}")]
    Spec(String),
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}
