//! The `otlp` exporter: sends batches to an OTLP/gRPC backend (Tempo, another collector), like
//! the OpenTelemetry Collector's `otlp` exporter.
//!
//! Each bundle (one tenant, one signal, one or more batches) goes out as ONE `Export` call whose
//! resource list is every part's resources in order. The request is encoded straight from the
//! shared batches into tonic's send buffer by a custom codec: nothing is cloned. The tenant goes
//! in the `tenant_header` metadata (`x-scope-orgid` by default) unless `headers` sets it.
//!
//! One lazily connected HTTP/2 channel (TCP_NODELAY) is shared by all exports; it reconnects by
//! itself after a failure. Requests are compressed as `compression` says (`gzip` by default).
//!
//! How it fails, as the OTLP specification says:
//! - [`OtlpGrpcExporter::new`] takes a config as the loader read it (the endpoint already
//!   parsed) and does not check it again; it returns a [`BuildError`] naming the exporter when
//!   there is no endpoint, a TLS file cannot be read, or the TLS settings are refused (no system root certificates, a malformed PEM file).
//! - UNAVAILABLE, ABORTED, CANCELLED, DEADLINE_EXCEEDED, OUT_OF_RANGE and DATA_LOSS are
//!   [`ExportError::Retryable`]; RESOURCE_EXHAUSTED is retryable only when the backend attaches
//!   a `google.rpc.RetryInfo`, whose delay becomes `retry_after`. Every other status is
//!   [`ExportError::Permanent`]. Errors carry the status code and at most 256 bytes of its
//!   message.
//! - No connection (refused, DNS, TLS handshake) is retryable (tonic reports UNAVAILABLE), and
//!   so is an attempt that takes longer than `timeout`.
//! - A success with `partial_success` rejecting records is logged at warn; the rejected records
//!   are reported as lost (`rejected_by_backend`), the rest as delivered. They are not retried:
//!   the backend will not take them again.

mod codec;
pub(crate) mod common;
mod config;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use futures::future::BoxFuture;
use http::uri::PathAndQuery;
use tonic::client::Grpc;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{Ascii, MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceResponse;
use weir_pipeline::otlp::collector::metrics::v1::ExportMetricsServiceResponse;
use weir_pipeline::otlp::collector::trace::v1::ExportTraceServiceResponse;
use weir_pipeline::{BuildError, Bundle, ExportError, Exporter, Sent, SignalKind};

use codec::BundleCodec;
use common::{ExportResponse, partial_success};

use crate::shared::http::response::clean;
pub(crate) use crate::shared::http::response::error_chain;

pub use crate::shared::http::{Headers, TenantHeader};
pub use common::Compression;
pub use config::{GrpcTlsConfig, OtlpConfig, SPEC, UNSUPPORTED_COLLECTOR_KEYS};

/// Sends bundles over OTLP/gRPC; see the [module docs](self).
#[derive(Clone)]
pub struct OtlpGrpcExporter {
    inner: Arc<Inner>,
}

struct Inner {
    id: Arc<str>,
    uri: http::Uri,
    compression: Compression,
    /// The channel, with `send_compressed` and `accept_compressed` already applied.
    grpc: Grpc<Channel>,
    /// `headers`, parsed once.
    metadata: MetadataMap,
    tenant_header: Option<MetadataKey<Ascii>>,
    timeout: Duration,
    /// Size of the last request per signal (traces, metrics, logs), reserved before encoding.
    size_hints: [Arc<AtomicUsize>; 3],
}

impl OtlpGrpcExporter {
    /// Builds the exporter `id` (its component id, for messages) from `cfg`. Reads the TLS
    /// files and the system's root certificates when TLS is used; connects only on the first
    /// export. Must run inside a tokio runtime.
    pub fn new(id: &str, cfg: &OtlpConfig) -> Result<Self, BuildError> {
        let config_err = |key: &str, message: String| BuildError::at(id, key, message);
        let target = cfg
            .target()
            .ok_or_else(|| config_err("endpoint", config::ENDPOINT_REQUIRED.into()))?;
        let compression = cfg.compression;
        let transport_err = |e: tonic::transport::Error| BuildError::whole(id, error_chain(&e));
        let mut endpoint = Endpoint::from(target.uri.clone())
            .tcp_nodelay(true)
            .connect_timeout(cfg.timeout)
            .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
            .map_err(transport_err)?;
        if target.tls {
            endpoint = endpoint
                .tls_config(tls_config(id, &cfg.tls)?)
                .map_err(transport_err)?;
        }
        // Servers may answer in the request's encoding (grpc-go does: Tempo, the Collector), so
        // every encoding weir can send is also accepted in answers.
        let mut grpc = Grpc::new(endpoint.connect_lazy())
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .accept_compressed(CompressionEncoding::Deflate);
        grpc = match compression {
            Compression::Gzip => grpc.send_compressed(CompressionEncoding::Gzip),
            Compression::Zstd => grpc.send_compressed(CompressionEncoding::Zstd),
            Compression::Deflate | Compression::None => grpc,
        };
        let metadata = MetadataMap::from_headers(
            cfg.headers
                .iter()
                .map(|(_, name, value)| (name.clone(), value.clone()))
                .collect(),
        );
        let tenant_header = cfg
            .tenant_header
            .for_sending(&cfg.headers)
            .and_then(|name| MetadataKey::from_bytes(name.as_str().as_bytes()).ok());
        Ok(Self {
            inner: Arc::new(Inner {
                id: Arc::from(id),
                uri: target.uri,
                compression,
                grpc,
                metadata,
                tenant_header,
                timeout: cfg.timeout,
                size_hints: Default::default(),
            }),
        })
    }
}

/// TLS settings from `tls`: the system's roots unless `ca_file` names others, and a client
/// certificate when `cert_file` and `key_file` are set.
fn tls_config(id: &str, tls: &GrpcTlsConfig) -> Result<ClientTlsConfig, BuildError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| {
            let what = format!("cannot read {}: {source}", path.display());
            BuildError::at(id, "tls", std::io::Error::new(source.kind(), what))
        })
    };
    let mut config = ClientTlsConfig::new();
    config = match &tls.ca_file {
        Some(path) => config.ca_certificate(Certificate::from_pem(read(path)?)),
        None => config.with_native_roots(),
    };
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(config)
}

impl Inner {
    /// One attempt: the `Export` call of the bundle's signal.
    async fn send<R: ExportResponse>(
        &self,
        bundle: Arc<Bundle>,
        path: &'static str,
    ) -> Result<Sent, ExportError> {
        let kind = bundle.kind();
        let tenant = MetadataValue::try_from(bundle.tenant().as_str());
        let mut request = Request::new(bundle);
        *request.metadata_mut() = self.metadata.clone();
        // Tenant ids are validated to header-safe characters, so this always succeeds.
        if let (Some(key), Ok(value)) = (&self.tenant_header, tenant) {
            request.metadata_mut().insert(key.clone(), value);
        }
        request.set_timeout(self.timeout);
        let mut grpc = self.grpc.clone();
        grpc.ready().await.map_err(|e| {
            ExportError::retryable(format!("otlp exporter {}: channel not ready: {e}", self.id))
        })?;
        let codec = BundleCodec::<R>::new(self.size_hints[signal_index(kind)].clone());
        match grpc
            .unary(request, PathAndQuery::from_static(path), codec)
            .await
        {
            Ok(response) => Ok(partial_success(&self.id, kind, response.get_ref())),
            Err(status) => Err(classify(&self.id, &status)),
        }
    }
}

fn signal_index(kind: SignalKind) -> usize {
    match kind {
        SignalKind::Traces => 0,
        SignalKind::Metrics => 1,
        SignalKind::Logs => 2,
    }
}

/// Retryable or permanent, as the OTLP specification says for each gRPC status.
fn classify(id: &str, status: &Status) -> ExportError {
    let retry_after = status.get_details_retry_info().and_then(|r| r.retry_delay);
    let retryable = match status.code() {
        Code::Unavailable
        | Code::Aborted
        | Code::Cancelled
        | Code::DeadlineExceeded
        | Code::OutOfRange
        | Code::DataLoss => true,
        Code::ResourceExhausted => retry_after.is_some(),
        _ => false,
    };
    let what = format!(
        "otlp exporter {id}: {:?}: {}",
        status.code(),
        clean(status.message())
    );
    if retryable {
        ExportError::Retryable {
            source: what.into(),
            retry_after,
        }
    } else {
        ExportError::permanent(what)
    }
}

impl Exporter for OtlpGrpcExporter {
    /// OTLP backends answer one bad record (a malformed id) with 400 / INVALID_ARGUMENT for
    /// the whole export.
    fn refuses_whole_requests(&self) -> bool {
        true
    }

    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let attempt = async {
                match bundle.kind() {
                    SignalKind::Traces => {
                        let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
                        inner.send::<ExportTraceServiceResponse>(bundle, path).await
                    }
                    SignalKind::Metrics => {
                        let path =
                            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
                        inner
                            .send::<ExportMetricsServiceResponse>(bundle, path)
                            .await
                    }
                    SignalKind::Logs => {
                        let path = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
                        inner.send::<ExportLogsServiceResponse>(bundle, path).await
                    }
                }
            };
            // The whole attempt, connecting included, is bounded; dropping the call on timeout
            // resets its HTTP/2 stream.
            match tokio::time::timeout(inner.timeout, attempt).await {
                Ok(result) => result,
                Err(_) => Err(ExportError::retryable(format!(
                    "otlp exporter {}: no answer within {:?}",
                    inner.id, inner.timeout
                ))),
            }
        })
    }
}

impl fmt::Debug for OtlpGrpcExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpGrpcExporter")
            .field("id", &self.inner.id)
            .field("uri", &self.inner.uri)
            .field("compression", &self.inner.compression)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}
