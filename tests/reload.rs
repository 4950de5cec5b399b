//! SIGHUP reloads the config while weir serves: a changed pipeline takes over without losing a
//! record weir acknowledged and without closing a listener whose address stays (a client's
//! keep-alive connection carries requests across the reload); an invalid file is refused with
//! the errors `weir validate` prints and the running config stays; a `load_balancing`
//! exporter given a shorter endpoint list sends the removed endpoint's share to the others.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::ledger::{self, parse};
use common::reload::reload;
use common::{DEBUG_CONFIG, OTLP_RECEIVER, Weir};

fn downstream() -> Weir {
    Weir::start(DEBUG_CONFIG)
}

/// A front weir's config: traces to `exporters` (YAML lines under `exporters:`), exported by
/// the ids in `names`.
fn front_config(exporters: &str, names: &str) -> String {
    format!(
        "{OTLP_RECEIVER}\
exporters:
{exporters}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    traces: {{ receivers: [otlp], exporters: [{names}] }}
"
    )
}

fn otlp_to(w: &Weir) -> String {
    format!(
        "  otlp: {{ endpoint: {}, tls: {{ insecure: true }}, retry_on_failure: {{ initial_interval: 100ms }} }}",
        w.grpc_addr
    )
}

fn span(name: &str, trace: u128) -> String {
    json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": format!("{trace:032x}"), "spanId": "00000000000000a1",
        "name": name, "startTimeUnixNano": "1", "endTimeUnixNano": "2"
    }]}]}]})
    .to_string()
}

/// One HTTP/1.1 POST on an open keep-alive connection; the status code.
fn post_on(conn: &mut BufReader<TcpStream>, body: &str) -> std::io::Result<u16> {
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: weir\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.get_mut().write_all(head.as_bytes())?;
    conn.get_mut().write_all(body.as_bytes())?;
    let mut status = String::new();
    conn.read_line(&mut status)?;
    let code = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        let mut line = String::new();
        conn.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut rest = vec![0; length];
    conn.read_exact(&mut rest)?;
    Ok(code)
}

/// Load on one keep-alive connection: spans `k{i}` until `stop`; the names answered 200.
fn keepalive_load(
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut conn = BufReader::new(stream);
        let mut i = 0u128;
        while !stop.load(Ordering::SeqCst) {
            let name = format!("k{i}");
            // The connection must carry every request: an error here fails the test.
            let code = post_on(&mut conn, &span(&name, i + 1))
                .expect("the keep-alive connection stays up");
            if code == 200 {
                acked.lock().expect("lock").push(name);
            }
            i += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Load on new connections: spans `c{i}`; a refused connection fails the test.
fn connecting_load(
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut i = 0u128;
        while !stop.load(Ordering::SeqCst) {
            let stream = TcpStream::connect(addr).expect("the port never refuses");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut conn = BufReader::new(stream);
            let name = format!("c{i}");
            if post_on(&mut conn, &span(&name, 1_000_000 + i)).expect("answered") == 200 {
                acked.lock().expect("lock").push(name);
            }
            i += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `listening` lines on weir's stderr for `listener`.
fn listening_lines(weir: &Weir, listener: &str) -> usize {
    weir.stderr_lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["message"] == "listening" && e["listener"] == listener)
        .count()
}

async fn reloads(weir: &Weir, result: &str) -> u64 {
    ledger::sum(
        &parse(&weir.admin_metrics().await),
        "weir_config_reloads_total",
        &[("result", result)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_pipeline_under_load_loses_nothing_and_keeps_its_listeners() {
    let (a, b) = (downstream(), downstream());
    let mut front = Weir::start(&front_config(&otlp_to(&a), "otlp"));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let loads = [
        keepalive_load(front.http_addr, Arc::clone(&stop), Arc::clone(&acked)),
        connecting_load(front.http_addr, Arc::clone(&stop), Arc::clone(&acked)),
    ];
    let count = || acked.lock().expect("lock").len();
    wait_until("acknowledged spans before the reload", || count() >= 40);
    // The pipeline now sends to b, through a batch processor.
    let v2 = front_config(&otlp_to(&b), "otlp").replace(
        "exporters:\n",
        "processors:\n  batch: { timeout: 50ms }\nexporters:\n",
    );
    let v2 = v2.replace(
        "exporters: [otlp] }",
        "processors: [batch], exporters: [otlp] }",
    );
    let line = reload(&front, &v2, 1);
    assert_eq!(line["message"], "configuration reloaded", "{line}");
    assert_eq!(line["kept_listeners"], 2, "{line}");
    assert_eq!(line["new_listeners"], 0, "{line}");
    let at_reload = count();
    wait_until("acknowledged spans after the reload", || {
        count() >= at_reload + 40
    });
    stop.store(true, Ordering::SeqCst);
    for l in loads {
        l.join().expect("load thread");
    }
    // Nothing acknowledged is lost: every span reached a or b, and the ledger balances.
    ledger::assert_balanced(&front, &[("traces", "otlp")]).await;
    let acked: BTreeSet<String> = acked.lock().expect("lock").iter().cloned().collect();
    let (at_a, at_b) = (a.span_names(), b.span_names());
    let delivered: BTreeSet<String> = at_a.iter().chain(&at_b).cloned().collect();
    let lost: Vec<&String> = acked.difference(&delivered).collect();
    assert!(
        lost.is_empty(),
        "acknowledged but never delivered: {lost:?}"
    );
    assert!(
        !at_a.is_empty() && !at_b.is_empty(),
        "a before, b after: {} and {}",
        at_a.len(),
        at_b.len()
    );
    // No listener restarted: one `listening` line each, ever.
    assert_eq!(listening_lines(&front, "otlp/http"), 1);
    assert_eq!(listening_lines(&front, "otlp/grpc"), 1);
    assert_eq!(reloads(&front, "success").await, 1);
    assert!(front.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_is_refused_with_the_validate_errors_and_the_running_one_stays() {
    let a = downstream();
    let v1 = front_config(&otlp_to(&a), "otlp");
    let mut front = Weir::start(&v1);
    let bad = v1.replace("exporters: [otlp]", "exporters: [otlphtp]");
    let line = reload(&front, &bad, 1);
    assert_eq!(
        line["message"], "reload refused; the running config stays",
        "{line}"
    );
    assert_eq!(line["result"], "invalid");
    // The same errors as `weir validate` prints for the file.
    let validate = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("validate")
        .arg(front.dir().join("weir.yaml"))
        .output()
        .expect("run weir validate");
    let printed = String::from_utf8_lossy(&validate.stdout).to_string()
        + &String::from_utf8_lossy(&validate.stderr);
    // The error block: its header (`weir.yaml: 1 error`) and its indented lines (warnings,
    // such as a deprecated type name, are printed in a block of their own).
    let mut errors: Vec<&str> = Vec::new();
    let mut in_errors = false;
    for l in printed.lines() {
        if !l.starts_with(' ') {
            in_errors = l.ends_with(" error") || l.ends_with(" errors");
        }
        if in_errors {
            errors.push(l);
        }
    }
    assert!(!errors.is_empty(), "{printed}");
    let logged = line["error"].as_str().expect("an error field");
    for e in errors {
        assert!(logged.contains(e.trim()), "{e:?} not in {logged:?}");
    }
    // Still running the old config.
    let resp = front
        .post_json("/v1/traces", span("after-refusal", 7), &[])
        .await;
    assert_eq!(resp.status(), 200);
    ledger::assert_balanced(&front, &[("traces", "otlp")]).await;
    wait_until("the span at a", || {
        a.span_names().contains(&"after-refusal".to_owned())
    });
    assert_eq!(reloads(&front, "invalid").await, 1);
    assert_eq!(reloads(&front, "success").await, 0);
    assert!(front.stop().success());
}

fn balancing(over: &[&Weir]) -> String {
    let hosts: Vec<String> = over.iter().map(|w| w.grpc_addr.to_string()).collect();
    format!(
        "  load_balancing:
    protocol: {{ otlp: {{ tls: {{ insecure: true }}, retry_on_failure: {{ initial_interval: 100ms }} }} }}
    resolver: {{ static: {{ hostnames: [{}] }} }}",
        hosts.join(", ")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_load_balancing_endpoint_by_reload_sends_its_share_to_the_other() {
    let (a, b) = (downstream(), downstream());
    let mut front = Weir::start(&front_config(&balancing(&[&a, &b]), "load_balancing"));
    for t in 0..40u128 {
        let resp = front
            .post_json("/v1/traces", span(&format!("before{t}"), t + 1), &[])
            .await;
        assert_eq!(resp.status(), 200);
    }
    let line = reload(
        &front,
        &front_config(&balancing(&[&a]), "load_balancing"),
        1,
    );
    assert_eq!(line["message"], "configuration reloaded", "{line}");
    assert_eq!(
        line["retired_exporters"], 0,
        "the exporter took the new list in place: {line}"
    );
    for t in 0..40u128 {
        let resp = front
            .post_json("/v1/traces", span(&format!("after{t}"), t + 1), &[])
            .await;
        assert_eq!(resp.status(), 200);
    }
    // Everything acknowledged is sent (the removed endpoint's queue included), nothing dropped.
    let spread = ledger::settled_spread(&front, "traces", "load_balancing").await;
    assert_eq!((spread.accepted, spread.sent, spread.dropped), (80, 80, 0));
    let samples = parse(&front.admin_metrics().await);
    assert_eq!(ledger::sum(&samples, "weir_loadbalancer_endpoints", &[]), 1);
    let (at_a, at_b) = (a.span_names(), b.span_names());
    assert!(
        at_b.iter().all(|n| n.starts_with("before")),
        "b got nothing after its removal: {at_b:?}"
    );
    assert!(!at_b.is_empty(), "b had its share before");
    let after_at_a = at_a.iter().filter(|n| n.starts_with("after")).count();
    assert_eq!(after_at_a, 40, "b's share went to a");
    assert_eq!(at_a.len() + at_b.len(), 80);
    assert!(front.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_waits_for_a_dead_backend_moves_to_the_exporter_replacing_it() {
    let (mut a, b) = (downstream(), downstream());
    let v1 = front_config(&otlp_to(&a), "otlp");
    assert!(
        a.stop().success(),
        "a is gone: the front's queue holds what it takes"
    );
    let mut front = Weir::start(&v1);
    for t in 0..20u128 {
        let resp = front
            .post_json("/v1/traces", span(&format!("held{t}"), t + 1), &[])
            .await;
        assert_eq!(resp.status(), 200);
    }
    let line = reload(&front, &front_config(&otlp_to(&b), "otlp"), 1);
    assert_eq!(line["retired_exporters"], 1, "{line}");
    let accounts = ledger::assert_balanced(&front, &[("traces", "otlp")]).await;
    assert_eq!(accounts[0].delivered, 20, "{accounts:?}");
    assert!(
        accounts[0].dropped.values().all(|n| *n == 0),
        "{accounts:?}"
    );
    let mut names = b.span_names();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 20, "every held span reached b");
    assert!(front.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_listener_is_bound_anew_and_the_other_stays() {
    let a = downstream();
    let mut front = Weir::start(&front_config(&otlp_to(&a), "otlp"));
    let old_http = front.http_addr;
    let port = common::peers::free_port();
    let v2 = front_config(&otlp_to(&a), "otlp").replacen(
        "http: { endpoint: 127.0.0.1:0 }",
        &format!("http: {{ endpoint: 127.0.0.1:{port} }}"),
        1,
    );
    let line = reload(&front, &v2, 1);
    assert_eq!(
        (
            line["kept_listeners"].as_u64(),
            line["new_listeners"].as_u64()
        ),
        (Some(1), Some(1)),
        "{line}"
    );
    assert_eq!(line["stopped_listeners"], 1, "{line}");
    assert_eq!(listening_lines(&front, "otlp/http"), 2, "bound anew");
    assert_eq!(
        listening_lines(&front, "otlp/grpc"),
        1,
        "the gRPC listener stayed"
    );
    let resp = common::http_client()
        .post(format!("http://127.0.0.1:{port}/v1/traces"))
        .header("content-type", "application/json")
        .body(span("on-the-new-port", 9))
        .send()
        .await
        .expect("the new port answers");
    assert_eq!(resp.status(), 200);
    wait_until("the old port to close", || {
        TcpStream::connect(old_http).is_err()
    });
    ledger::assert_balanced(&front, &[("traces", "otlp")]).await;
    wait_until("the span at a", || {
        a.span_names().contains(&"on-the-new-port".to_owned())
    });
    assert!(front.stop().success(), "the stopped listener is no failure");
}
