//! The ops page (`/admin/ops/overview` and its `.json`) as an operator meets it: gated by the
//! ops token (Bearer or HTTP Basic) or, without one, by a loopback admin endpoint; its figures
//! after known traffic, the same as `/metrics?format=json`; a backend's `<script>` in an
//! exporter error escaped, and no secret from the config or the backend on it; and the page in
//! a real browser (Debian's `chromium`, headless), which renders it, refreshes it with the
//! credentials it signed in with, and screenshots it.

mod common;

use serde_json::{Value, json};

use common::ops::{DATA, PAGE, chromium, dump_dom, find, run_chromium};
use common::{OTLP_RECEIVER, Weir, http_client, tests_path};

const TOKEN: &str = "ops-token-0123456789abcdef";
/// How the page starts the row of traces accepted by the `otlp` receiver.
const ACCEPTED_TRACES_ROW: &str =
    "<tr data-row=\"accepted otlp traces\"><td>otlp</td><td>traces</td><td class=\"num\">";

/// Secrets that must never reach the page: the exporter's header, and what the backend echoes.
const SECRETS: [&str; 3] = [
    "exporter-header-secret-77",
    "backend-echoed-secret-42",
    "hunter2",
];

/// What the fake backend answers every export with.
const BACKEND_BODY: &str = "<script>alert('pwned')</script> refused; Authorization: Bearer \
    backend-echoed-secret-42 from http://admin:hunter2@db.internal/x";

/// Debug exporter for every signal, admin on an ephemeral loopback port with `ops` settings.
fn debug_config(ops: &str) -> String {
    common::DEBUG_CONFIG.replace(
        "admin: { endpoint: 127.0.0.1:0 }",
        &format!("admin: {{ endpoint: 127.0.0.1:0, ops: {ops} }}"),
    )
}

/// Tenants from `X-Scope-OrgID`, limited to 1 record/s (burst 2) except `o'brien(*)` and
/// `team-a`; traces also go to an otlphttp exporter whose backend refuses with `BACKEND_BODY`.
fn traffic_config(backend: &str, ops: &str) -> String {
    format!(
        "{OTLP_RECEIVER}    tenant:
      from: [{{ header: X-Scope-OrgID }}]
processors:
  tenant_limit:
    records_per_second: 1
    burst: 2
    overrides:
      \"o'brien(*)\": {{ records_per_second: 1000, burst: 1000 }}
      team-a: {{ records_per_second: 1000, burst: 1000 }}
exporters:
  debug: {{ verbosity: detailed, format: json, path: {{OUT}} }}
  otlphttp/bad:
    endpoint: {backend}
    headers: {{ authorization: \"Bearer {}\" }}
    retry_on_failure: {{ enabled: false }}
service:
  admin: {{ endpoint: 127.0.0.1:0, ops: {ops} }}
  pipelines:
    traces: {{ receivers: [otlp], processors: [tenant_limit], exporters: [debug, otlphttp/bad] }}
    logs: {{ receivers: [otlp], processors: [tenant_limit], exporters: [debug] }}
",
        SECRETS[0]
    )
}

/// A backend that answers every request 400 with [`BACKEND_BODY`] as text.
async fn refusing_backend() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind backend");
    let addr = listener.local_addr().expect("backend addr");
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::BAD_REQUEST,
            [("content-type", "text/plain")],
            BACKEND_BODY,
        )
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(tests_path(&format!("fixtures/otlp-json/{name}"))).expect("fixture")
}

/// GETs `path` on the admin listener with `auth` applied.
async fn get(
    weir: &Weir,
    path: &str,
    auth: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    let req = http_client().get(format!("http://{}{path}", weir.admin_addr));
    auth(req)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// The body of `path` on the admin listener, with `auth` applied.
async fn body(
    weir: &Weir,
    path: &str,
    auth: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> String {
    get(weir, path, auth).await.text().await.expect("body")
}

/// Polls the overview until `done` holds for it.
async fn overview_when(weir: &Weir, done: impl Fn(&Value) -> bool) -> Value {
    common::ops::overview_when(weir, TOKEN, done).await
}

/// Sends known traffic: 3 single-span traces as `o'brien(*)`, 2 logs as `team-a`, and 6
/// single-span traces as `noisy` (burst 2 at 1/s: some are refused). Returns how many `noisy` got
/// through, and how many were refused.
async fn send_traffic(weir: &Weir) -> (u64, u64) {
    let trace = fixture("trace.json");
    for _ in 0..3 {
        let r = weir
            .post_json(
                "/v1/traces",
                trace.clone(),
                &[("x-scope-orgid", "o'brien(*)")],
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    for _ in 0..2 {
        let r = weir
            .post_json(
                "/v1/logs",
                fixture("logs.json"),
                &[("x-scope-orgid", "team-a")],
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let (mut passed, mut refused) = (0, 0);
    for _ in 0..6 {
        let r = weir
            .post_json("/v1/traces", trace.clone(), &[("x-scope-orgid", "noisy")])
            .await;
        match r.status().as_u16() {
            200 => passed += 1,
            429 => refused += 1,
            other => panic!("noisy tenant answered {other}"),
        }
    }
    assert!(refused > 0, "burst 2 let 6 requests through");
    (passed, refused)
}

#[tokio::test]
async fn the_page_needs_the_token_as_bearer_or_as_basic_password() {
    let weir = Weir::start(&debug_config(&format!("{{ token: \"{TOKEN}\" }}")));
    for path in [PAGE, DATA] {
        let none = get(&weir, path, |r| r).await;
        assert_eq!(none.status(), 401, "{path} without credentials");
        let challenge = none.headers()["www-authenticate"]
            .to_str()
            .expect("text")
            .to_owned();
        assert!(
            challenge.starts_with("Basic realm=\"weir ops\""),
            "{challenge}"
        );
        assert!(none.text().await.expect("body").contains("Bearer"));

        let wrong = [
            get(&weir, path, |r| r.bearer_auth("ops-token-0123456789abcdeX")).await,
            get(&weir, path, |r| r.basic_auth("ops", Some("nope"))).await,
            get(&weir, path, |r| r.basic_auth(TOKEN, None::<&str>)).await,
        ];
        for resp in wrong {
            assert_eq!(resp.status(), 401, "{path} with wrong credentials");
        }

        let bearer = get(&weir, path, |r| r.bearer_auth(TOKEN)).await;
        let basic = get(&weir, path, |r| r.basic_auth("anyone", Some(TOKEN))).await;
        for resp in [bearer, basic] {
            assert_eq!(resp.status(), 200, "{path}");
            assert_eq!(resp.headers()["cache-control"], "no-store");
            let body = resp.text().await.expect("body");
            assert!(!body.contains(TOKEN), "the token is on {path}");
        }
    }
    let page = get(&weir, PAGE, |r| r.bearer_auth(TOKEN)).await;
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("text/html")
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("text");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'sha256-"),
        "{csp}"
    );

    for (reason, n) in [("ops_missing_token", 2.0), ("ops_invalid_token", 6.0)] {
        let series = format!("weir_auth_failures_total{{reason=\"{reason}\"}}");
        assert_eq!(weir.metric(&series).await, n, "{series}");
    }
}

#[tokio::test]
async fn without_a_token_the_page_is_served_on_a_loopback_endpoint_only() {
    let local = Weir::start(&debug_config("{}"));
    for path in [PAGE, DATA] {
        assert_eq!(get(&local, path, |r| r).await.status(), 200, "{path}");
    }

    let open = Weir::start(&common::DEBUG_CONFIG.replace(
        "admin: { endpoint: 127.0.0.1:0 }",
        "admin: { endpoint: 0.0.0.0:0 }",
    ));
    // Bound to 0.0.0.0: reached here over loopback, and refused all the same.
    let resp = get(&open, PAGE, |r| r.bearer_auth(TOKEN)).await;
    assert_eq!(resp.status(), 403);
    let why = resp.text().await.expect("body");
    assert!(why.contains("set service.admin.ops.token"), "{why}");
    let lines = open.stderr_lines();
    let warned = lines.iter().any(|l| l.contains("the ops page answers 403"));
    assert!(warned, "no warning at start");
    // The rest of the admin listener is unchanged.
    assert_eq!(get(&open, "/health/live", |r| r).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_known_traffic_escaped_and_without_secrets() {
    let backend = refusing_backend().await;
    let weir = Weir::start(&traffic_config(
        &backend,
        &format!("{{ token: \"{TOKEN}\" }}"),
    ));
    let (noisy_passed, noisy_refused) = send_traffic(&weir).await;
    let o = overview_when(&weir, |o| {
        o["errors"]["failed"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
            && o["incidents"]
                .as_array()
                .is_some_and(|i| i.iter().any(|i| i["kind"] == "export_error"))
    })
    .await;

    let traces = 3 + noisy_passed;
    let accepted = find(
        &o["throughput"]["accepted"],
        &[("receiver", "otlp"), ("signal", "traces")],
    );
    assert_eq!(accepted["records"]["total"], traces, "{o:#}");
    let logs = find(
        &o["throughput"]["accepted"],
        &[("receiver", "otlp"), ("signal", "logs")],
    );
    assert_eq!(logs["records"]["total"], 2);
    assert_eq!(o["errors"]["totals"]["accepted"]["total"], traces + 2);
    let sent = find(
        &o["throughput"]["sent"],
        &[("exporter", "debug"), ("signal", "traces")],
    );
    assert_eq!(sent["total"], traces);
    let tenant = find(&o["throughput"]["tenants"], &[("tenant", "o'brien(*)")]);
    assert_eq!(tenant["accepted"]["total"], 3);
    let refused = find(
        &o["errors"]["refused"],
        &[("receiver", "otlp"), ("reason", "rate_limited")],
    );
    assert_eq!(refused["total"], noisy_refused);
    assert_eq!(
        find(&o["throughput"]["tenants"], &[("tenant", "noisy")])["refused"]["total"],
        noisy_refused
    );
    let failed = find(&o["errors"]["failed"], &[("exporter", "otlphttp/bad")]);
    assert!(failed["total"].as_u64().is_some_and(|n| n >= 1), "{o:#}");

    // The same figures as /metrics?format=json.
    let m: Value =
        serde_json::from_str(&body(&weir, "/metrics?format=json", |r| r).await).expect("json");
    assert_eq!(
        m["receivers"]["otlp"]["traces"]["accepted_records"]["total"],
        traces
    );
    assert_eq!(m["tenants"]["o'brien(*)"]["accepted_records"]["total"], 3);

    // Health, queues and incidents.
    assert_eq!(o["health"]["state"], "ready");
    assert_eq!(o["health"]["status"], "degraded");
    let bad = find(&o["health"]["exporters"], &[("exporter", "otlphttp/bad")]);
    assert_eq!(bad["status"], "degraded");
    let message = bad["last_error"]["message"].as_str().expect("message");
    assert!(
        message.contains("<script>alert('pwned')</script>"),
        "{message}"
    );
    assert!(
        message.contains("Authorization: [REDACTED]")
            && message.contains("http://[REDACTED]@db.internal"),
        "{message}"
    );
    let queue = find(&o["queues"], &[("exporter", "otlphttp/bad")]);
    assert!(queue["capacity"].as_u64().is_some_and(|c| c > 0), "{queue}");
    let listeners: Vec<&str> = o["health"]["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .filter_map(|l| l["listener"].as_str())
        .collect();
    assert_eq!(listeners, ["otlp/grpc", "otlp/http", "admin"]);
    let incidents = o["incidents"].as_array().expect("incidents");
    assert!(
        incidents.iter().any(|i| i["kind"] == "refused"
            && i["reason"] == "rate_limited"
            && i["tenant"] == "noisy"
            && i["count"] == json!(noisy_refused)),
        "{o:#}"
    );
    assert!(
        incidents
            .iter()
            .any(|i| i["kind"] == "export_error" && i["component"] == "otlphttp/bad"),
        "{o:#}"
    );

    // The HTML: escaped, and with one script, the page's own.
    let html = body(&weir, PAGE, |r| r.basic_auth("ops", Some(TOKEN))).await;
    assert!(
        html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"),
        "backend text not escaped"
    );
    assert_eq!(html.matches("<script").count(), 1, "a script got in");
    assert!(
        html.contains("o&#39;brien(*)") && !html.contains("o'brien"),
        "tenant not escaped"
    );
    assert!(html.contains(ACCEPTED_TRACES_ROW), "no accepted row");
    let json_text = o.to_string();
    for secret in SECRETS.iter().chain([&TOKEN]) {
        assert!(
            !html.contains(secret) && !json_text.contains(secret),
            "{secret} is on the page"
        );
    }
    let health = body(&weir, "/health", |r| r).await;
    assert!(
        !SECRETS.iter().any(|s| health.contains(s)),
        "a secret is in /health: {health}"
    );
    let logs = weir.stderr_lines().join("\n");
    assert!(
        logs.contains("[REDACTED]"),
        "the backend's answer is logged, masked"
    );
    assert!(
        !SECRETS[1..].iter().any(|s| logs.contains(s)),
        "a secret the backend echoed is in weir's log: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_page_and_keeps_it_fresh() {
    if !common::debian_tools(&[("chromium", "chromium")]) {
        return;
    }
    let browser = chromium();
    let backend = refusing_backend().await;
    let ops = format!("{{ token: \"{TOKEN}\", refresh_interval: 1s }}");
    let weir = Weir::start(&traffic_config(&backend, &ops));
    let (noisy_passed, _) = send_traffic(&weir).await;
    overview_when(&weir, |o| {
        o["errors"]["failed"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    })
    .await;

    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "http://ops:{TOKEN}@127.0.0.1:{}{PAGE}",
        weir.admin_addr.port()
    );
    let (profile, shot) = (dir.path().join("profile"), dir.path().join("ops.png"));
    let dom = dump_dom(&browser, &profile, &url, 5000).await;

    // The script ran and refreshed the page at least once with the credentials of the URL.
    let refreshes = dom
        .split("data-refreshes=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse::<u32>().ok());
    assert!(
        refreshes.is_some_and(|n| n >= 1),
        "the page never refreshed: {dom}"
    );
    assert!(dom.contains("live: updated"), "{dom}");
    let traces = 3 + noisy_passed;
    let cells = dom
        .split(ACCEPTED_TRACES_ROW)
        .nth(1)
        .unwrap_or_else(|| panic!("no accepted row: {dom}"));
    assert!(
        cells.contains(&format!("<td class=\"num\">{traces}</td>")),
        "{cells}"
    );
    for exporter in ["debug", "otlphttp/bad"] {
        assert!(
            dom.contains(&format!("<tr data-row=\"queue {exporter}\">")),
            "{exporter}: {dom}"
        );
    }
    assert!(
        dom.contains("class=\"fill\">0.0%</span>"),
        "no queue fill: {dom}"
    );
    assert!(dom.contains("o'brien(*)"), "tenant missing from the DOM");
    assert!(
        dom.contains("&lt;script&gt;alert('pwned')"),
        "the backend's script is not text: {dom}"
    );
    assert!(
        !SECRETS.iter().chain([&TOKEN]).any(|s| dom.contains(s)),
        "a secret is in the DOM"
    );

    let screenshot = format!("--screenshot={}", shot.display());
    tokio::task::spawn_blocking(move || {
        run_chromium(
            &browser,
            &profile,
            &[
                "--window-size=1280,1800",
                "--virtual-time-budget=2000",
                &screenshot,
            ],
            &url,
        )
    })
    .await
    .expect("chromium task");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "screenshot is only {} bytes", png.len());
}
