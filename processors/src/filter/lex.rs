//! The tokens of an OTTL condition, and the lexer that makes them. A character that starts
//! no token weir reads is a [`ParseError`] naming it.

use super::ottl::{Op, ParseError};

/// One token of a condition.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Double(f64),
    Op(Op),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

/// The tokens of `text`, or why one character starts none.
pub(super) fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let err = |m: String| Err(ParseError(m));
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | '[' | ']' | ',' => {
                out.push(match c {
                    '(' => Token::LParen,
                    ')' => Token::RParen,
                    '[' => Token::LBracket,
                    ']' => Token::RBracket,
                    _ => Token::Comma,
                });
                i += 1;
            }
            '=' | '!' | '<' | '>' => {
                let (op, len) = match (c, next) {
                    ('=', Some('=')) => (Op::Eq, 2),
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    _ => {
                        return err(format!(
                            "not supported by weir: operator {c:?} (use ==, !=, <, <=, >, >=)"
                        ));
                    }
                };
                out.push(Token::Op(op));
                i += len;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return err("a string is not closed".into()),
                        Some('"') => break,
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some(&e) => s.push(e),
                                None => return err("a string is not closed".into()),
                            }
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push(Token::Str(s));
            }
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let start = i;
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == 'E')
                {
                    i += 1;
                }
                let num: String = chars[start..i].iter().collect();
                out.push(match num.parse::<i64>() {
                    Ok(n) => Token::Int(n),
                    Err(_) => Token::Double(
                        num.parse()
                            .map_err(|_| ParseError(format!("not a number: {num}")))?,
                    ),
                });
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                {
                    i += 1;
                }
                out.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => {
                return err(format!(
                    "not supported by weir: {other:?} (weir's filter runs comparisons, IsMatch, and, or, not)"
                ));
            }
        }
    }
    Ok(out)
}

/// A token as written, for messages.
pub(super) fn show(t: &Token) -> String {
    match t {
        Token::Ident(s) => s.clone(),
        Token::Str(s) => format!("{s:?}"),
        Token::Int(n) => n.to_string(),
        Token::Double(d) => d.to_string(),
        Token::Op(o) => format!("{o:?}"),
        Token::LParen => "(".into(),
        Token::RParen => ")".into(),
        Token::LBracket => "[".into(),
        Token::RBracket => "]".into(),
        Token::Comma => ",".into(),
    }
}
