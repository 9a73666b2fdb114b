//! The ONNX form of `chainrule-layers`' fused LSTM cell (`FusedLstmCell`, op name
//! `"lstm_cell"`), built from ONNX primitives.
//!
//! The cell is a user-defined op of the layers crate, so the engine knows only its name; its
//! math, from `crates/layers/src/recurrent/lstm_cell_op.rs`, is: with inputs `zx`, `zh`
//! (`[batch, 4·hidden]`), `bias` (`[4·hidden]`) and the cell state `c` (`[batch, hidden]`),
//!
//! ```text
//! z = zx + zh + bias            (gates in the order input, forget, candidate, output)
//! i, f, o = σ(z_i), σ(z_f), σ(z_o)    g = tanh(z_g)
//! c' = f·c + i·g                h' = o·tanh c'
//! ```
//!
//! and the output `[batch, 8, hidden]` holds, along axis 1, `i, f, g, o, c', tanh c', h', c`.
//! The lowering writes exactly that; the layer then picks `h'` and `c'` out with `narrow`,
//! which exports as `Slice`. The tests hold it to the layer's own forward.

use crate::builder::attr_int;
use crate::{CustomLowering, Lowering};

/// The lowering registered for `"lstm_cell"` by [`Lowerings::builtin`](crate::Lowerings::builtin).
pub struct LstmCellLowering;

impl CustomLowering for LstmCellLowering {
    fn lower(&self, cx: &mut Lowering<'_>) -> Result<String, String> {
        if cx.num_inputs() != 4 || cx.input_shape(3).len() != 2 {
            return Err("expected the fused LSTM cell's four inputs (zx, zh, bias, c)".into());
        }
        let hidden = cx.input_shape(3)[1] as i64;
        let [zx, zh, bias, c] = [0, 1, 2, 3].map(|i| cx.input(i).to_owned());
        Ok(cell_blocks(cx, [&zx, &zh, &bias, &c], hidden))
    }
}

/// The cell's `[batch, 8, hidden]` blocks from `zx`, `zh`, `bias` and `c`, as ONNX nodes; the
/// name of the last one.
fn cell_blocks(cx: &mut Lowering<'_>, [zx, zh, bias, c]: [&str; 4], hidden: i64) -> String {
    let sum = cx.node("Add", &[zx, zh], vec![]);
    let z = cx.node("Add", &[&sum, bias], vec![]);
    let axis = cx.ints(&[1]);
    let gate = |cx: &mut Lowering<'_>, k: i64, activation: &str| {
        let starts = cx.ints(&[k * hidden]);
        let ends = cx.ints(&[(k + 1) * hidden]);
        let part = cx.node("Slice", &[&z, &starts, &ends, &axis], vec![]);
        cx.node(activation, &[&part], vec![])
    };
    let i = gate(cx, 0, "Sigmoid");
    let f = gate(cx, 1, "Sigmoid");
    let g = gate(cx, 2, "Tanh");
    let o = gate(cx, 3, "Sigmoid");
    let kept = cx.node("Mul", &[&f, c], vec![]);
    let added = cx.node("Mul", &[&i, &g], vec![]);
    let c_new = cx.node("Add", &[&kept, &added], vec![]);
    let c_tanh = cx.node("Tanh", &[&c_new], vec![]);
    let h_new = cx.node("Mul", &[&o, &c_tanh], vec![]);
    let blocks: Vec<String> = [&i, &f, &g, &o, &c_new, &c_tanh, &h_new, c]
        .iter()
        .map(|block| cx.node("Unsqueeze", &[block, &axis], vec![]))
        .collect();
    let blocks: Vec<&str> = blocks.iter().map(String::as_str).collect();
    cx.node("Concat", &blocks, vec![attr_int("axis", 1)])
}

/// The lowering registered for `"lstm_sequence"` (`chainrule-layers`' `LstmSequence`, the op
/// that outputs every step's blocks) by [`Lowerings::builtin`](crate::Lowerings::builtin): the
/// sequence unrolled for its traced length, each step the two `MatMul`s and the cell above, the
/// steps' blocks stacked time-major into `[seq, batch, 8, hidden]` as the op outputs them.
pub struct LstmSequenceLowering;

impl CustomLowering for LstmSequenceLowering {
    fn lower(&self, cx: &mut Lowering<'_>) -> Result<String, String> {
        unrolled(cx, |_, blocks, _, _| blocks.to_owned())
    }

    /// `[seq, batch, 8, hidden]`: the batch is the second axis.
    fn batch_axis(&self) -> usize {
        1
    }
}

/// The lowering registered for `"lstm_states"` (`chainrule-layers`' `LstmStates`, the op
/// `Lstm` records for a whole sequence) by [`Lowerings::builtin`](crate::Lowerings::builtin):
/// the same unrolled steps as [`LstmSequenceLowering`], each step's new hidden and cell states
/// stacked into `[seq, 2, batch, hidden]` as the op outputs them.
pub struct LstmStatesLowering;

impl CustomLowering for LstmStatesLowering {
    fn lower(&self, cx: &mut Lowering<'_>) -> Result<String, String> {
        unrolled(cx, |cx, _, h, c| {
            let axis = cx.ints(&[0]);
            let h = cx.node("Unsqueeze", &[h, &axis], vec![]);
            let c = cx.node("Unsqueeze", &[c, &axis], vec![]);
            cx.node("Concat", &[&h, &c], vec![attr_int("axis", 0)])
        })
    }

    /// `[seq, 2, batch, hidden]`: the batch is the third axis.
    fn batch_axis(&self) -> usize {
        2
    }
}

/// An LSTM sequence op (inputs x, W_x, W_h, bias, h₀, c₀) unrolled for its traced length: each
/// step the two `MatMul`s and the cell, `per_step(cx, blocks, h, c)` naming what the step
/// contributes to the output, and those stacked along a new first axis.
fn unrolled(
    cx: &mut Lowering<'_>,
    mut per_step: impl FnMut(&mut Lowering<'_>, &str, &str, &str) -> String,
) -> Result<String, String> {
    if cx.num_inputs() != 6 || cx.input_shape(0).len() != 3 || cx.input_shape(5).len() != 2 {
        return Err("expected the LSTM sequence's six inputs (x, W_x, W_h, bias, h0, c0)".into());
    }
    let seq = cx.input_shape(0)[1] as i64;
    let hidden = cx.input_shape(5)[1] as i64;
    let [x, w_x, w_h, bias, h0, c0] = [0, 1, 2, 3, 4, 5].map(|i| cx.input(i).to_owned());
    let (time, step_axis) = (cx.ints(&[1]), cx.ints(&[0]));
    let pick = |cx: &mut Lowering<'_>, from: &str, axis: &str, k: i64| {
        let (start, end) = (cx.ints(&[k]), cx.ints(&[k + 1]));
        let slice = cx.node("Slice", &[from, &start, &end, axis], vec![]);
        cx.node("Squeeze", &[&slice, axis], vec![])
    };
    let (mut h, mut c) = (h0, c0);
    let mut steps = Vec::new();
    for t in 0..seq {
        let x_t = pick(cx, &x, &time, t);
        let zx = cx.node("MatMul", &[&x_t, &w_x], vec![]);
        let zh = cx.node("MatMul", &[&h, &w_h], vec![]);
        let blocks = cell_blocks(cx, [&zx, &zh, &bias, &c], hidden);
        h = pick(cx, &blocks, &time, lstm_block::HIDDEN);
        c = pick(cx, &blocks, &time, lstm_block::CELL);
        let output = per_step(cx, &blocks, &h, &c);
        steps.push(cx.node("Unsqueeze", &[&output, &step_axis], vec![]));
    }
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    Ok(cx.node("Concat", &steps, vec![attr_int("axis", 0)]))
}

/// The blocks of the cell's output along axis 1 that the sequence reads back (`lstm_block` in
/// chainrule-layers, a dev-dependency only; the tract tests hold the export to the layer).
mod lstm_block {
    pub const CELL: i64 = 4;
    pub const HIDDEN: i64 = 6;
}
