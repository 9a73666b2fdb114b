//! The LSTM cell's pointwise part as one fused op: [`FusedLstmCell`], a user-defined op
//! ([`CustomOp`]) of the engine, and [`lstm_cell`], the function [`LstmCell`](super::LstmCell)
//! calls at every step.
//!
//! It lives here, not in the engine, because a fused kernel that serves one layer is a
//! user-defined op of that layer: the engine keeps its vocabulary of general primitives, and
//! the layer brings the kernel it wants through the same door any user has. Nothing is lost by
//! that: the op keeps the speed it had as a built-in — the forward computes every gate and both
//! states in one pass over memory instead of a dozen kernels and their intermediate tensors,
//! and the backward reads the saved gates from the op's output instead of recomputing any
//! exponential, again in one pass. Its rule is also written with `Var` ops
//! ([`CustomOp::backward_graph`]), so gradients through the cell can be differentiated again.

use std::ops::Range;

use chainrule_autodiff::{CustomOp, Float, Tensor, Var};

/// The blocks of the fused LSTM cell's output `[batch, 8, hidden]`, in order along axis 1:
/// the four gate activations, the new cell state, its tanh, the new hidden state, and the
/// previous cell state (kept so that the backward rule reads everything from the output).
pub mod lstm_block {
    /// The input gate `i = σ(z_i)`.
    pub const INPUT: usize = 0;
    /// The forget gate `f = σ(z_f)`.
    pub const FORGET: usize = 1;
    /// The cell candidate `g = tanh(z_g)`.
    pub const CANDIDATE: usize = 2;
    /// The output gate `o = σ(z_o)`.
    pub const OUTPUT: usize = 3;
    /// The new cell state `c' = f·c + i·g`.
    pub const CELL: usize = 4;
    /// `tanh c'`.
    pub const CELL_TANH: usize = 5;
    /// The new hidden state `h' = o·tanh c'`.
    pub const HIDDEN: usize = 6;
    /// The previous cell state `c`, as it came in.
    pub const CELL_PREV: usize = 7;
    /// The number of blocks.
    pub const COUNT: usize = 8;
}

use lstm_block::*;

/// One LSTM step's pointwise part, fused into one user-defined op (see the module docs).
///
/// Four inputs: the gate pre-activations from the input and from the hidden state, `zx` and
/// `zh` (`[batch, 4·hidden]` each, gates in the order input, forget, cell candidate, output),
/// the bias `[4·hidden]` and the previous cell state `c` `[batch, hidden]`. The output
/// `[batch, 8, hidden]` holds, along axis 1, the blocks of [`lstm_block`]: the gates
/// `i, f, g, o`, the new cell state `c'`, `tanh c'`, the new hidden state `h'` and `c` —
/// everything the backward rule needs, so it recomputes no exponential.
///
/// [`lstm_cell`] records it and returns `(h', c')`; use the op directly (with
/// [`Var::custom`]) to read the gates.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor, Var};
/// use chainrule_layers::recurrent::lstm_cell_op::{lstm_block, FusedLstmCell};
/// let g = Graph::new();
/// let zx = g.input(Tensor::from_vec(vec![0.0f64, 0.0, 0.0, 0.0], &[1, 4]));
/// let zh = g.input(Tensor::zeros(&[1, 4]));
/// let b = g.param(Tensor::zeros(&[4]));
/// let c = g.input(Tensor::from_vec(vec![1.0], &[1, 1]));
/// let blocks = Var::custom(FusedLstmCell, &[zx, zh, b, c]);
/// assert_eq!(blocks.op().name(), "lstm_cell");
/// assert_eq!(blocks.shape().as_slice(), &[1, lstm_block::COUNT, 1]);
/// assert_eq!(blocks.value().get(&[0, lstm_block::FORGET, 0]), 0.5); // σ(0)
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FusedLstmCell;

impl<T: Float> CustomOp<T> for FusedLstmCell {
    fn name(&self) -> &'static str {
        "lstm_cell"
    }

    fn formula(&self) -> &'static str {
        "∂c = G_c + (G_tanh c + G_h·o)(1 − tanh² c), ∂z = (G_gate + [∂c·g, ∂c·c_prev, \
         ∂c·i, G_h·tanh c]) ⊙ [i(1−i), f(1−f), 1−g², o(1−o)], ∂c_prev = ∂c·f + G_c_prev"
    }

    #[track_caller]
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let &[zx, zh, bias, c_prev] = inputs else {
            panic!(
                "lstm_cell: takes four inputs (zx, zh, bias, cell state), got {}",
                inputs.len()
            )
        };
        if let Err(message) = check_shapes(zx.shape(), zh.shape(), bias.shape(), c_prev.shape()) {
            panic!("{message}");
        }
        forward_kernel(zx, zh, bias, c_prev)
    }

    fn backward(
        &self,
        inputs: &[&Tensor<T>],
        output: &Tensor<T>,
        grad: &Tensor<T>,
        wants: &[bool],
    ) -> Vec<Option<Tensor<T>>> {
        if !wants.iter().any(|&w| w) {
            return vec![None; inputs.len()];
        }
        let (dz, d_cell_prev) = backward_kernel(output, grad);
        let d_bias = wants[2].then(|| dz.sum_axis(0, false));
        vec![
            wants[0].then(|| dz.clone()),
            wants[1].then(|| dz.clone()),
            d_bias,
            wants[3].then_some(d_cell_prev),
        ]
    }

    fn backward_graph<'g>(
        &self,
        inputs: &[Var<'g, T>],
        output: Var<'g, T>,
        grad: Var<'g, T>,
        wants: &[bool],
    ) -> Option<Vec<Option<Var<'g, T>>>> {
        if !wants.iter().any(|&w| w) {
            return Some(vec![None; inputs.len()]);
        }
        let shape = output.shape();
        let (batch, hidden) = (shape[0], shape[2]);
        let (dz, d_cell_prev) = backward_composed(output, grad);
        Some(vec![
            wants[0].then_some(dz),
            wants[1].then_some(dz),
            wants[2].then(|| dz.sum_to(&inputs[2].shape())),
            wants[3].then(|| d_cell_prev.reshape(&[batch, hidden])),
        ])
    }
}

/// One step of an LSTM cell after its two matrix products, fused into one op: `zx` is `x·W_x`
/// and `zh` is `h·W_h` (`[batch, 4·hidden]` each, gates in the order input, forget, cell
/// candidate, output), `bias` is `[4·hidden]` and `cell` the previous cell state
/// `[batch, hidden]`. With `z = zx + zh + bias`,
///
/// ```text
/// i, f, o = σ(z_i), σ(z_f), σ(z_o)    g = tanh(z_g)
/// c' = f·c + i·g                        h' = o·tanh(c')
/// ```
///
/// returns `(h', c')`. One kernel computes every gate, and the backward rule reads the saved
/// gates instead of recomputing them:
///
/// ```text
/// ∂tanh c' = G_tanh c' + G_h'·o
/// ∂c'      = G_c' + ∂tanh c'·(1 − tanh² c')
/// ∂z       = ([∂c'·g, ∂c'·c, ∂c'·i, G_h'·tanh c']) ⊙ [i(1−i), f(1−f), 1−g², o(1−o)]
/// ∂zx = ∂zh = ∂z      ∂bias = Σ_rows ∂z      ∂c = ∂c'·f
/// ```
///
/// The result equals the same equations written with `narrow`, `sigmoid`, `tanh`, `*` and
/// `+`, and its gradients can be differentiated again. PyTorch: the pointwise part of
/// `torch.nn.LSTMCell`. The op is [`FusedLstmCell`].
///
/// # Panics
/// When `cell` is not 2-D `[batch, hidden]` or the other shapes do not fit it, or when the
/// four vars belong to different graphs.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor};
/// use chainrule_layers::lstm_cell;
/// let g = Graph::new();
/// let zx = g.input(Tensor::from_vec(vec![0.0f64, 0.0, 2.0, 0.0], &[1, 4]));
/// let zh = g.param(Tensor::zeros(&[1, 4]));
/// let b = g.param(Tensor::zeros(&[4]));
/// let c = g.input(Tensor::from_vec(vec![1.0], &[1, 1]));
/// let (h, c_next) = lstm_cell(zx, zh, b, c);
/// // i = f = o = σ(0) = ½, g = tanh 2: c' = ½·1 + ½·tanh 2, h' = ½·tanh c'.
/// let expected_c = 0.5 + 0.5 * 2f64.tanh();
/// assert!((c_next.item() - expected_c).abs() < 1e-12);
/// assert!((h.item() - 0.5 * expected_c.tanh()).abs() < 1e-12);
/// let grads = (h + c_next).backward();
/// assert_eq!(grads[b].shape(), &[4]);
/// ```
#[track_caller]
pub fn lstm_cell<'g, T: Float>(
    zx: Var<'g, T>,
    zh: Var<'g, T>,
    bias: Var<'g, T>,
    cell: Var<'g, T>,
) -> (Var<'g, T>, Var<'g, T>) {
    let shape = cell.shape();
    // Checked here as well as in the op's forward, so the panic names the caller's line.
    if let Err(message) = check_shapes(&zx.shape(), &zh.shape(), &bias.shape(), &shape) {
        layer_panic!("{message}");
    }
    let blocks = Var::custom(FusedLstmCell, &[zx, zh, bias, cell]);
    let take = |k: usize| blocks.narrow(1, k, 1).reshape(&shape);
    (take(HIDDEN), take(CELL))
}

/// `(batch, hidden)` when the shapes fit one another, else the message to panic with.
fn check_shapes(
    zx: &[usize],
    zh: &[usize],
    bias: &[usize],
    c_prev: &[usize],
) -> Result<(usize, usize), String> {
    let &[batch, hidden] = c_prev else {
        return Err(format!(
            "lstm_cell: the cell state must be 2-D [batch, hidden], got shape {c_prev:?}"
        ));
    };
    let gates = 4 * hidden;
    if zx == [batch, gates] && zh == [batch, gates] && bias == [gates] {
        Ok((batch, hidden))
    } else {
        Err(format!(
            "lstm_cell: gate inputs {zx:?} and {zh:?} and bias {bias:?} do not fit the cell state \
             {c_prev:?} (need [{batch}, {gates}], [{batch}, {gates}] and [{gates}])"
        ))
    }
}

/// The forward kernel: from the gate pre-activations `z = zx + zh + bias` and the previous
/// cell state `c_prev` (shapes already checked), the `[batch, 8, hidden]` blocks of
/// [`lstm_block`]: `i, f, o = σ(z_i), σ(z_f), σ(z_o)`, `g = tanh(z_g)`, `c = f·c_prev + i·g`,
/// `tanh c`, `h = o·tanh c`, `c_prev`. One pass over memory, row by row.
pub(super) fn forward_kernel<T: Float>(
    zx: &Tensor<T>,
    zh: &Tensor<T>,
    bias: &Tensor<T>,
    c_prev: &Tensor<T>,
) -> Tensor<T> {
    let (batch, hidden) = (c_prev.shape()[0], c_prev.shape()[1]);
    let mut out = vec![T::zero(); batch * COUNT * hidden];
    forward_rows(
        zx.as_slice(),
        Some(zh.as_slice()),
        bias.as_slice(),
        c_prev.as_slice(),
        &mut out,
        hidden,
    );
    Tensor::from_vec(out, &[batch, COUNT, hidden])
}

/// [`forward_kernel`] on slices: `zx`, `zh` `[batch, 4·hidden]`, `bias` `[4·hidden]` and
/// `c_prev` `[batch, hidden]` in, the `[batch, 8, hidden]` blocks written into `out`, which
/// must hold exactly that many elements. The sequence op writes each step's blocks straight
/// into its output this way; it passes no `zh`, having added the recurrent product into `zx`
/// already.
// Never inlined: inlined into the sequence op's per-thread closure, the loop lost the
// vectorised form it has here (the cell's backward went from 8% to 10% of an LSTM's time).
#[inline(never)]
pub(super) fn forward_rows<T: Float>(
    zx: &[T],
    zh: Option<&[T]>,
    bias: &[T],
    cp: &[T],
    out: &mut [T],
    hidden: usize,
) {
    let gates = 4 * hidden;
    // The state blocks follow one another in this order; the loop below relies on it.
    const _: () = assert!(
        CELL + 1 == CELL_TANH
            && CELL_TANH + 1 == HIDDEN
            && HIDDEN + 1 == CELL_PREV
            && CELL_PREV + 1 == COUNT
    );
    let row_len = COUNT * hidden;
    for (b, row) in out.chunks_exact_mut(row_len.max(1)).enumerate() {
        let z_range = b * gates..(b + 1) * gates;
        let pre = &mut row[..gates];
        let zx = &zx[z_range.clone()];
        match zh {
            Some(zh) => {
                for (((p, &x), &h), &bi) in pre.iter_mut().zip(zx).zip(&zh[z_range]).zip(bias) {
                    *p = x + h + bi;
                }
            }
            None => {
                for ((p, &x), &bi) in pre.iter_mut().zip(zx).zip(bias) {
                    *p = x + bi;
                }
            }
        }
        T::sigmoid_in_place(&mut row[..CANDIDATE * hidden]);
        T::tanh_in_place(&mut row[CANDIDATE * hidden..OUTPUT * hidden]);
        T::sigmoid_in_place(&mut row[OUTPUT * hidden..CELL * hidden]);
        let (gate_part, state_part) = row.split_at_mut(CELL * hidden);
        let block = |k: usize| &gate_part[k * hidden..(k + 1) * hidden];
        let (i, f, g) = (block(INPUT), block(FORGET), block(CANDIDATE));
        let c_row = &cp[b * hidden..(b + 1) * hidden];
        let (c_new, rest) = state_part.split_at_mut(hidden);
        for ((((c, &i), &f), &g), &cp) in c_new.iter_mut().zip(i).zip(f).zip(g).zip(c_row) {
            *c = f * cp + i * g;
        }
        let (c_tanh, rest) = rest.split_at_mut(hidden);
        c_tanh.copy_from_slice(c_new);
        T::tanh_in_place(c_tanh);
        let (h_new, c_kept) = rest.split_at_mut(hidden);
        for ((h, &o), &t) in h_new.iter_mut().zip(block(OUTPUT)).zip(c_tanh.iter()) {
            *h = o * t;
        }
        c_kept.copy_from_slice(c_row);
    }
}

/// The backward kernel in one pass: from the `[batch, 8, hidden]` blocks `y` of the forward
/// and their upstream gradient `g`, the gradient of the gate pre-activations `∂z`
/// `[batch, 4·hidden]` and of the previous cell state `∂c_prev` `[batch, hidden]`. The
/// equations are those of [`backward_composed`] (the definition, which graphs record); here
/// they run element by element, with no intermediate tensors.
pub(super) fn backward_kernel<T: Float>(y: &Tensor<T>, g: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
    let [batch, count, hidden] = *y.shape() else {
        unreachable!("lstm_cell blocks are [batch, 8, hidden]")
    };
    debug_assert!(count == COUNT && g.shape() == y.shape());
    let mut dz = vec![T::zero(); batch * 4 * hidden];
    let mut d_cell_prev = vec![T::zero(); batch * hidden];
    backward_rows(
        y.as_slice(),
        Upstream::Blocks(g.as_slice()),
        None,
        &mut dz,
        &mut d_cell_prev,
        hidden,
    );
    (
        Tensor::from_vec(dz, &[batch, 4 * hidden]),
        Tensor::from_vec(d_cell_prev, &[batch, hidden]),
    )
}

/// The upstream gradient [`backward_rows`] reads for a step's rows.
#[derive(Clone, Copy)]
pub(super) enum Upstream<'a, T> {
    /// A gradient for every block, `[batch, 8, hidden]` (see [`lstm_block`]): the fused cell's,
    /// and the whole-sequence op's that outputs every block.
    Blocks(&'a [T]),
    /// Gradients for the new states only, `[batch, hidden]` each; the other blocks get none.
    /// The sequence op that outputs only the states (`LstmStates`) reads this.
    States {
        /// `∂L/∂h'`.
        hidden: &'a [T],
        /// `∂L/∂c'`.
        cell: &'a [T],
    },
}

impl<'a, T> Upstream<'a, T> {
    /// The same gradient for rows `rows` of the batch only.
    pub(super) fn rows(self, rows: Range<usize>, hidden: usize) -> Upstream<'a, T> {
        match self {
            Upstream::Blocks(g) => {
                Upstream::Blocks(&g[rows.start * COUNT * hidden..rows.end * COUNT * hidden])
            }
            Upstream::States { hidden: dh, cell } => Upstream::States {
                hidden: &dh[rows.start * hidden..rows.end * hidden],
                cell: &cell[rows.start * hidden..rows.end * hidden],
            },
        }
    }
}

/// [`backward_kernel`] on slices: the blocks `y` `[batch, 8, hidden]` and their gradient (see
/// [`Upstream`]) in, `∂z` `[batch, 4·hidden]` and `∂c_prev` `[batch, hidden]` written into
/// `dz` and `d_cell_prev`. `carried`, when given, is a gradient `(∂h', ∂c')` `[batch, hidden]`
/// each that reaches the new states from elsewhere — the next step, in a sequence — added to
/// the upstream one.
// Never inlined: inlined into the sequence op's per-thread closure, the loop lost the
// vectorised form it has here (the cell's backward went from 8% to 10% of an LSTM's time).
#[inline(never)]
pub(super) fn backward_rows<T: Float>(
    y: &[T],
    upstream: Upstream<'_, T>,
    carried: Option<(&[T], &[T])>,
    dz: &mut [T],
    d_cell_prev: &mut [T],
    hidden: usize,
) {
    let one = T::one();
    // Stands in for every gradient that is not there: the carried one, the blocks a
    // states-only gradient leaves out.
    let needs_zeros = carried.is_none() || matches!(upstream, Upstream::States { .. });
    let zeros = vec![T::zero(); if needs_zeros { hidden } else { 0 }];
    // `.max(1)`: `chunks_exact` refuses a length of 0, and with `hidden = 0` there is no row.
    let step = hidden.max(1);
    let rows = y.chunks_exact((COUNT * hidden).max(1));
    let dz_rows = dz.chunks_exact_mut((4 * hidden).max(1));
    let dc_rows = d_cell_prev.chunks_exact_mut(step);
    for (b, ((y, dz), d_cell_prev)) in rows.zip(dz_rows).zip(dc_rows).enumerate() {
        // Whole blocks as slices, so the loop below indexes nothing and vectorises.
        fn slice<T>(v: &[T], k: usize, hidden: usize) -> &[T] {
            &v[k * hidden..(k + 1) * hidden]
        }
        let block = |v, k| slice(v, k, hidden);
        let (extra_hidden, extra_cell) = match carried {
            Some((dh, dc)) => (slice(dh, b, hidden), slice(dc, b, hidden)),
            None => (&zeros[..], &zeros[..]),
        };
        let (dz_if, dz_go) = dz.split_at_mut(2 * hidden);
        let (dz_i, dz_f) = dz_if.split_at_mut(hidden);
        let (dz_g, dz_o) = dz_go.split_at_mut(hidden);
        let ys = (
            block(y, INPUT),
            block(y, FORGET),
            block(y, CANDIDATE),
            block(y, OUTPUT),
            block(y, CELL_TANH),
            block(y, CELL_PREV),
        );
        let none = &zeros[..];
        let gs = match upstream {
            Upstream::Blocks(g) => {
                let g = &g[b * COUNT * hidden..][..COUNT * hidden];
                (
                    block(g, INPUT),
                    block(g, FORGET),
                    block(g, CANDIDATE),
                    block(g, OUTPUT),
                    block(g, CELL),
                    block(g, CELL_TANH),
                    block(g, HIDDEN),
                    block(g, CELL_PREV),
                )
            }
            Upstream::States { hidden: dh, cell } => {
                let (dh, dc) = (slice(dh, b, hidden), slice(cell, b, hidden));
                (none, none, none, none, dc, none, dh, none)
            }
        };
        for j in 0..hidden {
            let (i, f, cand, o, c_tanh, c_prev) =
                (ys.0[j], ys.1[j], ys.2[j], ys.3[j], ys.4[j], ys.5[j]);
            let g_hidden = gs.6[j] + extra_hidden[j];
            let d_tanh = gs.5[j] + g_hidden * o;
            let d_cell = gs.4[j] + extra_cell[j] + d_tanh * (-(c_tanh * c_tanh) + one);
            dz_i[j] = (gs.0[j] + cand * d_cell) * (i * (one - i));
            dz_f[j] = (gs.1[j] + c_prev * d_cell) * (f * (one - f));
            dz_g[j] = (gs.2[j] + i * d_cell) * (cand * (T::zero() - cand) + one);
            dz_o[j] = (gs.3[j] + c_tanh * g_hidden) * (o * (one - o));
            d_cell_prev[j] = d_cell * f + gs.7[j];
        }
    }
}

/// The rule of [`FusedLstmCell`] written with `Var` ops against the output blocks (see
/// [`lstm_block`]), so it needs only products and sums. With `G_k` the upstream gradient of
/// block `k`:
///
/// ```text
/// ∂tanh c = G_tanh c + G_h·o
/// ∂c      = G_c + ∂tanh c·(1 − tanh² c)
/// ∂gates  = G_gates + [∂c·g, ∂c·c_prev, ∂c·i, G_h·tanh c]      (for i, f, g, o)
/// ∂z      = ∂gates ⊙ [i(1−i), f(1−f), 1−g², o(1−o)]             (= ∂zx = ∂zh; ∂b sums rows)
/// ∂c_prev = ∂c·f + G_c_prev
/// ```
///
/// The activation derivatives are written as `a·(p − a) + δ` with `p = [1, 1, 0, 1]` and
/// `δ = [0, 0, 1, 0]` per gate, one expression for all four blocks.
///
/// Returns `(∂z [batch, 4·hidden], ∂c_prev [batch, 1, hidden])` from the blocks `y` and their
/// gradient `g`. This is the rule as recorded on a graph (so it can be differentiated again);
/// tensors run the same equations in one pass, [`backward_kernel`], which
/// `tests/lstm_cell.rs` holds to this definition.
pub(super) fn backward_composed<'g, T: Float>(
    y: Var<'g, T>,
    g: Var<'g, T>,
) -> (Var<'g, T>, Var<'g, T>) {
    let shape = y.shape();
    let (batch, hidden) = (shape[0], shape[2]);
    let block = |v: Var<'g, T>, k: usize| v.narrow(1, k, 1);
    let gates = y.narrow(1, INPUT, 4);
    let (forget, output, cell_tanh) = (block(y, FORGET), block(y, OUTPUT), block(y, CELL_TANH));
    let g_hidden = block(g, HIDDEN);
    let d_tanh = block(g, CELL_TANH) + g_hidden * output;
    let d_cell = block(g, CELL) + d_tanh * (-(cell_tanh * cell_tanh) + T::one());
    // [∂c, ∂c, ∂c, G_h] times the block each gate was multiplied by: [g, c_prev, i, tanh c].
    let coefficients = (d_cell.pad(1, 0, 1) + g_hidden.pad(1, 1, 0)).index_select(1, &[0, 0, 0, 1]);
    let partners = y.index_select(1, &[CANDIDATE, CELL_PREV, INPUT, CELL_TANH]);
    let d_gates = g.narrow(1, INPUT, 4) + partners * coefficients;
    let per_gate = |values: [f64; 4]| {
        let values = values.iter().map(|&v| T::of(v)).collect();
        y.graph().constant(Tensor::from_vec(values, &[4, 1]))
    };
    let slope = gates * (per_gate([1.0, 1.0, 0.0, 1.0]) - gates) + per_gate([0.0, 0.0, 1.0, 0.0]);
    let dz = (d_gates * slope).reshape(&[batch, 4 * hidden]);
    (dz, d_cell * forget + block(g, CELL_PREV))
}
