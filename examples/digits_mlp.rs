//! A multilayer perceptron 64→128→128→10 with ReLU, softmax cross-entropy and Adam on handwritten digits, with a 60/20/20 split and hyperparameters picked on validation.
//!
//! The model and its narrative live in `crates/material/src/digits_mlp.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example digits_mlp` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::digits_mlp::run)
}
