//! The `loki` exporter end to end: the OpenTelemetry Python SDK (`tests/python/send_all.py`,
//! configured only by `OTEL_*` variables) sends a log record inside a span to a real weir, whose
//! `loki` exporter pushes it to a fake Loki running in this test. Loki cannot run here, so the
//! fake decodes the real wire format itself, byte for byte: its own snappy block decoder and its
//! own `logproto.PushRequest` definitions (field numbers from Loki's `pkg/push/push.proto`), or
//! Loki's JSON push body. The tests assert on streams, labels, lines, timestamps, structured
//! metadata and the tenant header. SIGTERM drains weir's queues, so after `stop()` the fake has
//! everything.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use prost::Message;
use serde_json::Value;

use common::{Weir, python, tests_path};

const SERVICE_NAME: &str = "checkout-svc";
const RESOURCE_ATTRIBUTES: &str = "deployment.environment.name=sdk-test,team=payments";

#[test]
fn python_sdk_logs_reach_loki_as_snappy_protobuf() {
    let run = run(Case {
        protocol: "http/protobuf",
        exporter: "format: protobuf\n    structured_metadata: { attributes: [log.int] }",
        headers: None,
    });
    let push = &run.pushes[0];
    assert_eq!(push.content_type, "application/x-protobuf");
    assert_eq!(
        push.content_encoding, None,
        "snappy is implied, never announced"
    );
    assert_eq!(
        push.tenant.as_deref(),
        Some("default"),
        "the receiver's default tenant"
    );
    let (labels, entry) = run.only_entry();
    check_labels(labels);
    assert_eq!(entry.line, "payment declined", "text: the body");
    check_entry(entry, &run.report);
    let request_id = &entry.metadata["request_id"];
    let uuid = uuid::Uuid::parse_str(request_id).expect("weir's request id is a uuid");
    assert_eq!(uuid.get_version_num(), 7, "{request_id}");
}

#[test]
fn python_sdk_logs_reach_loki_as_gzipped_json_for_the_sending_tenant() {
    let run = run(Case {
        protocol: "grpc",
        exporter: "format: json\n    line_format: json\n    \
                   structured_metadata: { attributes: [log.int] }",
        headers: Some("X-Scope-OrgID=team-a,X-Request-Id=req-e2e-1"),
    });
    let push = &run.pushes[0];
    assert_eq!(push.content_type, "application/json");
    assert_eq!(push.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(
        push.tenant.as_deref(),
        Some("team-a"),
        "the tenant the SDK named"
    );
    let (labels, entry) = run.only_entry();
    check_labels(labels);
    check_entry(entry, &run.report);
    assert_eq!(
        entry.metadata["request_id"], "req-e2e-1",
        "the client's request id"
    );
    let line: Value = serde_json::from_str(&entry.line).expect("a JSON line");
    assert_eq!(
        line,
        serde_json::json!({"body": "payment declined", "severity": "WARN",
                           "attributes": {"log.str": "value", "log.int": 7}})
    );
}

#[test]
fn without_structured_metadata_logfmt_lines_carry_the_trace() {
    let run = run(Case {
        protocol: "http/protobuf",
        exporter: "line_format: logfmt\n    structured_metadata: { enabled: false }\n    \
                   tenant_id: fixed-tenant",
        headers: None,
    });
    assert_eq!(run.pushes[0].tenant.as_deref(), Some("fixed-tenant"));
    let (labels, entry) = run.only_entry();
    check_labels(labels);
    assert!(entry.metadata.is_empty(), "Loki 2.x: {:?}", entry.metadata);
    let log = &run.report["log"];
    assert_eq!(
        entry.line,
        format!(
            "body=\"payment declined\" severity=WARN trace_id={} span_id={} log.str=value log.int=7",
            run.report["trace_id"].as_str().expect("trace_id"),
            log["span_id"].as_str().expect("span_id"),
        )
    );
}

/// The fake's snappy decoder against vectors the `snap` crate (what weir encodes with) reads and
/// writes: literals, 1- and 2-byte-offset copies, overlapping copies.
#[test]
fn the_fake_reads_snappy_as_the_snap_crate_writes_it() {
    let hand_made = [
        0x10, 0x0c, b'a', b'b', b'c', b'd', 0x11, 0x04, 0x0e, 0x04, 0x00,
    ];
    assert_eq!(wire::snappy_decode(&hand_made), b"abcd".repeat(4));
    // snap::raw::Encoder's output for 200 bytes cycling through "abcdefg", then 100 x "z".
    let encoded = [
        172, 2, 24, 97, 98, 99, 100, 101, 102, 103, 254, 7, 0, 254, 7, 0, 238, 7, 0, 5, 7, 0, 122,
        254, 1, 0, 138, 1, 0,
    ];
    let want: Vec<u8> = (0..200u8)
        .map(|i| b'a' + i % 7)
        .chain(std::iter::repeat_n(b'z', 100))
        .collect();
    assert_eq!(wire::snappy_decode(&encoded), want);
}

/// Labels: the configured resource and record attributes (renamed or sanitised), plus
/// `service_name` and `level`, and nothing else.
fn check_labels(labels: &BTreeMap<String, String>) {
    let want: BTreeMap<String, String> = [
        ("service_name", SERVICE_NAME),
        ("level", "warn"),
        ("env", "sdk-test"),
        ("team", "payments"),
        ("kind", "value"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(labels, &want);
}

/// The entry's timestamp and the structured metadata that links it to its trace.
fn check_entry(entry: &Entry, report: &Value) {
    let log = &report["log"];
    assert_eq!(
        entry.nanos,
        i128::from(log["time_unix_nano"].as_u64().expect("time")),
        "the record's own time, to the nanosecond"
    );
    let m = &entry.metadata;
    assert_eq!(
        m["trace_id"],
        report["trace_id"].as_str().expect("trace_id")
    );
    assert_eq!(m["span_id"], log["span_id"].as_str().expect("span_id"));
    assert_eq!(m["severity_text"], "WARN");
    assert_eq!(m["severity_number"], "13");
    assert_eq!(m["log_int"], "7", "configured, name sanitised");
    let names: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "log_int",
            "request_id",
            "severity_number",
            "severity_text",
            "span_id",
            "trace_id"
        ]
    );
}

struct Case {
    protocol: &'static str,
    /// Extra lines of the `loki` exporter's config.
    exporter: &'static str,
    /// `OTEL_EXPORTER_OTLP_HEADERS`.
    headers: Option<&'static str>,
}

struct Run {
    report: Value,
    pushes: Vec<Push>,
}

impl Run {
    /// The one log record the SDK sent, as Loki stored it, with its stream's labels.
    fn only_entry(&self) -> (&BTreeMap<String, String>, &Entry) {
        let all: Vec<_> = self
            .pushes
            .iter()
            .flat_map(|p| &p.streams)
            .flat_map(|s| s.entries.iter().map(move |e| (&s.labels, e)))
            .collect();
        assert_eq!(all.len(), 1, "one entry: {:?}", self.pushes);
        all[0]
    }
}

/// Starts the fake Loki and weir, runs the SDK against weir, stops weir (draining its queue)
/// and returns what the SDK reported and what the fake received.
fn run(case: Case) -> Run {
    let python = python();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let fake = runtime.block_on(FakeLoki::start());
    let mut weir = Weir::start(&format!(
        "\
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:0 }}
      http: {{ endpoint: 127.0.0.1:0 }}
exporters:
  debug: {{ verbosity: basic, path: {{OUT}} }}
  loki:
    endpoint: http://{addr}/loki/api/v1/push
    labels:
      resource: {{ deployment.environment.name: env, team: null }}
      attributes: {{ log.str: kind }}
    retry_on_failure: {{ initial_interval: 50ms }}
    {extra}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces:  {{ receivers: [otlp], exporters: [debug] }}
    metrics: {{ receivers: [otlp], exporters: [debug] }}
    logs:    {{ receivers: [otlp], exporters: [loki] }}
",
        addr = fake.addr,
        extra = case.exporter,
    ));
    let endpoint = match case.protocol {
        "grpc" => weir.grpc_base(),
        _ => weir.http_base(),
    };
    let report = run_send_all(&python, case.protocol, &endpoint, case.headers);
    let status = weir.stop();
    assert!(status.success(), "weir exited with {status}");
    let pushes: Vec<Push> = fake.raw().iter().map(Push::decode).collect();
    assert!(!pushes.is_empty(), "nothing reached the fake Loki");
    for push in &pushes {
        assert_eq!(push.path, "/loki/api/v1/push");
    }
    drop(runtime);
    Run { report, pushes }
}

/// Runs send_all.py against `endpoint` and returns its report; panics with its output unless it
/// exits 0.
fn run_send_all(python: &Path, protocol: &str, endpoint: &str, headers: Option<&str>) -> Value {
    let mut cmd = Command::new(python);
    cmd.arg(tests_path("python/send_all.py"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("OTEL_") || key.to_ascii_lowercase().ends_with("_proxy") {
            cmd.env_remove(key);
        }
    }
    if let Some(headers) = headers {
        cmd.env("OTEL_EXPORTER_OTLP_HEADERS", headers);
    }
    let out = cmd
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_SERVICE_NAME", SERVICE_NAME)
        .env("OTEL_RESOURCE_ATTRIBUTES", RESOURCE_ATTRIBUTES)
        .stdin(Stdio::null())
        .output()
        .expect("run send_all.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "send_all.py exited {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| !l.trim().is_empty())
        .expect("a report line");
    serde_json::from_str(line).expect("send_all.py report is JSON")
}

/// One push as it came over the wire.
#[derive(Debug, Clone)]
struct RawPush {
    path: String,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

/// A fake Loki: keeps every push raw (decoded later, on the test thread, so a decoding failure
/// fails the test instead of becoming an answer) and answers 204 as Loki does.
struct FakeLoki {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<RawPush>>>,
}

impl FakeLoki {
    async fn start() -> Self {
        let seen: Arc<Mutex<Vec<RawPush>>> = Arc::default();
        let router = axum::Router::new()
            .fallback(receive)
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, seen }
    }

    fn raw(&self) -> Vec<RawPush> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn receive(State(seen): State<Arc<Mutex<Vec<RawPush>>>>, request: Request) -> StatusCode {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST;
    };
    seen.lock().expect("lock").push(RawPush {
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body: body.to_vec(),
    });
    StatusCode::NO_CONTENT
}

/// A push as Loki reads it.
#[derive(Debug)]
struct Push {
    path: String,
    tenant: Option<String>,
    content_type: String,
    content_encoding: Option<String>,
    streams: Vec<Stream>,
}

#[derive(Debug)]
struct Stream {
    labels: BTreeMap<String, String>,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    nanos: i128,
    line: String,
    metadata: BTreeMap<String, String>,
}

impl Push {
    fn decode(raw: &RawPush) -> Push {
        let header = |name: &str| {
            raw.headers
                .get(name)
                .map(|v| v.to_str().expect("ASCII header").to_owned())
        };
        let content_type = header("content-type").expect("Content-Type");
        let content_encoding = header("content-encoding");
        let streams = match (content_type.as_str(), content_encoding.as_deref()) {
            ("application/x-protobuf", None) => wire::decode_protobuf(&raw.body),
            ("application/json", None) => wire::decode_json(&raw.body),
            ("application/json", Some("gzip")) => {
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&raw.body[..])
                    .read_to_end(&mut plain)
                    .expect("gzip");
                wire::decode_json(&plain)
            }
            other => panic!("Loki reads no {other:?} body"),
        };
        Push {
            path: raw.path.clone(),
            tenant: header("x-scope-orgid"),
            content_type,
            content_encoding,
            streams,
        }
    }
}

/// Loki's wire formats, read independently of weir's encoder.
mod wire {
    use super::*;

    /// `logproto.PushRequest`.
    #[derive(Clone, PartialEq, Message)]
    struct PushRequest {
        #[prost(message, repeated, tag = "1")]
        streams: Vec<StreamAdapter>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct StreamAdapter {
        #[prost(string, tag = "1")]
        labels: String,
        #[prost(message, repeated, tag = "2")]
        entries: Vec<EntryAdapter>,
        #[prost(uint64, tag = "3")]
        hash: u64,
    }

    #[derive(Clone, PartialEq, Message)]
    struct EntryAdapter {
        #[prost(message, optional, tag = "1")]
        timestamp: Option<Timestamp>,
        #[prost(string, tag = "2")]
        line: String,
        #[prost(message, repeated, tag = "3")]
        structured_metadata: Vec<LabelPairAdapter>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct LabelPairAdapter {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(string, tag = "2")]
        value: String,
    }

    /// `google.protobuf.Timestamp`.
    #[derive(Clone, PartialEq, Message)]
    struct Timestamp {
        #[prost(int64, tag = "1")]
        seconds: i64,
        #[prost(int32, tag = "2")]
        nanos: i32,
    }

    pub(super) fn decode_protobuf(body: &[u8]) -> Vec<Stream> {
        let raw = snappy_decode(body);
        let push = PushRequest::decode(&raw[..]).expect("logproto.PushRequest");
        push.streams
            .into_iter()
            .map(|s| Stream {
                labels: parse_selector(&s.labels),
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| {
                        let ts = e.timestamp.expect("Loki requires a timestamp");
                        let mut metadata = BTreeMap::new();
                        for p in e.structured_metadata {
                            assert!(metadata.insert(p.name, p.value).is_none(), "repeated name");
                        }
                        Entry {
                            nanos: i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos),
                            line: e.line,
                            metadata,
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    pub(super) fn decode_json(body: &[u8]) -> Vec<Stream> {
        let v: Value = serde_json::from_slice(body).expect("JSON push body");
        let strings = |m: &Value| -> BTreeMap<String, String> {
            m.as_object()
                .expect("an object of strings")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_owned()))
                .collect()
        };
        v["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .map(|s| Stream {
                labels: strings(&s["stream"]),
                entries: s["values"]
                    .as_array()
                    .expect("values")
                    .iter()
                    .map(|e| Entry {
                        nanos: e[0].as_str().expect("ns as a string").parse().expect("ns"),
                        line: e[1].as_str().expect("line").to_owned(),
                        metadata: e.get(2).map(strings).unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Decodes snappy's raw block format (what Loki reads): a varint length, then literals and
    /// back-references.
    pub(super) fn snappy_decode(input: &[u8]) -> Vec<u8> {
        let mut pos = 0;
        let mut len = 0usize;
        for shift in (0..35).step_by(7) {
            let b = input[pos];
            pos += 1;
            len |= usize::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
        }
        let mut out = Vec::with_capacity(len);
        let le = |bytes: &[u8]| {
            bytes
                .iter()
                .rev()
                .fold(0usize, |n, b| (n << 8) | usize::from(*b))
        };
        while pos < input.len() {
            let tag = input[pos];
            pos += 1;
            let (length, offset) = match tag & 3 {
                0 => {
                    let mut n = usize::from(tag >> 2);
                    if n >= 60 {
                        let extra = n - 59;
                        n = le(&input[pos..pos + extra]);
                        pos += extra;
                    }
                    out.extend_from_slice(&input[pos..pos + n + 1]);
                    pos += n + 1;
                    continue;
                }
                1 => {
                    let offset = (usize::from(tag >> 5) << 8) | usize::from(input[pos]);
                    pos += 1;
                    (4 + usize::from((tag >> 2) & 7), offset)
                }
                2 => {
                    pos += 2;
                    (1 + usize::from(tag >> 2), le(&input[pos - 2..pos]))
                }
                _ => {
                    pos += 4;
                    (1 + usize::from(tag >> 2), le(&input[pos - 4..pos]))
                }
            };
            assert!(offset > 0 && offset <= out.len(), "bad snappy offset");
            let start = out.len() - offset;
            for i in 0..length {
                out.push(out[start + i]);
            }
        }
        assert_eq!(out.len(), len, "snappy length");
        out
    }

    /// `{a="x", b="y"}` as Loki's label parser reads it.
    fn parse_selector(selector: &str) -> BTreeMap<String, String> {
        let inner = selector
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .expect("braces");
        let mut out = BTreeMap::new();
        let mut chars = inner.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ' ' || *c == ',') {
                chars.next();
            }
            if chars.peek().is_none() {
                return out;
            }
            let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
            let valid = name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
            assert!(valid && !name.is_empty(), "label name {name:?}");
            assert_eq!(chars.next(), Some('"'));
            let mut value = String::new();
            loop {
                match chars.next().expect("closing quote") {
                    '"' => break,
                    '\\' => match chars.next().expect("escape") {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        c => value.push(c),
                    },
                    c => value.push(c),
                }
            }
            assert!(out.insert(name, value).is_none(), "repeated label");
        }
    }
}
