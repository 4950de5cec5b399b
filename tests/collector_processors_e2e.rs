//! The Collector's `filter`, `attributes` and `resource` processors in a running weir, fed by
//! the OpenTelemetry Python SDK (`tests/python/send_all.py`): what the conditions match is
//! dropped and counted as filtered, the edits are on what leaves, the redaction weir appends
//! runs after them, and the loss ledger balances with the filtered records in it. The
//! Collector's redaction keys `url_sanitizer` and `hmac_key` run on the leak corpus
//! (`send_secrets.py`).

mod common;

use serde_json::{Value, json};

use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir, attr, attrs, ledger, python, sdk};

fn config() -> String {
    format!(
        "{OTLP_RECEIVER}\
processors:
  filter/noise:
    error_mode: ignore
    traces:
      span: ['kind == SPAN_KIND_CLIENT and attributes[\"payment.provider\"] == \"acme\"']
      spanevent: ['IsMatch(name, \"^cache\\\\.\")']
    logs:
      log_record: ['severity_number < SEVERITY_NUMBER_ERROR']
    metrics:
      datapoint: ['metric.name == \"app.latency\"']
  attributes/env:
    actions:
      - {{ key: deployment.environment, value: e2e, action: upsert }}
  resource/ns:
    attributes:
      - {{ key: service.namespace, value: shop, action: insert }}
{DEBUG_AND_ADMIN}  pipelines:
    traces:  {{ receivers: [otlp], processors: [filter/noise, attributes/env, resource/ns], exporters: [debug] }}
    metrics: {{ receivers: [otlp], processors: [filter/noise, attributes/env], exporters: [debug] }}
    logs:    {{ receivers: [otlp], processors: [filter/noise], exporters: [debug] }}
"
    )
}

/// Every item of `records` under `resources`/`scopes`/`items`, with its resource.
fn items<'a>(records: &'a [Value], keys: [&str; 3]) -> Vec<(&'a Value, &'a Value)> {
    let mut out = Vec::new();
    for r in records {
        for resource in r["data"][keys[0]].as_array().into_iter().flatten() {
            for scope in resource[keys[1]].as_array().into_iter().flatten() {
                for item in scope[keys[2]].as_array().into_iter().flatten() {
                    out.push((&resource["resource"], item));
                }
            }
        }
    }
    out
}

#[test]
fn filter_attributes_and_resource_run_on_the_sdks_data() {
    python();
    let mut weir = Weir::start(&config());
    let report = sdk::run(
        "send_all.py",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &weir.grpc_base()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "processors-e2e"),
        ],
    );
    let accounts = ledger::assert_balanced_blocking(&weir, &ledger::every_signal("debug"));
    let [traces, metrics, logs] = [&accounts[0], &accounts[1], &accounts[2]];
    assert_eq!((traces.accepted, traces.filtered), (2, 1), "{traces:?}");
    assert_eq!((logs.accepted, logs.filtered), (1, 1), "{logs:?}");
    assert!(metrics.filtered >= 1, "{metrics:?}");
    weir.stop();

    // Spans: the client span is gone, the server span lost its cache event and carries the
    // edits; the resource got its namespace.
    let records = weir.records_of("traces");
    let spans = items(&records, ["resourceSpans", "scopeSpans", "spans"]);
    let names: Vec<&str> = spans
        .iter()
        .map(|(_, s)| s["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, [report["parent"]["name"].as_str().expect("name")]);
    let (resource, span) = spans[0];
    let events = span["events"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(events, 0, "the cache.miss event was removed: {span}");
    assert_eq!(
        attr(span, "deployment.environment"),
        json!({"stringValue": "e2e"})
    );
    assert_eq!(
        attr(resource, "service.namespace"),
        json!({"stringValue": "shop"})
    );
    assert!(
        attrs(span)
            .iter()
            .any(|(_, v)| v == &json!({"stringValue": "[REDACTED]"})),
        "the appended redaction ran after the edits: {span}"
    );

    // Logs: the WARN record was below ERROR.
    assert!(weir.records_of("logs").is_empty(), "no log record left");

    // Metrics: the histogram's points are gone with it; the counter's point is edited.
    let records = weir.records_of("metrics");
    let metrics = items(&records, ["resourceMetrics", "scopeMetrics", "metrics"]);
    let names: Vec<&str> = metrics
        .iter()
        .map(|(_, m)| m["name"].as_str().unwrap_or(""))
        .collect();
    assert!(!names.contains(&"app.latency"), "{names:?}");
    let counter = metrics
        .iter()
        .find(|(_, m)| m["name"] == "app.requests")
        .map(|(_, m)| *m)
        .expect("app.requests kept");
    let point = &counter["sum"]["dataPoints"][0];
    assert_eq!(
        attr(point, "deployment.environment"),
        json!({"stringValue": "e2e"})
    );
}

/// The Collector's redaction keys weir reads too: `url_sanitizer` on `url.path` and `hmac_key`
/// hashing `user.id`, on the SDK's leak corpus.
#[test]
fn url_sanitizer_and_hmac_key_run_on_the_sdks_data() {
    python();
    let config = format!(
        "{OTLP_RECEIVER}\
processors:
  redaction:
    url_sanitizer: {{ enabled: true, attributes: [url.path] }}
    hash_function: hmac-sha256
    hmac_key: 0123456789abcdef0123456789abcdef
    hashed_keys: [user.id]
{DEBUG_AND_ADMIN}  pipelines:
    traces:  {{ receivers: [otlp], processors: [redaction], exporters: [debug] }}
    metrics: {{ receivers: [otlp], processors: [redaction], exporters: [debug] }}
    logs:    {{ receivers: [otlp], processors: [redaction], exporters: [debug] }}
"
    );
    let mut weir = Weir::start(&config);
    sdk::run(
        "send_secrets.py",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &weir.grpc_base()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "sanitizer-e2e"),
        ],
    );
    ledger::assert_balanced_blocking(&weir, &ledger::every_signal("debug"));
    weir.stop();

    let records = weir.records_of("traces");
    let spans = items(&records, ["resourceSpans", "scopeSpans", "spans"]);
    let paths: Vec<Value> = spans
        .iter()
        .filter(|(_, s)| attrs(s).iter().any(|(k, _)| k == "url.path"))
        .map(|(_, s)| attr(s, "url.path"))
        .collect();
    assert_eq!(paths, [json!({"stringValue": "/pay"})], "query removed");

    let records = weir.records_of("metrics");
    let mut hashed = Vec::new();
    for (_, m) in items(&records, ["resourceMetrics", "scopeMetrics", "metrics"]) {
        for kind in ["sum", "histogram", "gauge"] {
            for p in m[kind]["dataPoints"].as_array().into_iter().flatten() {
                if let Some((_, v)) = attrs(p).into_iter().find(|(k, _)| k == "user.id") {
                    hashed.push(v["stringValue"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    }
    assert!(!hashed.is_empty(), "a point with user.id");
    for h in hashed {
        assert!(
            h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()),
            "user.id is a hex HMAC: {h}"
        );
    }
}
