//! Metrics whose name, description or unit redaction changed: when such a metric now has the
//! name of another metric of its scope, the two would be one metric to every backend (one
//! Prometheus family, one series per label set), so they are made one here, as data points
//! are (`metrics.rs`):
//!
//! - of the same type, temporality, monotonicity and unit, the changed metric's points join
//!   the other's and points of one series are merged by the data-point rules (counted as
//!   `series_merged`; summaries that collide are dropped, counted as `series_dropped`);
//! - otherwise the changed metric is dropped with all its points, counted as `series_dropped`
//!   and reported as rejected data points, never silently lost.
//!
//! The metric kept is the first of the name (its description wins). Two metrics that had one
//! name before redaction are left as they came. Nothing here fails.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use weir_pipeline::otlp::metrics::v1::{Metric, metric::Data};

use super::Redaction;
use super::metrics::{Kind, dedupe};
use super::run::Run;
use super::summary::Reason;

impl Redaction {
    /// Folds each metric of `metrics` marked in `renamed` into an earlier one of its name.
    pub(super) fn fold_renamed(&self, metrics: &mut Vec<Metric>, renamed: &[bool], run: &mut Run) {
        let mut first: HashMap<String, usize, RandomState> = HashMap::default();
        let mut out: Vec<(Metric, bool)> = Vec::with_capacity(metrics.len());
        for (m, changed) in metrics.drain(..).zip(renamed.iter().copied()) {
            let Some(&i) = first.get(&m.name) else {
                first.insert(m.name.clone(), out.len());
                out.push((m, changed));
                continue;
            };
            let (kept, kept_changed) = &mut out[i];
            if !changed && !*kept_changed {
                out.push((m, changed));
                continue;
            }
            let (merged, dropped) = absorb(kept, m);
            run.cx.tally.add(Reason::SeriesMerged, merged);
            run.drop_points(dropped);
        }
        metrics.extend(out.into_iter().map(|(m, _)| m));
    }
}

/// Moves `other`'s points into `kept` when the two are the same kind of metric, merging points
/// of one series; returns (points merged, points dropped). `other` is gone either way.
fn absorb(kept: &mut Metric, other: Metric) -> (u64, u64) {
    let count = points_of(&other);
    if kept.unit != other.unit {
        return (0, count);
    }
    let moved = match (&mut kept.data, other.data) {
        (Some(Data::Gauge(a)), Some(Data::Gauge(b))) => {
            a.data_points.extend(b.data_points);
            Some(dedupe(&mut a.data_points, Kind::Gauge))
        }
        (Some(Data::Sum(a)), Some(Data::Sum(b)))
            if a.aggregation_temporality == b.aggregation_temporality
                && a.is_monotonic == b.is_monotonic =>
        {
            a.data_points.extend(b.data_points);
            Some(dedupe(
                &mut a.data_points,
                Kind::of(a.aggregation_temporality),
            ))
        }
        (Some(Data::Histogram(a)), Some(Data::Histogram(b)))
            if a.aggregation_temporality == b.aggregation_temporality =>
        {
            a.data_points.extend(b.data_points);
            Some(dedupe(
                &mut a.data_points,
                Kind::of(a.aggregation_temporality),
            ))
        }
        (Some(Data::ExponentialHistogram(a)), Some(Data::ExponentialHistogram(b)))
            if a.aggregation_temporality == b.aggregation_temporality =>
        {
            a.data_points.extend(b.data_points);
            Some(dedupe(
                &mut a.data_points,
                Kind::of(a.aggregation_temporality),
            ))
        }
        (Some(Data::Summary(a)), Some(Data::Summary(b))) => {
            a.data_points.extend(b.data_points);
            Some(dedupe(&mut a.data_points, Kind::Summary))
        }
        (None, None) => Some((0, 0)),
        _ => None,
    };
    moved.unwrap_or((0, count))
}

/// The data points of `m`.
fn points_of(m: &Metric) -> u64 {
    let n = match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    };
    n as u64
}
