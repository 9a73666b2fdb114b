//! Recurrent layers: one step against the equations computed by hand on plain arrays, the
//! unrolled layer against explicit steps, gradients (backpropagation through time) against
//! finite differences, and the shape errors.

mod common;

use chainrule_autodiff::{Graph, ParamStore, Tensor, Var};
use chainrule_layers::{Lstm, LstmCell, LstmState, Module, Rnn, RnnCell};
use common::{assert_close, check_input, check_module, check_params, random, rng};

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// `(x·A)[i][j]` for a row-major `[rows, cols]` tensor `a`, over a plain `[batch][inputs]` array.
fn row_times(x: &[f64], a: &Tensor<f64>, j: usize) -> f64 {
    x.iter()
        .enumerate()
        .map(|(k, xk)| xk * a.get(&[k, j]))
        .sum()
}

#[test]
fn lstm_step_equals_the_gate_equations_by_hand() {
    let (batch, inputs, hidden) = (2, 3, 4);
    let mut rng = rng(11);
    let mut params = ParamStore::new();
    let cell = LstmCell::new(&mut params, "lstm", inputs, hidden, &mut rng);
    params.set_value(cell.bias(), random(&[4 * hidden], &mut rng));
    let x = random(&[batch, inputs], &mut rng);
    let h = random(&[batch, hidden], &mut rng);
    let c = random(&[batch, hidden], &mut rng);

    let g = Graph::new();
    let state = LstmState {
        h: g.input(h.clone()),
        c: g.input(c.clone()),
    };
    let next = cell.step(&g, &params, g.input(x.clone()), state);
    let (h_out, c_out) = (next.h.value(), next.c.value());

    let w_x = params.value(cell.input_weight());
    let w_h = params.value(cell.hidden_weight());
    let b = params.value(cell.bias());
    for i in 0..batch {
        let x_row: Vec<f64> = (0..inputs).map(|k| x.get(&[i, k])).collect();
        let h_row: Vec<f64> = (0..hidden).map(|k| h.get(&[i, k])).collect();
        // Pre-activation of gate `gate` (0 input, 1 forget, 2 candidate, 3 output), unit `j`.
        let z = |gate: usize, j: usize| {
            let col = gate * hidden + j;
            row_times(&x_row, w_x, col) + row_times(&h_row, w_h, col) + b.get(&[col])
        };
        for j in 0..hidden {
            let input_gate = sigmoid(z(0, j));
            let forget_gate = sigmoid(z(1, j));
            let candidate = z(2, j).tanh();
            let output_gate = sigmoid(z(3, j));
            let c_new = forget_gate * c.get(&[i, j]) + input_gate * candidate;
            let h_new = output_gate * c_new.tanh();
            assert_close(&[c_out.get(&[i, j])], &[c_new], 1e-12);
            assert_close(&[h_out.get(&[i, j])], &[h_new], 1e-12);
        }
    }
}

#[test]
fn lstm_forget_gate_bias_starts_at_one() {
    let mut params = ParamStore::<f64>::new();
    let cell = LstmCell::new(&mut params, "lstm", 2, 3, &mut rng(0));
    let bias = params.value(cell.bias()).to_vec();
    assert_eq!(&bias[0..3], &[0.0; 3]);
    assert_eq!(&bias[3..6], &[1.0; 3]);
    assert_eq!(&bias[6..12], &[0.0; 6]);
}

#[test]
fn rnn_step_equals_the_equation_by_hand() {
    let (batch, inputs, hidden) = (2, 3, 4);
    let mut rng = rng(12);
    let mut params = ParamStore::new();
    let cell = RnnCell::new(&mut params, "rnn", inputs, hidden, &mut rng);
    params.set_value(cell.bias(), random(&[hidden], &mut rng));
    let x = random(&[batch, inputs], &mut rng);
    let h = random(&[batch, hidden], &mut rng);

    let g = Graph::new();
    let out = cell
        .step(&g, &params, g.input(x.clone()), g.input(h.clone()))
        .value();
    let (w_x, w_h, b) = (
        params.value(cell.input_weight()),
        params.value(cell.hidden_weight()),
        params.value(cell.bias()),
    );
    for i in 0..batch {
        let x_row: Vec<f64> = (0..inputs).map(|k| x.get(&[i, k])).collect();
        let h_row: Vec<f64> = (0..hidden).map(|k| h.get(&[i, k])).collect();
        for j in 0..hidden {
            let expected =
                (row_times(&x_row, w_x, j) + row_times(&h_row, w_h, j) + b.get(&[j])).tanh();
            assert_close(&[out.get(&[i, j])], &[expected], 1e-12);
        }
    }
}

#[test]
fn unrolled_layers_equal_explicit_steps_from_zero() {
    let (batch, seq, inputs, hidden) = (2, 3, 2, 3);
    let mut rng = rng(13);
    let mut params = ParamStore::new();
    let rnn = Rnn::new(&mut params, "rnn", inputs, hidden, &mut rng);
    let lstm = Lstm::new(&mut params, "lstm", inputs, hidden, &mut rng);
    let x = random(&[batch, seq, inputs], &mut rng);

    let g = Graph::new();
    let xs = g.input(x.clone());
    let step = |t: usize| g.input(x.narrow(1, t, 1).reshape(&[batch, inputs]));

    let rnn_out = rnn.forward(&g, &params, xs).value();
    assert_eq!(rnn_out.shape(), &[batch, seq, hidden]);
    let mut h = g.input(Tensor::zeros(&[batch, hidden]));
    for t in 0..seq {
        h = rnn.cell().step(&g, &params, step(t), h);
        let slice = rnn_out.narrow(1, t, 1);
        assert_close(slice.as_slice(), h.value().as_slice(), 1e-12);
    }
    let last = rnn.last_hidden(&g, &params, xs).value();
    assert_close(last.as_slice(), h.value().as_slice(), 1e-12);

    let lstm_out = lstm.forward(&g, &params, xs).value();
    assert_eq!(lstm_out.shape(), &[batch, seq, hidden]);
    let mut state = lstm.cell().zero_state(&g, batch);
    for t in 0..seq {
        state = lstm.cell().step(&g, &params, step(t), state);
        let slice = lstm_out.narrow(1, t, 1);
        assert_close(slice.as_slice(), state.h.value().as_slice(), 1e-12);
    }
    let last = lstm.last_hidden(&g, &params, xs).value();
    assert_close(last.as_slice(), state.h.value().as_slice(), 1e-12);
}

#[test]
fn rnn_cell_gradients_match_finite_differences() {
    let mut rng = rng(14);
    let mut params = ParamStore::new();
    let cell = RnnCell::new(&mut params, "rnn", 3, 2, &mut rng);
    params.set_value(cell.bias(), random(&[2], &mut rng));
    let x = random(&[2, 3], &mut rng);
    let h = random(&[2, 2], &mut rng);
    check_input(x.clone(), |g, x| {
        cell.step(g, &params, x, g.input(h.clone()))
    })
    .assert_passed();
    check_input(h.clone(), |g, h| {
        cell.step(g, &params, g.input(x.clone()), h)
    })
    .assert_passed();
    let ids: Vec<_> = params.ids().collect();
    check_params(&params, &ids, |g| {
        cell.step(g, &params, g.input(x.clone()), g.input(h.clone()))
    })
    .assert_passed();
}

/// Both outputs of a step side by side, so the cell state's gradient is checked too.
fn both(state: LstmState<'_, f64>) -> Var<'_, f64> {
    Var::concat(&[state.h, state.c], 1)
}

#[test]
fn lstm_cell_gradients_match_finite_differences() {
    let mut rng = rng(15);
    let mut params = ParamStore::new();
    let cell = LstmCell::new(&mut params, "lstm", 3, 2, &mut rng);
    params.set_value(cell.bias(), random(&[8], &mut rng));
    let x = random(&[2, 3], &mut rng);
    let h = random(&[2, 2], &mut rng);
    let c = random(&[2, 2], &mut rng);
    check_input(c.clone(), |g, c| {
        let state = LstmState {
            h: g.input(h.clone()),
            c,
        };
        both(cell.step(g, &params, g.input(x.clone()), state))
    })
    .assert_passed();
    check_input(h.clone(), |g, h| {
        let state = LstmState {
            h,
            c: g.input(c.clone()),
        };
        both(cell.step(g, &params, g.input(x.clone()), state))
    })
    .assert_passed();
    let ids: Vec<_> = params.ids().collect();
    check_params(&params, &ids, |g| {
        let state = LstmState {
            h: g.input(h.clone()),
            c: g.input(c.clone()),
        };
        both(cell.step(g, &params, g.input(x.clone()), state))
    })
    .assert_passed();
}

#[test]
fn rnn_backpropagation_through_time_matches_finite_differences() {
    let mut rng = rng(16);
    let mut params = ParamStore::new();
    let rnn = Rnn::new(&mut params, "rnn", 2, 3, &mut rng);
    let x = random(&[2, 4, 2], &mut rng);
    check_module(&rnn, &params, &x);
    check_input(x.clone(), |g, x| rnn.last_hidden(g, &params, x)).assert_passed();
}

#[test]
fn lstm_backpropagation_through_time_matches_finite_differences() {
    let mut rng = rng(17);
    let mut params = ParamStore::new();
    let lstm = Lstm::new(&mut params, "lstm", 2, 3, &mut rng);
    let x = random(&[2, 4, 2], &mut rng);
    check_module(&lstm, &params, &x);
    let ids: Vec<_> = params.ids().collect();
    check_params(&params, &ids, |g| {
        lstm.last_hidden(g, &params, g.input(x.clone()))
    })
    .assert_passed();
}

#[test]
#[should_panic(expected = "Lstm \"lstm\": expected a sequence [batch, seq ≥ 1, 2], got [4, 2]")]
fn lstm_rejects_a_matrix_input() {
    let mut params = ParamStore::<f64>::new();
    let lstm = Lstm::new(&mut params, "lstm", 2, 3, &mut rng(0));
    let g = Graph::new();
    lstm.forward(&g, &params, g.input(Tensor::zeros(&[4, 2])));
}

#[test]
#[should_panic(expected = "RnnCell \"rnn\": expected hidden state h of shape [2, 3], got [2, 4]")]
fn rnn_cell_names_a_wrong_state_shape() {
    let mut params = ParamStore::<f64>::new();
    let cell = RnnCell::new(&mut params, "rnn", 2, 3, &mut rng(0));
    let g = Graph::new();
    let x = g.input(Tensor::zeros(&[2, 2]));
    cell.step(&g, &params, x, g.input(Tensor::zeros(&[2, 4])));
}
