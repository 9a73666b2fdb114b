//! `chainrule-bench WORKLOAD [--threads N] [--runs K]`: runs one of the standard workloads
//! (`scalar-mlp`, `op-overhead`, `mlp-digits`, `mlp-wide`, `matmul-1024`, `lstm-seq`,
//! `conv-digits`, `conv-32`, defined in `bench/WORKLOADS.md` of the project's reference material and listed in
//! BENCHMARKS.md) after a warm-up, and prints one line `<workload> chainrule <median figure>
//! <unit>` on stdout; the individual runs and the thread count go to stderr.
//! `bench/compare.sh` runs it beside PyTorch.

mod workloads;

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
}

#[derive(Parser, Debug)]
#[command(about = "Time one of chainrule's standard workloads (median of several runs)")]
struct Args {
    /// Which workload to run.
    #[arg(value_enum)]
    workload: Workload,
    /// Threads for matrix multiplication (`chainrule_autodiff::set_num_threads`).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed runs after the warm-up; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.threads == 0 || args.runs == 0 {
        eprintln!("error: --threads and --runs must be at least 1");
        return ExitCode::from(2);
    }
    // matrixmultiply reads this once, at its first product; nothing has run yet.
    chainrule_autodiff::set_num_threads(args.threads);
    eprintln!("threads: {}", args.threads);
    let line = match args.workload {
        Workload::ScalarMlp => workloads::scalar_mlp(args.runs),
        Workload::OpOverhead => workloads::op_overhead(args.runs),
        Workload::MlpDigits => workloads::mlp_digits(args.runs),
        Workload::MlpWide => workloads::mlp_wide(args.runs),
        Workload::Matmul1024 => workloads::matmul_1024(args.runs),
        Workload::LstmSeq => workloads::lstm_seq(args.runs),
        Workload::ConvDigits => workloads::conv_digits(args.runs),
        Workload::Conv32 => workloads::conv_32(args.runs),
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
