//! Sentry transactions from OTLP spans (the `transactions` option): each local root span (no
//! parent, or a parent in another process) becomes a transaction, and its descendants among
//! the spans of the same resource in the bundle become the transaction's child spans.
//!
//! A child that arrives in another bundle than its root (an SDK may export spans in several
//! batches) is not attached to it: queue batching (`sending_queue.batch`) makes that rarer.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use sentry_types::protocol::v7::{self as sentry, Context, SpanId, SpanStatus, TraceId};
use weir_pipeline::RequestContext;
use weir_pipeline::correlation::{self, valid_id};
use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{Span, span::SpanKind, status::StatusCode};

use super::event::{self, Origin, Shape};
use super::ids;
use super::stack::Runtime;

/// OTLP span flags: the parent's remoteness is known, and the parent is remote.
const PARENT_IS_REMOTE_KNOWN: u32 = 0x100;
const PARENT_IS_REMOTE: u32 = 0x200;

/// A transaction and how many spans it carries (root included).
pub(crate) struct Built {
    pub transaction: sentry::Transaction<'static>,
    pub spans: u64,
}

/// The transactions of the `spans` of one resource.
pub(crate) fn build(
    ctx: &RequestContext,
    resource: Option<&Resource>,
    origin: &Origin<'_>,
    shape: &Shape,
    spans: &[&Span],
) -> Vec<Built> {
    let ids: HashMap<(&[u8], &[u8]), usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.trace_id.as_slice(), s.span_id.as_slice()), i))
        .collect();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        let parent = valid_id(&s.parent_span_id, 8);
        let known = s.flags & PARENT_IS_REMOTE_KNOWN != 0;
        let remote = known && s.flags & PARENT_IS_REMOTE != 0;
        // Without the flags (older SDKs), a server or consumer span whose parent is not here
        // is taken as the entry point of this process.
        let entry = !known
            && matches!(
                SpanKind::try_from(s.kind),
                Ok(SpanKind::Server | SpanKind::Consumer)
            );
        match parent.and_then(|p| ids.get(&(s.trace_id.as_slice(), p))) {
            Some(&p) if !remote => children.entry(p).or_default().push(i),
            // A child whose local parent is in another bundle is left out.
            _ if parent.is_none() || remote || entry => roots.push(i),
            _ => {}
        }
    }
    roots
        .into_iter()
        .filter_map(|root| {
            let mut descendants = Vec::new();
            let mut stack = vec![root];
            while let Some(i) = stack.pop() {
                for &c in children.get(&i).into_iter().flatten() {
                    descendants.push(c);
                    stack.push(c);
                }
            }
            transaction(
                ctx,
                resource,
                origin,
                shape,
                spans[root],
                &descendants,
                spans,
            )
        })
        .collect()
}

fn transaction(
    ctx: &RequestContext,
    resource: Option<&Resource>,
    origin: &Origin<'_>,
    shape: &Shape,
    root: &Span,
    descendants: &[usize],
    spans: &[&Span],
) -> Option<Built> {
    let c = correlation::of_span_in(ctx, resource, root);
    let mut trace = event::trace_context(&c, Some(&root.parent_span_id))?;
    trace.op = Some(op(root).into());
    trace.status = Some(status(root));
    let layers: [&[KeyValue]; 2] = [&root.attributes, origin.resource];
    let child_spans = descendants
        .iter()
        .filter_map(|&i| child(spans[i], ctx))
        .collect::<Vec<_>>();
    let count = 1 + child_spans.len() as u64;
    let transaction = sentry::Transaction {
        event_id: ids::record_id(&|h| ("transaction", &root.trace_id, &root.span_id).hash(h)),
        name: Some(root.name.clone()),
        release: origin.release.as_deref().map(|r| Cow::Owned(r.to_owned())),
        environment: origin
            .environment
            .as_deref()
            .map(|e| Cow::Owned(e.to_owned())),
        tags: event::tags(shape, &layers, c.request_id),
        sdk: Some(event::sdk()),
        platform: Cow::Borrowed(origin.runtime.map_or("other", Runtime::platform)),
        timestamp: Some(event::time(root.end_time_unix_nano, ctx.received_wall)),
        start_timestamp: event::time(root.start_time_unix_nano, ctx.received_wall),
        spans: child_spans,
        contexts: BTreeMap::from([("trace".to_owned(), Context::from(trace))]),
        ..Default::default()
    };
    Some(Built {
        transaction,
        spans: count,
    })
}

/// A child span, when its ids are valid.
fn child(s: &Span, ctx: &RequestContext) -> Option<sentry::Span> {
    let trace_id: [u8; 16] = valid_id(&s.trace_id, 16)?.try_into().ok()?;
    let span_id: [u8; 8] = valid_id(&s.span_id, 8)?.try_into().ok()?;
    let parent = valid_id(&s.parent_span_id, 8)
        .and_then(|p| <[u8; 8]>::try_from(p).ok())
        .map(SpanId::from);
    Some(sentry::Span {
        span_id: SpanId::from(span_id),
        trace_id: TraceId::from(trace_id),
        parent_span_id: parent,
        same_process_as_parent: Some(true),
        op: Some(op(s).into()),
        description: (!s.name.is_empty()).then(|| s.name.clone()),
        timestamp: Some(event::time(s.end_time_unix_nano, ctx.received_wall)),
        start_timestamp: event::time(s.start_time_unix_nano, ctx.received_wall),
        status: Some(status(s)),
        ..Default::default()
    })
}

/// Sentry's `op` of a span, from its kind and semantic-convention attributes.
pub(crate) fn op(s: &Span) -> &'static str {
    let has = |k: &str| s.attributes.iter().any(|kv| kv.key == k);
    let kind = SpanKind::try_from(s.kind).unwrap_or(SpanKind::Unspecified);
    let http = has("http.request.method") || has("http.method");
    match kind {
        SpanKind::Server if http => "http.server",
        SpanKind::Client if http => "http.client",
        _ if has("db.system") || has("db.system.name") => "db",
        SpanKind::Producer => "queue.publish",
        SpanKind::Consumer => "queue.process",
        _ if has("rpc.system") => "rpc",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        _ => "function",
    }
}

/// Sentry's status of a span.
fn status(s: &Span) -> SpanStatus {
    let code = s
        .status
        .as_ref()
        .and_then(|st| StatusCode::try_from(st.code).ok())
        .unwrap_or(StatusCode::Unset);
    match code {
        StatusCode::Error => SpanStatus::InternalError,
        _ => SpanStatus::Ok,
    }
}
