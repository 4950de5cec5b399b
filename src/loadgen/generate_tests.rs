use std::collections::HashSet;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::*;

fn shape(signal: SignalArg, records: usize, attributes: usize, sensitive: usize) -> Shape {
    Shape {
        signal,
        records,
        attributes,
        sensitive,
    }
}

fn resource_attr(resource: Option<&Resource>, key: &str) -> String {
    resource
        .expect("resource")
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{key} missing"))
}

fn secrets_in(attrs: &[KeyValue]) -> usize {
    attrs
        .iter()
        .filter(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => secrets::contains_secret(s),
                _ => false,
            },
        )
        .count()
}

fn assert_record_attrs(attrs: &[KeyValue], want: usize, secrets: usize) {
    assert_eq!(attrs.len(), want, "{attrs:?}");
    assert_eq!(secrets_in(attrs), secrets, "{attrs:?}");
    let keys: HashSet<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys.len(), attrs.len(), "repeated key in {attrs:?}");
}

#[test]
fn traces_have_the_records_attributes_secrets_tenant_and_valid_ids() {
    let s = shape(SignalArg::Traces, 10, 14, 5);
    let Request::Traces(req) = request(&s, "tenant-2", 3, &mut rand::rng()) else {
        panic!("asked for traces")
    };
    let rs = &req.resource_spans[0];
    assert_eq!(
        resource_attr(rs.resource.as_ref(), "service.namespace"),
        "tenant-2"
    );
    assert_eq!(
        resource_attr(rs.resource.as_ref(), "service.name"),
        "loadgen-shop"
    );
    let spans = &rs.scope_spans[0].spans;
    assert_eq!(spans.len(), 10);
    let mut span_ids = HashSet::new();
    for (i, span) in spans.iter().enumerate() {
        assert_record_attrs(&span.attributes, 14, 5);
        assert_eq!(span.trace_id.len(), 16);
        assert_eq!(span.span_id.len(), 8);
        assert!(span.trace_id.iter().any(|b| *b != 0));
        assert!(span.span_id.iter().any(|b| *b != 0));
        assert!(span_ids.insert(span.span_id.clone()), "repeated span id");
        assert!(span.start_time_unix_nano < span.end_time_unix_nano);
        let root = &spans[i - i % SPANS_PER_TRACE];
        if i.is_multiple_of(SPANS_PER_TRACE) {
            assert!(span.parent_span_id.is_empty());
        } else {
            assert_eq!(span.parent_span_id, root.span_id);
            assert_eq!(span.trace_id, root.trace_id);
        }
    }
    assert_ne!(spans[0].trace_id, spans[SPANS_PER_TRACE].trace_id);
}

#[test]
fn logs_have_bodies_ids_and_the_asked_attributes() {
    let s = shape(SignalArg::Logs, 7, 3, 0);
    let Request::Logs(req) = request(&s, "tenant-0", 0, &mut rand::rng()) else {
        panic!("asked for logs")
    };
    let records = &req.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(records.len(), 7);
    for r in records {
        assert_record_attrs(&r.attributes, 3, 0);
        assert_eq!((r.trace_id.len(), r.span_id.len()), (16, 8));
        assert!(r.severity_number > 0);
        assert!(matches!(
            r.body.as_ref().and_then(|b| b.value.as_ref()),
            Some(Value::StringValue(text)) if !secrets::contains_secret(text)
        ));
    }
}

#[test]
fn metrics_count_data_points_over_sums_gauges_and_histograms() {
    let s = shape(SignalArg::Metrics, 2 * POINTS_PER_METRIC * 3 + 5, 10, 1);
    let Request::Metrics(req) = request(&s, "tenant-1", 1, &mut rand::rng()) else {
        panic!("asked for metrics")
    };
    let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
    let mut points = 0;
    let mut kinds = HashSet::new();
    let mut names = HashSet::new();
    let mut paths = HashSet::new();
    for m in metrics {
        assert!(names.insert(m.name.clone()), "repeated metric {}", m.name);
        let data = m.data.as_ref().expect("data");
        let attrs: Vec<&Vec<KeyValue>> = match data {
            metric::Data::Sum(d) => d.data_points.iter().map(|p| &p.attributes).collect(),
            metric::Data::Gauge(d) => d.data_points.iter().map(|p| &p.attributes).collect(),
            metric::Data::Histogram(d) => d.data_points.iter().map(|p| &p.attributes).collect(),
            other => panic!("unexpected {other:?}"),
        };
        kinds.insert(std::mem::discriminant(data));
        for a in attrs {
            assert_record_attrs(a, 10, 1);
            paths.insert(format!("{:?}", a.iter().find(|kv| kv.key == "url.path")));
            points += 1;
        }
    }
    assert_eq!(points, s.records);
    assert_eq!(kinds.len(), 3);
    // Every data point has its own url.path: none merge when other attributes are dropped.
    assert_eq!(paths.len(), s.records);
}

#[test]
fn attributes_put_secrets_first_then_real_keys() {
    let s = shape(SignalArg::Traces, 1, 6, 2);
    let keys: Vec<String> = attributes(&s, 0, 0).into_iter().map(|kv| kv.key).collect();
    assert_eq!(
        keys,
        [
            "user.email",
            "http.request.header.authorization",
            "url.path",
            "http.request.method",
            "http.response.status_code",
            "server.address"
        ]
    );
    let many = shape(SignalArg::Traces, 1, 30, 0);
    assert_record_attrs(&attributes(&many, 0, 0), 30, 0);
}
