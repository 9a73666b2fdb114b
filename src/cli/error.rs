//! What can be wrong with a command line's input, each said in one message that names what and
//! where. All of them end the program with exit status 2, as clap's own usage errors do.

use std::io;
use std::path::PathBuf;

use super::parse::ParseError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot parse the expression: {error}\n{}", pointer(expression, error.column))]
    Parse {
        expression: String,
        error: ParseError,
    },

    #[error(
        "no value given for the variable {name} (column {} of the expression); add {name}=NUMBER\n{}",
        column + 1,
        pointer(expression, *column)
    )]
    MissingValue {
        name: String,
        column: usize,
        expression: String,
    },

    #[error(
        "the variable {name} (column {} of the expression) would read as a graph node, which \
         are named n0, n1, …; call it something else\n{}",
        column + 1,
        pointer(expression, *column)
    )]
    NodeName {
        name: String,
        column: usize,
        expression: String,
    },

    #[error(
        "{argument:?} gives a value for a variable that the expression {expression:?} does not use"
    )]
    UnusedValue {
        argument: String,
        expression: String,
    },

    #[error("{argument:?} is not a variable's value: {reason}")]
    MalformedValue { argument: String, reason: String },

    #[error("the variable {name} is given twice: {first:?} and {second:?}")]
    GivenTwice {
        name: String,
        first: String,
        second: String,
    },

    #[error(
        "the expression {expression:?} has no variables, so there is nothing to differentiate; \
         write it in variables and give their values (x^2 x=3)"
    )]
    NoVariables { expression: String },

    #[error("cannot write the {what} file {}: {error}", path.display())]
    Write {
        what: &'static str,
        path: PathBuf,
        error: io::Error,
    },
}

/// The expression on one line and a caret under the column at fault.
fn pointer(expression: &str, column: usize) -> String {
    format!("  {expression}\n  {}^", " ".repeat(column))
}
