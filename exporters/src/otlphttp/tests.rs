//! Tests of the `otlphttp` exporter against a real axum server on 127.0.0.1.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use prost::Message;
use tokio::net::TcpListener;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceRequest;
use weir_pipeline::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use weir_pipeline::otlp::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use weir_pipeline::{ExportError, Exporter, Signal};

use super::*;
use crate::shared::fixtures::{
    TlsListener, install_ring, resource_logs, resource_metrics, resource_spans, self_signed,
    single, two_part_traces,
};

/// One request as the backend saw it.
struct Seen {
    path: String,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body with its `Content-Encoding` undone.
    fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header("content-encoding") {
            None => out.extend_from_slice(&self.body),
            Some("gzip") => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .expect("gzip");
            }
            Some("deflate") => {
                flate2::read::ZlibDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .expect("zlib");
            }
            Some("zstd") => out = zstd::decode_all(&self.body[..]).expect("zstd"),
            Some(other) => panic!("unexpected encoding {other}"),
        }
        out
    }
}

type Answer = Arc<dyn Fn() -> Response + Send + Sync>;

#[derive(Clone)]
struct Backend {
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Answer,
}

async fn record(State(b): State<Backend>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    b.seen.lock().push(Seen {
        path: parts.uri.path().to_owned(),
        version: parts.version,
        headers: parts.headers,
        body,
    });
    (b.answer)()
}

/// Serves `router` on a fresh port; the listener is bound before this returns.
async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A backend that records every request and answers with `answer`.
async fn start(answer: impl Fn() -> Response + Send + Sync + 'static) -> (Backend, SocketAddr) {
    let backend = Backend {
        seen: Arc::default(),
        answer: Arc::new(answer),
    };
    let addr = serve(Router::new().fallback(record).with_state(backend.clone())).await;
    (backend, addr)
}

fn ok() -> Response {
    StatusCode::OK.into_response()
}

fn config(addr: SocketAddr) -> OtlpHttpConfig {
    OtlpHttpConfig {
        endpoint: format!("http://{addr}").parse().ok(),
        ..Default::default()
    }
}

fn exporter(cfg: &OtlpHttpConfig) -> OtlpHttpExporter {
    install_ring();
    OtlpHttpExporter::new("otlphttp/test", cfg).expect("exporter")
}

fn traces_bundle() -> Arc<Bundle> {
    single("acme", Signal::Traces(vec![resource_spans("checkout", 1)]))
}

#[tokio::test]
async fn a_two_part_bundle_is_one_gzipped_request_with_the_tenant() {
    let (backend, addr) = start(ok).await;
    let (bundle, all) = two_part_traces();
    exporter(&config(addr))
        .export(bundle)
        .await
        .expect("exported");

    let seen = backend.seen.lock();
    assert_eq!(seen.len(), 1, "one request for the whole bundle");
    let req = &seen[0];
    assert_eq!(req.path, "/v1/traces");
    assert_eq!(req.version, Version::HTTP_11, "plaintext is HTTP/1.1");
    assert_eq!(req.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(req.header("content-encoding"), Some("gzip"));
    assert_eq!(req.header("x-scope-orgid"), Some("acme"));
    assert!(
        req.header("user-agent")
            .is_some_and(|ua| ua.starts_with("weir/"))
    );
    let decoded = ExportTraceServiceRequest::decode(&req.decoded()[..]).expect("protobuf");
    assert_eq!(
        decoded.resource_spans, all,
        "both parts' resources, in order"
    );
}

#[tokio::test]
async fn every_compression_decodes() {
    let (backend, addr) = start(ok).await;
    for compression in [Compression::Zstd, Compression::Deflate, Compression::None] {
        let mut cfg = config(addr);
        cfg.compression = compression;
        exporter(&cfg)
            .export(traces_bundle())
            .await
            .expect("exported");
    }
    let seen = backend.seen.lock();
    let encodings: Vec<_> = seen.iter().map(|s| s.header("content-encoding")).collect();
    assert_eq!(encodings, [Some("zstd"), Some("deflate"), None]);
    for req in seen.iter() {
        let decoded = ExportTraceServiceRequest::decode(&req.decoded()[..]).expect("protobuf");
        assert_eq!(decoded.resource_spans, vec![resource_spans("checkout", 1)]);
    }
}

#[tokio::test]
async fn a_configured_header_overrides_the_tenant_and_headers_are_sent() {
    let (backend, addr) = start(ok).await;
    let mut cfg = config(addr);
    cfg.headers
        .insert("x-scope-orgid", "fixed")
        .expect("valid header");
    cfg.headers
        .insert("Authorization", "Basic abc")
        .expect("valid header");
    exporter(&cfg)
        .export(traces_bundle())
        .await
        .expect("exported");
    cfg.tenant_header = TenantHeader::none();
    cfg.headers = Headers::default();
    exporter(&cfg)
        .export(traces_bundle())
        .await
        .expect("exported");

    let seen = backend.seen.lock();
    let tenants: Vec<_> = seen[0].headers.get_all("x-scope-orgid").iter().collect();
    assert_eq!(tenants, ["fixed"]);
    assert_eq!(seen[0].header("authorization"), Some("Basic abc"));
    assert_eq!(
        seen[1].header("x-scope-orgid"),
        None,
        "empty tenant_header sends none"
    );
}

#[tokio::test]
async fn each_signal_has_its_path_and_signal_endpoints_win() {
    let (backend, addr) = start(ok).await;
    let mut cfg = config(addr);
    cfg.endpoint = format!("http://{addr}/otlp/").parse().ok();
    cfg.logs_endpoint = format!("http://{addr}/loki/otlp").parse().ok();
    let exp = exporter(&cfg);
    let metrics = vec![resource_metrics("db")];
    let logs = vec![resource_logs("web")];
    exp.export(single("t", Signal::Metrics(metrics.clone())))
        .await
        .expect("metrics");
    exp.export(single("t", Signal::Logs(logs.clone())))
        .await
        .expect("logs");
    let seen = backend.seen.lock();
    assert_eq!(seen[0].path, "/otlp/v1/metrics");
    let m = ExportMetricsServiceRequest::decode(&seen[0].decoded()[..]).expect("metrics");
    assert_eq!(m.resource_metrics, metrics);
    assert_eq!(seen[1].path, "/loki/otlp");
    let l = ExportLogsServiceRequest::decode(&seen[1].decoded()[..]).expect("logs");
    assert_eq!(l.resource_logs, logs);
}

#[tokio::test]
async fn a_signal_without_url_is_permanent() {
    let cfg = OtlpHttpConfig {
        logs_endpoint: "http://127.0.0.1:9/logs".parse().ok(),
        ..Default::default()
    };
    let err = exporter(&cfg)
        .export(traces_bundle())
        .await
        .expect_err("no url");
    assert!(matches!(err, ExportError::Permanent(_)), "{err}");
}

#[tokio::test]
async fn partial_success_is_success_with_the_rejected_records_reported() {
    let (_backend, addr) = start(|| {
        let body = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 1,
                error_message: "span too old".into(),
            }),
        };
        (StatusCode::OK, body.encode_to_vec()).into_response()
    })
    .await;
    let sent = exporter(&config(addr))
        .export(traces_bundle())
        .await
        .expect("partial success is a success");
    assert_eq!(sent.rejected, [(weir_pipeline::REJECTED_BY_BACKEND, 1)]);
}

async fn export_against(answer: impl Fn() -> Response + Send + Sync + 'static) -> ExportError {
    let (_backend, addr) = start(answer).await;
    exporter(&config(addr))
        .export(traces_bundle())
        .await
        .expect_err("the backend refuses")
}

#[tokio::test]
async fn service_unavailable_is_retryable_after_retry_after() {
    let answer = || (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "7")]).into_response();
    match export_against(answer).await {
        ExportError::Retryable { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected retryable, got {other}"),
    }
    for status in [429, 502, 504] {
        let status = StatusCode::from_u16(status).expect("status");
        let err = export_against(move || status.into_response()).await;
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
    }
}

#[tokio::test]
async fn bad_request_is_permanent_with_the_status_message() {
    let answer = || {
        let status = tonic_types::Status {
            code: 3,
            message: "span 3 has no trace id".into(),
            details: vec![],
        };
        let headers = [("content-type", "application/x-protobuf")];
        (StatusCode::BAD_REQUEST, headers, status.encode_to_vec()).into_response()
    };
    let err = export_against(answer).await;
    assert!(matches!(err, ExportError::Permanent(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("400") && text.contains("span 3 has no trace id"),
        "{text}"
    );
    assert!(text.contains("otlphttp/test"), "{text}");
    let err = export_against(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()).await;
    assert!(!err.is_retryable(), "{err}");
    let err = export_against(|| (StatusCode::FOUND, [("location", "http://x/")]).into_response());
    assert!(!err.await.is_retryable(), "redirects are not followed");
}

#[tokio::test]
async fn a_backend_that_never_answers_times_out_as_retryable() {
    async fn never_answer() {
        futures::future::pending::<()>().await
    }
    let router = Router::new().fallback(never_answer);
    let addr = serve(router).await;
    let mut cfg = config(addr);
    cfg.timeout = Duration::from_millis(200);
    let err = exporter(&cfg)
        .export(traces_bundle())
        .await
        .expect_err("times out");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("no answer within 200ms"), "{err}");
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
async fn new_reports_bad_settings_and_tls_files_with_the_id() {
    install_ring();
    let bad: Result<OtlpHttpConfig, _> = serde_yaml_ng::from_str("endpoint: collector:4318");
    let err = bad.expect_err("not a URL").to_string();
    assert!(
        err.starts_with("\"collector:4318\": use an http://"),
        "{err}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut tls = OtlpHttpConfig {
        endpoint: "https://collector:4318".parse().ok(),
        ..Default::default()
    };
    tls.tls.ca_file = Some(dir.path().join("missing.pem"));
    let err = OtlpHttpExporter::new("otlphttp/gw", &tls).expect_err("missing");
    assert!(
        matches!(
            err.source
                .downcast_ref::<crate::shared::http::ClientError>(),
            Some(crate::shared::http::ClientError::ReadFile { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("cannot read"), "{err}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    tls.tls.ca_file = Some(empty);
    let err = OtlpHttpExporter::new("otlphttp/gw", &tls).expect_err("no cert");
    assert!(
        err.to_string()
            .starts_with("otlphttp/gw: tls.ca_file: no certificate in"),
        "{err}"
    );
    tls.tls.ca_file = None;
    tls.tls.insecure_skip_verify = true;
    OtlpHttpExporter::new("otlphttp/gw", &tls).expect("system roots, no verification");
}

#[tokio::test]
async fn https_with_a_ca_file_and_a_client_certificate_over_http2() {
    install_ring();
    let (server, client) = (self_signed("localhost"), self_signed("weir"));
    let backend = Backend {
        seen: Arc::default(),
        answer: Arc::new(ok),
    };
    let listener = TlsListener::bind(&server, &client).await;
    let port = axum::serve::Listener::local_addr(&listener)
        .expect("addr")
        .port();
    let router = Router::new().fallback(record).with_state(backend.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut cfg = OtlpHttpConfig {
        endpoint: format!("https://localhost:{port}").parse().ok(),
        ..Default::default()
    };
    cfg.tls.ca_file = Some(server.cert_file.clone());
    cfg.tls.cert_file = Some(client.cert_file.clone());
    cfg.tls.key_file = Some(client.key_file.clone());
    exporter(&cfg)
        .export(traces_bundle())
        .await
        .expect("exported over TLS");
    {
        let seen = backend.seen.lock();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].header("x-scope-orgid"), Some("acme"));
        assert_eq!(seen[0].version, Version::HTTP_2, "ALPN chose h2");
    }

    cfg.tls.cert_file = None;
    cfg.tls.key_file = None;
    let err = exporter(&cfg).export(traces_bundle()).await;
    assert!(err.expect_err("no client cert").is_retryable());
    let untrusted = OtlpHttpConfig {
        endpoint: cfg.endpoint.clone(),
        ..Default::default()
    };
    let err = exporter(&untrusted).export(traces_bundle()).await;
    assert!(err.expect_err("self-signed").is_retryable());
}
