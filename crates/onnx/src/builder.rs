//! The ONNX graph under construction: nodes in order, initializers, and fresh value names.

use crate::proto::{attribute_proto::AttributeType, tensor_proto::DataType};
use crate::proto::{AttributeProto, NodeProto, TensorProto};

/// Collects the nodes and initializers of one ONNX graph. Every value it makes gets a fresh
/// name from a hint and a counter (`Relu__12`), skipping the names the user chose (inputs,
/// outputs, parameters), so no two values share a name.
#[derive(Default)]
pub struct Builder {
    /// Names chosen by the user, which fresh names avoid.
    pub reserved: std::collections::HashSet<String>,
    /// The nodes, in a topological order.
    pub nodes: Vec<NodeProto>,
    /// The initializers: parameters, constants and the small shape and index tensors.
    pub initializers: Vec<TensorProto>,
    counter: usize,
}

impl Builder {
    /// A fresh value name.
    pub fn fresh(&mut self, hint: &str) -> String {
        loop {
            self.counter += 1;
            let name = format!("{hint}__{}", self.counter);
            if !self.reserved.contains(&name) {
                return name;
            }
        }
    }

    /// Appends a node of `op_type` (default domain) and returns its one output's name.
    pub fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        let output = self.fresh(op_type);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            name: Some(output.clone()),
            op_type: Some(op_type.to_owned()),
            attribute: attributes,
            ..Default::default()
        });
        output
    }

    /// An `Identity` node writing `input` under the name `output`.
    pub fn rename(&mut self, input: &str, output: &str) {
        self.nodes.push(NodeProto {
            input: vec![input.to_owned()],
            output: vec![output.to_owned()],
            name: Some(format!("{output}__identity")),
            op_type: Some("Identity".to_owned()),
            ..Default::default()
        });
    }

    /// A float initializer called `name`.
    pub fn initializer(&mut self, name: &str, data: &[f32], shape: &[usize]) {
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            dims: shape.iter().map(|&n| n as i64).collect(),
            data_type: Some(DataType::Float as i32),
            name: Some(name.to_owned()),
            raw_data: Some(raw),
            ..Default::default()
        });
    }

    /// A float constant under a fresh name.
    pub fn constant(&mut self, data: &[f32], shape: &[usize]) -> String {
        let name = self.fresh("const");
        self.initializer(&name, data, shape);
        name
    }

    /// A 0-d float constant.
    pub fn scalar(&mut self, v: f32) -> String {
        self.constant(&[v], &[])
    }

    /// A 1-D int64 constant (axes, shapes, starts, indices).
    pub fn ints(&mut self, values: &[i64]) -> String {
        self.ints_shaped(values, &[values.len()])
    }

    /// An int64 constant of the given shape.
    pub fn ints_shaped(&mut self, values: &[i64], shape: &[usize]) -> String {
        let name = self.fresh("ints");
        self.initializers.push(TensorProto {
            dims: shape.iter().map(|&n| n as i64).collect(),
            data_type: Some(DataType::Int64 as i32),
            name: Some(name.clone()),
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name
    }
}

/// An integer attribute (`axis`, `group`, `keepdims`).
pub fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_owned()),
        i: Some(value),
        r#type: Some(AttributeType::Int as i32),
        ..Default::default()
    }
}

/// A list-of-integers attribute (`perm`, `pads`, `strides`).
pub fn attr_ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_owned()),
        ints: values.to_vec(),
        r#type: Some(AttributeType::Ints as i32),
        ..Default::default()
    }
}

/// A float attribute (`alpha`).
pub fn attr_float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_owned()),
        f: Some(value),
        r#type: Some(AttributeType::Float as i32),
        ..Default::default()
    }
}
