//! Recurrent networks trained by backpropagation through time: an LSTM remembers across a long sequence where a plain RNN does not.
//!
//! The model and its narrative live in `crates/material/src/lstm.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example lstm` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::lstm::run)
}
