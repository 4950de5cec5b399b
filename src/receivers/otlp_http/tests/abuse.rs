//! Slow, short and greedy clients against the OTLP/HTTP receiver, with small limits so that
//! each case ends in well under a second. Every wait is on an event (an answer, the server
//! closing the connection, a gauge reaching a value) bounded by [`DEADLINE`].

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// What turns a hang into a failure.
const DEADLINE: Duration = Duration::from_secs(10);

fn small(f: impl FnOnce(&mut HttpConfig)) -> HttpConfig {
    let mut cfg = HttpConfig {
        endpoint: "127.0.0.1:0".into(),
        ..HttpConfig::default()
    };
    f(&mut cfg);
    cfg
}

/// Everything the server sends until it closes the connection.
async fn until_closed(conn: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(DEADLINE, conn.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .ok(); // a reset after the answer is a close too
    String::from_utf8_lossy(&out).into_owned()
}

fn head(path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: weir\r\ncontent-type: application/x-protobuf\r\n\
         content-length: {length}\r\n\r\n"
    )
}

#[tokio::test]
async fn a_body_cut_short_is_400_not_413() {
    let h = start(Vec::new(), 1 << 20).await;
    let mut conn = TcpStream::connect(h.addr).await.expect("connect");
    conn.write_all(head("/v1/traces", 1000).as_bytes())
        .await
        .expect("head");
    conn.write_all(&[0; 10]).await.expect("part of the body");
    conn.shutdown()
        .await
        .expect("half-close: the client gives up");
    let answer = until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("body ended after 10 of 1000 bytes"),
        "{answer}"
    );
    assert_eq!(
        h.metrics
            .value(catalogue::HTTP_REQUESTS, &["/v1/traces", "400"]),
        Some(1)
    );
    assert_eq!(h.collector.batches().len(), 0);
}

#[tokio::test]
async fn a_body_slower_than_read_timeout_is_408_and_counted() {
    let cfg = small(|c| c.read_timeout = Duration::from_millis(200));
    let h = start_on(&cfg, Vec::new(), 64 << 20, 100).await;
    let mut conn = TcpStream::connect(h.addr).await.expect("connect");
    conn.write_all(head("/v1/traces", 1000).as_bytes())
        .await
        .expect("head");
    conn.write_all(&[0; 10]).await.expect("part of the body");
    // The client stalls, connection open.
    let answer = until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("read_timeout"), "{answer}");
    assert_eq!(
        h.metrics
            .value(catalogue::RECEIVER_TIMEOUTS, &["otlp/http", "body"]),
        Some(1)
    );
}

#[tokio::test]
async fn headers_slower_than_read_header_timeout_close_the_connection() {
    let cfg = small(|c| c.read_header_timeout = Duration::from_millis(200));
    let h = start_on(&cfg, Vec::new(), 64 << 20, 100).await;
    let mut conn = TcpStream::connect(h.addr).await.expect("connect");
    // More than the 24 bytes that tell HTTP/1 from HTTP/2, then nothing.
    conn.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: we")
        .await
        .expect("part of the head");
    let answer = until_closed(&mut conn).await;
    assert!(!answer.contains(" 200 "), "{answer}");
    assert_eq!(
        h.metrics
            .value(catalogue::RECEIVER_TIMEOUTS, &["otlp/http", "header"]),
        Some(1)
    );
}

#[tokio::test]
async fn idle_connections_are_closed_after_idle_timeout() {
    let cfg = small(|c| c.idle_timeout = Duration::from_millis(200));
    let h = start_on(&cfg, Vec::new(), 64 << 20, 100).await;
    // One that never sends a byte, one that is idle after a request.
    let mut silent = TcpStream::connect(h.addr).await.expect("connect");
    let mut used = TcpStream::connect(h.addr).await.expect("connect");
    let body = traces(1, 1).encode_to_vec();
    used.write_all(head("/v1/traces", body.len()).as_bytes())
        .await
        .expect("head");
    used.write_all(&body).await.expect("body");
    let answer = until_closed(&mut used).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(until_closed(&mut silent).await, "");
}

#[tokio::test]
async fn connections_past_max_connections_are_closed_and_counted() {
    let cfg = small(|c| c.max_connections = Some(2));
    let h = start_on(&cfg, Vec::new(), 64 << 20, 100).await;
    let mut kept = Vec::new();
    for _ in 0..2 {
        kept.push(TcpStream::connect(h.addr).await.expect("connect"));
    }
    let mut third = TcpStream::connect(h.addr)
        .await
        .expect("the kernel accepts");
    assert_eq!(until_closed(&mut third).await, "", "closed unanswered");
    assert_eq!(
        h.metrics
            .value(catalogue::CONNECTIONS_REFUSED, &["otlp/http"]),
        Some(1)
    );
    // The two admitted ones are served.
    let body = traces(1, 1).encode_to_vec();
    kept[0]
        .write_all(head("/v1/traces", body.len()).as_bytes())
        .await
        .expect("head");
    kept[0].write_all(&body).await.expect("body");
    let mut first = [0u8; 12];
    tokio::time::timeout(DEADLINE, kept[0].read_exact(&mut first))
        .await
        .expect("answered")
        .expect("read");
    assert_eq!(&first, b"HTTP/1.1 200");
}

#[tokio::test]
async fn bodies_past_max_inflight_bytes_get_503_with_retry_after() {
    let h = start_on(&small(|_| ()), Vec::new(), 1000, 100).await;
    // A client declares 800 bytes and stalls: they are reserved while it dawdles.
    let mut stalled = TcpStream::connect(h.addr).await.expect("connect");
    stalled
        .write_all(head("/v1/traces", 800).as_bytes())
        .await
        .expect("head");
    let reserved = async {
        while h
            .metrics
            .value(catalogue::RECEIVER_INFLIGHT_BYTES, &["otlp"])
            != Some(800)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(DEADLINE, reserved)
        .await
        .expect("the stalled body is counted");

    let body = traces(1, 300).encode_to_vec();
    assert!(body.len() > 200);
    let resp = h
        .post("/v1/traces", "application/x-protobuf", None, body.clone())
        .await;
    assert_eq!(
        resp.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    let (code, status) = status_of(resp).await;
    assert_eq!(code, 503);
    assert!(
        status.message.contains("max_inflight_bytes"),
        "{}",
        status.message
    );

    // Once the stalled client leaves, its bytes are free again.
    drop(stalled);
    let freed = async {
        while h
            .metrics
            .value(catalogue::RECEIVER_INFLIGHT_BYTES, &["otlp"])
            != Some(0)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(DEADLINE, freed)
        .await
        .expect("given back");
    let resp = h
        .post("/v1/traces", "application/x-protobuf", None, body)
        .await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn large_bodies_decode_off_the_runtime_threads_and_small_ones_inline() {
    let here = std::thread::current().id();
    let small = body::decode_off_thread(10, move || Ok(std::thread::current().id()))
        .await
        .expect("small");
    assert_eq!(small, here, "small bodies are decoded inline");
    let large = body::decode_off_thread(crate::receivers::offload::OFFLOAD_THRESHOLD, move || {
        Ok(std::thread::current().id())
    })
    .await
    .expect("large");
    assert_ne!(large, here, "large bodies go to the blocking pool");
}

#[tokio::test]
async fn the_decode_pool_runs_at_most_one_body_per_core() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = Arc::new(std::sync::Mutex::new(gate));
    let mut work = Vec::new();
    for _ in 0..cores + 2 {
        let (running, most, gate) = (running.clone(), most.clone(), gate.clone());
        work.push(tokio::spawn(body::decode_off_thread(
            crate::receivers::offload::OFFLOAD_THRESHOLD,
            move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                let _ = gate.lock().map(|g| g.recv_timeout(DEADLINE));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            },
        )));
    }
    let full = async {
        while running.load(Ordering::SeqCst) < cores {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(DEADLINE, full)
        .await
        .expect("a body per core");
    for _ in 0..cores + 2 {
        release.send(()).expect("release one");
    }
    for w in work {
        w.await.expect("join").expect("decoded");
    }
    assert_eq!(most.load(Ordering::SeqCst), cores);
}
