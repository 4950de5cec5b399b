//! Sending a corpus case exactly as written, and reading what weir answered. Checks nothing
//! itself.
//!
//! OTLP/HTTP goes over a raw HTTP/1.1 connection, so a case can declare a `Content-Length`
//! its body does not have and send header bytes a client library would refuse. OTLP/gRPC goes
//! over HTTP/2 (reqwest with prior knowledge) with a hand-made frame, so a case can set the
//! compressed flag, the declared length and `grpc-encoding` independently; the status is read
//! from the headers (trailers-only answers) or the trailers.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::case::{Case, Transport};

/// What turns a hang into a failure, per request.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// weir's answer to one case.
#[derive(Debug, Default)]
pub struct Answer {
    /// HTTP status, or `None` when the connection ended without one.
    pub status: Option<u16>,
    /// gRPC code name, or `None` when none came.
    pub code: Option<String>,
    /// The error message (google.rpc.Status / grpc-message) or partial success's message.
    pub message: String,
    /// `partial_success`'s rejected count, when the answer had one.
    pub rejected: Option<i64>,
    /// `x-request-id` answered.
    pub request_id: Option<String>,
    /// `grpc-accept-encoding` answered.
    pub accept_encoding: String,
}

/// Sends `case` to weir's listener for its transport.
pub async fn send(case: &Case, http: SocketAddr, grpc: SocketAddr) -> Result<Answer, String> {
    let body = case.body_bytes();
    let sent = match case.transport {
        Transport::Http => {
            let to = if case.port == Some(Transport::Grpc) {
                grpc
            } else {
                http
            };
            tokio::time::timeout(DEADLINE, http1(case, to, body)).await
        }
        Transport::Grpc => tokio::time::timeout(DEADLINE, grpc_call(case, grpc, body)).await,
    };
    sent.map_err(|_| format!("no answer within {DEADLINE:?}"))?
}

async fn http1(case: &Case, addr: SocketAddr, body: Vec<u8>) -> Result<Answer, String> {
    let mut head = format!(
        "POST /v1/{} HTTP/1.1\r\nhost: weir\r\nconnection: close\r\n",
        case.signal
    )
    .into_bytes();
    match case.content_type.as_deref() {
        Some("") => {}
        Some(t) => head.extend_from_slice(format!("content-type: {t}\r\n").as_bytes()),
        None => head.extend_from_slice(b"content-type: application/x-protobuf\r\n"),
    }
    let length = case.content_length.unwrap_or(body.len());
    head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
    for (name, value) in &case.headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(&value.bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");

    let mut conn = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    conn.write_all(&head).await.map_err(|e| e.to_string())?;
    // weir may answer (and close) before the whole body is written: that is an answer too.
    let _ = conn.write_all(&body).await;
    if case.content_length.is_some() {
        let _ = conn.shutdown().await; // the client gives up: no more bytes are coming
    }
    let mut raw = Vec::new();
    // A reset after the answer still leaves the answer read.
    let _ = conn.read_to_end(&mut raw).await;
    parse_http1(&raw, &case.signal)
}

fn parse_http1(raw: &[u8], signal: &str) -> Result<Answer, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no HTTP answer: {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let body = &raw[end + 4..];
    let status = head
        .split("\r\n")
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line: {head}"))?;
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let json = header("content-type").is_some_and(|t| t.starts_with("application/json"));
    let mut answer = Answer {
        status: Some(status),
        request_id: header("x-request-id"),
        ..Answer::default()
    };
    if status == 200 {
        (answer.rejected, answer.message) = partial(signal, body, json)?;
    } else if json {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("JSON error body: {e}"))?;
        answer.message = v["message"].as_str().unwrap_or_default().to_owned();
    } else if header("content-type").is_some_and(|t| t.starts_with("text/plain")) {
        answer.message = String::from_utf8_lossy(body).into_owned();
    } else {
        let s = tonic_types::Status::decode(body).map_err(|e| format!("error body: {e}"))?;
        answer.message = s.message;
    }
    Ok(answer)
}

/// `(rejected, message)` of a successful answer's `partial_success`.
fn partial(signal: &str, body: &[u8], json: bool) -> Result<(Option<i64>, String), String> {
    if json {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("JSON answer: {e}"))?;
        let p = &v["partialSuccess"];
        if p.is_null() {
            return Ok((None, String::new()));
        }
        let field = match signal {
            "traces" => "rejectedSpans",
            "metrics" => "rejectedDataPoints",
            _ => "rejectedLogRecords",
        };
        let rejected = match &p[field] {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => Some(0),
        };
        let message = p["errorMessage"].as_str().unwrap_or_default().to_owned();
        return Ok((rejected, message));
    }
    let bad = |e: prost::DecodeError| format!("protobuf answer: {e}");
    Ok(match signal {
        "traces" => ExportTraceServiceResponse::decode(body)
            .map_err(bad)?
            .partial_success
            .map_or((None, String::new()), |p| {
                (Some(p.rejected_spans), p.error_message)
            }),
        "metrics" => ExportMetricsServiceResponse::decode(body)
            .map_err(bad)?
            .partial_success
            .map_or((None, String::new()), |p| {
                (Some(p.rejected_data_points), p.error_message)
            }),
        _ => ExportLogsServiceResponse::decode(body)
            .map_err(bad)?
            .partial_success
            .map_or((None, String::new()), |p| {
                (Some(p.rejected_log_records), p.error_message)
            }),
    })
}

/// The path of `signal`'s Export method.
pub fn grpc_path(signal: &str) -> String {
    let (package, service) = match signal {
        "traces" => ("trace", "TraceService"),
        "metrics" => ("metrics", "MetricsService"),
        "logs" => ("logs", "LogsService"),
        other => (other, "UnknownService"),
    };
    format!("/opentelemetry.proto.collector.{package}.v1.{service}/Export")
}

async fn grpc_call(case: &Case, addr: SocketAddr, message: Vec<u8>) -> Result<Answer, String> {
    let body = if case.frame.raw {
        message
    } else {
        let compressed = case.frame.compressed.unwrap_or(case.compress.is_some());
        let len = case
            .frame
            .declared_len
            .unwrap_or_else(|| u32::try_from(message.len()).expect("corpus messages are small"));
        let mut one = vec![u8::from(compressed)];
        one.extend_from_slice(&len.to_be_bytes());
        one.extend_from_slice(&message);
        let mut all = one.repeat(case.frame.count.unwrap_or(1));
        all.extend(
            case.frame
                .trailing
                .as_deref()
                .map(super::bodies::unhex)
                .unwrap_or_default(),
        );
        all
    };
    weir::install_crypto_provider();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client
        .post(format!("http://{addr}{}", grpc_path(&case.signal)))
        .header("te", "trailers")
        .body(body);
    if !case.headers.contains_key("content-type") {
        request = request.header("content-type", "application/grpc");
    }
    for (name, value) in &case.headers {
        let value = reqwest::header::HeaderValue::from_bytes(&value.bytes())
            .map_err(|e| format!("header {name}: {e}"))?;
        request = request.header(name.as_str(), value);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let response: http::Response<reqwest::Body> = response.into();
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.map_err(|e| format!("body: {e}"))?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let bytes = collected.to_bytes();
    let get = |name: &str| {
        parts
            .headers
            .get(name)
            .or_else(|| trailers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut answer = Answer {
        status: Some(parts.status.as_u16()),
        code: get("grpc-status").map(|c| code_name(&c)),
        message: percent_decode(&get("grpc-message").unwrap_or_default()),
        request_id: get("x-request-id"),
        accept_encoding: get("grpc-accept-encoding").unwrap_or_default(),
        rejected: None,
    };
    if answer.code.as_deref() == Some("OK") && bytes.len() >= 5 {
        if bytes[0] != 0 {
            return Err("weir compressed an answer the client did not ask to be".into());
        }
        let (rejected, message) = partial(&case.signal, &bytes[5..], false)?;
        answer.rejected = rejected;
        answer.message = message;
    }
    Ok(answer)
}

/// The name of a `grpc-status` number.
fn code_name(code: &str) -> String {
    let names = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    code.parse::<usize>()
        .ok()
        .and_then(|n| names.get(n))
        .map_or_else(|| format!("code {code}"), |n| (*n).to_owned())
}

/// `grpc-message` is percent-encoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
