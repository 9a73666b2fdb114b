//! Logistic regression on 30 real features of the breast-cancer data with L2 regularisation, checked on held-out data.
//!
//! The model and its narrative live in `crates/material/src/breast_cancer.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example breast_cancer` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::breast_cancer::run)
}
