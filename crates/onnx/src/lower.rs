//! The ONNX form of each built-in op: one function per family of the engine's op table
//! (`chainrule_autodiff::ops`), each `match` exhaustive, so an op added to the engine does not
//! compile here until it has a mapping or a stated refusal.
//!
//! Every function takes the node's input values (ONNX names and [`Dim`]s), emits nodes into the
//! [`Builder`], and returns the output's name and dims. Formulas follow each op's forward in
//! the engine, not the nearest ONNX op of a similar name where the two differ (softplus is
//! written in the engine's overflow-free form, GELU in its tanh form).

use chainrule_autodiff::ops::{BinaryOp, ConvOp, MatmulOp, NnOp, ReduceOp, ShapeOp, UnaryOp};
use chainrule_autodiff::Tensor;

use crate::builder::{attr_float, attr_int, attr_ints, Builder};
use crate::dims::{broadcast, plan_reshape, Dim, ShapeEntry, Symbols};

/// A value in the ONNX graph: its name and, per axis, whether it is dynamic.
#[derive(Clone, Debug)]
pub struct Value {
    /// The ONNX value name.
    pub name: String,
    /// Its axes.
    pub dims: Vec<Dim>,
}

/// Why a node could not be lowered: no mapping at all, or a dynamic axis it would break.
pub enum Refusal {
    /// The op has no ONNX form.
    Unsupported(String),
    /// The op ties a dynamic axis to its traced size.
    Dynamic(String),
}

type Lowered = Result<Value, Refusal>;

fn value(name: String, dims: Vec<Dim>) -> Lowered {
    Ok(Value { name, dims })
}

/// √(2/π), the scale inside GELU's tanh (as the engine's table has it).
const GELU_SCALE: f32 = 0.797_884_6;
/// The cubic coefficient inside GELU's tanh.
const GELU_CUBIC: f32 = 0.044_715;

/// An elementwise function of one input.
pub fn unary(b: &mut Builder, op: &UnaryOp<f32>, x: &Value) -> Lowered {
    let x_name = x.name.as_str();
    let one = |b: &mut Builder, op: &str| b.node(op, &[x_name], vec![]);
    let name = match *op {
        UnaryOp::Neg {} => one(b, "Neg"),
        UnaryOp::AddScalar { c } => {
            let c = b.scalar(c);
            b.node("Add", &[x_name, &c], vec![])
        }
        UnaryOp::MulScalar { c } => {
            let c = b.scalar(c);
            b.node("Mul", &[x_name, &c], vec![])
        }
        UnaryOp::Exp {} => one(b, "Exp"),
        UnaryOp::Ln {} => one(b, "Log"),
        UnaryOp::Sqrt {} => one(b, "Sqrt"),
        UnaryOp::Abs {} => one(b, "Abs"),
        UnaryOp::Erf {} => one(b, "Erf"),
        // ONNX's Round, like the engine's, takes halves to the even neighbour.
        UnaryOp::Round {} => one(b, "Round"),
        UnaryOp::Floor {} => one(b, "Floor"),
        UnaryOp::Sign {} => one(b, "Sign"),
        UnaryOp::Tanh {} => one(b, "Tanh"),
        UnaryOp::Sigmoid {} => one(b, "Sigmoid"),
        UnaryOp::Relu {} => one(b, "Relu"),
        UnaryOp::Powf { exponent } => {
            let c = b.scalar(exponent);
            b.node("Pow", &[x_name, &c], vec![])
        }
        UnaryOp::Clamp { min, max } => {
            let (lo, hi) = (b.scalar(min), b.scalar(max));
            b.node("Clip", &[x_name, &lo, &hi], vec![])
        }
        UnaryOp::LeakyRelu { slope } => {
            b.node("LeakyRelu", &[x_name], vec![attr_float("alpha", slope)])
        }
        // max(x, 0) + ln(1 + e^−|x|): the engine's form, which never overflows (ONNX's
        // Softplus is ln(eˣ + 1), infinite past x ≈ 88 in f32).
        UnaryOp::Softplus {} => {
            let relu = one(b, "Relu");
            let abs = one(b, "Abs");
            let neg = b.node("Neg", &[&abs], vec![]);
            let exp = b.node("Exp", &[&neg], vec![]);
            let one_c = b.scalar(1.0);
            let sum = b.node("Add", &[&exp, &one_c], vec![]);
            let log = b.node("Log", &[&sum], vec![]);
            b.node("Add", &[&relu, &log], vec![])
        }
        // ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))), the tanh form the engine computes.
        UnaryOp::Gelu {} => {
            let square = b.node("Mul", &[x_name, x_name], vec![]);
            let cube = b.node("Mul", &[&square, x_name], vec![]);
            let cubic = b.scalar(GELU_CUBIC);
            let scaled_cube = b.node("Mul", &[&cube, &cubic], vec![]);
            let inner = b.node("Add", &[x_name, &scaled_cube], vec![]);
            let scale = b.scalar(GELU_SCALE);
            let arg = b.node("Mul", &[&inner, &scale], vec![]);
            let t = b.node("Tanh", &[&arg], vec![]);
            let one_c = b.scalar(1.0);
            let one_plus_t = b.node("Add", &[&t, &one_c], vec![]);
            let half = b.scalar(0.5);
            let half_x = b.node("Mul", &[x_name, &half], vec![]);
            b.node("Mul", &[&half_x, &one_plus_t], vec![])
        }
        UnaryOp::Silu {} => {
            let s = one(b, "Sigmoid");
            b.node("Mul", &[x_name, &s], vec![])
        }
        UnaryOp::Log1p {} => {
            let one_c = b.scalar(1.0);
            let sum = b.node("Add", &[x_name, &one_c], vec![]);
            b.node("Log", &[&sum], vec![])
        }
        UnaryOp::Expm1 {} => {
            let exp = one(b, "Exp");
            let one_c = b.scalar(1.0);
            b.node("Sub", &[&exp, &one_c], vec![])
        }
        UnaryOp::Sin {} => one(b, "Sin"),
        UnaryOp::Cos {} => one(b, "Cos"),
    };
    value(name, x.dims.clone())
}

/// An elementwise function of two broadcast inputs.
pub fn binary(b: &mut Builder, op: BinaryOp, x: &Value, y: &Value, out: &[usize]) -> Lowered {
    let dims = broadcast(&[&x.dims, &y.dims], out).map_err(Refusal::Dynamic)?;
    let op_type = match op {
        BinaryOp::Add => "Add",
        BinaryOp::Sub => "Sub",
        BinaryOp::Mul => "Mul",
        BinaryOp::Div => "Div",
        BinaryOp::Pow => "Pow",
        BinaryOp::Maximum => "Max",
        BinaryOp::Minimum => "Min",
    };
    value(b.node(op_type, &[&x.name, &y.name], vec![]), dims)
}

/// `where(mask, a, b)`: `a` where the mask is non-zero.
pub fn select(b: &mut Builder, mask: &Value, x: &Value, y: &Value, out: &[usize]) -> Lowered {
    let dims = broadcast(&[&mask.dims, &x.dims, &y.dims], out).map_err(Refusal::Dynamic)?;
    let zero = b.scalar(0.0);
    let is_zero = b.node("Equal", &[&mask.name, &zero], vec![]);
    value(b.node("Where", &[&is_zero, &y.name, &x.name], vec![]), dims)
}

/// The dims left after reducing `axis` (all axes for `None`).
fn reduced_dims(dims: &[Dim], axis: Option<usize>, keepdim: bool) -> Vec<Dim> {
    match (axis, keepdim) {
        (None, false) => vec![],
        (None, true) => vec![Dim::Fixed(1); dims.len()],
        (Some(a), true) => {
            let mut kept = dims.to_vec();
            kept[a] = Dim::Fixed(1);
            kept
        }
        (Some(a), false) => {
            let mut kept = dims.to_vec();
            kept.remove(a);
            kept
        }
    }
}

/// `ReduceSum` (axes as an input since opset 13), `ReduceMean`/`ReduceMax` (axes as an
/// attribute up to opset 17).
fn reduce_onnx(
    b: &mut Builder,
    op_type: &str,
    x: &str,
    axis: Option<usize>,
    keepdim: bool,
) -> String {
    let keep = attr_int("keepdims", keepdim as i64);
    match (op_type, axis) {
        (_, None) => b.node(op_type, &[x], vec![keep]),
        ("ReduceSum", Some(a)) => {
            let axes = b.ints(&[a as i64]);
            b.node(op_type, &[x, &axes], vec![keep])
        }
        (_, Some(a)) => b.node(op_type, &[x], vec![keep, attr_ints("axes", &[a as i64])]),
    }
}

/// A sum, mean or max.
pub fn reduce(b: &mut Builder, op: ReduceOp, x: &Value) -> Lowered {
    let (op_type, axis, keepdim) = match op {
        ReduceOp::Sum { axis, keepdim } => ("ReduceSum", axis, keepdim),
        ReduceOp::Mean { axis, keepdim } => ("ReduceMean", axis, keepdim),
        ReduceOp::Max { axis, keepdim } => ("ReduceMax", axis, keepdim),
    };
    let name = reduce_onnx(b, op_type, &x.name, axis, keepdim);
    value(name, reduced_dims(&x.dims, axis, keepdim))
}

/// The permutation that swaps the last two of `rank` axes.
fn swap_last_two(rank: usize) -> Vec<i64> {
    let mut perm: Vec<i64> = (0..rank as i64).collect();
    perm.swap(rank - 2, rank - 1);
    perm
}

/// `op(A)·op(B)`, a `Transpose` in front of an operand whose flag is set.
/// `MatMul`, and an `Add` of the bias (broadcast over the rows, as ONNX broadcasts a 1-D
/// operand against the last axis) when the product has one.
pub fn matmul(
    b: &mut Builder,
    op: MatmulOp,
    x: &Value,
    y: &Value,
    bias: Option<&Value>,
    out: &[usize],
) -> Lowered {
    let operand = |b: &mut Builder, v: &Value, transpose: bool| -> (String, Vec<Dim>) {
        if !transpose {
            return (v.name.clone(), v.dims.clone());
        }
        let perm = swap_last_two(v.dims.len());
        let name = b.node("Transpose", &[&v.name], vec![attr_ints("perm", &perm)]);
        let dims = perm.iter().map(|&p| v.dims[p as usize]).collect();
        (name, dims)
    };
    let (a, a_dims) = operand(b, x, op.transpose_a);
    let (c, c_dims) = operand(b, y, op.transpose_b);
    let (ra, rc) = (a_dims.len(), c_dims.len());
    if ra < 2 || rc < 2 {
        return Err(Refusal::Unsupported("matmul of a 1-D operand".into()));
    }
    let (ka, kc) = (a_dims[ra - 1], c_dims[rc - 2]);
    if ka != kc && (ka.is_dynamic() || kc.is_dynamic()) {
        return Err(Refusal::Dynamic(
            "the contracted axis is dynamic in one operand and fixed in the other".into(),
        ));
    }
    let lead = &out[..out.len() - 2];
    let mut dims =
        broadcast(&[&a_dims[..ra - 2], &c_dims[..rc - 2]], lead).map_err(Refusal::Dynamic)?;
    dims.push(a_dims[ra - 2]);
    dims.push(c_dims[rc - 1]);
    let product = b.node("MatMul", &[&a, &c], vec![]);
    match bias {
        Some(bias) => value(b.node("Add", &[&product, &bias.name], vec![]), dims),
        None => value(product, dims),
    }
}

/// A shape tensor for `Reshape`/`Expand`: literal where it can be, else read from `source`'s
/// `Shape` at run time.
fn shape_tensor(b: &mut Builder, source: &str, entries: &[ShapeEntry]) -> String {
    if entries.iter().all(|e| matches!(e, ShapeEntry::Literal(_))) {
        let literal: Vec<i64> = entries
            .iter()
            .map(|e| match e {
                ShapeEntry::Literal(n) => *n,
                ShapeEntry::InputAxis(_) => unreachable!(),
            })
            .collect();
        return b.ints(&literal);
    }
    let shape = b.node("Shape", &[source], vec![]);
    let parts: Vec<String> = entries
        .iter()
        .map(|e| match *e {
            ShapeEntry::Literal(n) => b.ints(&[n]),
            ShapeEntry::InputAxis(axis) => {
                let index = b.ints(&[axis as i64]);
                b.node("Gather", &[&shape, &index], vec![attr_int("axis", 0)])
            }
        })
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    b.node("Concat", &parts, vec![attr_int("axis", 0)])
}

/// Refuses an op along a dynamic axis that it would have to fix to its traced size.
fn fixed_axis(dims: &[Dim], axis: usize, what: &str) -> Result<(), Refusal> {
    if dims[axis].is_dynamic() {
        return Err(Refusal::Dynamic(format!(
            "{what} along axis {axis}, which is dynamic"
        )));
    }
    Ok(())
}

/// A shape or indexing op. `inputs` are the node's inputs; `traced` their traced shapes;
/// `out` the output's traced shape.
pub fn shape(
    b: &mut Builder,
    op: &ShapeOp,
    inputs: &[&Value],
    traced: &[&[usize]],
    out: &[usize],
    symbols: &Symbols,
) -> Lowered {
    let x = inputs[0];
    let rank = x.dims.len();
    match op {
        ShapeOp::Reshape(_) => {
            let plan = plan_reshape(&x.dims, traced[0], out, symbols).map_err(Refusal::Dynamic)?;
            let target = shape_tensor(b, &x.name, &plan.entries);
            value(b.node("Reshape", &[&x.name, &target], vec![]), plan.dims)
        }
        ShapeOp::Permute(axes) => {
            let perm: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
            let dims = axes.iter().map(|&a| x.dims[a]).collect();
            value(
                b.node("Transpose", &[&x.name], vec![attr_ints("perm", &perm)]),
                dims,
            )
        }
        ShapeOp::BroadcastTo(_) => {
            // Expand broadcasts both ways: a 1 in the target keeps the input's (dynamic) axis.
            let offset = out.len() - rank;
            let mut dims = crate::dims::fixed(out);
            let mut entries = Vec::with_capacity(out.len());
            for (k, &n) in out.iter().enumerate() {
                match k.checked_sub(offset).map(|i| x.dims[i]) {
                    Some(d @ Dim::Dynamic { .. }) => {
                        dims[k] = d;
                        entries.push(ShapeEntry::Literal(1));
                    }
                    _ => entries.push(ShapeEntry::Literal(n as i64)),
                }
            }
            let target = shape_tensor(b, &x.name, &entries);
            value(b.node("Expand", &[&x.name, &target], vec![]), dims)
        }
        ShapeOp::Narrow { axis, start, len } => {
            fixed_axis(&x.dims, *axis, "narrow")?;
            let starts = b.ints(&[*start as i64]);
            let ends = b.ints(&[(start + len) as i64]);
            let axes = b.ints(&[*axis as i64]);
            let mut dims = x.dims.clone();
            dims[*axis] = Dim::Fixed(*len);
            value(
                b.node("Slice", &[&x.name, &starts, &ends, &axes], vec![]),
                dims,
            )
        }
        ShapeOp::Pad {
            axis,
            before,
            after,
        } => {
            fixed_axis(&x.dims, *axis, "pad")?;
            let mut pads = vec![0i64; 2 * rank];
            pads[*axis] = *before as i64;
            pads[rank + axis] = *after as i64;
            let pads = b.ints(&pads);
            let mut dims = x.dims.clone();
            dims[*axis] = Dim::Fixed(out[*axis]);
            value(b.node("Pad", &[&x.name, &pads], vec![]), dims)
        }
        ShapeOp::Concat { axis } => {
            for input in inputs {
                fixed_axis(&input.dims, *axis, "concat")?;
            }
            let mut dims = join_dims(inputs, out, Some(*axis))?;
            dims[*axis] = Dim::Fixed(out[*axis]);
            let names: Vec<&str> = inputs.iter().map(|v| v.name.as_str()).collect();
            value(
                b.node("Concat", &names, vec![attr_int("axis", *axis as i64)]),
                dims,
            )
        }
        ShapeOp::Stack { axis } => {
            let mut input_out = out.to_vec();
            input_out.remove(*axis);
            let mut dims = join_dims(inputs, &input_out, None)?;
            dims.insert(*axis, Dim::Fixed(inputs.len()));
            let axes = b.ints(&[*axis as i64]);
            let expanded: Vec<String> = inputs
                .iter()
                .map(|v| b.node("Unsqueeze", &[&v.name, &axes], vec![]))
                .collect();
            let names: Vec<&str> = expanded.iter().map(String::as_str).collect();
            value(
                b.node("Concat", &names, vec![attr_int("axis", *axis as i64)]),
                dims,
            )
        }
        ShapeOp::IndexSelect { axis, indices } => {
            fixed_axis(&x.dims, *axis, "index_select")?;
            let picked: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
            let picked = b.ints(&picked);
            let mut dims = x.dims.clone();
            dims[*axis] = Dim::Fixed(indices.len());
            value(
                b.node(
                    "Gather",
                    &[&x.name, &picked],
                    vec![attr_int("axis", *axis as i64)],
                ),
                dims,
            )
        }
        ShapeOp::Gather { axis, indices, .. } => {
            if x.dims.iter().any(|d| d.is_dynamic()) {
                return Err(Refusal::Dynamic(
                    "gather's index tensor has the traced shape, but its input has a dynamic axis"
                        .into(),
                ));
            }
            let picked: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
            let picked = b.ints_shaped(&picked, out);
            let name = b.node(
                "GatherElements",
                &[&x.name, &picked],
                vec![attr_int("axis", *axis as i64)],
            );
            value(name, crate::dims::fixed(out))
        }
        ShapeOp::SumTo(_) | ShapeOp::IndexAdd { .. } | ShapeOp::ScatterAdd { .. } => {
            Err(Refusal::Unsupported(
                "an adjoint recorded by backward passes; export the forward graph".into(),
            ))
        }
    }
}

/// `index_select` whose indices come from the int64 model input `ids` (any shape, read
/// flattened): `Gather` along `axis`, which takes as many slices as `ids` holds.
pub fn index_select_input(
    b: &mut Builder,
    x: &Value,
    axis: usize,
    ids: &str,
    id_dims: &[Dim],
) -> Lowered {
    fixed_axis(&x.dims, axis, "index_select")?;
    let flat_shape = b.ints(&[-1]);
    let flat = b.node("Reshape", &[ids, &flat_shape], vec![]);
    let fixed_part: usize = id_dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => *n,
            Dim::Dynamic { factor, .. } => *factor,
        })
        .product();
    let picked = match id_dims
        .iter()
        .filter(|d| d.is_dynamic())
        .collect::<Vec<_>>()[..]
    {
        [] => Dim::Fixed(fixed_part),
        [Dim::Dynamic { symbol, .. }] => Dim::Dynamic {
            symbol: *symbol,
            factor: fixed_part,
        },
        _ => {
            return Err(Refusal::Dynamic(
                "the index input has two dynamic axes".into(),
            ))
        }
    };
    let mut dims = x.dims.clone();
    dims[axis] = picked;
    value(
        b.node(
            "Gather",
            &[&x.name, &flat],
            vec![attr_int("axis", axis as i64)],
        ),
        dims,
    )
}

/// The common dims of inputs that must have equal shapes (concat apart from its axis, stack).
fn join_dims(inputs: &[&Value], out: &[usize], except: Option<usize>) -> Result<Vec<Dim>, Refusal> {
    let mut out = out.to_vec();
    if let Some(axis) = except {
        // The joined axis is checked fixed by the caller; give it a neutral size here.
        out[axis] = 1;
    }
    let masked: Vec<Vec<Dim>> = inputs
        .iter()
        .map(|v| {
            let mut d = v.dims.clone();
            if let Some(axis) = except {
                d[axis] = Dim::Fixed(1);
            }
            d
        })
        .collect();
    let views: Vec<&[Dim]> = masked.iter().map(Vec::as_slice).collect();
    broadcast(&views, &out).map_err(Refusal::Dynamic)
}

/// The numerically stable nn functions; the fused losses are refused.
pub fn nn(b: &mut Builder, op: &NnOp, x: &Value) -> Lowered {
    match op {
        // m + ln Σ e^(x − m), m the maximum: the engine's overflow-free form.
        NnOp::LogSumExp { axis, keepdim } => {
            let max = reduce_onnx(b, "ReduceMax", &x.name, Some(*axis), true);
            let shifted = b.node("Sub", &[&x.name, &max], vec![]);
            let exp = b.node("Exp", &[&shifted], vec![]);
            let sum = reduce_onnx(b, "ReduceSum", &exp, Some(*axis), true);
            let log = b.node("Log", &[&sum], vec![]);
            let kept = b.node("Add", &[&log, &max], vec![]);
            let name = if *keepdim {
                kept
            } else {
                let axes = b.ints(&[*axis as i64]);
                b.node("Squeeze", &[&kept, &axes], vec![])
            };
            value(name, reduced_dims(&x.dims, Some(*axis), *keepdim))
        }
        NnOp::Softmax { axis } => {
            let name = b.node("Softmax", &[&x.name], vec![attr_int("axis", *axis as i64)]);
            value(name, x.dims.clone())
        }
        NnOp::LogSoftmax { axis } => {
            let name = b.node(
                "LogSoftmax",
                &[&x.name],
                vec![attr_int("axis", *axis as i64)],
            );
            value(name, x.dims.clone())
        }
        NnOp::SoftmaxCrossEntropy { .. } | NnOp::BinaryCrossEntropyWithLogits => {
            Err(Refusal::Unsupported(
                "a loss, with the labels baked in; export the model's output before the loss"
                    .into(),
            ))
        }
    }
}

/// Convolution and pooling over `[N, C, H, W]`; only the batch axis may be dynamic.
pub fn conv(
    b: &mut Builder,
    op: &ConvOp,
    inputs: &[&Value],
    traced: &[&[usize]],
    out: &[usize],
) -> Lowered {
    let x = inputs[0];
    if x.dims[1..].iter().any(|d| d.is_dynamic()) {
        return Err(Refusal::Dynamic(
            "only the batch axis of an image may be dynamic".into(),
        ));
    }
    let mut dims = crate::dims::fixed(out);
    dims[0] = x.dims[0];
    let pair = |p: [usize; 2]| [p[0] as i64, p[1] as i64];
    let pads = |p: [usize; 2]| [p[0] as i64, p[1] as i64, p[0] as i64, p[1] as i64];
    let name = match op {
        ConvOp::Conv2d(options, _) => {
            let w = traced[1];
            // The bias, when the convolution has one, is ONNX's optional third input too.
            let names: Vec<&str> = inputs.iter().map(|v| v.name.as_str()).collect();
            b.node(
                "Conv",
                &names,
                vec![
                    attr_ints("kernel_shape", &[w[2] as i64, w[3] as i64]),
                    attr_ints("strides", &pair(options.stride)),
                    attr_ints("pads", &pads(options.padding)),
                    attr_ints("dilations", &pair(options.dilation)),
                    attr_int("group", options.groups as i64),
                ],
            )
        }
        ConvOp::ConvTranspose2d { options, size } => {
            let (w, input) = (traced[1], traced[0]);
            // ONNX's size: stride·(in − 1) + output_padding + dilation·(k − 1) + 1 − 2·pad;
            // the output padding is what makes it the engine's `size`.
            let mut output_padding = [0i64; 2];
            for a in 0..2 {
                let natural = options.stride[a] * (input[2 + a] - 1)
                    + options.dilation[a] * (w[2 + a] - 1)
                    + 1;
                output_padding[a] = (size[a] + 2 * options.padding[a]) as i64 - natural as i64;
            }
            b.node(
                "ConvTranspose",
                &[&x.name, &inputs[1].name],
                vec![
                    attr_ints("kernel_shape", &[w[2] as i64, w[3] as i64]),
                    attr_ints("strides", &pair(options.stride)),
                    attr_ints("pads", &pads(options.padding)),
                    attr_ints("dilations", &pair(options.dilation)),
                    attr_int("group", options.groups as i64),
                    attr_ints("output_padding", &output_padding),
                ],
            )
        }
        ConvOp::MaxPool2d { options, .. } => b.node(
            "MaxPool",
            &[&x.name],
            vec![
                attr_ints("kernel_shape", &pair(options.kernel)),
                attr_ints("strides", &pair(options.stride)),
                attr_ints("pads", &pads(options.padding)),
            ],
        ),
        ConvOp::AvgPool2d(options) => b.node(
            "AveragePool",
            &[&x.name],
            vec![
                attr_ints("kernel_shape", &pair(options.kernel)),
                attr_ints("strides", &pair(options.stride)),
                attr_ints("pads", &pads(options.padding)),
                attr_int("count_include_pad", 1),
            ],
        ),
        ConvOp::Conv2dWeight { .. } | ConvOp::AvgPool2dBackward { .. } => {
            return Err(Refusal::Unsupported(
                "an adjoint recorded by backward passes; export the forward graph".into(),
            ))
        }
    };
    value(name, dims)
}

/// A constant the same in every row whose first axis has a dynamic symbol's traced size (a
/// recurrent layer's zero initial state, made for the traced batch): one row, expanded at run
/// time to the size of `source`'s axis `axis`. `None` when the constant is not like that.
pub fn batch_constant(
    b: &mut Builder,
    tensor: &Tensor<f32>,
    symbols: &Symbols,
    carriers: &[(usize, String, usize)],
) -> Option<Value> {
    let shape = tensor.shape();
    if shape.len() < 2 || shape[0] < 2 {
        return None;
    }
    let symbol = symbols.with_traced_size(shape[0]).next()?;
    let (_, source, axis) = carriers.iter().find(|(s, _, _)| *s == symbol)?;
    let data = tensor.as_slice();
    let row_len = data.len() / shape[0];
    let first = &data[..row_len];
    if !data.chunks_exact(row_len.max(1)).all(|row| row == first) {
        return None;
    }
    let mut row_shape = shape.to_vec();
    row_shape[0] = 1;
    let row = b.constant(first, &row_shape);
    let mut entries = vec![ShapeEntry::InputAxis(*axis)];
    entries.extend(shape[1..].iter().map(|&n| ShapeEntry::Literal(n as i64)));
    let target = shape_tensor(b, source, &entries);
    let name = b.node("Expand", &[&row, &target], vec![]);
    let mut dims = crate::dims::fixed(shape);
    dims[0] = Dim::Dynamic { symbol, factor: 1 };
    Some(Value { name, dims })
}
