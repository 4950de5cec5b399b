//! The Collector's `attributes` and `resource` processors: ordered edits (`insert`, `update`,
//! `upsert`, `delete`, `extract`, `convert`) of record attributes (every span, log record and
//! metric data point) or of resource attributes.
//!
//! They add and copy values, so they run before `redaction` (the config loader refuses one
//! placed after it): what they write is masked like anything else that leaves.
//!
//! How it fails: reading the config fails on a `pattern` that is not a regex (compiled once,
//! when read); [`AttributesConfig::problems`] and [`ResourceConfig::problems`] report an empty
//! list and an action without what its kind needs. Building takes a config that passed both
//! and cannot fail. Processing never fails, rejects or refuses.

mod actions;
mod config;

#[cfg(test)]
mod tests;

use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::{Batch, Outcome, Processor, Signal};

pub use actions::Actions;
pub use config::{
    ATTRIBUTES_SPEC, ActionConfig, ActionKind, AttributeValue, AttributesConfig, ConvertedType,
    RESOURCE_SPEC, ResourceConfig, UNSUPPORTED_ATTRIBUTES_KEYS, UNSUPPORTED_RESOURCE_KEYS,
};

/// The `attributes` processor: edits the attributes of every span, log record and data point.
pub struct Attributes {
    actions: Actions,
}

impl Attributes {
    /// Builds the processor from `cfg` (free of [`AttributesConfig::problems`]).
    pub fn new(cfg: &AttributesConfig) -> Self {
        Self {
            actions: Actions::new(&cfg.actions),
        }
    }
}

impl Processor for Attributes {
    fn process(&self, batch: &mut Batch) -> Outcome {
        let a = &self.actions;
        match batch.signal_mut() {
            Signal::Traces(rs) => rs
                .iter_mut()
                .flat_map(|r| &mut r.scope_spans)
                .flat_map(|s| &mut s.spans)
                .for_each(|span| a.apply(&mut span.attributes)),
            Signal::Logs(rl) => rl
                .iter_mut()
                .flat_map(|r| &mut r.scope_logs)
                .flat_map(|s| &mut s.log_records)
                .for_each(|log| a.apply(&mut log.attributes)),
            Signal::Metrics(rm) => rm
                .iter_mut()
                .flat_map(|r| &mut r.scope_metrics)
                .flat_map(|s| &mut s.metrics)
                .for_each(|m| crate::points::for_each_attributes(m.data.as_mut(), |p| a.apply(p))),
        }
        Outcome::pass()
    }
}

/// The `resource` processor: edits the resource attributes of every batch.
pub struct ResourceAttributes {
    actions: Actions,
}

impl ResourceAttributes {
    /// Builds the processor from `cfg` (free of [`ResourceConfig::problems`]).
    pub fn new(cfg: &ResourceConfig) -> Self {
        Self {
            actions: Actions::new(&cfg.attributes),
        }
    }

    fn apply(&self, resource: &mut Option<Resource>) {
        self.actions
            .apply(&mut resource.get_or_insert_with(Resource::default).attributes);
    }
}

impl Processor for ResourceAttributes {
    fn process(&self, batch: &mut Batch) -> Outcome {
        match batch.signal_mut() {
            Signal::Traces(rs) => rs.iter_mut().for_each(|r| self.apply(&mut r.resource)),
            Signal::Logs(rl) => rl.iter_mut().for_each(|r| self.apply(&mut r.resource)),
            Signal::Metrics(rm) => rm.iter_mut().for_each(|r| self.apply(&mut r.resource)),
        }
        Outcome::pass()
    }
}
