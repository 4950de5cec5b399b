//! Metrics: resource, scope, metric metadata and exemplar attributes are masked as elsewhere,
//! and metric names, descriptions and units scanned (a metric that then meets another of its
//! name is folded into it, `renamed.rs`), but a data point's attributes name its series, so masking them would merge distinct series
//! under one `[REDACTED]` value and corrupt counters. Instead a data-point attribute whose key
//! is not allowed (or is blocked) is removed, a hashed key is hashed (one series per value
//! still), and an allowed value is scanned.
//!
//! When that makes two points of one metric identical (same attributes), they are merged the
//! way the SDK would have aggregated them had the attribute never existed, so every measurement
//! still counts (`merge.rs`, `merge_exp.rs`):
//!
//! - **cumulative sums** (monotonic or not) add up, under the earliest start time and the
//!   latest time; SDKs start each attribute set when its first measurement arrives, so
//!   colliding series usually have different start times.
//! - **delta sums** add up when they end at the same time (`time_unix_nano`), under the earliest
//!   start: both counted distinct measurements, so the sum is exact for the wider window, and
//!   one SDK collection ends every point it exports at the same time. Points that end at
//!   different times stay separate points of the same series, both kept. (Points of equal
//!   windows are the special case of this rule. Two points of one series ending at the same
//!   time would not survive downstream: a Prometheus exporter keeps one of them, and Prometheus
//!   refuses the second sample of a timestamp.)
//! - **histograms** add bucket by bucket (count, sum, min and max, bucket counts), with the
//!   sums' time rules for cumulative and delta ones. When their explicit bounds differ, both
//!   are first re-bucketed onto the bounds they share (`+Inf` at least), which is exact for
//!   every count: a Prometheus user keeps correct `_count`, `_sum` and `rate()`, with coarser
//!   `le` buckets. Keeping both points apart instead would give Prometheus two histograms for
//!   one label set: the scrape exporter would show only the last, and remote write would have
//!   the second sample of each timestamp refused, so counts would be lost or flap.
//! - **exponential histograms** merge at the lower scale (the finer one downscaled), further
//!   down if the merged buckets would span more than 160 (the SDKs' default size), with the
//!   histograms' time rules. Zero counts add; the larger zero threshold is kept.
//! - **gauges** keep the newest point (largest `time_unix_nano`; the first on a tie).
//! - **summaries** cannot be merged (quantiles do not add): the later points are dropped,
//!   counted as `series_dropped` and reported as rejected in OTLP partial success, never
//!   silently lost.
//!
//! A merged point's exemplars are those of both, the newest [`MAX_EXEMPLARS`] kept. A point
//! flagged "no recorded value" adds nothing; the merged point carries the flag only when both
//! did. Every point that disappears into another is counted as `series_merged`.
//!
//! Nothing here fails.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use prost::Message;
use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::{
    AggregationTemporality, DataPointFlags, Exemplar, ResourceMetrics, metric::Data,
};

use super::Redaction;
use super::run::Run;
use super::summary::Reason;

/// Most exemplars a merged point keeps (the newest).
pub const MAX_EXEMPLARS: usize = 16;

/// The data-point flag "no recorded value" (a staleness marker).
const NO_RECORDED_VALUE: u32 = DataPointFlags::NoRecordedValueMask as u32;

impl Redaction {
    /// Every metric of the request.
    pub(super) fn metrics(&self, resources: &mut [ResourceMetrics], run: &mut Run) {
        let mut renamed = Vec::new();
        for rm in resources {
            self.resource(rm.resource.as_mut(), run);
            self.rules.schema_url(&mut rm.schema_url, &mut run.cx);
            for sm in &mut rm.scope_metrics {
                self.scope(sm.scope.as_mut(), run);
                self.rules.schema_url(&mut sm.schema_url, &mut run.cx);
                renamed.clear();
                for m in &mut sm.metrics {
                    let t = &mut run.cx;
                    let mut changed = self.rules.metric_name(&mut m.name, t);
                    let before = t.tally.total();
                    self.rules
                        .text(&mut m.description, Some("metric.description"), t);
                    self.rules.text(&mut m.unit, Some("metric.unit"), t);
                    changed |= t.tally.total() != before;
                    renamed.push(changed);
                    self.rules.attributes(&mut m.metadata, &[], &mut run.cx);
                    match &mut m.data {
                        Some(Data::Gauge(g)) => self.points(&mut g.data_points, Kind::Gauge, run),
                        Some(Data::Sum(s)) => {
                            let kind = Kind::of(s.aggregation_temporality);
                            self.points(&mut s.data_points, kind, run)
                        }
                        Some(Data::Histogram(h)) => {
                            let kind = Kind::of(h.aggregation_temporality);
                            self.points(&mut h.data_points, kind, run)
                        }
                        Some(Data::ExponentialHistogram(h)) => {
                            let kind = Kind::of(h.aggregation_temporality);
                            self.points(&mut h.data_points, kind, run)
                        }
                        Some(Data::Summary(s)) => {
                            self.points(&mut s.data_points, Kind::Summary, run)
                        }
                        None => {}
                    }
                }
                if renamed.contains(&true) {
                    self.fold_renamed(&mut sm.metrics, &renamed, run);
                }
                // Data points and metrics get no summary attributes.
                run.cx.tally.begin_record();
            }
        }
    }

    /// The points of one metric of `kind`.
    fn points<P: Point>(&self, points: &mut Vec<P>, kind: Kind, run: &mut Run) {
        let mut changed = false;
        for p in points.iter_mut() {
            let (attrs, exemplars) = p.parts();
            changed |= self.rules.point_attributes(attrs, &mut run.cx);
            for e in exemplars {
                self.rules
                    .attributes(&mut e.filtered_attributes, &[], &mut run.cx);
            }
        }
        if changed && points.len() > 1 {
            let (merged, dropped) = dedupe(points, kind);
            run.cx.tally.add(Reason::SeriesMerged, merged);
            run.drop_points(dropped);
        }
    }
}

/// How the points of one metric combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The newest value wins.
    Gauge,
    /// Sums and histograms since a start time: always added.
    Cumulative,
    /// Sums and histograms over a window: added when the windows end together. Also
    /// unspecified temporality, which is not valid OTLP: nothing is lost either way.
    Delta,
    /// Cannot be combined.
    Summary,
}

impl Kind {
    /// The kind of a sum or histogram with this `aggregation_temporality`.
    pub fn of(temporality: i32) -> Kind {
        if temporality == AggregationTemporality::Cumulative as i32 {
            Kind::Cumulative
        } else {
            Kind::Delta
        }
    }

    /// The merged (start, time) of two points of this kind, or `None` when they are to stay
    /// apart. Only for sums and histograms.
    pub fn window(self, a: (u64, u64), b: (u64, u64)) -> Option<(u64, u64)> {
        match self {
            Kind::Cumulative => Some((a.0.min(b.0), a.1.max(b.1))),
            Kind::Delta => (a.1 == b.1).then_some((a.0.min(b.0), a.1)),
            Kind::Gauge | Kind::Summary => None,
        }
    }
}

/// What became of a point whose series already has a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Merge {
    /// Added into the kept point (or, for gauges, the older of the two given up).
    Merged,
    /// Stays a point of its own (a delta of another window). Nothing was changed.
    Apart,
    /// Cannot be merged: dropped. Nothing was changed.
    Dropped,
}

/// A data point of any metric type.
pub(super) trait Point {
    /// Its attributes and exemplars.
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]);
    /// Its attributes.
    fn attributes(&self) -> &[KeyValue];
    /// Folds `other`, a point of the same series, into `self` as the rules of the
    /// [module docs](self) say for `kind`; on [`Merge::Apart`] and [`Merge::Dropped`]
    /// neither point changed.
    fn merge(&mut self, other: &mut Self, kind: Kind) -> Merge;
}

/// Keeps one point per series and window: each point is merged into a kept point of its series
/// when the rules allow, kept apart, or dropped. Returns (merged, dropped).
pub(super) fn dedupe<P: Point>(points: &mut Vec<P>, kind: Kind) -> (u64, u64) {
    let mut seen: HashMap<Vec<u8>, Vec<usize>, RandomState> = HashMap::default();
    let mut out: Vec<P> = Vec::with_capacity(points.len());
    let (mut merged, mut dropped) = (0, 0);
    for mut p in points.drain(..) {
        let kept = seen.entry(series_id(p.attributes())).or_default();
        let mut fate = Merge::Apart;
        for &i in kept.iter() {
            fate = out[i].merge(&mut p, kind);
            if fate != Merge::Apart {
                break;
            }
        }
        match fate {
            Merge::Merged => merged += 1,
            Merge::Dropped => dropped += 1,
            Merge::Apart => {
                kept.push(out.len());
                out.push(p);
            }
        }
    }
    *points = out;
    (merged, dropped)
}

/// The attribute set as bytes, independent of attribute order.
fn series_id(attrs: &[KeyValue]) -> Vec<u8> {
    let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut buf = Vec::new();
    for kv in sorted {
        // Length-delimited, so two sets can only collide when equal.
        let _ = kv.encode_length_delimited(&mut buf);
    }
    buf
}

/// True when `flags` say "no recorded value".
pub(super) fn no_value(flags: u32) -> bool {
    flags & NO_RECORDED_VALUE != 0
}

/// The flags of two merged points: both sets, but "no recorded value" only when both had it.
pub(super) fn merged_flags(a: u32, b: u32) -> u32 {
    let both = a | b;
    if no_value(a) && no_value(b) {
        both
    } else {
        both & !NO_RECORDED_VALUE
    }
}

/// Moves `from`'s exemplars into `into`, keeping the newest [`MAX_EXEMPLARS`].
pub(super) fn keep_exemplars(into: &mut Vec<Exemplar>, from: &mut Vec<Exemplar>) {
    into.append(from);
    if into.len() > MAX_EXEMPLARS {
        into.sort_by_key(|e| e.time_unix_nano);
        into.drain(..into.len() - MAX_EXEMPLARS);
    }
}
