//! Splitting a batch that is bigger than a queue's `batch.max_size` into parts of at most that
//! many records, each part keeping the resource and scope its records came from.
//!
//! Splitting copies the records it moves (the original is shared with other exporters), so it
//! only runs for batches over the limit. A metric with more data points than the limit is first
//! cut into several metrics with the same name, description, unit and temporality. Nothing here
//! fails; a limit of 0 is treated as 1.

use crate::batch::data_point_count;
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use std::collections::BTreeMap;

use crate::otlp::metrics::v1::{
    ExponentialHistogram, Gauge, Histogram, Metric, ResourceMetrics, ScopeMetrics, Sum, Summary,
    metric::Data,
};
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use crate::{Batch, Signal};

/// Splits `batch` into batches of at most `max` records, in order, with the same context.
pub fn split(batch: &Batch, max: u64) -> Vec<Batch> {
    let max = max.max(1);
    let parts: Vec<Signal> = match batch.signal() {
        Signal::Traces(rs) => chunk(rs, max).into_iter().map(Signal::Traces).collect(),
        Signal::Logs(rl) => chunk(rl, max).into_iter().map(Signal::Logs).collect(),
        Signal::Metrics(rm) => {
            let exploded: Vec<ResourceMetrics> = rm.iter().map(|r| explode(r, max)).collect();
            chunk(&exploded, max)
                .into_iter()
                .map(Signal::Metrics)
                .collect()
        }
    };
    parts
        .into_iter()
        .map(|signal| Batch::new(batch.ctx.clone(), signal))
        .collect()
}

/// A resource-level OTLP message: a resource and its scopes.
pub(crate) trait ResourceLevel: Clone {
    type Scope: ScopeLevel;
    fn scopes(&self) -> &[Self::Scope];
    fn scopes_mut(&mut self) -> &mut Vec<Self::Scope>;
    /// A copy of the resource with no scopes.
    fn shell(&self) -> Self;
}

/// A scope-level OTLP message: a scope and its records.
pub(crate) trait ScopeLevel: Clone {
    type Item: Clone;
    fn items(&self) -> &[Self::Item];
    fn items_mut(&mut self) -> &mut Vec<Self::Item>;
    /// A copy of the scope with no records.
    fn shell(&self) -> Self;
    /// Records one item counts for.
    fn weight(item: &Self::Item) -> u64;
}

fn chunk<R: ResourceLevel>(resources: &[R], max: u64) -> Vec<Vec<R>> {
    let mut out = Vec::new();
    let mut cur: Vec<R> = Vec::new();
    let mut n = 0u64;
    for r in resources {
        let mut resource_open = false;
        if r.scopes().iter().all(|s| s.items().is_empty()) {
            cur.push(r.clone());
            continue;
        }
        for s in r.scopes() {
            let mut scope_open = false;
            for item in s.items() {
                let w = R::Scope::weight(item);
                if n > 0 && n + w > max {
                    out.push(std::mem::take(&mut cur));
                    n = 0;
                    resource_open = false;
                    scope_open = false;
                }
                if !resource_open {
                    cur.push(r.shell());
                    resource_open = true;
                }
                let Some(res) = cur.last_mut() else { continue };
                if !scope_open {
                    res.scopes_mut().push(s.shell());
                    scope_open = true;
                }
                if let Some(scope) = res.scopes_mut().last_mut() {
                    scope.items_mut().push(item.clone());
                }
                n += w;
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Cuts every metric of `r` with more than `max` data points into metrics of at most `max`.
fn explode(r: &ResourceMetrics, max: u64) -> ResourceMetrics {
    let mut out = r.clone();
    for scope in &mut out.scope_metrics {
        if scope
            .metrics
            .iter()
            .all(|m| data_point_count(m.data.as_ref()) as u64 <= max)
        {
            continue;
        }
        let metrics = std::mem::take(&mut scope.metrics);
        for m in metrics {
            scope.metrics.extend(cut_metric(m, max as usize));
        }
    }
    out
}

fn cut_metric(m: Metric, max: usize) -> Vec<Metric> {
    if data_point_count(m.data.as_ref()) <= max {
        return vec![m];
    }
    metric_parts(&m, &|i| i / max)
        .into_iter()
        .map(|(_, part)| part)
        .collect()
}

/// `m` cut by data point: point `i` goes to part `part_of(i)`; each part is a metric with the
/// same name, description, unit, kind and temporality, listed by part. A metric without data
/// is one part, `0`.
pub(crate) fn metric_parts(m: &Metric, part_of: &dyn Fn(usize) -> usize) -> Vec<(usize, Metric)> {
    fn group<P: Clone>(points: &[P], part_of: &dyn Fn(usize) -> usize) -> BTreeMap<usize, Vec<P>> {
        let mut out: BTreeMap<usize, Vec<P>> = BTreeMap::new();
        for (i, p) in points.iter().enumerate() {
            out.entry(part_of(i)).or_default().push(p.clone());
        }
        out
    }
    let with = |data: Data| Metric {
        name: m.name.clone(),
        description: m.description.clone(),
        unit: m.unit.clone(),
        metadata: m.metadata.clone(),
        data: Some(data),
    };
    let parts = |groups: BTreeMap<usize, Data>| {
        groups
            .into_iter()
            .map(|(k, data)| (k, with(data)))
            .collect()
    };
    match &m.data {
        Some(Data::Gauge(g)) => parts(
            group(&g.data_points, part_of)
                .into_iter()
                .map(|(k, data_points)| (k, Data::Gauge(Gauge { data_points })))
                .collect(),
        ),
        Some(Data::Sum(s)) => parts(
            group(&s.data_points, part_of)
                .into_iter()
                .map(|(k, data_points)| {
                    let sum = Sum {
                        data_points,
                        aggregation_temporality: s.aggregation_temporality,
                        is_monotonic: s.is_monotonic,
                    };
                    (k, Data::Sum(sum))
                })
                .collect(),
        ),
        Some(Data::Histogram(h)) => parts(
            group(&h.data_points, part_of)
                .into_iter()
                .map(|(k, data_points)| {
                    let aggregation_temporality = h.aggregation_temporality;
                    (
                        k,
                        Data::Histogram(Histogram {
                            data_points,
                            aggregation_temporality,
                        }),
                    )
                })
                .collect(),
        ),
        Some(Data::ExponentialHistogram(h)) => parts(
            group(&h.data_points, part_of)
                .into_iter()
                .map(|(k, data_points)| {
                    let h = ExponentialHistogram {
                        data_points,
                        aggregation_temporality: h.aggregation_temporality,
                    };
                    (k, Data::ExponentialHistogram(h))
                })
                .collect(),
        ),
        Some(Data::Summary(s)) => parts(
            group(&s.data_points, part_of)
                .into_iter()
                .map(|(k, data_points)| (k, Data::Summary(Summary { data_points })))
                .collect(),
        ),
        None => vec![(0, m.clone())],
    }
}

impl ResourceLevel for ResourceSpans {
    type Scope = ScopeSpans;
    fn scopes(&self) -> &[ScopeSpans] {
        &self.scope_spans
    }
    fn scopes_mut(&mut self) -> &mut Vec<ScopeSpans> {
        &mut self.scope_spans
    }
    fn shell(&self) -> Self {
        Self {
            resource: self.resource.clone(),
            scope_spans: Vec::new(),
            schema_url: self.schema_url.clone(),
        }
    }
}

impl ScopeLevel for ScopeSpans {
    type Item = Span;
    fn items(&self) -> &[Span] {
        &self.spans
    }
    fn items_mut(&mut self) -> &mut Vec<Span> {
        &mut self.spans
    }
    fn shell(&self) -> Self {
        Self {
            scope: self.scope.clone(),
            spans: Vec::new(),
            schema_url: self.schema_url.clone(),
        }
    }
    fn weight(_: &Span) -> u64 {
        1
    }
}

impl ResourceLevel for ResourceLogs {
    type Scope = ScopeLogs;
    fn scopes(&self) -> &[ScopeLogs] {
        &self.scope_logs
    }
    fn scopes_mut(&mut self) -> &mut Vec<ScopeLogs> {
        &mut self.scope_logs
    }
    fn shell(&self) -> Self {
        Self {
            resource: self.resource.clone(),
            scope_logs: Vec::new(),
            schema_url: self.schema_url.clone(),
        }
    }
}

impl ScopeLevel for ScopeLogs {
    type Item = LogRecord;
    fn items(&self) -> &[LogRecord] {
        &self.log_records
    }
    fn items_mut(&mut self) -> &mut Vec<LogRecord> {
        &mut self.log_records
    }
    fn shell(&self) -> Self {
        Self {
            scope: self.scope.clone(),
            log_records: Vec::new(),
            schema_url: self.schema_url.clone(),
        }
    }
    fn weight(_: &LogRecord) -> u64 {
        1
    }
}

impl ResourceLevel for ResourceMetrics {
    type Scope = ScopeMetrics;
    fn scopes(&self) -> &[ScopeMetrics] {
        &self.scope_metrics
    }
    fn scopes_mut(&mut self) -> &mut Vec<ScopeMetrics> {
        &mut self.scope_metrics
    }
    fn shell(&self) -> Self {
        Self {
            resource: self.resource.clone(),
            scope_metrics: Vec::new(),
            schema_url: self.schema_url.clone(),
        }
    }
}

impl ScopeLevel for ScopeMetrics {
    type Item = Metric;
    fn items(&self) -> &[Metric] {
        &self.metrics
    }
    fn items_mut(&mut self) -> &mut Vec<Metric> {
        &mut self.metrics
    }
    fn shell(&self) -> Self {
        Self {
            scope: self.scope.clone(),
            metrics: Vec::new(),
            schema_url: self.schema_url.clone(),
        }
    }
    fn weight(m: &Metric) -> u64 {
        // A metric with no points still travels; it counts as one so chunks stay bounded.
        (data_point_count(m.data.as_ref()) as u64).max(1)
    }
}
