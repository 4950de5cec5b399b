//! The frontend log intake and CORS on the OTLP/HTTP receiver, against the real binary: both
//! content types a page sends, the record each body becomes (redacted, with its request id),
//! the size limit, malformed bodies, the per-IP limit with and without `trusted_proxies`, and
//! origins that are and are not allowed (preflights included), with refusals counted.

mod common;

use serde_json::{Value, json};

use common::{DEBUG_AND_ADMIN, OTLP_RECEIVER, Weir, attr, http_client, ledger};

const PATH: &str = "/api/frontend-log";

/// The `otlp` receiver with `http` settings `http` (a flow mapping's inside), redaction with its
/// defaults, every signal to the JSON debug exporter.
fn config(http: &str) -> String {
    let receiver = OTLP_RECEIVER.replace(
        "http: { endpoint: 127.0.0.1:0 }",
        &format!("http: {{ endpoint: 127.0.0.1:0, {http} }}"),
    );
    format!(
        "{receiver}processors:\n  redaction: {{}}\n{DEBUG_AND_ADMIN}  pipelines:\n    \
         traces: {{ receivers: [otlp], processors: [redaction], exporters: [debug] }}\n    \
         logs: {{ receivers: [otlp], processors: [redaction], exporters: [debug] }}\n"
    )
}

/// A config with the intake on, `frontend` being its other settings.
fn intake(frontend: &str) -> String {
    config(&format!("frontend_log: {{ enabled: true, {frontend} }}"))
}

/// POSTs `body` to `path` with `content_type` and `headers`.
async fn post(
    weir: &Weir,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = http_client()
        .post(format!("{}{path}", weir.http_base()))
        .header("content-type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("answer from weir")
}

/// The status and JSON body of an intake answer.
async fn answer(resp: reqwest::Response) -> (u16, Value, reqwest::header::HeaderMap) {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.expect("intake answers JSON");
    (status, body, headers)
}

fn event(message: &str) -> String {
    json!({ "level": "error", "message": message }).to_string()
}

/// The log records of the debug line of request `id`.
fn records_of(weir: &Weir, id: &str) -> (Value, Vec<Value>) {
    let lines: Vec<Value> = weir
        .records_of("logs")
        .into_iter()
        .filter(|l| l["request_id"] == id)
        .collect();
    assert_eq!(lines.len(), 1, "one debug line for {id}: {lines:?}");
    let line = lines[0].clone();
    let records = line["data"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
        .as_array()
        .unwrap_or_else(|| panic!("no log records in {line}"))
        .clone();
    (line, records)
}

fn text(v: &Value) -> &str {
    v["stringValue"]
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
}

#[tokio::test]
async fn json_and_plain_text_bodies_become_redacted_records_with_their_request_id() {
    let weir = Weir::start(&intake("tenant: web"));
    let body = json!({
        "level": "error",
        "message": "checkout failed for jane.doe@example.com",
        "error": "TypeError: cart is undefined",
        "stack": "TypeError: cart is undefined\n    at pay (https://shop.example/app.js:3:7)",
        "context": { "url": "https://shop.example/cart?token=abc", "ua": "Mozilla/5.0 test", "build": "1.4.2" }
    })
    .to_string();
    for (content_type, id) in [
        ("application/json", "fe-json-1"),
        ("text/plain;charset=UTF-8", "fe-text-1"),
    ] {
        let resp = post(
            &weir,
            PATH,
            content_type,
            body.clone(),
            &[("x-request-id", id)],
        )
        .await;
        let (status, answer, headers) = answer(resp).await;
        assert_eq!(status, 202, "{content_type}: {answer}");
        assert_eq!(answer["request_id"], id);
        assert_eq!(headers["x-request-id"], id);

        let (line, records) = records_of(&weir, id);
        assert_eq!(line["tenant"], "web", "frontend_log.tenant");
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r["severityNumber"], 17);
        assert_eq!(r["severityText"], "ERROR");
        assert_eq!(text(&r["body"]), "checkout failed for [REDACTED]");
        assert_eq!(text(&attr(r, "request.id")), id);
        assert_eq!(text(&attr(r, "exception.type")), "TypeError");
        assert_eq!(text(&attr(r, "exception.message")), "cart is undefined");
        assert!(text(&attr(r, "exception.stacktrace")).contains("at pay ("));
        // Outside the default allowlist: the key stays, the value is masked.
        for key in ["event_type", "url.full", "user_agent.original"] {
            assert_eq!(text(&attr(r, key)), "[REDACTED]", "{key}");
        }
        let resource = &line["data"]["resourceLogs"][0]["resource"];
        assert_eq!(text(&attr(resource, "service.name")), "frontend");
        assert_eq!(text(&attr(resource, "service.version")), "1.4.2");
        assert!(!line.to_string().contains("jane.doe"), "{line}");
    }
    let accepted =
        "weir_receiver_accepted_records_total{signal=\"logs\",receiver=\"otlp\",tenant=\"web\"}";
    assert_eq!(weir.metric(accepted).await, 2.0); // Refused bodies are no part of the ledger; every accepted one was delivered.
    let accounts = ledger::assert_balanced(&weir, &[("logs", "debug")]).await;
    assert_eq!(accounts[0].delivered, 2, "{accounts:?}");
}

#[tokio::test]
async fn other_content_types_and_encodings_get_415() {
    let weir = Weir::start(&intake("tenant: web"));
    for (content_type, extra) in [
        ("application/x-www-form-urlencoded", None),
        ("text/plain;charset=ISO-8859-1", None),
        ("application/json", Some(("content-encoding", "gzip"))),
    ] {
        let headers: Vec<(&str, &str)> = extra.into_iter().collect();
        let resp = post(&weir, PATH, content_type, event("m"), &headers).await;
        let (status, body, _) = answer(resp).await;
        assert_eq!(status, 415, "{content_type}: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("application/json or text/plain")),
            "{body}"
        );
    }
    assert!(weir.records_of("logs").is_empty());
}

#[tokio::test]
async fn bodies_over_max_bytes_get_413_and_up_to_it_pass() {
    let weir = Weir::start(&intake("tenant: web, max_bytes: 200"));
    let fits = |n: usize| {
        let base = event("");
        let pad = "x".repeat(n - base.len());
        event(&pad)
    };
    let exact = fits(200);
    assert_eq!(exact.len(), 200);
    let resp = post(&weir, PATH, "application/json", exact, &[]).await;
    assert_eq!(resp.status(), 202);
    let over = fits(201);
    let (status, body, _) = answer(post(&weir, PATH, "application/json", over, &[]).await).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("max_bytes (200 bytes)"))
    );
    assert_eq!(weir.records_of("logs").len(), 1);
    let refused = "weir_receiver_refused_records_total{signal=\"logs\",receiver=\"otlp\",tenant=\"web\",reason=\"too_large\"}";
    assert_eq!(weir.metric(refused).await, 1.0); // Refused bodies are no part of the ledger; every accepted one was delivered.
    let accounts = ledger::assert_balanced(&weir, &[("logs", "debug")]).await;
    assert_eq!(accounts[0].delivered, 1, "{accounts:?}");
}

#[tokio::test]
async fn the_default_limit_is_64_kib() {
    let weir = Weir::start(&intake("tenant: web"));
    let big = event(&"x".repeat(64 * 1024));
    let resp = post(&weir, PATH, "text/plain;charset=UTF-8", big, &[]).await;
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn malformed_bodies_get_400_naming_the_problem() {
    let weir = Weir::start(&intake("tenant: web"));
    for (body, words) in [
        ("{\"level\":\"error\",", "body is not the expected JSON"),
        ("{\"message\":\"m\"}", "missing field `level`"),
        (
            "{\"level\":\"error\",\"message\":[1]}",
            "message: invalid type",
        ),
        (
            "{\"level\":\"loud\",\"message\":\"m\"}",
            "unknown level \"loud\"",
        ),
        ("", "body is not the expected JSON"),
    ] {
        let resp = post(&weir, PATH, "text/plain;charset=UTF-8", body, &[]).await;
        let (status, answer, _) = answer(resp).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(words), "{error:?} should name {words:?}");
        assert!(answer["request_id"].is_string());
    }
    assert!(weir.records_of("logs").is_empty());
}

#[tokio::test]
async fn past_the_per_ip_limit_a_client_gets_429_with_retry_after() {
    let weir = Weir::start(&intake("tenant: web, per_ip_per_minute: 2"));
    for _ in 0..2 {
        let resp = post(&weir, PATH, "application/json", event("m"), &[]).await;
        assert_eq!(resp.status(), 202);
    }
    // Without trusted proxies, X-Forwarded-For is the client's own claim: ignored.
    let spoofed = [("x-forwarded-for", "203.0.113.77")];
    let resp = post(&weir, PATH, "application/json", event("m"), &spoofed).await;
    let (status, body, headers) = answer(resp).await;
    assert_eq!(status, 429, "{body}");
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("whole seconds");
    assert!((1..=30).contains(&retry), "Retry-After {retry}");
    let refused = "weir_receiver_refused_records_total{signal=\"logs\",receiver=\"otlp\",tenant=\"web\",reason=\"rate_limited\"}";
    assert_eq!(weir.metric(refused).await, 1.0);
    assert_eq!(weir.records_of("logs").len(), 2); // Refused bodies are no part of the ledger; every accepted one was delivered.
    let accounts = ledger::assert_balanced(&weir, &[("logs", "debug")]).await;
    assert_eq!(accounts[0].delivered, 2, "{accounts:?}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let weir = Weir::start(&intake(
        "tenant: web, per_ip_per_minute: 1, trusted_proxies: [127.0.0.0/8, 10.0.0.0/8]",
    ));
    let send = |xff: &'static str| {
        let weir = &weir;
        async move {
            post(
                weir,
                PATH,
                "application/json",
                event("m"),
                &[("x-forwarded-for", xff)],
            )
            .await
            .status()
            .as_u16()
        }
    };
    assert_eq!(send("203.0.113.1").await, 202);
    assert_eq!(send("203.0.113.1").await, 429);
    assert_eq!(send("203.0.113.2").await, 202);
    // The hops a client wrote itself do not count: the last untrusted one is the client.
    assert_eq!(send("198.51.100.9, 203.0.113.1, 10.1.2.3").await, 429);
}

#[tokio::test]
async fn cors_answers_allowed_origins_and_refuses_the_rest() {
    let weir = Weir::start(&config(
        "frontend_log: { enabled: true, tenant: web }, cors: { allowed_origins: \
         [\"http://*.example.test\", \"http://127.0.0.1:9\"], allowed_headers: [X-Scope-OrgID], \
         max_age: 600 }",
    ));
    let client = http_client();
    let preflight = |origin: &str, path: &str| {
        client
            .request(
                reqwest::Method::OPTIONS,
                format!("{}{path}", weir.http_base()),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-scope-orgid",
            )
            .send()
    };
    let ok = preflight("http://app.example.test", "/v1/traces")
        .await
        .expect("answer");
    assert!(ok.status().is_success(), "{}", ok.status());
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "http://app.example.test");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "600");
    let allowed = h["access-control-allow-headers"].to_str().expect("text");
    assert!(
        allowed.contains("content-type") && allowed.contains("x-scope-orgid"),
        "{allowed}"
    );
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .expect("text")
            .contains("POST")
    );

    // An actual request from an allowed origin: the header, and X-Request-Id readable.
    let trace =
        std::fs::read(common::tests_path("fixtures/otlp-json/trace.json")).expect("fixture");
    let origin = [("origin", "http://127.0.0.1:9")];
    let resp = post(
        &weir,
        "/v1/traces",
        "application/json",
        trace.clone(),
        &origin,
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://127.0.0.1:9"
    );
    let exposed = resp.headers()["access-control-expose-headers"]
        .to_str()
        .expect("text")
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    let resp = post(&weir, PATH, "text/plain;charset=UTF-8", event("m"), &origin).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://127.0.0.1:9"
    );

    // Other origins: the preflight, an OTLP request and a frontend log are refused, counted.
    let evil = "http://example.test.evil.net";
    assert_eq!(
        preflight(evil, "/v1/traces")
            .await
            .expect("answer")
            .status(),
        403
    );
    let bad = [("origin", evil)];
    let resp = post(&weir, "/v1/traces", "application/json", trace.clone(), &bad).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = post(&weir, PATH, "text/plain;charset=UTF-8", event("m"), &bad).await;
    assert_eq!(resp.status(), 403);
    let counted = "weir_http_cors_refused_total{receiver=\"otlp\"}";
    assert_eq!(weir.metric(counted).await, 3.0);

    // No Origin (an SDK on a server): untouched.
    let resp = post(&weir, "/v1/traces", "application/json", trace, &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert_eq!(weir.records_of("traces").len(), 2);
    assert_eq!(weir.records_of("logs").len(), 1);
}

#[tokio::test]
async fn without_cors_no_page_may_post_frontend_logs() {
    let weir = Weir::start(&intake("tenant: web"));
    let page = [("origin", "http://127.0.0.1:9")];
    let resp = post(&weir, PATH, "text/plain;charset=UTF-8", event("m"), &page).await;
    assert_eq!(resp.status(), 403);
    // The intake is off unless enabled: the path is unknown.
    let off = Weir::start(&config("include_metadata: false"));
    let resp = post(&off, PATH, "application/json", event("m"), &[]).await;
    assert_eq!(resp.status(), 404);
}
