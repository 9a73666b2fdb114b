//! The expression language of `chainrule explain` and `chainrule gradcheck`, its programs
//! (statements `name = expression` separated by `;` or new lines, see [`Program`]), and its
//! parser.
//!
//! Numbers, variables, `+ − * / ^`, unary minus, parentheses and the engine's public unary
//! functions, taken from its op table ([`UnaryOp::functions`]) so that every new op is usable
//! here: `name(x)`, or `name(x, number, …)` for a function with fixed numbers
//! (`leaky_relu(x, 0.1)`, `clamp(x, -1, 1)`), each number an expression without variables
//! (`powf(x, 1/3)`). The precedence is that of written math: `^` binds tightest and groups to
//! the right (`a^b^c = a^(b^c)`), then unary minus (`-x^2 = -(x^2)`), then `* /`, then `+ −`,
//! each of these grouping to the left.
//!
//! A hand-written recursive-descent parser, one function per level of precedence:
//!
//! ```text
//! sum     = product (("+" | "-") product)*
//! product = unary (("*" | "/") unary)*
//! unary   = "-" unary | power
//! power   = primary ("^" unary)?
//! primary = NUMBER | NAME | FUNCTION "(" sum ("," sum)* ")" | "(" sum ")"
//! ```
//!
//! Every node keeps the column where it starts, so errors can point at it.
//!
//! Nothing here recurses without bound. The parser's recursion goes one level deeper for each
//! parenthesis, call, unary minus or `^` still open, and it refuses to go deeper than
//! [`MAX_NESTING`] with a message; a long flat chain (`x+x+…+x`) is parsed by a loop. The tree it
//! builds may still be deep along such a chain, so every walk over it (here, in `eval`, and
//! dropping it) uses an explicit stack.

use std::fmt;

use chainrule::autodiff::ops::UnaryOp;

use super::eval;

/// How many parentheses, calls, unary minuses and powers may be open at once. Far more than
/// anyone writes by hand, and little enough that the parser's recursion fits in a small thread
/// stack (a test thread's 2 MiB).
pub const MAX_NESTING: usize = 256;

/// A parsed expression, with the column (0-based, in characters) where it starts.
///
/// Dropped with an explicit stack (see the `Drop` impl), so a tree as deep as a 30,000-term sum
/// does not overflow the native stack. `Debug` and `PartialEq` are derived (recursive): for
/// tests on small expressions only.
#[derive(Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub column: usize,
}

#[derive(Debug, PartialEq)]
pub enum ExprKind {
    Number(f64),
    Variable(String),
    Neg(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// One of the engine's unary functions, its fixed numbers already folded in.
    Call(UnaryOp<f64>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// A public unary function of the engine's op table: its name and the names of its fixed
/// numbers.
type Function = (&'static str, &'static [&'static str]);

/// The function called `name`, if the engine's table has one.
fn function(name: &str) -> Option<Function> {
    UnaryOp::<f64>::functions()
        .into_iter()
        .find(|(n, _)| *n == name)
}

/// How a function is written: `tanh(x)`, `clamp(x, min, max)`.
pub fn usage((name, numbers): Function) -> String {
    let mut usage = format!("{name}(x");
    for number in numbers {
        usage.push_str(", ");
        usage.push_str(number);
    }
    usage.push(')');
    usage
}

/// Every function of the language, as listed in messages: `exp, …, clamp(x, min, max), …`.
/// "unknown function 'sigmod'; did you mean sigmoid(x)?" for a near miss, else the list.
fn unknown_function(name: &str) -> String {
    let functions = UnaryOp::<f64>::functions();
    match chainrule_train::closest_name(name, functions.iter().map(|f| f.0)) {
        Some(closest) => {
            let function = function(closest).expect("a name from the table");
            format!(
                "unknown function '{name}'; did you mean {}?",
                usage(function)
            )
        }
        None => format!(
            "unknown function '{name}'; the functions are {}",
            function_list()
        ),
    }
}

fn function_list() -> String {
    UnaryOp::<f64>::functions()
        .into_iter()
        .map(|f| {
            if f.1.is_empty() {
                f.0.to_string()
            } else {
                usage(f)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Drop for Expr {
    fn drop(&mut self) {
        // Move the children out before this node goes, so each is dropped from the loop below
        // with no children of its own, rather than by the compiler's recursive drop glue.
        let mut pending: Vec<Expr> = Vec::new();
        take_children(self, &mut pending);
        while let Some(mut child) = pending.pop() {
            take_children(&mut child, &mut pending);
        }
    }
}

/// Moves `expr`'s children onto `into`, leaving it a leaf.
fn take_children(expr: &mut Expr, into: &mut Vec<Expr>) {
    match std::mem::replace(&mut expr.kind, ExprKind::Number(0.0)) {
        ExprKind::Number(_) | ExprKind::Variable(_) => {}
        ExprKind::Neg(x) | ExprKind::Call(_, x) => into.push(*x),
        ExprKind::Binary(_, a, b) => into.extend([*a, *b]),
    }
}

impl Expr {
    /// The variables, each once, in the order they first appear, with that column.
    pub fn variables(&self) -> Vec<(String, usize)> {
        let mut found: Vec<(String, usize)> = Vec::new();
        let mut pending = vec![self];
        while let Some(expr) = pending.pop() {
            match &expr.kind {
                ExprKind::Number(_) => {}
                ExprKind::Variable(name) => {
                    if !found.iter().any(|(n, _)| n == name) {
                        found.push((name.clone(), expr.column));
                    }
                }
                ExprKind::Neg(x) | ExprKind::Call(_, x) => pending.push(x),
                // Right first, so the left is taken first off the stack.
                ExprKind::Binary(_, a, b) => pending.extend([b.as_ref(), a.as_ref()]),
            }
        }
        found
    }
}

/// Why an expression does not parse, and the column (0-based, in characters) at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (column {})", self.message, self.column + 1)
    }
}

/// Parses a whole expression (the tests' entry; the program reads programs).
#[cfg(test)]
pub fn parse(source: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
    };
    if parser.peek().token == Token::End {
        return Err(parser.error_here("the expression is empty"));
    }
    let expr = parser.sum()?;
    match parser.peek().token {
        Token::End => Ok(expr),
        Token::RightParen => Err(parser.error_here("this ')' closes no '('")),
        _ => Err(parser.error_here(format!(
            "expected an operator (+ - * / ^) or the end of the expression, found {}",
            parser.peek().token
        ))),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LeftParen,
    RightParen,
    Comma,
    /// `=`, in `name = expression`.
    Assign,
    /// `;` or the end of a line outside parentheses: the end of a statement.
    Separator,
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(n) => write!(f, "the number {n}"),
            Token::Name(name) => write!(f, "'{name}'"),
            Token::Plus => f.write_str("'+'"),
            Token::Minus => f.write_str("'-'"),
            Token::Star => f.write_str("'*'"),
            Token::Slash => f.write_str("'/'"),
            Token::Caret => f.write_str("'^'"),
            Token::LeftParen => f.write_str("'('"),
            Token::RightParen => f.write_str("')'"),
            Token::Comma => f.write_str("','"),
            Token::Assign => f.write_str("'='"),
            Token::Separator => f.write_str("the end of the statement (';' or a new line)"),
            Token::End => f.write_str("the end of the expression"),
        }
    }
}

/// A program: statements separated by `;` or new lines, each `name = expression` (or
/// `name += expression`, and `-=`, `*=`, `/=`), the last one the output and possibly a bare
/// expression. A name stands for the node its statement made, so a value used twice is one node
/// read twice; assigning a name again makes a new node (shown as `c₂`, `c₃`, …).
#[derive(Debug)]
pub struct Program {
    pub statements: Vec<Statement>,
}

/// One statement of a [`Program`].
#[derive(Debug)]
pub struct Statement {
    /// The name it assigns, with its column; `None` for a bare expression (the last statement).
    pub target: Option<(String, usize)>,
    /// For `name += expression` and the like: the operator that combines the name's earlier
    /// node with the expression.
    pub update: Option<BinaryOp>,
    pub expr: Expr,
}

impl Program {
    /// The names the program reads before (or without) assigning them, each once, in the
    /// order they first appear, with that column: the variables that need `NAME=VALUE`.
    pub fn free_variables(&self) -> Vec<(String, usize)> {
        let mut assigned: Vec<&str> = Vec::new();
        let mut free: Vec<(String, usize)> = Vec::new();
        for statement in &self.statements {
            let mut used = statement.expr.variables();
            if let (Some((name, column)), Some(_)) = (&statement.target, statement.update) {
                used.insert(0, (name.clone(), *column));
            }
            for (name, column) in used {
                if !assigned.contains(&name.as_str()) && !free.iter().any(|(n, _)| *n == name) {
                    free.push((name, column));
                }
            }
            if let Some((name, _)) = &statement.target {
                assigned.push(name);
            }
        }
        free
    }

    /// Whether the program is one bare expression (so it reads as before programs existed).
    pub fn is_expression(&self) -> bool {
        self.statements.len() == 1 && self.statements[0].target.is_none()
    }
}

/// Parses a program (see [`Program`]); one expression alone is a program of one statement.
pub fn parse_program(source: &str) -> Result<Program, ParseError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
    };
    let mut statements: Vec<Statement> = Vec::new();
    loop {
        while parser.peek().token == Token::Separator {
            parser.advance();
        }
        if parser.peek().token == Token::End {
            break;
        }
        let start = parser.peek().column;
        if let Some(previous) = statements.last() {
            if previous.target.is_none() {
                return Err(ParseError {
                    column: previous.expr.column,
                    message: "this expression is not given a name, and only the last \
                              statement may be a bare expression (it is the output); write \
                              name = expression"
                        .into(),
                });
            }
        }
        let (target, update) = parser.target()?;
        let expr = parser.sum()?;
        match parser.peek().token {
            Token::End | Token::Separator => {}
            Token::RightParen => return Err(parser.error_here("this ')' closes no '('")),
            Token::Assign => {
                return Err(ParseError {
                    column: start,
                    message: "only a name can be assigned: write name = expression".into(),
                })
            }
            _ => {
                return Err(parser.error_here(format!(
                    "expected an operator (+ - * / ^) or the end of the statement, found {}",
                    parser.peek().token
                )))
            }
        }
        statements.push(Statement {
            target,
            update,
            expr,
        });
    }
    if statements.is_empty() {
        return Err(parser.error_here("the expression is empty"));
    }
    Ok(Program { statements })
}

#[derive(Clone, Debug)]
struct Spanned {
    token: Token,
    column: usize,
}

fn tokenize(source: &str) -> Result<Vec<Spanned>, ParseError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    // A new line inside parentheses continues the statement, as in Python.
    let mut open_parens = 0usize;
    while i < chars.len() {
        let c = chars[i];
        let column = i;
        if c == '#' {
            // A comment, to the end of the line.
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == ';' || (c == '\n' && open_parens == 0) {
            tokens.push(Spanned {
                token: Token::Separator,
                column,
            });
            i += 1;
            continue;
        }
        let single = match c {
            '+' => Some(Token::Plus),
            // The true minus sign too, as the traces print it.
            '-' | '−' => Some(Token::Minus),
            '*' | '·' | '×' => Some(Token::Star),
            '/' => Some(Token::Slash),
            '^' => Some(Token::Caret),
            '(' => Some(Token::LeftParen),
            ')' => Some(Token::RightParen),
            ',' => Some(Token::Comma),
            '=' => Some(Token::Assign),
            _ => None,
        };
        if let Some(token) = single {
            match token {
                Token::LeftParen => open_parens += 1,
                Token::RightParen => open_parens = open_parens.saturating_sub(1),
                _ => {}
            }
            if token == Token::Star && chars.get(i + 1) == Some(&'*') {
                return Err(ParseError {
                    column,
                    message: "'**' is not an operator here: write powers with '^' (x^2)".into(),
                });
            }
            tokens.push(Spanned { token, column });
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            // An exponent: e or E, an optional sign, digits.
            if i < chars.len() && matches!(chars[i], 'e' | 'E') {
                let mut j = i + 1;
                if j < chars.len() && matches!(chars[j], '+' | '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                }
            }
            let text: String = chars[start..i].iter().collect();
            let value = text.parse::<f64>().map_err(|_| ParseError {
                column,
                message: format!("'{text}' is not a number"),
            })?;
            // `1e999` reads as infinity; it would print back as a name, and no one means it.
            if !value.is_finite() {
                return Err(ParseError {
                    column,
                    message: format!("'{text}' is too large for an f64 (at most about 1.8e308)"),
                });
            }
            tokens.push(Spanned {
                token: Token::Number(value),
                column,
            });
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let name = chars[start..i].iter().collect();
            tokens.push(Spanned {
                token: Token::Name(name),
                column,
            });
        } else {
            return Err(ParseError {
                column,
                message: format!("unexpected character '{c}'"),
            });
        }
    }
    tokens.push(Spanned {
        token: Token::End,
        column: chars.len(),
    });
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
    /// How many `unary` calls are under way: every recursion of the grammar passes through
    /// `unary`, so this bounds the native stack.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Spanned {
        &self.tokens[self.next]
    }

    fn advance(&mut self) -> Spanned {
        let token = self.tokens[self.next].clone();
        if token.token != Token::End {
            self.next += 1;
        }
        token
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            column: self.peek().column,
            message: message.into(),
        }
    }

    fn binary(op: BinaryOp, a: Expr, b: Expr) -> Expr {
        Expr {
            column: a.column,
            kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
        }
    }

    /// `NAME "="` or `NAME ("+" | "-" | "*" | "/") "="` at the start of a statement, consumed;
    /// nothing (and nothing consumed) for a bare expression.
    #[allow(clippy::type_complexity)]
    fn target(&mut self) -> Result<(Option<(String, usize)>, Option<BinaryOp>), ParseError> {
        let Token::Name(name) = self.peek().token.clone() else {
            return Ok((None, None));
        };
        let column = self.peek().column;
        let after = |k: usize| self.tokens.get(self.next + k).map(|t| &t.token);
        let update = match (after(1), after(2)) {
            (Some(Token::Assign), _) => None,
            (Some(op), Some(Token::Assign)) => Some(match op {
                Token::Plus => BinaryOp::Add,
                Token::Minus => BinaryOp::Sub,
                Token::Star => BinaryOp::Mul,
                Token::Slash => BinaryOp::Div,
                _ => return Ok((None, None)),
            }),
            _ => return Ok((None, None)),
        };
        if function(&name).is_some() {
            return Err(ParseError {
                column,
                message: format!(
                    "{name} is a function, so it cannot be assigned; use another name"
                ),
            });
        }
        self.advance();
        if update.is_some() {
            self.advance();
        }
        self.advance();
        if matches!(self.peek().token, Token::Separator | Token::End) {
            return Err(self.error_here(format!("expected an expression after '{name} ='")));
        }
        Ok((Some((name, column)), update))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.product()?;
        loop {
            let op = match self.peek().token {
                Token::Plus => BinaryOp::Add,
                Token::Minus => BinaryOp::Sub,
                _ => return Ok(expr),
            };
            self.advance();
            expr = Self::binary(op, expr, self.product()?);
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.unary()?;
        loop {
            let op = match self.peek().token {
                Token::Star => BinaryOp::Mul,
                Token::Slash => BinaryOp::Div,
                _ => return Ok(expr),
            };
            self.advance();
            expr = Self::binary(op, expr, self.unary()?);
        }
    }

    /// `unary`, counted against [`MAX_NESTING`].
    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.depth == MAX_NESTING {
            return Err(self.error_here(format!(
                "the expression nests more than {MAX_NESTING} levels deep here (each '(', call, \
                 unary '-' and '^' still open is a level); write it with fewer levels"
            )));
        }
        self.depth += 1;
        let result = self.unary_unchecked();
        self.depth -= 1;
        result
    }

    fn unary_unchecked(&mut self) -> Result<Expr, ParseError> {
        if self.peek().token == Token::Minus {
            let column = self.advance().column;
            let operand = self.unary()?;
            return Ok(Expr {
                kind: ExprKind::Neg(Box::new(operand)),
                column,
            });
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, ParseError> {
        let base = self.primary()?;
        if self.peek().token != Token::Caret {
            return Ok(base);
        }
        self.advance();
        // The exponent is a unary: right-associative, and `2^-x` reads as `2^(-x)`.
        let exponent = self.unary()?;
        Ok(Self::binary(BinaryOp::Pow, base, exponent))
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let Spanned { token, column } = self.peek().clone();
        match token {
            Token::Number(value) => {
                self.advance();
                Ok(Expr {
                    kind: ExprKind::Number(value),
                    column,
                })
            }
            Token::Name(name) => {
                self.advance();
                let called = self.peek().token == Token::LeftParen;
                match (function(&name), called) {
                    (Some(function), true) => self.call(function, column),
                    (Some((_, [])), false) => Err(ParseError {
                        column,
                        message: format!("{name} is a function: write {name}(…)"),
                    }),
                    (Some((_, numbers)), false) => Err(ParseError {
                        column,
                        message: format!(
                            "{name} is a function: write {name}(…, {})",
                            numbers.join(", ")
                        ),
                    }),
                    (None, true) => Err(ParseError {
                        column,
                        message: unknown_function(&name),
                    }),
                    (None, false) => Ok(Expr {
                        kind: ExprKind::Variable(name),
                        column,
                    }),
                }
            }
            Token::LeftParen => self.parenthesized(),
            other => Err(self.error_here(format!(
                "expected a number, a variable, a function or '(', found {other}"
            ))),
        }
    }

    /// `"(" sum ("," sum)* ")"`, starting at the `(` after the function's name (at `column`):
    /// the argument, then exactly as many numbers as the function has, each an expression
    /// without variables, folded here.
    fn call(&mut self, function: Function, column: usize) -> Result<Expr, ParseError> {
        let (name, parameters) = function;
        let open = self.advance().column;
        let argument = self.sum()?;
        let mut numbers = Vec::with_capacity(parameters.len());
        while self.peek().token == Token::Comma {
            self.advance();
            let at = self.peek().column;
            let Some(parameter) = parameters.get(numbers.len()) else {
                return Err(ParseError {
                    column: at,
                    message: count_message(function, None),
                });
            };
            let expr = self.sum()?;
            if let Some((variable, variable_column)) = expr.variables().into_iter().next() {
                return Err(ParseError {
                    column: variable_column,
                    message: format!(
                        "the {parameter} of {name} must be a number or an expression of numbers \
                         only (like 0.1, -1 or 1/3), not the variable {variable}"
                    ),
                });
            }
            let value = eval::number(&expr);
            if !value.is_finite() {
                return Err(ParseError {
                    column: at,
                    message: format!(
                        "the {parameter} of {name} must be a finite number, but this is {value}"
                    ),
                });
            }
            numbers.push((value, at));
        }
        if self.peek().token != Token::RightParen {
            let expected = if parameters.is_empty() {
                "')'"
            } else {
                "',' or ')'"
            };
            return Err(self.error_here(format!(
                "expected {expected} to close the '(' of column {}, found {}",
                open + 1,
                self.peek().token
            )));
        }
        if numbers.len() < parameters.len() {
            return Err(self.error_here(count_message(function, Some(numbers.len()))));
        }
        self.advance();
        let values: Vec<f64> = numbers.iter().map(|(value, _)| *value).collect();
        let op = UnaryOp::by_name(name, &values)
            .expect("a function of the table, given as many numbers as it has");
        // The engine refuses an empty interval (it panics); say so here instead.
        if let UnaryOp::Clamp { min, max } = op {
            if min > max {
                return Err(ParseError {
                    column: numbers[0].1,
                    message: format!("clamp needs min ≤ max, but min is {min} and max is {max}"),
                });
            }
        }
        Ok(Expr {
            kind: ExprKind::Call(op, Box::new(argument)),
            column,
        })
    }

    /// `"(" sum ")"`, starting at the `(`.
    fn parenthesized(&mut self) -> Result<Expr, ParseError> {
        let open = self.advance().column;
        let inner = self.sum()?;
        if self.peek().token != Token::RightParen {
            return Err(self.error_here(format!(
                "expected ')' to close the '(' of column {}, found {}",
                open + 1,
                self.peek().token
            )));
        }
        self.advance();
        Ok(inner)
    }
}

/// That `function` was given `found` numbers after its argument (`None`: more than it has), not
/// as many as it has.
fn count_message(function: Function, found: Option<usize>) -> String {
    let (name, parameters) = function;
    let takes = match parameters.len() {
        0 => "no numbers, only its argument".to_string(),
        1 => format!("1 number after its argument ({})", parameters[0]),
        n => format!("{n} numbers after its argument ({})", parameters.join(", ")),
    };
    let found = found.map_or("more".to_string(), |n| n.to_string());
    format!(
        "{name} takes {takes}, found {found}: write {}",
        usage(function)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expression written back with every operation in parentheses.
    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Number(n) => n.to_string(),
            ExprKind::Variable(v) => v.clone(),
            ExprKind::Neg(x) => format!("(-{})", show(x)),
            ExprKind::Call(op, x) => format!("{}({})", op.name(), show(x)),
            ExprKind::Binary(op, a, b) => {
                let op = match op {
                    BinaryOp::Add => "+",
                    BinaryOp::Sub => "-",
                    BinaryOp::Mul => "*",
                    BinaryOp::Div => "/",
                    BinaryOp::Pow => "^",
                };
                format!("({} {op} {})", show(a), show(b))
            }
        }
    }

    fn shape(source: &str) -> String {
        show(&parse(source).unwrap())
    }

    fn error(source: &str) -> (usize, String) {
        let e = parse(source).unwrap_err();
        (e.column, e.message)
    }

    #[test]
    fn precedence_follows_written_math() {
        assert_eq!(shape("a*b + a"), "((a * b) + a)");
        assert_eq!(shape("a - b - c"), "((a - b) - c)");
        assert_eq!(shape("a / b * c"), "((a / b) * c)");
        assert_eq!(shape("-x^2"), "(-(x ^ 2))");
        assert_eq!(shape("a^b^c"), "(a ^ (b ^ c))");
        assert_eq!(shape("2^-x"), "(2 ^ (-x))");
        assert_eq!(shape("--x"), "(-(-x))");
        assert_eq!(shape("-a*b"), "((-a) * b)");
        assert_eq!(shape("tanh(w*x + b)"), "tanh(((w * x) + b))");
        assert_eq!(shape("(a + b) * c"), "((a + b) * c)");
        assert_eq!(shape("1.5e-3 * x_1"), "(0.0015 * x_1)");
        assert_eq!(shape("a − b · c"), "(a - (b * c))");
    }

    #[test]
    fn variables_in_order_of_first_appearance() {
        let e = parse("b*a + exp(b) - c").unwrap();
        let names: Vec<_> = e.variables();
        assert_eq!(names, [("b".into(), 0), ("a".into(), 2), ("c".into(), 15)]);
    }

    #[test]
    fn errors_point_at_the_offending_column() {
        assert_eq!(error("a*b +").0, 5);
        assert!(error("a*b +").1.contains("found the end of the expression"));
        assert_eq!(error("2x").0, 1);
        assert_eq!(error("(a + b").0, 6);
        assert!(error("(a + b").1.contains("close the '(' of column 1"));
        assert_eq!(error("a + b)").0, 5);
        assert_eq!(error("a $ b").0, 2);
        assert!(error("foo(x)").1.contains("unknown function 'foo'"));
        // A near miss is named, with how it is written.
        assert_eq!(error("sigmod(x)").0, 0);
        assert!(error("1 + sigmod(x)")
            .1
            .ends_with("unknown function 'sigmod'; did you mean sigmoid(x)?"));
        assert!(error("Tanh(x)").1.contains("did you mean tanh(x)?"));
        assert!(error("leaky_rel(x, 0.1)")
            .1
            .contains("did you mean leaky_relu(x, slope)?"));
        assert!(!error("foo(x)").1.contains("did you mean"));
        assert!(error("exp + 1").1.contains("exp is a function"));
        assert_eq!(error("1.2.3 + x").0, 0);
        assert!(error("x**2").1.contains("'^'"));
        assert!(error("   ").1.contains("empty"));
        assert_eq!(error("tanh(x").0, 6);
    }

    /// The call at the top of `source`: its op and its argument's shape.
    fn call(source: &str) -> (UnaryOp<f64>, String) {
        match &parse(source).unwrap().kind {
            ExprKind::Call(op, x) => (*op, show(x)),
            other => panic!("{source} is not a call: {other:?}"),
        }
    }

    #[test]
    fn every_function_of_the_engine_table_parses() {
        let functions = UnaryOp::<f64>::functions();
        assert!(functions.len() >= 17, "{functions:?}");
        for (name, parameters) in functions {
            let mut source = format!("{name}(x");
            for _ in parameters {
                source.push_str(", 0.5");
            }
            source.push(')');
            let numbers = vec![0.5; parameters.len()];
            let expected = UnaryOp::by_name(name, &numbers).unwrap();
            assert_eq!(call(&source), (expected, "x".to_string()), "{source}");
            assert_eq!(
                parse(&source).unwrap().variables(),
                [("x".into(), name.len() + 1)]
            );
            // Used without a call, the name is a function, not a variable.
            assert!(
                error(name).1.contains(&format!("{name} is a function")),
                "{name}"
            );
        }
    }

    #[test]
    fn fixed_numbers_are_expressions_of_numbers_folded_in() {
        assert_eq!(
            call("leaky_relu(x, 0.1)").0,
            UnaryOp::LeakyRelu { slope: 0.1 }
        );
        assert_eq!(
            call("clamp(x, -1, 1)").0,
            UnaryOp::Clamp {
                min: -1.0,
                max: 1.0
            }
        );
        assert_eq!(
            call("powf(y, 1/4)"),
            (UnaryOp::Powf { exponent: 0.25 }, "y".into())
        );
        assert_eq!(
            call("powf(x, 2^3 - ln(1))").0,
            UnaryOp::Powf { exponent: 8.0 }
        );
        assert_eq!(
            shape("2 * clamp(x - 1, 0, 1)^2"),
            "(2 * (clamp((x - 1)) ^ 2))"
        );
        assert_eq!(
            parse("softplus(x) * gelu(y)").unwrap().variables(),
            [("x".into(), 9), ("y".into(), 19)]
        );
    }

    #[test]
    fn wrong_calls_say_what_the_function_takes() {
        let (column, message) = error("leaky_relu(x)");
        assert_eq!(column, 12);
        assert!(
            message.contains("leaky_relu takes 1 number after its argument (slope), found 0")
                && message.contains("write leaky_relu(x, slope)"),
            "{message}"
        );
        let (column, message) = error("clamp(x, 1)");
        assert_eq!(column, 10);
        assert!(message.contains("2 numbers after its argument (min, max), found 1"));
        let (column, message) = error("tanh(x, 2)");
        assert_eq!(column, 8);
        assert!(message.contains("tanh takes no numbers, only its argument, found more"));
        assert!(message.contains("write tanh(x)"), "{message}");
        assert_eq!(error("powf(x, 2, 3)").0, 11);
        // The numbers are numbers.
        let (column, message) = error("leaky_relu(x, 2*y)");
        assert_eq!(column, 16);
        assert!(message.contains("the slope of leaky_relu must be a number"));
        assert!(message.contains("not the variable y"), "{message}");
        let (column, message) = error("powf(x, 1/0)");
        assert_eq!(column, 8);
        assert!(message.contains("must be a finite number, but this is inf"));
        let (column, message) = error("clamp(x, 1, -1)");
        assert_eq!(column, 9);
        assert!(message.contains("min ≤ max"), "{message}");
        // Unknown names list the table, numbers included.
        let message = error("foo(x)").1;
        assert!(
            message.contains("exp, ln") && message.contains("clamp(x, min, max)"),
            "{message}"
        );
        assert!(error("leaky_relu + 1")
            .1
            .contains("write leaky_relu(…, slope)"));
        // A comma anywhere else.
        assert_eq!(error("(x, 1)").0, 2);
        assert!(error("leaky_relu(x 0.1)").1.contains("expected ',' or ')'"));
        assert!(error("x, y").1.contains("found ','"));
    }

    #[test]
    fn programs_are_statements_separated_by_semicolons_or_new_lines() {
        let program =
            parse_program("z = 2*x # a comment\nq = z*(x\n + 1); z += q\n\nz - y").unwrap();
        let targets: Vec<_> = program
            .statements
            .iter()
            .map(|s| (s.target.clone().map(|t| t.0), s.update))
            .collect();
        assert_eq!(
            targets,
            [
                (Some("z".to_string()), None),
                (Some("q".to_string()), None),
                (Some("z".to_string()), Some(BinaryOp::Add)),
                (None, None)
            ]
        );
        // A new line inside parentheses continues the statement.
        assert_eq!(show(&program.statements[1].expr), "(z * (x + 1))");
        // x is read before any statement assigns it, y never is: both need values; z is the
        // program's own.
        let free: Vec<String> = program.free_variables().into_iter().map(|v| v.0).collect();
        assert_eq!(free, ["x", "y"]);
        assert!(!program.is_expression());
        assert!(parse_program("x*2").unwrap().is_expression());
        let error = parse_program("a = x\nx + 1\ny = a").unwrap_err();
        assert!(error.message.contains("only the last statement"), "{error}");
        assert_eq!(parse_program("a = ").unwrap_err().column, 4);
        assert!(parse_program(" ;\n ")
            .unwrap_err()
            .message
            .contains("empty"));
        assert!(parse_program("2 = x")
            .unwrap_err()
            .message
            .contains("only a name"));
    }
}
