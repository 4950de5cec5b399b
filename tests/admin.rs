//! The admin listener as an operator sees it: the JSON metrics view, `/health`, readiness while
//! draining, and weir's own log lines carrying the request id of the request that caused them.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{OTLP_RECEIVER, Weir, http_client, ledger, tests_path};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(tests_path(&format!("fixtures/otlp-json/{name}"))).expect("fixture")
}

async fn get_json(weir: &Weir, path: &str) -> (u16, Value) {
    let resp = weir.admin_get(path, None).await;
    let code = resp.status().as_u16();
    (code, resp.json().await.expect("json"))
}

#[tokio::test]
async fn json_view_and_health_show_what_was_sent() {
    let weir = Weir::start(common::DEBUG_CONFIG);
    for _ in 0..2 {
        assert_eq!(
            weir.post_json("/v1/traces", fixture("trace.json"), &[])
                .await
                .status(),
            200
        );
    }
    let logs = weir
        .post_json(
            "/v1/logs",
            fixture("logs.json"),
            &[("x-scope-orgid", "team-a")],
        )
        .await;
    assert_eq!(logs.status(), 200);
    assert_eq!(
        weir.post_json("/v1/traces", b"{".to_vec(), &[])
            .await
            .status(),
        400
    );

    let (code, m) = get_json(&weir, "/metrics?format=json").await;
    assert_eq!(code, 200);
    assert_eq!(
        m["receivers"]["otlp"]["traces"]["accepted_records"]["total"], 2,
        "{m}"
    );
    assert_eq!(
        m["tenants"]["default"]["accepted_records"]["total"], 2,
        "{m}"
    );
    assert_eq!(
        m["tenants"]["team-a"]["accepted_records"]["total"], 1,
        "{m}"
    );
    assert_eq!(m["http"]["/v1/traces"]["200"]["total"], 2, "{m}");
    assert_eq!(m["http"]["/v1/traces"]["400"]["total"], 1, "{m}");
    // One sample: no rate yet, rather than a guess from it.
    assert!(
        m["http"]["/v1/traces"]["200"]["rate_per_second"].is_null(),
        "{m}"
    );
    assert!(m["rate_window_seconds"].is_null(), "{m}");
    assert!(
        m["tenants"]["default"]["accepted_records"]["rate_per_second"].is_null(),
        "{m}"
    );
    assert_eq!(
        m["exporters"]["debug"]["sent_records"]["traces"]["total"], 2,
        "{m}"
    );
    assert_eq!(m["pipelines"].as_array().map(Vec::len), Some(3));

    // A second sample: the rate is over the window since the first.
    assert_eq!(
        weir.post_json("/v1/traces", fixture("trace.json"), &[])
            .await
            .status(),
        200
    );
    let (_, m) = get_json(&weir, "/metrics?format=json").await;
    assert!(
        m["rate_window_seconds"].as_f64().expect("window") > 0.0,
        "{m}"
    );
    assert!(
        m["http"]["/v1/traces"]["200"]["rate_per_second"]
            .as_f64()
            .expect("rate")
            > 0.0,
        "{m}"
    );

    let (code, h) = get_json(&weir, "/health").await;
    assert_eq!(code, 200);
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["ready"], true);
    let debug = &h["checks"]["exporters"]["exporters"]["debug"];
    assert_eq!(debug["status"], "healthy", "{h}");
    assert!(debug["last_success_unix"].as_f64().is_some(), "{h}");
    let listeners: Vec<&str> = h["checks"]["receivers"]["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .filter_map(|l| l["listener"].as_str())
        .collect();
    assert_eq!(listeners, ["otlp/grpc", "otlp/http"]);
    let accounts = ledger::assert_balanced(&weir, &[("traces", "debug"), ("logs", "debug")]).await;
    assert_eq!(
        [accounts[0].delivered, accounts[1].delivered],
        [3, 1],
        "{accounts:?}"
    );
}

#[tokio::test]
async fn readiness_is_503_while_draining_and_health_says_why() {
    // A backend that is not there: the relay's queue holds the batch and retries it while
    // draining, so the drain lasts until drain_timeout.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let mut weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  otlp:
    endpoint: http://{dead_addr}
    retry_on_failure: {{ initial_interval: 100ms, max_interval: 100ms }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  drain_timeout: 4s
  pipelines:
    traces: {{ receivers: [otlp], exporters: [otlp] }}
"
    ));
    let ready = weir.admin_get("/health/ready", None).await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        weir.post_json("/v1/traces", fixture("trace.json"), &[])
            .await
            .status(),
        200
    );

    let killed = Command::new("kill")
        .args(["-TERM", &weir.pid().to_string()])
        .status();
    assert!(killed.expect("kill").success());
    // Bounded wait for the draining state to be visible.
    let deadline = Instant::now() + Duration::from_secs(3);
    let (code, body) = loop {
        let r = http_client()
            .get(format!("http://{}/health/ready", weir.admin_addr))
            .send()
            .await;
        if let Ok(r) = r {
            let code = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            if code == 503 || Instant::now() > deadline {
                break (code, body);
            }
        }
        assert!(Instant::now() < deadline, "readiness never turned 503");
        tokio::task::yield_now().await;
    };
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("draining"), "{body}");
    let (code, h) = get_json(&weir, "/health").await;
    assert_eq!(code, 503);
    assert_eq!(h["status"], "unhealthy", "{h}");
    assert_eq!(h["ready"], false);
    let otlp = &h["checks"]["exporters"]["exporters"]["otlp"];
    assert!(otlp["last_error"]["message"].as_str().is_some(), "{h}");

    let status = weir.stop();
    assert!(status.success(), "weir exits 0 after draining: {status}");
    let dropped = weir
        .stderr_lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|l| {
            l["message"] == "records dropped" && l["reason"] == "shutdown" && l["records"] == 1
        });
    assert!(
        dropped,
        "the undeliverable span is counted as dropped at shutdown"
    );
}

#[tokio::test]
async fn log_lines_carry_the_request_id_that_caused_them() {
    // Writing to /dev/full fails: the export failure is logged inside the request.
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  debug: {{ path: /dev/full, format: json }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
"
    ));
    let resp = weir
        .post_json(
            "/v1/traces",
            fixture("trace.json"),
            &[
                ("x-request-id", "req-log-1"),
                (
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ),
            ],
        )
        .await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["x-request-id"], "req-log-1");
    let refused = weir
        .post_json(
            "/v1/traces",
            b"{}".to_vec(),
            &[("x-request-id", "req-log-2"), ("x-scope-orgid", "a/b")],
        )
        .await;
    assert_eq!(refused.status(), 400);

    let lines: Vec<Value> = weir
        .stderr_lines_once(|l| l.contains("request refused") && l.contains("req-log-2"))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is JSON ({e}): {l}")))
        .collect();
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "export failed")
        .collect();
    assert_eq!(failed.len(), 1, "{lines:?}");
    assert_eq!(failed[0]["level"], "WARN");
    assert_eq!(failed[0]["span"]["request_id"], "req-log-1");
    assert_eq!(failed[0]["span"]["tenant"], "default");
    assert_eq!(
        failed[0]["span"]["trace_id"],
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    let refusals: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "request refused" && l["request_id"] == "req-log-2")
        .collect();
    assert_eq!(refusals.len(), 1, "{lines:?}");
    assert_eq!(refusals[0]["status"], 400);
    // The failed inline export was answered 503 (the client retries it): not accepted.
    let accounts = ledger::assert_balanced(&weir, &[("traces", "debug")]).await;
    assert_eq!(accounts[0].accepted, 0, "{accounts:?}");
}

/// A page on another origin that rebinds its name to 127.0.0.1 must not read weir's figures.
#[tokio::test]
async fn only_ip_addresses_localhost_and_allowed_names_are_answered() {
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}exporters:\n  debug: {{ verbosity: basic, path: {{OUT}} }}\n\
         service:\n  admin: {{ endpoint: 127.0.0.1:0, allowed_hosts: [weir.internal] }}\n  \
         pipelines:\n    traces: {{ receivers: [otlp], exporters: [debug] }}\n"
    ));
    let port = weir.admin_addr.port();
    let get = |host: String| {
        http_client()
            .get(format!("http://{}/metrics", weir.admin_addr))
            .header("host", host)
            .send()
    };
    for allowed in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("weir.internal:{port}"),
    ] {
        assert_eq!(
            get(allowed.clone()).await.expect("answer").status(),
            200,
            "{allowed}"
        );
    }
    let refused = get(format!("rebound.attacker.example:{port}"))
        .await
        .expect("answer");
    assert_eq!(refused.status(), 421);
    assert!(
        !refused.text().await.expect("body").contains("weir_"),
        "no figures"
    );
    assert_eq!(
        weir.metric("weir_auth_failures_total{reason=\"bad_host\"}")
            .await,
        1.0
    );
}
