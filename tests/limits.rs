//! The receivers' caps and shutdown under abuse, through the real binary: saturated OTLP
//! ports leave the admin listener answering, the default connection budget follows the
//! descriptor limit, and a mute connection does not hold SIGTERM. Every wait is bounded.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{DEBUG_AND_ADMIN, Weir};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(10);

fn config(http: &str, grpc: &str, service: &str) -> String {
    format!(
        "receivers:\n  otlp:\n    protocols:\n      grpc: {{ endpoint: 127.0.0.1:0{grpc} }}\n      \
         http: {{ endpoint: 127.0.0.1:0{http} }}\n{DEBUG_AND_ADMIN}{service}  pipelines:\n    \
         traces: {{ receivers: [otlp], exporters: [debug] }}\n"
    )
}

/// Whether the server closes a fresh connection to `addr` without a word.
async fn refused(addr: SocketAddr) -> bool {
    let mut conn = TcpStream::connect(addr).await.expect("the kernel accepts");
    let mut out = Vec::new();
    match tokio::time::timeout(DEADLINE, conn.read_to_end(&mut out)).await {
        Ok(_) => out.is_empty(),
        Err(_) => false,
    }
}

/// Waits (bounded) until weir holds `n` open connections on `listener`: the kernel completes a
/// connection before weir accepts it, and the listeners accept apart.
async fn held(weir: &Weir, listener: &str, n: usize) {
    let series = format!("weir_receiver_open_connections{{listener=\"{listener}\"}}");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while weir.metric(&series).await < n as f64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} never reached {n}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn open(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut kept = Vec::new();
    for _ in 0..n {
        kept.push(TcpStream::connect(addr).await.expect("connect"));
    }
    kept
}

#[tokio::test]
async fn admin_answers_while_the_otlp_ports_are_saturated() {
    let cap = ", max_connections: 2";
    let weir = Weir::start(&config(cap, cap, ""));
    let _http = open(weir.http_addr, 2).await;
    let _grpc = open(weir.grpc_addr, 2).await;
    held(&weir, "otlp/http", 2).await;
    held(&weir, "otlp/grpc", 2).await;
    assert!(refused(weir.http_addr).await);
    assert!(refused(weir.grpc_addr).await);

    let live = weir.admin_get("/health/live", None).await;
    assert_eq!(live.status(), 200);
    for listener in ["otlp/http", "otlp/grpc"] {
        let series = format!("weir_receiver_connections_refused_total{{listener=\"{listener}\"}}");
        assert_eq!(weir.metric(&series).await, 1.0, "{series}");
    }
    let logged = weir
        .stderr_lines()
        .iter()
        .filter(|l| l.contains("connection refused"))
        .count();
    assert_eq!(logged, 2, "one line per listener and interval");
}

#[tokio::test]
async fn the_default_budget_keeps_descriptors_for_the_admin_listener() {
    if !common::debian_tools(&[("prlimit", "util-linux")]) {
        return;
    }
    // 128 descriptors: 64 kept in reserve, 64 connections shared by the OTLP listeners.
    let weir = Weir::start_with_fd_limit(&config("", "", ""), 128);
    let _http = open(weir.http_addr, 40).await;
    let _grpc = open(weir.grpc_addr, 24).await;
    held(&weir, "otlp/http", 40).await;
    held(&weir, "otlp/grpc", 24).await;
    assert!(refused(weir.http_addr).await);
    assert!(refused(weir.grpc_addr).await);
    let live = weir.admin_get("/health/live", None).await;
    assert_eq!(live.status(), 200);
    let metrics = weir.admin_metrics().await;
    assert!(
        metrics.contains("weir_receiver_open_connections{listener=\"otlp/http\"} 40"),
        "{metrics}"
    );
}

#[tokio::test]
async fn sigterm_is_not_held_by_a_grpc_connection_without_preface() {
    // A drain_timeout longer than the harness waits for weir to exit.
    let mut weir = Weir::start(&config("", "", "  drain_timeout: 120s\n"));
    let _mute = TcpStream::connect(weir.grpc_addr).await.expect("connect");
    // The connection is accepted and being served before the signal.
    let open = "weir_receiver_open_connections{listener=\"otlp/grpc\"} 1";
    let served = async {
        while !weir.admin_metrics().await.contains(open) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(DEADLINE, served)
        .await
        .expect("the mute connection is open");
    let status = weir.stop();
    assert!(status.success(), "{status}");
    assert!(
        !weir
            .stderr_lines()
            .iter()
            .any(|l| l.contains("still open at the drain deadline")),
        "nothing was held to the deadline"
    );
}
