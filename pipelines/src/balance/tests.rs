//! Routing by key: every record of one key lands in one part, whatever else shares its batch;
//! parts keep their resource and scope; a batch that does not split is not copied.

use std::collections::{BTreeMap, BTreeSet};

use super::key::{KeyName, RoutingKey};
use super::ring::Ring;
use super::split::{Routed, route};
use crate::otlp::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data,
};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use crate::test_util::kv as attr;
use crate::{Batch, RequestContext, Signal};

fn trace_id(t: u64) -> Vec<u8> {
    let mut id = vec![0x11; 8];
    id.extend_from_slice(&t.to_be_bytes());
    id
}

/// Spans of `traces` traces, interleaved, under `services` resources: span `i` of service `s`
/// belongs to trace `(i + s) % traces`.
fn spans(services: usize, per_service: usize, traces: u64) -> Batch {
    let rs = (0..services)
        .map(|s| ResourceSpans {
            resource: Some(Resource {
                attributes: vec![attr("service.name", &format!("svc{s}"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: (0..per_service)
                    .map(|i| Span {
                        trace_id: trace_id((i + s) as u64 % traces),
                        name: format!("svc{s}/{i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    Batch::new(RequestContext::for_tests(), Signal::Traces(rs))
}

fn routed(batch: &Batch, key: &RoutingKey, ring: &Ring) -> Routed {
    route(batch, key, &mut |h| {
        ring.pick(h, |_| true).expect("an endpoint")
    })
}

/// `(trace id, service, span name)` of every span of `signal`.
fn span_facts(signal: &Signal) -> Vec<(Vec<u8>, String, String)> {
    let Signal::Traces(rs) = signal else {
        panic!("not traces")
    };
    let mut out = Vec::new();
    for r in rs {
        let svc = r
            .resource
            .as_ref()
            .map(|r| format!("{:?}", r.attributes[0].value))
            .unwrap_or_default();
        for s in &r.scope_spans {
            for x in &s.spans {
                out.push((x.trace_id.clone(), svc.clone(), x.name.clone()));
            }
        }
    }
    out
}

#[test]
fn every_span_of_a_trace_goes_to_one_endpoint_and_none_is_lost() {
    let ring = Ring::new(["a:4317", "b:4317", "c:4317"]);
    let batch = spans(4, 50, 30);
    let Routed::Split(parts) = routed(&batch, &RoutingKey::TraceId, &ring) else {
        panic!("30 traces over 3 endpoints must split")
    };
    assert!(parts.len() > 1);
    let mut owner: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    let mut all = Vec::new();
    for (endpoint, signal) in &parts {
        for (trace, svc, name) in span_facts(signal) {
            let first = *owner.entry(trace.clone()).or_insert(*endpoint);
            assert_eq!(first, *endpoint, "trace {trace:?} split over endpoints");
            // The span kept its own resource.
            assert!(
                svc.contains(name.split('/').next().expect("svc")),
                "{svc} vs {name}"
            );
            all.push(name);
        }
    }
    let mut expected: Vec<String> = span_facts(batch.signal())
        .into_iter()
        .map(|f| f.2)
        .collect();
    all.sort();
    expected.sort();
    assert_eq!(all, expected, "every span in exactly one part");
    assert_eq!(owner.len(), 30);
}

#[test]
fn a_trace_goes_to_the_same_endpoint_alone_or_with_others() {
    let ring = Ring::new(["a:4317", "b:4317", "c:4317", "d:4317"]);
    let mixed = spans(3, 40, 17);
    let Routed::Split(parts) = routed(&mixed, &RoutingKey::TraceId, &ring) else {
        panic!("must split")
    };
    for (endpoint, signal) in parts {
        for (trace, _, _) in span_facts(&signal) {
            let alone = Batch::new(
                RequestContext::for_tests(),
                Signal::Traces(vec![ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: vec![Span {
                            trace_id: trace.clone(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                }]),
            );
            match routed(&alone, &RoutingKey::TraceId, &ring) {
                Routed::One(e) => assert_eq!(e, endpoint),
                Routed::Split(_) => panic!("one span cannot split"),
            }
        }
    }
}

#[test]
fn by_service_a_resource_stays_whole() {
    let ring = Ring::new(["a:4317", "b:4317"]);
    let batch = spans(12, 5, 50);
    let services: BTreeSet<String> = match routed(&batch, &RoutingKey::Service, &ring) {
        Routed::One(_) => panic!("12 services over 2 endpoints should split"),
        Routed::Split(parts) => {
            let mut seen = BTreeSet::new();
            for (_, signal) in parts {
                let Signal::Traces(rs) = signal else { panic!() };
                for r in rs {
                    let svc = format!("{:?}", r.resource.expect("resource").attributes[0].value);
                    assert!(seen.insert(svc.clone()), "service {svc} in two parts");
                    assert_eq!(r.scope_spans[0].spans.len(), 5, "resource {svc} split");
                }
            }
            seen
        }
    };
    assert_eq!(services.len(), 12);
}

#[test]
fn by_tenant_the_batch_goes_whole() {
    let ring = Ring::new(["a:4317", "b:4317", "c:4317"]);
    let batch = spans(5, 20, 20);
    assert!(matches!(
        routed(&batch, &RoutingKey::Tenant, &ring),
        Routed::One(_)
    ));
    let expected = ring.pick(
        {
            let mut h = super::ring::StableHasher::default();
            h.field(b"default");
            h.finish()
        },
        |_| true,
    );
    let Routed::One(e) = routed(&batch, &RoutingKey::Tenant, &ring) else {
        panic!()
    };
    assert_eq!(Some(e), expected);
}

fn gauge(points: &[(&str, f64)]) -> Batch {
    let data_points = points
        .iter()
        .map(|(host, v)| NumberDataPoint {
            attributes: vec![attr("host", host)],
            value: Some(crate::otlp::metrics::v1::number_data_point::Value::AsDouble(*v)),
            ..Default::default()
        })
        .collect();
    Batch::new(
        RequestContext::for_tests(),
        Signal::Metrics(vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![attr("service.name", "api")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "load".into(),
                    unit: "1".into(),
                    data: Some(Data::Gauge(Gauge { data_points })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }]),
    )
}

#[test]
fn by_stream_a_metric_splits_by_point_and_a_stream_stays_together() {
    let ring = Ring::new(["a:4317", "b:4317", "c:4317"]);
    let hosts: Vec<String> = (0..30).map(|i| format!("h{i}")).collect();
    let points: Vec<(&str, f64)> = hosts
        .iter()
        .flat_map(|h| [(h.as_str(), 1.0), (h.as_str(), 2.0)])
        .collect();
    let batch = gauge(&points);
    let Routed::Split(parts) = routed(&batch, &RoutingKey::StreamId, &ring) else {
        panic!("30 streams over 3 endpoints must split")
    };
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for (e, signal) in &parts {
        let Signal::Metrics(rm) = signal else {
            panic!()
        };
        let m = &rm[0].scope_metrics[0].metrics[0];
        assert_eq!((m.name.as_str(), m.unit.as_str()), ("load", "1"));
        let Some(Data::Gauge(g)) = &m.data else {
            panic!("gauge kept")
        };
        for p in &g.data_points {
            let host = format!("{:?}", p.attributes[0].value);
            assert_eq!(*owner.entry(host).or_insert(*e), *e, "a stream split");
            total += 1;
        }
    }
    assert_eq!(total, 60);
    // By metric name, the same metric does not split.
    assert!(matches!(
        routed(&batch, &RoutingKey::Metric, &ring),
        Routed::One(_)
    ));
}

#[test]
fn by_attributes_records_group_by_the_named_values() {
    let ring = Ring::new(["a:4317", "b:4317"]);
    let mut batch = spans(1, 40, 40);
    if let Signal::Traces(rs) = batch.signal_mut() {
        for (i, s) in rs[0].scope_spans[0].spans.iter_mut().enumerate() {
            s.attributes.push(attr("customer", &format!("c{}", i % 8)));
        }
    }
    let key = RoutingKey::new(KeyName::Attributes, &["customer".into()]);
    let Routed::Split(parts) = routed(&batch, &key, &ring) else {
        panic!("8 customers over 2")
    };
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for (e, signal) in &parts {
        let Signal::Traces(rs) = signal else { panic!() };
        for s in &rs[0].scope_spans[0].spans {
            let c = format!("{:?}", s.attributes[0].value);
            assert_eq!(*owner.entry(c).or_insert(*e), *e);
        }
    }
    assert_eq!(owner.len(), 8);
    assert!(
        "traceid".parse::<KeyName>().is_err(),
        "names are case-sensitive, as the Collector's"
    );
}
