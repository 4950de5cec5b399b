//! The `filter` processor's condition lists as the config reads them: each condition parsed
//! once, for the context of its list (`traces.span`, `logs.log_record`, …), so that the processor
//! takes parsed conditions.
//!
//! How it fails: a condition weir does not run fails the reading at its index
//! (`traces.span[1]`), with what is not supported and the condition as written; the config
//! loader reports it with file and line.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::ottl::{self, Context, Expr};

/// One parsed condition and its text. Two conditions are equal when their texts are.
#[derive(Clone)]
pub struct Condition {
    text: String,
    expr: Expr,
}

impl Condition {
    /// Parses `text` for `context`; the message names what weir does not run and quotes `text`.
    pub(super) fn parse(text: &str, context: Context) -> Result<Self, String> {
        match ottl::parse(text, context) {
            Ok(expr) => Ok(Self {
                text: text.to_owned(),
                expr,
            }),
            Err(e) => Err(format!("{e}; in {text:?}")),
        }
    }

    /// The condition as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed condition.
    pub(super) fn expr(&self) -> &Expr {
        &self.expr
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// Reads a list of conditions for `context`, each item on its own (so an error names its index).
fn read<'de, D: Deserializer<'de>>(d: D, context: Context) -> Result<Vec<Condition>, D::Error> {
    d.deserialize_seq(List(context))
}

/// The list visitor.
struct List(Context);

impl<'de> Visitor<'de> for List {
    type Value = Vec<Condition>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of conditions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(c) = seq.next_element_seed(One(self.0))? {
            out.push(c);
        }
        Ok(out)
    }
}

/// One item of a list.
struct One(Context);

impl<'de> DeserializeSeed<'de> for One {
    type Value = Condition;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Condition, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        Condition::parse(&text, self.0).map_err(de::Error::custom)
    }
}

/// `traces.span` (serde's `deserialize_with`).
pub(super) fn span<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Condition>, D::Error> {
    read(d, Context::Span)
}

/// `traces.spanevent`.
pub(super) fn spanevent<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Condition>, D::Error> {
    read(d, Context::SpanEvent)
}

/// `logs.log_record`.
pub(super) fn log_record<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Condition>, D::Error> {
    read(d, Context::LogRecord)
}

/// `metrics.metric`.
pub(super) fn metric<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Condition>, D::Error> {
    read(d, Context::Metric)
}

/// `metrics.datapoint`.
pub(super) fn datapoint<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Condition>, D::Error> {
    read(d, Context::DataPoint)
}
