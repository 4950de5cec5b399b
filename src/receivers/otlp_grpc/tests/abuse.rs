//! Garbage, slow and idle clients against the OTLP/gRPC receiver. Raw HTTP/2 requests (reqwest
//! with prior knowledge) carry bytes a tonic client would never send. Every wait is on an event
//! bounded by [`DEADLINE`].

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::harness::{Running, big_trace_request, shared, shared_with, trace_request};
use crate::receivers::config::GrpcConfig;
use weir_pipeline::metrics::catalogue;

const DEADLINE: Duration = Duration::from_secs(10);
const TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// A gRPC frame: compressed flag, big-endian length, message.
fn frame(compressed: bool, message: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::from(compressed)];
    out.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Sends `body` as a raw call; returns (grpc-status, grpc-message, grpc-accept-encoding).
async fn call(rx: &Running, encoding: Option<&str>, body: Vec<u8>) -> (String, String, String) {
    crate::install_crypto_provider();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let mut request = client
        .post(format!("{}{TRACES}", rx.url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(body);
    if let Some(e) = encoding {
        request = request.header("grpc-encoding", e);
    }
    let resp = tokio::time::timeout(DEADLINE, request.send())
        .await
        .expect("answered")
        .expect("sent");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    (
        header("grpc-status"),
        header("grpc-message"),
        header("grpc-accept-encoding"),
    )
}

/// An export request whose one span name is not UTF-8.
fn invalid_utf8() -> Vec<u8> {
    let span = [0x2a, 0x02, 0xff, 0xfe]; // Span.name (5) = ff fe
    let mut scope = vec![0x12, span.len() as u8]; // ScopeSpans.spans (2)
    scope.extend_from_slice(&span);
    let mut resource = vec![0x12, scope.len() as u8]; // ResourceSpans.scope_spans (2)
    resource.extend_from_slice(&scope);
    let mut request = vec![0x0a, resource.len() as u8]; // resource_spans (1)
    request.extend_from_slice(&resource);
    request
}

#[tokio::test]
async fn client_garbage_is_invalid_argument_not_internal() {
    let rx = Running::start().await;
    let malformed = frame(false, &[0x0a, 0x7f, 0x01]); // a length past the end
    let (code, message, _) = call(&rx, None, malformed).await;
    assert_eq!(code, "3", "malformed protobuf: {message}");
    let (code, message, _) = call(&rx, None, frame(false, &invalid_utf8())).await;
    assert_eq!(code, "3", "invalid UTF-8: {message}");
    let (code, message, _) = call(&rx, Some("gzip"), frame(true, b"not gzip at all")).await;
    assert_eq!(code, "3", "bad gzip: {message}");
    let m = &rx.shared.metrics;
    assert_eq!(
        m.value(catalogue::GRPC_REQUESTS, &[TRACES, "INVALID_ARGUMENT"]),
        Some(3)
    );
    assert_eq!(
        m.value(catalogue::GRPC_REQUESTS, &[TRACES, "INTERNAL"]),
        None
    );
    assert!(rx.collector.batches().is_empty());
}

#[tokio::test]
async fn an_unsupported_encoding_stays_unimplemented_with_the_accepted_ones() {
    let rx = Running::start().await;
    let (code, _, accepted) = call(&rx, Some("br"), frame(true, b"x")).await;
    assert_eq!(code, "12");
    for e in ["gzip", "deflate", "zstd"] {
        assert!(accepted.contains(e), "{accepted}");
    }
}

#[tokio::test]
async fn a_message_slower_than_read_timeout_is_deadline_exceeded() {
    let cfg = GrpcConfig {
        endpoint: "127.0.0.1:0".into(),
        read_timeout: Duration::from_millis(200),
        ..GrpcConfig::default()
    };
    let rx = Running::start_on(&cfg, shared(Vec::new())).await;
    // A body that never ends: the prefix promises 100 bytes, 3 arrive.
    type Frame = Result<http_body::Frame<bytes::Bytes>, std::io::Error>;
    let (tx, body) = tokio::sync::mpsc::channel::<Frame>(1);
    tx.send(Ok(http_body::Frame::data(bytes::Bytes::from_static(&[
        0, 0, 0, 0, 100, 1, 2, 3,
    ]))))
    .await
    .expect("queued");
    let body = http_body_util::StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(body));
    crate::install_crypto_provider();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let resp = tokio::time::timeout(
        DEADLINE,
        client
            .post(format!("{}{TRACES}", rx.url()))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(reqwest::Body::wrap(body))
            .send(),
    )
    .await
    .expect("answered")
    .expect("sent");
    assert_eq!(
        resp.headers().get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"4"[..])
    );
    drop(tx);
    assert_eq!(
        rx.shared
            .metrics
            .value(catalogue::RECEIVER_TIMEOUTS, &["otlp/grpc", "body"]),
        Some(1)
    );
}

#[tokio::test]
async fn calls_past_max_inflight_bytes_are_unavailable_with_retry_info() {
    use tonic_types::StatusExt;
    let cfg = GrpcConfig {
        endpoint: "127.0.0.1:0".into(),
        ..GrpcConfig::default()
    };
    let rx = Running::start_on(&cfg, shared_with(Vec::new(), 64, 100)).await;
    let status = rx
        .traces()
        .await
        .export(trace_request(3))
        .await
        .expect_err("more than 64 bytes");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("max_inflight_bytes"),
        "{status:?}"
    );
    assert!(status.get_error_details().retry_info().is_some());
    assert_eq!(rx.shared.inflight.used(), 0, "nothing stays reserved");
}

#[tokio::test]
async fn idle_connections_are_closed_after_max_connection_idle() {
    let mut cfg = GrpcConfig {
        endpoint: "127.0.0.1:0".into(),
        ..GrpcConfig::default()
    };
    cfg.keepalive.server_parameters.max_connection_idle = Duration::from_millis(200);
    let rx = Running::start_on(&cfg, shared(Vec::new())).await;
    let mut silent = TcpStream::connect(rx.addr).await.expect("connect");
    let mut out = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, silent.read_to_end(&mut out)).await;
    assert!(closed.is_ok(), "the idle connection is closed");
    // A fresh connection is served.
    rx.traces()
        .await
        .export(trace_request(1))
        .await
        .expect("export");
}

#[tokio::test]
async fn connections_past_max_connections_are_closed_and_counted() {
    let cfg = GrpcConfig {
        endpoint: "127.0.0.1:0".into(),
        max_connections: Some(1),
        ..GrpcConfig::default()
    };
    let rx = Running::start_on(&cfg, shared(Vec::new())).await;
    let _kept = TcpStream::connect(rx.addr).await.expect("connect");
    let mut second = TcpStream::connect(rx.addr).await.expect("kernel accepts");
    let mut out = Vec::new();
    tokio::time::timeout(DEADLINE, second.read_to_end(&mut out))
        .await
        .expect("closed")
        .ok();
    assert!(out.is_empty());
    assert_eq!(
        rx.shared
            .metrics
            .value(catalogue::CONNECTIONS_REFUSED, &["otlp/grpc"]),
        Some(1)
    );
}

#[tokio::test]
async fn shutdown_is_not_held_by_a_connection_that_never_sends_the_preface() {
    let rx = Running::start().await;
    let mut mute = TcpStream::connect(rx.addr).await.expect("connect");
    // Served: the server is waiting for the preface on it.
    mute.write_all(b"PRI").await.expect("three bytes of it");
    rx.traces()
        .await
        .export(trace_request(1))
        .await
        .expect("another client is served");
    let stopped = tokio::time::timeout(DEADLINE, rx.stop()).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "serve ends although the mute connection stays open: {stopped:?}"
    );
}

/// A message past the offload threshold is served off the runtime's workers and arrives whole,
/// while small calls keep being answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_message_is_served_off_the_workers_and_arrives_whole() {
    let rx = Running::start().await;
    let big = big_trace_request(crate::receivers::offload::OFFLOAD_THRESHOLD + 1024);
    let mut large_client = rx.traces().await;
    let mut small_client = large_client.clone();
    let (large, small) = tokio::join!(
        large_client.export(big.clone()),
        small_client.export(trace_request(1))
    );
    large.expect("large message taken");
    small.expect("small message taken");
    let batches = rx.collector.wait_for(2).await;
    let largest = batches
        .iter()
        .map(|b| b.ctx.body_bytes)
        .max()
        .expect("two batches");
    assert_eq!(largest, prost::Message::encoded_len(&big));
}
