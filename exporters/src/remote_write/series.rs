//! Translated points as remote write series: one `TimeSeries` per sample name and label set.
//!
//! - numbers: one series (`http_requests_total`), with the point's exemplars on counters;
//! - histograms: `_bucket` per `le` (cumulative; each exemplar on the first bucket that holds
//!   its value), `_sum` (when known) and `_count`;
//! - summaries: one series per `quantile`, `_sum`, `_count`;
//! - a point with OTLP's no-recorded-value flag: the same series with Prometheus' staleness
//!   marker ([`STALE_NAN`]) as value, so queries stop showing them at once;
//! - deltas (monotonic sums and histograms): added up per series in the exporter's
//!   [`DeltaStore`] and sent as the running total; a delta older than what was sent is dropped.
//!
//! Nothing here fails.

use std::collections::BTreeMap;
use std::time::Instant;

use parking_lot::Mutex;
use weir_pipeline::RequestContext;

use super::wire::{Encoder, STALE_NAN};
use crate::shared::prom::delta::DeltaStore;
use crate::shared::prom::number::write_float;
use crate::shared::prom::{MetricType, Point, PromExemplar, Value};

/// A family's metadata: `MetricMetadata.type` and help.
pub(crate) type Metadata = BTreeMap<String, (i32, String)>;

/// Writes the series of `point` (sent in `ctx`) into `enc`.
pub(crate) fn write(
    point: &Point<'_>,
    ctx: &RequestContext,
    enc: &mut Encoder,
    deltas: &Mutex<DeltaStore>,
    now: Instant,
    metadata: Option<&mut Metadata>,
) {
    let name: &str = point.family.name;
    if let Some(m) = metadata
        && !m.contains_key(name)
    {
        let kind = match point.family.kind {
            MetricType::Counter => 1,
            MetricType::Gauge => 2,
            MetricType::Histogram => 3,
            MetricType::Summary => 5,
        };
        m.insert(name.to_owned(), (kind, point.family.help.to_owned()));
    }
    if point.stale {
        if point.delta {
            deltas.lock().forget(name, point.labels);
        }
        return samples(point, &point.value, enc, point.time_ms, true, &[]);
    }
    let exemplars: Vec<PromExemplar> = point
        .exemplars
        .iter()
        .filter_map(|e| PromExemplar::of(ctx, e))
        .collect();
    if point.delta {
        // Only delta points take the lock, for as long as one point is written.
        let mut deltas = deltas.lock();
        if let Some(total) = deltas.apply(point, now) {
            samples(point, &total.value, enc, point.time_ms, false, &exemplars);
        }
    } else {
        samples(point, &point.value, enc, point.time_ms, false, &exemplars);
    }
}

/// The samples of `value` (staleness markers when `stale`).
fn samples(
    point: &Point<'_>,
    value: &Value<'_>,
    enc: &mut Encoder,
    ts: i64,
    stale: bool,
    exemplars: &[PromExemplar],
) {
    let name: &str = point.family.name;
    let labels = point.labels;
    let v = |x: f64| if stale { STALE_NAN } else { x };
    match value {
        Value::Number(n) => {
            let ex: Vec<&PromExemplar> = if point.family.kind == MetricType::Counter {
                exemplars.iter().collect()
            } else {
                Vec::new()
            };
            enc.series(labels, &[("__name__", name)], v(*n), ts, &ex);
        }
        Value::Histogram(h) => {
            let bucket = format!("{name}_bucket");
            let mut le = String::new();
            for (i, (bound, count)) in h.cumulative().enumerate() {
                le.clear();
                write_float(&mut le, bound);
                let ex: Vec<&PromExemplar> = exemplars
                    .iter()
                    .filter(|e| h.bucket_of(e.value) == i)
                    .collect();
                let extra = [("__name__", bucket.as_str()), ("le", le.as_str())];
                enc.series(labels, &extra, v(count as f64), ts, &ex);
            }
            if let Some(sum) = h.sum {
                enc.series(
                    labels,
                    &[("__name__", &format!("{name}_sum"))],
                    v(sum),
                    ts,
                    &[],
                );
            }
            let count = format!("{name}_count");
            enc.series(labels, &[("__name__", &count)], v(h.count as f64), ts, &[]);
        }
        Value::Summary(s) => {
            let mut q = String::new();
            for vq in s.quantiles.iter() {
                q.clear();
                write_float(&mut q, vq.quantile);
                let extra = [("__name__", name), ("quantile", q.as_str())];
                enc.series(labels, &extra, v(vq.value), ts, &[]);
            }
            enc.series(
                labels,
                &[("__name__", &format!("{name}_sum"))],
                v(s.sum),
                ts,
                &[],
            );
            let count = format!("{name}_count");
            enc.series(labels, &[("__name__", &count)], v(s.count as f64), ts, &[]);
        }
    }
}
