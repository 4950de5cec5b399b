//! The `enrich` processor: puts the ids that link a record to the rest of its request on the
//! records that leave weir, so every backend (Loki, Tempo, Prometheus, Sentry) can join them.
//!
//! - **Request id** (`request_id`): the export request's id (the client's `X-Request-Id`, or the
//!   uuid v7 weir generated) as `request.id` on every span and log record (or once per
//!   resource), and on metric exemplars. An id the application set is kept; weir's then goes
//!   beside it as `weir.request.id`. Metric data points and metric resources never get it: a
//!   per-request value there would make a series per request.
//! - **Trace ids on logs** (`trace_ids`): a log record without a valid trace id gets one (and
//!   its span id) promoted from its attributes, its body (a JSON object or a map), or, opt-in,
//!   the export request's `traceparent` (`trace_ids.rs`).
//! - **Resource attributes** (`attributes`, `add_host_name`): insert, upsert or update static
//!   values (`resource.rs`).
//!
//! Exporters read the result through `weir_pipeline::correlation`.
//!
//! On the wire view (`wire.rs`): [`Enrich::traces_wire`] adds the request ids to a traces
//! request kept as bytes, as edits; it returns `None` (decode and call `process` instead)
//! when the request already carries edits.
//!
//! How it fails: reading the config fails on a value of the wrong type or an unknown key;
//! [`EnrichConfig::problems`] reports the rest (empty or reserved keys, the Collector's keys and
//! actions weir does not run). Building takes a config that passed both and does not check it
//! again: it fails, with a [`BuildError`], only when `add_host_name` is set and no host name
//! can be read. Processing never fails, rejects or refuses: an invalid id is left where it is and
//! counted in `weir_enrich_invalid_ids_total{processor,source}` (`source`: `attributes` or
//! `body`).
//!
//! Cost per record: one scan of its attributes and one attribute clone (the request id value is
//! built once per batch); a log body is parsed only when its record lacks a trace id and the
//! body starts with `{`, in one pass that builds nothing but the ids. No regex.

mod config;
mod json_body;
mod keys;
mod request_id;
mod resource;
mod trace_ids;
mod wire;

#[cfg(test)]
mod tests;

use weir_pipeline::metrics::{Counter, catalogue};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::{Batch, BuildError, Metrics, Outcome, Processor, Signal};

pub use config::{
    Action, AttributeAction, AttributeValue, EnrichConfig, Level, RequestIdConfig, SPEC,
    TraceIdsConfig, UNSUPPORTED_COLLECTOR_KEYS,
};

use request_id::Stamp;
use resource::ResourceEdits;
use trace_ids::{Invalid, Promoter};

/// The `enrich` processor.
pub struct Enrich {
    /// Where the request id goes; `None` when off.
    request_id: Option<RequestIdConfig>,
    promoter: Option<Promoter>,
    resource: ResourceEdits,
    invalid_in_attributes: Counter,
    invalid_in_body: Counter,
}

impl Enrich {
    /// Builds the processor `id` from `cfg` (free of [`EnrichConfig::problems`]), counting in
    /// `metrics`. Reads the host name once when `add_host_name` is set; fails only when there
    /// is none.
    pub fn new(id: &str, cfg: &EnrichConfig, metrics: Metrics) -> Result<Self, BuildError> {
        Self::build(id, cfg, &metrics, resource::host_name)
    }

    /// [`Enrich::new`] with the host name from `host_name` (tests pass their own).
    fn build(
        id: &str,
        cfg: &EnrichConfig,
        metrics: &Metrics,
        host_name: impl FnOnce() -> Option<String>,
    ) -> Result<Self, BuildError> {
        let host = if cfg.add_host_name {
            Some(host_name().ok_or_else(|| {
                BuildError::at(
                    id,
                    "add_host_name",
                    "no host name in $HOSTNAME, /etc/hostname or /proc/sys/kernel/hostname; set \
                     the attribute with `attributes` instead",
                )
            })?)
        } else {
            None
        };
        let invalid = |source: &str| metrics.counter(catalogue::ENRICH_INVALID_IDS, &[id, source]);
        Ok(Self {
            request_id: cfg.request_id.enabled.then(|| cfg.request_id.clone()),
            promoter: Promoter::new(&cfg.trace_ids),
            resource: ResourceEdits::new(cfg, host.as_deref()),
            invalid_in_attributes: invalid("attributes"),
            invalid_in_body: invalid("body"),
        })
    }

    /// The request id attributes of a batch of spans or logs, when they get one.
    fn stamp<'a>(&self, id: &'a str) -> Option<(Stamp<'a>, Level)> {
        let cfg = self.request_id.as_ref()?;
        Some((Stamp::new(&cfg.key, id), cfg.level))
    }

    fn count(&self, invalid: Invalid) {
        if invalid.attributes > 0 {
            self.invalid_in_attributes.add(invalid.attributes);
        }
        if invalid.body > 0 {
            self.invalid_in_body.add(invalid.body);
        }
    }
}

/// Stamps a resource (at `level: resource`) or tells whether its records inherit an
/// application's request id from it (at `level: record`).
fn stamp_resource(stamp: Option<&(Stamp<'_>, Level)>, resource: &mut Option<Resource>) -> bool {
    match stamp {
        Some((s, Level::Resource)) => {
            s.apply_to_resource(resource);
            false
        }
        Some((s, Level::Record)) => resource
            .as_ref()
            .is_some_and(|r| s.is_taken_in(&r.attributes)),
        None => false,
    }
}

/// The stamp to apply to each record, when the level is `record`.
fn per_record<'s, 'a>(stamp: Option<&'s (Stamp<'a>, Level)>) -> Option<&'s Stamp<'a>> {
    stamp.and_then(|(s, level)| (*level == Level::Record).then_some(s))
}

impl Processor for Enrich {
    fn process(&self, batch: &mut Batch) -> Outcome {
        // A traces request held as bytes is enriched through its view when it can be.
        if let Some((ctx, view, edits)) = batch.ctx_and_trace_wire()
            && let Some(outcome) = self.traces_wire(ctx, view, edits)
        {
            return outcome;
        }
        let (ctx, signal) = batch.ctx_and_signal_mut();
        let id = ctx.request_id.as_str();
        match signal {
            Signal::Traces(all) => {
                let stamp = self.stamp(id);
                let each = per_record(stamp.as_ref());
                for rs in all {
                    self.resource.apply(&mut rs.resource);
                    let inherited = stamp_resource(stamp.as_ref(), &mut rs.resource);
                    let Some(each) = each else { continue };
                    for span in rs.scope_spans.iter_mut().flat_map(|s| &mut s.spans) {
                        each.apply(&mut span.attributes, inherited);
                    }
                }
            }
            Signal::Logs(all) => {
                let stamp = self.stamp(id);
                let each = per_record(stamp.as_ref());
                let mut invalid = Invalid::default();
                for rl in all {
                    self.resource.apply(&mut rl.resource);
                    let inherited = stamp_resource(stamp.as_ref(), &mut rl.resource);
                    for log in rl.scope_logs.iter_mut().flat_map(|s| &mut s.log_records) {
                        if let Some(p) = &self.promoter {
                            p.promote(log, ctx.traceparent.as_ref(), &mut invalid);
                        }
                        if let Some(each) = each {
                            each.apply(&mut log.attributes, inherited);
                        }
                    }
                }
                self.count(invalid);
            }
            Signal::Metrics(all) => {
                let key = self
                    .request_id
                    .as_ref()
                    .filter(|c| c.exemplars)
                    .map(|c| &*c.key);
                let mut stamp = None;
                for rm in all {
                    self.resource.apply(&mut rm.resource);
                    let Some(key) = key else { continue };
                    for metric in rm.scope_metrics.iter_mut().flat_map(|s| &mut s.metrics) {
                        if request_id::has_exemplars(metric) {
                            stamp
                                .get_or_insert_with(|| Stamp::new(key, id))
                                .apply_to_exemplars(metric);
                        }
                    }
                }
            }
        }
        Outcome::pass()
    }
}
