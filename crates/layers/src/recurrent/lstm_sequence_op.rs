//! A whole LSTM sequence as one user-defined op, instead of two products and a fused cell per
//! step: [`LstmStates`], which [`Lstm`](super::Lstm) records, and [`LstmSequence`]. Both run
//! the same steps with the same rule; they differ in what they output. [`LstmSequence`]
//! outputs every step's eight blocks (gates and states), which its rule reads back, as the
//! fused cell does. [`LstmStates`] outputs only the states a layer returns and keeps the other
//! blocks inside itself for its backward, as PyTorch keeps a fused LSTM's workspace with
//! `save_for_backward`: a gradient always has its output's size, so the smaller output makes
//! the backward fill and read a quarter of the memory (`lstm-seq` 2–4% faster).
//!
//! Why one op for the whole sequence: the input's share of every gate, `x_t·W_x`, does not
//! depend on the recurrence, so all steps' shares are one large product `[batch·seq, in]·W_x`
//! that runs at full GEMM speed (and on several threads), where fifty small ones did not. In the
//! backward the same holds for the weight gradients: `∂W_x = Xᵀ·∂Z` and `∂W_h = H_prevᵀ·∂Z`
//! are together one product over all steps, `[X │ H_prev]ᵀ·∂Z`, and `∂X = ∂Z·W_xᵀ` another;
//! only the recurrent products `h·W_h` forward and `∂z·W_hᵀ` backward stay one per step, because
//! each needs the step before. Those run through [`matmul_into`] on the op's own buffers: each
//! step's `h·W_h` is added into that step's rows of the input projection, and each `∂h` is
//! written into one buffer reused across steps. That is the structure of cuDNN's and PyTorch's
//! fused `nn.LSTM`.
//!
//! Nothing about backpropagation through time changes: the op's backward walks the steps in
//! reverse through the same cell rule as [`FusedLstmCell`](super::FusedLstmCell) (the same
//! kernel), carrying `∂h` and `∂c` from each step to the one before, which is what the engine
//! does over the unrolled graph that [`LstmCell::step`](super::LstmCell::step) records. The
//! tests hold the op to that unrolled graph, value for value and gradient for gradient, and to
//! finite differences; its rule is also written with `Var` ops, so it can be differentiated
//! again.

use std::any::Any;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::{Mutex, PoisonError};
use std::thread::LocalKey;

use chainrule_autodiff::{matmul_into, run_parts, threads_for_work, CustomOp, Float, Tensor, Var};

use super::lstm_cell_op::lstm_block::*;
use super::lstm_cell_op::{backward_composed, backward_rows, forward_rows, Upstream};

/// The blocks of [`LstmStates`]' output `[seq, 2, batch, hidden]`, in order along axis 1.
pub mod lstm_state {
    /// Each step's new hidden state `h_t`.
    pub const HIDDEN: usize = 0;
    /// Each step's new cell state `c_t`.
    pub const CELL: usize = 1;
    /// The number of blocks.
    pub const COUNT: usize = 2;
}

/// A whole LSTM sequence in one op (see the module docs).
///
/// Six inputs: the sequence `x` `[batch, seq ≥ 1, in]`, the input weights `W_x` `[in, 4·hidden]`,
/// the recurrent weights `W_h` `[hidden, 4·hidden]`, the bias `[4·hidden]` (gates in the order
/// input, forget, cell candidate, output) and the initial state `h₀`, `c₀` `[batch, hidden]`.
/// The output `[seq, batch, 8, hidden]` holds, for every step, the eight blocks of
/// [`lstm_block`](super::lstm_block) that the fused cell outputs: the gates, the new cell state, its tanh, the new
/// hidden state and the previous cell state. It is time-major (PyTorch's `nn.LSTM` default
/// layout) so that each step's blocks are one contiguous slab, written and read in place.
/// Use it to read the gates; to run a sequence, [`LstmStates`] outputs only the states and
/// backpropagates faster.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor, Var};
/// use chainrule_layers::recurrent::lstm_cell_op::lstm_block;
/// use chainrule_layers::recurrent::LstmSequence;
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[1, 3, 2]));
/// let w_x = g.param(Tensor::zeros(&[2, 4]));
/// let w_h = g.param(Tensor::zeros(&[1, 4]));
/// let b = g.param(Tensor::zeros(&[4]));
/// let h0 = g.input(Tensor::zeros(&[1, 1]));
/// let c0 = g.input(Tensor::from_vec(vec![1.0f64], &[1, 1]));
/// let blocks = Var::custom(LstmSequence, &[x, w_x, w_h, b, h0, c0]);
/// assert_eq!(blocks.shape().as_slice(), &[3, 1, lstm_block::COUNT, 1]);
/// // Every gate is σ(0) = ½ and the candidate tanh 0 = 0: the cell state halves at each step.
/// assert_eq!(blocks.value().get(&[2, 0, lstm_block::CELL, 0]), 0.125);
/// let grads = blocks.narrow(0, 2, 1).sum().backward();
/// assert_eq!(grads[w_h].shape(), &[1, 4]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LstmSequence;

/// The sizes of a sequence op's inputs: batch, steps, input features, hidden size.
#[derive(Clone, Copy)]
struct Sizes {
    batch: usize,
    seq: usize,
    inputs: usize,
    hidden: usize,
}

impl Sizes {
    /// The sizes when the six input shapes fit one another, else the message to panic with.
    fn of(shapes: [&[usize]; 6]) -> Result<Sizes, String> {
        let [x, w_x, w_h, bias, h0, c0] = shapes;
        let &[batch, seq, inputs] = x else {
            return Err(format!(
                "lstm_sequence: the sequence must be 3-D [batch, seq, in], got shape {x:?}"
            ));
        };
        let &[_, hidden] = c0 else {
            return Err(format!(
                "lstm_sequence: the cell state must be 2-D [batch, hidden], got shape {c0:?}"
            ));
        };
        if seq == 0 {
            return Err(format!(
                "lstm_sequence: the sequence {x:?} has no step (seq must be at least 1)"
            ));
        }
        let gates = 4 * hidden;
        if w_x == [inputs, gates]
            && w_h == [hidden, gates]
            && bias == [gates]
            && h0 == [batch, hidden]
            && c0 == [batch, hidden]
        {
            Ok(Sizes {
                batch,
                seq,
                inputs,
                hidden,
            })
        } else {
            Err(format!(
                "lstm_sequence: sequence {x:?}, weights {w_x:?} and {w_h:?}, bias {bias:?} and \
                 initial state {h0:?}, {c0:?} do not fit (need [{inputs}, {gates}], \
                 [{hidden}, {gates}], [{gates}] and [{batch}, {hidden}] twice)"
            ))
        }
    }

    fn gates(&self) -> usize {
        4 * self.hidden
    }

    /// Elements of one step's blocks, `[batch, 8, hidden]`.
    fn slab(&self) -> usize {
        self.batch * COUNT * self.hidden
    }

    /// Copies block `k` (see [`lstm_block`](super::lstm_block)) of each row of one step's
    /// blocks into `dst`, `[batch, hidden]`.
    fn copy_block<T: Float>(&self, slab: &[T], k: usize, dst: &mut [T]) {
        let hidden = self.hidden;
        let rows = slab.chunks_exact((COUNT * hidden).max(1));
        for (row, dst) in rows.zip(dst.chunks_exact_mut(hidden.max(1))) {
            dst.copy_from_slice(&row[k * hidden..(k + 1) * hidden]);
        }
    }

    /// `∂W_x = Xᵀ·∂Z` and `∂W_h = H_prevᵀ·∂Z` (each when `wants` it) as one product: the
    /// wanted inputs of every step's products side by side, `[x_t | h_{t−1}]` for row
    /// `t·batch + b` (time-major like ∂Z), times ∂Z, so ∂Z, the larger operand, is packed once
    /// for both. `y` holds every step's blocks, whose hidden states are the `h_{t−1}` of the
    /// steps after them.
    fn weight_gradients<T: Float>(
        &self,
        x: &Tensor<T>,
        h0: &Tensor<T>,
        y: &[T],
        dz_all: &[T],
        [want_x, want_h]: [bool; 2],
    ) -> (Option<Tensor<T>>, Option<Tensor<T>>) {
        let (batch, seq, inputs, hidden) = (self.batch, self.seq, self.inputs, self.hidden);
        let x_width = if want_x { inputs } else { 0 };
        let width = x_width + if want_h { hidden } else { 0 };
        if width == 0 {
            return (None, None);
        }
        let (xs, slab) = (x.as_slice(), self.slab());
        let mut joined = Vec::with_capacity(seq * batch * width);
        for t in 0..seq {
            for b in 0..batch {
                if want_x {
                    joined.extend_from_slice(&xs[(b * seq + t) * inputs..][..inputs]);
                }
                if want_h {
                    let h_prev = match t {
                        0 => &h0.as_slice()[b * hidden..],
                        _ => &y[(t - 1) * slab + (b * COUNT + HIDDEN) * hidden..],
                    };
                    joined.extend_from_slice(&h_prev[..hidden]);
                }
            }
        }
        let gates = self.gates();
        let mut d_w = vec![T::zero(); width * gates];
        let sizes = (width, seq * batch, gates);
        matmul_into(sizes, &joined, true, dz_all, false, T::zero(), &mut d_w);
        let d_w_h = d_w.split_off(x_width * gates);
        (
            want_x.then(|| Tensor::from_vec(d_w, &[inputs, gates])),
            want_h.then(|| Tensor::from_vec(d_w_h, &[hidden, gates])),
        )
    }

    /// How many threads each step's cell runs on: as many as its recurrent product, `h·W_h`,
    /// which runs just before it. Splitting the product but not the cell left a second thread
    /// spinning idle through every cell (a quarter of `lstm-seq`'s samples at 2 threads), while
    /// a sequence too small for its products to be split keeps its cells on one thread too.
    fn cell_threads(&self) -> usize {
        threads_for_work(self.batch * self.hidden * self.gates())
    }

    /// `x` `[batch, seq, in]` as time-major rows `[seq·batch, in]`: row `t·batch + b`.
    fn time_major_rows<T: Float>(&self, x: &Tensor<T>) -> Tensor<T> {
        x.transpose(0, 1)
            .reshape(&[self.seq * self.batch, self.inputs])
    }
}

/// The elements of `rows` in a row-major buffer of `row_len` elements a row.
fn per_row(rows: &Range<usize>, row_len: usize) -> Range<usize> {
    rows.start * row_len..rows.end * row_len
}

/// One part of [`over_rows`]: its rows, and its rows of each output.
type RowsPart<'a, T, const N: usize> = (Range<usize>, Mutex<[&'a mut [T]; N]>);

/// Runs `kernel(rows, outs)` over the `batch` rows of a step, cut into `threads` ranges that run
/// side by side on the engine's threads (see [`run_parts`]). Each output `(buffer, row_len)` is
/// cut the same way, so each range writes only its own rows; an LSTM's rows never meet.
fn over_rows<T: Send, const N: usize>(
    batch: usize,
    threads: usize,
    outs: [(&mut [T], usize); N],
    kernel: impl Fn(Range<usize>, [&mut [T]; N]) + Sync,
) {
    if threads <= 1 || batch <= 1 {
        kernel(0..batch, outs.map(|(out, _)| out));
        return;
    }
    let rows_per_part = batch.div_ceil(threads.min(batch));
    let mut chunks = outs.map(|(out, row_len)| out.chunks_mut((rows_per_part * row_len).max(1)));
    let parts: Vec<RowsPart<'_, T, N>> = (0..batch)
        .step_by(rows_per_part)
        .map(|start| {
            let rows = start..(start + rows_per_part).min(batch);
            let outs = chunks.each_mut().map(|c| c.next().unwrap_or_default());
            (rows, Mutex::new(outs))
        })
        .collect();
    run_parts(parts.len(), threads, &|i| {
        let (rows, outs) = &parts[i];
        let mut outs = outs.lock().unwrap_or_else(PoisonError::into_inner);
        kernel(rows.clone(), outs.each_mut().map(|out| &mut **out));
    });
}

thread_local! {
    /// The blocks of the last [`LstmStates`] dropped on this thread, kept for the next forward.
    static SPARE_BLOCKS: SpareSlot = const { RefCell::new(None) };
    /// The gate gradients ∂Z of the last backward on this thread, kept for the next one.
    static SPARE_GRADIENTS: SpareSlot = const { RefCell::new(None) };
}

/// A buffer of `len` elements for a caller that writes every element before reading any: the
/// one last kept in `slot` on this thread (of this element type), whose values are left as
/// they were except for any it grows by, else zeros. A sequence's blocks and gate gradients
/// are megabytes that every batch writes in full; filling them with zeros first was work on
/// the calling thread alone, which at two threads kept the other one waiting (lstm-seq 5%
/// slower).
fn reused<T: Float>(slot: &'static LocalKey<SpareSlot>, len: usize) -> Vec<T> {
    let kept = slot
        .try_with(|spare| spare.borrow_mut().take())
        .ok()
        .flatten();
    let mut buffer = kept
        .and_then(|kept| kept.downcast::<Vec<T>>().ok())
        .map_or_else(Vec::new, |kept| *kept);
    buffer.resize(len, T::zero());
    buffer
}

/// Keeps `buffer` in `slot` for the next [`reused`] on this thread.
fn keep_for_reuse<T: Float>(slot: &'static LocalKey<SpareSlot>, buffer: Vec<T>) {
    // During thread exit the slot may be gone: the buffer is then simply freed.
    let _ = slot.try_with(|spare| *spare.borrow_mut() = Some(Box::new(buffer)));
}

/// A thread's slot for one kept buffer, of whichever element type.
type SpareSlot = RefCell<Option<Box<dyn Any>>>;

/// The six inputs as an array, with their sizes; panics as the forward must when they do not fit.
#[track_caller]
fn checked_inputs<'a, T: Float>(inputs: &[&'a Tensor<T>]) -> (Sizes, [&'a Tensor<T>; 6]) {
    let &[x, w_x, w_h, bias, h0, c0] = inputs else {
        panic!(
            "lstm_sequence: takes six inputs (x, W_x, W_h, bias, h0, c0), got {}",
            inputs.len()
        )
    };
    let inputs = [x, w_x, w_h, bias, h0, c0];
    let s = Sizes::of(inputs.map(Tensor::shape)).unwrap_or_else(|message| panic!("{message}"));
    (s, inputs)
}

/// The sequence run forward: every step's blocks `[seq, batch, 8, hidden]` and every step's
/// new states `[seq, 2, batch, hidden]` (see [`lstm_state`]).
fn run_forward<T: Float>(
    s: Sizes,
    [x, w_x, w_h, bias, h0, c0]: [&Tensor<T>; 6],
) -> (Vec<T>, Vec<T>) {
    let (gates, slab, state) = (s.gates(), s.slab(), s.batch * s.hidden);
    let (hidden, threads) = (s.hidden, s.cell_threads());
    // Every step's gate pre-activations, `[seq·batch, 4·hidden]`, time-major (step t is
    // rows t·batch … (t+1)·batch): the input's share of all steps as one product here,
    // each step's recurrent share `h·W_h` added into its rows in place below.
    let mut z_all = s.time_major_rows(x).matmul(w_x);
    let z_steps = z_all.data_mut().chunks_exact_mut((s.batch * gates).max(1));
    // Every element is written below before anything reads it, so a buffer kept from the last
    // sequence needs no zeros.
    let mut blocks: Vec<T> = reused(&SPARE_BLOCKS, s.seq * slab);
    // Step t's new h and c are each one contiguous `[batch, hidden]` block here, so the next
    // step's product reads its h in place.
    let mut states: Vec<T> = Vec::with_capacity(s.seq * 2 * state);
    for (t, z) in z_steps.take(s.seq).enumerate() {
        // Grown a step at a time, so the zeros are written just before the values are.
        states.resize((t + 1) * 2 * state, T::zero());
        let (earlier, now) = states.split_at_mut(t * 2 * state);
        let (h, c) = match t {
            0 => (h0.as_slice(), c0.as_slice()),
            _ => earlier[(t - 1) * 2 * state..].split_at(state),
        };
        let sizes = (s.batch, hidden, gates);
        matmul_into(sizes, h, false, w_h.as_slice(), false, T::one(), z);
        let (z, bias) = (&*z, bias.as_slice());
        let (h_new, c_new) = now.split_at_mut(state);
        let outs = [
            (&mut blocks[t * slab..][..slab], COUNT * hidden),
            (h_new, hidden),
            (c_new, hidden),
        ];
        over_rows(s.batch, threads, outs, |rows, [out, h_rows, c_rows]| {
            let (z_rows, state) = (per_row(&rows, gates), per_row(&rows, hidden));
            forward_rows(&z[z_rows], None, bias, &c[state], out, hidden);
            s.copy_block(out, HIDDEN, h_rows);
            s.copy_block(out, CELL, c_rows);
        });
    }
    (blocks, states)
}

/// The sequence's rule: from every step's blocks `y` `[seq, batch, 8, hidden]` and the
/// upstream gradient of step `t` (`upstream(t)`), each input's gradient that `wants` asks for.
fn run_backward<'a, T: Float>(
    s: Sizes,
    [x, w_x, w_h, _, h0, _]: [&Tensor<T>; 6],
    y: &[T],
    wants: &[bool],
    upstream: impl Fn(usize) -> Upstream<'a, T>,
) -> Vec<Option<Tensor<T>>> {
    if !wants.iter().any(|&w| w) {
        return vec![None; wants.len()];
    }
    let (batch, hidden, gates, slab) = (s.batch, s.hidden, s.gates(), s.slab());
    // ∂Z, time-major like Z: step t is rows t·batch … (t+1)·batch of [seq·batch, 4·hidden].
    let step_gates = batch * gates;
    // Every step's rows are written in full before they are read: a kept buffer needs no zeros.
    let mut dz_all: Vec<T> = reused(&SPARE_GRADIENTS, s.seq * step_gates);
    // ∂h and ∂c carried from each step to the one before. ∂c has two buffers: the cell rule
    // reads the carried one while it writes the next.
    let mut d_hidden = vec![T::zero(); batch * hidden];
    let (mut d_cell, mut d_cell_before) = (d_hidden.clone(), d_hidden.clone());
    let threads = s.cell_threads();
    for t in (0..s.seq).rev() {
        let dz = &mut dz_all[t * step_gates..][..step_gates];
        let (y_t, g_t) = (&y[t * slab..][..slab], upstream(t));
        let from_next = (t + 1 < s.seq).then_some((&d_hidden[..], &d_cell[..]));
        let outs = [(&mut *dz, gates), (&mut d_cell_before[..], hidden)];
        over_rows(batch, threads, outs, |rows, [dz, d_cell]| {
            let (blocks, state) = (per_row(&rows, COUNT * hidden), per_row(&rows, hidden));
            let from_next = from_next.map(|(dh, dc)| (&dh[state.clone()], &dc[state.clone()]));
            let g = g_t.rows(rows, hidden);
            backward_rows(&y_t[blocks], g, from_next, dz, d_cell, hidden);
        });
        std::mem::swap(&mut d_cell, &mut d_cell_before);
        // ∂h_{t−1} = ∂z_t·W_hᵀ: wanted for the step before, or for h₀ at the first.
        if t > 0 || wants[4] {
            let (sizes, w_h) = ((batch, gates, hidden), w_h.as_slice());
            matmul_into(sizes, dz, false, w_h, true, T::zero(), &mut d_hidden);
        }
    }
    let (d_w_x, d_w_h) = s.weight_gradients(x, h0, y, &dz_all, [wants[1], wants[2]]);
    let rows = s.seq * batch;
    let d_x = wants[0].then(|| {
        let mut d_x = vec![T::zero(); rows * s.inputs];
        let sizes = (rows, gates, s.inputs);
        matmul_into(
            sizes,
            &dz_all,
            false,
            w_x.as_slice(),
            true,
            T::zero(),
            &mut d_x,
        );
        Tensor::from_vec(d_x, &[s.seq, batch, s.inputs]).transpose(0, 1)
    });
    let d_bias = wants[3].then(|| {
        let mut d_bias = vec![T::zero(); gates];
        for row in dz_all.chunks_exact(gates.max(1)) {
            for (sum, &d) in d_bias.iter_mut().zip(row) {
                *sum += d;
            }
        }
        Tensor::from_vec(d_bias, &[gates])
    });
    keep_for_reuse(&SPARE_GRADIENTS, dz_all);
    vec![
        d_x,
        d_w_x,
        d_w_h,
        d_bias,
        wants[4].then(|| Tensor::from_vec(d_hidden, &[batch, hidden])),
        wants[5].then(|| Tensor::from_vec(d_cell, &[batch, hidden])),
    ]
}

impl<T: Float> CustomOp<T> for LstmSequence {
    fn name(&self) -> &'static str {
        "lstm_sequence"
    }

    fn formula(&self) -> &'static str {
        "for t = T…1: ∂z_t = lstm_cell rule(∂h_t + ∂z_{t+1}·W_hᵀ, ∂c_t); \
         ∂W_x = Xᵀ·∂Z, ∂W_h = H_prevᵀ·∂Z, ∂X = ∂Z·W_xᵀ, ∂b = Σ ∂Z"
    }

    #[track_caller]
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (s, inputs) = checked_inputs(inputs);
        let (blocks, _) = run_forward(s, inputs);
        Tensor::from_vec(blocks, &[s.seq, s.batch, COUNT, s.hidden])
    }

    fn backward(
        &self,
        inputs: &[&Tensor<T>],
        output: &Tensor<T>,
        grad: &Tensor<T>,
        wants: &[bool],
    ) -> Vec<Option<Tensor<T>>> {
        let (s, inputs) = checked_inputs(inputs);
        let (g, slab) = (grad.as_slice(), s.slab());
        run_backward(s, inputs, output.as_slice(), wants, |t| {
            Upstream::Blocks(&g[t * slab..][..slab])
        })
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
        let &[x, w_x, w_h, bias, h0, _] = inputs else {
            unreachable!("the forward checked six inputs")
        };
        let shapes = [0, 1, 2, 3, 4, 5].map(|i| inputs[i].shape());
        let s = Sizes::of(shapes.each_ref().map(|shape| shape.as_slice()))
            .expect("the forward checked the shapes");
        let (batch, hidden) = (s.batch, s.hidden);
        // A [batch, hidden] gradient placed in block k of [batch, 8, hidden].
        let into_block =
            |v: Var<'g, T>, k: usize| v.reshape(&[batch, 1, hidden]).pad(1, k, COUNT - k - 1);
        let step = |v: Var<'g, T>, t: usize| v.narrow(0, t, 1).reshape(&[batch, COUNT, hidden]);
        let mut carried: Option<(Var<'g, T>, Var<'g, T>)> = None;
        let mut dz_steps = Vec::with_capacity(s.seq);
        for t in (0..s.seq).rev() {
            let mut g_t = step(grad, t);
            if let Some((dh, dc)) = carried {
                g_t = g_t + into_block(dh, HIDDEN) + into_block(dc, CELL);
            }
            let (dz, dc_prev) = backward_composed(step(output, t), g_t);
            carried = Some((
                dz.matmul_t(w_h, false, true),
                dc_prev.reshape(&[batch, hidden]),
            ));
            dz_steps.push(dz);
        }
        dz_steps.reverse();
        let (d_hidden, d_cell) = carried.expect("at least one step");
        // Time-major rows, as in the tensor rule.
        let rows = s.seq * batch;
        let dz_all = Var::concat(&dz_steps, 0);
        let h_prev = || {
            let earlier = (s.seq > 1).then(|| {
                output
                    .narrow(0, 0, s.seq - 1)
                    .narrow(2, HIDDEN, 1)
                    .reshape(&[(s.seq - 1) * batch, hidden])
            });
            match earlier {
                Some(earlier) => Var::concat(&[h0, earlier], 0),
                None => h0,
            }
        };
        let x_rows = || x.transpose(0, 1).reshape(&[rows, s.inputs]);
        Some(vec![
            wants[0].then(|| {
                dz_all
                    .matmul_t(w_x, false, true)
                    .reshape(&[s.seq, batch, s.inputs])
                    .transpose(0, 1)
            }),
            wants[1].then(|| x_rows().matmul_t(dz_all, true, false)),
            wants[2].then(|| h_prev().matmul_t(dz_all, true, false)),
            wants[3].then(|| dz_all.sum_to(&bias.shape())),
            wants[4].then_some(d_hidden),
            wants[5].then_some(d_cell),
        ])
    }
}

/// A whole LSTM sequence in one op, as [`LstmSequence`], whose output is only what a sequence
/// layer returns: every step's new states, `[seq, 2, batch, hidden]` (see [`lstm_state`]).
/// [`Lstm`](super::Lstm) records it.
///
/// The gates and the other blocks its backward reads are kept inside the op, the way PyTorch's
/// `nn.LSTM` keeps its workspace with `save_for_backward`, instead of being part of the output.
/// That matters because an output's gradient has the output's size: with every block in the
/// output, picking the last hidden state out of it gave the backward a gradient of the eight
/// blocks of every step, almost all zeros, to fill and read. Here it is two blocks of every
/// step. The inputs, the steps and the rule are [`LstmSequence`]'s.
///
/// ```
/// use chainrule_autodiff::{Graph, Tensor, Var};
/// use chainrule_layers::recurrent::lstm_sequence_op::{lstm_state, LstmStates};
/// let g = Graph::new();
/// let x = g.input(Tensor::ones(&[1, 3, 2]));
/// let w_x = g.param(Tensor::zeros(&[2, 4]));
/// let w_h = g.param(Tensor::zeros(&[1, 4]));
/// let b = g.param(Tensor::zeros(&[4]));
/// let h0 = g.input(Tensor::zeros(&[1, 1]));
/// let c0 = g.input(Tensor::from_vec(vec![1.0f64], &[1, 1]));
/// let states = Var::custom(LstmStates::new(), &[x, w_x, w_h, b, h0, c0]);
/// assert_eq!(states.shape().as_slice(), &[3, lstm_state::COUNT, 1, 1]);
/// // Every gate is σ(0) = ½ and the candidate tanh 0 = 0: the cell state halves at each step.
/// assert_eq!(states.value().get(&[2, lstm_state::CELL, 0, 0]), 0.125);
/// let grads = states.narrow(0, 2, 1).sum().backward();
/// assert_eq!(grads[w_h].shape(), &[1, 4]);
/// ```
pub struct LstmStates<T: Float> {
    /// What the last forward computed besides its output, with that output (to know it again).
    kept: Mutex<Option<Kept<T>>>,
}

/// The blocks one forward of [`LstmStates`] computed, and the output they belong to.
struct Kept<T: Float> {
    output: Tensor<T>,
    blocks: Vec<T>,
}

impl<T: Float> Drop for Kept<T> {
    /// Hands the blocks to the next sequence's forward on this thread.
    fn drop(&mut self) {
        keep_for_reuse(&SPARE_BLOCKS, std::mem::take(&mut self.blocks));
    }
}

impl<T: Float> LstmStates<T> {
    /// The op, with nothing kept yet.
    pub fn new() -> Self {
        LstmStates {
            kept: Mutex::new(None),
        }
    }
}

impl<T: Float> Default for LstmStates<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> std::fmt::Debug for LstmStates<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LstmStates")
    }
}

impl<T: Float> CustomOp<T> for LstmStates<T> {
    fn name(&self) -> &'static str {
        "lstm_states"
    }

    fn formula(&self) -> &'static str {
        <LstmSequence as CustomOp<T>>::formula(&LstmSequence)
    }

    #[track_caller]
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (s, inputs) = checked_inputs(inputs);
        let (blocks, states) = run_forward(s, inputs);
        let output = Tensor::from_vec(states, &[s.seq, lstm_state::COUNT, s.batch, s.hidden]);
        let kept = Kept {
            output: output.clone(),
            blocks,
        };
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = Some(kept);
        output
    }

    fn backward(
        &self,
        inputs: &[&Tensor<T>],
        output: &Tensor<T>,
        grad: &Tensor<T>,
        wants: &[bool],
    ) -> Vec<Option<Tensor<T>>> {
        let (s, inputs) = checked_inputs(inputs);
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        // The kept blocks are this output's when the kept output is this very buffer (it is
        // held, so no other tensor can have its address). Anything else — the forward run again
        // on other values, by a gradient check — gets its blocks computed afresh.
        let recomputed;
        let blocks = match &*kept {
            Some(kept) if same_buffer(&kept.output, output) => &kept.blocks,
            _ => {
                recomputed = run_forward(s, inputs).0;
                &recomputed
            }
        };
        let (g, state) = (grad.as_slice(), s.batch * s.hidden);
        run_backward(s, inputs, blocks, wants, |t| {
            let (hidden, cell) = g[t * 2 * state..][..2 * state].split_at(state);
            Upstream::States { hidden, cell }
        })
    }

    fn backward_graph<'g>(
        &self,
        inputs: &[Var<'g, T>],
        _output: Var<'g, T>,
        grad: Var<'g, T>,
        wants: &[bool],
    ) -> Option<Vec<Option<Var<'g, T>>>> {
        // The blocks are recorded as an op of their own, so that their dependence on the
        // inputs is on the graph, and the states' gradient is placed in its two blocks.
        let blocks = Var::custom(LstmSequence, inputs);
        let shape = blocks.shape();
        let (seq, batch, hidden) = (shape[0], shape[1], shape[3]);
        let into_block = |k: usize, block: usize| {
            grad.narrow(1, k, 1)
                .reshape(&[seq, batch, 1, hidden])
                .pad(2, block, COUNT - block - 1)
        };
        let g_blocks = into_block(lstm_state::HIDDEN, HIDDEN) + into_block(lstm_state::CELL, CELL);
        LstmSequence.backward_graph(inputs, blocks, g_blocks, wants)
    }
}

/// Whether both tensors are views of one buffer of the same length.
fn same_buffer<T: Float>(a: &Tensor<T>, b: &Tensor<T>) -> bool {
    let (a, b) = (a.as_slice(), b.as_slice());
    a.len() == b.len() && std::ptr::eq(a.as_ptr(), b.as_ptr())
}
