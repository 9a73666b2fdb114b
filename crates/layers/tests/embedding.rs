//! `Embedding`: lookups return the table's rows, gradients reach exactly the rows picked (summed
//! for repeats) and match finite differences, and bad ids are named.

mod common;

use chainrule_autodiff::{Graph, ParamStore, Tensor};
use chainrule_layers::{Embedding, Module};
use common::{assert_close, check_params, rng, uneven_weights};

#[test]
fn lookup_returns_the_rows_of_the_table() {
    let mut params = ParamStore::<f64>::new();
    let embed = Embedding::new(&mut params, "embed", 5, 3, &mut rng(51));
    let table = params.value(embed.table()).clone();
    let ids = [4, 0, 4, 2];
    let g = Graph::new();
    let rows = embed.lookup(&g, &params, &ids).value();
    assert_eq!(rows.shape(), &[4, 3]);
    for (i, &id) in ids.iter().enumerate() {
        for j in 0..3 {
            assert_eq!(rows.get(&[i, j]), table.get(&[id, j]));
        }
    }
    let shaped = embed.lookup_shaped(&g, &params, &ids, &[2, 2]).value();
    assert_eq!(shaped.shape(), &[2, 2, 3]);
    assert_eq!(shaped.as_slice(), rows.as_slice());
}

#[test]
fn the_gradient_reaches_the_picked_rows_summed_over_repeats() {
    let mut params = ParamStore::<f64>::new();
    let embed = Embedding::new(&mut params, "embed", 4, 2, &mut rng(52));
    let g = Graph::new();
    let rows = embed.lookup(&g, &params, &[3, 1, 3]);
    let w = uneven_weights(&[3, 2]);
    let loss = (rows * g.constant(w.clone())).sum();
    let grad = params
        .grad(&loss.backward(), embed.table())
        .unwrap()
        .clone();
    let w = w.as_slice();
    let expected = [0.0, 0.0, w[2], w[3], 0.0, 0.0, w[0] + w[4], w[1] + w[5]];
    assert_close(grad.as_slice(), &expected, 1e-15);
}

#[test]
fn gradients_match_finite_differences() {
    let mut params = ParamStore::<f64>::new();
    let embed = Embedding::new(&mut params, "embed", 4, 3, &mut rng(53));
    let ids = [2, 0, 2, 1, 3, 0];
    check_params(&params, &[embed.table()], |g| {
        embed.lookup_shaped(g, &params, &ids, &[2, 3]).tanh()
    })
    .assert_passed();
    check_params(&params, &[embed.table()], |g| {
        let x = g.input(Tensor::from_vec(vec![3.0, 1.0, 1.0, 0.0], &[2, 2]));
        embed.forward(g, &params, x).tanh()
    })
    .assert_passed();
}

#[test]
fn as_a_layer_it_reads_ids_from_the_input() {
    let mut params = ParamStore::<f64>::new();
    let embed = Embedding::new(&mut params, "embed", 6, 2, &mut rng(54));
    let g = Graph::new();
    let x = g.input(Tensor::from_vec(vec![5.0, 0.0, 3.0], &[3, 1]));
    let y = embed.forward(&g, &params, x).value();
    assert_eq!(y.shape(), &[3, 1, 2]);
    let direct = embed.lookup(&g, &params, &[5, 0, 3]).value();
    assert_eq!(y.as_slice(), direct.as_slice());
}

#[test]
#[should_panic(expected = "Embedding \"embed\": id 6 is out of range for a vocabulary of 6")]
fn an_id_out_of_range_is_named() {
    let mut params = ParamStore::<f64>::new();
    let embed = Embedding::new(&mut params, "embed", 6, 2, &mut rng(0));
    let g = Graph::new();
    embed.lookup(&g, &params, &[0, 6]);
}

#[test]
#[should_panic(expected = "Embedding \"embed\": expected token ids (whole numbers ≥ 0), got 1.5")]
fn a_fractional_id_is_named() {
    let mut params = ParamStore::<f64>::new();
    let embed = Embedding::new(&mut params, "embed", 6, 2, &mut rng(0));
    let g = Graph::new();
    embed.forward(&g, &params, g.input(Tensor::from_vec(vec![1.5], &[1])));
}
