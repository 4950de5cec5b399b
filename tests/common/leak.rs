//! What the leak test (`redaction_leak.rs`) needs beyond the harness: OTLP/JSON requests with
//! secrets nested in maps and arrays (and their needles); a gRPC backend that keeps the metadata
//! of every export it receives; the search of what exporters put in request lines, headers and
//! gRPC metadata; and the exporter kinds weir has, as `weir validate` names them, so the leak
//! config cannot leave one out.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use serde_json::{Value, json};
use tonic::codec::CompressionEncoding;
use tonic::metadata::{KeyAndValueRef, MetadataMap};
use tonic::{Request, Response, Status};

use super::capture;

pub fn sv(s: &str) -> Value {
    json!({ "stringValue": s })
}

pub fn kvlist(entries: &[(&str, Value)]) -> Value {
    let values: Vec<Value> = entries
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    json!({ "kvlistValue": { "values": values } })
}

pub fn array(values: Vec<Value>) -> Value {
    json!({ "arrayValue": { "values": values } })
}

/// OTLP/JSON traces and logs with secrets nested in maps and arrays, and their needles.
pub fn json_requests() -> (Value, Value, Vec<&'static str>) {
    let needles = vec![
        "leak.jsonres@example.com",
        "plainsecretjsonscopeq7z",
        "plainsecretjsonpwq7z",
        "plainsecretjsonkeyq7z",
        "jsonBearerTok3nLeak99",
        "leak.jsondeep@example.com",
        "plainsecretjsonpayloadq7z",
        "plainsecretjsontagq7z",
        "4539148803436467",
        "plainsecretjsoneventq7z",
        "eyJqc29ubGluayI6MX0",
        "leak.jsonstatus@example.com",
        "leak.jsonbody@example.com",
        "ghp_JSONBODYLEAKxxxxxxxxxxxxxxxxxxxx",
        "plainsecretjsonbodypwq7z",
        "plainsecretjsonmetaq7z",
    ];
    let attrs = |entries: &[(&str, Value)]| -> Vec<Value> {
        entries
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect()
    };
    let traces = json!({ "resourceSpans": [{
        "resource": { "attributes": attrs(&[
            ("service.name", sv("json-client")),
            ("k8s.pod.name", sv("pod leak.jsonres@example.com")),
        ]) },
        "scopeSpans": [{
            "scope": { "name": "json", "attributes": attrs(&[("scope.owner", sv("plainsecretjsonscopeq7z"))]) },
            "spans": [{
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": "eee19b7ec3c1b174",
                "name": "json span",
                "kind": 2,
                "startTimeUnixNano": "1544712660000000000",
                "endTimeUnixNano": "1544712661000000000",
                "attributes": attrs(&[
                    ("http.route", kvlist(&[
                        ("password", sv("plainsecretjsonpwq7z")),
                        ("deep", array(vec![
                            kvlist(&[("api_key", sv("plainsecretjsonkeyq7z"))]),
                            sv("Bearer jsonBearerTok3nLeak99"),
                            array(vec![sv("mail leak.jsondeep@example.com")]),
                        ])),
                    ])),
                    ("app.payload", kvlist(&[("anything", sv("plainsecretjsonpayloadq7z"))])),
                    ("tags", array(vec![sv("plainsecretjsontagq7z"), json!({ "intValue": "4539148803436467" })])),
                ]),
                "events": [{
                    "name": "evt",
                    "timeUnixNano": "1544712660500000000",
                    "attributes": attrs(&[("exception.stacktrace", kvlist(&[("token", sv("plainsecretjsoneventq7z"))]))]),
                }],
                "links": [{
                    "traceId": "5b8efff798038103d269b633813fc60d",
                    "spanId": "eee19b7ec3c1b175",
                    "attributes": attrs(&[("server.address", array(vec![
                        sv("eyJhbGciOiJIUzI1NiJ9.eyJqc29ubGluayI6MX0.c2ln"),
                    ]))]),
                }],
                "status": { "message": "failed for leak.jsonstatus@example.com", "code": 2 },
            }],
        }],
    }]});
    let logs = json!({ "resourceLogs": [{
        "resource": { "attributes": attrs(&[("service.name", sv("json-client"))]) },
        "scopeLogs": [{ "logRecords": [{
            "timeUnixNano": "1544712660300000000",
            "severityNumber": 13,
            "body": kvlist(&[("user", kvlist(&[
                ("email", sv("leak.jsonbody@example.com")),
                ("tokens", array(vec![sv("ghp_JSONBODYLEAKxxxxxxxxxxxxxxxxxxxx")])),
                ("profile", kvlist(&[("password", sv("plainsecretjsonbodypwq7z"))])),
            ]))]),
            "attributes": attrs(&[
                ("event.name", sv("user.updated")),
                ("metadata", kvlist(&[("reason", sv("plainsecretjsonmetaq7z"))])),
            ]),
        }]}],
    }]});
    (traces, logs, needles)
}

/// The metadata of every export a [`MetadataSink`] received: (signal, metadata).
type Seen = Arc<Mutex<Vec<(&'static str, MetadataMap)>>>;

#[derive(Clone)]
struct Recorder(Seen);

impl Recorder {
    fn keep<T>(&self, signal: &'static str, request: Request<T>) {
        let metadata = request.metadata().clone();
        self.0.lock().expect("sink lock").push((signal, metadata));
    }
}

#[tonic::async_trait]
impl TraceService for Recorder {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.keep("traces", request);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Recorder {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.keep("metrics", request);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Recorder {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.keep("logs", request);
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

/// An OTLP gRPC backend for every signal that takes every export and keeps its metadata. It
/// runs on its own thread and runtime (as [`capture::Capture`]), so it keeps answering while
/// the test blocks on weir's exit, and stops when dropped.
pub struct MetadataSink {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Seen,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MetadataSink {
    pub fn start() -> MetadataSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind metadata sink");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("metadata sink address");
        let seen: Seen = Arc::default();
        let recorder = Recorder(Arc::clone(&seen));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("metadata sink runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let gzip = CompressionEncoding::Gzip;
                tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(recorder.clone()).accept_compressed(gzip))
                    .add_service(
                        MetricsServiceServer::new(recorder.clone()).accept_compressed(gzip),
                    )
                    .add_service(LogsServiceServer::new(recorder).accept_compressed(gzip))
                    .serve_with_incoming_shutdown(
                        tokio_stream::wrappers::TcpListenerStream::new(listener),
                        async {
                            let _ = stopped.await;
                        },
                    )
                    .await
                    .expect("metadata sink");
            });
        });
        MetadataSink {
            addr,
            seen,
            stop: Some(stop),
        }
    }

    /// The signals of the exports received so far, in arrival order.
    pub fn signals(&self) -> Vec<&'static str> {
        let seen = self.seen.lock().expect("sink lock");
        seen.iter().map(|(s, _)| *s).collect()
    }

    /// Every export's metadata as text, one `name: value` line per entry (binary values as
    /// lossy text).
    pub fn metadata_text(&self) -> String {
        let seen = self.seen.lock().expect("sink lock");
        let mut out = String::new();
        for (_, metadata) in seen.iter() {
            for entry in metadata.iter() {
                let (name, value) = match entry {
                    KeyAndValueRef::Ascii(k, v) => (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_encoded_bytes()).into_owned(),
                    ),
                    KeyAndValueRef::Binary(k, v) => (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(&v.to_bytes().unwrap_or_default()).into_owned(),
                    ),
                };
                out.push_str(&format!("{name}: {value}\n"));
            }
        }
        out
    }
}

impl Drop for MetadataSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `text` with `%XX` escapes (and `+` in queries) decoded, so a needle sent URL-encoded is
/// still found.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a request says outside its body: its path and query (as sent and decoded) and every
/// header, one `name: value` line each.
pub fn request_line_and_headers(request: &capture::Request) -> String {
    let mut out = format!(
        "{}?{}\n{}?{}\n",
        request.path,
        request.query,
        percent_decoded(&request.path),
        percent_decoded(&request.query)
    );
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        out.push_str(&format!(
            "{name}: {value}\n{name}: {}\n",
            percent_decoded(&value)
        ));
    }
    out
}

/// The exporter kinds a config defines (`otlp/tempo` is of kind `otlp`).
pub fn exporter_kinds_of(config_yaml: &str) -> BTreeSet<String> {
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(config_yaml).expect("config YAML");
    config["exporters"]
        .as_mapping()
        .expect("an exporters section")
        .keys()
        .filter_map(|k| k.as_str())
        .map(|id| id.split('/').next().unwrap_or(id).to_owned())
        .collect()
}

/// Every exporter kind weir has, as the binary names them when `weir validate` meets a kind it
/// does not know (`unknown exporter type "nosuchkind"; weir has: debug, otlp, ...`).
pub fn weir_exporter_kinds() -> BTreeSet<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unknown-kind.yaml");
    std::fs::write(
        &path,
        "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  nosuchkind: {}\n\
         service:\n  pipelines:\n    traces: { receivers: [otlp], exporters: [nosuchkind] }\n",
    )
    .expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("validate")
        .arg(&path)
        .output()
        .expect("run weir validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "an unknown kind must not validate: {text}"
    );
    let list = text
        .split_once("unknown exporter type \"nosuchkind\"; weir has: ")
        .map(|(_, rest)| rest.lines().next().unwrap_or_default())
        .unwrap_or_else(|| panic!("weir validate named no exporter kinds: {text}"));
    list.split(',').map(|k| k.trim().to_owned()).collect()
}
