//! The `sentry` exporter: turns recorded exceptions into Sentry errors, linked to their traces.
//!
//! A span event named `exception` and a log record at ERROR or above (or with `exception.*`
//! attributes) become a Sentry error event ([`event`]): exception type and value, frames
//! parsed from `exception.stacktrace` for Python, Java, Go, JavaScript and Rust ([`stack`];
//! the raw text is kept in `extra.stacktrace` when no format matched), level, time,
//! `release` and `environment` from the resource, the allowlisted attributes and the request id
//! as tags, and `contexts.trace` with the trace and span ids. With `transactions: true`, local
//! root spans also become transactions with their child spans ([`transaction`]). Other spans
//! and logs are not sent: this exporter is for errors, beside a traces and a logs backend.
//!
//! Each item is one envelope (`POST /api/<project>/envelope/`, `X-Sentry-Auth` from the DSN,
//! gzip by default), sent up to [`MAX_IN_FLIGHT`] at a time per bundle; batching across
//! requests is the queue's (`sending_queue.batch` merges a tenant's batches into one bundle).
//! The DSN is the tenant's (`dsns_by_tenant`), else the service's (`dsns_by_service`), else
//! `dsn`. Event ids are derived from the records, so a resent event is the same event; the
//! copies of one exception (a span's `exception` event and an ERROR log of it in that span)
//! share one ([`ids`]), and a copy of an event sent within `dedupe_window` is skipped
//! ([`dedupe`]) and counted in `weir_sentry_deduplicated_total{exporter}`, not as a loss.
//!
//! How it fails:
//! - [`SentryExporter::new`] takes a config as the loader read and validated it (every DSN
//!   already parsed, [`SentryDsn`]) and does not check it again; it returns a [`BuildError`]
//!   naming the exporter when a TLS file cannot be read or parsed, or no rustls crypto
//!   provider is installed. It opens no connection.
//! - Rate limits are honoured, never retried ([`limits`]): `X-Sentry-Rate-Limits` on any
//!   answer, or a 429 with `Retry-After`, limits a category (`error`, `transaction`, or all)
//!   of that DSN until it expires. Items of a limited category are dropped before sending and
//!   counted in `weir_records_dropped_total{reason="rate_limited"}`; other categories and
//!   DSNs keep flowing. Records with no DSN are counted with `reason="no_dsn"`.
//! - 5xx, 408, no connection, or no answer within `timeout` is [`ExportError::Retryable`]: the
//!   engine retries the bundle, and the items Sentry already took (or that were dropped) are
//!   skipped on the retry, so nothing is sent or counted twice.
//! - Any other refusal (400, 401, 403, 413) drops that item, counted with
//!   `reason="permanent"` and logged at warn with the status only (an answer may quote event
//!   content; it is logged at debug). The other items of the bundle go on.
//! - Metrics never reach it: its [`SPEC`] names traces and logs, so a config putting it in a
//!   metrics pipeline is refused at load.

mod attrs;
mod client;
mod config;
mod dedupe;
mod dsn;
mod event;
mod ids;
pub mod limits;
mod plan;
mod send;
pub mod stack;
#[cfg(test)]
mod tests;
mod transaction;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use http::HeaderValue;
use parking_lot::Mutex;
use reqwest::{Client, Url};
use sentry_types::Uuid;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::{BuildError, Bundle, ExportError, Exporter, Metrics, Sent, TenantId};

pub use config::{
    Compression, DEFAULT_DEDUPE_WINDOW, MAX_DEDUPE_WINDOW, SPEC, SentryConfig,
    UNSUPPORTED_COLLECTOR_KEYS,
};
pub use dedupe::MAX_REMEMBERED;
use dedupe::Recent;
pub use dsn::{DsnError, SentryDsn};
use event::Shape;
use limits::{Clock, RateLimits};

/// Most envelopes of one bundle in flight at once.
pub const MAX_IN_FLIGHT: usize = 8;

/// Sends recorded exceptions (and optionally transactions) to Sentry; see the
/// [module docs](self).
#[derive(Clone)]
pub struct SentryExporter {
    inner: Arc<Inner>,
}

/// A DSN's envelope endpoint and auth header.
pub(crate) struct Target {
    url: Url,
    auth: HeaderValue,
    /// `project <id> at <host>`: how logs name it (without the key).
    name: String,
}

/// Which DSN a record goes to.
#[derive(Default)]
pub(crate) struct Routes {
    by_tenant: HashMap<String, usize>,
    by_service: HashMap<String, usize>,
    default: Option<usize>,
}

pub(crate) struct Inner {
    id: Arc<str>,
    client: Client,
    targets: Vec<Target>,
    routes: Routes,
    shape: Shape,
    transactions: bool,
    compression: Compression,
    timeout: std::time::Duration,
    limits: RateLimits,
    clock: Clock,
    /// Record ids whose item Sentry took or that were dropped, so that a retried bundle skips
    /// them.
    settled: Mutex<HashMap<Uuid, Instant>>,
    /// Event ids sent within `dedupe_window`: another copy is skipped.
    recent: Recent,
    metrics: Metrics,
}

impl SentryExporter {
    /// Builds the exporter `id` (its component id, for messages) from `cfg`, counting its
    /// drops in `metrics`. Reads the TLS files it names; opens no connection. Needs rustls'
    /// process-wide crypto provider.
    pub fn new(id: &str, cfg: &SentryConfig, metrics: Metrics) -> Result<Self, BuildError> {
        Self::with_clock(id, cfg, metrics, Arc::new(Instant::now))
    }

    /// [`SentryExporter::new`] with rate limits timed by `clock` (tests move it by hand).
    pub fn with_clock(
        id: &str,
        cfg: &SentryConfig,
        metrics: Metrics,
        clock: Clock,
    ) -> Result<Self, BuildError> {
        let mut targets: Vec<Target> = Vec::new();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut target = |dsn: &SentryDsn| -> usize {
            *by_text.entry(dsn.text().to_owned()).or_insert_with(|| {
                targets.push(Target {
                    url: dsn.url().clone(),
                    auth: dsn.auth().clone(),
                    name: dsn.name().to_owned(),
                });
                targets.len() - 1
            })
        };
        let mut routes = Routes {
            default: cfg.dsn.as_ref().map(&mut target),
            ..Routes::default()
        };
        for (tenant, dsn) in &cfg.dsns_by_tenant {
            routes.by_tenant.insert(tenant.clone(), target(dsn));
        }
        for (service, dsn) in &cfg.dsns_by_service {
            routes.by_service.insert(service.clone(), target(dsn));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                id: Arc::from(id),
                client: client::build(id, cfg)?,
                targets,
                routes,
                shape: Shape {
                    environment: cfg.environment.clone().filter(|e| !e.is_empty()),
                    tag_attributes: cfg.tag_attributes.clone(),
                },
                transactions: cfg.transactions,
                compression: cfg.compression,
                timeout: cfg.timeout,
                limits: RateLimits::default(),
                clock,
                settled: Mutex::new(HashMap::new()),
                recent: Recent::new(cfg.dedupe_window),
                metrics,
            }),
        })
    }
}

impl Inner {
    /// Counts `records` of `signal` and `tenant` as lost for `reason`.
    fn count_dropped(&self, signal: &str, tenant: &TenantId, reason: &str, records: u64) {
        if records == 0 {
            return;
        }
        let label = self.metrics.tenant_label(tenant);
        self.metrics
            .counter(
                catalogue::RECORDS_DROPPED,
                &[signal, &self.id, &label, reason],
            )
            .add(records);
    }

    /// Counts `events` skipped as copies of an event Sentry had just taken.
    fn count_deduplicated(&self, events: u64) {
        if events > 0 {
            self.metrics
                .counter(catalogue::SENTRY_DEDUPLICATED, &[&self.id])
                .add(events);
        }
    }
}

impl Exporter for SentryExporter {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { send::export(&inner, &bundle).await })
    }
}

impl fmt::Debug for SentryExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets: Vec<&str> = self.inner.targets.iter().map(|t| t.name.as_str()).collect();
        f.debug_struct("SentryExporter")
            .field("id", &self.inner.id)
            .field("targets", &targets)
            .field("transactions", &self.inner.transactions)
            .field("compression", &self.inner.compression)
            .finish_non_exhaustive()
    }
}
