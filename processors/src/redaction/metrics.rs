//! Metrics: resource, scope, metric metadata and exemplar attributes are masked as elsewhere,
//! but a data point's attributes name its series, so masking them would merge distinct series
//! under one `[REDACTED]` value and corrupt counters. Instead a data-point attribute whose key
//! is not allowed (or is blocked) is removed, a hashed key is hashed (one series per value
//! still), and an allowed value is scanned. When that makes two points of one metric identical,
//! they are re-aggregated: sums (monotonic or not) and histograms with the same times (and
//! buckets) are added together; anything else (gauges, summaries, exponential histograms, or
//! differing times) keeps the first point and drops the others, which are counted and reported
//! as rejected in OTLP partial success, never silently lost.
//!
//! Nothing here fails.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use prost::Message;
use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, ResourceMetrics,
    SummaryDataPoint, metric::Data, number_data_point,
};

use super::Redaction;
use super::run::Run;
use super::summary::Reason;

impl Redaction {
    /// Every metric of the request.
    pub(super) fn metrics(&self, resources: &mut [ResourceMetrics], run: &mut Run) {
        for rm in resources {
            self.resource(rm.resource.as_mut(), run);
            for sm in &mut rm.scope_metrics {
                self.scope(sm.scope.as_mut(), run);
                for m in &mut sm.metrics {
                    self.rules.attributes(&mut m.metadata, &[], &mut run.cx);
                    match &mut m.data {
                        Some(Data::Gauge(g)) => self.points(&mut g.data_points, false, run),
                        Some(Data::Sum(s)) => self.points(&mut s.data_points, true, run),
                        Some(Data::Histogram(h)) => self.points(&mut h.data_points, true, run),
                        Some(Data::ExponentialHistogram(h)) => {
                            self.points(&mut h.data_points, false, run)
                        }
                        Some(Data::Summary(s)) => self.points(&mut s.data_points, false, run),
                        None => {}
                    }
                }
                // Data points and metrics get no summary attributes.
                run.cx.tally.begin_record();
            }
        }
    }

    /// The points of one metric; `summable` when colliding points may be added together.
    fn points<P: Point>(&self, points: &mut Vec<P>, summable: bool, run: &mut Run) {
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
            let (merged, dropped) = dedupe(points, summable);
            run.cx.tally.add(Reason::SeriesMerged, merged);
            run.drop_points(dropped);
        }
    }
}

/// A data point of any metric type.
trait Point {
    /// Its attributes and exemplars.
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]);
    /// Its attributes.
    fn attributes(&self) -> &[KeyValue];
    /// Adds `other` into `self` when both describe the same interval (and buckets); false
    /// when they cannot be merged. Only called for summable metric types.
    fn merge(&mut self, other: &mut Self) -> bool;
}

/// Keeps one point per series: later points of a series are merged into the first when
/// `summable` and compatible, else dropped. Returns (merged, dropped).
fn dedupe<P: Point>(points: &mut Vec<P>, summable: bool) -> (u64, u64) {
    let mut seen: HashMap<Vec<u8>, usize, RandomState> = HashMap::default();
    let mut out: Vec<P> = Vec::with_capacity(points.len());
    let (mut merged, mut dropped) = (0, 0);
    for mut p in points.drain(..) {
        let id = series_id(p.attributes());
        match seen.get(&id) {
            None => {
                seen.insert(id, out.len());
                out.push(p);
            }
            Some(&i) => {
                if summable && out[i].merge(&mut p) {
                    merged += 1;
                } else {
                    dropped += 1;
                }
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

impl Point for NumberDataPoint {
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]) {
        (&mut self.attributes, &mut self.exemplars)
    }
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
    fn merge(&mut self, other: &mut Self) -> bool {
        use number_data_point::Value::{AsDouble, AsInt};
        if self.start_time_unix_nano != other.start_time_unix_nano
            || self.time_unix_nano != other.time_unix_nano
        {
            return false;
        }
        self.value = match (self.value, other.value) {
            (Some(AsInt(a)), Some(AsInt(b))) => Some(AsInt(a.saturating_add(b))),
            (Some(AsDouble(a)), Some(AsDouble(b))) => Some(AsDouble(a + b)),
            (Some(AsInt(a)), Some(AsDouble(b))) | (Some(AsDouble(b)), Some(AsInt(a))) => {
                Some(AsDouble(a as f64 + b))
            }
            (a, None) => a,
            (None, b) => b,
        };
        self.flags |= other.flags;
        self.exemplars.append(&mut other.exemplars);
        true
    }
}

impl Point for HistogramDataPoint {
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]) {
        (&mut self.attributes, &mut self.exemplars)
    }
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
    fn merge(&mut self, other: &mut Self) -> bool {
        if self.start_time_unix_nano != other.start_time_unix_nano
            || self.time_unix_nano != other.time_unix_nano
            || self.explicit_bounds != other.explicit_bounds
            || self.bucket_counts.len() != other.bucket_counts.len()
        {
            return false;
        }
        self.count = self.count.saturating_add(other.count);
        self.sum = self.sum.zip(other.sum).map(|(a, b)| a + b);
        for (a, b) in self.bucket_counts.iter_mut().zip(&other.bucket_counts) {
            *a = a.saturating_add(*b);
        }
        self.min = self.min.zip(other.min).map(|(a, b)| a.min(b));
        self.max = self.max.zip(other.max).map(|(a, b)| a.max(b));
        self.flags |= other.flags;
        self.exemplars.append(&mut other.exemplars);
        true
    }
}

impl Point for ExponentialHistogramDataPoint {
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]) {
        (&mut self.attributes, &mut self.exemplars)
    }
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
    fn merge(&mut self, _: &mut Self) -> bool {
        false // bucket alignment across scales is not worth it here: dropped and counted
    }
}

impl Point for SummaryDataPoint {
    fn parts(&mut self) -> (&mut Vec<KeyValue>, &mut [Exemplar]) {
        (&mut self.attributes, &mut [])
    }
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
    fn merge(&mut self, _: &mut Self) -> bool {
        false // quantiles cannot be added
    }
}
