//! Bias and variance: polynomial features on a small noisy set, training vs cross-validation error as λ sweeps, λ chosen on the validation set and the test error reported once.
//!
//! The model and its narrative live in `crates/material/src/overfitting.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example overfitting` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::overfitting::run)
}
