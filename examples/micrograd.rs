//! micrograd's demo on chainrule: a 2→16→16→1 multilayer perceptron trained on the two-moons
//! data where every number is its own 0-d var — the `scalar-mlp` workload. The model lives in
//! `crates/material/src/micrograd.rs`; this file runs it and prints the loss falling, the
//! training accuracy and the milliseconds per step.

use chainrule::material::micrograd::{median, parse_moons, train, MOONS_CSV, SIZES};

fn main() {
    let (points, labels) = match parse_moons(MOONS_CSV) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let steps = 100;
    println!(
        "micrograd demo: MLP {SIZES:?} on {} two-moons points, every number a 0-d var",
        points.len()
    );
    let run = train(&points, &labels, steps, 1337);
    for (k, loss) in run.losses.iter().enumerate() {
        if k % 10 == 0 || k == steps - 1 {
            println!("step {k:3}  loss {loss:.4}");
        }
    }
    println!("training accuracy: {:.0}%", run.accuracy * 100.0);
    println!(
        "{:.2} ms per step (median of {steps}; forward + backward + update, 1 thread)",
        median(&run.step_ms)
    );
}
