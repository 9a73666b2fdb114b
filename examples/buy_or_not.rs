//! Logistic regression: the sigmoid turns a score into a probability, the log loss is minimised by gradient descent, and 0.5 is the decision threshold; checked against the maximum-likelihood optimum.
//!
//! The model and its narrative live in `crates/material/src/buy_or_not.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example buy_or_not` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::buy_or_not::run)
}
