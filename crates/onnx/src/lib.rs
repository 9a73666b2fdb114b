//! Export of a traced chainrule graph to an [ONNX](https://onnx.ai) model, so that a model
//! trained with chainrule runs in ONNX Runtime, tract, TensorRT, onnxruntime-web and every
//! other ONNX engine.
//!
//! chainrule records every forward pass as a graph of primitive ops, so export is a walk of
//! that graph, like `torch.onnx.export`'s tracing: run the model once on example inputs, say
//! which vars are the model's inputs (and which of their axes are dynamic: at least the batch)
//! and which are its outputs, and [`Export`] writes the nodes the outputs depend on as an ONNX
//! graph. The parameters become initializers named by their [`ParamStore`] names
//! (`hidden.weight`); other leaves (constants) become initializers too.
//!
//! - **Opset**: ONNX opset [`OPSET`] (17), IR version [`IR_VERSION`] (8), float32 tensors.
//! - **Ops**: every forward op of the engine maps to ONNX ops: the elementwise table (with
//!   softplus, GELU's tanh form, leaky ReLU, clamp, powf … written as the engine computes
//!   them), `where`, sum/mean/max reductions with `keepdim`, matmul with transposes,
//!   reshape, permute, broadcast_to (`Expand`), narrow (`Slice`), pad, concat, stack,
//!   index_select (`Gather`), gather (`GatherElements`), softmax, log_softmax, logsumexp,
//!   conv2d, conv_transpose2d, max and average pooling. Ops that only backward passes record
//!   (`sum_to`, `index_add`, `scatter_add`, `conv2d_weight`, `avg_pool2d_backward`) and the
//!   fused losses are refused with [`ExportError::Unsupported`], naming the op and the node.
//! - **User-defined ops** export through a [`CustomLowering`] registered under the op's name
//!   ([`Export::lowering`]); one without a lowering is refused, never written wrong.
//!   chainrule-layers' fused LSTM cell (`"lstm_cell"`) and whole-sequence LSTM ops
//!   (`"lstm_sequence"`, `"lstm_states"`) have one built in ([`Lowerings::builtin`]).
//! - **Dynamic axes**: a traced graph has the batch baked into every shape. The exporter
//!   follows each dynamic axis through the graph (see [`dims`]) and writes `Reshape` and
//!   `Expand` targets that hold for any batch (`0`, `-1`, or the size read with `Shape`); an
//!   op that would tie the batch to its traced size is refused with
//!   [`ExportError::DynamicShape`]. A constant whose first axis has the traced batch size and
//!   whose rows are all equal — a recurrent layer's zero initial state — is written as one
//!   row expanded to the run's batch.
//! - **Layers**: `Dense` exports as `MatMul` + `Add`, `Sequential`, `Residual` and `Highway`
//!   as their ops, `Conv2d`/`MaxPool2d`/`AvgPool2d`/`Flatten` as `Conv`/`MaxPool`/
//!   `AveragePool`/`Reshape`, `Embedding` as `Gather`, and `Rnn`/`Lstm` as the graph unrolled
//!   for the traced sequence length (the exported model takes sequences of that length only).
//!
//! An MLP classifier with its softmax, exported for any batch size:
//!
//! ```
//! use chainrule_autodiff::{Graph, ParamStore, Tensor};
//! use chainrule_layers::{Activation, Dense, Module, Sequential};
//! use chainrule_onnx::Export;
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let mut params = ParamStore::<f32>::new();
//! let model = Sequential::new()
//!     .with(Dense::new(&mut params, "hidden", 4, 8, Activation::Relu, &mut rng))
//!     .with(Dense::new(&mut params, "output", 8, 3, Activation::Softmax, &mut rng));
//!
//! let g = Graph::new();
//! let x = g.input(Tensor::zeros(&[2, 4]));
//! let probabilities = model.forward(&g, &params, x);
//! let bytes = Export::new(&g)
//!     .params(&params)
//!     .input("features", x)
//!     .output("probabilities", probabilities)
//!     .to_bytes()
//!     .unwrap();
//! assert!(bytes.len() > 4 * (4 * 8 + 8 + 8 * 3 + 3));
//! // Export::write(path) writes the same bytes to a file.
//! ```
//!
//! The tests of this crate run every exported model in `tract-onnx`, an independent ONNX
//! engine, and compare with chainrule's own outputs, at the traced batch size and another;
//! `bench/onnx_check.py` does the same with `onnx.checker` and ONNX Runtime.
//!
//! [`ParamStore`]: chainrule_autodiff::ParamStore

#![warn(missing_docs)]

mod builder;
mod custom;
pub mod dims;
mod error;
mod export;
mod lower;
mod lstm_cell;

/// The ONNX protobuf messages (`ModelProto`, `NodeProto`, …), generated from ONNX's official
/// `onnx.proto` by `prost-build` and committed (see `crates/onnx/proto/README.md`).
#[allow(missing_docs, clippy::all, clippy::pedantic, rustdoc::all)]
pub mod proto {
    include!("proto/onnx.rs");
}

pub use custom::{attribute, CustomLowering, Lowering, Lowerings};
pub use error::ExportError;
pub use export::Export;
pub use lstm_cell::{LstmCellLowering, LstmSequenceLowering, LstmStatesLowering};

/// The ONNX operator set the exported models declare (the default domain's version).
pub const OPSET: i64 = 17;

/// The ONNX IR version of the exported files: IR 8 is the one that goes with opset 17.
pub const IR_VERSION: i64 = 8;
