//! The wire view of an export request of any signal: the request's bytes as received, and an
//! index of where its resources, scopes, records and attributes are. The resource and scope
//! levels are the same for every signal; a [`Record`] kind reads its own records. Building the
//! index checks the whole request as prost would decode it (see [`super::schema`]); nothing is
//! copied or decoded into structs. Fails with the [`WireError`] prost's decoding would have
//! failed with (in kind), or [`WireError::Unusual`] for an encoding the view does not index.

use std::ops::Range;

use bytes::Bytes;

use super::WireError;
use super::attrs::{Attr, read_attrs_and};
use super::reader::Field;
use super::schema::{self, Msg};

/// A length-delimited field: where its key starts and where its value (a message) lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nest {
    /// The first byte of the field's key.
    pub start: usize,
    /// The message's bytes (after the length).
    pub value: Range<usize>,
}

impl Nest {
    /// The nest of a length-delimited field.
    pub fn of(field: &Field) -> Self {
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

/// One `Resource{Spans,Logs,Metrics}`.
#[derive(Debug, Clone)]
pub struct ResourceIdx {
    /// The field in the request.
    pub field: Nest,
    /// The `Resource` field, when present.
    pub resource: Option<Nest>,
    /// Its attributes, in [`Parts::attrs`].
    pub attrs: Range<usize>,
    /// Its scopes, in [`View::scopes`].
    pub scopes: Range<usize>,
    /// `schema_url` (empty when absent).
    pub schema_url: Range<usize>,
}

/// One `Scope{Spans,Logs,Metrics}`.
#[derive(Debug, Clone)]
pub struct ScopeIdx {
    /// Its resource, in [`View::resources`].
    pub resource: usize,
    /// The field in its resource.
    pub field: Nest,
    /// The `InstrumentationScope` field, when present.
    pub scope: Option<Nest>,
    /// The scope's attributes, in [`Parts::attrs`].
    pub attrs: Range<usize>,
    /// Its records, in [`View::records`].
    pub records: Range<usize>,
    /// The scope's `name` (empty when absent).
    pub name: Range<usize>,
    /// The scope's `version` (empty when absent).
    pub version: Range<usize>,
    /// `schema_url` of the `Scope{Spans,…}` (empty when absent).
    pub schema_url: Range<usize>,
}

/// A record's event or link (or another part with attributes of its own).
#[derive(Debug, Clone)]
pub struct PartIdx {
    /// The part's field.
    pub field: Nest,
    /// Its attributes, in [`Parts::part_attrs`].
    pub attrs: Range<usize>,
    /// Its one string other than attributes: an event's `name`, a link's `trace_state`
    /// (empty when absent; always empty for exemplars).
    pub text: Range<usize>,
}

/// The lists records put their attributes and parts in.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    /// Attributes of resources, scopes and records.
    pub attrs: Vec<Attr>,
    /// Events of every span, or exemplars of every data point, in order.
    pub events: Vec<PartIdx>,
    /// Links of every span, in order.
    pub links: Vec<PartIdx>,
    /// Attributes of events, links, data points and exemplars.
    pub part_attrs: Vec<Attr>,
}

/// A kind of record (span, log record) and the messages around it.
pub trait Record: Sized {
    /// The export request.
    const REQUEST: &'static Msg;
    /// `Resource{Spans,…}`.
    const RESOURCE_LEVEL: &'static Msg;
    /// `Scope{Spans,…}`.
    const SCOPE_LEVEL: &'static Msg;

    /// Reads the record in field `f` of scope `scope`, at nesting `depth`.
    fn read(
        buf: &[u8],
        f: &Field,
        scope: usize,
        depth: usize,
        parts: &mut Parts,
    ) -> Result<Self, WireError>;

    /// The record's field.
    fn field(&self) -> &Nest;

    /// The scope it is in, in [`View::scopes`].
    fn scope(&self) -> usize;
}

/// An export request as received, with its index.
#[derive(Debug, Clone)]
pub struct View<R> {
    /// The request's bytes.
    pub bytes: Bytes,
    /// Resources in order.
    pub resources: Vec<ResourceIdx>,
    /// Scopes of every resource, in order.
    pub scopes: Vec<ScopeIdx>,
    /// Records of every scope, in order.
    pub records: Vec<R>,
    /// Attributes and parts.
    pub parts: Parts,
}

impl<R: Record> View<R> {
    /// Indexes `bytes`, an encoded export request of `R`'s signal.
    pub fn parse(bytes: Bytes) -> Result<Self, WireError> {
        let mut view = View {
            bytes: Bytes::new(),
            resources: Vec::new(),
            scopes: Vec::new(),
            records: Vec::new(),
            parts: Parts::default(),
        };
        let buf = &bytes[..];
        schema::walk(buf, 0..buf.len(), R::REQUEST, 0, |_, f| {
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

    /// The nested fields enclosing record `r`, outermost first: its resource, scope and itself.
    pub fn record_path(&self, r: usize) -> [Nest; 3] {
        let scope = &self.scopes[self.records[r].scope()];
        [
            self.resources[scope.resource].field.clone(),
            scope.field.clone(),
            self.records[r].field().clone(),
        ]
    }

    /// Reads an attribute holder (`Resource`, `InstrumentationScope`) in field `f`: its nest and
    /// its attributes' range, showing `other` its other fields.
    fn holder(
        &mut self,
        buf: &[u8],
        f: &Field,
        msg: &'static Msg,
        attr_field: u32,
        depth: usize,
        other: impl FnMut(&Field),
    ) -> Result<(Nest, Range<usize>), WireError> {
        let from = self.parts.attrs.len();
        read_attrs_and(buf, f, msg, attr_field, depth, &mut self.parts.attrs, other)?;
        Ok((Nest::of(f), from..self.parts.attrs.len()))
    }

    fn resource(&mut self, buf: &[u8], rs: &Field) -> Result<(), WireError> {
        let mut idx = ResourceIdx {
            field: Nest::of(rs),
            resource: None,
            attrs: 0..0,
            scopes: self.scopes.len()..self.scopes.len(),
            schema_url: rs.value.start..rs.value.start,
        };
        schema::walk(buf, rs.value.clone(), R::RESOURCE_LEVEL, 1, |spec, f| {
            match spec.number {
                1 => {
                    (idx.resource, idx.attrs) = {
                        let (nest, attrs) = self.holder(buf, f, &schema::RESOURCE, 1, 2, |_| {})?;
                        (Some(nest), attrs)
                    }
                }
                2 => self.scope(buf, f)?,
                3 => {
                    idx.schema_url = f.value.clone();
                    return Ok(false);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        idx.scopes.end = self.scopes.len();
        self.resources.push(idx);
        Ok(())
    }

    fn scope(&mut self, buf: &[u8], ss: &Field) -> Result<(), WireError> {
        // A resource is listed after its scopes, a scope after its records.
        let mut idx = ScopeIdx {
            resource: self.resources.len(),
            field: Nest::of(ss),
            scope: None,
            attrs: 0..0,
            records: self.records.len()..self.records.len(),
            name: ss.value.start..ss.value.start,
            version: ss.value.start..ss.value.start,
            schema_url: ss.value.start..ss.value.start,
        };
        let me = self.scopes.len();
        schema::walk(buf, ss.value.clone(), R::SCOPE_LEVEL, 2, |spec, f| {
            match spec.number {
                1 => {
                    let (mut name, mut version) = (idx.name.clone(), idx.version.clone());
                    let (nest, attrs) =
                        self.holder(buf, f, &schema::SCOPE, 3, 3, |g| match g.number {
                            1 => name = g.value.clone(),
                            2 => version = g.value.clone(),
                            _ => {}
                        })?;
                    (idx.scope, idx.attrs, idx.name, idx.version) =
                        (Some(nest), attrs, name, version);
                }
                2 => {
                    let record = R::read(buf, f, me, 3, &mut self.parts)?;
                    self.records.push(record);
                }
                3 => {
                    idx.schema_url = f.value.clone();
                    return Ok(false);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        idx.records.end = self.records.len();
        self.scopes.push(idx);
        Ok(())
    }
}
