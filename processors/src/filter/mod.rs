//! The Collector's `filter` processor, for the common jobs: drop spans, span events, log
//! records, metrics and data points that match OTTL conditions on their name, kind, severity,
//! attributes and resource attributes (the subset in `ottl.rs`).
//!
//! A record matching any condition of its list is removed; a span takes its events with it;
//! a metric (or scope, or resource) left empty is removed. Dropped spans, log records and data
//! points are counted in `weir_records_filtered_total{signal,processor}`: the client is told
//! nothing (the request succeeded) and the loss ledger counts them as filtered, not lost.
//! Span events removed from a kept span are not records and are not counted.
//!
//! How it fails: reading the config fails on a condition weir does not run, at its list index,
//! naming the construct (each condition is parsed once, when read); [`FilterConfig::problems`]
//! asks for at least one condition. Building takes the parsed conditions and cannot fail.
//! Processing never fails, rejects or refuses.

mod conditions;
mod config;
mod eval;
mod lex;
mod ottl;

#[cfg(test)]
mod tests;

use weir_pipeline::batch::data_point_count;
use weir_pipeline::metrics::{Counter, catalogue};
use weir_pipeline::otlp::common::v1::{InstrumentationScope, KeyValue};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::{Batch, Metrics, Outcome, Processor, Signal, SignalKind};

pub use conditions::Condition;
pub use config::{
    ErrorMode, FilterConfig, LogsConditions, MetricsConditions, SPEC, TracesConditions,
    UNSUPPORTED_COLLECTOR_KEYS,
};

use eval::{View, holds};
use ottl::Expr;

/// The `filter` processor.
pub struct Filter {
    span: Vec<Expr>,
    spanevent: Vec<Expr>,
    log_record: Vec<Expr>,
    metric: Vec<Expr>,
    datapoint: Vec<Expr>,
    filtered: [Counter; 3],
}

fn any(list: &[Expr], view: &View<'_>) -> bool {
    list.iter().any(|e| holds(e, view))
}

fn attrs(resource: Option<&Resource>) -> &[KeyValue] {
    resource.map_or(&[], |r| &r.attributes)
}

fn scope_name(scope: Option<&InstrumentationScope>) -> Option<&str> {
    scope.map(|s| s.name.as_str())
}

impl Filter {
    /// Builds the processor `id` from `cfg`'s parsed conditions, counting in `metrics`.
    pub fn new(id: &str, cfg: &FilterConfig, metrics: &Metrics) -> Self {
        let [span, spanevent, log_record, metric, datapoint] = config::lists(cfg)
            .map(|list| list.iter().map(|c| c.expr().clone()).collect::<Vec<Expr>>());
        let filtered = SignalKind::ALL
            .map(|s| metrics.counter(catalogue::RECORDS_FILTERED, &[s.as_str(), id]));
        Self {
            span,
            spanevent,
            log_record,
            metric,
            datapoint,
            filtered,
        }
    }

    fn traces(&self, batch: &mut Vec<weir_pipeline::otlp::trace::v1::ResourceSpans>) -> u64 {
        let mut dropped = 0;
        for rs in batch.iter_mut() {
            let resource = attrs(rs.resource.as_ref());
            for ss in &mut rs.scope_spans {
                let scope = scope_name(ss.scope.as_ref());
                let before = ss.spans.len();
                if !self.span.is_empty() {
                    ss.spans.retain(|s| {
                        let view = View {
                            name: Some(&s.name),
                            kind: Some(s.kind),
                            attributes: &s.attributes,
                            resource,
                            scope_name: scope,
                            ..View::default()
                        };
                        !any(&self.span, &view)
                    });
                }
                dropped += (before - ss.spans.len()) as u64;
                if !self.spanevent.is_empty() {
                    for s in &mut ss.spans {
                        let span_name = s.name.as_str();
                        s.events.retain(|e| {
                            let view = View {
                                name: Some(&e.name),
                                attributes: &e.attributes,
                                resource,
                                scope_name: scope,
                                parent_name: Some(span_name),
                                ..View::default()
                            };
                            !any(&self.spanevent, &view)
                        });
                    }
                }
            }
            rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        }
        batch.retain(|rs| !rs.scope_spans.is_empty());
        dropped
    }

    fn logs(&self, batch: &mut Vec<weir_pipeline::otlp::logs::v1::ResourceLogs>) -> u64 {
        let mut dropped = 0;
        for rl in batch.iter_mut() {
            let resource = attrs(rl.resource.as_ref());
            for sl in &mut rl.scope_logs {
                let scope = scope_name(sl.scope.as_ref());
                let before = sl.log_records.len();
                sl.log_records.retain(|l| {
                    let view = View {
                        severity_number: Some(l.severity_number),
                        severity_text: Some(&l.severity_text),
                        body: l.body.as_ref(),
                        attributes: &l.attributes,
                        resource,
                        scope_name: scope,
                        ..View::default()
                    };
                    !any(&self.log_record, &view)
                });
                dropped += (before - sl.log_records.len()) as u64;
            }
            rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
        }
        batch.retain(|rl| !rl.scope_logs.is_empty());
        dropped
    }

    fn metrics(&self, batch: &mut Vec<weir_pipeline::otlp::metrics::v1::ResourceMetrics>) -> u64 {
        let mut dropped = 0;
        for rm in batch.iter_mut() {
            let resource = attrs(rm.resource.as_ref());
            for sm in &mut rm.scope_metrics {
                let scope = scope_name(sm.scope.as_ref());
                sm.metrics.retain_mut(|m| {
                    let view = View {
                        name: Some(&m.name),
                        resource,
                        scope_name: scope,
                        ..View::default()
                    };
                    if any(&self.metric, &view) {
                        dropped += data_point_count(m.data.as_ref()) as u64;
                        return false;
                    }
                    if self.datapoint.is_empty() {
                        return true;
                    }
                    let name = m.name.as_str();
                    let removed = crate::points::retain(m.data.as_mut(), |a| {
                        let view = View {
                            attributes: a,
                            resource,
                            scope_name: scope,
                            parent_name: Some(name),
                            ..View::default()
                        };
                        !any(&self.datapoint, &view)
                    });
                    dropped += removed;
                    removed == 0 || data_point_count(m.data.as_ref()) > 0
                });
            }
            rm.scope_metrics.retain(|sm| !sm.metrics.is_empty());
        }
        batch.retain(|rm| !rm.scope_metrics.is_empty());
        dropped
    }
}

impl Processor for Filter {
    fn process(&self, batch: &mut Batch) -> Outcome {
        let (dropped, counter) = match batch.signal_mut() {
            Signal::Traces(rs) if !(self.span.is_empty() && self.spanevent.is_empty()) => {
                (self.traces(rs), &self.filtered[0])
            }
            Signal::Metrics(rm) if !(self.metric.is_empty() && self.datapoint.is_empty()) => {
                (self.metrics(rm), &self.filtered[1])
            }
            Signal::Logs(rl) if !self.log_record.is_empty() => (self.logs(rl), &self.filtered[2]),
            _ => return Outcome::pass(),
        };
        if dropped > 0 {
            counter.add(dropped);
        }
        Outcome::pass()
    }
}
