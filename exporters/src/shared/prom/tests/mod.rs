//! Unit tests of the translation rules, one file per part, with OTLP builders shared here.

mod buckets;
mod delta;
mod labels;
mod names;
mod points;

use std::sync::Arc;

use weir_pipeline::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use weir_pipeline::otlp::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
};
use weir_pipeline::otlp::resource::v1::Resource;

use super::{Label, Point, Settings, Skipped, Translator, Value};

/// A string attribute.
pub(crate) fn kv(key: &str, value: &str) -> KeyValue {
    kv_of(key, any_value::Value::StringValue(value.into()))
}

/// An attribute of any value.
pub(crate) fn kv_of(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// A number point with `attrs`, at `time_ms`.
pub(crate) fn number(value: f64, attrs: Vec<KeyValue>, time_ms: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: 1_000_000,
        time_unix_nano: time_ms * 1_000_000,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

pub(crate) fn gauge(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} help"),
        data: Some(Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Default::default()
    }
}

pub(crate) fn sum(
    name: &str,
    unit: &str,
    monotonic: bool,
    temporality: AggregationTemporality,
    points: Vec<NumberDataPoint>,
) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} help"),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality as i32,
            is_monotonic: monotonic,
        })),
        ..Default::default()
    }
}

pub(crate) fn histogram(name: &str, unit: &str, points: Vec<HistogramDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} help"),
        data: Some(Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    }
}

/// A histogram point with `bounds`, the counts of each bucket (one more than the bounds),
/// their `sum`, at `time_ms` (0: no time).
pub(crate) fn histogram_point(
    bounds: Vec<f64>,
    counts: Vec<u64>,
    sum: f64,
    time_ms: u64,
) -> HistogramDataPoint {
    HistogramDataPoint {
        explicit_bounds: bounds,
        count: counts.iter().sum(),
        bucket_counts: counts,
        sum: Some(sum),
        time_unix_nano: time_ms * 1_000_000,
        ..Default::default()
    }
}

/// A counter: a monotonic sum without unit.
pub(crate) fn counter(
    name: &str,
    temporality: AggregationTemporality,
    points: Vec<NumberDataPoint>,
) -> Metric {
    sum(name, "", true, temporality, points)
}

/// `metric` alone, in one resource without attributes.
pub(crate) fn only(metric: Metric) -> Vec<ResourceMetrics> {
    vec![resource(vec![], vec![metric])]
}

/// A number point of a delta over the `span_ms` before `end_ms`.
pub(crate) fn delta_point(value: f64, end_ms: u64, span_ms: u64) -> NumberDataPoint {
    NumberDataPoint {
        start_time_unix_nano: (end_ms - span_ms) * 1_000_000,
        ..number(value, vec![], end_ms)
    }
}

/// One resource with `attrs`, one scope `scope`/`1.0`, and `metrics`.
pub(crate) fn resource(attrs: Vec<KeyValue>, metrics: Vec<Metric>) -> ResourceMetrics {
    ResourceMetrics {
        resource: Some(Resource {
            attributes: attrs,
            ..Default::default()
        }),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: "scope".into(),
                version: "1.0".into(),
                ..Default::default()
            }),
            metrics,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A translated point, owned, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    pub name: String,
    pub kind: super::MetricType,
    pub labels: Vec<(String, String)>,
    pub value: Value<'static>,
    pub time_ms: i64,
    pub delta: bool,
    pub stale: bool,
}

impl Seen {
    fn of(p: &Point<'_>) -> Self {
        Self {
            name: p.family.name.to_string(),
            kind: p.family.kind,
            labels: p
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.clone()))
                .collect(),
            value: p.value.clone().into_owned(),
            time_ms: p.time_ms,
            delta: p.delta,
            stale: p.stale,
        }
    }

    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn number(&self) -> f64 {
        match self.value {
            Value::Number(n) => n,
            ref other => panic!("not a number: {other:?}"),
        }
    }
}

/// Every point of `resources` translated with `settings` for tenant `t1`.
pub(crate) fn translate(settings: Settings, resources: &[ResourceMetrics]) -> (Vec<Seen>, Skipped) {
    let translator = Translator::new(settings);
    let mut seen = Vec::new();
    let mut skipped = Skipped::default();
    translator.translate("t1", resources, 42, &mut skipped, &mut |p: &Point<'_>| {
        seen.push(Seen::of(p))
    });
    (seen, skipped)
}

/// Labels from pairs, for comparisons.
pub(crate) fn pairs(labels: &[Label]) -> Vec<(&str, &str)> {
    labels
        .iter()
        .map(|l| (&*l.name, l.value.as_str()))
        .collect()
}

/// A label with a shared name.
pub(crate) fn label(name: &str, value: &str) -> Label {
    Label::new(Arc::<str>::from(name), value)
}
