//! Convolution and pooling: first- and second-order gradchecks over random geometries (batch,
//! channels, sizes, kernel, stride, padding, dilation, groups), small cases worked out by hand,
//! and the shape errors.

mod common;

use chainrule_autodiff::{Conv1dOptions, Conv2dOptions, Graph, Pool2dOptions, Tensor};
use common::{all_distinct, check, check_second_order, config, tensor};
use proptest::prelude::*;

/// A random convolution: input shape, weight shape and options, with the kernel always fitting
/// the padded input (it may also fit only barely, or be larger than the unpadded input).
fn conv_case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Conv2dOptions)> {
    (
        (1usize..=2, 1usize..=2, 1usize..=2, 1usize..=2),
        prop::array::uniform2((1usize..=3, 1usize..=2, 1usize..=2, 0usize..=2, 0usize..=3)),
    )
        .prop_map(|((batch, groups, group_in, group_out), axes)| {
            let mut input = vec![batch, groups * group_in];
            let mut weight = vec![groups * group_out, group_in];
            let mut options = Conv2dOptions::new().groups(groups);
            let mut kernel = vec![];
            for (axis, (k, stride, dilation, padding, extra)) in axes.into_iter().enumerate() {
                let span = dilation * (k - 1) + 1;
                input.push(span.saturating_sub(2 * padding).max(1) + extra);
                kernel.push(k);
                options.stride[axis] = stride;
                options.dilation[axis] = dilation;
                options.padding[axis] = padding;
            }
            weight.extend(kernel);
            (input, weight, options)
        })
}

/// A random pooling: input shape and window.
fn pool_case() -> impl Strategy<Value = (Vec<usize>, Pool2dOptions)> {
    (
        (1usize..=2, 1usize..=2),
        prop::array::uniform2((1usize..=3, 1usize..=3, 0usize..=1, 0usize..=3)),
    )
        .prop_map(|((batch, channels), axes)| {
            let mut input = vec![batch, channels];
            let mut options = Pool2dOptions::new(1);
            for (axis, (k, stride, padding, extra)) in axes.into_iter().enumerate() {
                let padding = padding.min(k / 2);
                input.push(k.saturating_sub(2 * padding).max(1) + extra);
                options.kernel[axis] = k;
                options.stride[axis] = stride;
                options.padding[axis] = padding;
            }
            (input, options)
        })
}

fn with_values<S: Strategy<Value = (Vec<usize>, Vec<usize>, Conv2dOptions)>>(
    cases: S,
) -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>, Tensor<f64>, Conv2dOptions)> {
    cases.prop_flat_map(|(xs, ws, options)| {
        let out_channels = ws[0];
        (
            tensor(xs),
            tensor(ws),
            tensor(vec![out_channels]),
            Just(options),
        )
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conv2d_gradcheck((x, w, b, options) in with_values(conv_case())) {
        let report = check(&[x, w, b], |_, v| v[0].conv2d(v[1], Some(v[2]), options));
        prop_assert!(report.passed, "{report}");
    }

    #[test]
    fn conv2d_second_order((x, w, b, options) in with_values(conv_case())) {
        // The tanh makes the upstream gradient depend on the input, so the second-order graph
        // runs the rules of the transposed convolution and the weight gradient in both inputs.
        let report = check_second_order(&[x, w, b], |_, v| {
            v[0].conv2d(v[1], Some(v[2]), options).tanh()
        });
        prop_assert!(report.passed, "{report}");
    }

    #[test]
    fn conv_transpose2d_gradcheck((x, w, _b, options) in with_values(conv_case())) {
        // Transposing the random convolution: its output shape is this op's input.
        let g = x.conv2d(&w, options);
        let channels = x.shape()[1];
        let bias = Tensor::from_vec((0..channels).map(|c| c as f64 * 0.1).collect(), &[channels]);
        let size = [x.shape()[2], x.shape()[3]];
        let output_padding = [0, 1].map(|axis| {
            let natural = (g.shape()[2 + axis] - 1) * options.stride[axis]
                + options.dilation[axis] * (w.shape()[2 + axis] - 1)
                + 1
                - 2 * options.padding[axis];
            size[axis] - natural
        });
        let options = Conv2dOptions { output_padding, ..options };
        let report = check(&[g.clone(), w.clone(), bias.clone()], |_, v| {
            v[0].conv_transpose2d(v[1], Some(v[2]), options)
        });
        prop_assert!(report.passed, "{report}");
        let report = check_second_order(&[g, w, bias], |_, v| {
            v[0].conv_transpose2d(v[1], Some(v[2]), options).tanh()
        });
        prop_assert!(report.passed, "{report}");
    }

    #[test]
    fn conv2d_weight_gradcheck((x, w, _b, options) in with_values(conv_case())) {
        let grad = x.conv2d(&w, options).map(|v| v.sin());
        let kernel = [w.shape()[2], w.shape()[3]];
        let report = check(&[x.clone(), grad.clone()], |_, v| {
            v[0].conv2d_weight(v[1], options, kernel)
        });
        prop_assert!(report.passed, "{report}");
        let report = check_second_order(&[x, grad], |_, v| {
            v[0].conv2d_weight(v[1], options, kernel).tanh()
        });
        prop_assert!(report.passed, "{report}");
    }

    #[test]
    fn conv1d_gradcheck(
        (x, w, b, options) in with_values(conv_case().prop_map(|(mut xs, mut ws, o)| {
            // Keep the width axis only: a sequence.
            xs.remove(2);
            ws.remove(2);
            let options = Conv1dOptions {
                stride: o.stride[1],
                padding: o.padding[1],
                dilation: o.dilation[1],
                groups: o.groups,
            };
            (xs, ws, options.to_2d())
        }))
    ) {
        let o = Conv1dOptions {
            stride: options.stride[1],
            padding: options.padding[1],
            dilation: options.dilation[1],
            groups: options.groups,
        };
        let report = check(&[x.clone(), w.clone(), b.clone()], |_, v| v[0].conv1d(v[1], Some(v[2]), o));
        prop_assert!(report.passed, "{report}");
        let report = check_second_order(&[x, w, b], |_, v| v[0].conv1d(v[1], Some(v[2]), o).tanh());
        prop_assert!(report.passed, "{report}");
    }

    #[test]
    fn max_pool2d_gradcheck(
        (x, options) in pool_case().prop_flat_map(|(xs, o)| (tensor(xs), Just(o)))
    ) {
        // Ties and near-ties are kinks: keep the values apart.
        prop_assume!(all_distinct(x.as_slice(), 1e-3));
        let report = check(std::slice::from_ref(&x), |_, v| v[0].max_pool2d(options));
        prop_assert!(report.passed, "{report}");
        // Squared, so the gradient (a scatter of 2·y·w) depends on x and its rule is checked.
        let report = check_second_order(&[x], |_, v| v[0].max_pool2d(options).square());
        prop_assert!(report.passed, "{report}");
    }

    #[test]
    fn avg_pool2d_gradcheck(
        (x, options) in pool_case().prop_flat_map(|(xs, o)| (tensor(xs), Just(o)))
    ) {
        let report = check(std::slice::from_ref(&x), |_, v| v[0].avg_pool2d(options));
        prop_assert!(report.passed, "{report}");
        let report = check_second_order(&[x], |_, v| v[0].avg_pool2d(options).square());
        prop_assert!(report.passed, "{report}");
    }
}

fn image(values: &[f64], h: usize, w: usize) -> Tensor<f64> {
    Tensor::from_vec(values.to_vec(), &[1, 1, h, w])
}

#[test]
fn an_all_ones_kernel_sums_each_patch() {
    let g = Graph::new();
    // 1 2 3
    // 4 5 6
    // 7 8 9, padded by one: each output is the sum of the 3×3 neighbourhood that exists.
    let x = g.input(image(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], 3, 3));
    let w = g.param(Tensor::ones(&[1, 1, 3, 3]));
    let y = x.conv2d(w, None, Conv2dOptions::new().padding(1));
    let expected = [
        1. + 2. + 4. + 5.,
        1. + 2. + 3. + 4. + 5. + 6.,
        2. + 3. + 5. + 6.,
        1. + 2. + 4. + 5. + 7. + 8.,
        45.,
        2. + 3. + 5. + 6. + 8. + 9.,
        4. + 5. + 7. + 8.,
        4. + 5. + 6. + 7. + 8. + 9.,
        5. + 6. + 8. + 9.,
    ];
    assert_eq!(y.value().to_vec(), expected);
    // ∂(Σy)/∂w[i][j]: the sum of the inputs that tap (i, j) sees over all outputs. The centre
    // tap sees every input (45); the top-left tap reaches up and to the left, so it only ever
    // sees the top-left block 1 2 4 5; the bottom-right tap the block 5 6 8 9.
    let dw = y.sum().backward()[w].to_vec();
    assert_eq!(dw[4], 45.0);
    assert_eq!(dw[0], 1. + 2. + 4. + 5.);
    assert_eq!(dw[8], 5. + 6. + 8. + 9.);
}

#[test]
fn an_identity_kernel_copies_the_image_and_its_gradient() {
    let g = Graph::new();
    let values: Vec<f64> = (0..20).map(|i| i as f64 * 0.5 - 3.0).collect();
    let x = g.param(image(&values, 4, 5));
    let mut centre = vec![0.0; 9];
    centre[4] = 1.0;
    let w = g.input(Tensor::from_vec(centre, &[1, 1, 3, 3]));
    let y = x.conv2d(w, None, Conv2dOptions::new().padding(1));
    assert_eq!(y.value().to_vec(), values);
    let weights: Vec<f64> = (0..20).map(|i| i as f64).collect();
    let loss = (y * g.constant(image(&weights, 4, 5))).sum();
    assert_eq!(loss.backward()[x].to_vec(), weights);
}

#[test]
fn the_bias_is_part_of_the_convolution_node_and_adds_exactly() {
    // conv2d(x, w, b) is one node with three inputs, as in PyTorch; its value and gradients are
    // those of the convolution plus a broadcast bias, to the last bit.
    let x = Tensor::from_vec(
        (0..2 * 2 * 5 * 4)
            .map(|i| (i as f32 * 0.37).sin())
            .collect(),
        &[2, 2, 5, 4],
    );
    let w = Tensor::from_vec(
        (0..3 * 2 * 3 * 3)
            .map(|i| (i as f32 * 0.91).cos())
            .collect(),
        &[3, 2, 3, 3],
    );
    let b = Tensor::from_vec(vec![0.25f32, -1.5, 3.0], &[3]);
    let options = Conv2dOptions::new().padding(1).stride(2);
    let run = |fused: bool| {
        let g = Graph::new();
        let (xv, wv, bv) = (g.param(x.clone()), g.param(w.clone()), g.param(b.clone()));
        let before = g.len();
        let y = if fused {
            xv.conv2d(wv, Some(bv), options)
        } else {
            xv.conv2d(wv, None, options) + bv.reshape(&[1, 3, 1, 1])
        };
        let nodes = g.len() - before;
        let loss = (y * y).sum();
        let grads = loss.backward();
        let values = [
            y.value(),
            grads[xv].clone(),
            grads[wv].clone(),
            grads[bv].clone(),
        ];
        (nodes, values.map(|t| t.to_vec()))
    };
    let (fused_nodes, fused) = run(true);
    let (_, separate) = run(false);
    assert_eq!(fused_nodes, 1, "conv2d with a bias records one node");
    for (name, (a, b)) in ["y", "∂x", "∂w", "∂b"]
        .iter()
        .zip(fused.iter().zip(&separate))
    {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b), "{name}");
    }
}

#[test]
fn a_stride_two_pool_takes_each_block() {
    let g = Graph::new();
    //  1  5 |  2  0
    //  3 -1 |  8  7
    //  -----+------
    //  0  0 | -4 -2
    //  9  0 | -3 -6
    let x = g.param(image(
        &[
            1., 5., 2., 0., 3., -1., 8., 7., 0., 0., -4., -2., 9., 0., -3., -6.,
        ],
        4,
        4,
    ));
    let max = x.max_pool2d(Pool2dOptions::new(2));
    assert_eq!(max.value().to_vec(), vec![5., 8., 9., -2.]);
    let avg = x.avg_pool2d(Pool2dOptions::new(2));
    assert_eq!(avg.value().to_vec(), vec![2., 17. / 4., 9. / 4., -15. / 4.]);
    let grads = (max * g.constant(Tensor::from_vec(vec![1., 2., 3., 4.], &[1, 1, 2, 2])))
        .sum()
        .backward();
    assert_eq!(
        grads[x].to_vec(),
        vec![0., 1., 0., 0., 0., 0., 2., 0., 0., 0., 0., 4., 3., 0., 0., 0.]
    );
}

#[test]
fn a_tie_in_max_pool_sends_the_gradient_to_the_first() {
    let g = Graph::new();
    let x = g.param(image(&[7., 7., 7., 7.], 2, 2));
    let grads = x.max_pool2d(Pool2dOptions::new(2)).sum().backward();
    assert_eq!(grads[x].to_vec(), vec![1., 0., 0., 0.]);
}

/// The panic message of `f`.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let error = std::panic::catch_unwind(f).expect_err("should panic");
    error
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| error.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_kernel_larger_than_the_padded_input_names_both_shapes_and_the_line() {
    let message = panic_message(|| {
        let g = Graph::new();
        let x = g.input(Tensor::<f64>::ones(&[2, 3, 4, 4]));
        let w = g.param(Tensor::ones(&[5, 3, 7, 7]));
        x.conv2d(w, None, Conv2dOptions::new().padding(1));
    });
    assert!(message.contains("conv2d"), "{message}");
    assert!(message.contains("kernel 7×7"), "{message}");
    assert!(message.contains("padded input 6×6"), "{message}");
    assert!(message.contains("input shape [2, 3, 4, 4]"), "{message}");
    assert!(message.contains("weight shape [5, 3, 7, 7]"), "{message}");
    assert!(message.contains("tests/conv.rs"), "{message}");
}

#[test]
fn shape_errors_name_the_op_and_both_shapes() {
    let cases: Vec<(String, &str)> = vec![
        (
            panic_message(|| {
                let g = Graph::new();
                let x = g.input(Tensor::<f64>::ones(&[1, 4, 5, 5]));
                let w = g.param(Tensor::ones(&[2, 3, 3, 3]));
                x.conv2d(w, None, Conv2dOptions::new());
            }),
            "conv2d: the input has 4 channels, but the weight expects 3 per group × 1 groups (input shape [1, 4, 5, 5], weight shape [2, 3, 3, 3])",
        ),
        (
            panic_message(|| {
                let g = Graph::new();
                let x = g.input(Tensor::<f64>::ones(&[4, 5, 5]));
                let w = g.param(Tensor::ones(&[2, 4, 3, 3]));
                x.conv2d(w, None, Conv2dOptions::new());
            }),
            "conv2d: the input must be 4-D [N, C, H, W] (input shape [4, 5, 5], weight shape [2, 4, 3, 3])",
        ),
        (
            panic_message(|| {
                let g = Graph::new();
                let x = g.input(Tensor::<f64>::ones(&[1, 4, 5, 5]));
                let w = g.param(Tensor::ones(&[3, 2, 3, 3]));
                x.conv2d(w, None, Conv2dOptions::new().groups(2));
            }),
            "conv2d: 3 output channels do not split into 2 groups",
        ),
        (
            panic_message(|| {
                let g = Graph::new();
                let x = g.input(Tensor::<f64>::ones(&[1, 1, 5, 5]));
                let w = g.param(Tensor::ones(&[2, 1, 3, 3]));
                let b = g.param(Tensor::ones(&[3]));
                x.conv2d(w, Some(b), Conv2dOptions::new());
            }),
            "conv2d: the bias has shape [3], but the output [1, 2, 3, 3] has 2 channels",
        ),
        (
            panic_message(|| {
                let g = Graph::new();
                let x = g.input(Tensor::<f64>::ones(&[1, 1, 5]));
                let w = g.param(Tensor::ones(&[2, 1, 3]));
                let b = g.param(Tensor::ones(&[3]));
                x.conv1d(w, Some(b), Conv1dOptions::new());
            }),
            "conv1d: the bias has shape [3], but the weight [2, 1, 3] has 2 output channels",
        ),
        (
            panic_message(|| {
                let g = Graph::new();
                let x = g.input(Tensor::<f64>::ones(&[1, 1, 4, 4]));
                x.max_pool2d(Pool2dOptions::new(2).padding(2));
            }),
            "max_pool2d: padding [2, 2] is more than half the kernel [2, 2] (input shape [1, 1, 4, 4])",
        ),
        (
            panic_message(|| {
                let g = Graph::new();
                let x = g.input(Tensor::<f64>::ones(&[1, 1, 2, 2]));
                x.avg_pool2d(Pool2dOptions::new(3));
            }),
            "avg_pool2d: the window 3×3 is larger than the padded input 2×2 (input shape [1, 1, 2, 2])",
        ),
    ];
    for (message, expected) in cases {
        assert!(
            message.contains(expected),
            "{message}\nexpected: {expected}"
        );
        assert!(message.contains("tests/conv.rs"), "{message}");
    }
}

#[test]
fn f32_matches_f64() {
    let x64 = Tensor::from_vec(
        (0..2 * 3 * 6 * 6).map(|i| (i as f64 * 0.3).sin()).collect(),
        &[2, 3, 6, 6],
    );
    let w64 = Tensor::from_vec(
        (0..4 * 3 * 3 * 3).map(|i| (i as f64 * 0.7).cos()).collect(),
        &[4, 3, 3, 3],
    );
    let o = Conv2dOptions::new().padding(1).stride(2);
    let y64 = x64.conv2d(&w64, o);
    let y32 = x64.cast::<f32>().conv2d(&w64.cast::<f32>(), o);
    for (a, b) in y64.as_slice().iter().zip(y32.as_slice()) {
        assert!((a - f64::from(*b)).abs() < 1e-4, "{a} vs {b}");
    }
}
