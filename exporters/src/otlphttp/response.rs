//! Reading the backend's answer: success (with partial success), retryable or permanent, as the
//! OTLP/HTTP specification says.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode, header};
use prost::Message;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceResponse;
use weir_pipeline::otlp::collector::metrics::v1::ExportMetricsServiceResponse;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceResponse;
use weir_pipeline::{ExportError, SignalKind};

use crate::otlp::common::{ExportResponse, clean, log_partial_success};

/// Most of a response body read: enough for any `google.rpc.Status` or partial success.
const MAX_BODY: usize = 64 << 10;

/// Turns a response into the export's result, reading at most [`MAX_BODY`] of its body.
pub(crate) async fn answer(
    id: &str,
    kind: SignalKind,
    mut response: reqwest::Response,
) -> Result<(), ExportError> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let body = read_body(response).await;
    if status.is_success() {
        match body {
            Ok(body) => log_response(id, kind, &body),
            // The backend said yes; a body cut short changes nothing.
            Err(e) => tracing::debug!(exporter = id, error = %e, "export answer body unreadable"),
        }
        return Ok(());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let message = body.map_or_else(|_| String::new(), |b| error_message(content_type, &b));
    let what = format!("otlphttp exporter {id}: HTTP {status}: {message}");
    match status {
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => Err(ExportError::Retryable {
            source: what.into(),
            retry_after: retry_after(&headers, SystemTime::now()),
        }),
        _ => Err(ExportError::permanent(what)),
    }
}

/// A failure to get any answer: retryable (no connection, reset, timeout) unless the request
/// itself could not be built.
pub(crate) fn send_error(id: &str, timeout: Duration, e: reqwest::Error) -> ExportError {
    if e.is_timeout() {
        return ExportError::retryable(format!(
            "otlphttp exporter {id}: no answer within {timeout:?}"
        ));
    }
    let permanent = e.is_builder();
    // Without the URL: a user may have put a credential in its query.
    let what = format!(
        "otlphttp exporter {id}: {}",
        crate::otlp::error_chain(&e.without_url())
    );
    if permanent {
        ExportError::permanent(what)
    } else {
        ExportError::retryable(what)
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() == MAX_BODY {
            break;
        }
    }
    Ok(out)
}

fn log_response(id: &str, kind: SignalKind, body: &[u8]) {
    fn decode<R: ExportResponse>(id: &str, kind: SignalKind, body: &[u8]) {
        match R::decode(body) {
            Ok(response) => log_partial_success(id, kind, &response),
            Err(e) => tracing::debug!(exporter = id, error = %e, "export answer not protobuf"),
        }
    }
    match kind {
        SignalKind::Traces => decode::<ExportTraceServiceResponse>(id, kind, body),
        SignalKind::Metrics => decode::<ExportMetricsServiceResponse>(id, kind, body),
        SignalKind::Logs => decode::<ExportLogsServiceResponse>(id, kind, body),
    }
}

/// The message of an error body: a `google.rpc.Status` in protobuf or JSON, as OTLP says, or
/// whatever text a proxy sent; at most 256 bytes.
pub(crate) fn error_message(content_type: &str, body: &[u8]) -> String {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let decoded = match mime {
        "application/x-protobuf" | "application/protobuf" => {
            tonic_types::Status::decode(body).ok().map(|s| s.message)
        }
        "application/json" => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_owned)),
        _ => None,
    };
    match decoded {
        Some(message) => clean(&message),
        None => clean(&String::from_utf8_lossy(&body[..body.len().min(1024)])),
    }
}

/// `Retry-After` as a wait: whole seconds, or an HTTP date (a date in the past is no wait).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_retry_after(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let at = |v| retry_after(&with_retry_after(v), now);
        assert_eq!(at("7"), Some(Duration::from_secs(7)));
        // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
        assert_eq!(
            at("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(at("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO));
        assert_eq!(at("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn error_messages_from_protobuf_json_and_text() {
        let status = tonic_types::Status {
            code: 3,
            message: "bad span".into(),
            details: vec![],
        };
        let pb = status.encode_to_vec();
        assert_eq!(error_message("application/x-protobuf", &pb), "bad span");
        let json = br#"{"code":3,"message":"bad log"}"#;
        assert_eq!(
            error_message("application/json; charset=utf-8", json),
            "bad log"
        );
        assert_eq!(error_message("text/plain", b"nope\n"), "nope ");
        assert_eq!(error_message("text/html", &[b'x'; 5000]).len(), 256);
    }
}
