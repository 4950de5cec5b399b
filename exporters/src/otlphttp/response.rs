//! Reading the backend's answer: success (with partial success), retryable or permanent, as the
//! OTLP/HTTP specification says.

use http::header;
use prost::Message;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceResponse;
use weir_pipeline::otlp::collector::metrics::v1::ExportMetricsServiceResponse;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceResponse;
use weir_pipeline::{ExportError, Sent, SignalKind};

use crate::otlp::common::{ExportResponse, partial_success};
use crate::shared::http::response::{RetryOn, clean, read_body, refused};

/// Most of a response body read: enough for any `google.rpc.Status` or partial success.
const MAX_BODY: usize = 64 << 10;

/// Turns a response into the export's result, reading at most [`MAX_BODY`] of its body.
pub(crate) async fn answer(
    id: &str,
    kind: SignalKind,
    mut response: reqwest::Response,
) -> Result<Sent, ExportError> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let body = read_body(response, MAX_BODY).await;
    if status.is_success() {
        return Ok(match body {
            Ok(body) => read_success(id, kind, &body),
            // The backend said yes; a body cut short changes nothing.
            Err(e) => {
                tracing::debug!(exporter = id, error = %e, "export answer body unreadable");
                Sent::all()
            }
        });
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let message = body.map_or_else(|_| String::new(), |b| error_message(content_type, &b));
    let what = format!("otlphttp exporter {id}: HTTP {status}: {message}");
    Err(refused(status, &headers, RetryOn::OtlpStatuses, what))
}

/// A success's body: the partial success it may carry.
fn read_success(id: &str, kind: SignalKind, body: &[u8]) -> Sent {
    fn decode<R: ExportResponse>(id: &str, kind: SignalKind, body: &[u8]) -> Sent {
        match R::decode(body) {
            Ok(response) => partial_success(id, kind, &response),
            Err(e) => {
                tracing::debug!(exporter = id, error = %e, "export answer not protobuf");
                Sent::all()
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
