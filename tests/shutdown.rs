//! Shutdown is bounded: a client holding a request open does not keep weir alive past
//! `service.drain_timeout`, and weir still exits 0.

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::{OTLP_RECEIVER, Weir};

#[tokio::test]
async fn a_hung_upload_does_not_hold_weir_past_the_drain_deadline() {
    let mut weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  debug: {{ verbosity: basic, path: {{OUT}} }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  drain_timeout: 1s
  pipelines:
    traces: {{ receivers: [otlp], exporters: [debug] }}
"
    ));
    // Headers promise 1000 bytes; 10 arrive, and then nothing.
    let mut stream = TcpStream::connect(weir.http_addr).expect("connect");
    stream
        .write_all(
            b"POST /v1/traces HTTP/1.1\r\nHost: weir\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"resource",
        )
        .expect("write");
    stream.flush().expect("flush");
    // The body is being read (its declared length is reserved as in flight) before the signal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while weir
        .metric("weir_receiver_inflight_bytes{receiver=\"otlp\"}")
        .await
        < 1000.0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never started"
        );
        tokio::task::yield_now().await;
    }
    // Weir::stop panics if weir has not exited 30 s after SIGTERM.
    let status = weir.stop();
    assert!(status.success(), "{status} {:#?}", weir.stderr_lines());
    assert!(
        weir.stderr_lines()
            .iter()
            .any(|l| l.contains("still open at the drain deadline")),
        "{:#?}",
        weir.stderr_lines()
    );
    drop(stream);
}
