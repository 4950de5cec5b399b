//! The `loki` exporter: pushes log records to Loki's push API (`POST /loki/api/v1/push`) with
//! client-side control of which attributes become labels, which the Collector lost when it
//! deprecated its `loki` exporter for Loki's native OTLP ingestion.
//!
//! Each bundle (one tenant, one or more batches) becomes ONE push: its records are grouped into
//! streams by label set (the default labels `service_name` and `level`, plus the configured
//! resource and record attributes, names sanitised to `[a-zA-Z_][a-zA-Z0-9_]*`), each stream's
//! entries sorted by time, each entry carrying structured metadata (`trace_id`, `span_id`,
//! `request_id`, severity, configured attributes; Loki 3) and a line (`text`, `json` or
//! `logfmt`). The body is a snappy-compressed `logproto.PushRequest` (default) or Loki's JSON
//! (gzipped by default), encoded into pooled buffers. The tenant goes in `X-Scope-OrgID` (the
//! batch's, or a fixed `tenant_id`). Batching across requests is the queue's
//! (`sending_queue.batch` merges a tenant's batches into one bundle).
//!
//! A cardinality guard keeps at most `max_label_sets_per_tenant` distinct label sets per tenant
//! (within `label_sets_window`): past it, an entry keeps only the default labels and its
//! configured labels move to structured metadata, counted in [`LokiStats::labels_moved`] and
//! warned about once per window and tenant.
//!
//! How it fails:
//! - [`LokiExporter::new`] takes a config as the loader read and validated it and does not
//!   check it again; it returns a [`BuildError`] naming the exporter and key when there is no
//!   endpoint, a TLS file cannot be read or parsed, or no rustls crypto provider is installed.
//!   It opens no connection.
//! - 429 and 5xx are [`ExportError::Retryable`] (with `Retry-After`, seconds or HTTP date); no
//!   connection, a cut connection or no answer within `timeout` too. The engine retries with
//!   backoff.
//! - Only logs reach it: its [`SPEC`] names only logs, so a config putting it in another
//!   pipeline is refused at load.
//! - A 400 whose body says how many entries Loki refused (its `N errors like: …` validation
//!   errors, one per entry or per stream, or an ingester's `total ignored: N`) is a success
//!   that rejects those records by reason: `weir_records_dropped_total{reason}` gets
//!   `loki_too_old`, `loki_too_new`, `loki_out_of_order`, `loki_line_too_long`,
//!   `loki_bad_labels`, `loki_structured_metadata` or `loki_other`, and the rest of the push is
//!   counted as sent (Loki stored it). Counts are capped at the push's records.
//! - Every other status is [`ExportError::Permanent`], a 400 that does not say how many
//!   entries it refused included: the valid entries may have been stored, so the push is never
//!   sent again. The bundle is dropped (counted by the engine as `permanent`); later bundles
//!   and other tenants go on.
//! - Every refusal is counted per reason word (`too_old`, `too_new`, `out_of_order`,
//!   `line_too_long`, `bad_labels`, `structured_metadata`, `rate_limited`, `other`; see
//!   [`LokiExporter::stats`]) and logged at warn with at most 256 bytes of Loki's message.

mod config;
mod guard;
mod json;
mod line;
mod names;
#[cfg(any(test, feature = "test-util"))]
pub mod read;
mod refused;
mod response;
mod streams;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue, header};
use reqwest::{Client, Url};
use weir_pipeline::{BuildError, Bundle, ExportError, Exporter, Sent};

use crate::shared::http::client;
use crate::shared::http::pool::BufferPool;
use crate::shared::http::response::send_error;
use guard::LabelGuard;
use response::Refusals;
use streams::Plan;

pub use crate::shared::http::{Headers, HttpTlsConfig, TenantHeader};
pub use config::{
    BodyCompression, DefaultLabels, LabelsConfig, LineFormat, LokiConfig, PUSH_PATH, PushFormat,
    SPEC, StructuredMetadataConfig, UNSUPPORTED_COLLECTOR_KEYS,
};
pub use names::{AttributeNames, is_valid_name, sanitize};
pub use response::Reason;

/// What a `loki` exporter has counted since it was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LokiStats {
    /// Answers in which Loki refused a push or part of it, per reason word they name (every
    /// word present, zeros included).
    pub refused: BTreeMap<&'static str, u64>,
    /// Entries whose configured labels the cardinality guard moved to structured metadata.
    pub labels_moved: u64,
}

/// Pushes bundles of log records to Loki; see the [module docs](self).
#[derive(Clone)]
pub struct LokiExporter {
    inner: Arc<Inner>,
}

struct Inner {
    id: Arc<str>,
    client: Client,
    url: Url,
    compression: BodyCompression,
    /// The header the tenant goes in, unless `headers` fixes it or `tenant_header` is empty.
    tenant_header: Option<HeaderName>,
    /// `tenant_id`: the tenant of every push.
    tenant_id: Option<HeaderValue>,
    /// The tenant the guard counts under when it is not the batch's.
    guard_tenant: Option<String>,
    plan: Plan,
    guard: LabelGuard,
    timeout: Duration,
    /// Encode buffers whose capacity is reused across pushes.
    buffers: BufferPool,
    refusals: Refusals,
    moved: AtomicU64,
}

impl LokiExporter {
    /// Builds the exporter `id` (its component id, for messages) from `cfg`, reading the TLS
    /// files it names. Opens no connection. Needs rustls' process-wide crypto provider.
    pub fn new(id: &str, cfg: &LokiConfig) -> Result<Self, BuildError> {
        let url = cfg
            .push_url()
            .ok_or_else(|| BuildError::at(id, "endpoint", config::ENDPOINT_REQUIRED.to_owned()))?;
        let compression = cfg.body_compression();
        let tenant_id = match &cfg.tenant_id {
            Some(t) => Some(
                HeaderValue::from_str(t.as_str())
                    .map_err(|e| BuildError::at(id, "tenant_id", e.to_string()))?,
            ),
            None => None,
        };
        let fixed_header = (!cfg.tenant_header.is_empty())
            .then(|| cfg.headers.value_of(cfg.tenant_header.as_str()))
            .flatten()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let guard_tenant = match (fixed_header, cfg.tenant_header.is_empty()) {
            (Some(value), _) => Some(value),
            (None, true) => Some(String::new()),
            (None, false) => cfg.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
        };
        // Content-Type is set per push: it follows `format`.
        let client = client::build(&cfg.headers, &[], &cfg.tls, cfg.timeout)
            .map_err(|source| BuildError::whole(id, source))?;
        Ok(Self {
            inner: Arc::new(Inner {
                id: Arc::from(id),
                client,
                url,
                compression,
                tenant_header: cfg.tenant_header.for_sending(&cfg.headers),
                tenant_id,
                guard_tenant,
                plan: Plan::new(cfg),
                guard: LabelGuard::new(
                    cfg.max_label_sets_per_tenant,
                    cfg.label_sets_window,
                    Instant::now(),
                ),
                timeout: cfg.timeout,
                buffers: BufferPool::default(),
                refusals: Refusals::default(),
                moved: AtomicU64::new(0),
            }),
        })
    }

    /// The push body of `bundle` as `export` builds it (streams under the label guard,
    /// encoded and compressed), without sending it; `None` when it holds no entry.
    pub(crate) fn push_body(&self, bundle: &Bundle) -> std::io::Result<Option<Vec<u8>>> {
        let inner = &self.inner;
        let streams = inner.streams(bundle, inner.guard_tenant(bundle.tenant().as_str()));
        if streams.is_empty() {
            return Ok(None);
        }
        inner.body(streams).map(Some)
    }

    /// What the exporter has counted so far.
    pub fn stats(&self) -> LokiStats {
        let inner = &self.inner;
        LokiStats {
            refused: Reason::ALL
                .iter()
                .map(|r| (r.as_str(), inner.refusals.get(*r)))
                .collect(),
            labels_moved: inner.moved.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    /// The tenant the label guard counts a bundle of `tenant` under.
    fn guard_tenant<'a>(&'a self, tenant: &'a str) -> &'a str {
        self.guard_tenant.as_deref().unwrap_or(tenant)
    }

    /// The streams of `bundle`, its label sets counted by the guard under `guard_tenant`;
    /// counts the entries whose labels the guard moved, and warns once per window.
    fn streams(&self, bundle: &Bundle, guard_tenant: &str) -> Vec<wire::Stream> {
        let built = self
            .guard
            .with_tenant(guard_tenant, Instant::now(), |sets| {
                self.plan.build(bundle, sets)
            });
        if built.moved > 0 {
            self.moved.fetch_add(built.moved, Ordering::Relaxed);
        }
        if built.warn {
            tracing::warn!(
                exporter = %self.id,
                tenant = guard_tenant,
                "loki label set limit (max_label_sets_per_tenant) reached: new label sets keep \
                 only the default labels; their configured labels go to structured metadata"
            );
        }
        built.streams
    }

    /// The push body of `streams`, encoded and compressed.
    fn body(&self, streams: Vec<wire::Stream>) -> std::io::Result<Vec<u8>> {
        let mut buf = self.buffers.take();
        let body = match self.compression {
            BodyCompression::Snappy => wire::protobuf(streams, &mut buf),
            other => wire::json(&streams, other, &mut buf),
        };
        self.buffers.give(buf);
        body
    }
}

impl Exporter for LokiExporter {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let inner = Arc::clone(&self.inner);
        let tenant = bundle.tenant().as_str();
        let guard_tenant = inner.guard_tenant(tenant);
        let streams = inner.streams(&bundle, guard_tenant);
        if streams.is_empty() {
            return Box::pin(async { Ok(Sent::all()) });
        }
        let pushed = refused::Pushed::of(&streams);
        let body = match inner.body(streams) {
            Ok(body) => body,
            Err(e) => {
                let msg = format!("loki exporter {}: encoding the push: {e}", inner.id);
                return Box::pin(async move { Err(ExportError::permanent(msg)) });
            }
        };
        let content_type = match inner.compression {
            BodyCompression::Snappy => "application/x-protobuf",
            _ => "application/json",
        };
        let mut request = inner
            .client
            .post(inner.url.clone())
            .timeout(inner.timeout)
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        if inner.compression == BodyCompression::Gzip {
            request = request.header(header::CONTENT_ENCODING, "gzip");
        }
        if let Some(name) = &inner.tenant_header {
            let value = match &inner.tenant_id {
                Some(fixed) => fixed.clone(),
                // Tenant ids are validated to a header-safe alphabet; a failure sends none.
                None => match HeaderValue::from_str(tenant) {
                    Ok(v) => v,
                    Err(_) => HeaderValue::from_static(""),
                },
            };
            request = request.header(name.clone(), value);
        }
        let tenant = guard_tenant.to_owned();
        Box::pin(async move {
            let response = request
                .send()
                .await
                .map_err(|e| send_error("loki", &inner.id, inner.timeout, e))?;
            response::answer(&inner.id, &tenant, response, &inner.refusals, &pushed).await
        })
    }
}

impl fmt::Debug for LokiExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LokiExporter")
            .field("id", &self.inner.id)
            .field("url", &self.inner.url.as_str())
            .field("compression", &self.inner.compression)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}
