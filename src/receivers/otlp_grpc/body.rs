//! A tower layer that reads a gRPC call's request body in full, within the receiver's limits,
//! before tonic decodes it.
//!
//! - The body must arrive within `read_timeout` of the call's headers: past it the call gets
//!   DEADLINE_EXCEEDED (counted in `weir_receiver_timeouts_total{phase="body"}`), so a client
//!   trickling its message cannot hold a stream and its buffer indefinitely.
//! - Its bytes count against the receiver's `max_inflight_bytes` as they arrive, until the call
//!   is answered; without room the call gets UNAVAILABLE with `google.rpc.RetryInfo`.
//! - A body longer than one message of `max_recv_msg_size_mib` (plus its 5-byte prefix) gets
//!   RESOURCE_EXHAUSTED without reading further.
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
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

use crate::receivers::limits::{InflightBytes, Reservation};

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
            let (bytes, held) = match read(body, &limits).await {
                Ok(read) => read,
                Err(status) => return Ok(status.into_http()),
            };
            let answer = inner
                .oneshot(http::Request::from_parts(parts, Full::new(bytes)))
                .await;
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
    Ok((buf.freeze(), held))
}
