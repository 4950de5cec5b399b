//! Building the components a [`Config`] names: exporters (each behind its queue), processors,
//! and one router per receiver. A reload passes what runs now: an exporter whose settings
//! (queue included) are unchanged, and a `tenant_limit` whose settings are unchanged, is kept
//! as it is, so its queue and its budgets carry on.
//!
//! Fails with a [`StartError`] naming the component that cannot be built; exporters built
//! before the failure are handed back to be drained ([`Built::abandon`]).

use std::collections::BTreeMap;
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
use weir_pipeline::pipeline::{ExporterHandle, NamedExporter, NamedProcessor};
use weir_pipeline::queue::{DeliverySettings, QueueConfig, RetryConfig};
use weir_pipeline::{BuildError, Exporter, Metrics, Pipeline, Processor, Router};
use weir_processors::attributes::{Attributes, ResourceAttributes};
use weir_processors::enrich::Enrich;
use weir_processors::filter::Filter;
use weir_processors::redaction::Redaction;
use weir_processors::tenant_limit::{StoreHealth, TenantLimit, TenantLimitConfig};

use super::StartError;
use crate::config::{ComponentId, Config, ExporterConfig, ExtensionConfig, ProcessorConfig};

/// One running exporter and the settings it was built with.
#[derive(Clone)]
pub(super) struct RunningExporter {
    /// Its settings.
    pub config: ExporterConfig,
    /// Its queue settings after a pipeline's `batch` was mapped onto them.
    pub queue: Option<QueueConfig>,
    /// How pipelines reach it.
    pub handle: ExporterHandle,
}

/// One `tenant_limit`, shared by the pipelines naming it.
#[derive(Clone)]
pub(super) struct Limit {
    /// Its settings.
    pub config: ProcessorConfig,
    /// The processor.
    pub processor: Arc<dyn Processor>,
    /// Its shared store's health, when it has a store (for `/health`).
    pub store: Option<StoreHealth>,
}

impl Built {
    /// Each `tenant_limit`'s shared store, by processor id.
    pub fn limit_stores(&self) -> Vec<(String, StoreHealth)> {
        self.limits
            .iter()
            .filter_map(|(id, l)| l.store.clone().map(|s| (id.to_string(), s)))
            .collect()
    }
}

/// The exporters and shared processors of a config, and the receivers' routers.
pub(super) struct Built {
    /// Every exporter a pipeline uses.
    pub exporters: BTreeMap<ComponentId, RunningExporter>,
    /// `tenant_limit` processors, one per id, shared by the pipelines naming it.
    pub limits: BTreeMap<ComponentId, Limit>,
    /// One router per receiver in a pipeline.
    pub routers: BTreeMap<ComponentId, Router>,
    /// Ids of the exporters built anew (not kept from what ran before).
    pub fresh: Vec<ComponentId>,
}

impl Built {
    /// Drains the exporters built anew, for a build that is given up.
    pub async fn abandon(self) {
        for id in &self.fresh {
            if let Some(e) = self.exporters.get(id) {
                e.handle.drain(Duration::ZERO).await;
            }
        }
    }
}

/// Builds `config`'s components, keeping those of `before` whose settings are unchanged.
pub(super) async fn build(
    config: &Config,
    metrics: &Metrics,
    before: Option<&Built>,
) -> Result<Built, StartError> {
    let mut built = Built {
        exporters: BTreeMap::new(),
        limits: BTreeMap::new(),
        routers: BTreeMap::new(),
        fresh: Vec::new(),
    };
    if let Err(e) = build_exporters(config, metrics, before, &mut built).await {
        built.abandon().await;
        return Err(e);
    }
    match build_routers(config, metrics, before, &mut built) {
        Ok(()) => Ok(built),
        Err(e) => {
            built.abandon().await;
            Err(e)
        }
    }
}

async fn build_exporters(
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

/// The processor `cfg` describes; `None` for the kinds that are settings of other parts rather
/// than steps of a pipeline: `batch` (folded into the exporters' queues at load) and
/// `memory_limiter` (applied by the receivers, see `crate::memory`).
fn build_processor(
    id: &ComponentId,
    cfg: &ProcessorConfig,
    metrics: &Metrics,
) -> Result<Option<Arc<dyn Processor>>, StartError> {
    let name = id.to_string();
    let failed = StartError::Processor;
    Ok(Some(match cfg {
        ProcessorConfig::Batch(_) | ProcessorConfig::MemoryLimiter(_) => return Ok(None),
        ProcessorConfig::Redaction(c) => {
            Arc::new(Redaction::new(&name, c, metrics.clone()).map_err(failed)?)
        }
        ProcessorConfig::Enrich(c) => {
            Arc::new(Enrich::new(&name, c, metrics.clone()).map_err(failed)?)
        }
        ProcessorConfig::TenantLimit(c) => Arc::new(build_tenant_limit(id, c, metrics)?),
        ProcessorConfig::Attributes(c) => Arc::new(Attributes::new(&name, c).map_err(failed)?),
        ProcessorConfig::Resource(c) => {
            Arc::new(ResourceAttributes::new(&name, c).map_err(failed)?)
        }
        ProcessorConfig::Filter(c) => Arc::new(Filter::new(&name, c, metrics).map_err(failed)?),
    }))
}

/// Says, once per pipeline, where weir appended its `redaction` and where it is off.
pub(super) fn log_sanitizing(config: &Config) {
    use crate::config::service::PipelineRedaction;
    for p in &config.service.pipelines {
        match p.redaction {
            PipelineRedaction::Appended => tracing::info!(
                pipeline = %p.id,
                processor = crate::config::sanitize::APPENDED,
                "the pipeline names no redaction processor: appended as its last processor"
            ),
            PipelineRedaction::Off => tracing::warn!(
                pipeline = %p.id,
                "redaction: off: the pipeline exports values unmasked"
            ),
            PipelineRedaction::Named => {}
        }
    }
}

fn build_tenant_limit(
    id: &ComponentId,
    cfg: &TenantLimitConfig,
    metrics: &Metrics,
) -> Result<TenantLimit, StartError> {
    let name = id.to_string();
    TenantLimit::new(&name, cfg, metrics).map_err(StartError::Processor)
}

fn build_routers(
    config: &Config,
    metrics: &Metrics,
    before: Option<&Built>,
    out: &mut Built,
) -> Result<(), StartError> {
    for p in &config.service.pipelines {
        let mut processors = Vec::new();
        for id in &p.processors {
            let Some(cfg) = config.processors.get(id) else {
                continue;
            };
            // A tenant_limit is one instance for every pipeline that names it: a tenant's
            // budget is spent by its traces, metrics and logs together. Unchanged by a reload,
            // it keeps its budgets.
            let processor = match cfg {
                ProcessorConfig::TenantLimit(c) => match out.limits.get(id) {
                    Some(one) => Arc::clone(&one.processor),
                    None => {
                        let kept = before
                            .and_then(|b| b.limits.get(id))
                            .filter(|old| old.config == *cfg)
                            .cloned();
                        let one = match kept {
                            Some(one) => one,
                            None => {
                                let limit = build_tenant_limit(id, c, metrics)?;
                                Limit {
                                    config: cfg.clone(),
                                    store: limit.store_health(),
                                    processor: Arc::new(limit),
                                }
                            }
                        };
                        let processor = Arc::clone(&one.processor);
                        out.limits.insert(id.clone(), one);
                        processor
                    }
                },
                _ => match build_processor(id, cfg, metrics)? {
                    Some(processor) => processor,
                    None => continue,
                },
            };
            processors.push(NamedProcessor {
                id: Arc::from(id.to_string()),
                processor,
            });
        }
        let pipeline_exporters = p
            .exporters
            .iter()
            .filter_map(|id| {
                out.exporters.get(id).map(|e| NamedExporter {
                    id: Arc::from(id.to_string()),
                    handle: e.handle.clone(),
                })
            })
            .collect();
        let pipeline = Arc::new(Pipeline::new(
            p.id.as_str(),
            p.signal,
            processors,
            pipeline_exporters,
        ));
        for r in &p.receivers {
            out.routers
                .entry(r.clone())
                .or_default()
                .add(Arc::clone(&pipeline));
        }
    }
    Ok(())
}
