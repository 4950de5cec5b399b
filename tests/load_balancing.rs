//! The `load_balancing` exporter between real weirs on loopback: a front weir spreads spans
//! by trace id over two downstream weirs (each writing what it gets with the JSON `debug`
//! exporter). Every span of a trace lands on one downstream, even when the trace's spans came
//! in different requests and a request mixed traces; when a downstream is gone, its share
//! reaches the other after its retries, counted as rerouted, and nothing acknowledged is lost.
//! The load comes from OTLP/JSON requests built here and from `weir loadgen` over gRPC.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use common::ledger;
use common::{DEBUG_CONFIG, OTLP_RECEIVER, Weir};

/// A downstream weir: every signal to the JSON debug exporter.
fn downstream() -> Weir {
    Weir::start(DEBUG_CONFIG)
}

/// A front weir balancing traces by trace id over `backends` (gRPC addresses), with short
/// retries so that a dead endpoint is given up on in about a second.
fn front(backends: &[&Weir]) -> Weir {
    let hostnames: Vec<String> = backends.iter().map(|w| w.grpc_addr.to_string()).collect();
    Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  load_balancing:
    protocol:
      otlp:
        tls: {{ insecure: true }}
        timeout: 2s
        retry_on_failure: {{ initial_interval: 100ms, max_interval: 200ms, max_elapsed_time: 1s }}
    resolver:
      static: {{ hostnames: [{}] }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], exporters: [load_balancing] }}
",
        hostnames.join(", ")
    ))
}

fn trace_id(t: usize) -> String {
    format!(
        "{:032x}",
        0x5eed_0000_0000_0000_0000_0000_0000_0000u128 + t as u128
    )
}

/// Request `r` of a run: 4 spans each of 10 traces, trace ids shifting by 5 each request so
/// that every trace's spans come in two requests, mixed with other traces.
fn request(r: usize) -> String {
    let spans: Vec<Value> = (0..10)
        .flat_map(|k| {
            let t = r * 5 + k;
            (0..4).map(move |s| {
                json!({
                    "traceId": trace_id(t), "spanId": format!("{:016x}", (r * 1000 + k * 10 + s) as u64 + 1),
                    "name": format!("r{r}/t{t}/s{s}"), "startTimeUnixNano": "1", "endTimeUnixNano": "2"
                })
            })
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": format!("svc{}", r % 3)}}]},
        "scopeSpans": [{"spans": spans}]
    }]})
    .to_string()
}

/// `(trace id, span name)` of every span a downstream's debug exporter wrote.
fn spans_of(w: &Weir) -> Vec<(String, String)> {
    w.spans()
        .iter()
        .map(|s| {
            let id = s["traceId"].as_str().unwrap_or_default().to_owned();
            (id, s["name"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// Waits (bounded) until the front weir has sent, rerouting included, everything it accepted
/// and holds nothing queued; returns `(accepted, sent, dropped, rerouted)`.
async fn settled(front: &Weir) -> (u64, u64, u64, u64) {
    let s = ledger::settled_spread(front, "traces", "load_balancing").await;
    (s.accepted, s.sent, s.dropped, s.rerouted)
}

async fn send(front: &Weir, requests: std::ops::Range<usize>) {
    for r in requests {
        let resp = front.post_json("/v1/traces", request(r), &[]).await;
        assert_eq!(resp.status(), 200, "request {r}");
    }
}

/// Which downstream got each trace; panics when a trace reached both.
fn owners(downstreams: &[&Weir]) -> BTreeMap<String, usize> {
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for (i, w) in downstreams.iter().enumerate() {
        for (trace, name) in spans_of(w) {
            let first = *owner.entry(trace.clone()).or_insert(i);
            assert_eq!(
                first, i,
                "trace {trace} (span {name}) reached two downstreams"
            );
        }
    }
    owner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_span_of_a_trace_reaches_one_downstream() {
    let (a, b) = (downstream(), downstream());
    let f = front(&[&a, &b]);
    send(&f, 0..20).await;
    let (accepted, sent, dropped, rerouted) = settled(&f).await;
    assert_eq!((accepted, sent, dropped, rerouted), (800, 800, 0, 0));
    // The downstreams answer after writing, so what the front sent is in their files.
    let got: usize = spans_of(&a).len() + spans_of(&b).len();
    assert_eq!(got, 800);
    let owner = owners(&[&a, &b]);
    assert_eq!(owner.len(), 20 * 5 + 5, "every trace arrived");
    let on_a = owner.values().filter(|o| **o == 0).count();
    assert!(
        (20..85).contains(&on_a),
        "both downstreams share the traces: {on_a} of 105 on a"
    );
    let names: BTreeSet<String> = spans_of(&a)
        .into_iter()
        .chain(spans_of(&b))
        .map(|s| s.1)
        .collect();
    assert_eq!(names.len(), 800, "no span twice");
    // /health shows each endpoint's queue.
    let health: Value = f
        .admin_get("/health", None)
        .await
        .json()
        .await
        .expect("JSON");
    let exporters = &health["checks"]["exporters"]["exporters"];
    for w in [&a, &b] {
        let id = format!("load_balancing/{}", w.grpc_addr);
        assert!(exporters[&id].is_object(), "{id} in {exporters}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_downstreams_share_reaches_the_other_after_its_retries() {
    let (a, mut b) = (downstream(), downstream());
    let f = front(&[&a, &b]);
    assert!(b.stop().success());
    send(&f, 0..20).await;
    let (accepted, sent, dropped, rerouted) = settled(&f).await;
    assert_eq!((accepted, sent, dropped), (800, 800, 0));
    assert!(rerouted > 0, "b's share was handed over");
    assert_eq!(spans_of(&a).len(), 800, "everything reached a");
    let lines = f.stderr_lines();
    assert!(
        lines.iter().any(|l| l.contains("endpoint marked down")),
        "the failure is logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_loadgen_over_grpc_every_trace_stays_on_one_downstream() {
    let (a, b) = (downstream(), downstream());
    let f = front(&[&a, &b]);
    let dir = tempfile::tempdir().expect("temp dir");
    let summary_path = dir.path().join("summary.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args([
            "loadgen",
            "--endpoint",
            &f.grpc_base(),
            "--protocol",
            "grpc",
        ])
        .args([
            "--count",
            "40",
            "--records-per-request",
            "64",
            "--tenants",
            "3",
        ])
        .args(["--concurrency", "4", "--connections", "2", "--summary-json"])
        .arg(&summary_path)
        .output()
        .expect("run weir loadgen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).expect("summary"))
            .expect("summary JSON");
    let acked = summary["records_acked"].as_u64().expect("records_acked");
    assert_eq!(acked, 40 * 64, "{summary}");
    let (accepted, sent, dropped, _) = settled(&f).await;
    assert_eq!((accepted, sent, dropped), (acked, acked, 0));
    assert_eq!((spans_of(&a).len() + spans_of(&b).len()) as u64, acked);
    let owner = owners(&[&a, &b]);
    assert!(
        owner.values().any(|o| *o == 0) && owner.values().any(|o| *o == 1),
        "both downstreams have traces"
    );
}
