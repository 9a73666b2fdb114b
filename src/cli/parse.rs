//! The expression language of `chainrule explain` and `chainrule gradcheck`, and its parser.
//!
//! Numbers, variables, `+ − * / ^`, unary minus, parentheses and the functions
//! `exp ln sqrt tanh sigmoid relu abs`, with the precedence of written math: `^` binds tightest
//! and groups to the right (`a^b^c = a^(b^c)`), then unary minus (`-x^2 = -(x^2)`), then
//! `* /`, then `+ −`, each of these grouping to the left.
//!
//! A hand-written recursive-descent parser, one function per level of precedence:
//!
//! ```text
//! sum     = product (("+" | "-") product)*
//! product = unary (("*" | "/") unary)*
//! unary   = "-" unary | power
//! power   = primary ("^" unary)?
//! primary = NUMBER | NAME | FUNCTION "(" sum ")" | "(" sum ")"
//! ```
//!
//! Every node keeps the column where it starts, so errors can point at it.

use std::fmt;

/// A parsed expression, with the column (0-based, in characters) where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(f64),
    Variable(String),
    Neg(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Call(Function, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// The functions of the language, each a method of the engine's `Var`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    Exp,
    Ln,
    Sqrt,
    Tanh,
    Sigmoid,
    Relu,
    Abs,
}

impl Function {
    pub const ALL: [Function; 7] = [
        Function::Exp,
        Function::Ln,
        Function::Sqrt,
        Function::Tanh,
        Function::Sigmoid,
        Function::Relu,
        Function::Abs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Exp => "exp",
            Function::Ln => "ln",
            Function::Sqrt => "sqrt",
            Function::Tanh => "tanh",
            Function::Sigmoid => "sigmoid",
            Function::Relu => "relu",
            Function::Abs => "abs",
        }
    }

    fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
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

/// Parses a whole expression.
pub fn parse(source: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser { tokens, next: 0 };
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
            Token::End => f.write_str("the end of the expression"),
        }
    }
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
    while i < chars.len() {
        let c = chars[i];
        let column = i;
        let single = match c {
            '+' => Some(Token::Plus),
            // The true minus sign too, as the traces print it.
            '-' | '−' => Some(Token::Minus),
            '*' | '·' | '×' => Some(Token::Star),
            '/' => Some(Token::Slash),
            '^' => Some(Token::Caret),
            '(' => Some(Token::LeftParen),
            ')' => Some(Token::RightParen),
            _ => None,
        };
        if let Some(token) = single {
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

    fn unary(&mut self) -> Result<Expr, ParseError> {
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
                match (Function::from_name(&name), called) {
                    (Some(function), true) => {
                        let argument = self.parenthesized()?;
                        Ok(Expr {
                            kind: ExprKind::Call(function, Box::new(argument)),
                            column,
                        })
                    }
                    (Some(_), false) => Err(ParseError {
                        column,
                        message: format!("{name} is a function: write {name}(…)"),
                    }),
                    (None, true) => Err(ParseError {
                        column,
                        message: format!(
                            "unknown function '{name}'; the functions are {}",
                            Function::ALL.map(Function::name).join(", ")
                        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The expression written back with every operation in parentheses.
    fn shape(source: &str) -> String {
        fn show(e: &Expr) -> String {
            match &e.kind {
                ExprKind::Number(n) => n.to_string(),
                ExprKind::Variable(v) => v.clone(),
                ExprKind::Neg(x) => format!("(-{})", show(x)),
                ExprKind::Call(f, x) => format!("{}({})", f.name(), show(x)),
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
        assert!(error("exp + 1").1.contains("exp is a function"));
        assert_eq!(error("1.2.3 + x").0, 0);
        assert!(error("x**2").1.contains("'^'"));
        assert!(error("   ").1.contains("empty"));
        assert_eq!(error("tanh(x").0, 6);
    }
}
