//! The `redaction` processor on the wire view of a traces request: the same rules, read
//! through [`TraceView`] and written as [`Edits`], with the result the struct path gives by
//! construction.
//!
//! - A key and a value that nothing changes (the common case) are read in place: the key is
//!   classified, a string scanned, without copying or decoding anything.
//! - An attribute that changes (or might: nested maps and arrays, a hashed or masked value, a
//!   key holding a secret) is decoded alone with prost, run through the struct rules
//!   (`walk.rs`), and written back as a replacement of that `KeyValue` when the run counted a
//!   change. Names, `trace_state`s, status messages, scope names and versions and `schema_url`s
//!   are scanned in place and replaced (their length and bytes) when they change.
//! - What earlier processors wrote is redacted too: their replaced or appended attributes,
//!   strings and whole resources (`enrich` adds `request.id`, another `redaction` its summary)
//!   are read from [`Edits::under_mut`] and rewritten in place; this run's own edits are merged
//!   in afterwards.
//! - The summary attributes are updated where a record already has them, else appended.
//!
//! Falls back (returns `None`, edits untouched) when the decision needs the decoded structs:
//! `strict_maps` is set (it removes records), or a blocked-value pattern matches the empty
//! string (an absent field would have to be created). A record an earlier processor removed
//! or replaced whole is left as that processor wrote it. Nothing here fails.

use prost::Message;
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::wire::field::{
    EVENT_ATTRIBUTES as EVENT_ATTRS, LINK_ATTRIBUTES as LINK_ATTRS,
    RESOURCE_ATTRIBUTES as RESOURCE_ATTRS, SCOPE_ATTRIBUTES as SCOPE_ATTRS,
    SPAN_ATTRIBUTES as SPAN_ATTRS,
};
use weir_pipeline::wire::{
    Edit, Edits, LogView, Nest, Record, ResourceIdx, TraceView, View, len_field,
};
use weir_pipeline::{Outcome, RequestContext, SignalKind};

use super::Redaction;
use super::memo::Cx;
use super::run::Run;
use super::summary::Tally;
use super::wire_attrs::{Kind, Walk, direct};

impl Redaction {
    /// Redacts the traces request `view`, adding its changes to `edits` (which may hold earlier
    /// processors' edits). `None` when this configuration needs the decoded structs (see the
    /// module's header): decode the batch and call [`weir_pipeline::Processor::process`].
    pub fn traces_wire(
        &self,
        ctx: &RequestContext,
        view: &TraceView,
        edits: &mut Edits,
    ) -> Option<Outcome> {
        self.on_view(ctx, view, edits, SignalKind::Traces, span)
    }

    /// [`Redaction::traces_wire`] for a logs request: attributes, bodies, event names and
    /// severity texts of log records, and their resources and scopes.
    pub fn logs_wire(
        &self,
        ctx: &RequestContext,
        view: &LogView,
        edits: &mut Edits,
    ) -> Option<Outcome> {
        self.on_view(ctx, view, edits, SignalKind::Logs, super::wire_logs::log)
    }

    /// Runs over every resource and scope of `view`, and `record` over each record.
    fn on_view<R: Record>(
        &self,
        ctx: &RequestContext,
        view: &View<R>,
        edits: &mut Edits,
        signal: SignalKind,
        record: RecordFn<R>,
    ) -> Option<Outcome> {
        if !self.strict.is_empty() || self.rules.values.needs_masking("") {
            return None;
        }
        let mut run = Run::new(Cx::take(self.uid, Tally::new(self.summary)));
        let mut walk = Walk::new(self, &view.bytes, &mut run);
        walk_request(&mut walk, view, edits, record);
        let mine = walk.finish();
        edits.merge(mine);
        Some(self.finish(run, ctx, signal))
    }
}

/// Redacts record `k` of the scope at the path given (its `Resource…` and `Scope…` fields);
/// the last argument is the cursor for [`Edits::under_mut_after`].
pub(super) type RecordFn<R> =
    fn(&mut Walk<'_>, &View<R>, usize, &[Nest; 2], &mut Edits, &mut usize);

/// Every resource, scope and record of `view`, in the struct path's order.
fn walk_request<R: Record>(
    w: &mut Walk<'_>,
    view: &View<R>,
    edits: &mut Edits,
    record: RecordFn<R>,
) {
    // Records are visited in buffer order: each one's edits are found from the previous one's.
    let mut cursor = 0;
    for r in &view.resources {
        let rpath = [r.field.clone()];
        resource(w, view, r, edits);
        w.string(
            &rpath,
            &r.schema_url,
            Kind::SchemaUrl,
            edits.under_mut(&rpath),
        );
        for sc in &view.scopes[r.scopes.clone()] {
            let spath = [r.field.clone(), sc.field.clone()];
            if let Some(scope) = &sc.scope {
                let path = [r.field.clone(), sc.field.clone(), scope.clone()];
                let earlier = edits.under_mut(&path);
                w.begin_record();
                w.string(&path, &sc.name, Kind::Text("scope.name"), earlier);
                w.string(&path, &sc.version, Kind::Text("scope.version"), earlier);
                let attrs = &view.parts.attrs[sc.attrs.clone()];
                w.list(&path, attrs, SCOPE_ATTRS, true, earlier);
            }
            w.string(
                &spath,
                &sc.schema_url,
                Kind::SchemaUrl,
                edits.under_mut(&spath),
            );
            for k in sc.records.clone() {
                record(w, view, k, &spath, edits, &mut cursor);
            }
        }
    }
}

/// A resource: the one in the request, or one an earlier processor replaced or added
/// (decoded and run through the struct rules).
fn resource<R: Record>(w: &mut Walk<'_>, view: &View<R>, r: &ResourceIdx, edits: &mut Edits) {
    let rpath = [r.field.clone()];
    let start = r.resource.as_ref().map(|n| n.start);
    let written = edits.under_mut(&rpath).iter_mut().find(|e| {
        direct(e, &rpath)
            && ((Some(e.at.start) == start && !e.at.is_empty())
                || (e.is_append() && e.field().is_some_and(|(n, _)| n == 1)))
    });
    if let Some(e) = written {
        whole_resource(w, e);
        return;
    }
    if let Some(nest) = &r.resource {
        let path = [r.field.clone(), nest.clone()];
        w.begin_record();
        let attrs = &view.parts.attrs[r.attrs.clone()];
        w.list(&path, attrs, RESOURCE_ATTRS, true, edits.under_mut(&path));
    }
}

/// A whole `Resource` an earlier processor wrote (edit `e`): decoded, redacted as the struct
/// path does, written back when it changed.
fn whole_resource(w: &mut Walk<'_>, e: &mut Edit) {
    let Some(mut res) = e.field().and_then(|(_, b)| Resource::decode(b).ok()) else {
        return;
    };
    let before = w.run.cx.tally.total();
    w.p.resource(Some(&mut res), w.run);
    if w.run.cx.tally.total() != before {
        e.with = len_field(1, &res.encode_to_vec());
    }
}

/// The earlier edits inside the record at `path` (found from `cursor`, see
/// [`Edits::under_mut_after`]); `None` when an earlier processor removed or replaced the
/// record whole, which is then left as it wrote it.
pub(super) fn record_edits<'e>(
    edits: &'e mut Edits,
    path: &[Nest; 3],
    cursor: &mut usize,
) -> Option<&'e mut [Edit]> {
    let earlier = edits.under_mut_after(path, cursor);
    (!earlier.iter().any(|e| e.path.len() < path.len())).then_some(earlier)
}

/// Span `k` of the scope at `spath`: its strings and parts first, its attributes and summary
/// last (the counts do not depend on the order). One search finds every earlier edit inside
/// the span.
fn span(
    w: &mut Walk<'_>,
    view: &TraceView,
    k: usize,
    spath: &[Nest; 2],
    edits: &mut Edits,
    cursor: &mut usize,
) {
    let sp = &view.records[k];
    let path = [spath[0].clone(), spath[1].clone(), sp.field.clone()];
    let Some(earlier) = record_edits(edits, &path, cursor) else {
        return;
    };
    let inner = |n: &Nest| [path[0].clone(), path[1].clone(), path[2].clone(), n.clone()];
    w.begin_record();
    w.string(&path, &sp.name, Kind::Text("name"), earlier);
    w.string(&path, &sp.trace_state, Kind::TraceState, earlier);
    for e in &view.parts.events[sp.events.clone()] {
        let epath = inner(&e.field);
        w.string(&epath, &e.text, Kind::Text("event.name"), earlier);
        let attrs = &view.parts.part_attrs[e.attrs.clone()];
        w.list(&epath, attrs, EVENT_ATTRS, false, earlier);
    }
    for l in &view.parts.links[sp.links.clone()] {
        let lpath = inner(&l.field);
        w.string(&lpath, &l.text, Kind::TraceState, earlier);
        let attrs = &view.parts.part_attrs[l.attrs.clone()];
        w.list(&lpath, attrs, LINK_ATTRS, false, earlier);
    }
    if let Some(status) = &sp.status {
        let message = Kind::Text("status.message");
        w.string(&inner(status), &sp.status_message, message, earlier);
    }
    w.list(
        &path,
        &view.parts.attrs[sp.attrs.clone()],
        SPAN_ATTRS,
        true,
        earlier,
    );
}
