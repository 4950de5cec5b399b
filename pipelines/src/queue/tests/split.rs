//! `split::split` as properties over random nested traces, logs and metrics: every part holds at
//! most `max` records (data points for metrics), and the parts, flattened in order, hold exactly
//! the original's records, each under its own resource and scope, with each data point still in
//! a metric of the same name, unit and type.

use proptest::prelude::*;

use super::{attr, ctx, record_names};
use crate::otlp::common::v1::{InstrumentationScope, any_value};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, metric::Data,
};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use crate::queue::split::split;
use crate::{Batch, Signal};

/// Records per scope, scopes per resource.
type Shape = Vec<Vec<usize>>;
/// `(metric type, data points)` per metric, metrics per scope, scopes per resource.
type MetricShape = Vec<Vec<Vec<(u8, usize)>>>;

fn shape() -> impl Strategy<Value = Shape> {
    prop::collection::vec(prop::collection::vec(0..7usize, 0..4), 0..5)
}

fn metric_shape() -> impl Strategy<Value = MetricShape> {
    prop::collection::vec(
        prop::collection::vec(prop::collection::vec((0..5u8, 0..9usize), 0..4), 0..3),
        0..4,
    )
}

fn resource(i: usize) -> Option<Resource> {
    Some(Resource {
        attributes: vec![attr("res", &format!("r{i}"))],
        ..Default::default()
    })
}

fn scope(i: usize, j: usize) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: format!("s{i}.{j}"),
        ..Default::default()
    })
}

fn res_name(r: Option<&Resource>) -> String {
    let value = r
        .and_then(|r| r.attributes.first())
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref());
    match value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn scope_name(s: Option<&InstrumentationScope>) -> String {
    s.map(|s| s.name.clone()).unwrap_or_default()
}

fn build_traces(shape: &Shape) -> Batch {
    let rs = shape
        .iter()
        .enumerate()
        .map(|(i, scopes)| ResourceSpans {
            resource: resource(i),
            schema_url: format!("schema-r{i}"),
            scope_spans: scopes
                .iter()
                .enumerate()
                .map(|(j, &n)| ScopeSpans {
                    scope: scope(i, j),
                    schema_url: format!("schema-s{i}.{j}"),
                    spans: (0..n)
                        .map(|k| Span {
                            name: format!("{i}.{j}.{k}"),
                            ..Default::default()
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Batch::new(ctx("t"), Signal::Traces(rs))
}

fn build_logs(shape: &Shape) -> Batch {
    let rl = shape
        .iter()
        .enumerate()
        .map(|(i, scopes)| ResourceLogs {
            resource: resource(i),
            schema_url: format!("schema-r{i}"),
            scope_logs: scopes
                .iter()
                .enumerate()
                .map(|(j, &n)| ScopeLogs {
                    scope: scope(i, j),
                    schema_url: format!("schema-s{i}.{j}"),
                    log_records: (0..n)
                        .map(|k| LogRecord {
                            body: Some(crate::otlp::common::v1::AnyValue {
                                value: Some(any_value::Value::StringValue(format!("{i}.{j}.{k}"))),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Batch::new(ctx("t"), Signal::Logs(rl))
}

/// A metric of type `kind` whose points carry the ids `ids` in `time_unix_nano`.
fn metric(name: String, kind: u8, ids: std::ops::Range<u64>) -> Metric {
    let number = |t| NumberDataPoint {
        time_unix_nano: t,
        ..Default::default()
    };
    let cumulative = AggregationTemporality::Cumulative as i32;
    let delta = AggregationTemporality::Delta as i32;
    let data = match kind {
        0 => Data::Gauge(Gauge {
            data_points: ids.map(number).collect(),
        }),
        1 => Data::Sum(Sum {
            data_points: ids.map(number).collect(),
            aggregation_temporality: cumulative,
            is_monotonic: true,
        }),
        2 => Data::Histogram(Histogram {
            data_points: ids
                .map(|t| HistogramDataPoint {
                    time_unix_nano: t,
                    ..Default::default()
                })
                .collect(),
            aggregation_temporality: delta,
        }),
        3 => Data::ExponentialHistogram(ExponentialHistogram {
            data_points: ids
                .map(|t| ExponentialHistogramDataPoint {
                    time_unix_nano: t,
                    ..Default::default()
                })
                .collect(),
            aggregation_temporality: cumulative,
        }),
        _ => Data::Summary(Summary {
            data_points: ids
                .map(|t| SummaryDataPoint {
                    time_unix_nano: t,
                    ..Default::default()
                })
                .collect(),
        }),
    };
    Metric {
        unit: format!("unit-{name}"),
        description: format!("about {name}"),
        name,
        data: Some(data),
        ..Default::default()
    }
}

fn build_metrics(shape: &MetricShape) -> Batch {
    let mut next_id = 0u64;
    let rm = shape
        .iter()
        .enumerate()
        .map(|(i, scopes)| ResourceMetrics {
            resource: resource(i),
            schema_url: format!("schema-r{i}"),
            scope_metrics: scopes
                .iter()
                .enumerate()
                .map(|(j, metrics)| ScopeMetrics {
                    scope: scope(i, j),
                    schema_url: format!("schema-s{i}.{j}"),
                    metrics: metrics
                        .iter()
                        .enumerate()
                        .map(|(k, &(kind, points))| {
                            let ids = next_id..next_id + points as u64;
                            next_id += points as u64;
                            metric(format!("m{i}.{j}.{k}"), kind, ids)
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Batch::new(ctx("t"), Signal::Metrics(rm))
}

/// `(resource, resource schema, scope, scope schema, record)` for every span or log record.
fn flat(batches: &[Batch]) -> Vec<(String, String, String, String, String)> {
    let mut out = Vec::new();
    for b in batches {
        let names = record_names(b);
        let mut names = names.into_iter();
        match b.signal() {
            Signal::Traces(rs) => {
                for r in rs {
                    for s in &r.scope_spans {
                        for _ in &s.spans {
                            out.push((
                                res_name(r.resource.as_ref()),
                                r.schema_url.clone(),
                                scope_name(s.scope.as_ref()),
                                s.schema_url.clone(),
                                names.next().unwrap_or_default(),
                            ));
                        }
                    }
                }
            }
            Signal::Logs(rl) => {
                for r in rl {
                    for s in &r.scope_logs {
                        for _ in &s.log_records {
                            out.push((
                                res_name(r.resource.as_ref()),
                                r.schema_url.clone(),
                                scope_name(s.scope.as_ref()),
                                s.schema_url.clone(),
                                names.next().unwrap_or_default(),
                            ));
                        }
                    }
                }
            }
            Signal::Metrics(_) => unreachable!("flat_metrics handles metrics"),
        }
    }
    out
}

/// The type of a metric, with its temporality and monotonicity, and its points' ids.
fn kind_and_points(m: &Metric) -> (String, Vec<u64>) {
    match &m.data {
        Some(Data::Gauge(g)) => (
            "gauge".into(),
            g.data_points.iter().map(|p| p.time_unix_nano).collect(),
        ),
        Some(Data::Sum(s)) => (
            format!("sum/{}/{}", s.aggregation_temporality, s.is_monotonic),
            s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        ),
        Some(Data::Histogram(h)) => (
            format!("histogram/{}", h.aggregation_temporality),
            h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        ),
        Some(Data::ExponentialHistogram(h)) => (
            format!("exponential/{}", h.aggregation_temporality),
            h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        ),
        Some(Data::Summary(s)) => (
            "summary".into(),
            s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        ),
        None => ("none".into(), Vec::new()),
    }
}

/// `(resource, scope, metric name, unit, description, type, point id)` for every data point.
fn flat_metrics(batches: &[Batch]) -> Vec<(String, String, String, String, String, String, u64)> {
    let mut out = Vec::new();
    for b in batches {
        let Signal::Metrics(rm) = b.signal() else {
            unreachable!("metrics only")
        };
        for r in rm {
            for s in &r.scope_metrics {
                for m in &s.metrics {
                    let (kind, points) = kind_and_points(m);
                    for p in points {
                        out.push((
                            format!("{}|{}", res_name(r.resource.as_ref()), r.schema_url),
                            format!("{}|{}", scope_name(s.scope.as_ref()), s.schema_url),
                            m.name.clone(),
                            m.unit.clone(),
                            m.description.clone(),
                            kind.clone(),
                            p,
                        ));
                    }
                }
            }
        }
    }
    out
}

fn check_sizes(original: &Batch, parts: &[Batch], max: u64) -> Result<(), TestCaseError> {
    let total: u64 = parts.iter().map(|p| p.record_count()).sum();
    prop_assert_eq!(total, original.record_count());
    for p in parts {
        prop_assert!(p.record_count() <= max, "a part has more than {}", max);
        prop_assert_eq!(&p.ctx.tenant, &original.ctx.tenant);
        prop_assert_eq!(p.kind(), original.kind());
    }
    Ok(())
}

proptest! {
    #[test]
    fn traces_split_into_bounded_parts_that_keep_every_span_in_place(
        shape in shape(),
        max in 1..20u64,
    ) {
        let original = build_traces(&shape);
        let parts = split(&original, max);
        check_sizes(&original, &parts, max)?;
        if original.record_count() > 0 {
            prop_assert!(parts.iter().all(|p| p.record_count() > 0), "an empty part");
        }
        prop_assert_eq!(flat(&parts), flat(std::slice::from_ref(&original)));
    }

    #[test]
    fn logs_split_into_bounded_parts_that_keep_every_record_in_place(
        shape in shape(),
        max in 1..20u64,
    ) {
        let original = build_logs(&shape);
        let parts = split(&original, max);
        check_sizes(&original, &parts, max)?;
        if original.record_count() > 0 {
            prop_assert!(parts.iter().all(|p| p.record_count() > 0), "an empty part");
        }
        prop_assert_eq!(flat(&parts), flat(std::slice::from_ref(&original)));
    }

    #[test]
    fn metrics_split_into_bounded_parts_that_keep_every_point_in_its_metric(
        shape in metric_shape(),
        max in 1..20u64,
    ) {
        let original = build_metrics(&shape);
        let parts = split(&original, max);
        check_sizes(&original, &parts, max)?;
        prop_assert_eq!(
            flat_metrics(&parts),
            flat_metrics(std::slice::from_ref(&original))
        );
    }
}

#[test]
fn a_limit_of_zero_is_treated_as_one() {
    let original = build_traces(&vec![vec![3]]);
    let parts = split(&original, 0);
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| p.record_count() == 1));
}

#[test]
fn a_metric_with_more_points_than_the_limit_is_cut_into_metrics_of_the_same_name() {
    let original = build_metrics(&vec![vec![vec![(1, 7)]]]);
    let parts = split(&original, 3);
    let sizes: Vec<u64> = parts.iter().map(|p| p.record_count()).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let flat = flat_metrics(&parts);
    assert!(flat.iter().all(|f| f.2 == "m0.0.0" && f.5 == "sum/2/true"));
    assert_eq!(
        flat.iter().map(|f| f.6).collect::<Vec<_>>(),
        (0..7).collect::<Vec<_>>()
    );
}
