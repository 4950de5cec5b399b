//! The path both transports share once a request is read into a batch: split it per tenant, check its
//! ids ([`ids`]), submit to the router, count the outcome in weir's metrics, log refusals (retryable ones at most once per
//! [`super::room::LOG_INTERVAL`]).
//!
//! Failure is a [`SubmitError`] handed back to the transport, which maps it to a status; a
//! request whose every span has a malformed id is refused as invalid (400 / INVALID_ARGUMENT).

use tracing::Instrument;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::pipeline::{Accepted, SubmitError};
use weir_pipeline::{Batch, Refusal, RefusalKind, RequestContext, Signal, SignalKind, TenantId};

use super::identity::Resolved;
use super::throttle::Throttle;
use super::{ReceiverShared, ids};

/// Retryable refusals are logged at most this often (each is counted in the metrics).
static RETRYABLE_LOG: Throttle = Throttle::new(super::room::LOG_INTERVAL);

/// One tenant's part of a request: who, records after the id check, bytes, spans the id check
/// removed.
struct Share {
    tenant: TenantId,
    records: u64,
    bytes: u64,
    bad_ids: u64,
}

/// Submits one decoded request: [`ingest_batch`] of `signal` in `ctx`.
pub async fn ingest(
    shared: &ReceiverShared,
    ctx: RequestContext,
    resolved: &Resolved,
    signal: Signal,
) -> Result<Accepted, SubmitError> {
    ingest_batch(shared, Batch::new(ctx, signal), resolved).await
}

/// Submits one request (split per tenant when its resources name several) and counts what
/// happened to it, per tenant. A batch held as bytes stays so unless it has to be split or an
/// id of it has to be removed.
pub async fn ingest_batch(
    shared: &ReceiverShared,
    batch: Batch,
    resolved: &Resolved,
) -> Result<Accepted, SubmitError> {
    let kind = batch.kind();
    let records = batch.record_count();
    let ctx = &batch.ctx;
    let bytes = ctx.body_bytes as u64;
    let request_id = ctx.request_id.clone();
    let tenant = ctx.tenant.clone();
    // Every line logged while this request is handled carries its request id and tenant (and
    // the trace id of its `traceparent`), under `span` in the JSON logs.
    let span = tracing::info_span!(
        "weir.receive",
        request_id = %request_id,
        tenant = %ctx.tenant,
        receiver = %shared.id,
        signal = kind.as_str(),
        records,
        trace_id = tracing::field::Empty,
        parent_span_id = tracing::field::Empty,
        sampled = tracing::field::Empty,
        self_telemetry = ctx.self_telemetry,
    );
    if let Some(tp) = &ctx.traceparent {
        span.record("trace_id", tp.trace_id_hex());
        span.record("parent_span_id", const_hex::encode(tp.span_id));
        span.record("sampled", tp.flags & 1 == 1);
    }
    let _entered = span.enter();
    let mut parts = match split(shared, resolved, batch) {
        Ok(p) => p,
        Err(reason) => {
            tracing::warn!(request_id = %request_id, receiver = %shared.id, signal = %kind, records, reason = %reason, "request refused");
            let tenant_label = shared.metrics.tenant_label(&tenant);
            let labels = [
                kind.as_str(),
                &*shared.id,
                &*tenant_label,
                reason.kind.as_str(),
            ];
            shared
                .metrics
                .counter(catalogue::RECEIVER_REFUSED_RECORDS, &labels)
                .add(records);
            return Err(SubmitError {
                reason,
                retry_after: None,
            });
        }
    };
    drop(_entered);
    let checks: Vec<ids::Checked> = parts.iter_mut().map(ids::check_batch).collect();
    for (field, n) in checks.iter().flat_map(|c| &c.cleared) {
        shared
            .metrics
            .counter(catalogue::RECEIVER_INVALID_IDS, &[&shared.id, field])
            .add(*n);
    }
    // Each part with its bytes, shared out by records.
    let shares: Vec<Share> = parts
        .iter()
        .zip(&checks)
        .map(|(b, c)| {
            let n = b.record_count() + c.rejected;
            Share {
                tenant: b.ctx.tenant.clone(),
                records: b.record_count(),
                bytes: (bytes * n)
                    .checked_div(records)
                    .unwrap_or(bytes / parts.len().max(1) as u64),
                bad_ids: c.rejected,
            }
        })
        .collect();
    if records > 0 && shares.iter().all(|s| s.records == 0) && shares.iter().any(|s| s.bad_ids > 0)
    {
        let first = checks
            .iter()
            .find_map(|c| c.message.clone())
            .unwrap_or_default();
        let reason = Refusal::new(
            RefusalKind::Invalid,
            format!("every span has a malformed id: {first}"),
        );
        let _entered = span.enter();
        tracing::warn!(request_id = %request_id, receiver = %shared.id, signal = %kind, records, reason = %reason, "request refused");
        let err = SubmitError {
            reason,
            retry_after: None,
        };
        count(shared, kind, &shares, &Err(err.clone()));
        return Err(err);
    }
    // Parts the id check emptied are not submitted; `submitted[i]` is the share of batch i.
    let mut submitted = Vec::with_capacity(parts.len());
    let mut batches: Vec<Batch> = Vec::with_capacity(parts.len());
    for (i, (mut part, share)) in parts.into_iter().zip(&shares).enumerate() {
        if part.is_empty() && share.bad_ids > 0 {
            continue;
        }
        part.ctx.body_bytes = usize::try_from(share.bytes).unwrap_or(usize::MAX);
        submitted.push(i);
        batches.push(part);
    }
    // The pipelines now: a reload that lands meanwhile does not move this request.
    let router = shared.router.load();
    let submit = async {
        match batches.len() {
            1 => match batches.pop() {
                Some(b) => router.submit(b).await.map(|a| vec![a]),
                None => Ok(Vec::new()),
            },
            _ => router.submit_all(batches).await,
        }
    };
    // The router's answers, one per share (an emptied part took nothing).
    let per_part = submit.instrument(span.clone()).await.map(|answers| {
        let mut all = vec![Accepted::default(); shares.len()];
        for (i, a) in submitted.into_iter().zip(answers) {
            all[i] = a;
        }
        all
    });
    let _entered = span.enter();
    count(shared, kind, &shares, &per_part);
    let result = per_part.map(|mut parts| {
        for (a, c) in parts.iter_mut().zip(checks) {
            a.reject(c.rejected, c.message);
        }
        Accepted::total(&parts)
    });
    if let Err(err) = &result {
        // A retryable refusal (a full queue, a rate limit) comes in floods: one line per
        // interval, with how many were held back; the metrics count every one.
        let held_back = if err.reason.kind.is_retryable() {
            RETRYABLE_LOG.allow()
        } else {
            Some(0)
        };
        if let Some(held_back) = held_back {
            tracing::warn!(
                request_id = %request_id,
                receiver = %shared.id,
                signal = %kind,
                records,
                reason = %err.reason,
                refused_since_last_line = held_back,
                "request refused"
            );
        }
    }
    result
}

/// The request's parts, one per tenant, each in its tenant's context. Without a resource
/// attribute source the batch is the one part, as it came.
fn split(
    shared: &ReceiverShared,
    resolved: &Resolved,
    mut batch: Batch,
) -> Result<Vec<Batch>, Refusal> {
    if let Some(tenant) = shared.identity.single_tenant(resolved) {
        batch.ctx.tenant = tenant;
        return Ok(vec![batch]);
    }
    let (ctx, signal) = batch.into_parts();
    Ok(shared
        .identity
        .split(resolved, signal)?
        .into_iter()
        .map(|(tenant, signal)| {
            let mut c = ctx.clone();
            c.tenant = tenant;
            Batch::new(c, signal)
        })
        .collect())
}

/// Counts accepted and refused records and accepted bytes per tenant part; records rejected
/// by processors are charged to the part (tenant) they were rejected from, spans with
/// malformed ids as `invalid`.
fn count(
    shared: &ReceiverShared,
    kind: SignalKind,
    shares: &[Share],
    result: &Result<Vec<Accepted>, SubmitError>,
) {
    for (i, share) in shares.iter().enumerate() {
        let (n, b) = (&share.records, &share.bytes);
        let tenant_label = shared.metrics.tenant_label(&share.tenant);
        let labels = [kind.as_str(), &*shared.id, &*tenant_label];
        if share.bad_ids > 0 {
            shared
                .metrics
                .counter(
                    catalogue::RECEIVER_REFUSED_RECORDS,
                    &[kind.as_str(), &shared.id, &tenant_label, "invalid"],
                )
                .add(share.bad_ids);
        }
        match result {
            Ok(parts) => {
                let r = parts.get(i).map_or(0, |a| a.rejected).min(*n);
                shared
                    .metrics
                    .counter(catalogue::RECEIVER_ACCEPTED_RECORDS, &labels)
                    .add(n - r);
                shared
                    .metrics
                    .counter(catalogue::RECEIVER_ACCEPTED_BYTES, &labels)
                    .add(*b);
                if r > 0 {
                    shared
                        .metrics
                        .counter(
                            catalogue::RECEIVER_REFUSED_RECORDS,
                            &[kind.as_str(), &shared.id, &tenant_label, "rejected"],
                        )
                        .add(r);
                }
            }
            Err(err) => {
                shared
                    .metrics
                    .counter(
                        catalogue::RECEIVER_REFUSED_RECORDS,
                        &[
                            kind.as_str(),
                            &shared.id,
                            &tenant_label,
                            err.reason.kind.as_str(),
                        ],
                    )
                    .add(*n);
            }
        }
    }
}
