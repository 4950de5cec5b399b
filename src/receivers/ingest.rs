//! The path both transports share once a request is decoded: submit to the router, count the
//! outcome in weir's metrics, log refusals.
//!
//! Failure is a [`SubmitError`] handed back to the transport, which maps it to a status.

use tracing::Instrument;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::pipeline::{Accepted, SubmitError};
use weir_pipeline::{Batch, RequestContext, Signal};

use super::ReceiverShared;

/// Submits one decoded request and counts what happened to it.
pub async fn ingest(
    shared: &ReceiverShared,
    ctx: RequestContext,
    signal: Signal,
) -> Result<Accepted, SubmitError> {
    let kind = signal.kind();
    let records = signal.record_count();
    let bytes = ctx.body_bytes as u64;
    let tenant = ctx.tenant.clone();
    let request_id = ctx.request_id.clone();
    // Every line logged while this request is handled carries its request id and tenant (and
    // the trace id of its `traceparent`), under `span` in the JSON logs.
    let span = tracing::info_span!(
        "weir.receive",
        request_id = %request_id,
        tenant = %tenant,
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
    let result = shared
        .router
        .submit(Batch::new(ctx, signal))
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    let labels = [kind.as_str(), &shared.id, tenant.as_str()];
    match &result {
        Ok(accepted) => {
            let taken = records.saturating_sub(accepted.rejected);
            shared
                .metrics
                .counter(catalogue::RECEIVER_ACCEPTED_RECORDS, &labels)
                .add(taken);
            shared
                .metrics
                .counter(catalogue::RECEIVER_ACCEPTED_BYTES, &labels)
                .add(bytes);
            if accepted.rejected > 0 {
                shared
                    .metrics
                    .counter(
                        catalogue::RECEIVER_REFUSED_RECORDS,
                        &[kind.as_str(), &shared.id, tenant.as_str(), "rejected"],
                    )
                    .add(accepted.rejected);
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
                        tenant.as_str(),
                        err.reason.kind.as_str(),
                    ],
                )
                .add(records);
            tracing::warn!(
                request_id = %request_id,
                tenant = %tenant,
                receiver = %shared.id,
                signal = %kind,
                records,
                reason = %err.reason,
                "request refused"
            );
        }
    }
    result
}
