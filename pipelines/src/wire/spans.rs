//! Spans on the wire: the byte ranges of a span's ids, name and trace state, and its
//! attributes, events and links in the view's lists. Fails as [`super::schema::walk`] does.

use std::ops::Range;

use super::WireError;
use super::attrs::{read_attrs_and, read_one};
use super::reader::Field;
use super::schema;
use super::view::{Nest, PartIdx, Parts, Record, View};

/// A trace export request as received, with its index.
pub type TraceView = View<SpanIdx>;

/// One `Span`: the byte ranges of its fields (empty when absent) and its parts.
#[derive(Debug, Clone)]
pub struct SpanIdx {
    /// Its scope, in [`View::scopes`].
    pub scope: usize,
    /// The `Span` field.
    pub field: Nest,
    /// `trace_id`.
    pub trace_id: Range<usize>,
    /// `span_id`.
    pub span_id: Range<usize>,
    /// `parent_span_id`.
    pub parent_span_id: Range<usize>,
    /// `name`.
    pub name: Range<usize>,
    /// `trace_state`.
    pub trace_state: Range<usize>,
    /// Its attributes, in [`Parts::attrs`].
    pub attrs: Range<usize>,
    /// Its events, in [`Parts::events`].
    pub events: Range<usize>,
    /// Its links, in [`Parts::links`].
    pub links: Range<usize>,
    /// The `status` field, when present.
    pub status: Option<Nest>,
    /// The status's `message` (empty when absent).
    pub status_message: Range<usize>,
}

impl Record for SpanIdx {
    const REQUEST: &'static schema::Msg = &schema::TRACE_REQUEST;
    const RESOURCE_LEVEL: &'static schema::Msg = &schema::RESOURCE_SPANS;
    const SCOPE_LEVEL: &'static schema::Msg = &schema::SCOPE_SPANS;

    fn read(
        buf: &[u8],
        sp: &Field,
        scope: usize,
        depth: usize,
        parts: &mut Parts,
    ) -> Result<Self, WireError> {
        let empty = sp.value.start..sp.value.start;
        let mut idx = SpanIdx {
            scope,
            field: Nest::of(sp),
            trace_id: empty.clone(),
            span_id: empty.clone(),
            parent_span_id: empty.clone(),
            name: empty.clone(),
            trace_state: empty.clone(),
            status: None,
            status_message: empty,
            attrs: parts.attrs.len()..parts.attrs.len(),
            events: parts.events.len()..parts.events.len(),
            links: parts.links.len()..parts.links.len(),
        };
        schema::walk(buf, sp.value.clone(), &schema::SPAN, depth, |spec, f| {
            match spec.number {
                1 => idx.trace_id = f.value.clone(),
                2 => idx.span_id = f.value.clone(),
                3 => idx.trace_state = f.value.clone(),
                4 => idx.parent_span_id = f.value.clone(),
                5 => idx.name = f.value.clone(),
                9 => {
                    read_one(buf, f, depth + 1, &mut parts.attrs)?;
                    return Ok(true);
                }
                11 | 13 => {
                    // An event's name, a link's trace state.
                    let (msg, attr_field, text_field, list) = if spec.number == 11 {
                        (&schema::EVENT, 3, 2, &mut parts.events)
                    } else {
                        (&schema::LINK, 4, 3, &mut parts.links)
                    };
                    let from = parts.part_attrs.len();
                    let mut text = f.value.start..f.value.start;
                    read_attrs_and(
                        buf,
                        f,
                        msg,
                        attr_field,
                        depth + 1,
                        &mut parts.part_attrs,
                        |g| {
                            if g.number == text_field {
                                text = g.value.clone();
                            }
                        },
                    )?;
                    list.push(PartIdx {
                        field: Nest::of(f),
                        attrs: from..parts.part_attrs.len(),
                        text,
                    });
                    return Ok(true);
                }
                15 => {
                    idx.status = Some(Nest::of(f));
                    idx.status_message = f.value.start..f.value.start;
                    schema::walk(buf, f.value.clone(), &schema::STATUS, depth + 1, |s, g| {
                        if s.number == 2 {
                            idx.status_message = g.value.clone();
                        }
                        Ok(false)
                    })?;
                    return Ok(true);
                }
                _ => {}
            }
            Ok(false)
        })?;
        idx.attrs.end = parts.attrs.len();
        idx.events.end = parts.events.len();
        idx.links.end = parts.links.len();
        Ok(idx)
    }

    fn field(&self) -> &Nest {
        &self.field
    }

    fn scope(&self) -> usize {
        self.scope
    }
}
