//! The `prometheus` exporter: a scrape endpoint (`GET /metrics`) showing the metrics that pass
//! through the pipeline, like the Collector's `prometheus` exporter.
//!
//! `export` translates each bundle ([`crate::shared::prom`]: the same names and labels as
//! the `prometheusremotewrite` exporter) and updates the in-memory page inline, so a scrape
//! right after an accepted request sees it. Cumulative points replace a series' value; delta
//! monotonic sums and histograms are added up into cumulative ones; non-monotonic delta sums are
//! dropped (an absolute value cannot be rebuilt from deltas). A series is removed when a point
//! says "no recorded value" or after `metric_expiration` without points, and Prometheus then
//! marks it stale. Expired series are removed by a background task every tenth of
//! `metric_expiration` (at least every 10 s, at most every 100 ms), in one pass linear in the
//! number of series; neither an export nor a scrape waits for more than that pass.
//!
//! The page is bounded: at most `max_metrics` metric families, `max_series` series in all and
//! `max_series_per_metric` series per family.
//!
//! The tenant of each batch is a label (`tenant_label`, `tenant` by default): one page shows
//! every tenant's series apart. A pull endpoint sees only what reached this replica: behind a
//! load-balanced tier each replica's page holds a share of each application's series, and the
//! same counter shows on several pages, each with the last value that replica got. Summing the
//! replicas over-counts; picking one misses series. Route each application to one replica
//! (sticky routing) or, better, use the `prometheusremotewrite` exporter, which writes every
//! point whichever replica got it.
//!
//! How it fails:
//! - [`PrometheusExporter::bind`] takes a config the loader validated and does not check it
//!   again; it returns a [`BuildError`] at `endpoint` when the endpoint cannot be bound.
//! - `export` never fails (only metrics reach it: its [`SPEC`] names only metrics, so the
//!   config loader refuses it in other pipelines). Points that would break the page (a name with two types, clashing
//!   sample names) or pass its limits (`max_metrics`, `max_series`, `max_series_per_metric`) are
//!   dropped, counted on the page in `weir_prometheus_exporter_dropped_points_total{metric,
//!   reason}`, in the loss ledger (`weir_records_dropped_total{reason}`: `type_conflict`,
//!   `name_conflict`, `metric_limit`, `series_limit`) and logged once at warn; a second help
//!   text for a name is logged once and the first kept. Points the translation skips are logged
//!   at warn at most once a minute.

mod config;
pub(crate) mod render;
pub(crate) mod server;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use weir_pipeline::{BuildError, Bundle, ExportError, Exporter, Sent, Signal};

use crate::shared::prom::{Point, Skipped, Translator};
use state::State;

pub use config::{DEFAULT_ENDPOINT, PrometheusConfig, SPEC, UNSUPPORTED_COLLECTOR_KEYS};

/// What the exporter and its HTTP server share.
pub(crate) struct Shared {
    id: Arc<str>,
    translator: Translator,
    state: Mutex<State>,
    open_metrics: bool,
    send_timestamps: bool,
    /// Size of the last page, to size the next one's buffer.
    page_len: AtomicUsize,
    /// When skipped points were last logged.
    last_skip_log: Mutex<Option<Instant>>,
}

/// How often expired series are removed: a tenth of `expiration`, within 100 ms..=10 s.
fn expiry_period(expiration: Duration) -> Duration {
    (expiration / 10).clamp(Duration::from_millis(100), Duration::from_secs(10))
}

/// Removes expired series every `period` until the exporter is gone.
async fn expire_periodically(shared: Weak<Shared>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.state.lock().expire(Instant::now());
    }
}

impl Shared {
    /// The empty page of exporter `id`, configured by `cfg` (already checked).
    pub(crate) fn new(id: &str, cfg: &PrometheusConfig) -> Self {
        Self {
            id: Arc::from(id),
            translator: Translator::new(cfg.translation()),
            state: Mutex::new(
                State::new(cfg.max_series_per_metric, cfg.metric_expiration)
                    .limited(cfg.max_metrics, cfg.max_series),
            ),
            open_metrics: cfg.enable_open_metrics,
            send_timestamps: cfg.send_timestamps,
            page_len: AtomicUsize::new(4096),
            last_skip_log: Mutex::new(None),
        }
    }

    fn last_page_len(&self) -> usize {
        self.page_len.load(Ordering::Relaxed)
    }

    fn note_page_len(&self, len: usize) {
        self.page_len.store(len, Ordering::Relaxed);
    }

    /// Translates `bundle` into the page; the data points refused, by reason.
    pub(crate) fn ingest(&self, bundle: &Bundle) -> Sent {
        let now = Instant::now();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let mut skipped = Skipped::default();
        let mut problems = Vec::new();
        let mut sent = Sent::all();
        {
            let mut state = self.state.lock();
            for part in bundle.parts() {
                let Signal::Metrics(resources) = part.signal() else {
                    continue;
                };
                let tenant = part.ctx.tenant.as_str();
                let mut sink = |p: &Point<'_>| {
                    let applied = state.update(p, &part.ctx, now);
                    if let Some(reason) = applied.dropped
                        && !self.translator.is_target_info(p)
                    {
                        sent.reject(reason, 1);
                    }
                    problems.extend(applied.problem);
                };
                self.translator
                    .translate(tenant, resources, now_ms, &mut skipped, &mut sink);
            }
        }
        for p in problems {
            let what = match p.reason {
                "type_conflict" => {
                    "a metric of this name with another type is on the page; its points are dropped"
                }
                "name_conflict" => {
                    "its sample names clash with another metric's; its points are dropped"
                }
                "series_limit" => {
                    "it reached max_series_per_metric or the page max_series; points of new series are dropped"
                }
                "metric_limit" => {
                    "the page holds max_metrics metrics; points of new metrics are dropped"
                }
                _ => "another help text for this name arrived; the first is kept",
            };
            tracing::warn!(exporter = %self.id, metric = %p.metric, reason = p.reason, "{what}");
        }
        if skipped.total() > 0 {
            let mut last = self.last_skip_log.lock();
            if last.is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(60)) {
                *last = Some(now);
                skipped.log(&self.id);
            }
        }
        sent
    }
}

/// The `prometheus` exporter; see the [module docs](self).
pub struct PrometheusExporter {
    shared: Arc<Shared>,
    address: std::net::SocketAddr,
}

impl PrometheusExporter {
    /// Binds the scrape endpoint of exporter `id` (logging one `listening` event with the bound
    /// address) and serves it in the background until the process ends. Takes a config that
    /// passed [`PrometheusConfig::problems`]; fails only when `endpoint` cannot be bound.
    pub async fn bind(id: &str, cfg: &PrometheusConfig) -> Result<Self, BuildError> {
        let listener = tokio::net::TcpListener::bind(&cfg.endpoint)
            .await
            .map_err(|source| {
                BuildError::at(id, "endpoint", cannot_listen(&cfg.endpoint, source))
            })?;
        let address = listener.local_addr().map_err(|source| {
            BuildError::at(id, "endpoint", cannot_listen(&cfg.endpoint, source))
        })?;
        let shared = Arc::new(Shared::new(id, cfg));
        tokio::spawn(expire_periodically(
            Arc::downgrade(&shared),
            expiry_period(cfg.metric_expiration),
        ));
        tracing::info!(listener = id, address = %address, "listening");
        let app = server::router(Arc::clone(&shared));
        let server_id = id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(exporter = %server_id, error = %e, "scrape endpoint stopped");
            }
        });
        Ok(Self { shared, address })
    }

    /// The address the scrape endpoint is bound to.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.address
    }
}

/// `source`, saying it happened listening on `endpoint`.
fn cannot_listen(endpoint: &str, source: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        source.kind(),
        format!("cannot listen on {endpoint}: {source}"),
    )
}

impl Exporter for PrometheusExporter {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let sent = self.shared.ingest(&bundle);
        Box::pin(async { Ok(sent) })
    }
}

impl std::fmt::Debug for PrometheusExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusExporter")
            .field("id", &self.shared.id)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}
