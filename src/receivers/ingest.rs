//! The path both transports share once a request is decoded: submit to the router, count the
//! outcome in weir's metrics, log refusals.
//!
//! Failure is a [`SubmitError`] handed back to the transport, which maps it to a status.

use tracing::Instrument;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::pipeline::{Accepted, SubmitError};
use weir_pipeline::{Batch, RequestContext, Signal, SignalKind, TenantId};

use super::ReceiverShared;
use super::identity::Resolved;

/// Submits one decoded request (split per tenant when its resources name several) and counts
/// what happened to it, per tenant.
pub async fn ingest(
    shared: &ReceiverShared,
    ctx: RequestContext,
    resolved: &Resolved,
    signal: Signal,
) -> Result<Accepted, SubmitError> {
    let kind = signal.kind();
    let records = signal.record_count();
    let bytes = ctx.body_bytes as u64;
    let request_id = ctx.request_id.clone();
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
    let parts = match shared.identity.split(resolved, signal) {
        Ok(p) => p,
        Err(reason) => {
            tracing::warn!(request_id = %request_id, receiver = %shared.id, signal = %kind, records, reason = %reason, "request refused");
            let tenant_label = shared.metrics.tenant_label(&ctx.tenant);
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
    // (tenant, records, bytes) of each part; bytes shared out by records.
    let shares: Vec<(TenantId, u64, u64)> = parts
        .iter()
        .map(|(t, s)| {
            let n = s.record_count();
            let b = (bytes * n)
                .checked_div(records)
                .unwrap_or(bytes / parts.len().max(1) as u64);
            (t.clone(), n, b)
        })
        .collect();
    let mut batches: Vec<Batch> = parts
        .into_iter()
        .zip(&shares)
        .map(|((tenant, signal), (_, _, b))| {
            let mut c = ctx.clone();
            c.tenant = tenant;
            c.body_bytes = usize::try_from(*b).unwrap_or(usize::MAX);
            Batch::new(c, signal)
        })
        .collect();
    let submit = async {
        match batches.len() {
            1 => match batches.pop() {
                Some(b) => shared.router.submit(b).await.map(|a| vec![a]),
                None => Ok(Vec::new()),
            },
            _ => shared.router.submit_all(batches).await,
        }
    };
    let per_part = submit.instrument(span.clone()).await;
    let _entered = span.enter();
    count(shared, kind, &shares, &per_part);
    let result = per_part.map(|parts| Accepted::total(&parts));
    if let Err(err) = &result {
        tracing::warn!(
            request_id = %request_id,
            receiver = %shared.id,
            signal = %kind,
            records,
            reason = %err.reason,
            "request refused"
        );
    }
    result
}

/// Counts accepted and refused records and accepted bytes per tenant part; records rejected
/// by processors are charged to the part (tenant) they were rejected from.
fn count(
    shared: &ReceiverShared,
    kind: SignalKind,
    shares: &[(TenantId, u64, u64)],
    result: &Result<Vec<Accepted>, SubmitError>,
) {
    for (i, (tenant, n, b)) in shares.iter().enumerate() {
        let tenant_label = shared.metrics.tenant_label(tenant);
        let labels = [kind.as_str(), &*shared.id, &*tenant_label];
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
