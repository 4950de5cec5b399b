//! The subset of OTTL conditions weir's `filter` runs, parsed into an expression tree.
//!
//! Grammar (whitespace between tokens is free):
//! ```text
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand)?
//! operand := "(" or ")" | "IsMatch" "(" operand "," string ")" | literal | ENUM | path
//! path    := ident ("." ident)* ("[" string "]")?
//! literal := string | int | float | true | false | nil
//! ```
//! Paths are checked against the context (`span`, `spanevent`, `log_record`, `metric`,
//! `datapoint`) when parsed. Anything else (other functions, converters, arithmetic, lists,
//! maps, unknown paths or enums) is a [`ParseError`] naming the construct. Nothing here
//! evaluates: see `eval.rs`.

use regex::Regex;

use super::lex::{Token, lex, show};

/// Why a condition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// What a path reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// `name` (span, span event, metric).
    Name,
    /// `kind` (span): the numeric span kind.
    Kind,
    /// `severity_number` (log record).
    SeverityNumber,
    /// `severity_text` (log record).
    SeverityText,
    /// `body` (log record): a string body.
    Body,
    /// `attributes["k"]`.
    Attribute(String),
    /// `resource.attributes["k"]`.
    ResourceAttribute(String),
    /// `instrumentation_scope.name`.
    ScopeName,
    /// `metric.name` (data point).
    MetricName,
    /// `span.name` (span event).
    SpanName,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `nil`: what an absent attribute reads as.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer (enums read as integers).
    Int(i64),
    /// A float.
    Double(f64),
    /// A string.
    Str(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A path into the record.
    Field(Field),
    /// A literal.
    Literal(Literal),
}

/// A parsed condition.
#[derive(Debug, Clone)]
pub enum Expr {
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// `a <op> b`.
    Compare(Operand, Op, Operand),
    /// `IsMatch(target, "regex")`.
    IsMatch(Operand, Regex),
    /// A bare operand used as a condition (`true`, or a boolean attribute).
    Value(Operand),
}

/// The record kind a condition runs on, which decides the paths it may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// `traces.span`.
    Span,
    /// `traces.spanevent`.
    SpanEvent,
    /// `logs.log_record`.
    LogRecord,
    /// `metrics.metric`.
    Metric,
    /// `metrics.datapoint`.
    DataPoint,
}

impl Context {
    /// The paths this context reads, as written, for messages.
    fn paths(self) -> &'static str {
        match self {
            Context::Span => {
                "name, kind, attributes[\"k\"], resource.attributes[\"k\"], instrumentation_scope.name"
            }
            Context::SpanEvent => {
                "name, attributes[\"k\"], span.name, resource.attributes[\"k\"], instrumentation_scope.name"
            }
            Context::LogRecord => {
                "severity_number, severity_text, body, attributes[\"k\"], resource.attributes[\"k\"], instrumentation_scope.name"
            }
            Context::Metric => "name, resource.attributes[\"k\"], instrumentation_scope.name",
            Context::DataPoint => {
                "attributes[\"k\"], metric.name, resource.attributes[\"k\"], instrumentation_scope.name"
            }
        }
    }

    /// The field `path` (with its `["k"]` key, if any) names here.
    fn field(self, path: &str, key: Option<String>) -> Option<Field> {
        use Context::*;
        Some(match (path, key, self) {
            ("attributes", Some(k), Span | SpanEvent | LogRecord | DataPoint) => {
                Field::Attribute(k)
            }
            ("resource.attributes", Some(k), _) => Field::ResourceAttribute(k),
            (_, Some(_), _) => return None,
            ("name", None, Span | SpanEvent | Metric) => Field::Name,
            ("kind", None, Span) => Field::Kind,
            ("severity_number", None, LogRecord) => Field::SeverityNumber,
            ("severity_text", None, LogRecord) => Field::SeverityText,
            ("body", None, LogRecord) => Field::Body,
            ("instrumentation_scope.name", None, _) => Field::ScopeName,
            ("metric.name", None, DataPoint) => Field::MetricName,
            ("span.name", None, SpanEvent) => Field::SpanName,
            _ => return None,
        })
    }
}

/// The enums OTTL names, as their numbers.
fn enum_value(name: &str) -> Option<i64> {
    const KINDS: [&str; 6] = [
        "UNSPECIFIED",
        "INTERNAL",
        "SERVER",
        "CLIENT",
        "PRODUCER",
        "CONSUMER",
    ];
    const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    if let Some(k) = name.strip_prefix("SPAN_KIND_") {
        return KINDS.iter().position(|x| *x == k).map(|i| i as i64);
    }
    let s = name.strip_prefix("SEVERITY_NUMBER_")?;
    if s == "UNSPECIFIED" {
        return Some(0);
    }
    let (level, n) = match s.find(|c: char| c.is_ascii_digit()) {
        Some(i) => (
            &s[..i],
            s[i..].parse::<i64>().ok().filter(|n| (2..=4).contains(n))?,
        ),
        None => (s, 1),
    };
    let base = LEVELS.iter().position(|x| *x == level)? as i64;
    Some(base * 4 + n)
}

/// Parses one condition for `context`.
pub fn parse(text: &str, context: Context) -> Result<Expr, ParseError> {
    let mut p = Parser {
        tokens: lex(text)?,
        at: 0,
        context,
    };
    let e = p.or()?;
    match p.tokens.get(p.at) {
        None => Ok(e),
        Some(t) => Err(ParseError(format!(
            "unexpected {} after the condition",
            show(t)
        ))),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    context: Context,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        let t = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| ParseError("the condition ends too early".into()))?;
        self.at += 1;
        Ok(t)
    }

    fn expect(&mut self, want: &Token) -> Result<(), ParseError> {
        let t = self.next()?;
        if &t == want {
            Ok(())
        } else {
            Err(ParseError(format!(
                "expected {} but found {}",
                show(want),
                show(&t)
            )))
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(w)) if w == word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.and()?;
        while self.keyword("or") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.not()?;
        while self.keyword("and") {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, ParseError> {
        if self.peek() == Some(&Token::LParen) {
            self.at += 1;
            let e = self.or()?;
            self.expect(&Token::RParen)?;
            return Ok(e);
        }
        if matches!(self.peek(), Some(Token::Ident(w)) if w == "IsMatch") {
            self.at += 1;
            self.expect(&Token::LParen)?;
            let target = self.operand()?;
            self.expect(&Token::Comma)?;
            let pattern = match self.next()? {
                Token::Str(s) => s,
                t => {
                    return Err(ParseError(format!(
                        "IsMatch takes a string pattern, not {}",
                        show(&t)
                    )));
                }
            };
            self.expect(&Token::RParen)?;
            let re = Regex::new(&pattern)
                .map_err(|e| ParseError(format!("IsMatch: not a valid regex: {e}")))?;
            return Ok(Expr::IsMatch(target, re));
        }
        let left = self.operand()?;
        if let Some(Token::Op(op)) = self.peek().cloned() {
            self.at += 1;
            let right = self.operand()?;
            return Ok(Expr::Compare(left, op, right));
        }
        Ok(Expr::Value(left))
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let lit = |l| Ok(Operand::Literal(l));
        match self.next()? {
            Token::Str(s) => lit(Literal::Str(s)),
            Token::Int(n) => lit(Literal::Int(n)),
            Token::Double(d) => lit(Literal::Double(d)),
            Token::Ident(w) if w == "true" || w == "false" => lit(Literal::Bool(w == "true")),
            Token::Ident(w) if w == "nil" => lit(Literal::Nil),
            Token::Ident(w) if w.chars().next().is_some_and(|c| c.is_ascii_uppercase()) => {
                if self.peek() == Some(&Token::LParen) {
                    return Err(ParseError(format!(
                        "not supported by weir: function {w} (weir's filter runs IsMatch, comparisons, and, or, not)"
                    )));
                }
                match enum_value(&w) {
                    Some(n) => lit(Literal::Int(n)),
                    None => Err(ParseError(format!("not supported by weir: enum {w}"))),
                }
            }
            Token::Ident(path) => {
                if self.peek() == Some(&Token::LParen) {
                    return Err(ParseError(format!(
                        "not supported by weir: function {path} (weir's filter runs IsMatch, comparisons, and, or, not)"
                    )));
                }
                let key = if self.peek() == Some(&Token::LBracket) {
                    self.at += 1;
                    let k = match self.next()? {
                        Token::Str(s) => s,
                        t => {
                            return Err(ParseError(format!(
                                "a key in [] must be a string, not {}",
                                show(&t)
                            )));
                        }
                    };
                    self.expect(&Token::RBracket)?;
                    if self.peek() == Some(&Token::LBracket) {
                        return Err(ParseError(format!(
                            "not supported by weir: nested keys in {path}[{k:?}][…]"
                        )));
                    }
                    Some(k)
                } else {
                    None
                };
                let shown = match &key {
                    Some(k) => format!("{path}[{k:?}]"),
                    None => path.clone(),
                };
                self.context
                    .field(&path, key)
                    .map(Operand::Field)
                    .ok_or_else(|| {
                        ParseError(format!(
                            "not supported by weir: path {shown} here (weir reads {})",
                            self.context.paths()
                        ))
                    })
            }
            t => Err(ParseError(format!("unexpected {}", show(&t)))),
        }
    }
}
