//! `chainrule-bench WORKLOAD [--threads N] [--runs K]`: runs one of the standard workloads
//! (`scalar-mlp`, `op-overhead`, `mlp-digits`, `mlp-wide`, `matmul-1024`, `lstm-seq`,
//! `conv-digits`, `conv-32`, defined in `bench/WORKLOADS.md` of the project's reference material and listed in
//! BENCHMARKS.md) after a warm-up, and prints one line `<workload> chainrule <median figure>
//! <unit>` on stdout; the individual runs and the thread count go to stderr.
//! `bench/compare.sh` runs it beside PyTorch.
//!
//! `chainrule-bench scaling [--peer FILE] [--svg FILE]` prints the scaling curves instead, as
//! two Markdown tables (see `scaling.rs`), and draws them into an SVG file when asked;
//! `chainrule-bench split-threshold` measures where a second thread starts to pay for a matrix
//! product (see `split.rs`); `gemm-compare` and `gemm-orientation` measure the GEMM choices
//! the engine makes per product (see `gemm_compare.rs`).

mod gemm_compare;
mod heap;
mod scaling;
mod split;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

/// The workloads, by their stable names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// micrograd's demo, every scalar a 0-d var: ms per training step.
    ScalarMlp,
    /// 20,000 tensor–scalar ops on 16 elements plus backward: ns per op.
    OpOverhead,
    /// MLP 64→128→128→10 on the digits, Adam, 20 epochs: training samples per second.
    MlpDigits,
    /// MLP 10→512→512→1 with ReLU, MSE, Adam, batch 256 of random data: ms per training step.
    MlpWide,
    /// C = A·B for 1024×1024 and its backward: GFLOP/s.
    #[value(name = "matmul-1024")]
    Matmul1024,
    /// LSTM 32→128 over 50 steps, batch 32, forward and backward: ms per batch.
    LstmSeq,
    /// CNN conv 1→16 → pool → conv 16→32 → pool → dense 128→10 on the digits as 1×8×8
    /// images, Adam, batch 64, 20 epochs: training samples per second.
    ConvDigits,
    /// 3×3 convolution 64→64 over [32, 64, 32, 32] with bias, and its backward: GFLOP/s.
    #[value(name = "conv-32")]
    Conv32,
    /// Scalar graphs of 10³…10⁷ nodes (ns and bytes per node) and mlp-wide's step at widths
    /// 32…2048 (samples/s): two tables.
    Scaling,
    /// Products of many shapes at 1 and at 2 threads (split forced), `--runs` alternations:
    /// where a second thread starts to pay (a table and the crossover).
    SplitThreshold,
    /// The workloads' products through `matrixmultiply`, through `gemm` and through the
    /// engine (which picks one of the two per product), one thread, f32 and f64, `--runs`
    /// alternations: a table.
    GemmCompare,
    /// f32 products over a grid of shapes, all four transpositions, through gemm straight
    /// into C's rows and through a column-major scratch, one thread, `--runs` alternations:
    /// where the engine's choice between the two comes from (four tables).
    GemmOrientation,
}

/// mimalloc (see `heap`), its heap counted for `scaling`'s bytes per node (only while it
/// measures them).
#[global_allocator]
static ALLOCATOR: heap::CountingAllocator = heap::CountingAllocator;

#[derive(Parser, Debug)]
#[command(about = "Time one of chainrule's standard workloads (median of several runs)")]
struct Args {
    /// Which workload to run.
    #[arg(value_enum)]
    workload: Workload,
    /// Threads for matrix multiplication (`chainrule_autodiff::set_num_threads`).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Multiply-adds per thread from which a matrix product is split
    /// (`chainrule_autodiff::set_split_work`; default the engine's own, `DEFAULT_SPLIT_WORK`):
    /// for finding where splitting pays on whole workloads.
    #[arg(long, value_name = "MULTIPLY_ADDS")]
    split_work: Option<usize>,
    /// Timed runs after the warm-up; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// scaling: PyTorch's figures, as `bench/torch_workloads.py scaling` prints them.
    #[arg(long, value_name = "FILE")]
    peer: Option<PathBuf>,
    /// scaling: also draw the curves into this SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// scaling: the largest scalar graph, in nodes (the sizes are the powers of ten up to it).
    #[arg(long, default_value_t = 10_000_000)]
    max_nodes: usize,
    /// scaling: the largest MLP width (the widths are 32, 64, … up to it).
    #[arg(long, default_value_t = 2048)]
    max_width: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.threads == 0 || args.runs == 0 {
        eprintln!("error: --threads and --runs must be at least 1");
        return ExitCode::from(2);
    }
    // The engine reads the count at each product (split-threshold changes it as it goes).
    chainrule_autodiff::set_num_threads(args.threads);
    eprintln!("threads: {}", args.threads);
    if let Some(work) = args.split_work {
        chainrule_autodiff::set_split_work(work);
    }
    let line = match args.workload {
        Workload::ScalarMlp => workloads::scalar_mlp(args.runs),
        Workload::OpOverhead => workloads::op_overhead(args.runs),
        Workload::MlpDigits => workloads::mlp_digits(args.runs),
        Workload::MlpWide => workloads::mlp_wide(args.runs),
        Workload::Matmul1024 => workloads::matmul_1024(args.runs),
        Workload::LstmSeq => workloads::lstm_seq(args.runs),
        Workload::ConvDigits => workloads::conv_digits(args.runs),
        Workload::Conv32 => workloads::conv_32(args.runs),
        Workload::Scaling => run_scaling(&args),
        Workload::SplitThreshold => split::split_threshold(args.runs),
        Workload::GemmCompare => gemm_compare::gemm_compare(args.runs),
        Workload::GemmOrientation => gemm_compare::gemm_orientation(args.runs),
    };
    match line {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

/// `scaling`: measures both curves, returns the tables, and writes the SVG when asked.
fn run_scaling(args: &Args) -> Result<String, String> {
    let peer = match &args.peer {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            scaling::parse_peer(&text, &path.display().to_string())?
        }
        None => Vec::new(),
    };
    let mut costs = Vec::new();
    for kind in [scaling::ScalarGraph::Chain, scaling::ScalarGraph::Mlp] {
        for &nodes in scaling::NODE_COUNTS
            .iter()
            .filter(|&&n| n <= args.max_nodes)
        {
            let cost = scaling::node_cost(kind, nodes);
            eprintln!("scaling: {cost:?}");
            costs.push(cost);
        }
    }
    let widths: Vec<usize> = scaling::WIDTHS
        .into_iter()
        .filter(|&w| w <= args.max_width)
        .collect();
    let throughput = scaling::width_throughput(&widths, &peer);
    for row in &throughput {
        eprintln!("scaling: {row:?}");
    }
    if let Some(path) = &args.svg {
        let picture = scaling::svg(&costs, &throughput)?;
        std::fs::write(path, picture).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("scaling: plot written to {}", path.display());
    }
    Ok(scaling::tables(&costs, &throughput, args.threads)
        .trim_end()
        .to_string())
}
