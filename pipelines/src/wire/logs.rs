//! Log records on the wire: the byte ranges of a record's severity text, ids and event name,
//! its body and its attributes in the view's list. Fails as [`super::schema::walk`] does.

use std::ops::Range;

use super::WireError;
use super::attrs::{Value, any_value, read_one};
use super::reader::Field;
use super::schema;
use super::view::{Nest, Parts, Record, View};

/// A logs export request as received, with its index.
pub type LogView = View<LogIdx>;

/// One `LogRecord`: the byte ranges of its fields (empty when absent) and its attributes.
#[derive(Debug, Clone)]
pub struct LogIdx {
    /// Its scope, in [`View::scopes`].
    pub scope: usize,
    /// The `LogRecord` field.
    pub field: Nest,
    /// `severity_number`.
    pub severity_number: i32,
    /// `severity_text`.
    pub severity_text: Range<usize>,
    /// The `body` field, when present.
    pub body_field: Option<Nest>,
    /// The body's value.
    pub body: Value,
    /// `trace_id`.
    pub trace_id: Range<usize>,
    /// `span_id`.
    pub span_id: Range<usize>,
    /// `event_name`.
    pub event_name: Range<usize>,
    /// Its attributes, in [`Parts::attrs`].
    pub attrs: Range<usize>,
}

impl Record for LogIdx {
    const REQUEST: &'static schema::Msg = &schema::LOGS_REQUEST;
    const RESOURCE_LEVEL: &'static schema::Msg = &schema::RESOURCE_LOGS;
    const SCOPE_LEVEL: &'static schema::Msg = &schema::SCOPE_LOGS;

    fn read(
        buf: &[u8],
        lr: &Field,
        scope: usize,
        depth: usize,
        parts: &mut Parts,
    ) -> Result<Self, WireError> {
        let empty = lr.value.start..lr.value.start;
        let mut idx = LogIdx {
            scope,
            field: Nest::of(lr),
            severity_number: 0,
            severity_text: empty.clone(),
            body_field: None,
            body: Value::Empty,
            trace_id: empty.clone(),
            span_id: empty.clone(),
            event_name: empty,
            attrs: parts.attrs.len()..parts.attrs.len(),
        };
        schema::walk(
            buf,
            lr.value.clone(),
            &schema::LOG_RECORD,
            depth,
            |spec, f| {
                match spec.number {
                    2 => idx.severity_number = f.number_value as i32,
                    3 => idx.severity_text = f.value.clone(),
                    5 => {
                        idx.body_field = Some(Nest::of(f));
                        idx.body = any_value(buf, f, depth + 1)?;
                        return Ok(true);
                    }
                    6 => {
                        read_one(buf, f, depth + 1, &mut parts.attrs)?;
                        return Ok(true);
                    }
                    9 => idx.trace_id = f.value.clone(),
                    10 => idx.span_id = f.value.clone(),
                    12 => idx.event_name = f.value.clone(),
                    _ => {}
                }
                Ok(false)
            },
        )?;
        idx.attrs.end = parts.attrs.len();
        Ok(idx)
    }

    fn field(&self) -> &Nest {
        &self.field
    }

    fn scope(&self) -> usize {
        self.scope
    }
}
