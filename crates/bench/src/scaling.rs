//! `scaling`: how the cost grows with the work — WORKLOADS.md's scaling curves.
//!
//! (a) Scalar graphs of 10³…10⁷ nodes, every number a 0-d f64 node as in `scalar-mlp`: a chain
//! (`y ← y·1.0001 + 0.0001`, op-overhead's loop on one number) and micrograd's 2→16→16→1 MLP
//! over as many random points as make up the size. For each, the time per node of building the
//! graph and running backward (the median of several runs, on a warm process as a training loop
//! is), and the bytes per node: the peak heap above the start while one graph is built and swept,
//! counted by the binary's allocator ([`crate::heap`]) on a fresh thread, so no buffer kept from
//! an earlier graph hides the cost.
//!
//! (b) `mlp-wide`'s training step (10→w→w→1, ReLU, MSE, Adam, batch 256) with the hidden width
//! w = 32, 64, …, 2048, in training samples per second, beside PyTorch's figures when given
//! (`bench/torch_workloads.py scaling` writes them; `bench/compare.sh` passes them on).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chainrule_autodiff::{Graph, Var};
use plotters::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::heap::peak_bytes_during;
use crate::workloads::{median, wide_mlp_step};

/// The scalar graphs' sizes, in nodes.
pub const NODE_COUNTS: [usize; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// The hidden widths of the MLP curve.
pub const WIDTHS: [usize; 7] = [32, 64, 128, 256, 512, 1024, 2048];

/// The MLP curve's batch, `mlp-wide`'s.
pub const MLP_BATCH: usize = 256;

/// The two kinds of scalar graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarGraph {
    /// One number through `y·1.0001 + 0.0001` again and again: two nodes a step, each reading the
    /// one before, so nothing but the per-node cost is measured.
    Chain,
    /// micrograd's 2→16→16→1 MLP and hinge loss over random points, ~650 nodes a point: the
    /// shape of `scalar-mlp`, grown by its number of points.
    Mlp,
}

impl ScalarGraph {
    fn name(self) -> &'static str {
        match self {
            ScalarGraph::Chain => "chain",
            ScalarGraph::Mlp => "scalar MLP",
        }
    }

    /// Builds a graph of about `nodes` nodes on `g` and returns the loss to run backward from.
    fn build<'g>(self, g: &'g Graph<f64>, nodes: usize, rng: &mut StdRng) -> Var<'g, f64> {
        match self {
            ScalarGraph::Chain => {
                let x = g.scalar(1.0);
                let mut y = x;
                for _ in 0..nodes.saturating_sub(1) / 2 {
                    y = y * 1.0001 + 0.0001;
                }
                y
            }
            ScalarGraph::Mlp => scalar_mlp_loss(g, nodes, rng),
        }
    }
}

/// Nodes of the scalar MLP per point: 2 inputs; 16 neurons of 2 products, 2 sums and a ReLU;
/// 16 of 16 products, 16 sums and a ReLU; one of 16 and 16; the hinge's 3; its sum into the
/// total.
const MLP_NODES_PER_POINT: usize = 2 + 16 * 5 + 16 * 33 + 32 + 3 + 1;
/// The MLP's parameters: (2+1)·16 + (16+1)·16 + (16+1)·1.
const MLP_PARAMS: usize = 3 * 16 + 17 * 16 + 17;

/// micrograd's MLP and hinge loss on 0-d vars over enough random points for about `nodes`
/// nodes (at least one point).
fn scalar_mlp_loss<'g>(g: &'g Graph<f64>, nodes: usize, rng: &mut StdRng) -> Var<'g, f64> {
    let params: Vec<Var<f64>> = (0..MLP_PARAMS)
        .map(|_| g.scalar(rng.gen_range(-1.0..1.0)))
        .collect();
    let points = (nodes.saturating_sub(MLP_PARAMS) / MLP_NODES_PER_POINT).max(1);
    let mut total: Option<Var<f64>> = None;
    for _ in 0..points {
        let mut activations: Vec<Var<f64>> = (0..2)
            .map(|_| g.constant(rng.gen_range(-1.0..1.0).into()))
            .collect();
        let mut next = 0;
        for (layer, (inputs, outputs)) in [(2, 16), (16, 16), (16, 1)].into_iter().enumerate() {
            activations = (0..outputs)
                .map(|_| {
                    let (weights, bias) = (&params[next..next + inputs], params[next + inputs]);
                    next += inputs + 1;
                    let sum = weights
                        .iter()
                        .zip(&activations)
                        .fold(bias, |acc, (&w, &x)| acc + w * x);
                    if layer < 2 {
                        sum.relu()
                    } else {
                        sum
                    }
                })
                .collect();
        }
        let label = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        let hinge = (1.0 - activations[0] * label).relu();
        total = Some(match total {
            Some(sum) => sum + hinge,
            None => hinge,
        });
    }
    total.expect("at least one point")
}

/// One row of the scalar-graph table.
#[derive(Clone, Debug)]
pub struct NodeCost {
    pub graph: ScalarGraph,
    /// Nodes the graph recorded.
    pub nodes: usize,
    /// Median wall time per node of building the graph and running backward.
    pub ns_per_node: f64,
    /// Peak heap above the start per node, over building, backward and the gradients.
    pub bytes_per_node: f64,
}

/// Builds and sweeps one graph of `kind` and about `nodes` nodes; the nodes it recorded.
fn forward_backward(kind: ScalarGraph, nodes: usize) -> usize {
    let mut rng = StdRng::seed_from_u64(0);
    let g = Graph::new();
    let loss = kind.build(&g, nodes, &mut rng);
    let grads = loss.backward();
    std::hint::black_box(grads.by_id(0).is_some());
    g.len()
}

/// Times `f` after `warm_ups` calls until `min_runs` runs and `budget` are both used up (or
/// `max_runs` runs): each run's seconds.
fn time_runs(
    warm_ups: usize,
    (min_runs, max_runs): (usize, usize),
    budget: Duration,
    mut f: impl FnMut(),
) -> Vec<f64> {
    for _ in 0..warm_ups {
        f();
    }
    let start = Instant::now();
    let mut seconds = Vec::new();
    while seconds.len() < max_runs && (seconds.len() < min_runs || start.elapsed() < budget) {
        let run = Instant::now();
        f();
        seconds.push(run.elapsed().as_secs_f64());
    }
    seconds
}

/// Time and bytes per node of one scalar graph kind at one size.
pub fn node_cost(kind: ScalarGraph, nodes: usize) -> NodeCost {
    // Bytes first, on a fresh thread: the engine keeps the last tape and gradient table per
    // thread for the next graph, which would hide them from a second measurement here.
    let mut recorded = 0;
    let peak = std::thread::scope(|scope| {
        scope
            .spawn(|| peak_bytes_during(|| recorded = forward_backward(kind, nodes)))
            .join()
            .expect("the measuring thread")
    });
    // The largest graphs take seconds a run: fewer of them, no warm-up beyond the one above.
    let warm_ups = if nodes >= 1_000_000 { 0 } else { 2 };
    let seconds = time_runs(warm_ups, (3, 1000), Duration::from_millis(300), || {
        std::hint::black_box(forward_backward(kind, nodes));
    });
    NodeCost {
        graph: kind,
        nodes: recorded,
        ns_per_node: median(&seconds) / recorded as f64 * 1e9,
        bytes_per_node: peak as f64 / recorded as f64,
    }
}

/// One row of the MLP table.
#[derive(Clone, Debug)]
pub struct WidthThroughput {
    pub width: usize,
    /// chainrule's median training samples per second.
    pub samples_per_second: f64,
    /// PyTorch's, when given.
    pub peer: Option<f64>,
}

/// Training samples per second of the wide MLP at each width.
pub fn width_throughput(widths: &[usize], peer: &[(usize, f64)]) -> Vec<WidthThroughput> {
    widths
        .iter()
        .map(|&width| {
            // The widest steps take a tenth of a second or more: a second's worth, at least 5.
            let seconds = time_runs(3, (5, 50), Duration::from_secs(1), wide_mlp_step(width));
            WidthThroughput {
                width,
                samples_per_second: MLP_BATCH as f64 / median(&seconds),
                peer: peer.iter().find(|(w, _)| *w == width).map(|&(_, s)| s),
            }
        })
        .collect()
}

/// Reads PyTorch's figures as `torch_workloads.py scaling` prints them: lines
/// `scaling-mlp torch <width> <samples/s> samples/s`; other lines are skipped.
pub fn parse_peer(text: &str, file: &str) -> Result<Vec<(usize, f64)>, String> {
    let mut figures = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first() != Some(&"scaling-mlp") {
            continue;
        }
        let parsed = match fields.as_slice() {
            [_, _, width, figure, ..] => width.parse::<usize>().ok().zip(figure.parse().ok()),
            _ => None,
        };
        let figure = parsed.ok_or_else(|| {
            format!(
                "{file} line {}: expected `scaling-mlp torch <width> <samples/s> samples/s`, found {line:?}",
                i + 1
            )
        })?;
        figures.push(figure);
    }
    Ok(figures)
}

/// The two tables as text (Markdown, so they paste into BENCHMARKS.md).
pub fn tables(costs: &[NodeCost], widths: &[WidthThroughput], threads: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Scalar graphs (0-d f64 nodes), build + backward; bytes = peak heap above the start \
         (counting allocator), per node\n\n{}\n",
        node_layout()
    );
    let _ = writeln!(out, "| graph | nodes | ns/node | bytes/node |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
    for c in costs {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.0} |",
            c.graph.name(),
            thousands(c.nodes),
            c.ns_per_node,
            c.bytes_per_node
        );
    }
    let _ = writeln!(
        out,
        "\nMLP 10→w→w→1, batch {MLP_BATCH}, Adam (mlp-wide's step), {threads} thread(s): \
         training samples/s\n"
    );
    let _ = writeln!(out, "| width | chainrule | PyTorch | speed-up |");
    let _ = writeln!(out, "| ---: | ---: | ---: | ---: |");
    for w in widths {
        let (peer, ratio) = match w.peer {
            Some(p) => (
                thousands(p.round() as usize),
                format!("{:.2}×", w.samples_per_second / p),
            ),
            None => ("—".into(), "—".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {peer} | {ratio} |",
            w.width,
            thousands(w.samples_per_second.round() as usize)
        );
    }
    out
}

/// What a node costs by construction, the floor under the measured bytes per node.
fn node_layout() -> String {
    use chainrule_autodiff::{Node, Tensor};
    use std::mem::{size_of, size_of_val};
    let g = Graph::<f64>::new();
    let _ = g.scalar(1.0);
    let nodes = g.nodes();
    let node = &nodes[0];
    format!(
        "A node: {} bytes on the tape (value {}, op {}, input ids {}), {} in the gradient table.",
        size_of::<Node<f64>>(),
        size_of_val(&node.value),
        size_of_val(&node.op),
        size_of_val(&node.inputs),
        size_of::<Option<Tensor<f64>>>()
    )
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const CHAIN: RGBColor = RGBColor(31, 119, 180);
const MLP: RGBColor = RGBColor(255, 127, 14);
const PEER: RGBColor = RGBColor(127, 127, 127);

/// The curves as one SVG document of two charts side by side: ns per node against nodes (both
/// scalar graphs, log–log), and samples/s against width (chainrule and PyTorch, log–log).
pub fn svg(costs: &[NodeCost], widths: &[WidthThroughput]) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, costs, widths).map_err(|e| format!("drawing the scaling plot: {e}"))?;
    Ok(svg)
}

/// The bounds of some positive figures, as log₁₀, widened to whole decades.
fn log_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (low, high) = values
        .filter(|v| *v > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v.log10()), h.max(v.log10()))
        });
    if low.is_finite() {
        low.floor()..high.ceil().max(low.floor() + 1.0)
    } else {
        0.0..1.0
    }
}

fn draw(svg: &mut String, costs: &[NodeCost], widths: &[WidthThroughput]) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    let root = SVGBackend::with_string(svg, (1100, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let (left, right) = root.split_horizontally(550);
    // The axes are log₁₀ of the figures; a tick is labelled only on a whole decade.
    let decade = |v: &f64| {
        if (v - v.round()).abs() < 1e-9 {
            format!("1e{}", v.round())
        } else {
            String::new()
        }
    };

    let nodes_x = log_range(costs.iter().map(|c| c.nodes as f64));
    let ns_y = log_range(costs.iter().map(|c| c.ns_per_node));
    let mut chart = ChartBuilder::on(&left)
        .caption("Scalar graphs: time per node", ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(nodes_x, ns_y)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("nodes (log scale)")
        .y_desc("ns per node, build + backward (log)")
        .x_label_formatter(&decade)
        .y_label_formatter(&decade)
        .max_light_lines(1)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| fail(&e))?;
    for (kind, color) in [(ScalarGraph::Chain, CHAIN), (ScalarGraph::Mlp, MLP)] {
        let points = costs
            .iter()
            .filter(|c| c.graph == kind)
            .map(|c| ((c.nodes as f64).log10(), c.ns_per_node.log10()));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label(kind.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;

    let width_x = log_range(widths.iter().map(|w| w.width as f64));
    let rate_y = log_range(
        widths
            .iter()
            .flat_map(|w| std::iter::once(w.samples_per_second).chain(w.peer)),
    );
    let mut chart = ChartBuilder::on(&right)
        .caption("MLP 10→w→w→1: training throughput", ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(width_x, rate_y)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("hidden width w (log scale)")
        .y_desc("samples per second (log)")
        .x_label_formatter(&decade)
        .y_label_formatter(&decade)
        .max_light_lines(1)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| fail(&e))?;
    let ours = widths
        .iter()
        .map(|w| ((w.width as f64).log10(), w.samples_per_second.log10()));
    chart
        .draw_series(LineSeries::new(ours, CHAIN.stroke_width(2)))
        .map_err(|e| fail(&e))?
        .label("chainrule")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], CHAIN.filled()));
    if widths.iter().any(|w| w.peer.is_some()) {
        let theirs = widths
            .iter()
            .filter_map(|w| Some(((w.width as f64).log10(), w.peer?.log10())));
        chart
            .draw_series(LineSeries::new(theirs, PEER.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label("PyTorch")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], PEER.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scalar_graphs_have_about_the_nodes_asked_for() {
        for kind in [ScalarGraph::Chain, ScalarGraph::Mlp] {
            for nodes in [1_000, 10_000] {
                let recorded = forward_backward(kind, nodes);
                let off = recorded.abs_diff(nodes) as f64 / nodes as f64;
                assert!(off < 0.1, "{kind:?} at {nodes}: {recorded} nodes");
            }
        }
    }

    #[test]
    fn bytes_per_node_counts_at_least_the_tape() {
        let cost = node_cost(ScalarGraph::Chain, 1_000);
        // Every node is at least its place on the tape; a gradient table entry comes on top.
        let tape = std::mem::size_of::<chainrule_autodiff::Node<f64>>() as f64;
        assert!(cost.bytes_per_node >= tape, "{cost:?}, a node {tape} bytes");
        assert!(cost.ns_per_node > 0.0);
    }

    #[test]
    fn peer_figures_are_read_and_bad_lines_named() {
        let text = "torch 2.15\nscaling-mlp torch 32 12345.6 samples/s\nscaling-mlp torch 64 99 samples/s\n";
        assert_eq!(
            parse_peer(text, "peer.txt").unwrap(),
            vec![(32, 12345.6), (64, 99.0)]
        );
        let error = parse_peer("scaling-mlp torch wide 1\n", "peer.txt").unwrap_err();
        assert!(error.contains("peer.txt line 1"), "{error}");
    }

    #[test]
    fn tables_and_plot_show_every_row() {
        let costs = [
            NodeCost {
                graph: ScalarGraph::Chain,
                nodes: 1_000,
                ns_per_node: 50.0,
                bytes_per_node: 180.0,
            },
            NodeCost {
                graph: ScalarGraph::Chain,
                nodes: 1_000_000,
                ns_per_node: 80.0,
                bytes_per_node: 190.0,
            },
        ];
        let widths = [
            WidthThroughput {
                width: 32,
                samples_per_second: 1e6,
                peer: Some(2.5e5),
            },
            WidthThroughput {
                width: 2048,
                samples_per_second: 1e3,
                peer: None,
            },
        ];
        let text = tables(&costs, &widths, 1);
        assert!(
            text.contains("| chain | 1,000,000 | 80.0 | 190 |"),
            "{text}"
        );
        assert!(
            text.contains("| 32 | 1,000,000 | 250,000 | 4.00× |"),
            "{text}"
        );
        assert!(text.contains("| 2048 | 1,000 | — | — |"), "{text}");
        let picture = svg(&costs, &widths).unwrap();
        assert!(picture.starts_with("<svg") && picture.contains("PyTorch"));
    }
}
