//! Vanishing gradients in a deep sigmoid network, and the skip connections (residual and highway) that let gradients through.
//!
//! The model and its narrative live in `crates/material/src/vanishing_gradients.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example vanishing_gradients` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::vanishing_gradients::run)
}
