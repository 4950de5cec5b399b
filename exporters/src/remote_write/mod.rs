//! The `prometheusremotewrite` exporter: Prometheus remote write 1.0 to Prometheus
//! (`--web.enable-remote-write-receiver`), Mimir, Cortex or any compatible receiver, like the
//! Collector's `prometheusremotewrite` exporter.
//!
//! Each bundle (one tenant, one or more batches) is translated ([`crate::shared::prom`]: the
//! same names and labels as the `prometheus` exporter), written as `WriteRequest` bodies of at
//! most `max_batch_size_bytes` (labels sorted by name in every series), snappy-compressed and
//! POSTed one after another with `Content-Encoding: snappy`, `Content-Type:
//! application/x-protobuf`, `X-Prometheus-Remote-Write-Version: 0.1.0` and the tenant in
//! `tenant_header` (`X-Scope-OrgID`, what Mimir and Cortex read) unless `headers` sets it.
//! Batching, the queue, retries and the timeout are the engine's (`sending_queue`,
//! `retry_on_failure`, `timeout`).
//!
//! Delta temporality: the Collector drops delta points here (contrib #30094). weir adds up
//! monotonic delta sums and delta histograms per series and sends the running total as a
//! cumulative counter (its start is the first delta this process saw). That is exact when every
//! delta of a series reaches this weir process: one replica, or sticky routing by application.
//! Behind a load balancer that spreads one application's exports over replicas, each replica
//! would write its own partial total into the same series, which Prometheus sees as counter
//! resets: send cumulative temporality there (the SDKs' default) or route sticky.
//! Non-monotonic delta sums are dropped (an absolute value cannot be rebuilt from deltas) and
//! logged. A retried export does not add its deltas twice.
//!
//! How it fails:
//! - [`RemoteWriteExporter::new`] takes a config as the loader read and validated it and does
//!   not check it again; it returns a [`BuildError`] when there is no endpoint, a TLS file
//!   cannot be read, or no rustls crypto provider is installed.
//! - 429 and 5xx answers, no connection and timeouts are [`ExportError::Retryable`] (with the
//!   backend's `Retry-After`); other answers (400 for out-of-order samples, 401, 404) are
//!   [`ExportError::Permanent`]. When a bundle needs several requests, the first failure ends
//!   the attempt; a retry sends all of them again (Prometheus ignores samples it already has).
//! - Compressing cannot fail on a well-formed body; if snappy refuses one, the export is
//!   permanent.

mod client;
mod config;
mod series;
#[cfg(test)]
mod tests;
pub mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use http::HeaderName;
use parking_lot::Mutex;
use reqwest::{Client, Url};
use weir_pipeline::{BuildError, Bundle, ExportError, Exporter, Sent, Signal};

use crate::shared::http::response::send_error;
use crate::shared::prom::delta::DeltaStore;
use crate::shared::prom::{Point, Skipped, Translator};

pub use config::{
    RemoteWriteConfig, RemoteWriteQueue, SPEC, TargetInfo, UNSUPPORTED_COLLECTOR_KEYS,
};

/// The `prometheusremotewrite` exporter; see the [module docs](self).
#[derive(Clone)]
pub struct RemoteWriteExporter {
    inner: Arc<Inner>,
}

struct Inner {
    id: Arc<str>,
    client: Client,
    url: Url,
    tenant_header: Option<HeaderName>,
    timeout: Duration,
    max_body: usize,
    send_metadata: bool,
    translator: Translator,
    deltas: Mutex<DeltaStore>,
    last_skip_log: Mutex<Option<Instant>>,
}

impl RemoteWriteExporter {
    /// Builds the exporter `id` from `cfg`, reading the TLS files it names. Opens no connection.
    pub fn new(id: &str, cfg: &RemoteWriteConfig) -> Result<Self, BuildError> {
        let url = cfg
            .endpoint
            .as_ref()
            .ok_or_else(|| BuildError::at(id, "endpoint", config::ENDPOINT_REQUIRED.to_owned()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                id: Arc::from(id),
                client: client::client(id, cfg)?,
                url: url.url().clone(),
                tenant_header: cfg.tenant_header.for_sending(&cfg.headers),
                timeout: cfg.timeout,
                max_body: cfg.max_batch_size_bytes,
                send_metadata: cfg.send_metadata,
                translator: Translator::new(cfg.translation()),
                deltas: Mutex::new(DeltaStore::default()),
                last_skip_log: Mutex::new(None),
            }),
        })
    }

    /// The request bodies `export` sends for `bundle`: translated, encoded, compressed.
    pub(crate) fn bodies(&self, bundle: &Bundle) -> Result<Vec<Vec<u8>>, snap::Error> {
        self.inner.bodies(bundle)
    }
}

impl Inner {
    /// The bundle as snappy-compressed request bodies (none when it holds no series).
    fn bodies(&self, bundle: &Bundle) -> Result<Vec<Vec<u8>>, snap::Error> {
        let now = Instant::now();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let mut enc = wire::Encoder::new(self.max_body);
        let mut metadata = series::Metadata::new();
        let mut skipped = Skipped::default();
        for part in bundle.parts() {
            let Signal::Metrics(resources) = part.signal() else {
                continue;
            };
            let mut sink = |p: &Point<'_>| {
                let meta = self.send_metadata.then_some(&mut metadata);
                series::write(p, &part.ctx, &mut enc, &self.deltas, now, meta);
            };
            let tenant = part.ctx.tenant.as_str();
            self.translator
                .translate(tenant, resources, now_ms, &mut skipped, &mut sink);
        }
        for (family, (kind, help)) in &metadata {
            enc.metadata(*kind, family, help, "");
        }
        if skipped.total() > 0 {
            let mut last = self.last_skip_log.lock();
            if last.is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(60)) {
                *last = Some(now);
                skipped.log(&self.id);
            }
        }
        let mut snappy = snap::raw::Encoder::new();
        enc.finish()
            .iter()
            .map(|raw| snappy.compress_vec(raw))
            .collect()
    }
}

impl Exporter for RemoteWriteExporter {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        let inner = Arc::clone(&self.inner);
        let bodies = match inner.bodies(&bundle) {
            Ok(bodies) => bodies,
            Err(e) => {
                let msg = format!("prometheusremotewrite exporter {}: snappy: {e}", inner.id);
                return Box::pin(async move { Err(ExportError::permanent(msg)) });
            }
        };
        let tenant = bundle.tenant().as_str().to_owned();
        Box::pin(async move {
            for body in bodies {
                let mut request = inner
                    .client
                    .post(inner.url.clone())
                    .timeout(inner.timeout)
                    .body(body);
                if let Some(name) = &inner.tenant_header {
                    request = request.header(name.clone(), tenant.as_str());
                }
                let response = request.send().await.map_err(|e| {
                    send_error("prometheusremotewrite", &inner.id, inner.timeout, e)
                })?;
                client::answer(&inner.id, response).await?;
            }
            Ok(Sent::all())
        })
    }
}

impl fmt::Debug for RemoteWriteExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteWriteExporter")
            .field("id", &self.inner.id)
            .field("url", &self.inner.url.as_str())
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}
