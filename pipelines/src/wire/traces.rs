//! The wire view of an `ExportTraceServiceRequest`: the request's bytes as received, and an
//! index of where its resources, scopes, spans, events, links and attributes are. Building the
//! index checks the whole request as prost would decode it (see [`super::schema`]); nothing is
//! copied or decoded into structs. Fails with the [`WireError`] prost's decoding would have
//! failed with (in kind), or [`WireError::Unusual`] for an encoding the view does not index.

use std::ops::Range;

use bytes::Bytes;

use super::WireError;
use super::attrs::{Attr, read_attrs, read_one};
use super::reader::Field;
use super::schema::{self, Spec};

/// A length-delimited field: where its key starts and where its value (a message) lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nest {
    /// The first byte of the field's key.
    pub start: usize,
    /// The message's bytes (after the length).
    pub value: Range<usize>,
}

impl Nest {
    fn of(field: &Field) -> Self {
        Self {
            start: field.start,
            value: field.value.clone(),
        }
    }

    /// The whole field, key and length included.
    pub fn whole(&self) -> Range<usize> {
        self.start..self.value.end
    }
}

/// One `ResourceSpans`.
#[derive(Debug, Clone)]
pub struct ResourceIdx {
    /// The `ResourceSpans` field in the request.
    pub field: Nest,
    /// The `Resource` field, when present.
    pub resource: Option<Nest>,
    /// Its attributes, in [`TraceView::attrs`].
    pub attrs: Range<usize>,
    /// Its scopes, in [`TraceView::scopes`].
    pub scopes: Range<usize>,
}

/// One `ScopeSpans`.
#[derive(Debug, Clone)]
pub struct ScopeIdx {
    /// Its resource, in [`TraceView::resources`].
    pub resource: usize,
    /// The `ScopeSpans` field.
    pub field: Nest,
    /// The `InstrumentationScope` field, when present.
    pub scope: Option<Nest>,
    /// The scope's attributes, in [`TraceView::attrs`].
    pub attrs: Range<usize>,
    /// Its spans, in [`TraceView::spans`].
    pub spans: Range<usize>,
}

/// One `Span`: the byte ranges of its fields (empty when absent) and its parts.
#[derive(Debug, Clone)]
pub struct SpanIdx {
    /// Its scope, in [`TraceView::scopes`].
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
    /// Its attributes, in [`TraceView::attrs`].
    pub attrs: Range<usize>,
    /// Its events, in [`TraceView::events`].
    pub events: Range<usize>,
    /// Its links, in [`TraceView::links`].
    pub links: Range<usize>,
}

/// A span's event or link.
#[derive(Debug, Clone)]
pub struct PartIdx {
    /// The `Event` or `Link` field.
    pub field: Nest,
    /// Its attributes, in [`TraceView::part_attrs`].
    pub attrs: Range<usize>,
}

/// A trace export request as received, with its index.
#[derive(Debug, Clone)]
pub struct TraceView {
    /// The request's bytes.
    pub bytes: Bytes,
    /// Resources in order.
    pub resources: Vec<ResourceIdx>,
    /// Scopes of every resource, in order.
    pub scopes: Vec<ScopeIdx>,
    /// Spans of every scope, in order.
    pub spans: Vec<SpanIdx>,
    /// Events of every span, in order.
    pub events: Vec<PartIdx>,
    /// Links of every span, in order.
    pub links: Vec<PartIdx>,
    /// Attributes of resources, scopes and spans.
    pub attrs: Vec<Attr>,
    /// Attributes of events and links.
    pub part_attrs: Vec<Attr>,
}

impl TraceView {
    /// Indexes `bytes`, an encoded `ExportTraceServiceRequest`.
    pub fn parse(bytes: Bytes) -> Result<Self, WireError> {
        let mut view = TraceView {
            bytes: Bytes::new(),
            resources: Vec::new(),
            scopes: Vec::new(),
            spans: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            attrs: Vec::new(),
            part_attrs: Vec::new(),
        };
        let buf = &bytes[..];
        schema::walk(buf, 0..buf.len(), &schema::TRACE_REQUEST, 0, |_, f| {
            view.resource(buf, f)?;
            Ok(true)
        })?;
        view.bytes = bytes;
        Ok(view)
    }

    /// The bytes of `range` in the request.
    pub fn at(&self, range: &Range<usize>) -> &[u8] {
        &self.bytes[range.clone()]
    }

    /// The text of `range` (checked UTF-8 when indexed; empty if it is not).
    pub fn text(&self, range: &Range<usize>) -> &str {
        std::str::from_utf8(self.at(range)).unwrap_or_default()
    }

    /// The nested fields enclosing span `s`, outermost first: its resource, scope and itself.
    pub fn span_path(&self, s: usize) -> [Nest; 3] {
        let scope = &self.scopes[self.spans[s].scope];
        [
            self.resources[scope.resource].field.clone(),
            scope.field.clone(),
            self.spans[s].field.clone(),
        ]
    }

    fn resource(&mut self, buf: &[u8], rs: &Field) -> Result<(), WireError> {
        let mut idx = ResourceIdx {
            field: Nest::of(rs),
            resource: None,
            attrs: self.attrs.len()..self.attrs.len(),
            scopes: self.scopes.len()..self.scopes.len(),
        };
        schema::walk(
            buf,
            rs.value.clone(),
            &schema::RESOURCE_SPANS,
            1,
            |spec, f| match spec.number {
                1 => {
                    idx.resource = Some(Nest::of(f));
                    let from = self.attrs.len();
                    read_attrs(buf, f, &schema::RESOURCE, 1, 2, &mut self.attrs)?;
                    idx.attrs = from..self.attrs.len();
                    Ok(true)
                }
                2 => {
                    self.scope(buf, f)?;
                    Ok(true)
                }
                _ => Ok(false),
            },
        )?;
        idx.scopes.end = self.scopes.len();
        self.resources.push(idx);
        Ok(())
    }

    fn scope(&mut self, buf: &[u8], ss: &Field) -> Result<(), WireError> {
        // A resource is listed after its scopes, a scope after its spans.
        let mut idx = ScopeIdx {
            resource: self.resources.len(),
            field: Nest::of(ss),
            scope: None,
            attrs: self.attrs.len()..self.attrs.len(),
            spans: self.spans.len()..self.spans.len(),
        };
        schema::walk(
            buf,
            ss.value.clone(),
            &schema::SCOPE_SPANS,
            2,
            |spec, f| match spec.number {
                1 => {
                    idx.scope = Some(Nest::of(f));
                    let from = self.attrs.len();
                    read_attrs(buf, f, &schema::SCOPE, 3, 3, &mut self.attrs)?;
                    idx.attrs = from..self.attrs.len();
                    Ok(true)
                }
                2 => {
                    self.span(buf, f)?;
                    Ok(true)
                }
                _ => Ok(false),
            },
        )?;
        idx.spans.end = self.spans.len();
        self.scopes.push(idx);
        Ok(())
    }

    fn span(&mut self, buf: &[u8], sp: &Field) -> Result<(), WireError> {
        let empty = sp.value.start..sp.value.start;
        let mut idx = SpanIdx {
            scope: self.scopes.len(),
            field: Nest::of(sp),
            trace_id: empty.clone(),
            span_id: empty.clone(),
            parent_span_id: empty.clone(),
            name: empty.clone(),
            trace_state: empty,
            attrs: self.attrs.len()..self.attrs.len(),
            events: self.events.len()..self.events.len(),
            links: self.links.len()..self.links.len(),
        };
        schema::walk(buf, sp.value.clone(), &schema::SPAN, 3, |spec: &Spec, f| {
            match spec.number {
                1 => idx.trace_id = f.value.clone(),
                2 => idx.span_id = f.value.clone(),
                3 => idx.trace_state = f.value.clone(),
                4 => idx.parent_span_id = f.value.clone(),
                5 => idx.name = f.value.clone(),
                9 => {
                    read_one(buf, f, 4, &mut self.attrs)?;
                    return Ok(true);
                }
                11 => {
                    let from = self.part_attrs.len();
                    read_attrs(buf, f, &schema::EVENT, 3, 4, &mut self.part_attrs)?;
                    self.events.push(PartIdx {
                        field: Nest::of(f),
                        attrs: from..self.part_attrs.len(),
                    });
                    return Ok(true);
                }
                13 => {
                    let from = self.part_attrs.len();
                    read_attrs(buf, f, &schema::LINK, 4, 4, &mut self.part_attrs)?;
                    self.links.push(PartIdx {
                        field: Nest::of(f),
                        attrs: from..self.part_attrs.len(),
                    });
                    return Ok(true);
                }
                _ => {}
            }
            Ok(false)
        })?;
        idx.attrs.end = self.attrs.len();
        idx.events.end = self.events.len();
        idx.links.end = self.links.len();
        self.spans.push(idx);
        Ok(())
    }
}
