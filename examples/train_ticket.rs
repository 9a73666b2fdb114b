//! Linear regression by gradient descent: a train ticket's price from the distance, f(x) = wx + b, fitted to (100 km, 30 €) and (500 km, 80 €) on the cost J = 1/(2m)Σ(f(x) − y)², with a learning rate that bounces and one that crawls.
//!
//! The model and its narrative live in `crates/material/src/train_ticket.rs`, written to be read top to
//! bottom; this file runs it. `cargo run --release --example train_ticket` prints the story and the
//! check; add `-- --json` for one JSON object of results.

fn main() -> std::process::ExitCode {
    chainrule::material::example_main(chainrule::material::train_ticket::run)
}
