//! Requests the OTLP/HTTP listener cannot take are answered 404 as before, and weir's log says
//! what went wrong, once per client address and minute: gRPC sent to the OTLP/HTTP port (an
//! SDK left on its default protocol, `grpc`, pointed at `:4318`) names the gRPC port, and a
//! misspelt `/v1/…` path lists the right ones. A second client address gets its own hint.

mod common;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use serde_json::Value;

use common::{DEBUG_CONFIG, Weir};

const GRPC_HINT: &str = "this is the OTLP/HTTP port";
const PATH_HINT: &str = "OTLP/HTTP paths are /v1/traces, /v1/metrics, /v1/logs";

/// weir's log events whose message contains `text`.
fn events(weir: &Weir, text: &str) -> Vec<Value> {
    weir.stderr_lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["message"].as_str().is_some_and(|m| m.contains(text)))
        .collect()
}

/// Waits for the event containing `text` logged for `client`, then returns every event
/// containing `text`.
fn wait_event(weir: &Weir, text: &str, client: &str) -> Vec<Value> {
    let client = format!("\"client\":\"{client}\"");
    weir.stderr_lines_once(|l| l.contains(text) && l.contains(&client));
    events(weir, text)
}

/// An HTTP client whose connections leave from `ip` (any address of 127.0.0.0/8 is loopback).
fn client_from(ip: [u8; 4], http2: bool) -> reqwest::Client {
    weir::install_crypto_provider();
    let b = reqwest::Client::builder().local_address(std::net::IpAddr::from(ip));
    let b = if http2 { b.http2_prior_knowledge() } else { b };
    b.build().expect("client")
}

/// POSTs `body` to `url` as gRPC would (HTTP/2, `application/grpc`) and returns the status.
async fn grpc_like_post(client: &reqwest::Client, url: &str) -> u16 {
    client
        .post(url)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(vec![0u8; 5])
        .send()
        .await
        .expect("send")
        .status()
        .as_u16()
}

// Multi-threaded: the gRPC client's connection task keeps running while the test waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_on_the_http_port_is_hinted_once_per_client() {
    let weir = Weir::start(DEBUG_CONFIG);
    // A real gRPC client pointed at the OTLP/HTTP port, three times: every call fails as before.
    let mut client = TraceServiceClient::connect(weir.http_base())
        .await
        .expect("connect");
    for _ in 0..3 {
        let err = client
            .export(ExportTraceServiceRequest::default())
            .await
            .expect_err("the OTLP/HTTP port serves no gRPC");
        assert!(err.message().contains("404"), "{err:?}");
    }
    // Then a misspelt path from the same client: its hint comes after any gRPC hint logged.
    let path_status = client_from([127, 0, 0, 1], false)
        .post(format!("{}/v1/trace", weir.http_base()))
        .send()
        .await
        .expect("send")
        .status();
    assert_eq!(path_status, 404);
    wait_event(&weir, PATH_HINT, "127.0.0.1");

    let hints = events(&weir, GRPC_HINT);
    assert_eq!(hints.len(), 1, "one hint for three calls: {hints:#?}");
    let hint = &hints[0];
    assert_eq!(hint["level"], "WARN", "{hint}");
    assert_eq!(hint["client"], "127.0.0.1", "{hint}");
    let message = hint["message"].as_str().expect("message");
    let grpc_port = format!("gRPC goes to port {}", weir.grpc_addr.port());
    assert!(message.contains(&grpc_port), "{message}");
    assert!(
        message.contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"),
        "{message}"
    );
    assert!(
        hint["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("TraceService/Export")),
        "{hint}"
    );

    // Another client address gets its own hint; the first one still none.
    let url = format!(
        "{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        weir.http_base()
    );
    assert_eq!(
        grpc_like_post(&client_from([127, 0, 0, 2], true), &url).await,
        404
    );
    let hints = wait_event(&weir, GRPC_HINT, "127.0.0.2");
    assert_eq!(hints[1]["client"], "127.0.0.2", "{hints:#?}");
    assert_eq!(
        grpc_like_post(&client_from([127, 0, 0, 1], true), &url).await,
        404
    );
    assert_eq!(
        grpc_like_post(&client_from([127, 0, 0, 2], true), &url).await,
        404
    );
    // A hint for a third address, logged after those two requests, is the proof they added none.
    assert_eq!(
        grpc_like_post(&client_from([127, 0, 0, 3], true), &url).await,
        404
    );
    let hints = wait_event(&weir, GRPC_HINT, "127.0.0.3");
    let clients: Vec<&Value> = hints.iter().map(|h| &h["client"]).collect();
    assert_eq!(
        clients,
        ["127.0.0.1", "127.0.0.2", "127.0.0.3"],
        "{hints:#?}"
    );
}

#[tokio::test]
async fn an_unknown_v1_path_is_hinted_once_per_client() {
    let weir = Weir::start(DEBUG_CONFIG);
    let client = client_from([127, 0, 0, 1], false);
    for path in ["/v1/trace", "/v1/log", "/v1/trace"] {
        let response = client
            .post(format!("{}{path}", weir.http_base()))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 404, "{path}: answered as before");
        let body: Value = response.json().await.expect("a JSON google.rpc.Status");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("/v1/traces")),
            "{body}"
        );
    }
    // Neither a path outside /v1/ nor a right path is hinted; a new client's typo is.
    let other = client
        .post(format!("{}/metrics", weir.http_base()))
        .send()
        .await
        .expect("send");
    assert_eq!(other.status(), 404);
    let second = client_from([127, 0, 0, 2], false)
        .post(format!("{}/v1/metric", weir.http_base()))
        .send()
        .await
        .expect("send");
    assert_eq!(second.status(), 404);

    let hints = wait_event(&weir, PATH_HINT, "127.0.0.2");
    assert_eq!(hints.len(), 2, "{hints:#?}");
    assert_eq!(hints[0]["client"], "127.0.0.1");
    assert!(
        hints[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("unknown path /v1/trace;")),
        "{hints:#?}"
    );
    assert_eq!(hints[1]["client"], "127.0.0.2");
    assert!(
        hints[1]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("unknown path /v1/metric;")),
        "{hints:#?}"
    );
}
