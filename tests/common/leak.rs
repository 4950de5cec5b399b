//! The leak corpus: telemetry full of secrets, and the check that none of them got out.
//!
//! `tests/python/send_secrets.py` (run by [`secrets`]) sends it through the Python SDK and
//! reports its needles; [`json_requests`] adds OTLP/JSON traces and logs with secrets nested in
//! maps and arrays. A needle is a string that must appear in no byte any exporter emits, at no
//! backend, and in none of weir's own log lines.

use serde_json::{Value, json};

use super::{Weir, sdk};

/// Runs `send_secrets.py` with `env` (the `OTEL_*` variables an application sets) and returns
/// its needles; panics unless every export succeeded and it reported a full corpus.
pub fn secrets(env: &[(&str, &str)]) -> Vec<String> {
    let report = sdk::run("send_secrets.py", env);
    let needles: Vec<String> =
        serde_json::from_value(report["needles"].clone()).expect("needles list");
    assert!(needles.len() > 20, "{report}");
    needles
}

/// Runs [`secrets`] once per `(tenant, protocol)` against `weir`, the tenant in
/// `X-Scope-OrgID` and the service `leaky-<tenant>`, configured as an application is; returns
/// every needle.
pub fn secrets_per_tenant(weir: &Weir, tenants: &[(&str, &str)]) -> Vec<String> {
    let mut needles = Vec::new();
    for (tenant, protocol) in tenants {
        let endpoint = match *protocol {
            "grpc" => weir.grpc_base(),
            _ => weir.http_base(),
        };
        let headers = format!("X-Scope-OrgID={tenant}");
        let service = format!("leaky-{tenant}");
        needles.extend(secrets(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_HEADERS", headers.as_str()),
            ("OTEL_SERVICE_NAME", service.as_str()),
        ]));
    }
    needles
}

pub fn sv(s: &str) -> Value {
    json!({ "stringValue": s })
}

pub fn kvlist(entries: &[(&str, Value)]) -> Value {
    let values: Vec<Value> = entries
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    json!({ "kvlistValue": { "values": values } })
}

pub fn array(values: Vec<Value>) -> Value {
    json!({ "arrayValue": { "values": values } })
}

/// OTLP/JSON traces and logs with secrets nested in maps and arrays, and their needles.
pub fn json_requests() -> (Value, Value, Vec<&'static str>) {
    let needles = vec![
        "leak.jsonres@example.com",
        "plainsecretjsonscopeq7z",
        "plainsecretjsonpwq7z",
        "plainsecretjsonkeyq7z",
        "jsonBearerTok3nLeak99",
        "leak.jsondeep@example.com",
        "plainsecretjsonpayloadq7z",
        "plainsecretjsontagq7z",
        "4539148803436467",
        "plainsecretjsoneventq7z",
        "eyJqc29ubGluayI6MX0",
        "leak.jsonstatus@example.com",
        "leak.jsonbody@example.com",
        "ghp_JSONBODYLEAKxxxxxxxxxxxxxxxxxxxx",
        "plainsecretjsonbodypwq7z",
        "plainsecretjsonmetaq7z",
    ];
    let attrs = |entries: &[(&str, Value)]| -> Vec<Value> {
        entries
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect()
    };
    let traces = json!({ "resourceSpans": [{
        "resource": { "attributes": attrs(&[
            ("service.name", sv("json-client")),
            ("k8s.pod.name", sv("pod leak.jsonres@example.com")),
        ]) },
        "scopeSpans": [{
            "scope": { "name": "json", "attributes": attrs(&[("scope.owner", sv("plainsecretjsonscopeq7z"))]) },
            "spans": [{
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": "eee19b7ec3c1b174",
                "name": "json span",
                "kind": 2,
                "startTimeUnixNano": "1544712660000000000",
                "endTimeUnixNano": "1544712661000000000",
                "attributes": attrs(&[
                    ("http.route", kvlist(&[
                        ("password", sv("plainsecretjsonpwq7z")),
                        ("deep", array(vec![
                            kvlist(&[("api_key", sv("plainsecretjsonkeyq7z"))]),
                            sv("Bearer jsonBearerTok3nLeak99"),
                            array(vec![sv("mail leak.jsondeep@example.com")]),
                        ])),
                    ])),
                    ("app.payload", kvlist(&[("anything", sv("plainsecretjsonpayloadq7z"))])),
                    ("tags", array(vec![sv("plainsecretjsontagq7z"), json!({ "intValue": "4539148803436467" })])),
                ]),
                "events": [{
                    "name": "evt",
                    "timeUnixNano": "1544712660500000000",
                    "attributes": attrs(&[("exception.stacktrace", kvlist(&[("token", sv("plainsecretjsoneventq7z"))]))]),
                }],
                "links": [{
                    "traceId": "5b8efff798038103d269b633813fc60d",
                    "spanId": "eee19b7ec3c1b175",
                    "attributes": attrs(&[("server.address", array(vec![
                        sv("eyJhbGciOiJIUzI1NiJ9.eyJqc29ubGluayI6MX0.c2ln"),
                    ]))]),
                }],
                "status": { "message": "failed for leak.jsonstatus@example.com", "code": 2 },
            }],
        }],
    }]});
    let logs = json!({ "resourceLogs": [{
        "resource": { "attributes": attrs(&[("service.name", sv("json-client"))]) },
        "scopeLogs": [{ "logRecords": [{
            "timeUnixNano": "1544712660300000000",
            "severityNumber": 13,
            "body": kvlist(&[("user", kvlist(&[
                ("email", sv("leak.jsonbody@example.com")),
                ("tokens", array(vec![sv("ghp_JSONBODYLEAKxxxxxxxxxxxxxxxxxxxx")])),
                ("profile", kvlist(&[("password", sv("plainsecretjsonbodypwq7z"))])),
            ]))]),
            "attributes": attrs(&[
                ("event.name", sv("user.updated")),
                ("metadata", kvlist(&[("reason", sv("plainsecretjsonmetaq7z"))])),
            ]),
        }]}],
    }]});
    (traces, logs, needles)
}

/// Asserts that no needle occurs in `bytes`, naming the output.
pub fn assert_clean(output: &str, bytes: &[u8], needles: &[String]) {
    let text = String::from_utf8_lossy(bytes);
    let leaked: Vec<&String> = needles
        .iter()
        .filter(|n| text.contains(n.as_str()))
        .collect();
    assert!(leaked.is_empty(), "{output} leaked {leaked:?}");
}
