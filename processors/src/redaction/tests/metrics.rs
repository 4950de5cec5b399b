//! Metrics: data-point attributes are dropped (or hashed); sums and gauges whose series
//! collide are merged by the rules of `metrics.rs`, summaries dropped and counted. Histograms
//! are in `merge.rs`.

use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::{
    Exemplar, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, Summary, SummaryDataPoint, metric::Data, number_data_point,
};
use weir_pipeline::otlp::resource::v1::Resource;

use super::*;
use crate::redaction::metrics::MAX_EXEMPLARS;

pub fn number(attrs: Vec<KeyValue>, v: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        value: Some(number_data_point::Value::AsInt(v)),
        ..Default::default()
    }
}

pub fn batch(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> Batch {
    Batch::new(
        RequestContext::for_tests(),
        Signal::Metrics(vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }]),
    )
}

pub fn metrics_of(b: &Batch) -> &[Metric] {
    match b.signal() {
        Signal::Metrics(rm) => &rm[0].scope_metrics[0].metrics,
        other => panic!("not metrics: {other:?}"),
    }
}

pub fn sum_metric(points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: "requests".into(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            is_monotonic: true,
            aggregation_temporality: 2,
        })),
        ..Default::default()
    }
}

#[test]
fn data_point_attributes_that_are_not_allowed_are_dropped_and_sums_merged() {
    let (p, m) = build("{}");
    let route = |r: &str| kv("http.route", s(r));
    let mut b = batch(
        vec![kv("service.name", s("svc")), kv("customer", s("acme"))],
        vec![sum_metric(vec![
            number(vec![route("/a"), kv("user.id", s("u1"))], 3),
            number(vec![route("/a"), kv("user.id", s("u2"))], 4),
            number(vec![route("/b"), kv("user.id", s("u1"))], 5),
        ])],
    );
    pass(&p, &mut b);
    let Some(Data::Sum(sum)) = &metrics_of(&b)[0].data else {
        panic!("sum expected")
    };
    assert_eq!(sum.data_points.len(), 2);
    assert_eq!(sum.data_points[0].attributes, vec![route("/a")]);
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsInt(7))
    );
    assert_eq!(sum.data_points[1].attributes, vec![route("/b")]);
    assert_eq!(
        sum.data_points[1].value,
        Some(number_data_point::Value::AsInt(5))
    );
    assert_eq!(
        get_str(resource_attrs(&b), "customer"),
        M,
        "resources are masked, not dropped"
    );
    assert_eq!(counted(&m, "dropped"), 3);
    assert_eq!(counted(&m, "series_merged"), 1);
}

#[test]
fn hashed_keys_keep_series_apart_and_masked_values_merge_histograms() {
    let yaml = "hash_function: hmac-sha256\nhash_key: 0123456789abcdef\nhashed_keys: [tenant]";
    let (p, _) = build(yaml);
    let hist = |attrs: Vec<KeyValue>, count: u64| HistogramDataPoint {
        attributes: attrs,
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        count,
        sum: Some(count as f64),
        bucket_counts: vec![count, 0],
        explicit_bounds: vec![10.0],
        min: Some(1.0),
        max: Some(count as f64),
        ..Default::default()
    };
    let metric = Metric {
        name: "latency".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![
                hist(
                    vec![kv("tenant", s("a")), kv("url.path", s("/u/a@example.com"))],
                    1,
                ),
                hist(
                    vec![kv("tenant", s("b")), kv("url.path", s("/u/a@example.com"))],
                    2,
                ),
                hist(
                    vec![kv("tenant", s("a")), kv("url.path", s("/u/b@example.com"))],
                    4,
                ),
            ],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let mut b = batch(vec![], vec![metric]);
    pass(&p, &mut b);
    let Some(Data::Histogram(h)) = &metrics_of(&b)[0].data else {
        panic!("histogram expected")
    };
    assert_eq!(
        h.data_points.len(),
        2,
        "tenant a's two paths merged, tenant b apart"
    );
    let a = &h.data_points[0];
    assert_eq!(get_str(&a.attributes, "url.path"), format!("/u/{M}"));
    assert_eq!(get_str(&a.attributes, "tenant").len(), 64);
    assert_eq!(
        (a.count, a.sum, a.bucket_counts.clone()),
        (5, Some(5.0), vec![5, 0])
    );
    assert_eq!((a.min, a.max), (Some(1.0), Some(4.0)));
    assert_eq!(h.data_points[1].count, 2);
}

/// A point of series `user` (an attribute the defaults remove) over `start..time`.
pub fn user_point(user: &str, start: u64, time: u64, v: i64) -> NumberDataPoint {
    NumberDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        ..number(vec![kv("user.id", s(user))], v)
    }
}

/// A sum with `temporality` (1 delta, 2 cumulative).
pub fn sum_of(points: Vec<NumberDataPoint>, temporality: i32) -> Metric {
    let mut m = sum_metric(points);
    if let Some(Data::Sum(sum)) = &mut m.data {
        sum.aggregation_temporality = temporality;
    }
    m
}

/// The processed sum's points as (start, time, value).
fn sum_points(b: &Batch) -> Vec<(u64, u64, Option<number_data_point::Value>)> {
    let Some(Data::Sum(sum)) = &metrics_of(b)[0].data else {
        panic!("sum expected")
    };
    sum.data_points
        .iter()
        .map(|p| (p.start_time_unix_nano, p.time_unix_nano, p.value))
        .collect()
}

fn int(v: i64) -> Option<number_data_point::Value> {
    Some(number_data_point::Value::AsInt(v))
}

#[test]
fn cumulative_sums_add_under_the_earliest_start_and_the_latest_time() {
    let (p, m) = build("{}");
    let mut b = batch(
        vec![],
        vec![sum_of(
            vec![
                user_point("u1", 20, 100, 3),
                user_point("u2", 10, 90, 4),
                user_point("u3", 30, 110, 5),
            ],
            2,
        )],
    );
    pass(&p, &mut b);
    assert_eq!(sum_points(&b), vec![(10, 110, int(12))]);
    assert_eq!(counted(&m, "series_merged"), 2, "one per point merged away");
    assert_eq!(counted(&m, "series_dropped"), 0);
}

#[test]
fn ints_and_doubles_add_as_doubles() {
    let (p, _) = build("{}");
    let mut double = user_point("u2", 1, 2, 0);
    double.value = Some(number_data_point::Value::AsDouble(0.5));
    let mut b = batch(
        vec![],
        vec![sum_of(vec![user_point("u1", 1, 2, 2), double], 2)],
    );
    pass(&p, &mut b);
    let want = Some(number_data_point::Value::AsDouble(2.5));
    assert_eq!(sum_points(&b), vec![(1, 2, want)]);
}

#[test]
fn delta_sums_of_one_window_add() {
    let (p, m) = build("{}");
    let mut b = batch(
        vec![],
        vec![sum_of(
            vec![user_point("u1", 10, 20, 3), user_point("u2", 10, 20, 4)],
            1,
        )],
    );
    pass(&p, &mut b);
    assert_eq!(sum_points(&b), vec![(10, 20, int(7))]);
    assert_eq!(counted(&m, "series_merged"), 1);
}

#[test]
fn delta_sums_that_end_together_add_under_the_earliest_start() {
    // One SDK collection: every point ends at the collection time; a new attribute set starts
    // at its first measurement.
    let (p, _) = build("{}");
    let mut b = batch(
        vec![],
        vec![sum_of(
            vec![user_point("u1", 12, 20, 3), user_point("u2", 10, 20, 4)],
            1,
        )],
    );
    pass(&p, &mut b);
    assert_eq!(sum_points(&b), vec![(10, 20, int(7))]);
}

#[test]
fn delta_sums_that_end_apart_stay_separate_points_and_none_is_dropped() {
    let (p, m) = build("{}");
    let mut b = batch(
        vec![],
        vec![sum_of(
            vec![
                user_point("u1", 10, 20, 3),
                user_point("u2", 20, 30, 4),
                user_point("u3", 10, 20, 5),
            ],
            1,
        )],
    );
    let Outcome::Pass { rejected, message } = p.process(&mut b) else {
        panic!("pass expected")
    };
    assert_eq!((rejected, message), (0, None), "nothing is rejected");
    assert_eq!(
        sum_points(&b),
        vec![(10, 20, int(8)), (20, 30, int(4))],
        "u3 joins u1's window; u2's stays apart"
    );
    assert_eq!(counted(&m, "series_merged"), 1);
    assert_eq!(counted(&m, "series_dropped"), 0);
}

#[test]
fn gauges_keep_the_newest_point_counted_as_merged() {
    let (p, m) = build("{}");
    let at = |queue: &str, time: u64, v: i64| NumberDataPoint {
        time_unix_nano: time,
        ..number(vec![kv("queue", s(queue))], v)
    };
    let gauge = Metric {
        name: "queue.depth".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![at("a", 5, 1), at("b", 9, 2), at("c", 7, 3), at("d", 9, 4)],
        })),
        ..Default::default()
    };
    let mut b = batch(vec![], vec![gauge]);
    let Outcome::Pass { rejected, .. } = p.process(&mut b) else {
        panic!("pass expected")
    };
    assert_eq!(rejected, 0);
    let Some(Data::Gauge(g)) = &metrics_of(&b)[0].data else {
        panic!("gauge expected")
    };
    assert_eq!(g.data_points.len(), 1);
    assert_eq!(
        (g.data_points[0].time_unix_nano, g.data_points[0].value),
        (9, int(2)),
        "the newest; the first of two equally new"
    );
    assert!(g.data_points[0].attributes.is_empty());
    assert_eq!(counted(&m, "series_merged"), 3);
    assert_eq!(counted(&m, "series_dropped"), 0);
}

#[test]
fn colliding_summaries_are_dropped_and_reported_as_rejected() {
    let (p, m) = build("{}");
    let point = |user: &str, count: u64| SummaryDataPoint {
        attributes: vec![kv("user.id", s(user))],
        count,
        ..Default::default()
    };
    let summary = Metric {
        name: "latency".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![point("u1", 1), point("u2", 2), point("u3", 3)],
        })),
        ..Default::default()
    };
    let mut b = batch(vec![], vec![summary]);
    let Outcome::Pass { rejected, message } = p.process(&mut b) else {
        panic!("pass expected")
    };
    assert_eq!(rejected, 2);
    let message = message.expect("message");
    assert!(message.contains("2 data points dropped"), "{message}");
    let Some(Data::Summary(s)) = &metrics_of(&b)[0].data else {
        panic!("summary expected")
    };
    assert_eq!(s.data_points.len(), 1);
    assert_eq!(s.data_points[0].count, 1, "the first is kept");
    assert_eq!(counted(&m, "series_dropped"), 2);
    assert_eq!(counted(&m, "series_merged"), 0);
}

#[test]
fn exemplars_of_merged_points_are_kept_the_newest_up_to_the_bound() {
    let (p, _) = build("{}");
    let with_exemplars = |user: &str, times: std::ops::Range<u64>| NumberDataPoint {
        exemplars: times
            .map(|t| Exemplar {
                time_unix_nano: t,
                ..Default::default()
            })
            .collect(),
        ..user_point(user, 1, 2, 1)
    };
    let few = vec![with_exemplars("u1", 0..2), with_exemplars("u2", 2..3)];
    let mut b = batch(vec![], vec![sum_of(few, 2)]);
    pass(&p, &mut b);
    let Some(Data::Sum(sum)) = &metrics_of(&b)[0].data else {
        panic!("sum expected")
    };
    let times: Vec<u64> = sum.data_points[0]
        .exemplars
        .iter()
        .map(|e| e.time_unix_nano)
        .collect();
    assert_eq!(times, vec![0, 1, 2], "both points' exemplars");

    let many = vec![with_exemplars("u1", 0..10), with_exemplars("u2", 10..20)];
    let mut b = batch(vec![], vec![sum_of(many, 2)]);
    pass(&p, &mut b);
    let Some(Data::Sum(sum)) = &metrics_of(&b)[0].data else {
        panic!("sum expected")
    };
    let mut times: Vec<u64> = sum.data_points[0]
        .exemplars
        .iter()
        .map(|e| e.time_unix_nano)
        .collect();
    times.sort_unstable();
    let newest: Vec<u64> = (20 - MAX_EXEMPLARS as u64..20).collect();
    assert_eq!(times, newest);
}

#[test]
fn a_point_with_no_recorded_value_adds_nothing() {
    let (p, _) = build("{}");
    let mut ended = user_point("u1", 5, 20, 99);
    ended.flags = 1; // no recorded value: the series ended
    let mut b = batch(
        vec![],
        vec![sum_of(vec![ended, user_point("u2", 10, 20, 4)], 2)],
    );
    pass(&p, &mut b);
    let Some(Data::Sum(sum)) = &metrics_of(&b)[0].data else {
        panic!("sum expected")
    };
    let point = &sum.data_points[0];
    assert_eq!(
        (point.value, point.flags),
        (int(4), 0),
        "the live series goes on"
    );
    assert_eq!(point.start_time_unix_nano, 5);

    let (mut a, mut c) = (user_point("u1", 1, 2, 1), user_point("u2", 1, 2, 1));
    (a.flags, c.flags) = (1, 1);
    let mut b = batch(vec![], vec![sum_of(vec![a, c], 2)]);
    pass(&p, &mut b);
    let Some(Data::Sum(sum)) = &metrics_of(&b)[0].data else {
        panic!("sum expected")
    };
    assert_eq!(sum.data_points.len(), 1);
    assert_eq!(
        sum.data_points[0].flags, 1,
        "both ended: so did the merged series"
    );
}
