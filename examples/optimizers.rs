//! The optimizers side by side: GD, SGD, momentum, RMSProp, Adam and AdamW on one problem.
//!
//! The model and its narrative live in `crates/material/src/optimizers.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example optimizers` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::optimizers::run)
}
