//! Metrics: data-point attributes are dropped (or hashed), points re-aggregated or counted.

use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric::Data, number_data_point,
};
use weir_pipeline::otlp::resource::v1::Resource;

use super::*;

fn number(attrs: Vec<KeyValue>, v: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        value: Some(number_data_point::Value::AsInt(v)),
        ..Default::default()
    }
}

fn batch(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> Batch {
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

fn metrics_of(b: &Batch) -> &[Metric] {
    match &b.signal {
        Signal::Metrics(rm) => &rm[0].scope_metrics[0].metrics,
        other => panic!("not metrics: {other:?}"),
    }
}

fn sum_metric(points: Vec<NumberDataPoint>) -> Metric {
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
fn colliding_gauges_are_dropped_and_reported_as_rejected() {
    let (p, m) = build("{}");
    let gauge = Metric {
        name: "queue.depth".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![
                number(vec![kv("queue", s("a"))], 1),
                number(vec![kv("queue", s("b"))], 2),
            ],
        })),
        ..Default::default()
    };
    let mut b = batch(vec![], vec![gauge]);
    let Outcome::Pass { rejected, message } = p.process(&mut b) else {
        panic!("pass expected")
    };
    assert_eq!(rejected, 1);
    let message = message.expect("message");
    assert!(message.contains("1 data points dropped"), "{message}");
    let Some(Data::Gauge(g)) = &metrics_of(&b)[0].data else {
        panic!("gauge expected")
    };
    assert_eq!(g.data_points.len(), 1);
    assert!(g.data_points[0].attributes.is_empty());
    assert_eq!(counted(&m, "series_dropped"), 1);
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

#[test]
fn sums_with_different_times_are_not_merged() {
    let (p, _) = build("{}");
    let mut late = number(vec![kv("user.id", s("u2"))], 4);
    late.time_unix_nano = 3;
    let mut b = batch(
        vec![],
        vec![sum_metric(vec![
            number(vec![kv("user.id", s("u1"))], 3),
            late,
        ])],
    );
    let Outcome::Pass { rejected, .. } = p.process(&mut b) else {
        panic!("pass expected")
    };
    assert_eq!(rejected, 1);
}
