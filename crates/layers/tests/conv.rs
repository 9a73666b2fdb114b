//! The convolutional layers: PyTorch's parameter names, layouts and initial scale; the layer is
//! the op with its own parameters; wrong inputs name the layer.

use chainrule_autodiff::{
    gradcheck, Conv1dOptions, Conv2dOptions, GradcheckOptions, Graph, ParamStore, Pool2dOptions,
    Tensor,
};
use chainrule_layers::{
    Activation, AvgPool2d, Conv1d, Conv2d, Dense, Flatten, MaxPool2d, Module, Sequential, Unflatten,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

#[test]
fn conv2d_has_pytorchs_names_shapes_and_initial_bounds() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut params = ParamStore::<f64>::new();
    let conv = Conv2d::new(
        &mut params,
        "conv1",
        8,
        32,
        3,
        Conv2dOptions::new(),
        &mut rng,
    );
    assert_eq!(params.name(conv.weight()), "conv1.weight");
    assert_eq!(params.name(conv.bias().unwrap()), "conv1.bias");
    let weight = params.value(conv.weight());
    assert_eq!(weight.shape(), &[32, 8, 3, 3]);
    // Kaiming-uniform with a = √5: U(−1/√fan_in, 1/√fan_in), fan_in = 8·3·3 = 72, so the
    // variance is 1/(3·72).
    let bound = 1.0 / 72f64.sqrt();
    assert!(weight.as_slice().iter().all(|w| w.abs() <= bound));
    let variance = weight.square().mean_all().item();
    assert!((variance - 1.0 / 216.0).abs() < 0.15 / 216.0, "{variance}");
    let bias = params.value(conv.bias().unwrap());
    assert!(bias.as_slice().iter().all(|b| b.abs() <= bound));
    assert!(bias.as_slice().iter().any(|&b| b != 0.0));
}

#[test]
fn the_layer_is_the_op_with_its_parameters() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut params = ParamStore::<f64>::new();
    let options = Conv2dOptions::new().stride(2).padding(1).groups(2);
    let conv = Conv2d::new(&mut params, "c", 4, 6, 3, options, &mut rng);
    let x0 = Tensor::rand_normal(&[2, 4, 7, 7], 0.0, 1.0, &mut rng);
    let g = Graph::new();
    let y = conv.forward(&g, &params, g.input(x0.clone())).value();
    let bias = params.value(conv.bias().unwrap());
    let expected = x0.conv2d(params.value(conv.weight()), options) + bias.reshape(&[1, 6, 1, 1]);
    assert_eq!(y.to_vec(), expected.to_vec());
}

#[test]
fn conv1d_is_conv2d_on_one_row() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut params = ParamStore::<f64>::new();
    let options = Conv1dOptions::new().padding(1).dilation(2);
    let conv = Conv1d::new(&mut params, "seq", 3, 5, 3, options, &mut rng);
    let x0 = Tensor::rand_normal(&[2, 3, 9], 0.0, 1.0, &mut rng);
    let g = Graph::new();
    let y = conv.forward(&g, &params, g.input(x0.clone())).value();
    let w = params.value(conv.weight()).reshape(&[5, 3, 1, 3]);
    let image = x0.reshape(&[2, 3, 1, 9]).conv2d(&w, options.to_2d());
    let bias = params.value(conv.bias().unwrap()).reshape(&[1, 5, 1, 1]);
    assert_eq!(y.shape(), &[2, 5, 7]);
    assert_eq!(y.to_vec(), (image + bias).to_vec());
}

#[test]
fn a_small_cnn_gradchecks_end_to_end() {
    // Pixels in, logits out, every layer kind in between: the model's gradient with respect to
    // its input agrees with central differences.
    let mut rng = StdRng::seed_from_u64(2);
    let mut params = ParamStore::<f64>::new();
    let model = Sequential::new()
        .with(Unflatten::new(1, &[2, 6, 6]))
        .with(Conv2d::new(
            &mut params,
            "conv1",
            2,
            3,
            3,
            Conv2dOptions::new().padding(1),
            &mut rng,
        ))
        .with(Activation::Tanh)
        .with(AvgPool2d::new(Pool2dOptions::new(2)))
        .with(Conv2d::new(
            &mut params,
            "conv2",
            3,
            4,
            2,
            Conv2dOptions::new(),
            &mut rng,
        ))
        .with(MaxPool2d::new(Pool2dOptions::new(2)))
        .with(Flatten::default())
        .with(Dense::new(
            &mut params,
            "out",
            4,
            3,
            Activation::Linear,
            &mut rng,
        ));
    let x = Tensor::rand_normal(&[2, 72], 0.0, 1.0, &mut rng);
    let report = gradcheck(
        |g, v| {
            model
                .forward(g, &params, v[0])
                .softmax_cross_entropy(&[0, 2])
        },
        &[x],
        GradcheckOptions::default(),
    );
    assert!(report.passed, "{report}");
}

#[test]
fn a_wrong_input_names_the_layer() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut params = ParamStore::<f32>::new();
    let conv = Conv2d::new(
        &mut params,
        "conv1",
        3,
        8,
        3,
        Conv2dOptions::new(),
        &mut rng,
    );
    let error = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let g = Graph::new();
        conv.forward(&g, &params, g.input(Tensor::zeros(&[1, 1, 8, 8])));
    }))
    .expect_err("one channel where three are expected");
    let message = error.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("Conv2d \"conv1\": expected input [batch, 3, H, W], got [1, 1, 8, 8]"),
        "{message}"
    );
    assert!(message.contains("tests/conv.rs"), "{message}");
}
