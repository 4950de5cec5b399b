//! Building processors, and the pipelines and routers made of them: one pipeline per
//! `service.pipelines` entry, one router per receiver. A `tenant_limit` is one instance for
//! every pipeline naming it, kept by a reload that leaves its settings unchanged.
//!
//! Fails with a [`StartError::Processor`] naming the processor and the setting at fault.

use std::sync::Arc;

use weir_pipeline::pipeline::{NamedExporter, NamedProcessor};
use weir_pipeline::{Metrics, Pipeline, Processor};
use weir_processors::attributes::{Attributes, ResourceAttributes};
use weir_processors::enrich::Enrich;
use weir_processors::filter::Filter;
use weir_processors::redaction::Redaction;
use weir_processors::tenant_limit::{TenantLimit, TenantLimitConfig};

use super::{Built, Limit, StartError};
use crate::config::{ComponentId, Config, ProcessorConfig};

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
        ProcessorConfig::Attributes(c) => Arc::new(Attributes::new(c)),
        ProcessorConfig::Resource(c) => Arc::new(ResourceAttributes::new(c)),
        ProcessorConfig::Filter(c) => Arc::new(Filter::new(&name, c, metrics)),
    }))
}

fn build_tenant_limit(
    id: &ComponentId,
    cfg: &TenantLimitConfig,
    metrics: &Metrics,
) -> Result<TenantLimit, StartError> {
    let name = id.to_string();
    TenantLimit::new(&name, cfg, metrics).map_err(StartError::Processor)
}

pub(super) fn build_routers(
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
