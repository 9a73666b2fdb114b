//! [`Export`]: which vars of a traced graph are the model's inputs and outputs, and the walk
//! that turns the nodes the outputs depend on into an ONNX model.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chainrule_autodiff::ops::ShapeOp;
use chainrule_autodiff::{Graph, Leaf, Op, ParamStore, Var};
use prost::Message;

use crate::builder::Builder;
use crate::custom::{CustomLowering, Lowering, Lowerings};
use crate::dims::{fixed, Dim, Symbols};
use crate::lower::{self, Refusal, Value};
use crate::proto::{
    tensor_proto::DataType, tensor_shape_proto, type_proto, GraphProto, ModelProto,
    OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::{ExportError, IR_VERSION, OPSET};

/// A declared model input: a leaf of the graph, with its dynamic axes.
struct Input<'g> {
    name: String,
    var: Var<'g, f32>,
    dynamic: Vec<(usize, String)>,
}

/// Indices fed at run time: the model input that replaces the indices an `index_select`
/// node recorded (an embedding's token ids).
struct IndexInput<'g> {
    name: String,
    lookup: Var<'g, f32>,
    shape: Vec<usize>,
    dynamic: Vec<(usize, String)>,
}

/// The export of one traced graph: its inputs (with their dynamic axes), its outputs, the
/// parameter store that names its weights, and the lowerings of user-defined ops. Build it
/// with the methods below, then call [`Export::to_bytes`], [`Export::write`] or
/// [`Export::model`]. See the crate docs for an example.
pub struct Export<'g> {
    graph: &'g Graph<f32>,
    params: Option<&'g ParamStore<f32>>,
    inputs: Vec<Input<'g>>,
    outputs: Vec<(String, Var<'g, f32>)>,
    index_inputs: Vec<IndexInput<'g>>,
    lowerings: Lowerings,
}

impl<'g> Export<'g> {
    /// An export of `graph`, with no inputs or outputs declared yet and the built-in lowerings
    /// ([`Lowerings::builtin`]).
    pub fn new(graph: &'g Graph<f32>) -> Self {
        Export {
            graph,
            params: None,
            inputs: Vec::new(),
            outputs: Vec::new(),
            index_inputs: Vec::new(),
            lowerings: Lowerings::builtin(),
        }
    }

    /// Names the parameters bound into the graph by their names in `params` (`hidden.weight`);
    /// parameters without a name in the store are called `parameter_ID`.
    pub fn params(mut self, params: &'g ParamStore<f32>) -> Self {
        self.params = Some(params);
        self
    }

    /// A model input whose first axis is the batch, dynamic and called `batch`: the usual case.
    pub fn input(self, name: &str, var: Var<'g, f32>) -> Self {
        self.input_with_axes(name, var, &[(0, "batch")])
    }

    /// A model input with the given dynamic axes, each `(axis, name)`; an axis name used in
    /// two inputs is the same size in both. All other axes are fixed at their traced sizes.
    pub fn input_with_axes(
        mut self,
        name: &str,
        var: Var<'g, f32>,
        dynamic: &[(usize, &str)],
    ) -> Self {
        self.inputs.push(Input {
            name: name.to_owned(),
            var,
            dynamic: dynamic.iter().map(|&(a, n)| (a, n.to_owned())).collect(),
        });
        self
    }

    /// An int64 model input of the given `shape` (with dynamic axes as for
    /// [`Export::input_with_axes`]) holding the indices that the `index_select` node `lookup`
    /// picks: an [`Embedding`](https://docs.rs/chainrule-layers)'s lookup takes the token ids
    /// from the model's input instead of the ids it was traced with. The traced indices must
    /// number as many as `shape` holds; they are read row-major, flattened.
    pub fn index_input(
        mut self,
        name: &str,
        lookup: Var<'g, f32>,
        shape: &[usize],
        dynamic: &[(usize, &str)],
    ) -> Self {
        self.index_inputs.push(IndexInput {
            name: name.to_owned(),
            lookup,
            shape: shape.to_vec(),
            dynamic: dynamic.iter().map(|&(a, n)| (a, n.to_owned())).collect(),
        });
        self
    }

    /// A model output.
    pub fn output(mut self, name: &str, var: Var<'g, f32>) -> Self {
        self.outputs.push((name.to_owned(), var));
        self
    }

    /// Registers the ONNX lowering of the user-defined op called `op_name` (see
    /// [`CustomLowering`]).
    pub fn lowering(mut self, op_name: &str, lowering: impl CustomLowering + 'static) -> Self {
        self.lowerings.insert(op_name, lowering);
        self
    }

    /// The model, serialised: the bytes of a `.onnx` file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ExportError> {
        Ok(self.model()?.encode_to_vec())
    }

    /// Writes the model to `path`: a regular file through a temporary file renamed into
    /// place, so that a failed write never leaves half a model; a device or pipe directly.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), ExportError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        let io = |source| ExportError::Io {
            path: path.to_owned(),
            source,
        };
        // A device or a pipe is written through; only a regular file is replaced.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return std::fs::write(path, bytes).map_err(io);
        }
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        std::fs::write(&temporary, bytes).map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }

    /// The model as the ONNX protobuf message.
    pub fn model(&self) -> Result<ModelProto, ExportError> {
        let graph = self.graph_proto()?;
        Ok(ModelProto {
            ir_version: Some(IR_VERSION),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(OPSET),
            }],
            producer_name: Some("chainrule".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            graph: Some(graph),
            ..Default::default()
        })
    }

    fn check_spec(&self) -> Result<(), ExportError> {
        let spec = |m: String| Err(ExportError::Spec(m));
        if self.outputs.is_empty() {
            return spec("an export needs at least one output".into());
        }
        let mut names = HashSet::new();
        let vars = self
            .inputs
            .iter()
            .map(|i| (&i.name, i.var))
            .chain(self.index_inputs.iter().map(|i| (&i.name, i.lookup)))
            .chain(self.outputs.iter().map(|(n, v)| (n, *v)));
        for (name, var) in vars {
            if !std::ptr::eq(var.graph(), self.graph) {
                return spec(format!("`{name}` is a var of another graph"));
            }
            if !names.insert(name.clone()) {
                return spec(format!("the name `{name}` is used twice"));
            }
        }
        for input in &self.inputs {
            if !input.var.is_leaf(Leaf::Input) {
                return spec(format!(
                    "input `{}` must be a leaf made with Graph::input, not a result of `{}`",
                    input.name,
                    input.var.op().name()
                ));
            }
            for (axis, _) in &input.dynamic {
                if *axis >= input.var.rank() {
                    return spec(format!(
                        "input `{}` has no axis {axis} to make dynamic (shape {:?})",
                        input.name,
                        input.var.shape()
                    ));
                }
            }
        }
        for index in &self.index_inputs {
            let picked = match index.lookup.op() {
                Op::Shape(op) => match *op {
                    ShapeOp::IndexSelect { ref indices, .. } => Some(indices.len()),
                    _ => None,
                },
                _ => None,
            };
            match picked {
                None => {
                    return spec(format!(
                        "index input `{}` must feed an index_select node, not `{}`",
                        index.name,
                        index.lookup.op().name()
                    ))
                }
                Some(n) if n != index.shape.iter().product::<usize>() => {
                    return spec(format!(
                        "index input `{}` has shape {:?}, but its index_select picked {n} indices",
                        index.name, index.shape
                    ))
                }
                Some(_) => {}
            }
            if let Some((axis, _)) = index.dynamic.iter().find(|(a, _)| *a >= index.shape.len()) {
                return spec(format!("index input `{}` has no axis {axis}", index.name));
            }
        }
        Ok(())
    }

    fn graph_proto(&self) -> Result<GraphProto, ExportError> {
        self.check_spec()?;
        let nodes = self.graph.nodes();
        // Only what the outputs depend on: a reverse walk of the tape from the outputs.
        let mut needed = vec![false; nodes.len()];
        for (_, var) in &self.outputs {
            needed[var.id()] = true;
        }
        for id in (0..nodes.len()).rev() {
            if needed[id] {
                for &input in &nodes[id].inputs {
                    needed[input] = true;
                }
            }
        }

        let mut param_names: HashMap<usize, String> = HashMap::new();
        if let Some(params) = self.params {
            for (id, name, _) in params.iter() {
                if let Some(var) = params.bound(self.graph, id) {
                    param_names.insert(var.id(), name.to_owned());
                }
            }
        }
        let mut builder = Builder::default();
        builder.reserved.extend(param_names.values().cloned());
        builder
            .reserved
            .extend(self.inputs.iter().map(|i| i.name.clone()));
        builder
            .reserved
            .extend(self.outputs.iter().map(|(n, _)| n.clone()));

        let mut symbols = Symbols::default();
        // (symbol, input name, axis): where a run-time size of each symbol can be read.
        let mut carriers: Vec<(usize, String, usize)> = Vec::new();
        let mut declared: HashMap<usize, (String, Vec<Dim>)> = HashMap::new();
        let mut graph_inputs = Vec::new();
        for input in &self.inputs {
            let shape = input.var.shape();
            let mut dims = fixed(&shape);
            for (axis, name) in &input.dynamic {
                let symbol = symbols.intern(name, shape[*axis])?;
                dims[*axis] = Dim::Dynamic { symbol, factor: 1 };
                if !carriers.iter().any(|(s, _, _)| *s == symbol) {
                    carriers.push((symbol, input.name.clone(), *axis));
                }
            }
            graph_inputs.push(value_info(
                &input.name,
                &shape,
                &dims,
                &symbols,
                DataType::Float,
            ));
            declared.insert(input.var.id(), (input.name.clone(), dims));
        }
        // index_select node id → (the index input's name, its dims).
        let mut index_inputs: HashMap<usize, (String, Vec<Dim>)> = HashMap::new();
        for index in &self.index_inputs {
            let mut dims = fixed(&index.shape);
            for (axis, name) in &index.dynamic {
                let symbol = symbols.intern(name, index.shape[*axis])?;
                dims[*axis] = Dim::Dynamic { symbol, factor: 1 };
                if !carriers.iter().any(|(s, _, _)| *s == symbol) {
                    carriers.push((symbol, index.name.clone(), *axis));
                }
            }
            graph_inputs.push(value_info(
                &index.name,
                &index.shape,
                &dims,
                &symbols,
                DataType::Int64,
            ));
            index_inputs.insert(index.lookup.id(), (index.name.clone(), dims));
        }

        let mut values: Vec<Option<Value>> = vec![None; nodes.len()];
        for (id, node) in nodes.iter().enumerate() {
            if !needed[id] {
                continue;
            }
            let op = &node.op;
            let refuse = |refusal: Refusal| match refusal {
                Refusal::Unsupported(reason) => ExportError::Unsupported {
                    op: op.name().to_owned(),
                    node: id,
                    reason,
                },
                Refusal::Dynamic(reason) => ExportError::DynamicShape {
                    op: op.name().to_owned(),
                    node: id,
                    reason,
                },
            };
            let inputs: Vec<&Value> = node
                .inputs
                .iter()
                .map(|&i| values[i].as_ref().expect("inputs come first on the tape"))
                .collect();
            let input_shapes: Vec<&[usize]> = node
                .inputs
                .iter()
                .map(|&i| nodes[i].value.shape())
                .collect();
            let out: &[usize] = node.value.shape();
            let lowered: Result<Value, Refusal> = match op {
                Op::Leaf(Leaf::Input) => match declared.get(&id) {
                    Some((name, dims)) => Ok(Value {
                        name: name.clone(),
                        dims: dims.clone(),
                    }),
                    None => return Err(ExportError::UndeclaredInput { node: id }),
                },
                Op::Leaf(Leaf::Parameter) => {
                    let name = param_names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| format!("parameter_{id}"));
                    builder.initializer(&name, node.value.as_slice(), out);
                    Ok(Value {
                        name,
                        dims: fixed(out),
                    })
                }
                Op::Leaf(Leaf::Constant) => {
                    match lower::batch_constant(&mut builder, &node.value, &symbols, &carriers) {
                        Some(v) => Ok(v),
                        None => {
                            let name = builder.constant(node.value.as_slice(), out);
                            Ok(Value {
                                name,
                                dims: fixed(out),
                            })
                        }
                    }
                }
                Op::Unary(u) => lower::unary(&mut builder, u, inputs[0]),
                Op::Binary(b) => lower::binary(&mut builder, *b, inputs[0], inputs[1], out),
                Op::Where => lower::select(&mut builder, inputs[0], inputs[1], inputs[2], out),
                Op::Reduce(r) => lower::reduce(&mut builder, *r, inputs[0]),
                Op::Matmul(m) => {
                    let bias = m.bias.then(|| inputs[2]);
                    lower::matmul(&mut builder, *m, inputs[0], inputs[1], bias, out)
                }
                Op::Shape(s) => match (&**s, index_inputs.get(&id)) {
                    (ShapeOp::IndexSelect { axis, .. }, Some((name, dims))) => {
                        lower::index_select_input(&mut builder, inputs[0], *axis, name, dims)
                    }
                    _ => lower::shape(&mut builder, s, &inputs, &input_shapes, out, &symbols),
                },
                Op::Nn(n) => lower::nn(&mut builder, n, inputs[0]),
                Op::Conv(c) => lower::conv(&mut builder, c, &inputs, &input_shapes, out),
                Op::Custom(call) => match self.lowerings.get(call.name()) {
                    None => Err(Refusal::Unsupported(format!(
                        "a user-defined op without an ONNX lowering; register one with \
                         Export::lowering(\"{}\", …)",
                        call.name()
                    ))),
                    Some(lowering) => {
                        let mut cx = Lowering {
                            builder: &mut builder,
                            inputs: inputs.iter().map(|v| v.name.clone()).collect(),
                            input_shapes: input_shapes.iter().map(|s| s.to_vec()).collect(),
                            output_shape: out.to_vec(),
                        };
                        lowering
                            .lower(&mut cx)
                            .map_err(Refusal::Unsupported)
                            .map(|name| Value {
                                name,
                                dims: custom_dims(
                                    &inputs,
                                    &input_shapes,
                                    out,
                                    lowering.batch_axis(),
                                ),
                            })
                    }
                },
            };
            values[id] = Some(lowered.map_err(refuse)?);
        }

        let mut graph_outputs = Vec::new();
        for (name, var) in &self.outputs {
            let value = values[var.id()].as_ref().expect("outputs are needed");
            builder.rename(&value.name, name);
            graph_outputs.push(value_info(
                name,
                &var.shape(),
                &value.dims,
                &symbols,
                DataType::Float,
            ));
        }
        Ok(GraphProto {
            node: builder.nodes,
            name: Some("chainrule".into()),
            initializer: builder.initializers,
            input: graph_inputs,
            output: graph_outputs,
            ..Default::default()
        })
    }
}

/// The dims of a user-defined op's output, which the exporter cannot derive from the op: the
/// lowering's [`CustomLowering::batch_axis`] is dynamic where an input's first axis is, with
/// the same traced size.
fn custom_dims(inputs: &[&Value], shapes: &[&[usize]], out: &[usize], axis: usize) -> Vec<Dim> {
    let mut dims = fixed(out);
    if let Some(&size) = out.get(axis) {
        for (value, shape) in inputs.iter().zip(shapes) {
            if let (Some(d @ Dim::Dynamic { .. }), Some(&n)) = (value.dims.first(), shape.first()) {
                if n == size {
                    dims[axis] = *d;
                    break;
                }
            }
        }
    }
    dims
}

/// The declared type of a graph input or output, with each axis fixed or named.
fn value_info(
    name: &str,
    shape: &[usize],
    dims: &[Dim],
    symbols: &Symbols,
    element: DataType,
) -> ValueInfoProto {
    let dim = shape
        .iter()
        .zip(dims)
        .map(|(&n, &d)| tensor_shape_proto::Dimension {
            value: Some(match symbols.dim_param(d) {
                Some(param) => tensor_shape_proto::dimension::Value::DimParam(param),
                None => tensor_shape_proto::dimension::Value::DimValue(n as i64),
            }),
            ..Default::default()
        });
    ValueInfoProto {
        name: Some(name.to_owned()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(element as i32),
                shape: Some(TensorShapeProto { dim: dim.collect() }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
