//! The `otlphttp` exporter: sends batches as OTLP/HTTP protobuf (`POST /v1/traces`,
//! `/v1/metrics`, `/v1/logs`) to a collector, a gateway or any OTLP backend, like the
//! OpenTelemetry Collector's `otlphttp` exporter.
//!
//! Each bundle (one tenant, one signal, one or more batches) goes out as ONE request whose
//! resource list is every part's resources in order, encoded straight from the shared batches
//! into a reused buffer (nothing is cloned), then compressed as `compression` says (`gzip` by
//! default). The tenant goes in the `tenant_header` (`X-Scope-OrgID` by default) unless
//! `headers` sets it. One `reqwest` client (HTTP/1.1, or HTTP/2 where TLS negotiates it, with
//! pooled keep-alive connections) is shared by all exports. Redirects are not followed, so
//! configured headers never reach another host.
//!
//! TLS uses rustls with the process-wide crypto provider, which the binary installs at start
//! (`rustls::crypto::ring::default_provider().install_default()`); system roots unless
//! `tls.ca_file` names others.
//!
//! How it fails, as the OTLP specification says:
//! - [`OtlpHttpExporter::new`] takes a config as the loader read and validated it (URLs
//!   already parsed) and does not check it again; it returns a [`BuildError`] naming the
//!   exporter when a TLS file cannot be read or parsed, or no rustls crypto provider is
//!   installed.
//! - HTTP 429, 502, 503 and 504 are [`ExportError::Retryable`], with `retry_after` from a
//!   `Retry-After` header (seconds or an HTTP date). Every other non-2xx answer (redirects
//!   included) is [`ExportError::Permanent`]. Errors carry the status and at most 256 bytes of
//!   the body's `google.rpc.Status` message (protobuf or JSON) or text.
//! - No connection, a connection cut mid-request, or no complete answer within `timeout` is
//!   retryable.
//! - An export of a signal with no URL (no `endpoint` and no `<signal>_endpoint`) is permanent.
//! - A 2xx with `partial_success` rejecting records is logged at warn and counts as delivered:
//!   the backend will not take the rejected records again.

mod config;
mod response;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue, header};
use reqwest::{Client, Url};
use weir_pipeline::{BuildError, Bundle, ExportError, Exporter, Sent, SignalKind};

use crate::otlp::common::encode_bundle;
use crate::shared::http::client;
use crate::shared::http::pool::BufferPool;
use crate::shared::http::response::send_error;

pub use crate::otlp::common::Compression;
pub use crate::shared::http::{Headers, HttpTlsConfig, TenantHeader};
pub use config::{OtlpHttpConfig, SPEC, UNSUPPORTED_COLLECTOR_KEYS};

/// Sends bundles over OTLP/HTTP protobuf; see the [module docs](self).
#[derive(Clone)]
pub struct OtlpHttpExporter {
    inner: Arc<Inner>,
}

struct Inner {
    id: Arc<str>,
    client: Client,
    /// Where traces, metrics and logs go; `None` when not configured.
    urls: [Option<Url>; 3],
    tenant_header: Option<HeaderName>,
    compression: Compression,
    timeout: Duration,
    /// Encode buffers whose capacity is reused across exports.
    buffers: BufferPool,
}

impl OtlpHttpExporter {
    /// Builds the exporter `id` (its component id, for messages) from `cfg`, reading the TLS
    /// files it names. Opens no connection. Needs rustls' process-wide crypto provider.
    pub fn new(id: &str, cfg: &OtlpHttpConfig) -> Result<Self, BuildError> {
        let compression = cfg.compression;
        let urls: [Option<Url>; 3] = SignalKind::ALL.map(|kind| cfg.signal_url(kind));
        let protobuf = [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        )];
        let client = client::build(&cfg.headers, &protobuf, &cfg.tls, cfg.timeout)
            .map_err(|source| BuildError::whole(id, source))?;
        Ok(Self {
            inner: Arc::new(Inner {
                id: Arc::from(id),
                client,
                urls,
                tenant_header: cfg.tenant_header.for_sending(&cfg.headers),
                compression,
                timeout: cfg.timeout,
                buffers: BufferPool::default(),
            }),
        })
    }

    /// The request body `export` sends for `bundle`: encoded, then compressed.
    pub(crate) fn body(&self, bundle: &Bundle) -> io::Result<Vec<u8>> {
        self.inner.body(bundle)
    }
}

fn index(kind: SignalKind) -> usize {
    match kind {
        SignalKind::Traces => 0,
        SignalKind::Metrics => 1,
        SignalKind::Logs => 2,
    }
}

impl Inner {
    /// The request body: the bundle encoded as one export request, compressed.
    fn body(&self, bundle: &Bundle) -> io::Result<Vec<u8>> {
        let mut buf = self.buffers.take();
        encode_bundle(bundle, &mut buf);
        let body = compress(self.compression, &buf);
        self.buffers.give(buf);
        body
    }
}

/// `raw` compressed (a copy of it for `none`, so the encode buffer can be reused).
fn compress(compression: Compression, raw: &[u8]) -> io::Result<Vec<u8>> {
    let out = Vec::with_capacity(raw.len() / 4 + 64);
    match compression {
        Compression::None => Ok(raw.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            enc.write_all(raw)?;
            enc.finish()
        }
        Compression::Deflate => {
            // HTTP's `deflate` is the zlib format (RFC 1950).
            let mut enc = flate2::write::ZlibEncoder::new(out, flate2::Compression::fast());
            enc.write_all(raw)?;
            enc.finish()
        }
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(out, 3)?;
            enc.write_all(raw)?;
            enc.finish()
        }
    }
}

impl Exporter for OtlpHttpExporter {
    /// OTLP backends answer one bad record (a malformed id) with 400 / INVALID_ARGUMENT for
    /// the whole export.
    fn refuses_whole_requests(&self) -> bool {
        true
    }

    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let inner = &self.inner;
        let kind = bundle.kind();
        let Some(url) = inner.urls[index(kind)].clone() else {
            let msg = format!(
                "otlphttp exporter {}: no URL for {kind}: set endpoint or {kind}_endpoint",
                inner.id
            );
            return Box::pin(async move { Err(ExportError::permanent(msg)) });
        };
        let body = match inner.body(&bundle) {
            Ok(body) => body,
            Err(e) => {
                let msg = format!("otlphttp exporter {}: compressing: {e}", inner.id);
                return Box::pin(async move { Err(ExportError::permanent(msg)) });
            }
        };
        let mut request = inner.client.post(url).timeout(inner.timeout).body(body);
        if inner.compression != Compression::None {
            request = request.header(header::CONTENT_ENCODING, inner.compression.as_str());
        }
        if let Some(name) = &inner.tenant_header {
            request = request.header(name.clone(), bundle.tenant().as_str());
        }
        let inner = inner.clone();
        Box::pin(async move {
            let response = request
                .send()
                .await
                .map_err(|e| send_error("otlphttp", &inner.id, inner.timeout, e))?;
            // The body is read within the same per-request timeout.
            response::answer(&inner.id, kind, response).await
        })
    }
}

impl fmt::Debug for OtlpHttpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<&str> = self.inner.urls.iter().flatten().map(Url::as_str).collect();
        f.debug_struct("OtlpHttpExporter")
            .field("id", &self.inner.id)
            .field("urls", &urls)
            .field("compression", &self.inner.compression)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}
