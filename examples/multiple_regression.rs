//! Multiple regression over feature vectors on the diabetes data, standardised, with and without the L2 penalty λ/(2m)Σw² (the bias is not regularised); checked against the normal equations.
//!
//! The model and its narrative live in `crates/material/src/multiple_regression.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example multiple_regression` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::multiple_regression::run)
}
