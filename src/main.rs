//! `chainrule`: backpropagation explained from the command line.
//!
//! `chainrule explain "tanh(w*x + b)" x=0.5 w=-1 b=2` prints the forward values, every
//! chain-rule step of the backward pass and the gradients; `chainrule gradcheck …` compares
//! the gradients with finite differences; `chainrule train DATA.csv --target COLUMN` trains an
//! MLP on a CSV file and `chainrule predict MODEL DATA.csv` runs the saved model on new rows.
//! With no arguments (or `chainrule tour`) it runs the tour of the material: every example
//! model trained and checked against its independent answer, one line each.
//! `chainrule --help` and `chainrule <command> --help` say more.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
