//! What the leak test (`redaction_leak.rs`) searches beyond the exporters' bodies: a gRPC
//! backend that keeps the metadata of every export it receives, the request lines and headers
//! the HTTP exporters send, and the exporter kinds weir has, as `weir validate` names them, so
//! the leak config cannot leave one out.

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
use tonic::codec::CompressionEncoding;
use tonic::metadata::{KeyAndValueRef, MetadataMap};
use tonic::{Request, Response, Status};

use super::capture;

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

/// The largest message a [`MetadataSink`] takes (tonic's default is 4 MiB).
const SINK_MAX_MESSAGE: usize = 64 << 20;

impl MetadataSink {
    pub fn start() -> MetadataSink {
        Self::start_on("127.0.0.1:0")
    }

    /// A sink listening on `addr` (a backend that comes up where an exporter already points).
    pub fn start_on(addr: &str) -> MetadataSink {
        let listener = std::net::TcpListener::bind(addr).expect("bind metadata sink");
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
                let max = SINK_MAX_MESSAGE;
                tonic::transport::Server::builder()
                    .add_service(
                        TraceServiceServer::new(recorder.clone())
                            .accept_compressed(gzip)
                            .max_decoding_message_size(max),
                    )
                    .add_service(
                        MetricsServiceServer::new(recorder.clone())
                            .accept_compressed(gzip)
                            .max_decoding_message_size(max),
                    )
                    .add_service(
                        LogsServiceServer::new(recorder)
                            .accept_compressed(gzip)
                            .max_decoding_message_size(max),
                    )
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
        .map(|id| id.split('/').next().unwrap_or(id))
        .map(|kind| match kind {
            // The Collector's older names, which weir still reads.
            "otlp" => "otlp_grpc",
            "otlphttp" => "otlp_http",
            "prometheusremotewrite" => "prometheus_remote_write",
            other => other,
        })
        .map(str::to_owned)
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
