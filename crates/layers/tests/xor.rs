//! A 2-layer MLP learns XOR with plain gradient descent written here (no optimizer crate): the
//! layers, the loss and the engine's backward pass together are enough to train.

use chainrule_autodiff::{Graph, ParamStore, Tensor};
use chainrule_layers::{binary_log_loss, Activation, Dense, Module, Sequential};
use rand::SeedableRng;

#[test]
fn a_two_layer_mlp_learns_xor() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2024);
    let mut params = ParamStore::<f64>::new();
    let model = Sequential::new()
        .with(Dense::new(
            &mut params,
            "hidden",
            2,
            8,
            Activation::Tanh,
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
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]);
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4, 1]);
    let learning_rate = 0.5;

    let mut loss = f64::INFINITY;
    for _ in 0..2000 {
        let grads = {
            let g = Graph::new();
            let logits = model.forward(&g, &params, g.input(x.clone()));
            let step_loss = binary_log_loss(logits, g.input(y.clone()));
            loss = step_loss.item();
            params.collect_grads(&step_loss.backward())
        };
        for (id, grad) in grads.iter() {
            let update = grad.mul_scalar(learning_rate);
            for (w, dw) in params
                .value_mut(id)
                .data_mut()
                .iter_mut()
                .zip(update.as_slice())
            {
                *w -= dw;
            }
        }
    }
    assert!(loss < 0.05, "loss after training: {loss}");

    let g = Graph::new();
    let p = model.forward(&g, &params, g.input(x)).sigmoid().value();
    let predicted: Vec<f64> = p.as_slice().iter().map(|v| v.round()).collect();
    assert_eq!(predicted, y.to_vec());
}
