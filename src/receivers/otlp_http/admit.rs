//! What an OTLP/HTTP request must pass before its body is read: the process-wide memory limit
//! ([`crate::memory`]) and room in the queues of the receiver's pipelines
//! ([`crate::receivers::room`], which may make the request wait). Refused, the request gets
//! 503 with `Retry-After`; its body is then read and thrown away (never kept, within
//! `max_request_body_size` and `read_timeout`) so an HTTP/1.1 client still sending it gets the
//! answer instead of a broken pipe. Both refusals are counted and logged where they are
//! decided, not per request.

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use weir_pipeline::{RequestId, SignalKind};

use super::decode::Encoding;
use super::{HttpState, body, error_response, set_retry_after};
use crate::receivers::room;

/// The body back when the request may go on; the refusal to send otherwise.
pub(super) async fn admit(
    state: &HttpState,
    kind: SignalKind,
    encoding: Encoding,
    request_id: &RequestId,
    body: Body,
) -> Result<Body, Response> {
    let shared = &state.shared;
    let (message, retry_after) = if shared.memory.refusing() {
        crate::memory::count_refused(&shared.metrics, kind.as_str(), &shared.id);
        (shared.memory.message(), crate::memory::RETRY_AFTER)
    } else {
        match room::wait(&shared.router.load(), &shared.metrics, &shared.id, kind).await {
            Ok(()) => return Ok(body),
            Err(err) => (
                err.reason.message,
                err.retry_after.unwrap_or(crate::memory::RETRY_AFTER),
            ),
        }
    };
    let deadline = tokio::time::Instant::now() + state.read_timeout;
    body::discard(body, state.max_body, deadline).await;
    let mut resp = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        encoding,
        request_id,
        &message,
    );
    set_retry_after(&mut resp, Some(retry_after));
    Err(resp)
}
