//! Whole batches translated: names, labels, target_info, values, skips.

use std::collections::BTreeMap;

use weir_pipeline::otlp::metrics::v1::{AggregationTemporality, HistogramDataPoint, Metric};

use super::{gauge, histogram, histogram_point, kv, number, resource, sum, translate};
use crate::shared::prom::{MetricType, ResourceToTelemetry, Settings, Value};

fn service() -> Vec<weir_pipeline::otlp::common::v1::KeyValue> {
    vec![
        kv("service.name", "api"),
        kv("service.namespace", "shop"),
        kv("service.instance.id", "pod-1"),
        kv("host.name", "node-7"),
    ]
}

fn requests() -> Metric {
    sum(
        "http.requests",
        "{request}",
        true,
        AggregationTemporality::Cumulative,
        vec![number(
            3.0,
            vec![kv("status", "500"), kv("http.route", "/cart")],
            1000,
        )],
    )
}

fn tenant_settings() -> Settings {
    Settings {
        tenant_label: "tenant".into(),
        ..Settings::default()
    }
}

#[test]
fn a_counter_gets_its_prometheus_name_and_labels() {
    let (seen, skipped) = translate(tenant_settings(), &[resource(service(), vec![requests()])]);
    assert_eq!(skipped.total(), 0);
    let p = &seen[0];
    assert_eq!(
        (p.name.as_str(), p.kind),
        ("http_requests_total", MetricType::Counter)
    );
    assert_eq!(
        p.labels,
        [
            ("http_route", "/cart"),
            ("instance", "pod-1"),
            ("job", "shop/api"),
            ("otel_scope_name", "scope"),
            ("otel_scope_version", "1.0"),
            ("status", "500"),
            ("tenant", "t1"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(
        (p.number(), p.time_ms, p.delta, p.stale),
        (3.0, 1000, false, false)
    );
}

#[test]
fn target_info_carries_the_other_resource_attributes() {
    let (seen, _) = translate(tenant_settings(), &[resource(service(), vec![requests()])]);
    let info = seen
        .iter()
        .find(|p| p.name == "target_info")
        .expect("target_info");
    assert_eq!(info.kind, MetricType::Gauge);
    assert_eq!(info.number(), 1.0);
    assert_eq!(info.time_ms, 1000, "the resource's latest point");
    assert_eq!(info.label("host_name"), Some("node-7"));
    assert_eq!(info.label("job"), Some("shop/api"));
    assert_eq!(info.label("instance"), Some("pod-1"));
    assert_eq!(info.label("tenant"), Some("t1"));
    assert_eq!(info.label("service_name"), None);
    assert_eq!(info.label("otel_scope_name"), None);

    // Only service attributes: job and instance say it all, no target_info.
    let only = vec![kv("service.name", "api")];
    let (seen, _) = translate(Settings::default(), &[resource(only, vec![requests()])]);
    assert!(seen.iter().all(|p| p.name != "target_info"));
    let off = Settings {
        target_info: false,
        ..Settings::default()
    };
    let (seen, _) = translate(off, &[resource(service(), vec![requests()])]);
    assert!(seen.iter().all(|p| p.name != "target_info"));
}

#[test]
fn job_without_namespace_and_no_instance() {
    let attrs = vec![kv("service.name", "api")];
    let (seen, _) = translate(Settings::default(), &[resource(attrs, vec![requests()])]);
    assert_eq!(seen[0].label("job"), Some("api"));
    assert_eq!(seen[0].label("instance"), None);
    assert_eq!(
        seen[0].label("tenant"),
        None,
        "no tenant label unless configured"
    );
}

#[test]
fn resource_to_telemetry_copies_resource_attributes() {
    let settings = Settings {
        resource_to_telemetry: ResourceToTelemetry {
            enabled: true,
            exclude_service_attributes: false,
        },
        ..Settings::default()
    };
    let (seen, _) = translate(settings.clone(), &[resource(service(), vec![requests()])]);
    assert_eq!(seen[0].label("host_name"), Some("node-7"));
    assert_eq!(seen[0].label("service_name"), Some("api"));
    let excluding = Settings {
        resource_to_telemetry: ResourceToTelemetry {
            enabled: true,
            exclude_service_attributes: true,
        },
        ..settings
    };
    let (seen, _) = translate(excluding, &[resource(service(), vec![requests()])]);
    assert_eq!(seen[0].label("host_name"), Some("node-7"));
    assert_eq!(seen[0].label("service_name"), None);
}

#[test]
fn scope_labels_can_be_left_out_and_extra_labels_are_defaults() {
    let settings = Settings {
        scope_labels: false,
        extra_labels: BTreeMap::from([
            ("cluster".to_owned(), "eu1".to_owned()),
            ("status".to_owned(), "overridden".to_owned()),
            ("weird key".to_owned(), "v".to_owned()),
        ]),
        ..Settings::default()
    };
    let (seen, _) = translate(settings, &[resource(service(), vec![requests()])]);
    assert_eq!(seen[0].label("otel_scope_name"), None);
    assert_eq!(seen[0].label("cluster"), Some("eu1"));
    assert_eq!(
        seen[0].label("status"),
        Some("500"),
        "the point's attribute wins"
    );
    assert_eq!(seen[0].label("weird_key"), Some("v"), "sanitised");
}

#[test]
fn nan_and_infinities_pass_and_no_recorded_value_is_stale() {
    let mut stale = number(0.0, vec![kv("k", "gone")], 3000);
    stale.flags = 1;
    stale.value = None;
    let g = gauge(
        "cpu.utilization",
        "1",
        vec![
            number(f64::NAN, vec![kv("k", "nan")], 1000),
            number(f64::INFINITY, vec![kv("k", "inf")], 1000),
            number(f64::NEG_INFINITY, vec![kv("k", "-inf")], 1000),
            stale,
        ],
    );
    let (seen, skipped) = translate(Settings::default(), &[resource(vec![], vec![g])]);
    assert_eq!(skipped.total(), 0);
    assert!(seen.iter().all(|p| p.name == "cpu_utilization_ratio"));
    assert!(seen[0].number().is_nan() && !seen[0].stale);
    assert_eq!(seen[1].number(), f64::INFINITY);
    assert_eq!(seen[2].number(), f64::NEG_INFINITY);
    assert!(seen[3].stale && seen[3].number().is_nan());
}

#[test]
fn deltas_are_marked_and_unusable_points_are_skipped_and_counted() {
    let pts = || {
        vec![
            number(1.0, vec![], 1000),
            number(2.0, vec![kv("a", "b")], 1000),
        ]
    };
    let metrics = vec![
        sum("c", "", true, AggregationTemporality::Delta, pts()),
        sum("updown", "", false, AggregationTemporality::Delta, pts()),
        sum(
            "nowhen",
            "",
            true,
            AggregationTemporality::Unspecified,
            pts(),
        ),
        gauge("...", "", pts()),
        gauge(
            "novalue",
            "",
            vec![weir_pipeline::otlp::metrics::v1::NumberDataPoint::default()],
        ),
    ];
    let (seen, skipped) = translate(Settings::default(), &[resource(vec![], metrics)]);
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|p| p.name == "c_total" && p.delta));
    assert_eq!(skipped.delta_non_monotonic, 2);
    assert_eq!(skipped.unspecified_temporality, 2);
    assert_eq!(skipped.invalid_name, 2);
    assert_eq!(skipped.no_value, 1);
    assert_eq!(skipped.example.as_deref(), Some("updown"));
}

#[test]
fn histograms_keep_their_buckets_and_missing_times_use_now() {
    let dp = histogram_point(vec![0.1, 1.0], vec![1, 2, 3], 4.5, 0);
    let (seen, _) = translate(
        Settings::default(),
        &[resource(
            vec![],
            vec![histogram("http.server.duration", "s", vec![dp])],
        )],
    );
    assert_eq!(seen[0].name, "http_server_duration_seconds");
    assert_eq!(seen[0].time_ms, 42, "the translator's now");
    let Value::Histogram(h) = &seen[0].value else {
        panic!("histogram")
    };
    let cum: Vec<(f64, u64)> = h.cumulative().collect();
    assert_eq!(cum, [(0.1, 1), (1.0, 3), (f64::INFINITY, 6)]);
}

#[test]
fn attributes_named_like_sample_labels_are_dropped() {
    let attrs = || {
        vec![
            kv("le", "x"),
            kv("quantile", "q"),
            kv("__name__", "n"),
            kv("k", "v"),
        ]
    };
    let dp = HistogramDataPoint {
        attributes: attrs(),
        count: 1,
        ..Default::default()
    };
    let metrics = vec![
        histogram("h", "", vec![dp]),
        gauge("g", "", vec![number(1.0, attrs(), 1)]),
    ];
    let settings = Settings {
        scope_labels: false,
        ..Settings::default()
    };
    let (seen, _) = translate(settings, &[resource(vec![], metrics)]);
    let names = |i: usize| {
        seen[i]
            .labels
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(0),
        ["k", "quantile"],
        "a histogram keeps quantile, not le"
    );
    assert_eq!(names(1), ["k", "le", "quantile"], "a gauge keeps both");
}
