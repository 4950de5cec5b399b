//! Tests of the `otlp` exporter against a real tonic server on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::ServerTlsConfig;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};
use weir_pipeline::otlp::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use weir_pipeline::otlp::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use weir_pipeline::otlp::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use weir_pipeline::otlp::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use weir_pipeline::otlp::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use weir_pipeline::otlp::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use weir_pipeline::{ExportError, Exporter, Signal};

use super::*;
use crate::shared::fixtures::{
    install_ring, resource_logs, resource_metrics, resource_spans, self_signed, single,
    two_part_traces,
};

/// What the test backend answers to traces: `Ok(rejected spans)` or a status.
type Answer = Arc<dyn Fn() -> Result<i64, Status> + Send + Sync>;

/// One request as the backend saw it.
#[derive(Debug)]
enum Received {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

#[derive(Clone)]
struct Backend {
    seen: Arc<Mutex<Vec<(MetadataMap, Received)>>>,
    answer: Answer,
}

#[tonic::async_trait]
impl TraceService for Backend {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.seen.lock().push((metadata, Received::Traces(message)));
        let rejected = (self.answer)()?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: "span too old".into(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Backend {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.seen
            .lock()
            .push((metadata, Received::Metrics(message)));
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Backend {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let (metadata, _, message) = request.into_parts();
        self.seen.lock().push((metadata, Received::Logs(message)));
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

/// Starts a backend answering traces with `answer`; returns it and its address. The listener
/// is bound before this returns, so a client may connect at once.
async fn start(
    answer: impl Fn() -> Result<i64, Status> + Send + Sync + 'static,
) -> (Backend, SocketAddr) {
    start_with(answer, None).await
}

/// [`start`], speaking TLS when `tls` is set.
async fn start_with(
    answer: impl Fn() -> Result<i64, Status> + Send + Sync + 'static,
    tls: Option<ServerTlsConfig>,
) -> (Backend, SocketAddr) {
    let backend = Backend {
        seen: Arc::default(),
        answer: Arc::new(answer),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let gzip = CompressionEncoding::Gzip;
    let zstd = CompressionEncoding::Zstd;
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        server = server.tls_config(tls).expect("server tls");
    }
    let router = server
        .add_service(
            // Answers compressed in the request's encoding, as grpc-go servers (Tempo, the
            // Collector) do.
            TraceServiceServer::new(backend.clone())
                .accept_compressed(gzip)
                .accept_compressed(zstd)
                .send_compressed(gzip)
                .send_compressed(zstd),
        )
        .add_service(
            MetricsServiceServer::new(backend.clone())
                .accept_compressed(gzip)
                .send_compressed(gzip),
        )
        .add_service(
            LogsServiceServer::new(backend.clone())
                .accept_compressed(gzip)
                .send_compressed(gzip),
        );
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
    (backend, addr)
}

fn config(addr: SocketAddr) -> OtlpConfig {
    OtlpConfig {
        endpoint: format!("http://{addr}").parse().ok(),
        ..Default::default()
    }
}

fn exporter(cfg: &OtlpConfig) -> OtlpGrpcExporter {
    OtlpGrpcExporter::new("otlp/test", cfg).expect("exporter")
}

fn meta<'a>(m: &'a MetadataMap, key: &str) -> Option<&'a str> {
    m.get(key).and_then(|v| v.to_str().ok())
}

fn traces_bundle() -> Arc<Bundle> {
    single("acme", Signal::Traces(vec![resource_spans("checkout", 1)]))
}

#[tokio::test]
async fn a_two_part_bundle_is_one_request_with_tenant_and_headers() {
    let (backend, addr) = start(|| Ok(0)).await;
    let mut cfg = config(addr);
    cfg.headers
        .insert("Authorization", "Bearer t0ken")
        .expect("valid header");
    let (bundle, all) = two_part_traces();
    exporter(&cfg).export(bundle).await.expect("exported");

    let seen = backend.seen.lock();
    assert_eq!(seen.len(), 1, "one request for the whole bundle");
    let (metadata, received) = &seen[0];
    match received {
        Received::Traces(req) => assert_eq!(req.resource_spans, all),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(meta(metadata, "x-scope-orgid"), Some("acme"));
    assert_eq!(meta(metadata, "authorization"), Some("Bearer t0ken"));
    assert_eq!(
        meta(metadata, "grpc-encoding"),
        Some("gzip"),
        "gzip by default"
    );
    assert!(meta(metadata, "user-agent").is_some_and(|ua| ua.starts_with("weir/")));
}

#[tokio::test]
async fn zstd_and_none_are_accepted_and_a_configured_header_beats_the_tenant() {
    let (backend, addr) = start(|| Ok(0)).await;
    for compression in [Compression::Zstd, Compression::None] {
        let mut cfg = config(addr);
        cfg.compression = compression;
        cfg.headers
            .insert("X-Scope-OrgID", "fixed")
            .expect("valid header");
        exporter(&cfg)
            .export(traces_bundle())
            .await
            .expect("exported");
    }
    let seen = backend.seen.lock();
    assert_eq!(meta(&seen[0].0, "grpc-encoding"), Some("zstd"));
    assert_eq!(meta(&seen[1].0, "grpc-encoding"), None);
    for (metadata, _) in seen.iter() {
        let tenants: Vec<_> = metadata.get_all("x-scope-orgid").iter().collect();
        assert_eq!(tenants.len(), 1);
        assert_eq!(meta(metadata, "x-scope-orgid"), Some("fixed"));
    }
}

#[tokio::test]
async fn no_tenant_header_when_it_is_empty() {
    let (backend, addr) = start(|| Ok(0)).await;
    let mut cfg = config(addr);
    cfg.tenant_header = TenantHeader::none();
    exporter(&cfg)
        .export(traces_bundle())
        .await
        .expect("exported");
    assert_eq!(meta(&backend.seen.lock()[0].0, "x-scope-orgid"), None);
}

#[tokio::test]
async fn metrics_and_logs_use_their_services() {
    let (backend, addr) = start(|| Ok(0)).await;
    let exp = exporter(&config(addr));
    let metrics = vec![resource_metrics("db")];
    let logs = vec![resource_logs("web")];
    exp.export(single("t1", Signal::Metrics(metrics.clone())))
        .await
        .expect("metrics");
    exp.export(single("t1", Signal::Logs(logs.clone())))
        .await
        .expect("logs");
    let seen = backend.seen.lock();
    assert!(matches!(&seen[0].1, Received::Metrics(r) if r.resource_metrics == metrics));
    assert!(matches!(&seen[1].1, Received::Logs(r) if r.resource_logs == logs));
}

#[tokio::test]
async fn partial_success_is_success_with_the_rejected_records_reported() {
    let (_backend, addr) = start(|| Ok(2)).await;
    let sent = exporter(&config(addr))
        .export(traces_bundle())
        .await
        .expect("partial success is a success");
    assert_eq!(
        sent.rejected,
        [(weir_pipeline::REJECTED_BY_BACKEND, 2)],
        "the rest is delivered"
    );
}

async fn export_against(
    answer: impl Fn() -> Result<i64, Status> + Send + Sync + 'static,
) -> ExportError {
    let (_backend, addr) = start(answer).await;
    exporter(&config(addr))
        .export(traces_bundle())
        .await
        .expect_err("the backend refuses")
}

#[tokio::test]
async fn unavailable_is_retryable() {
    let err = export_against(|| Err(Status::unavailable("queue full"))).await;
    assert!(
        matches!(
            err,
            ExportError::Retryable {
                retry_after: None,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("queue full"), "{err}");
    assert!(err.to_string().contains("otlp/test"), "{err}");
}

#[tokio::test]
async fn resource_exhausted_is_retryable_only_with_retry_info() {
    let with_info = || {
        let details = ErrorDetails::with_retry_info(Some(Duration::from_secs(2)));
        Err(Status::with_error_details(
            Code::ResourceExhausted,
            "slow down",
            details,
        ))
    };
    match export_against(with_info).await {
        ExportError::Retryable { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(2)));
        }
        other => panic!("expected retryable, got {other}"),
    }
    let bare = export_against(|| Err(Status::resource_exhausted("too big"))).await;
    assert!(!bare.is_retryable(), "{bare}");
}

#[tokio::test]
async fn invalid_argument_is_permanent() {
    let err = export_against(|| Err(Status::invalid_argument("bad span"))).await;
    assert!(matches!(err, ExportError::Permanent(_)), "{err}");
    assert!(err.to_string().contains("bad span"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = exporter(&config(addr))
        .export(traces_bundle())
        .await
        .expect_err("nothing listens");
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn a_backend_that_never_answers_times_out_as_retryable() {
    // Accepts TCP connections but never speaks HTTP/2.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut cfg = config(addr);
    cfg.timeout = Duration::from_millis(200);
    let err = exporter(&cfg)
        .export(traces_bundle())
        .await
        .expect_err("times out");
    assert!(err.is_retryable(), "{err}");
    drop(listener);
}

#[tokio::test]
async fn new_reports_bad_settings_and_unreadable_tls_files_with_the_id() {
    install_ring();
    let bad = OtlpConfig {
        endpoint: None,
        ..Default::default()
    };
    let err = OtlpGrpcExporter::new("otlp/tempo", &bad).expect_err("no endpoint");
    assert!(
        err.to_string().starts_with("otlp/tempo: endpoint:"),
        "{err}"
    );

    let mut tls = OtlpConfig {
        endpoint: "tempo:4317".parse().ok(),
        ..Default::default()
    };
    tls.tls.ca_file = Some("/nonexistent/ca.pem".into());
    let err = OtlpGrpcExporter::new("otlp/tempo", &tls).expect_err("missing file");
    assert_eq!(err.key.as_deref(), Some("tls"), "{err}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test]
async fn tls_with_a_ca_file_and_a_client_certificate() {
    install_ring();
    let (server, client) = (self_signed("localhost"), self_signed("weir"));
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(&server.cert_pem, &server.key_pem))
        .client_ca_root(Certificate::from_pem(&client.cert_pem));
    let (backend, addr) = start_with(|| Ok(0), Some(tls)).await;
    let mut cfg = OtlpConfig {
        endpoint: format!("localhost:{}", addr.port()).parse().ok(),
        ..Default::default()
    };
    cfg.tls.ca_file = Some(server.cert_file.clone());
    cfg.tls.cert_file = Some(client.cert_file.clone());
    cfg.tls.key_file = Some(client.key_file.clone());
    exporter(&cfg)
        .export(traces_bundle())
        .await
        .expect("exported over TLS");
    assert_eq!(backend.seen.lock().len(), 1);

    cfg.tls.cert_file = None;
    cfg.tls.key_file = None;
    let err = exporter(&cfg).export(traces_bundle()).await;
    assert!(err.is_err(), "the server requires a client certificate");
    let untrusted = OtlpConfig {
        endpoint: cfg.endpoint.clone(),
        ..Default::default()
    };
    let err = exporter(&untrusted).export(traces_bundle()).await;
    assert!(err.expect_err("self-signed").is_retryable());
}
