//! Building the components a [`Config`] names: exporters (each behind its queue), processors,
//! and one router per receiver. A reload passes what runs now: an exporter whose settings
//! (queue included) are unchanged, and a `tenant_limit` whose settings are unchanged, is kept
//! as it is, so its queue and its budgets carry on.
//!
//! Fails with a [`StartError`] naming the component that cannot be built; exporters built
//! before the failure are handed back to be drained ([`Built::abandon`]).
//!
//! By kind: [`exporters`] (each behind the engine's delivery), [`processors`] (and the
//! pipelines and routers made of them).

mod exporters;
mod processors;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use weir_pipeline::pipeline::ExporterHandle;
use weir_pipeline::queue::QueueConfig;
use weir_pipeline::{Metrics, Processor, Router};
use weir_processors::tenant_limit::StoreHealth;

use super::StartError;
use crate::config::{ComponentId, Config, ExporterConfig, ProcessorConfig};
use exporters::build_exporters;
use processors::build_routers;

/// One running exporter and the settings it was built with.
#[derive(Clone)]
pub(super) struct RunningExporter {
    /// Its settings.
    pub config: ExporterConfig,
    /// Its queue settings (a pipeline's `batch` folded in at load).
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
