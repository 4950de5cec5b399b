//! Reads a collector's answer: success (with the records it rejected in `partial_success`) or
//! the error, named as the summary names it (the gRPC code name such as `UNAVAILABLE`, or the
//! HTTP status such as `"503"`).
//!
//! Nothing here fails: an answer that cannot be read is an error named after its status, and
//! a success body that cannot be read counts no rejections.

use http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use super::args::SignalArg;

/// What one request came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Accepted, except `rejected` records.
    Ok {
        /// `partial_success.rejected_*`.
        rejected: u64,
    },
    /// Refused; the error's name in the summary.
    Failed(String),
}

/// The name of gRPC code `code` (`UNKNOWN` for one outside the specification).
pub fn grpc_code_name(code: u32) -> String {
    crate::receivers::otlp_grpc::code_name(i32::try_from(code).unwrap_or(2)).to_owned()
}

fn rejected_protobuf(signal: SignalArg, body: &[u8]) -> u64 {
    let n = match signal {
        SignalArg::Traces => ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_spans),
        SignalArg::Logs => ExportLogsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_log_records),
        SignalArg::Metrics => ExportMetricsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_data_points),
    };
    n.map_or(0, |n| u64::try_from(n).unwrap_or(0))
}

fn rejected_json(signal: SignalArg, body: &[u8]) -> u64 {
    let key = match signal {
        SignalArg::Traces => "rejectedSpans",
        SignalArg::Logs => "rejectedLogRecords",
        SignalArg::Metrics => "rejectedDataPoints",
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0;
    };
    let field = &v["partialSuccess"][key];
    // int64 is a string in OTLP/JSON; some encoders write a number.
    field
        .as_u64()
        .or_else(|| field.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// An OTLP/HTTP answer.
pub fn http(signal: SignalArg, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Reply {
    if !status.is_success() {
        return Reply::Failed(status.as_u16().to_string());
    }
    let json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let rejected = if json {
        rejected_json(signal, body)
    } else {
        rejected_protobuf(signal, body)
    };
    Reply::Ok { rejected }
}

/// An OTLP/gRPC answer: `grpc-status` from the trailers, or from the headers of a
/// trailers-only answer; the message is read only on success.
pub fn grpc(
    signal: SignalArg,
    status: StatusCode,
    headers: &HeaderMap,
    trailers: Option<&HeaderMap>,
    body: &[u8],
) -> Reply {
    if status != StatusCode::OK {
        return Reply::Failed(status.as_u16().to_string());
    }
    let code = trailers
        .and_then(|t| t.get("grpc-status"))
        .or_else(|| headers.get("grpc-status"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok());
    match code {
        Some(0) => {}
        Some(code) => return Reply::Failed(grpc_code_name(code)),
        // No status at all: the stream ended early.
        None => return Reply::Failed(grpc_code_name(2)),
    }
    // One message: flag, 4-byte length, protobuf. A compressed answer is not asked for (no
    // grpc-accept-encoding is sent); one that comes anyway counts no rejections.
    let rejected = match body {
        [0, a, b, c, d, rest @ ..]
            if u32::from_be_bytes([*a, *b, *c, *d]) as usize == rest.len() =>
        {
            rejected_protobuf(signal, rest)
        }
        _ => 0,
    };
    Reply::Ok { rejected }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    use super::*;

    fn partial(n: i64) -> Vec<u8> {
        ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: n,
                error_message: "no".into(),
            }),
        }
        .encode_to_vec()
    }

    fn trailers(code: &str) -> HeaderMap {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", HeaderValue::from_str(code).expect("ascii"));
        t
    }

    #[test]
    fn grpc_partial_success_and_codes() {
        let msg = partial(7);
        let mut body = vec![0];
        body.extend((msg.len() as u32).to_be_bytes());
        body.extend(&msg);
        let ok = grpc(
            SignalArg::Traces,
            StatusCode::OK,
            &HeaderMap::new(),
            Some(&trailers("0")),
            &body,
        );
        assert_eq!(ok, Reply::Ok { rejected: 7 });
        let refused = grpc(
            SignalArg::Traces,
            StatusCode::OK,
            &trailers("14"),
            None,
            b"",
        );
        assert_eq!(refused, Reply::Failed("UNAVAILABLE".into()));
        assert_eq!(grpc_code_name(8), "RESOURCE_EXHAUSTED");
        assert_eq!(grpc_code_name(99), "UNKNOWN");
        let no_status = grpc(
            SignalArg::Logs,
            StatusCode::OK,
            &HeaderMap::new(),
            None,
            b"",
        );
        assert_eq!(no_status, Reply::Failed("UNKNOWN".into()));
    }

    #[test]
    fn http_statuses_protobuf_and_json_bodies() {
        let json = |body: &str| {
            let mut h = HeaderMap::new();
            h.insert("content-type", HeaderValue::from_static("application/json"));
            http(SignalArg::Logs, StatusCode::OK, &h, body.as_bytes())
        };
        assert_eq!(
            json(r#"{"partialSuccess":{"rejectedLogRecords":"3"}}"#),
            Reply::Ok { rejected: 3 }
        );
        assert_eq!(
            json(r#"{"partialSuccess":{"rejectedLogRecords":4}}"#),
            Reply::Ok { rejected: 4 }
        );
        assert_eq!(json("{}"), Reply::Ok { rejected: 0 });
        let proto = http(
            SignalArg::Traces,
            StatusCode::OK,
            &HeaderMap::new(),
            &partial(2),
        );
        assert_eq!(proto, Reply::Ok { rejected: 2 });
        let refused = http(
            SignalArg::Traces,
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
            b"",
        );
        assert_eq!(refused, Reply::Failed("503".into()));
    }
}
