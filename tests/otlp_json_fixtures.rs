//! The official OTLP/JSON examples (opentelemetry-proto's `examples/`, copied to
//! `tests/fixtures/otlp-json/`) POSTed to a running weir with a real HTTP client: each must be
//! answered 200 with a JSON body, and reappear in the debug exporter's output field for field,
//! with trace and span ids in lower-case hex. Also: the request id a client sends is echoed and
//! recorded; without one weir mints a UUID v7 and records that.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use common::{Weir, attr, attrs, ledger, tests_path};

/// Fields holding ids: hex in OTLP/JSON, any case on input, lower case on output.
const ID_FIELDS: [&str; 3] = ["traceId", "spanId", "parentSpanId"];

fn fixture(name: &str) -> Value {
    let path = tests_path(&format!("fixtures/otlp-json/{name}"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Answer {
    status: reqwest::StatusCode,
    content_type: String,
    request_id: String,
    body: Value,
}

/// POSTs `body` as application/json to `path` on weir's OTLP/HTTP listener.
async fn post(weir: &Weir, path: &str, body: &Value, request_id: Option<&str>) -> Answer {
    let client = common::http_client();
    let mut req = client
        .post(format!("{}{path}", weir.http_base()))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).expect("serialise fixture"));
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let resp = req.send().await.expect("POST to weir");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
            .unwrap_or_default()
    };
    let status = resp.status();
    let content_type = header("content-type");
    let request_id = header("x-request-id");
    let bytes = resp.bytes().await.expect("response body");
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{path}: response is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status,
        content_type,
        request_id,
        body,
    }
}

/// A full success: 200, JSON, and no partial success that rejected anything.
fn assert_accepted(answer: &Answer, rejected_field: &str) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.content_type.starts_with("application/json"),
        "content-type {:?}",
        answer.content_type
    );
    assert!(answer.body.is_object(), "{}", answer.body);
    // proto3 JSON: an absent or null partialSuccess is the default (nothing rejected).
    let rejected = &answer.body["partialSuccess"][rejected_field];
    assert_eq!(number(rejected).unwrap_or(0.0), 0.0, "{}", answer.body);
}

/// The only debug line with this request id; checks its envelope.
fn the_record(weir: &Weir, signal: &str, request_id: &str, resources: u64, records: u64) -> Value {
    let all = weir.records();
    let mine: Vec<&Value> = all
        .iter()
        .filter(|r| r["request_id"] == request_id)
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "one debug line for request {request_id}: {all:?}"
    );
    let record = mine[0].clone();
    assert_eq!(record["signal"], signal, "{record}");
    assert_eq!(record["tenant"], "default", "{record}");
    assert_eq!(record["receiver"], "otlp", "{record}");
    assert_eq!(record["resources"], resources, "{record}");
    assert_eq!(record["records"], records, "{record}");
    record
}

/// Every field of `want` (the fixture) is in `got` (weir's output) with the same value: objects
/// key by key (`got` may add defaults), arrays element by element, numbers by value whether
/// written as number or string (int64), ids case-insensitively while `got` must be lower case.
fn assert_fields(path: &str, want: &Value, got: &Value) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (key, w) in w {
                let here = format!("{path}.{key}");
                let g = g
                    .get(key)
                    .unwrap_or_else(|| panic!("{here} missing in output"));
                if ID_FIELDS.contains(&key.as_str()) {
                    let (w, g) = (w.as_str().expect("hex id"), g.as_str().expect("hex id"));
                    assert_eq!(g, w.to_ascii_lowercase(), "{here}: lower-case hex");
                } else {
                    assert_fields(&here, w, g);
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(g.len(), w.len(), "{path}: length of {got}");
            for (i, (w, g)) in w.iter().zip(g).enumerate() {
                assert_fields(&format!("{path}[{i}]"), w, g);
            }
        }
        // 5 and 5.0 are the same double; an int64 may come back as its canonical string.
        (Value::Number(_), Value::Number(_) | Value::String(_)) => {
            assert_eq!(number(got), number(want), "{path}: {got} vs fixture {want}");
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The items under resource 0, scope 0 of an export request.
fn first_scope<'a>(data: &'a Value, kind: &str) -> &'a Value {
    &data[format!("resource{kind}")][0][format!("scope{kind}")][0]
}

fn check_resource_and_scope(data: &Value, kind: &str) {
    let resource = &data[format!("resource{kind}")][0]["resource"];
    assert_eq!(
        attrs(resource),
        vec![(
            "service.name".to_owned(),
            json!({"stringValue": "my.service"})
        )]
    );
    let scope = &first_scope(data, kind)["scope"];
    assert_eq!(scope["name"], "my.library");
    assert_eq!(scope["version"], "1.0.0");
    assert_eq!(
        attrs(scope),
        vec![(
            "my.scope.attribute".to_owned(),
            json!({"stringValue": "some scope attribute"})
        )]
    );
}

#[tokio::test]
async fn trace_example_with_client_request_id() {
    let weir = Weir::start(common::DEBUG_CONFIG);
    let sent = fixture("trace.json");
    let answer = post(&weir, "/v1/traces", &sent, Some("fixture-1")).await;
    assert_accepted(&answer, "rejectedSpans");
    assert_eq!(
        answer.request_id, "fixture-1",
        "the client's x-request-id is echoed"
    );

    let record = the_record(&weir, "traces", "fixture-1", 1, 1);
    ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
    let data = &record["data"];
    assert_fields("", &sent, data);

    check_resource_and_scope(data, "Spans");
    let spans = first_scope(data, "Spans")["spans"]
        .as_array()
        .expect("spans");
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span["traceId"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(span["spanId"], "eee19b7ec3c1b174");
    assert_eq!(span["parentSpanId"], "eee19b7ec3c1b173");
    assert_eq!(span["name"], "I'm a server span");
    assert_eq!(span["kind"], 2, "SPAN_KIND_SERVER, as an integer");
    assert_eq!(span["startTimeUnixNano"], "1544712660000000000");
    assert_eq!(span["endTimeUnixNano"], "1544712661000000000");
    assert_eq!(
        attrs(span),
        vec![(
            "my.span.attr".to_owned(),
            json!({"stringValue": "some value"})
        )]
    );
}

#[tokio::test]
async fn metrics_example_gets_a_minted_uuid_v7() {
    let weir = Weir::start(common::DEBUG_CONFIG);
    let sent = fixture("metrics.json");
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let answer = post(&weir, "/v1/metrics", &sent, None).await;
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    assert_accepted(&answer, "rejectedDataPoints");

    let id = uuid::Uuid::parse_str(&answer.request_id)
        .unwrap_or_else(|e| panic!("x-request-id {:?} is not a UUID: {e}", answer.request_id));
    assert_eq!(id.get_version_num(), 7, "{id} is a UUID v7");
    let (secs, nanos) = id.get_timestamp().expect("v7 has a timestamp").to_unix();
    let minted = Duration::new(secs, nanos);
    // v7 keeps milliseconds: compare at that precision.
    let ms = |d: Duration| d.as_millis();
    assert!(
        ms(before) <= ms(minted) && ms(minted) <= ms(after),
        "{id} minted at {minted:?}, request between {before:?} and {after:?}"
    );

    // Four metrics with one data point each.
    let record = the_record(&weir, "metrics", &answer.request_id, 1, 4);
    ledger::assert_balanced(&weir, &[("metrics", "debug")]).await;
    let data = &record["data"];
    assert_fields("", &sent, data);

    check_resource_and_scope(data, "Metrics");
    let metrics = first_scope(data, "Metrics")["metrics"]
        .as_array()
        .expect("metrics");
    let names: Vec<&str> = metrics
        .iter()
        .map(|m| m["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "my.counter",
            "my.gauge",
            "my.histogram",
            "my.exponential.histogram"
        ]
    );

    let counter = &metrics[0];
    assert_eq!(counter["unit"], "1");
    assert_eq!(counter["description"], "I am a Counter");
    assert_eq!(counter["sum"]["aggregationTemporality"], 1, "DELTA");
    assert_eq!(counter["sum"]["isMonotonic"], true);
    let point = &counter["sum"]["dataPoints"][0];
    assert_eq!(point["asDouble"], 5.0);
    assert_eq!(point["startTimeUnixNano"], "1544712660300000000");
    assert_eq!(point["timeUnixNano"], "1544712660300000000");
    assert_eq!(
        attr(point, "my.counter.attr"),
        json!({"stringValue": "some value"})
    );

    let gauge = &metrics[1];
    assert_eq!(gauge["description"], "I am a Gauge");
    let point = &gauge["gauge"]["dataPoints"][0];
    assert_eq!(point["asDouble"], 10.0);
    assert_eq!(
        attr(point, "my.gauge.attr"),
        json!({"stringValue": "some value"})
    );

    let histogram = &metrics[2];
    assert_eq!(histogram["histogram"]["aggregationTemporality"], 1);
    let point = &histogram["histogram"]["dataPoints"][0];
    assert_eq!(point["count"], "2");
    assert_eq!(point["sum"], 2.0);
    assert_eq!(point["bucketCounts"], json!(["1", "1"]));
    assert_eq!(point["explicitBounds"], json!([1.0]));
    assert_eq!(point["min"], 0.0);
    assert_eq!(point["max"], 2.0);
    assert_eq!(
        attr(point, "my.histogram.attr"),
        json!({"stringValue": "some value"})
    );

    let exponential = &metrics[3];
    assert_eq!(
        exponential["exponentialHistogram"]["aggregationTemporality"],
        1
    );
    let point = &exponential["exponentialHistogram"]["dataPoints"][0];
    assert_eq!(point["count"], "3");
    assert_eq!(point["sum"], 10.0);
    assert_eq!(point["scale"], 0);
    assert_eq!(point["zeroCount"], "1");
    assert_eq!(point["positive"]["offset"], 1);
    assert_eq!(point["positive"]["bucketCounts"], json!(["0", "2"]));
    assert_eq!(point["min"], 0.0);
    assert_eq!(point["max"], 5.0);
    assert_eq!(point["zeroThreshold"], 0.0);
    assert_eq!(
        attr(point, "my.exponential.histogram.attr"),
        json!({"stringValue": "some value"})
    );
}

#[tokio::test]
async fn logs_example() {
    let weir = Weir::start(common::DEBUG_CONFIG);
    let sent = fixture("logs.json");
    let answer = post(&weir, "/v1/logs", &sent, Some("fixture-logs")).await;
    assert_accepted(&answer, "rejectedLogRecords");
    assert_eq!(answer.request_id, "fixture-logs");

    let record = the_record(&weir, "logs", "fixture-logs", 1, 1);
    ledger::assert_balanced(&weir, &[("logs", "debug")]).await;
    let data = &record["data"];
    assert_fields("", &sent, data);

    check_resource_and_scope(data, "Logs");
    let logs = first_scope(data, "Logs")["logRecords"]
        .as_array()
        .expect("logRecords");
    assert_eq!(logs.len(), 1);
    let log = &logs[0];
    assert_eq!(log["body"], json!({"stringValue": "Example log record"}));
    assert_eq!(log["severityNumber"], 10, "SEVERITY_NUMBER_INFO2");
    assert_eq!(log["severityText"], "Information");
    assert_eq!(log["traceId"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(log["spanId"], "eee19b7ec3c1b174");
    assert_eq!(log["timeUnixNano"], "1544712660300000000");
    assert_eq!(log["observedTimeUnixNano"], "1544712660300000000");
    assert_eq!(
        attrs(log),
        vec![
            (
                "string.attribute".to_owned(),
                json!({"stringValue": "some string"})
            ),
            ("boolean.attribute".to_owned(), json!({"boolValue": true})),
            ("int.attribute".to_owned(), json!({"intValue": "10"})),
            (
                "double.attribute".to_owned(),
                json!({"doubleValue": 637.704})
            ),
            (
                "array.attribute".to_owned(),
                json!({"arrayValue": {"values": [{"stringValue": "many"}, {"stringValue": "values"}]}})
            ),
            (
                "map.attribute".to_owned(),
                json!({"kvlistValue": {"values": [
                    {"key": "some.map.key", "value": {"stringValue": "some value"}}
                ]}})
            ),
        ]
    );
}
