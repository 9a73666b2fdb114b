//! A convolutional network on the 8×8 digits beside the multilayer perceptron: test accuracy
//! and parameter count side by side, one learned 3×3 filter and its feature map.
//!
//! The model and its narrative live in `crates/material/src/cnn_digits.rs`, written to be read
//! top to bottom; this file runs it. `cargo run --release --example cnn_digits` prints the story
//! and the check; add `-- --json` for one JSON object of results, `-- --plot FILE` for an SVG
//! picture of the image, the filter and its feature map.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main_with_plot(chainrule::material::cnn_digits::run_with_plot)
}
