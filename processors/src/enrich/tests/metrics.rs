//! Metrics: the request id never reaches a data point or a metric resource (a series per
//! request), only exemplars; checked for every metric type by a property test.

use proptest::prelude::*;
use weir_pipeline::correlation;
use weir_pipeline::otlp::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    exemplar, metric::Data,
};

use super::super::config::Level;
use super::*;
use weir_pipeline::otlp::metrics::v1::Exemplar;

fn attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    let key = prop::sample::select(vec!["request.id", "weir.request.id", "http.route", "le"]);
    prop::collection::vec((key, "[a-z0-9-]{0,6}"), 0..4)
        .prop_map(|v| v.into_iter().map(|(k, s)| kv(k, &s)).collect())
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    let one = attrs().prop_map(|a| Exemplar {
        filtered_attributes: a,
        trace_id: vec![7; 16],
        span_id: vec![8; 8],
        value: Some(exemplar::Value::AsDouble(1.0)),
        ..Default::default()
    });
    prop::collection::vec(one, 0..3)
}

fn data() -> impl Strategy<Value = Data> {
    let points = || {
        prop::collection::vec(
            (attrs(), exemplars()).prop_map(|(attributes, exemplars)| NumberDataPoint {
                attributes,
                exemplars,
                ..Default::default()
            }),
            0..4,
        )
    };
    let hist = prop::collection::vec(
        (attrs(), exemplars()).prop_map(|(attributes, exemplars)| HistogramDataPoint {
            attributes,
            exemplars,
            ..Default::default()
        }),
        0..3,
    );
    let exp = prop::collection::vec(
        (attrs(), exemplars()).prop_map(|(attributes, exemplars)| ExponentialHistogramDataPoint {
            attributes,
            exemplars,
            ..Default::default()
        }),
        0..3,
    );
    let summary = prop::collection::vec(
        attrs().prop_map(|attributes| SummaryDataPoint {
            attributes,
            ..Default::default()
        }),
        0..3,
    );
    prop_oneof![
        points().prop_map(|data_points| Data::Gauge(Gauge { data_points })),
        points().prop_map(|data_points| Data::Sum(Sum {
            data_points,
            ..Default::default()
        })),
        hist.prop_map(|data_points| Data::Histogram(Histogram {
            data_points,
            ..Default::default()
        })),
        exp.prop_map(
            |data_points| Data::ExponentialHistogram(ExponentialHistogram {
                data_points,
                ..Default::default()
            })
        ),
        summary.prop_map(|data_points| Data::Summary(Summary { data_points })),
    ]
}

fn metrics_signal() -> impl Strategy<Value = Vec<ResourceMetrics>> {
    let metric = data().prop_map(|d| Metric {
        name: "m".into(),
        data: Some(d),
        ..Default::default()
    });
    let rm =
        (attrs(), prop::collection::vec(metric, 0..4)).prop_map(|(res, metrics)| ResourceMetrics {
            resource: resource(res),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        });
    prop::collection::vec(rm, 1..3)
}

/// Every data point's attributes, and every exemplar's, in order.
fn point_and_exemplar_attrs(all: &[ResourceMetrics]) -> (Vec<Vec<KeyValue>>, Vec<&Exemplar>) {
    let mut points = Vec::new();
    let mut exemplars = Vec::new();
    for m in all
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        match &m.data {
            Some(Data::Gauge(Gauge { data_points })) | Some(Data::Sum(Sum { data_points, .. })) => {
                for p in data_points {
                    points.push(p.attributes.clone());
                    exemplars.extend(&p.exemplars);
                }
            }
            Some(Data::Histogram(h)) => {
                for p in &h.data_points {
                    points.push(p.attributes.clone());
                    exemplars.extend(&p.exemplars);
                }
            }
            Some(Data::ExponentialHistogram(h)) => {
                for p in &h.data_points {
                    points.push(p.attributes.clone());
                    exemplars.extend(&p.exemplars);
                }
            }
            Some(Data::Summary(s)) => {
                points.extend(s.data_points.iter().map(|p| p.attributes.clone()))
            }
            None => {}
        }
    }
    (points, exemplars)
}

proptest! {
    #[test]
    fn no_request_id_is_ever_added_to_a_data_point_or_metric_resource(
        signal in metrics_signal(),
        resource_level in any::<bool>(),
        on_exemplars in any::<bool>(),
    ) {
        let mut cfg = EnrichConfig::default();
        cfg.request_id.level = if resource_level { Level::Resource } else { Level::Record };
        cfg.request_id.exemplars = on_exemplars;
        let (e, _) = enrich(&cfg);
        let mut batch = Batch::new(ctx(Some("req-m")), Signal::Metrics(signal.clone()));
        run(&e, &mut batch);
        let Signal::Metrics(after) = batch.signal() else { unreachable!() };

        let (points_before, exemplars_before) = point_and_exemplar_attrs(&signal);
        let (points_after, exemplars_after) = point_and_exemplar_attrs(after);
        prop_assert_eq!(points_after, points_before, "data point attributes untouched");
        for (b, a) in signal.iter().zip(after) {
            prop_assert_eq!(&a.resource, &b.resource, "metric resources untouched");
        }
        prop_assert_eq!(exemplars_after.len(), exemplars_before.len());
        for (b, a) in exemplars_before.iter().zip(&exemplars_after) {
            if on_exemplars {
                // The application's (first non-empty `request.id`) wins, else weir's.
                let app = b
                    .filtered_attributes
                    .iter()
                    .filter(|kv| kv.key == "request.id")
                    .flat_map(|kv| values(std::slice::from_ref(kv), "request.id"))
                    .find(|v| !v.is_empty());
                prop_assert_eq!(
                    correlation::of_exemplar_in(&batch.ctx, a).request_id,
                    Some(app.unwrap_or("req-m"))
                );
                let ours = a.filtered_attributes.iter().any(|kv| {
                    correlation::REQUEST_ID_KEYS.contains(&kv.key.as_str())
                        && values(std::slice::from_ref(kv), &kv.key) == ["req-m"]
                });
                prop_assert!(ours, "{:?}", a.filtered_attributes);
            } else {
                prop_assert_eq!(a, b);
            }
        }
    }
}

#[test]
fn an_exemplar_carries_the_request_id_and_its_point_does_not() {
    let (e, _) = enrich(&EnrichConfig::default());
    let point = NumberDataPoint {
        attributes: vec![kv("http.route", "/a")],
        exemplars: vec![Exemplar {
            filtered_attributes: vec![kv("user.tier", "gold")],
            trace_id: vec![7; 16],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut batch = Batch::new(
        ctx(Some("req-ex")),
        Signal::Metrics(vec![ResourceMetrics {
            resource: resource(vec![kv("service.name", "svc")]),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    data: Some(Data::Sum(Sum {
                        data_points: vec![point],
                        ..Default::default()
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }]),
    );
    run(&e, &mut batch);
    let Signal::Metrics(rm) = batch.signal() else {
        unreachable!()
    };
    let Some(Data::Sum(sum)) = &rm[0].scope_metrics[0].metrics[0].data else {
        unreachable!()
    };
    let p = &sum.data_points[0];
    assert_eq!(p.attributes, vec![kv("http.route", "/a")]);
    assert_eq!(
        p.exemplars[0].filtered_attributes,
        vec![kv("user.tier", "gold"), kv("request.id", "req-ex")]
    );
    assert_eq!(
        rm[0].resource.as_ref().map(|r| r.attributes.len()),
        Some(1),
        "resource untouched"
    );
}
