//! Every exported model runs in tract, an ONNX engine written independently of chainrule, and
//! gives chainrule's own outputs to 1e-5 — at the batch size it was traced with and at
//! another, so the dynamic batch is checked too.
//!
//! One test binary for the whole crate: tract is large, and each test file links it again.
//! With `CHAINRULE_ONNX_DIR` set, each model is also written there with its inputs and
//! chainrule's outputs (`NAME/model.onnx`, `NAME/cases.json`) for `bench/onnx_check.py`.

use chainrule_autodiff::ops::UnaryOp;
use chainrule_autodiff::{
    Conv2dOptions, CustomOp, Graph, ParamKind, ParamStore, Pool2dOptions, Tensor, Var,
};
use chainrule_layers::{
    Activation, Conv2d, Dense, Embedding, Flatten, Highway, Lstm, MaxPool2d, Module, Residual, Rnn,
    Sequential,
};
use chainrule_onnx::{CustomLowering, Export, ExportError, Lowering};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tract_onnx::prelude::{Framework, InferenceModelExt, IntoRunnable, IntoTValue};

/// The largest difference allowed, relative to the value where it is over 1.
const TOLERANCE: f32 = 1e-5;

fn random(shape: &[usize], rng: &mut StdRng) -> Tensor<f32> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|_| rng.gen_range(-2.0f32..2.0)).collect(), shape)
}

/// Runs the ONNX model in tract on one float input per model input; the outputs' shapes and
/// values.
fn run_tract(bytes: &[u8], inputs: &[Tensor<f32>]) -> Vec<(Vec<usize>, Vec<f32>)> {
    let values = inputs
        .iter()
        .map(|t| tract_onnx::prelude::Tensor::from_shape(t.shape(), t.as_slice()).unwrap())
        .collect();
    run_tract_tensors(bytes, values)
}

/// Runs the ONNX model in tract on tract tensors.
fn run_tract_tensors(
    bytes: &[u8],
    inputs: Vec<tract_onnx::prelude::Tensor>,
) -> Vec<(Vec<usize>, Vec<f32>)> {
    let model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .expect("tract reads the model")
        .into_optimized()
        .expect("tract optimises the model")
        .into_runnable()
        .expect("tract makes the model runnable");
    let values = inputs.into_iter().map(|t| t.into_tvalue()).collect();
    let outputs = model.run(values).expect("tract runs the model");
    outputs
        .iter()
        .map(|o| {
            let view = o.to_plain_array_view::<f32>().unwrap();
            (view.shape().to_vec(), view.iter().copied().collect())
        })
        .collect()
}

fn assert_close(what: &str, expected: &Tensor<f32>, (shape, got): &(Vec<usize>, Vec<f32>)) {
    assert_eq!(expected.shape(), &shape[..], "{what}: shapes differ");
    for (i, (&e, &g)) in expected.as_slice().iter().zip(got).enumerate() {
        let tolerance = TOLERANCE * e.abs().max(1.0);
        assert!(
            (e - g).abs() <= tolerance,
            "{what}: element {i}: chainrule {e}, tract {g}"
        );
    }
}

/// A JSON array of numbers.
fn json_numbers<T: std::fmt::Debug>(values: &[T]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("[{}]", items.join(","))
}

fn json_tensor(t: &Tensor<f32>) -> String {
    format!(
        "{{\"shape\":{},\"data\":{}}}",
        json_numbers(t.shape()),
        json_numbers(t.as_slice())
    )
}

/// Exports `forward` traced at batch `batches[0]`, then checks it in tract at every batch
/// size of `batches` against chainrule's forward on fresh random inputs.
fn check<F>(
    name: &str,
    params: &ParamStore<f32>,
    input_shape: &[usize],
    batches: &[usize],
    forward: F,
) where
    F: for<'g> Fn(&'g Graph<f32>, Var<'g, f32>) -> Vec<Var<'g, f32>>,
{
    let mut rng = StdRng::seed_from_u64(7);
    let shape_for = |batch: usize| {
        let mut shape = input_shape.to_vec();
        shape[0] = batch;
        shape
    };
    let g = Graph::new();
    let x = g.input(random(&shape_for(batches[0]), &mut rng));
    let outputs = forward(&g, x);
    let mut export = Export::new(&g).params(params).input("input", x);
    for (i, &y) in outputs.iter().enumerate() {
        export = export.output(&format!("output{i}"), y);
    }
    let bytes = export.to_bytes().unwrap_or_else(|e| panic!("{name}: {e}"));

    let mut cases = Vec::new();
    for &batch in batches {
        let input = random(&shape_for(batch), &mut rng);
        let g = Graph::new();
        let expected: Vec<Tensor<f32>> = forward(&g, g.input(input.clone()))
            .iter()
            .map(|y| y.value())
            .collect();
        let got = run_tract(&bytes, std::slice::from_ref(&input));
        assert_eq!(got.len(), expected.len());
        for (i, (e, o)) in expected.iter().zip(&got).enumerate() {
            assert_close(&format!("{name}: batch {batch}, output {i}"), e, o);
        }
        let outputs: Vec<String> = expected.iter().map(json_tensor).collect();
        cases.push(format!(
            "{{\"inputs\":{{\"input\":{}}},\"outputs\":{{{}}}}}",
            json_tensor(&input),
            outputs
                .iter()
                .enumerate()
                .map(|(i, o)| format!("\"output{i}\":{o}"))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if let Some(dir) = std::env::var_os("CHAINRULE_ONNX_DIR") {
        let dir = std::path::Path::new(&dir).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        export.write(dir.join("model.onnx")).unwrap();
        std::fs::write(dir.join("cases.json"), format!("[{}]", cases.join(","))).unwrap();
    }
}

#[test]
fn mlp_classifier_with_softmax() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut params = ParamStore::new();
    let model = Sequential::new()
        .with(Dense::new(
            &mut params,
            "hidden",
            4,
            16,
            Activation::Relu,
            &mut rng,
        ))
        .with(Dense::new(
            &mut params,
            "output",
            16,
            3,
            Activation::Softmax,
            &mut rng,
        ));
    check("mlp_classifier", &params, &[3, 4], &[3, 5, 1], |g, x| {
        vec![model.forward(g, &params, x)]
    });
}

#[test]
fn regression_mlp() {
    let mut rng = StdRng::seed_from_u64(2);
    let mut params = ParamStore::new();
    let model = Sequential::new()
        .with(Dense::new(
            &mut params,
            "hidden1",
            5,
            12,
            Activation::Tanh,
            &mut rng,
        ))
        .with(Dense::new(
            &mut params,
            "hidden2",
            12,
            8,
            Activation::Sigmoid,
            &mut rng,
        ))
        .with(Dense::new(
            &mut params,
            "output",
            8,
            1,
            Activation::Linear,
            &mut rng,
        ));
    check("regression_mlp", &params, &[4, 5], &[4, 7], |g, x| {
        vec![model.forward(g, &params, x)]
    });
}

#[test]
fn residual_and_highway_net() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut params = ParamStore::new();
    let inner = Dense::new(&mut params, "block.inner", 6, 6, Activation::Relu, &mut rng);
    let projected = Dense::new(&mut params, "wide.inner", 6, 4, Activation::Tanh, &mut rng);
    let model = Sequential::new()
        .with(Residual::new(&mut params, "block", 6, 6, inner, &mut rng))
        .with(Highway::new(
            &mut params,
            "highway",
            6,
            Activation::Relu,
            &mut rng,
        ))
        .with(Residual::new(
            &mut params,
            "wide",
            6,
            4,
            projected,
            &mut rng,
        ))
        .with(Dense::new(
            &mut params,
            "output",
            4,
            2,
            Activation::Linear,
            &mut rng,
        ));
    check("residual_net", &params, &[3, 6], &[3, 8], |g, x| {
        vec![model.forward(g, &params, x)]
    });
}

#[test]
fn lstm_unrolled_for_a_fixed_length() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut params = ParamStore::new();
    let lstm = Lstm::new(&mut params, "lstm", 3, 5, &mut rng);
    let head = Dense::new(&mut params, "head", 5, 2, Activation::Linear, &mut rng);
    // Every hidden state [batch, 4, 5], and a prediction from the last one.
    check("lstm", &params, &[2, 4, 3], &[2, 6], |g, x| {
        let (sequence, state) = lstm.run(g, &params, x);
        vec![sequence, head.forward(g, &params, state.h)]
    });
}

#[test]
fn rnn_unrolled_for_a_fixed_length() {
    let mut rng = StdRng::seed_from_u64(12);
    let mut params = ParamStore::new();
    let rnn = Rnn::new(&mut params, "rnn", 3, 4, &mut rng);
    check("rnn", &params, &[3, 5, 3], &[3, 2], |g, x| {
        let (sequence, last) = rnn.run(g, &params, x);
        vec![sequence, last]
    });
}

#[test]
fn small_cnn() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut params = ParamStore::new();
    let model = Sequential::new()
        .with(Conv2d::new(
            &mut params,
            "conv",
            1,
            4,
            3,
            Conv2dOptions::new().padding(1),
            &mut rng,
        ))
        .with(Activation::Relu)
        .with(MaxPool2d::new(Pool2dOptions::new(2)))
        .with(Flatten::default())
        .with(Dense::new(
            &mut params,
            "output",
            4 * 3 * 3,
            3,
            Activation::Softmax,
            &mut rng,
        ));
    check("cnn", &params, &[2, 1, 6, 6], &[2, 5], |g, x| {
        vec![model.forward(g, &params, x)]
    });
}

/// The fixed numbers each public unary op is tried with.
fn numbers(name: &str, count: usize) -> Vec<f32> {
    match name {
        "clamp" => vec![-0.3, 0.4],
        "leaky_relu" => vec![0.1],
        _ => vec![1.7; count],
    }
}

#[test]
fn every_elementwise_op() {
    let params = ParamStore::new();
    check("elementwise", &params, &[3, 5], &[3, 4], |g, x| {
        let positive = x.abs() + 0.5;
        let mut results = vec![-x, x + 2.0, x * 3.0];
        for (name, fixed) in UnaryOp::<f32>::functions() {
            let op = UnaryOp::by_name(name, &numbers(name, fixed.len())).unwrap();
            let domain_limited = matches!(name, "ln" | "sqrt" | "powf" | "log1p");
            results.push(if domain_limited { positive } else { x }.apply_unary(op));
        }
        let w = g.constant(random(&[5], &mut StdRng::seed_from_u64(9)));
        results.extend([
            x + w,
            x - w,
            x * w,
            x / positive,
            positive.pow(w),
            x.maximum(w),
            x.minimum(w),
            Var::where_(x.relu(), x.exp(), x * 2.0),
            x.gelu().softplus().leaky_relu(0.2),
        ]);
        vec![Var::stack(&results, 1)]
    });
}

#[test]
fn shape_and_reduction_ops() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut params = ParamStore::new();
    let w = params.insert("w", random(&[2, 4], &mut rng), ParamKind::Weight);
    let table = params.insert("table", random(&[3, 4], &mut rng), ParamKind::Weight);
    check("shapes", &params, &[3, 6], &[3, 5], |g, x| {
        let w = params.bind(g, w);
        let table = params.bind(g, table);
        let cube = x.reshape(&[x.shape()[0], 2, 3]).permute(&[0, 2, 1]); // [b, 3, 2]
        let product = cube.matmul(w); // [b, 3, 4]
        let transposed = cube.matmul_t(w.transpose(0, 1), false, true); // the same
        let picked = product
            .index_select(2, &[0, 2, 2])
            .narrow(1, 1, 2)
            .pad(2, 1, 2);
        let joined = Var::concat(&[product, transposed], 1).flatten(1);
        let gram = x.matmul_t(x, true, false); // [6, 6], summed over the batch
        let spread = x.sum_axis(1, true).broadcast_to(&[x.shape()[0], 5]);
        vec![
            picked,
            joined,
            gram,
            spread,
            x.sum_axis(1, false) + x.mean_axis(1, false) + x.max_axis(1, false),
            x.sum_axis(0, true) * x.max(),
            x.mean().reshape(&[1]),
            x.logsumexp(1, false).unsqueeze(1) + x.logsumexp(1, true),
            x.log_softmax(1) + x.softmax(-1),
            table.gather(1, &[0, 3, 1, 1, 2, 0], 2),
        ]
    });
}

#[test]
fn convolution_and_pooling_ops() {
    let mut rng = StdRng::seed_from_u64(8);
    let mut params = ParamStore::new();
    let grouped = params.insert(
        "grouped",
        random(&[4, 1, 3, 3], &mut rng),
        ParamKind::Weight,
    );
    let up = params.insert("up", random(&[2, 3, 3, 3], &mut rng), ParamKind::Weight);
    check("conv_ops", &params, &[2, 2, 5, 5], &[2, 3], |g, x| {
        let options = Conv2dOptions::new()
            .padding(2)
            .dilation(2)
            .groups(2)
            .stride(2);
        let transposed = Conv2dOptions::new().stride(2).padding(1).output_padding(1);
        vec![
            x.conv2d(params.bind(g, grouped), None, options),
            x.conv_transpose2d(params.bind(g, up), None, transposed),
            x.avg_pool2d(Pool2dOptions::new(3).stride(2).padding(1)),
            x.max_pool2d(Pool2dOptions::new(2).stride(1)),
        ]
    });
}

/// `y = 2x`, a user-defined op.
struct Double;

impl CustomOp<f32> for Double {
    fn name(&self) -> &'static str {
        "double"
    }
    fn forward(&self, inputs: &[&Tensor<f32>]) -> Tensor<f32> {
        inputs[0].map(|v| 2.0 * v)
    }
    fn backward(
        &self,
        _: &[&Tensor<f32>],
        _: &Tensor<f32>,
        grad: &Tensor<f32>,
        _: &[bool],
    ) -> Vec<Option<Tensor<f32>>> {
        vec![Some(grad.map(|v| 2.0 * v))]
    }
}

struct DoubleLowering;

impl CustomLowering for DoubleLowering {
    fn lower(&self, cx: &mut Lowering<'_>) -> Result<String, String> {
        let two = cx.scalar(2.0);
        let x = cx.input(0).to_owned();
        Ok(cx.node("Mul", &[&x, &two], vec![]))
    }
}

#[test]
fn a_custom_op_without_a_lowering_is_refused_by_name() {
    let g = Graph::new();
    let x = g.input(Tensor::zeros(&[2, 3]));
    let y = Var::custom(Double, &[x.tanh()]).relu();
    let error = Export::new(&g)
        .input("x", x)
        .output("y", y)
        .to_bytes()
        .unwrap_err();
    assert!(matches!(error, ExportError::Unsupported { ref op, node: 2, .. } if op == "double"));
    let message = error.to_string();
    assert!(
        message.contains("double") && message.contains("node 2"),
        "{message}"
    );
}

#[test]
fn a_custom_op_with_a_lowering_exports() {
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(vec![0.5, -1.0, 2.0], &[1, 3]));
    let y = Var::custom(Double, &[x]) + 1.0;
    let bytes = Export::new(&g)
        .lowering("double", DoubleLowering)
        .input("x", x)
        .output("y", y)
        .to_bytes()
        .unwrap();
    let x2 = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let got = run_tract(&bytes, &[x2]);
    assert_eq!(got[0].1, vec![3.0, 5.0, 7.0, 9.0, 11.0, 13.0]);
}

#[test]
fn refusals_name_the_op_and_the_node() {
    let g = Graph::new();
    let x = g.input(Tensor::zeros(&[2, 3]));
    // A loss, with its labels baked in.
    let loss = x.softmax_cross_entropy(&[0, 1]);
    let error = Export::new(&g)
        .input("x", x)
        .output("loss", loss)
        .to_bytes()
        .unwrap_err();
    assert!(
        error.to_string().contains("softmax_cross_entropy"),
        "{error}"
    );
    // An undeclared input.
    let other = g.input(Tensor::zeros(&[2, 3]));
    let error = Export::new(&g)
        .input("x", x)
        .output("y", x + other)
        .to_bytes()
        .unwrap_err();
    assert!(
        matches!(error, ExportError::UndeclaredInput { .. }),
        "{error}"
    );
    // An op only a backward pass records.
    let summed = x.sum_to(&[3]);
    let error = Export::new(&g)
        .input("x", x)
        .output("y", summed)
        .to_bytes()
        .unwrap_err();
    assert!(error.to_string().contains("sum_to"), "{error}");
    // A constant with the traced batch baked in, against the dynamic batch.
    let fixed = g.constant(random(&[2, 3], &mut StdRng::seed_from_u64(0)));
    let error = Export::new(&g)
        .input("x", x)
        .output("y", x + fixed)
        .to_bytes()
        .unwrap_err();
    assert!(matches!(error, ExportError::DynamicShape { .. }), "{error}");
}

/// An embedding lookup of `[batch, seq]` token ids, averaged over the sequence, then a dense
/// head: the lookup (the `index_select` node) and the prediction.
fn embedding_model<'g>(
    g: &'g Graph<f32>,
    params: &ParamStore<f32>,
    (embed, head): (&Embedding, &Dense),
    ids: &[usize],
    [batch, seq]: [usize; 2],
) -> (Var<'g, f32>, Var<'g, f32>) {
    let lookup = embed.lookup(g, params, ids);
    let tokens = lookup.reshape(&[batch, seq, 4]);
    (lookup, head.forward(g, params, tokens.mean_axis(1, false)))
}

#[test]
fn embedding_takes_its_ids_from_the_model_input() {
    let mut rng = StdRng::seed_from_u64(10);
    let mut params = ParamStore::new();
    let layers = (
        &Embedding::new(&mut params, "embed", 10, 4, &mut rng),
        &Dense::new(&mut params, "head", 4, 2, Activation::Tanh, &mut rng),
    );
    let ids = |n: usize, rng: &mut StdRng| -> Vec<usize> {
        (0..n).map(|_| rng.gen_range(0..10)).collect()
    };
    let g = Graph::new();
    let (lookup, prediction) = embedding_model(&g, &params, layers, &ids(6, &mut rng), [2, 3]);
    let bytes = Export::new(&g)
        .params(&params)
        .index_input("ids", lookup, &[2, 3], &[(0, "batch")])
        .output("prediction", prediction)
        .to_bytes()
        .unwrap();
    for batch in [2, 5] {
        let tokens = ids(batch * 3, &mut rng);
        let g = Graph::new();
        let (_, expected) = embedding_model(&g, &params, layers, &tokens, [batch, 3]);
        let as_i64: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let input = tract_onnx::prelude::Tensor::from_shape(&[batch, 3], &as_i64).unwrap();
        let got = run_tract_tensors(&bytes, vec![input]);
        assert_close(
            &format!("embedding: batch {batch}"),
            &expected.value(),
            &got[0],
        );
    }
}

#[test]
fn only_what_the_outputs_need_is_written_with_the_parameters_names() {
    use prost::Message;
    let mut rng = StdRng::seed_from_u64(11);
    let mut params = ParamStore::new();
    let used = Dense::new(&mut params, "used", 3, 2, Activation::Relu, &mut rng);
    let unused = Dense::new(&mut params, "unused", 3, 2, Activation::Relu, &mut rng);
    let g = Graph::new();
    let x = g.input(random(&[2, 3], &mut rng));
    let y = used.forward(&g, &params, x);
    let _ignored = unused.forward(&g, &params, x).exp();
    let bytes = Export::new(&g)
        .params(&params)
        .input("x", x)
        .output("y", y)
        .to_bytes()
        .unwrap();
    let model = chainrule_onnx::proto::ModelProto::decode(&bytes[..]).unwrap();
    assert_eq!(model.opset_import[0].version, Some(chainrule_onnx::OPSET));
    let graph = model.graph.unwrap();
    let names: Vec<&str> = graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    assert!(
        names.contains(&"used.weight") && names.contains(&"used.bias"),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("unused")), "{names:?}");
    let ops: Vec<&str> = graph
        .node
        .iter()
        .filter_map(|n| n.op_type.as_deref())
        .collect();
    assert_eq!(ops, ["MatMul", "Add", "Relu", "Identity"]);
}
