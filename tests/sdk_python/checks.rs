//! The field-for-field checks of what the Python SDK sent against the `debug` exporter's JSON:
//! each record's envelope, the resource and scope, and every span, metric point and log record
//! the script reported creating. A difference panics naming the field.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::{attr, attrs};

/// The fields around `data`: signal, tenant, receiver, request id, and counts that match `data`.
pub(crate) fn check_envelope(record: &Value) {
    let signal = record["signal"].as_str().expect("signal");
    assert_eq!(record["tenant"], "default", "{record}");
    assert_eq!(record["receiver"], "otlp", "{record}");
    let id = record["request_id"].as_str().expect("request_id");
    let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("request_id {id:?}: {e}"));
    assert_eq!(uuid.get_version_num(), 7, "request_id {id} is a UUID v7");

    let (resources_key, scopes_key, items_key) = match signal {
        "traces" => ("resourceSpans", "scopeSpans", "spans"),
        "metrics" => ("resourceMetrics", "scopeMetrics", "metrics"),
        "logs" => ("resourceLogs", "scopeLogs", "logRecords"),
        other => panic!("unknown signal {other:?}"),
    };
    let resources = record["data"][resources_key]
        .as_array()
        .expect("resources array");
    assert_eq!(record["resources"], resources.len(), "{record}");
    let items: usize = resources
        .iter()
        .flat_map(|r| r[scopes_key].as_array().expect("scopes array"))
        .map(|s| match signal {
            // A metric's records are its data points.
            "metrics" => s[items_key]
                .as_array()
                .expect("metrics array")
                .iter()
                .map(|m| data_points(m).len())
                .sum(),
            _ => s[items_key].as_array().expect("items array").len(),
        })
        .sum();
    assert_eq!(record["records"], items, "records count of {record}");
}

/// Every (resource, scope, item) of the given records, flattened.
fn items<'a>(
    records: &'a [Value],
    resources_key: &str,
    scopes_key: &str,
    items_key: &str,
) -> Vec<(&'a Value, &'a Value, &'a Value)> {
    let mut out = Vec::new();
    for record in records {
        for resource in record["data"][resources_key].as_array().expect("resources") {
            for scope in resource[scopes_key].as_array().expect("scopes") {
                for item in scope[items_key].as_array().expect("items") {
                    out.push((&resource["resource"], &scope["scope"], item));
                }
            }
        }
    }
    out
}

/// The resource every SDK record carries: from OTEL_super::SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and
/// the SDK itself.
fn check_resource(resource: &Value) {
    assert_eq!(
        attr(resource, "service.name"),
        json!({"stringValue": super::SERVICE_NAME})
    );
    assert_eq!(
        attr(resource, "deployment.environment.name"),
        json!({"stringValue": "sdk-test"})
    );
    assert_eq!(attr(resource, "team"), json!({"stringValue": "payments"}));
    assert_eq!(
        attr(resource, "telemetry.sdk.language"),
        json!({"stringValue": "python"})
    );
    assert_eq!(
        attr(resource, "telemetry.sdk.name"),
        json!({"stringValue": "opentelemetry"})
    );
}

fn check_scope(scope: &Value, report: &Value) {
    assert_eq!(scope["name"], report["scope"]["name"], "{scope}");
    assert_eq!(scope["version"], report["scope"]["version"], "{scope}");
}

/// A report integer (nanoseconds) as OTLP/JSON writes a fixed64: a decimal string.
fn nanos(v: &Value) -> Value {
    let n = v.as_u64().unwrap_or_else(|| panic!("not a u64: {v}"));
    Value::String(n.to_string())
}

pub(crate) fn check_traces(records: &[Value], report: &Value) {
    let spans = items(records, "resourceSpans", "scopeSpans", "spans");
    assert_eq!(spans.len(), 2, "parent and child, once each: {records:?}");
    let trace_id = report["trace_id"].as_str().expect("trace_id");
    let parent_id = report["parent"]["span_id"]
        .as_str()
        .expect("parent span_id");
    let child_id = report["child"]["span_id"].as_str().expect("child span_id");
    let find = |id: &str| {
        spans
            .iter()
            .find(|(_, _, s)| s["spanId"] == id)
            .copied()
            .unwrap_or_else(|| panic!("span {id} not in output: {records:?}"))
    };

    for (resource, scope, span) in &spans {
        check_resource(resource);
        check_scope(scope, report);
        assert_eq!(span["traceId"], trace_id, "{span}");
    }

    let (_, _, parent) = find(parent_id);
    assert_eq!(parent["name"], "checkout");
    assert_eq!(parent["name"], report["parent"]["name"]);
    assert_eq!(parent["kind"], 2, "SPAN_KIND_SERVER");
    let root_parent = parent
        .get("parentSpanId")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert_eq!(root_parent, "", "the parent is a root span");
    assert_eq!(
        parent["startTimeUnixNano"],
        nanos(&report["parent"]["start_time_unix_nano"])
    );
    assert_eq!(
        parent["endTimeUnixNano"],
        nanos(&report["parent"]["end_time_unix_nano"])
    );
    assert_eq!(
        attrs(parent),
        vec![
            ("app.str".to_owned(), json!({"stringValue": "hello"})),
            ("app.int".to_owned(), json!({"intValue": "42"})),
            ("app.float".to_owned(), json!({"doubleValue": 3.5})),
            ("app.bool".to_owned(), json!({"boolValue": true})),
            (
                "app.list".to_owned(),
                json!({"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}})
            ),
        ]
    );
    // The script reports the plain values it set; they are the ones above.
    assert_eq!(
        report["parent"]["attributes"],
        json!({"app.str": "hello", "app.int": 42, "app.float": 3.5, "app.bool": true,
               "app.list": ["a", "b"]})
    );
    let events = parent["events"].as_array().expect("events array");
    assert_eq!(events.len(), 1, "{parent}");
    assert_eq!(events[0]["name"], "cache.miss");
    assert_eq!(
        events[0]["timeUnixNano"],
        nanos(&report["parent"]["event"]["time_unix_nano"])
    );
    assert_eq!(
        attrs(&events[0]),
        vec![("cache.key".to_owned(), json!({"stringValue": "user:7"}))]
    );
    assert_eq!(
        parent["status"]["code"].as_i64().unwrap_or(0),
        0,
        "STATUS_CODE_UNSET"
    );

    let (_, _, child) = find(child_id);
    assert_eq!(child["name"], "charge-card");
    assert_eq!(child["name"], report["child"]["name"]);
    assert_eq!(child["kind"], 3, "SPAN_KIND_CLIENT");
    assert_eq!(
        child["parentSpanId"], parent_id,
        "the child points at its parent"
    );
    assert_eq!(
        child["startTimeUnixNano"],
        nanos(&report["child"]["start_time_unix_nano"])
    );
    assert_eq!(
        child["endTimeUnixNano"],
        nanos(&report["child"]["end_time_unix_nano"])
    );
    assert_eq!(
        attrs(child),
        vec![(
            "payment.provider".to_owned(),
            json!({"stringValue": "acme"})
        )]
    );
    assert_eq!(child["status"]["code"], 2, "STATUS_CODE_ERROR");
    assert_eq!(child["status"]["message"], "card declined");
    assert_eq!(child["events"].as_array().map(Vec::len).unwrap_or(0), 0);
}

/// The data points of a metric, whatever its type.
fn data_points(metric: &Value) -> Vec<Value> {
    [
        "sum",
        "gauge",
        "histogram",
        "exponentialHistogram",
        "summary",
    ]
    .iter()
    .filter_map(|kind| metric.get(*kind))
    .filter(|data| !data.is_null())
    .flat_map(|data| data["dataPoints"].as_array().cloned().unwrap_or_default())
    .collect()
}

pub(crate) fn check_metrics(records: &[Value], report: &Value) {
    let metrics = items(records, "resourceMetrics", "scopeMetrics", "metrics");
    // Cumulative temporality: every export (force_flush, then shutdown) repeats the totals.
    let exports = records.len();
    assert!(exports >= 1, "no metrics exported");
    let mut by_name: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for (resource, scope, metric) in &metrics {
        check_resource(resource);
        check_scope(scope, report);
        by_name
            .entry(metric["name"].as_str().expect("metric name"))
            .or_default()
            .push(metric);
    }
    let names: Vec<&str> = by_name.keys().copied().collect();
    assert_eq!(names, ["app.latency", "app.queue.depth", "app.requests"]);
    for (name, copies) in &by_name {
        assert_eq!(copies.len(), exports, "{name} once per export");
    }

    let want = &report["metrics"];
    assert_eq!(want["counter"]["name"], "app.requests");
    for counter in &by_name["app.requests"] {
        assert_eq!(counter["unit"], "1");
        assert_eq!(counter["description"], "requests served");
        let sum = &counter["sum"];
        assert_eq!(sum["isMonotonic"], true, "{counter}");
        assert_eq!(sum["aggregationTemporality"], 2, "CUMULATIVE: {counter}");
        let points = data_points(counter);
        assert_eq!(points.len(), 1, "{counter}");
        assert_eq!(
            points[0]["asInt"], "7",
            "3 + 4, an int64 as a string: {counter}"
        );
        assert_eq!(want["counter"]["value"], 7);
        assert_eq!(
            attrs(&points[0]),
            vec![("http.route".to_owned(), json!({"stringValue": "/cart"}))]
        );
    }

    let values: Vec<f64> = want["histogram"]["values"]
        .as_array()
        .expect("histogram values")
        .iter()
        .map(|v| v.as_f64().expect("f64"))
        .collect();
    assert_eq!(values, [1.5, 2.5, 10.0]);
    for histogram in &by_name["app.latency"] {
        assert_eq!(histogram["unit"], "ms");
        assert_eq!(histogram["description"], "request latency");
        assert_eq!(
            histogram["histogram"]["aggregationTemporality"], 2,
            "{histogram}"
        );
        let points = data_points(histogram);
        assert_eq!(points.len(), 1, "{histogram}");
        let p = &points[0];
        assert_eq!(p["count"], "3", "{p}");
        assert_eq!(p["sum"], 14.0, "{p}");
        assert_eq!(p["min"], 1.5, "{p}");
        assert_eq!(p["max"], 10.0, "{p}");
        assert_eq!(attrs(p), vec![]);
        // Each recorded value sits in the first bucket whose upper bound is >= it.
        let bounds: Vec<f64> = serde_json::from_value(p["explicitBounds"].clone()).expect("bounds");
        let counts: Vec<String> =
            serde_json::from_value(p["bucketCounts"].clone()).expect("bucketCounts as strings");
        assert_eq!(counts.len(), bounds.len() + 1, "{p}");
        let mut want_counts = vec![0u64; bounds.len() + 1];
        for v in &values {
            want_counts[bounds.iter().position(|b| v <= b).unwrap_or(bounds.len())] += 1;
        }
        let want_counts: Vec<String> = want_counts.iter().map(u64::to_string).collect();
        assert_eq!(counts, want_counts, "{p}");
    }

    assert_eq!(want["up_down_counter"]["value"], 3);
    for gauge in &by_name["app.queue.depth"] {
        assert_eq!(gauge["unit"], "1");
        assert_eq!(gauge["description"], "queued jobs");
        assert_eq!(
            gauge["sum"]["isMonotonic"], false,
            "an up-down counter: {gauge}"
        );
        assert_eq!(gauge["sum"]["aggregationTemporality"], 2, "{gauge}");
        let points = data_points(gauge);
        assert_eq!(points.len(), 1, "{gauge}");
        assert_eq!(points[0]["asInt"], "3", "5 - 2: {gauge}");
        assert_eq!(attrs(&points[0]), vec![]);
    }
}

pub(crate) fn check_logs(records: &[Value], report: &Value) {
    let logs = items(records, "resourceLogs", "scopeLogs", "logRecords");
    assert_eq!(logs.len(), 1, "one log record: {records:?}");
    let (resource, scope, log) = logs[0];
    check_resource(resource);
    check_scope(scope, report);
    let want = &report["log"];
    assert_eq!(log["body"], json!({"stringValue": "payment declined"}));
    assert_eq!(want["body"], "payment declined");
    assert_eq!(log["severityNumber"], 13, "SEVERITY_NUMBER_WARN");
    assert_eq!(log["severityNumber"], want["severity_number"]);
    assert_eq!(log["severityText"], "WARN");
    assert_eq!(log["timeUnixNano"], nanos(&want["time_unix_nano"]));
    assert_eq!(
        attrs(log),
        vec![
            ("log.str".to_owned(), json!({"stringValue": "value"})),
            ("log.int".to_owned(), json!({"intValue": "7"})),
        ]
    );
    // Emitted inside the child span: its trace context.
    assert_eq!(log["traceId"], report["trace_id"]);
    assert_eq!(log["spanId"], report["child"]["span_id"]);
    assert_eq!(want["span_id"], report["child"]["span_id"]);
}
