use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span, span};

use super::*;
use crate::loadgen::args::SignalArg;
use crate::loadgen::generate::{self, Request, Shape};
use crate::loadgen::secrets::SECRETS;

fn sv(s: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s.into())),
    }
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(value),
        ..Default::default()
    }
}

fn resource(attrs: &[(&str, &str)]) -> Option<Resource> {
    Some(Resource {
        attributes: attrs.iter().map(|(k, v)| kv(k, sv(v))).collect(),
        ..Default::default()
    })
}

fn spans(resource: Option<Resource>, n: usize, attributes: Vec<KeyValue>) -> ResourceSpans {
    ResourceSpans {
        resource,
        scope_spans: vec![ScopeSpans {
            spans: (0..n)
                .map(|_| Span {
                    attributes: attributes.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn the_header_wins_over_service_namespace_then_unknown() {
    let batch = vec![
        spans(
            resource(&[("service.name", "a"), ("service.namespace", "ns-a")]),
            2,
            vec![],
        ),
        spans(resource(&[("service.name", "b")]), 3, vec![]),
    ];
    let by_header = Tally::traces(Some("hdr"), &batch);
    assert_eq!(by_header.records, vec![("hdr".to_owned(), 5)]);
    let by_resource = Tally::traces(None, &batch);
    assert_eq!(
        by_resource.records,
        vec![("ns-a".to_owned(), 2), (UNKNOWN_TENANT.to_owned(), 3)]
    );
    assert_eq!(by_resource.without_resource, 0);
}

#[test]
fn records_without_service_name_are_counted() {
    let batch = vec![
        spans(None, 2, vec![]),
        spans(resource(&[("service.namespace", "x")]), 4, vec![]),
        spans(resource(&[("service.name", "ok")]), 8, vec![]),
    ];
    assert_eq!(Tally::traces(None, &batch).without_resource, 6);
}

#[test]
fn leaks_are_found_in_attributes_nested_values_and_bodies() {
    let nested = AnyValue {
        value: Some(Value::KvlistValue(KeyValueList {
            values: vec![kv(
                "deep",
                AnyValue {
                    value: Some(Value::ArrayValue(ArrayValue {
                        values: vec![sv("clean"), sv(&format!("x {} y", SECRETS[2].value))],
                    })),
                },
            )],
        })),
    };
    let attrs = vec![
        kv("user.email", sv(SECRETS[0].value)),
        kv("note", sv("[REDACTED]")),
        kv("payload", nested),
    ];
    let t = Tally::traces(None, &[spans(resource(&[("service.name", "s")]), 3, attrs)]);
    assert_eq!(t.leaked, 6, "two leaked values in each of three spans");

    let logs = vec![ResourceLogs {
        resource: resource(&[("service.name", "s"), ("service.namespace", "t")]),
        scope_logs: vec![ScopeLogs {
            log_records: vec![
                LogRecord {
                    body: Some(sv(&format!("login by {}", SECRETS[3].value))),
                    ..Default::default()
                },
                LogRecord {
                    body: Some(sv("nothing to see")),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    }];
    let t = Tally::logs(Some("t"), &logs);
    assert_eq!(
        (t.leaked, t.records.clone()),
        (1, vec![("t".to_owned(), 2)])
    );

    let mut with_event = spans(resource(&[("service.name", "s")]), 1, vec![]);
    with_event.scope_spans[0].spans[0].events = vec![span::Event {
        attributes: vec![kv("auth", sv(SECRETS[1].value))],
        ..Default::default()
    }];
    assert_eq!(Tally::traces(None, &[with_event]).leaked, 1);
}

#[test]
fn generated_requests_count_as_generated() {
    for signal in [SignalArg::Traces, SignalArg::Logs, SignalArg::Metrics] {
        let shape = Shape {
            signal,
            records: 13,
            attributes: 6,
            sensitive: 2,
        };
        let tally = match generate::request(&shape, "tenant-1", 0, &mut rand::rng()) {
            Request::Traces(r) => Tally::traces(None, &r.resource_spans),
            Request::Logs(r) => Tally::logs(None, &r.resource_logs),
            Request::Metrics(r) => Tally::metrics(None, &r.resource_metrics),
        };
        assert_eq!(
            tally.records,
            vec![("tenant-1".to_owned(), 13)],
            "{signal:?}"
        );
        assert_eq!(tally.leaked, 26, "{signal:?}");
        assert_eq!(tally.without_resource, 0, "{signal:?}");
    }
}

#[test]
fn counts_add_per_signal_and_tenant_and_reset() {
    let counts = Counts::default();
    let tally = |t: &str, n| Tally {
        records: vec![(t.to_owned(), n)],
        leaked: 1,
        without_resource: 2,
    };
    counts.add(SignalArg::Logs, 100, tally("a", 5));
    counts.add(SignalArg::Logs, 50, tally("a", 7));
    counts.add(SignalArg::Metrics, 10, tally("b", 3));
    let v = counts.json();
    assert_eq!(v["records"]["logs"]["a"], 12);
    assert_eq!(v["records"]["metrics"]["b"], 3);
    assert_eq!(v["records"]["traces"], serde_json::json!({}));
    assert_eq!(
        (
            &v["requests"],
            &v["bytes"],
            &v["leaked_values"],
            &v["records_without_resource"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!(160),
            &serde_json::json!(3),
            &serde_json::json!(6)
        )
    );
    counts.reset();
    assert_eq!(counts.json()["requests"], 0);
    assert_eq!(counts.json()["records"]["logs"], serde_json::json!({}));
}
