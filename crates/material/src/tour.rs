//! The tour: every example of the material in order, one line each with what it learned and
//! whether its independent check passed. `chainrule` with no arguments runs it.

use std::io::{self, Write};
use std::time::Instant;

use crate::ALL;

/// Runs every example quietly and prints one line per example, then a summary; returns whether
/// every check passed.
///
/// ```no_run
/// let all_passed = chainrule_material::tour::run_tour(&mut std::io::stdout()).unwrap();
/// assert!(all_passed);
/// ```
pub fn run_tour(out: &mut dyn Write) -> io::Result<bool> {
    writeln!(
        out,
        "chainrule — a tour of the material: each model is a graph trained by the one backward \
         pass,\nand each result is checked against an answer computed another way.\n"
    )?;
    let started = Instant::now();
    let mut passed = 0;
    for (name, run) in ALL {
        let example_started = Instant::now();
        let result = run(&mut io::sink());
        let seconds = example_started.elapsed().as_secs_f64();
        match result {
            Ok(outcome) => {
                let mark = if outcome.passed { "✓" } else { "✗" };
                passed += usize::from(outcome.passed);
                writeln!(out, "{mark} {name:<20} {}", outcome.learned)?;
                writeln!(
                    out,
                    "  {:<20} check: {} ({seconds:.1} s)",
                    "", outcome.check
                )?;
            }
            Err(error) => writeln!(out, "✗ {name:<20} error: {error} ({seconds:.1} s)")?,
        }
        out.flush()?;
    }
    writeln!(
        out,
        "\n{passed} of {} checks passed in {:.1} s. Each example runs on its own with \
         `cargo run --release --example NAME` (add `-- --json` for JSON).",
        ALL.len(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(passed == ALL.len())
}
