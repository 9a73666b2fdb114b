//! Pictures of a graph: Graphviz DOT text, SVG laid out here by layers, and the interactive
//! HTML page that walks the backward pass.
//!
//! As micrograd's `draw_dot`, every node is a box with its name and what it computes, its value
//! and its gradient. A value read twice (`x · x`) has two arrows, each labelled with the
//! contribution it carried back; parameters, data, constants and the loss are drawn apart.
//! `explain`'s scalar graphs and `graph`'s tensor models are both drawn from a [`Drawing`]: the
//! boxes' lines and the edges' labels, whatever they hold (numbers, or shapes and norms).
//!
//! The SVG layout is a plain layered one (Sugiyama's scheme, cut short): each node in the column
//! after its deepest input, a few barycentre sweeps to order each column, then coordinates. It
//! takes time linear in the graph per sweep, so a 200-term sum draws in milliseconds, where the
//! general-purpose layout crate's crossing minimisation took minutes.

use std::collections::HashMap;
use std::fmt::Write;

use super::teach::{num, Kind, Lesson, NodeRow};

/// What a picture shows, whatever the graph's values are: one box per node (by id) and, per
/// edge, the backward step that went along it.
pub struct Drawing {
    pub boxes: Vec<DrawnNode>,
    /// The loss: the node the backward pass started from.
    pub output: usize,
    /// By (node, input position): the index of the step along that edge and the contribution
    /// it carried back, as text.
    pub carried: Vec<Vec<Option<(usize, String)>>>,
}

/// One node's box.
pub struct DrawnNode {
    /// Its lines: the first says what it is; a line starting `grad ` is its gradient (the page
    /// fills it in step by step).
    pub lines: Vec<String>,
    pub kind: Kind,
    pub inputs: Vec<usize>,
    /// Shown on hover.
    pub title: Option<String>,
}

/// The lines of a node's box: `n3 = w · x` (or `w (parameter)`), its value, its gradient, and
/// the numerical slope when it was computed.
fn lines(lesson: &Lesson, node: &NodeRow) -> Vec<String> {
    let mut lines = vec![match node.kind {
        Kind::Op => format!("{} = {}", node.name, node.expression),
        kind => format!("{} ({})", node.name, kind.word()),
    }];
    if node.id == lesson.output {
        lines[0].push_str(" — L, the output");
    }
    lines.push(format!("value {}", num(node.value)));
    if let Some(gradient) = node.gradient {
        lines.push(format!("grad {}", num(gradient)));
    }
    if let Some(slope) = node.numeric {
        lines.push(format!("numerical slope {}", num(slope)));
    }
    lines
}

/// The step that went along each edge and the contribution it carried back, by (node, input
/// position), given each step's (node, input, contribution): the steps in the order the node's
/// inputs are read, so that `x · x` has one step per edge.
pub fn carried<'a>(
    inputs: impl Iterator<Item = &'a [usize]>,
    steps: impl Iterator<Item = (usize, usize, String)>,
) -> Vec<Vec<Option<(usize, String)>>> {
    let inputs: Vec<&[usize]> = inputs.collect();
    let mut by_node: Vec<Vec<Option<(usize, String)>>> =
        inputs.iter().map(|i| vec![None; i.len()]).collect();
    for (index, (node, input, contribution)) in steps.enumerate() {
        let slots = &mut by_node[node];
        if let Some(position) =
            (0..inputs[node].len()).find(|&p| inputs[node][p] == input && slots[p].is_none())
        {
            slots[position] = Some((index, contribution));
        }
    }
    by_node
}

/// `explain`'s graph as a drawing: numbers in the boxes and on the edges.
pub fn drawing(lesson: &Lesson) -> Drawing {
    Drawing {
        boxes: lesson
            .nodes
            .iter()
            .map(|node| DrawnNode {
                lines: lines(lesson, node),
                kind: node.kind,
                inputs: node.inputs.clone(),
                title: node.numeric.map(|s| format!("numerical slope {}", num(s))),
            })
            .collect(),
        output: lesson.output,
        carried: carried(
            lesson.nodes.iter().map(|n| n.inputs.as_slice()),
            lesson
                .steps
                .iter()
                .map(|s| (s.node, s.input, num(s.product))),
        ),
    }
}

/// The graph as Graphviz DOT: one box per node, one arrow per input read (two for `x · x`),
/// labelled with the gradient it carried back.
pub fn dot(drawing: &Drawing) -> String {
    let mut dot = String::from("digraph chainrule {\n  rankdir=LR;\n");
    for (id, node) in drawing.boxes.iter().enumerate() {
        let label: Vec<String> = node.lines.iter().map(|l| escape(l)).collect();
        let style = match node.kind {
            Kind::Parameter => ", style=filled, fillcolor=lightblue",
            Kind::Data => ", style=filled, fillcolor=lightyellow",
            Kind::Constant => ", style=filled, fillcolor=lightgray",
            Kind::Op => "",
        };
        let loss = if id == drawing.output {
            ", color=red, penwidth=3"
        } else {
            ""
        };
        let _ = writeln!(
            dot,
            "  n{id} [shape=box, label=\"{}\"{style}{loss}];",
            label.join("\\n")
        );
    }
    for (id, node) in drawing.boxes.iter().enumerate() {
        for (position, input) in node.inputs.iter().enumerate() {
            match &drawing.carried[id][position] {
                Some((_, c)) => {
                    let _ = writeln!(dot, "  n{input} -> n{id} [label=\"{}\"];", escape(c));
                }
                None => {
                    let _ = writeln!(dot, "  n{input} -> n{id};");
                }
            }
        }
    }
    dot.push_str("}\n");
    dot
}

/// Escapes text for a double-quoted DOT string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Escapes text for XML.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Pixel sizes of the drawing.
const CHAR_WIDTH: f64 = 7.2;
const LINE_HEIGHT: f64 = 16.0;
const PADDING: f64 = 8.0;
const COLUMN_GAP: f64 = 70.0;
const ROW_GAP: f64 = 14.0;
const MARGIN: f64 = 12.0;
const WAYPOINT_HEIGHT: f64 = 6.0;
/// Barycentre sweeps (each one left to right and one right to left): enough to untangle the
/// graphs people draw; bounded, so the time stays linear in the graph.
const SWEEPS: usize = 4;

/// Where each node goes: its column and, in it, its row. An edge that spans several columns
/// passes through a waypoint in each column between (ids from the node count up), so that it
/// runs in the gaps between boxes rather than through them.
pub struct Layout {
    pub columns: Vec<Vec<usize>>,
    /// The waypoints of each edge, by (node, input position), from the input's side.
    pub waypoints: HashMap<(usize, usize), Vec<usize>>,
    /// Nodes and waypoints together.
    pub count: usize,
}

/// Columns by longest path from the leaves (a leaf sits just left of its first reader), then
/// rows ordered by the mean row of their neighbours, sweeping both ways.
pub fn layout(drawing: &Drawing) -> Layout {
    let n = drawing.boxes.len();
    let mut column = vec![0usize; n];
    for (id, node) in drawing.boxes.iter().enumerate() {
        column[id] = node
            .inputs
            .iter()
            .map(|&i| column[i] + 1)
            .max()
            .unwrap_or(0);
    }
    // Then each node as late as its readers allow (just left of its first reader), so that a
    // term of a long sum sits beside the addition that reads it. Readers come later in the tape.
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (id, node) in drawing.boxes.iter().enumerate() {
        for &i in &node.inputs {
            readers[i].push(id);
        }
    }
    for id in (0..n).rev() {
        if let Some(first) = readers[id].iter().map(|&r| column[r]).min() {
            column[id] = column[id].max(first.saturating_sub(1));
        }
    }
    // Waypoints cost a slot per column crossed: past a bound (a 200-term sum's shared factor
    // would cross 20,000), long edges are drawn straight across instead.
    let crossings: usize = drawing
        .boxes
        .iter()
        .enumerate()
        .flat_map(|(id, node)| {
            let column = &column;
            node.inputs
                .iter()
                .map(move |&i| column[id].saturating_sub(column[i] + 1))
        })
        .sum();
    let route_long_edges = crossings <= 8 * n;
    // Edges as segments between consecutive columns, through waypoints.
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waypoints = HashMap::new();
    for (id, node) in drawing.boxes.iter().enumerate() {
        for (p, &input) in node.inputs.iter().enumerate() {
            let mut from = input;
            let mut points = Vec::new();
            let between = if route_long_edges {
                column[input] + 1..column[id]
            } else {
                0..0
            };
            for c in between {
                let waypoint = column.len();
                column.push(c);
                before.push(vec![from]);
                after.push(Vec::new());
                after[from].push(waypoint);
                points.push(waypoint);
                from = waypoint;
            }
            before[id].push(from);
            after[from].push(id);
            waypoints.insert((id, p), points);
        }
    }
    let count = column.len();
    let width = column.iter().max().map_or(0, |m| m + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); width];
    for id in 0..count {
        columns[column[id]].push(id);
    }
    let mut row = vec![0.0f64; count];
    let place = |columns: &Vec<Vec<usize>>, row: &mut Vec<f64>| {
        for col in columns {
            for (r, &id) in col.iter().enumerate() {
                row[id] = r as f64;
            }
        }
    };
    place(&columns, &mut row);
    for _ in 0..SWEEPS {
        for c in 1..width {
            order_by(&mut columns[c], &row, |id| &before[id]);
            place(&columns, &mut row);
        }
        for c in (0..width.saturating_sub(1)).rev() {
            order_by(&mut columns[c], &row, |id| &after[id]);
            place(&columns, &mut row);
        }
    }
    Layout {
        columns,
        waypoints,
        count,
    }
}

/// Sorts a column by the mean row of each node's neighbours (those without keep their row).
fn order_by<'a>(col: &mut [usize], row: &[f64], neighbours: impl Fn(usize) -> &'a [usize]) {
    let key = |id: usize| {
        let ns = neighbours(id);
        if ns.is_empty() {
            row[id]
        } else {
            ns.iter().map(|&i| row[i]).sum::<f64>() / ns.len() as f64
        }
    };
    let mut keyed: Vec<(f64, usize)> = col.iter().map(|&id| (key(id), id)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(row[a.1].total_cmp(&row[b.1])));
    for (slot, (_, id)) in col.iter_mut().zip(keyed) {
        *slot = id;
    }
}

/// The graph drawn as SVG: boxes coloured by kind (parameters blue, data yellow, constants
/// grey, the loss outlined red), one curve per input read, each labelled with the gradient it
/// carried back.
pub fn svg(drawing: &Drawing) -> String {
    let layout = layout(drawing);
    let mut size: Vec<(f64, f64)> = drawing
        .boxes
        .iter()
        .map(|node| &node.lines)
        .map(|t| {
            let chars = t.iter().map(|l| l.chars().count()).max().unwrap_or(1);
            (
                chars as f64 * CHAR_WIDTH + 2.0 * PADDING,
                t.len() as f64 * LINE_HEIGHT + PADDING,
            )
        })
        .collect();
    // A waypoint takes a thin slot in its column.
    size.resize(layout.count, (0.0, WAYPOINT_HEIGHT));
    // Column x positions from the widest box of each column; column heights for centring.
    let mut x = Vec::with_capacity(layout.columns.len());
    let mut widths = Vec::with_capacity(layout.columns.len());
    let mut next_x = MARGIN;
    let mut heights = Vec::with_capacity(layout.columns.len());
    for col in &layout.columns {
        x.push(next_x);
        let widest = col.iter().map(|&id| size[id].0).fold(0.0, f64::max);
        widths.push(widest);
        next_x += widest + COLUMN_GAP;
        let height: f64 = col.iter().map(|&id| size[id].1 + ROW_GAP).sum();
        heights.push(height - ROW_GAP);
    }
    let total_height = heights.iter().copied().fold(0.0, f64::max);
    let mut position = vec![(0.0f64, 0.0f64); layout.count];
    let mut column_of = vec![0usize; layout.count];
    for (c, col) in layout.columns.iter().enumerate() {
        let mut y = MARGIN + (total_height - heights[c]) / 2.0;
        for &id in col {
            position[id] = (x[c], y);
            column_of[id] = c;
            y += size[id].1 + ROW_GAP;
        }
    }
    let width = next_x - COLUMN_GAP + MARGIN;
    let height = total_height + 2.0 * MARGIN;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"monospace\" font-size=\"12\">"
    );
    svg.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n",
    );
    let _ = writeln!(
        svg,
        "<rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"white\" \
         class=\"background\"/>"
    );
    for (id, node) in drawing.boxes.iter().enumerate() {
        let (tx, ty) = position[id];
        let (_, th) = size[id];
        let k = node.inputs.len();
        for (p, &input) in node.inputs.iter().enumerate() {
            let (ix, iy) = position[input];
            let (iw, ih) = size[input];
            let (x1, y1) = (ix + iw, iy + ih / 2.0);
            // Each input read gets its own port, so a value read twice shows two arrows.
            let (x2, y2) = (tx, ty + th * (p as f64 + 1.0) / (k as f64 + 1.0));
            // Across each column between, along its waypoint's row.
            let mut route = String::new();
            let (mut x1, mut y1) = (x1, y1);
            for &point in &layout.waypoints[&(id, p)] {
                let (px, py) = position[point];
                let y = py + WAYPOINT_HEIGHT / 2.0;
                let bend = (px - x1).abs().max(20.0) / 2.0;
                let _ = write!(
                    route,
                    " C {:.1} {y1:.1}, {:.1} {y:.1}, {px:.1} {y:.1} L {:.1} {y:.1}",
                    x1 + bend,
                    px - bend,
                    px + widths[column_of[point]]
                );
                (x1, y1) = (px + widths[column_of[point]], y);
            }
            let start = position[input];
            let start = (start.0 + iw, start.1 + ih / 2.0);
            let bend = (x2 - x1).abs().max(40.0) / 2.0;
            let carried = &drawing.carried[id][p];
            let step = carried.as_ref().map_or(String::new(), |(index, _)| {
                format!(" data-step=\"{index}\"")
            });
            let _ = writeln!(
                svg,
                "<path class=\"edge\" data-from=\"{input}\" data-to=\"{}\"{step} d=\"M {:.1} \
                 {:.1}{route} C {:.1} {y1:.1}, {:.1} {y2:.1}, {x2:.1} {y2:.1}\" fill=\"none\" \
                 stroke=\"#555\" marker-end=\"url(#arrow)\"/>",
                id,
                start.0,
                start.1,
                x1 + bend,
                x2 - bend
            );
            if let Some((_, c)) = carried {
                let _ = writeln!(
                    svg,
                    "<text class=\"contribution\"{step} x=\"{:.1}\" y=\"{:.1}\" fill=\"#b45309\" \
                     font-size=\"10\" text-anchor=\"end\">{}</text>",
                    x2 - 4.0,
                    y2 - 3.0,
                    xml(c)
                );
            }
        }
    }
    for (id, node) in drawing.boxes.iter().enumerate() {
        let (bx, by) = position[id];
        let (bw, bh) = size[id];
        let (fill, stroke) = match node.kind {
            Kind::Parameter => ("#dbeafe", "#2563eb"),
            Kind::Data => ("#fef3c7", "#d97706"),
            Kind::Constant => ("#f3f4f6", "#9ca3af"),
            Kind::Op => ("#ffffff", "#374151"),
        };
        let (stroke, stroke_width) = if id == drawing.output {
            ("#dc2626", 3.0)
        } else {
            (stroke, 1.2)
        };
        let _ = writeln!(
            svg,
            "<g class=\"node {}\" data-id=\"{id}\"><rect x=\"{bx:.1}\" y=\"{by:.1}\" \
             width=\"{bw:.1}\" height=\"{bh:.1}\" rx=\"4\" fill=\"{fill}\" stroke=\"{stroke}\" \
             stroke-width=\"{stroke_width}\"/>",
            node.kind.word(),
        );
        if let Some(title) = &node.title {
            let _ = write!(svg, "<title>{}</title>", xml(title));
        }
        for (i, line) in node.lines.iter().enumerate() {
            let class = if line.starts_with("grad ") {
                format!(" class=\"grad\" data-id=\"{id}\"")
            } else {
                String::new()
            };
            let _ = writeln!(
                svg,
                "<text{class} x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                bx + PADDING,
                by + PADDING / 2.0 + LINE_HEIGHT * (i as f64 + 0.8),
                xml(line)
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

/// The interactive page of `explain --html`, from `json`, the object `explain --json` prints
/// (see [`page`]).
pub fn html(lesson: &Lesson, json: &str) -> String {
    let output = &lesson.nodes[lesson.output];
    let heading = format!(
        "L = {} = {}: backpropagation, one chain-rule step at a time",
        output.name,
        num(output.value)
    );
    let intro = "Each step multiplies the gradient that reached a node, ∂L/∂node, by the node's \
                 local derivative and adds the product to its input's gradient. Blue: parameters; \
                 yellow: data; red outline: the loss L. Hover a node for its numerical slope \
                 (with --numeric).";
    page(&drawing(lesson), &heading, intro, json)
}

/// An interactive page: the SVG picture, step buttons and a slider that walk the backward pass
/// one chain-rule step at a time (highlighting the edge, printing the step's lines as the
/// terminal does, filling in the gradients as they accumulate). The walk reads `json`: its
/// `nodes` (the one with `output` true is L) and its `steps`, each with `input_id`,
/// `rule_text`, `text`, and the input's gradient so far as a number (`gradient_so_far`) or, for
/// a tensor, as text (`shown_so_far`). One file, no network: the script is the few lines below.
pub fn page(drawing: &Drawing, heading: &str, intro: &str, json: &str) -> String {
    // `</` would end the script element early.
    let data = json.replace("</", "<\\/");
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>chainrule: backpropagation, step by step</title>
<style>
body {{ font-family: sans-serif; margin: 16px; color: #111; }}
#controls {{ display: flex; gap: 8px; align-items: center; margin: 8px 0; }}
#slider {{ width: 360px; }}
#line {{ font-family: monospace; white-space: pre-wrap; background: #f8fafc; border: 1px solid #cbd5e1; padding: 8px; min-height: 2.6em; }}
#graph {{ overflow: auto; border: 1px solid #e5e7eb; }}
#graph svg {{ max-width: 100%; height: auto; }}
.edge.done {{ stroke: #94a3b8; }}
.edge.current {{ stroke: #dc2626; stroke-width: 3; }}
.contribution {{ visibility: hidden; }}
.contribution.done {{ visibility: visible; }}
text.grad.pending {{ fill: #9ca3af; }}
text.grad.changed {{ fill: #dc2626; font-weight: bold; }}
</style>
</head>
<body>
<h1>{heading}</h1>
<p>{intro}</p>
<div id="controls">
<button id="first">|◀ start</button><button id="back">◀ back</button>
<input type="range" id="slider" min="0" value="0">
<button id="next">next ▶</button><button id="last">end ▶|</button>
<span id="counter"></span>
</div>
<div id="line"></div>
<div id="graph">
{svg}</div>
<script type="application/json" id="data">{data}</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const steps = data.steps;
const output = data.nodes.findIndex(n => n.output);
const slider = document.getElementById("slider");
slider.max = steps.length;
// Numbers as the terminal prints them: six significant digits, a true minus sign.
function fmt(x) {{
  if (x === 0) return "0.0";
  let text = String(Number(x.toPrecision(6)));
  if (/^-?\d+$/.test(text)) text += ".0";
  return text.replace("-", "\u2212");
}}
function show(k) {{
  k = Math.max(0, Math.min(steps.length, k));
  slider.value = k;
  const grad = {{}};
  grad[output] = fmt(1);
  for (let i = 0; i < k; i++) {{
    const s = steps[i];
    grad[s.input_id] = "shown_so_far" in s ? s.shown_so_far : fmt(s.gradient_so_far ?? NaN);
  }}
  const changed = k > 0 ? steps[k - 1].input_id : output;
  document.querySelectorAll("text.grad").forEach(t => {{
    const id = Number(t.dataset.id);
    const known = id in grad;
    t.textContent = known ? "grad " + grad[id] : "grad ?";
    t.classList.toggle("pending", !known);
    t.classList.toggle("changed", known && id === changed);
  }});
  document.querySelectorAll("[data-step]").forEach(e => {{
    const i = Number(e.dataset.step);
    e.classList.toggle("done", i < k);
    e.classList.toggle("current", i === k - 1);
  }});
  document.getElementById("line").textContent = k === 0
    ? "L = " + data.output + ": the sweep seeds \u2202L/\u2202" + data.output + " = 1.0"
    : steps[k - 1].rule_text + "\n" + steps[k - 1].text;
  document.getElementById("counter").textContent = "step " + k + " of " + steps.length;
  history.replaceState(null, "", "#step=" + k);
}}
const current = () => Number(slider.value);
document.getElementById("first").onclick = () => show(0);
document.getElementById("back").onclick = () => show(current() - 1);
document.getElementById("next").onclick = () => show(current() + 1);
document.getElementById("last").onclick = () => show(steps.length);
slider.oninput = () => show(current());
document.addEventListener("keydown", e => {{
  if (e.key === "ArrowRight") show(current() + 1);
  if (e.key === "ArrowLeft") show(current() - 1);
}});
const start = /step=(\d+)/.exec(location.hash);
show(start ? Number(start[1]) : 0);
</script>
</body>
</html>
"##,
        heading = xml(heading),
        intro = xml(intro),
        svg = svg(drawing),
    )
}
