//! The ops page with a dead backend, as an operator looks at it: the queue row gives depth and
//! capacity in the queue's own unit ("5 of 5 requests (100.0%)") and the bytes it holds against
//! `max_bytes`, with the records queued beside them; `/health` says the same fill; and the
//! charts of the last 15 minutes, served in `overview.json` and drawn as inline SVG, show the
//! records accepted, the requests refused and the queue filling, in a real browser (Debian's
//! `chromium`, headless).

mod common;

use std::net::TcpListener;
use std::time::Instant;

use serde_json::Value;

use common::ops::{PAGE, chromium, dump_dom, find, overview, overview_when};
use common::{DEADLINE, OTLP_RECEIVER, Weir, http_client, tests_path};

const TOKEN: &str = "ops-token-0123456789abcdef";
const DEAD: &str = "otlphttp/dead";
/// The dead exporter's `queue_size`, in requests (the default sizer).
const QUEUE_SIZE: u64 = 5;
/// The default `sending_queue.max_bytes`.
const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// An address nothing listens on (it did a moment ago): every export to it fails to connect.
fn dead_backend() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// Traces go to an exporter whose backend is dead and that retries every second forever with
/// a queue of [`QUEUE_SIZE`] requests; a full queue refuses at once. What is queued is given
/// up a second after the stop.
fn config(backend: &str) -> String {
    format!(
        "{OTLP_RECEIVER}exporters:
  {DEAD}:
    endpoint: {backend}
    sending_queue: {{ queue_size: {QUEUE_SIZE}, num_consumers: 1, overflow_wait: 0s }}
    retry_on_failure: {{ initial_interval: 1s, max_interval: 1s, max_elapsed_time: 0s }}
service:
  admin: {{ endpoint: 127.0.0.1:0, ops: {{ token: \"{TOKEN}\", refresh_interval: 1s }} }}
  drain_timeout: 1s
  pipelines:
    traces: {{ receivers: [otlp], exporters: [{DEAD}] }}
"
    )
}

/// The numbers of array `v`.
fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// The part of `dom` from `start` to the next `end`.
fn between<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    dom.split(start)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or_else(|| panic!("no {start} in: {dom}"))
}

/// The y of every point of the SVG path `<path … data-series="{series}" … d="…">` in `chart`.
fn path_ys(chart: &str, series: &str) -> Vec<f64> {
    let path = between(chart, &format!("data-series=\"{series}\""), ">");
    let d = between(path, " d=\"", "\"");
    d.split(['M', 'L'])
        .filter_map(|point| point.split(' ').nth(1))
        .map(|y| y.parse().unwrap_or_else(|_| panic!("bad y {y} in {d}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_backend_fills_its_queue_in_requests_and_the_charts_show_it() {
    if !common::debian_tools(&[("chromium", "chromium")]) {
        return;
    }
    let browser = chromium();
    let weir = Weir::start(&config(&dead_backend()));
    let trace = std::fs::read(tests_path("fixtures/otlp-json/trace.json")).expect("fixture");
    let spans = serde_json::from_slice::<Value>(&trace).expect("fixture JSON")["resourceSpans"]
        [0]["scopeSpans"][0]["spans"]
        .as_array()
        .expect("spans")
        .len() as u64;

    // Send until the queue refuses and is seen full (one request may still be on its way to
    // the consumer when the first refusal comes).
    let until = Instant::now() + DEADLINE;
    let mut accepted = 0u64;
    loop {
        let status = weir
            .post_json("/v1/traces", trace.clone(), &[])
            .await
            .status();
        match status.as_u16() {
            200 => accepted += 1,
            503 => {
                let o = overview(&weir, TOKEN).await;
                if find(&o["queues"], &[("exporter", DEAD)])["size"] == QUEUE_SIZE {
                    break;
                }
            }
            other => panic!("weir answered {other}"),
        }
        assert!(Instant::now() < until, "the queue never filled");
    }

    // The charts' points: accepted and refused per second, and the queue full at the end.
    let o = overview_when(&weir, TOKEN, |o| {
        let h = &o["history"];
        let any = |k: &str| floats(&h[k]).iter().any(|v| *v > 0.0);
        let fill = floats(&h["queue_fill"][DEAD]);
        any("accepted_per_second")
            && (any("refused_per_second") || any("refused_requests_per_second"))
            && fill.last() == Some(&1.0)
    })
    .await;
    let h = &o["history"];
    let points = floats(&h["at_unix"]).len();
    assert!((1..=900).contains(&points), "{h}");
    for series in [
        "accepted_per_second",
        "refused_per_second",
        "dropped_per_second",
    ] {
        assert_eq!(floats(&h[series]).len(), points, "{series} is not aligned");
    }

    // The queue in one unit, requests, and in bytes: every accepted request holds its bytes
    // (queued, or being retried), none was delivered.
    let q = find(&o["queues"], &[("exporter", DEAD)]);
    assert_eq!(q["sizer"], "requests", "{q}");
    assert_eq!(
        (&q["size"], &q["capacity"]),
        (&json(QUEUE_SIZE), &json(QUEUE_SIZE))
    );
    assert_eq!(q["fill"], 1.0);
    assert_eq!(q["records"], QUEUE_SIZE * spans, "{q}");
    let bytes = accepted * trace.len() as u64;
    assert_eq!(
        (&q["bytes"], &q["max_bytes"]),
        (&json(bytes), &json(MAX_BYTES))
    );
    let health: Value = http_client()
        .get(format!("http://{}/health", weir.admin_addr))
        .send()
        .await
        .expect("GET /health")
        .json()
        .await
        .expect("health JSON");
    let e = &health["checks"]["exporters"]["exporters"][DEAD];
    assert_eq!(
        (&e["queue_fill"], &e["status"]),
        (&json(1.0), &json("degraded"))
    );

    // In the browser.
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "http://ops:{TOKEN}@127.0.0.1:{}{PAGE}",
        weir.admin_addr.port()
    );
    let dom = dump_dom(&browser, &dir.path().join("profile"), &url, 2000).await;
    let row = between(&dom, &format!("<tr data-row=\"queue {DEAD}\">"), "</tr>");
    assert!(
        row.contains(&format!(">{QUEUE_SIZE} of {QUEUE_SIZE} requests (100.0%)<")),
        "{row}"
    );
    assert!(
        (1024..1024 * 1024).contains(&bytes),
        "{bytes} B is not in KiB"
    );
    let held = format!(">{:.1} KiB of 8.0 MiB (", bytes as f64 / 1024.0);
    assert!(row.contains(&held), "{held} missing from {row}");
    assert!(row.contains(&format!(">{}<", QUEUE_SIZE * spans)), "{row}");
    assert!(row.contains("class=\"fill\">100.0%</span>"), "{row}");

    let chart = between(&dom, "id=\"chart-accepted\"", "</figure>");
    let ys = path_ys(chart, "records");
    assert!(ys.iter().any(|y| *y < 60.0), "no point above zero: {chart}");
    let chart = between(&dom, "id=\"chart-refused\"", "</figure>");
    let refused: Vec<f64> = ["records", "requests refused unread"]
        .iter()
        .filter(|s| chart.contains(&format!("data-series=\"{s}\"")))
        .flat_map(|s| path_ys(chart, s))
        .collect();
    assert!(refused.iter().any(|y| *y < 60.0), "no refusal: {chart}");
    let chart = between(&dom, "id=\"chart-fill\"", "</figure>");
    assert_eq!(path_ys(chart, DEAD).last(), Some(&2.0), "not full: {chart}");
    assert!(!dom.contains(TOKEN), "the token is in the DOM");
}

fn json(v: impl Into<Value>) -> Value {
    v.into()
}
