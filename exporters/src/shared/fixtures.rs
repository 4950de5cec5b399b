//! Test data for every exporter's tests: bundles of small, distinguishable batches, a TLS server,
//! the crypto provider.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue, any_value};
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use weir_pipeline::{Batch, Bundle, RequestContext, Signal, TenantId};

/// Installs ring as rustls' process-wide provider, as the binary does at start.
pub(crate) fn install_ring() {
    crate::install_crypto_provider();
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(service.into())),
            }),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// Resource spans of `service` with `n` spans.
pub(crate) fn resource_spans(service: &str, n: usize) -> ResourceSpans {
    let span = |i: usize| Span {
        trace_id: vec![7; 16],
        span_id: vec![i as u8 + 1; 8],
        name: format!("{service} op {i}"),
        ..Default::default()
    };
    ResourceSpans {
        resource: resource(service),
        scope_spans: vec![ScopeSpans {
            spans: (0..n).map(span).collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub(crate) fn resource_metrics(service: &str) -> ResourceMetrics {
    ResourceMetrics {
        resource: resource(service),
        scope_metrics: vec![ScopeMetrics {
            metrics: vec![Metric {
                name: "queue.depth".into(),
                data: Some(metric::Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint::default()],
                })),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub(crate) fn resource_logs(service: &str) -> ResourceLogs {
    ResourceLogs {
        resource: resource(service),
        scope_logs: vec![ScopeLogs {
            log_records: vec![LogRecord {
                severity_text: "INFO".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A batch of `signal` for `tenant`.
pub(crate) fn batch(tenant: &str, signal: Signal) -> Arc<Batch> {
    let mut ctx = RequestContext::for_tests();
    ctx.tenant = TenantId::new(tenant).expect("tenant");
    Arc::new(Batch::new(ctx, signal))
}

/// Two trace batches of tenant `acme`: `checkout` (2 spans, then `cart` with 1) and `payment`.
pub(crate) fn two_part_traces() -> (Arc<Bundle>, Vec<ResourceSpans>) {
    let first = vec![resource_spans("checkout", 2), resource_spans("cart", 1)];
    let second = vec![resource_spans("payment", 3)];
    let all = [first.clone(), second.clone()].concat();
    let bundle = Bundle::of(vec![
        batch("acme", Signal::Traces(first)),
        batch("acme", Signal::Traces(second)),
    ])
    .expect("one tenant, one signal");
    (Arc::new(bundle), all)
}

/// A bundle of one batch.
pub(crate) fn single(tenant: &str, signal: Signal) -> Arc<Bundle> {
    Arc::new(Bundle::single(batch(tenant, signal)))
}

/// A self-signed certificate and its key, as PEM text and as files.
pub(crate) struct TestCert {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) cert_file: PathBuf,
    pub(crate) key_file: PathBuf,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
    _dir: tempfile::TempDir,
}

/// A self-signed certificate for `name`, written to a temporary directory.
pub(crate) fn self_signed(name: &str) -> TestCert {
    let certified = rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    std::fs::write(&cert_file, &cert_pem).expect("write cert");
    std::fs::write(&key_file, &key_pem).expect("write key");
    TestCert {
        cert_pem,
        key_pem,
        cert_file,
        key_file,
        cert_der: certified.cert.der().to_vec(),
        key_der: certified.signing_key.serialize_der(),
        _dir: dir,
    }
}

/// An axum listener that speaks TLS (ALPN h2 and http/1.1) with `server`'s certificate and
/// requires a client certificate issued by `client_ca`.
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    pub(crate) async fn bind(server: &TestCert, client_ca: &TestCert) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(client_ca.cert_der.clone()))
            .expect("client ca");
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .expect("verifier");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![CertificateDer::from(server.cert_der.clone())], key)
            .expect("server config");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self {
            tcp: TcpListener::bind("127.0.0.1:0").await.expect("bind"),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A failed handshake (e.g. no client certificate) just drops that connection.
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}
