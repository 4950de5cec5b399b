//! A regex as the processors' configs read it: compiled once, when the config is read, so a
//! processor's constructor takes a pattern it cannot find wrong (`redaction`'s pattern lists,
//! `attributes`' `pattern`).
//!
//! How it fails: text that is not a regex fails the reading with a [`PatternError`] whose message
//! is one line (`invalid regex: …`, without the regex crate's caret diagram); the config loader
//! reports it at the key, with file and line.

use std::fmt;
use std::str::FromStr;

use regex::Regex;
use serde::{Deserialize, Deserializer, de};

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(String);

/// A compiled regex and the text it was compiled from. Two patterns are equal when their texts
/// are.
#[derive(Clone)]
pub struct Pattern {
    text: String,
    regex: Regex,
}

impl Pattern {
    /// The compiled regex.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let regex = Regex::new(text).map_err(|e| PatternError(regex_error(&e)))?;
        Ok(Self {
            text: text.to_owned(),
            regex,
        })
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.text).finish()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// A regex error on one line (the regex crate draws a caret diagram over several).
pub(crate) fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or_default();
    format!("invalid regex: {}", last.trim_start_matches("error: "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_compiles_once_and_a_bad_one_says_why_on_one_line() {
        let p: Pattern = "^a+$".parse().expect("compiles");
        assert!(p.regex().is_match("aaa"));
        assert_eq!(p.as_str(), "^a+$");
        assert_eq!(p, "^a+$".parse::<Pattern>().expect("compiles"));
        let err = "(".parse::<Pattern>().expect_err("unclosed group");
        let text = err.to_string();
        assert!(text.starts_with("invalid regex: "), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    #[test]
    fn reading_a_list_names_the_bad_item() {
        let err = crate::read_error::read_error::<Vec<Pattern>>("['a', '[']");
        assert!(err.starts_with("[1]: invalid regex: "), "{err}");
    }
}
