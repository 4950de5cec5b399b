//! Building exporters: each kind's exporter, handed to the engine inline or behind its
//! delivery settings (`ExporterHandle::direct`, `ExporterHandle::start`), and what a reload
//! keeps of the running ones.
//!
//! Fails with a [`StartError::Exporter`] naming the exporter and the setting at fault.

use std::sync::Arc;
use std::time::Duration;

use weir_exporters::debug::DebugExporter;
use weir_exporters::load_balancing;
use weir_exporters::loki::LokiExporter;
use weir_exporters::otlp::OtlpGrpcExporter;
use weir_exporters::otlphttp::OtlpHttpExporter;
use weir_exporters::prometheus::PrometheusExporter;
use weir_exporters::remote_write::RemoteWriteExporter;
use weir_exporters::sentry::SentryExporter;
use weir_pipeline::pipeline::ExporterHandle;
use weir_pipeline::queue::{DeliverySettings, QueueConfig, RetryConfig};
use weir_pipeline::{BuildError, Exporter, Metrics};

use super::{Built, RunningExporter, StartError};
use crate::config::{ComponentId, Config, ExporterConfig, ExtensionConfig};

pub(super) async fn build_exporters(
    config: &Config,
    metrics: &Metrics,
    before: Option<&Built>,
    out: &mut Built,
) -> Result<(), StartError> {
    let used: Vec<&ComponentId> = config
        .service
        .pipelines
        .iter()
        .flat_map(|p| &p.exporters)
        .collect();
    for (id, cfg) in &config.exporters {
        if !used.contains(&id) {
            continue;
        }
        let queue = cfg.sending_queue().cloned();
        let old = before
            .and_then(|b| b.exporters.get(id))
            .filter(|old| old.queue == queue);
        let handle = match old {
            Some(old) if old.config == *cfg => old.handle.clone(),
            Some(old) if new_hostnames(old, cfg)? => old.handle.clone(),
            _ => {
                refuse_replacing_disk_queue(before, id)?;
                out.fresh.push(id.clone());
                build_exporter(config, id, cfg, metrics).await?
            }
        };
        out.exporters.insert(
            id.clone(),
            RunningExporter {
                config: cfg.clone(),
                queue,
                handle,
            },
        );
    }
    Ok(())
}

/// A reload keeps an exporter whose queue is on disk only when its settings are unchanged: a
/// replacement would open the directory its predecessor still holds (and owns the records in).
/// Fails naming the exporter and what to do instead.
fn refuse_replacing_disk_queue(before: Option<&Built>, id: &ComponentId) -> Result<(), StartError> {
    let storage = before
        .and_then(|b| b.exporters.get(id))
        .and_then(|old| old.queue.as_ref())
        .and_then(|q| q.storage.as_deref());
    match storage {
        Some(storage) => Err(StartError::Exporter(BuildError::whole(
            &id.to_string(),
            format!(
                "its queue is on disk (sending_queue.storage: {storage}) and its settings changed: \
                 a reload keeps such an exporter only unchanged; restart weir to apply the change \
                 (the queue is replayed at start)"
            ),
        ))),
        None => Ok(()),
    }
}

/// True when `old` is a `load_balancing` exporter that `cfg` changes only in its static
/// hostnames: it takes them in place (the endpoints that stay keep their queues). Fails when
/// a new endpoint cannot be built.
fn new_hostnames(old: &RunningExporter, cfg: &ExporterConfig) -> Result<bool, StartError> {
    let (
        ExporterConfig::LoadBalancing(a),
        ExporterConfig::LoadBalancing(b),
        ExporterHandle::Balanced(lb),
    ) = (&old.config, cfg, &old.handle)
    else {
        return Ok(false);
    };
    if !load_balancing::only_hostnames_differ(a, b) {
        return Ok(false);
    }
    load_balancing::set_static(lb, b)
        .map_err(|message| StartError::Exporter(BuildError::whole(lb.id(), message)))?;
    Ok(true)
}

async fn build_exporter(
    config: &Config,
    id: &ComponentId,
    cfg: &ExporterConfig,
    metrics: &Metrics,
) -> Result<ExporterHandle, StartError> {
    let name = id.to_string();
    let failed = StartError::Exporter;
    // An exporter behind the engine: its queue (a pipeline's `batch` folded into it at load)
    // and retries.
    let queued = |exporter: Arc<dyn Exporter>,
                  queue: &QueueConfig,
                  retry: &RetryConfig,
                  timeout: Duration| {
        let storage = queue.storage.as_deref().and_then(|s| {
            config.extensions.iter().find_map(|(x, c)| match c {
                ExtensionConfig::FileStorage(f) if x.to_string() == s => Some(f.for_queue(id)),
                _ => None,
            })
        });
        let settings = DeliverySettings {
            queue: queue.clone(),
            retry: retry.clone(),
            timeout,
            storage,
        };
        ExporterHandle::start(&name, exporter, &settings, metrics)
            .map_err(|e| failed(BuildError::at(&name, "sending_queue.storage", e)))
    };
    Ok(match cfg {
        ExporterConfig::Debug(c) => ExporterHandle::direct(
            &name,
            Arc::new(DebugExporter::new(&name, c).map_err(failed)?),
            metrics,
        ),
        ExporterConfig::Otlp(c) => queued(
            Arc::new(OtlpGrpcExporter::new(&name, c).map_err(failed)?),
            &c.sending_queue,
            &c.retry_on_failure,
            c.timeout,
        )?,
        ExporterConfig::OtlpHttp(c) => queued(
            Arc::new(OtlpHttpExporter::new(&name, c).map_err(failed)?),
            &c.sending_queue,
            &c.retry_on_failure,
            c.timeout,
        )?,
        ExporterConfig::Loki(c) => queued(
            Arc::new(LokiExporter::new(&name, c).map_err(failed)?),
            &c.sending_queue,
            &c.retry_on_failure,
            c.timeout,
        )?,
        ExporterConfig::Sentry(c) => queued(
            Arc::new(SentryExporter::new(&name, c, metrics.clone()).map_err(failed)?),
            &c.sending_queue,
            &c.retry_on_failure,
            c.timeout,
        )?,
        ExporterConfig::RemoteWrite(c) => queued(
            Arc::new(RemoteWriteExporter::new(&name, c).map_err(failed)?),
            &c.sending_queue,
            &c.retry_on_failure,
            c.timeout,
        )?,
        ExporterConfig::LoadBalancing(c) => {
            if id.kind != "load_balancing" {
                tracing::warn!(exporter = %id, "the loadbalancing exporter is now named load_balancing; the old name is deprecated");
            }
            let queue = c.protocol.otlp.sending_queue.clone();
            ExporterHandle::Balanced(
                load_balancing::start(&name, c, queue, metrics.clone()).map_err(failed)?,
            )
        }
        ExporterConfig::Prometheus(c) => {
            // A scrape endpoint only updates its in-memory view: inline, no queue.
            let exporter = PrometheusExporter::bind(&name, c).await.map_err(failed)?;
            ExporterHandle::direct(&name, Arc::new(exporter), metrics)
        }
    })
}
