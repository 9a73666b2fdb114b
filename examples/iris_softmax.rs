//! Softmax regression on the iris flowers: categorical cross-entropy computed from logits for numerical stability.
//!
//! The model and its narrative live in `crates/material/src/iris_softmax.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example iris_softmax` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::iris_softmax::run)
}
