//! Reading an OTLP/HTTP request body within its limits, then decoding it off the request
//! threads when it is large.
//!
//! [`read`] takes the body frame by frame and says exactly what went wrong:
//! - 413 when `Content-Length` or the bytes received pass `max_request_body_size`;
//! - 503 (with `Retry-After`) when the receiver's `max_inflight_bytes` has no room: a declared
//!   length is reserved up front, a chunked body as it arrives;
//! - 408 when the whole body has not arrived within `read_timeout` (counted in
//!   `weir_receiver_timeouts_total{phase="body"}`);
//! - 400 "body ended after N of M bytes" when the client aborts or sends less than it declared.
//!
//! [`discard`] reads a refused request's body without keeping it, so that an HTTP/1.1 client
//! still writing it gets the answer instead of a reset connection.
//!
//! [`decode_off_thread`] inflates and decodes bodies of [`crate::receivers::offload::OFFLOAD_THRESHOLD`] bytes or more on
//! the blocking pool, at most one per core at a time ([`crate::receivers::offload`]), so a burst
//! of large (or bomb-like) bodies cannot stall the runtime threads that serve everyone else.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use tokio::time::Instant;

use super::decode::BodyError;
use crate::receivers::limits::{InflightBytes, Reservation};

/// A body read in full, with its bytes still counted as in flight until dropped.
pub struct Received {
    /// The body as sent (still compressed).
    pub bytes: Bytes,
    /// The receiver's in-flight bytes this body holds.
    pub reservation: Reservation,
}

/// What bounds one body.
pub struct BodyLimits<'a> {
    /// `max_request_body_size`.
    pub max: usize,
    /// When the body must be complete (`read_timeout` after the headers arrived).
    pub deadline: Instant,
    /// `read_timeout`, for the message.
    pub read_timeout: Duration,
    /// The receiver's in-flight budget.
    pub inflight: &'a InflightBytes,
}

/// Reads `body` within `limits` (see the module).
pub async fn read(
    body: axum::body::Body,
    headers: &HeaderMap,
    limits: &BodyLimits<'_>,
) -> Result<Received, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if declared.is_some_and(|n| n > limits.max) {
        return Err(BodyError::too_large(limits.max));
    }
    let Some(mut reservation) = limits.inflight.reserve(declared.unwrap_or(0)) else {
        return Err(busy(limits.inflight));
    };
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(limits.max));
    let mut body = body;
    loop {
        let frame = match tokio::time::timeout_at(limits.deadline, body.frame()).await {
            Ok(frame) => frame,
            Err(_) => return Err(timed_out(limits.read_timeout, buf.len(), declared)),
        };
        match frame {
            None => break,
            Some(Err(e)) => return Err(cut_short(buf.len(), declared, &e)),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue; // trailers carry nothing OTLP reads
                };
                if buf.len() + data.len() > limits.max {
                    return Err(BodyError::too_large(limits.max));
                }
                let beyond_reserved = (buf.len() + data.len()).saturating_sub(reservation.held());
                if !reservation.grow(beyond_reserved) {
                    return Err(busy(limits.inflight));
                }
                buf.extend_from_slice(&data);
            }
        }
    }
    if let Some(m) = declared.filter(|&m| m != buf.len()) {
        return Err(BodyError::new(
            StatusCode::BAD_REQUEST,
            format!("body ended after {} of {m} bytes", buf.len()),
        ));
    }
    Ok(Received {
        bytes: buf.freeze(),
        reservation,
    })
}

/// Reads `body` to its end and drops every frame as it comes (no buffer grows), for at most
/// `max` bytes and until `deadline`; a body longer or slower than that is left unread (the
/// connection then closes after the answer). Answering while the client is still sending makes
/// an HTTP/1.1 server close the connection with unread data, which resets it: most clients then
/// see the reset, not the answer.
pub async fn discard(body: axum::body::Body, max: usize, deadline: Instant) {
    let mut body = body;
    let mut seen = 0usize;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
        seen = seen.saturating_add(frame.data_ref().map_or(0, |d| d.len()));
        if seen > max {
            return;
        }
    }
}

fn busy(inflight: &InflightBytes) -> BodyError {
    BodyError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "receiver busy: request bodies in flight would pass max_inflight_bytes ({} bytes); retry later",
            inflight.max()
        ),
    )
}

fn timed_out(read_timeout: Duration, got: usize, declared: Option<usize>) -> BodyError {
    let of = declared.map_or_else(String::new, |m| format!(" of {m}"));
    BodyError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "body not received within read_timeout ({read_timeout:?}): {got}{of} bytes arrived"
        ),
    )
}

fn cut_short(got: usize, declared: Option<usize>, e: &axum::Error) -> BodyError {
    let message = match declared {
        Some(m) => format!("body ended after {got} of {m} bytes"),
        None => format!("body ended after {got} bytes: {e}"),
    };
    BodyError::new(StatusCode::BAD_REQUEST, message)
}

/// Runs `work` (decompress and decode a body of `len` bytes) inline when small, else on the
/// blocking pool once a core is free.
pub async fn decode_off_thread<T, F>(len: usize, work: F) -> Result<T, BodyError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, BodyError> + Send + 'static,
{
    crate::receivers::offload::run_blocking(len, work)
        .await
        .unwrap_or_else(|message| Err(BodyError::new(StatusCode::INTERNAL_SERVER_ERROR, message)))
}
