//! The HTTP side of remote write: the client ([`crate::shared::http::client`] with the remote
//! write headers) and what an answer means.
//!
//! As the remote write specification says: 2xx is success; 429 and 5xx are retryable, with
//! `Retry-After` (seconds or an HTTP date) honoured; any other status (400 for out-of-order or
//! invalid samples, 401, 404, redirects: they are not followed) is permanent. No connection or
//! no answer within `timeout` is retryable. Errors carry the status and at most 256 bytes of
//! the body, cleaned of control characters.

use http::{HeaderName, HeaderValue, header};
use reqwest::Client;
use weir_pipeline::{ExportError, Sent};

use weir_pipeline::BuildError;

use super::RemoteWriteConfig;
use crate::shared::http::client;
use crate::shared::http::response::{RetryOn, clean, read_body, refused};

/// Most of an error body read.
const MAX_BODY: usize = 4096;

/// The client: configured headers and the remote write headers on every request.
pub(crate) fn client(id: &str, cfg: &RemoteWriteConfig) -> Result<Client, BuildError> {
    let remote_write = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        ),
        (header::CONTENT_ENCODING, HeaderValue::from_static("snappy")),
        (
            HeaderName::from_static("x-prometheus-remote-write-version"),
            HeaderValue::from_static("0.1.0"),
        ),
    ];
    client::build(&cfg.headers, &remote_write, &cfg.tls, cfg.timeout)
        .map_err(|source| BuildError::whole(id, source))
}

/// The export's result from the backend's answer.
pub(crate) async fn answer(id: &str, mut response: reqwest::Response) -> Result<Sent, ExportError> {
    let status = response.status();
    if status.is_success() {
        return Ok(Sent::all());
    }
    let headers = std::mem::take(response.headers_mut());
    let body = read_body(response, MAX_BODY).await.unwrap_or_default();
    let what = format!(
        "prometheusremotewrite exporter {id}: HTTP {status}: {}",
        clean(&String::from_utf8_lossy(&body))
    );
    Err(refused(
        status,
        &headers,
        RetryOn::RateLimitAndServerErrors,
        what,
    ))
}
