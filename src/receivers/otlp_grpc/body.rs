//! A tower layer that reads a gRPC call's request body in full, within the receiver's limits,
//! before tonic decodes it.
//!
//! - The body must arrive within `read_timeout` of the call's headers: past it the call gets
//!   DEADLINE_EXCEEDED (counted in `weir_receiver_timeouts_total{phase="body"}`), so a client
//!   trickling its message cannot hold a stream and its buffer indefinitely.
//! - While the process is past its memory limit ([`crate::memory`]) the call gets UNAVAILABLE
//!   with `google.rpc.RetryInfo` before any of its body is read, counted in
//!   `weir_receiver_refused_requests_total{reason="memory_limited"}`.
//! - While a queue behind the receiver is full the call waits before its body is read, then
//!   gets UNAVAILABLE with `google.rpc.RetryInfo` if there is still no room ([`room`]).
//! - Its bytes count against the receiver's `max_inflight_bytes` as they arrive, until the call
//!   is answered; without room the call gets UNAVAILABLE with `google.rpc.RetryInfo`.
//! - A body longer than one message of `max_recv_msg_size_mib` (plus its 5-byte prefix) gets
//!   RESOURCE_EXHAUSTED without reading further.
//! - A body holding bytes after its one message (a second message in a unary call) gets
//!   INVALID_ARGUMENT: tonic would decode the first and drop the rest unseen, so the client
//!   would believe data accepted that never was.
//!
//! - A request that is not gRPC (its content type does not start with `application/grpc`, as
//!   from an OTLP/HTTP client pointed at the gRPC port) gets HTTP 415, as the gRPC spec asks,
//!   with `grpc-status` INVALID_ARGUMENT: tonic would answer it 200 with a gRPC status in a
//!   header such a client never reads, and the client would count its data as delivered.
//!
//! - A message of [`offload::OFFLOAD_THRESHOLD`] bytes or more is decoded (and the call served)
//!   off the runtime's worker threads, at most one per core at a time ([`offload`]).
//!
//! A body the client aborts is left to tonic, which sees it ended early. Never fails otherwise.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use tonic::Status;
use tonic::body::Body;
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service, ServiceExt};
use weir_pipeline::metrics::catalogue;
use weir_pipeline::{Metrics, SignalKind};

use crate::receivers::limits::{InflightBytes, Reservation};
use crate::receivers::{offload, room};

/// The gRPC message prefix: compressed flag and length.
const PREFIX: usize = 5;
/// How long a client refused for a busy receiver is told to wait.
const RETRY_BUSY: Duration = Duration::from_secs(1);

/// Reads request bodies within limits before the wrapped service sees them.
#[derive(Clone)]
pub struct BodyLimitLayer {
    /// The receiver's in-flight budget.
    pub inflight: InflightBytes,
    /// `read_timeout`.
    pub read_timeout: Duration,
    /// Largest message, in bytes.
    pub max_message: usize,
    /// Where timeouts are counted.
    pub metrics: Metrics,
    /// The listener name in the metric.
    pub listener: &'static str,
    /// The receiver's id, for the refusal counter.
    pub receiver: std::sync::Arc<str>,
    /// The process-wide memory limit.
    pub memory: crate::memory::MemoryGuard,
    /// The receiver's pipelines, whose queues must have room before a body is read.
    pub router: crate::receivers::routes::Routes,
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimit {
            inner,
            limits: self.clone(),
        }
    }
}

/// The wrapped service.
#[derive(Clone)]
pub struct BodyLimit<S> {
    inner: S,
    limits: BodyLimitLayer,
}

impl<S, B> Service<http::Request<B>> for BodyLimit<S>
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The clone that serves the call is driven to readiness by `oneshot`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        let limits = self.limits.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            if !is_grpc(&parts.headers) {
                return Ok(not_grpc());
            }
            if limits.memory.refusing() {
                return Ok(memory_limited(&limits, parts.uri.path()).into_http());
            }
            if let Some(kind) = SignalKind::parse(signal_of(parts.uri.path()))
                && let Err(err) = room::wait(
                    &limits.router.load(),
                    &limits.metrics,
                    &limits.receiver,
                    kind,
                )
                .await
            {
                let status = Status::with_error_details(
                    tonic::Code::Unavailable,
                    err.reason.message,
                    ErrorDetails::with_retry_info(err.retry_after),
                );
                return Ok(status.into_http());
            }
            let (bytes, held) = match read(body, &limits).await {
                Ok(read) => read,
                Err(status) => return Ok(status.into_http()),
            };
            let len = bytes.len();
            let call = inner.oneshot(http::Request::from_parts(parts, Full::new(bytes)));
            // tonic decodes inside the call: a large one runs off the runtime's workers.
            let answer = offload::run_in_place(len, call).await;
            drop(held); // decoded and answered: the bytes are no longer in flight
            answer
        })
    }
}

async fn read<B>(mut body: B, limits: &BodyLimitLayer) -> Result<(Bytes, Reservation), Status>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let busy = || {
        Status::with_error_details(
            tonic::Code::Unavailable,
            format!(
                "receiver busy: request bodies in flight would pass max_inflight_bytes ({} bytes); retry later",
                limits.inflight.max()
            ),
            ErrorDetails::with_retry_info(Some(RETRY_BUSY)),
        )
    };
    let max = limits.max_message.saturating_add(PREFIX);
    let Some(mut held) = limits.inflight.reserve(0) else {
        return Err(busy());
    };
    let deadline = tokio::time::Instant::now() + limits.read_timeout;
    let mut buf = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(frame) => frame,
            Err(_) => {
                limits
                    .metrics
                    .counter(catalogue::RECEIVER_TIMEOUTS, &[limits.listener, "body"])
                    .add(1);
                return Err(Status::deadline_exceeded(format!(
                    "message not received within read_timeout ({:?}): {} bytes arrived",
                    limits.read_timeout,
                    buf.len()
                )));
            }
        };
        let data = match frame {
            None => break,
            // Nobody is left to answer; tonic sees the body end early.
            Some(Err(_)) => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        if buf.len() + data.len() > max {
            return Err(Status::resource_exhausted(format!(
                "message too large: more than max_recv_msg_size_mib ({} bytes)",
                limits.max_message
            )));
        }
        if !held.grow(data.len()) {
            return Err(busy());
        }
        buf.extend_from_slice(&data);
    }
    if let Some(extra) = after_first_message(&buf) {
        return Err(Status::invalid_argument(format!(
            "{extra} bytes after the request message; an export call carries exactly one message"
        )));
    }
    Ok((buf.freeze(), held))
}

/// The answer to a call that arrives while the process is past its memory limit, counted by the
/// call's signal (from its path). Logged when refusal starts and ends, not per call.
fn memory_limited(limits: &BodyLimitLayer, path: &str) -> Status {
    let signal = signal_of(path);
    crate::memory::count_refused(&limits.metrics, signal, &limits.receiver);
    Status::with_error_details(
        tonic::Code::Unavailable,
        limits.memory.message(),
        ErrorDetails::with_retry_info(Some(crate::memory::RETRY_AFTER)),
    )
}

/// The OTLP signal of a gRPC method path, `unknown` for another service.
fn signal_of(path: &str) -> &'static str {
    const SERVICES: [(&str, &str); 3] = [
        ("/opentelemetry.proto.collector.trace.v1.", "traces"),
        ("/opentelemetry.proto.collector.metrics.v1.", "metrics"),
        ("/opentelemetry.proto.collector.logs.v1.", "logs"),
    ];
    SERVICES
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map_or("unknown", |(_, signal)| signal)
}

/// Whether the request's content type is gRPC's (`application/grpc`, `application/grpc+proto`,
/// ...).
fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.as_bytes().get(..GRPC.len()))
        .is_some_and(|t| t.eq_ignore_ascii_case(GRPC))
}

/// The content type every gRPC request's starts with.
const GRPC: &[u8] = b"application/grpc";

/// What a client that does not speak gRPC gets (see the module).
fn not_grpc() -> http::Response<Body> {
    const MESSAGE: &str = "this is the OTLP/gRPC listener: send gRPC (content type \
        application/grpc), or OTLP/HTTP to the receiver's http endpoint";
    let mut response =
        http::Response::new(Body::new(Full::new(Bytes::from_static(MESSAGE.as_bytes()))));
    *response.status_mut() = http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert("grpc-status", http::HeaderValue::from_static("3"));
    headers.insert(
        "grpc-message",
        http::HeaderValue::from_static(
            "not%20a%20gRPC%20request:%20content%20type%20is%20not%20application/grpc",
        ),
    );
    response
}

/// How many bytes follow the body's first message, when any do; `None` too when the body
/// ends inside it (tonic reports that).
fn after_first_message(body: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = body.get(1..PREFIX)?.try_into().ok()?;
    let end = PREFIX.saturating_add(usize::try_from(u32::from_be_bytes(prefix)).ok()?);
    body.len().checked_sub(end).filter(|&extra| extra > 0)
}

#[cfg(test)]
mod tests {
    use super::{after_first_message, is_grpc, not_grpc, signal_of};

    #[test]
    fn method_paths_name_their_signal() {
        let path = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
        assert_eq!(signal_of(path), "logs");
        let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
        assert_eq!(signal_of(path), "traces");
        let path = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
        assert_eq!(signal_of(path), "metrics");
        assert_eq!(signal_of("/grpc.health.v1.Health/Check"), "unknown");
    }

    #[test]
    fn grpc_content_types_are_told_apart() {
        let with = |t: &'static str| {
            let mut h = http::HeaderMap::new();
            h.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(t),
            );
            is_grpc(&h)
        };
        assert!(with("application/grpc"));
        assert!(with("application/grpc+proto"));
        assert!(with("Application/GRPC"));
        assert!(!with("application/json"));
        assert!(!with("application/x-protobuf"));
        assert!(!with("application/grp"));
        assert!(!is_grpc(&http::HeaderMap::new()));
        assert_eq!(
            not_grpc().status(),
            http::StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn only_bytes_past_the_first_message_count() {
        let one = [0, 0, 0, 0, 2, 8, 1];
        assert_eq!(after_first_message(&one), None);
        assert_eq!(after_first_message(&[one, one].concat()), Some(7));
        assert_eq!(after_first_message(&[&one[..], &[0]].concat()), Some(1));
        assert_eq!(
            after_first_message(&one[..6]),
            None,
            "cut short: tonic's to report"
        );
        assert_eq!(after_first_message(&[0, 0]), None);
        assert_eq!(after_first_message(&[]), None);
    }
}
