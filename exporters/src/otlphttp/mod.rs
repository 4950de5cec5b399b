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
//! - [`OtlpHttpExporter::new`] returns an [`OtlpHttpError`] naming the exporter when a setting
//!   is invalid (the same problems as [`OtlpHttpConfig::problems`]), a TLS file cannot be read
//!   or parsed, or no rustls crypto provider is installed.
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
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use parking_lot::Mutex;
use reqwest::{Client, Url, redirect};
use weir_pipeline::{Bundle, ExportError, Exporter, SignalKind};

use crate::otlp::common::{Compression, encode_bundle, tenant_header_name};
use config::{HTTP_COMPRESSIONS, check_url};

pub use crate::otlp::Headers;
pub use config::{HttpTlsConfig, OtlpHttpConfig, UNSUPPORTED_COLLECTOR_KEYS};

/// Encode buffers kept for reuse (about one per concurrent export).
const MAX_POOLED_BUFFERS: usize = 16;
/// Larger encode buffers are freed after use rather than kept.
const MAX_POOLED_CAPACITY: usize = 16 << 20;

/// Why an `otlphttp` exporter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OtlpHttpError {
    /// A setting is invalid; `key` is its dotted path inside the exporter's config.
    #[error("otlphttp exporter {id}: {key}: {message}")]
    Config {
        /// The exporter's component id (`otlphttp`, `otlphttp/gateway`).
        id: String,
        /// The key at fault, e.g. `endpoint`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A TLS file could not be read.
    #[error("otlphttp exporter {id}: cannot read {}: {source}", path.display())]
    ReadFile {
        /// The exporter's component id.
        id: String,
        /// The configured path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The TLS files or settings were refused (not PEM, no certificate, key not matching).
    #[error("otlphttp exporter {id}: {message}")]
    Tls {
        /// The exporter's component id.
        id: String,
        /// What reqwest or rustls said.
        message: String,
    },
    /// No rustls crypto provider is installed; the binary installs ring's at start.
    #[error(
        "otlphttp exporter {id}: no TLS crypto provider installed \
         (call rustls::crypto::ring::default_provider().install_default() at start)"
    )]
    NoCryptoProvider {
        /// The exporter's component id.
        id: String,
    },
}

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
    buffers: Mutex<Vec<Vec<u8>>>,
}

impl OtlpHttpExporter {
    /// Builds the exporter `id` (its component id, for messages) from `cfg`, reading the TLS
    /// files it names. Opens no connection. Needs rustls' process-wide crypto provider.
    pub fn new(id: &str, cfg: &OtlpHttpConfig) -> Result<Self, OtlpHttpError> {
        let config_err = |key: &str, message: String| OtlpHttpError::Config {
            id: id.to_owned(),
            key: key.to_owned(),
            message,
        };
        if let Some((key, message)) = cfg.problems().into_iter().next() {
            return Err(config_err(&key, message));
        }
        let compression = Compression::parse(&cfg.compression, HTTP_COMPRESSIONS)
            .map_err(|m| config_err("compression", m))?;
        let mut urls: [Option<Url>; 3] = Default::default();
        for kind in SignalKind::ALL {
            if let Some(url) = cfg.signal_url(kind) {
                let key = format!("{kind}_endpoint");
                urls[index(kind)] = Some(check_url(&url).map_err(|m| config_err(&key, m))?);
            }
        }
        let mut headers = HeaderMap::new();
        for (key, value) in cfg.headers.iter() {
            let name = HeaderName::from_bytes(key.as_bytes());
            let value = HeaderValue::from_str(value);
            let (Ok(name), Ok(mut value)) = (name, value) else {
                return Err(config_err(
                    &format!("headers.{key}"),
                    "not a valid header".into(),
                ));
            };
            // Kept out of debug output and HPACK tables: values are often credentials.
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                id: Arc::from(id),
                client: client(id, cfg, headers)?,
                urls,
                tenant_header: tenant_header_name(&cfg.headers, &cfg.tenant_header),
                compression,
                timeout: cfg.timeout,
                buffers: Mutex::new(Vec::new()),
            }),
        })
    }
}

/// The HTTP client: configured headers on every request, no redirects, TLS from `tls`.
fn client(id: &str, cfg: &OtlpHttpConfig, headers: HeaderMap) -> Result<Client, OtlpHttpError> {
    // reqwest panics when building a client with no provider; report it instead.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        return Err(OtlpHttpError::NoCryptoProvider { id: id.to_owned() });
    }
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| OtlpHttpError::ReadFile {
            id: id.to_owned(),
            path: path.to_owned(),
            source,
        })
    };
    let tls_err = |what: &str, e: reqwest::Error| OtlpHttpError::Tls {
        id: id.to_owned(),
        message: format!("{what}: {e}"),
    };
    let mut builder = Client::builder()
        .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        .redirect(redirect::Policy::none())
        .tcp_nodelay(true)
        .connect_timeout(cfg.timeout);
    if let Some(path) = &cfg.tls.ca_file {
        let certs = reqwest::Certificate::from_pem_bundle(&read(path)?)
            .map_err(|e| tls_err("tls.ca_file", e))?;
        if certs.is_empty() {
            return Err(OtlpHttpError::Tls {
                id: id.to_owned(),
                message: format!("tls.ca_file: no certificate in {}", path.display()),
            });
        }
        builder = builder.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&cfg.tls.cert_file, &cfg.tls.key_file) {
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(key)?);
        let identity =
            reqwest::Identity::from_pem(&pem).map_err(|e| tls_err("tls.cert_file/key_file", e))?;
        builder = builder.identity(identity);
    }
    if cfg.tls.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| tls_err("building the HTTP client", e))
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
        let mut buf = self.buffers.lock().pop().unwrap_or_default();
        buf.clear();
        encode_bundle(bundle, &mut buf);
        let body = compress(self.compression, &buf);
        if buf.capacity() <= MAX_POOLED_CAPACITY {
            let mut pool = self.buffers.lock();
            if pool.len() < MAX_POOLED_BUFFERS {
                pool.push(buf);
            }
        }
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
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<(), ExportError>> {
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
                .map_err(|e| response::send_error(&inner.id, inner.timeout, e))?;
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
