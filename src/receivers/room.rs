//! Room in the pipelines' queues, checked before a request's body is read.
//!
//! While a queued exporter behind the receiver is full, the request waits with its body
//! unread (up to that exporter's `sending_queue.overflow_wait`), so a backend or a consumer
//! that falls behind slows clients down instead of making weir decode requests only to refuse
//! them; `weir_receiver_waiting_requests{receiver}` shows how many wait. Still full then, the request gets the answer a full queue gives (HTTP 503 +
//! `Retry-After` / gRPC UNAVAILABLE + `RetryInfo`), counted in
//! `weir_receiver_refused_requests_total{reason="queue_full"}` and logged at most once per
//! [`LOG_INTERVAL`]. Room can still run out between this check and the reservation after
//! decoding; the reservation then waits out the rest of the bound. Never fails otherwise.

use std::time::Duration;

use weir_pipeline::metrics::catalogue;
use weir_pipeline::{Metrics, Router, SignalKind, SubmitError};

use super::throttle::Throttle;

/// The refusal reason in `weir_receiver_refused_requests_total`.
pub const REASON: &str = "queue_full";
/// Refusals for want of room are logged at most this often.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

static LOG: Throttle = Throttle::new(LOG_INTERVAL);

/// Waits until every pipeline of `kind` behind `router` has room in its queues; the refusal
/// (counted and logged here) otherwise.
pub async fn wait(
    router: &Router,
    metrics: &Metrics,
    receiver: &str,
    kind: SignalKind,
) -> Result<(), SubmitError> {
    if router.has_room(kind) {
        return Ok(());
    }
    let waiting = metrics.counter(catalogue::RECEIVER_WAITING_REQUESTS, &[receiver]);
    waiting.add(1);
    let waited = router.wait_for_room(kind).await;
    waiting.sub(1);
    let Err(err) = waited else {
        return Ok(());
    };
    metrics
        .counter(
            catalogue::RECEIVER_REFUSED_REQUESTS,
            &[kind.as_str(), receiver, REASON],
        )
        .add(1);
    if let Some(held_back) = LOG.allow() {
        tracing::warn!(
            receiver,
            signal = %kind,
            reason = %err.reason,
            refused_since_last_line = held_back,
            "requests refused before reading their body: no room in an exporter's queue; the \
             backend or the exporter is slower than what arrives"
        );
    }
    Err(err)
}
