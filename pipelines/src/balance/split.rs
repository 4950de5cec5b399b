//! Splitting a batch by destination: each record's routing key picks an endpoint, and the
//! batch becomes one batch per endpoint, each keeping its records' resource and scope.
//!
//! A batch whose records all go to one endpoint is not copied ([`Routed::One`]). Nothing
//! fails; records are cloned only when a batch really splits.

use std::collections::BTreeMap;

use super::key::{KeyOf, RoutingKey, point_key};
use crate::batch::data_point_count;
use crate::otlp::common::v1::{InstrumentationScope, KeyValue};
use crate::otlp::metrics::v1::{Metric, ResourceMetrics, metric::Data};
use crate::otlp::resource::v1::Resource;
use crate::queue::split::{ResourceLevel, ScopeLevel, metric_parts};
use crate::{Batch, Signal};

/// Where a batch goes.
#[derive(Debug)]
pub enum Routed {
    /// Every record to this endpoint (or an empty batch): the batch goes as it is.
    One(usize),
    /// Parts by endpoint index, each non-empty, in index order.
    Split(Vec<(usize, Signal)>),
}

/// Routes every record of `batch` by `key`; `pick` maps a key hash to an endpoint index.
pub fn route(batch: &Batch, key: &RoutingKey, pick: &mut dyn FnMut(u64) -> usize) -> Routed {
    let k = KeyOf {
        key,
        ctx: &batch.ctx,
    };
    let mut memo = Memo { last: None, pick };
    let mut dest = Vec::new();
    match batch.signal() {
        Signal::Traces(rs) => {
            let dest = record_destinations(
                rs,
                &k,
                &mut memo,
                |r| r.resource.as_ref(),
                |s| s.scope.as_ref(),
                |x| (&x.trace_id, &x.attributes),
            );
            finish(&dest, |d| split_nested(rs, d), Signal::Traces)
        }
        Signal::Logs(rl) => {
            let dest = record_destinations(
                rl,
                &k,
                &mut memo,
                |r| r.resource.as_ref(),
                |s| s.scope.as_ref(),
                |x| (&x.trace_id, &x.attributes),
            );
            finish(&dest, |d| split_nested(rl, d), Signal::Logs)
        }
        Signal::Metrics(rm) => {
            for r in rm {
                let at = k.resource(r.resource.as_ref());
                for s in &r.scope_metrics {
                    for m in &s.metrics {
                        let at_metric = k.metric(at, s.scope.as_ref(), &m.name);
                        for attrs in point_attributes(m) {
                            let h = match k.key {
                                RoutingKey::StreamId => point_key(at_metric, attrs),
                                RoutingKey::Metric => at_metric.finish(),
                                RoutingKey::Service | RoutingKey::Resource | RoutingKey::Tenant => {
                                    at.finish()
                                }
                                RoutingKey::TraceId | RoutingKey::Attributes(_) => {
                                    k.record(at, r.resource.as_ref(), s.scope.as_ref(), &[], attrs)
                                }
                            };
                            dest.push(memo.get(h));
                        }
                    }
                }
            }
            finish(&dest, |d| split_metrics(rm, d), Signal::Metrics)
        }
    }
}

/// Reads a record's trace id and attributes.
type RecordKey<R> = fn(&ItemOf<R>) -> (&[u8], &[KeyValue]);

/// The record type of a resource-level message.
type ItemOf<R> = <<R as ResourceLevel>::Scope as ScopeLevel>::Item;

/// The destination of every span or log record of `resources`, in order; the three functions
/// read a resource, a scope and a record's trace id and attributes.
fn record_destinations<R: ResourceLevel>(
    resources: &[R],
    k: &KeyOf<'_>,
    memo: &mut Memo<'_>,
    resource: fn(&R) -> Option<&Resource>,
    scope: fn(&R::Scope) -> Option<&InstrumentationScope>,
    record: RecordKey<R>,
) -> Vec<usize> {
    let mut dest = Vec::new();
    for r in resources {
        let at = k.resource(resource(r));
        for s in r.scopes() {
            for x in s.items() {
                let (trace_id, attrs) = record(x);
                dest.push(memo.get(k.record(at, resource(r), scope(s), trace_id, attrs)));
            }
        }
    }
    dest
}

/// `pick`, remembering the last answer: records of one trace, resource or metric come in
/// runs, so most records cost no hashing against the endpoints.
struct Memo<'a> {
    last: Option<(u64, usize)>,
    pick: &'a mut dyn FnMut(u64) -> usize,
}

impl Memo<'_> {
    fn get(&mut self, hash: u64) -> usize {
        match self.last {
            Some((h, d)) if h == hash => d,
            _ => {
                let d = (self.pick)(hash);
                self.last = Some((hash, d));
                d
            }
        }
    }
}

/// `Routed::One` when every destination is the same, else the parts `build` makes.
fn finish<T>(
    dest: &[usize],
    build: impl Fn(&[usize]) -> BTreeMap<usize, Vec<T>>,
    wrap: fn(Vec<T>) -> Signal,
) -> Routed {
    match dest.first() {
        None => Routed::One(0),
        Some(first) if dest.iter().all(|d| d == first) => Routed::One(*first),
        Some(_) => Routed::Split(build(dest).into_iter().map(|(d, v)| (d, wrap(v))).collect()),
    }
}

/// The records `dest` sends to each endpoint (one destination per item, in order), keeping
/// each record's resource and scope.
fn split_nested<R: ResourceLevel>(resources: &[R], dest: &[usize]) -> BTreeMap<usize, Vec<R>> {
    let mut out: BTreeMap<usize, Vec<R>> = BTreeMap::new();
    let mut next = dest.iter().copied();
    for r in resources {
        let mut per_resource: BTreeMap<usize, R> = BTreeMap::new();
        for s in r.scopes() {
            let mut per_scope: BTreeMap<usize, R::Scope> = BTreeMap::new();
            for x in s.items() {
                let d = next.next().unwrap_or_default();
                per_scope
                    .entry(d)
                    .or_insert_with(|| s.shell())
                    .items_mut()
                    .push(x.clone());
            }
            for (d, so) in per_scope {
                per_resource
                    .entry(d)
                    .or_insert_with(|| r.shell())
                    .scopes_mut()
                    .push(so);
            }
        }
        for (d, ro) in per_resource {
            out.entry(d).or_default().push(ro);
        }
    }
    out
}

/// Metrics split at the data point: a metric whose points go to several endpoints becomes one
/// metric (same name, unit and kind) per endpoint; `dest` holds one destination per point. A
/// metric without points carries no record and goes nowhere.
fn split_metrics(rm: &[ResourceMetrics], dest: &[usize]) -> BTreeMap<usize, Vec<ResourceMetrics>> {
    // Each metric cut into its per-endpoint parts, so that every metric of `cut` has one
    // destination; then the resource and scope nesting is split as for spans.
    let mut at = 0;
    let mut per_metric = Vec::new();
    let mut cut = Vec::with_capacity(rm.len());
    for r in rm {
        let mut r2 = r.shell();
        for s in &r.scope_metrics {
            let mut s2 = s.shell();
            for m in &s.metrics {
                let n = data_point_count(m.data.as_ref());
                let points = &dest[at.min(dest.len())..(at + n).min(dest.len())];
                at += n;
                if n == 0 {
                    continue;
                }
                for (d, part) in metric_parts(m, &|i| points.get(i).copied().unwrap_or_default()) {
                    per_metric.push(d);
                    s2.metrics.push(part);
                }
            }
            r2.scope_metrics.push(s2);
        }
        cut.push(r2);
    }
    split_nested(&cut, &per_metric)
}

/// The attributes of each data point of `m`, in order.
fn point_attributes(m: &Metric) -> Vec<&[KeyValue]> {
    match &m.data {
        Some(Data::Gauge(g)) => g
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(Data::Sum(g)) => g
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(Data::Histogram(g)) => g
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(Data::ExponentialHistogram(g)) => g
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(Data::Summary(g)) => g
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        None => Vec::new(),
    }
}
