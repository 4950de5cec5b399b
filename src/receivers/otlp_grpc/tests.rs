//! Loopback tests: the receiver on `127.0.0.1:0`, the generated tonic clients talking to it, a
//! collecting exporter behind it. Fixtures and the harness are in [`harness`].

mod abuse;
mod harness;

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Request};
use tonic_types::StatusExt;
use weir_pipeline::metrics::catalogue;
use weir_pipeline::test_util::FixedProcessor;
use weir_pipeline::{Outcome, Processor, Refusal, RefusalKind, Signal};

use self::harness::{
    Running, big_trace_request, logs_request, metrics_request, request_id_of, trace_request,
};
use super::{GrpcConfig, ListenError, bind, max_message_bytes};

#[tokio::test]
async fn traces_arrive_field_for_field_and_are_counted() {
    let rx = Running::start().await;
    let sent = trace_request(3);
    let response = rx
        .traces()
        .await
        .export(sent.clone())
        .await
        .expect("export");
    assert_eq!(response.get_ref().partial_success, None);

    let batches = rx.collector.wait_for(1).await;
    assert_eq!(batches.len(), 1);
    assert!(batches[0].is_wire(), "traces stay bytes");
    assert_eq!(batches[0].encode_request(), sent.encode_to_vec());
    let Signal::Traces(got) = batches[0].signal() else {
        panic!("not traces: {:?}", batches[0].kind());
    };
    assert_eq!(got, &sent.resource_spans);
    let span = &got[0].scope_spans[0].spans[1];
    assert_eq!(span.trace_id, vec![0x11; 16]);
    assert_eq!(span.span_id, vec![2; 8]);
    assert_eq!(
        got[0].scope_spans[0].scope.as_ref().map(|s| &*s.name),
        Some("weir-test")
    );

    let ctx = &batches[0].ctx;
    assert_eq!((ctx.transport, &*ctx.receiver), ("grpc", "otlp"));
    assert_eq!(ctx.tenant.as_str(), "default");
    assert_eq!(ctx.body_bytes, sent.encoded_len());
    let labels = ["traces", "otlp", "default"];
    let metrics = &rx.shared.metrics;
    assert_eq!(
        metrics.value(catalogue::RECEIVER_ACCEPTED_RECORDS, &labels),
        Some(3)
    );
    assert_eq!(
        metrics.value(catalogue::RECEIVER_ACCEPTED_BYTES, &labels),
        Some(sent.encoded_len() as u64)
    );
}

#[tokio::test]
async fn metrics_arrive_field_for_field() {
    let rx = Running::start().await;
    let sent = metrics_request();
    let response = rx
        .metrics()
        .await
        .export(sent.clone())
        .await
        .expect("export");
    assert_eq!(response.get_ref().partial_success, None);
    let batches = rx.collector.wait_for(1).await;
    assert_eq!(*batches[0].signal(), Signal::Metrics(sent.resource_metrics));
    assert_eq!(batches[0].record_count(), 3);
    let labels = ["metrics", "otlp", "default"];
    let accepted = rx
        .shared
        .metrics
        .value(catalogue::RECEIVER_ACCEPTED_RECORDS, &labels);
    assert_eq!(accepted, Some(3));
}

#[tokio::test]
async fn logs_arrive_field_for_field() {
    let rx = Running::start().await;
    let sent = logs_request();
    let response = rx.logs().await.export(sent.clone()).await.expect("export");
    assert_eq!(response.get_ref().partial_success, None);
    let batches = rx.collector.wait_for(1).await;
    let Signal::Logs(got) = batches[0].signal() else {
        panic!("not logs: {:?}", batches[0].kind());
    };
    assert_eq!(got, &sent.resource_logs);
    let record = &got[0].scope_logs[0].log_records[0];
    assert_eq!(
        (record.trace_id.as_slice(), record.span_id.as_slice()),
        (&[0x11; 16][..], &[1; 8][..])
    );
}

#[tokio::test]
async fn gzip_deflate_and_zstd_requests_are_decoded_and_answers_compressed() {
    let rx = Running::start().await;
    let encodings = [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Deflate, "deflate"),
        (CompressionEncoding::Zstd, "zstd"),
    ];
    for (i, (encoding, name)) in encodings.into_iter().enumerate() {
        let mut client = rx
            .traces()
            .await
            .send_compressed(encoding)
            .accept_compressed(encoding);
        let sent = trace_request(2);
        let response = client.export(sent.clone()).await.expect(name);
        let answered = response
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.as_bytes());
        assert_eq!(answered, Some(name.as_bytes()), "{name}");
        let batches = rx.collector.wait_for(i + 1).await;
        assert_eq!(
            *batches[i].signal(),
            Signal::Traces(sent.resource_spans),
            "{name}"
        );
    }
}

#[tokio::test]
async fn oversized_message_is_resource_exhausted_while_a_normal_one_passes() {
    let rx = Running::start_with(Vec::new(), 1).await;
    let client = rx.traces().await;
    let big = big_trace_request(1024 * 1024 + 1);
    assert!(big.encoded_len() > 1024 * 1024);
    let small = trace_request(1);
    let (mut big_client, mut small_client) = (client.clone(), client.clone());
    let (big_answer, small_answer) = tokio::join!(
        big_client.export(big.clone()),
        small_client.export(small.clone()),
    );
    let status = big_answer.expect_err("over the limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");
    assert!(status.get_error_details().retry_info().is_none());
    small_answer.expect("a normal request on the same connection passes");

    // Compressed, the limit applies to the decompressed size.
    let zipped = client
        .clone()
        .send_compressed(CompressionEncoding::Gzip)
        .export(big)
        .await
        .expect_err("over the limit once decompressed");
    assert_eq!(zipped.code(), Code::ResourceExhausted, "{zipped:?}");

    let batches = rx.collector.wait_for(1).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(*batches[0].signal(), Signal::Traces(small.resource_spans));
}

#[tokio::test]
async fn client_request_id_is_kept_and_echoed() {
    let rx = Running::start().await;
    let mut request = Request::new(trace_request(1));
    request
        .metadata_mut()
        .insert("x-request-id", "abc-123".parse().expect("ascii"));
    let response = rx.traces().await.export(request).await.expect("export");
    assert_eq!(request_id_of(response.metadata()), Some("abc-123"));
    let batches = rx.collector.wait_for(1).await;
    assert_eq!(batches[0].ctx.request_id.as_str(), "abc-123");
}

#[tokio::test]
async fn missing_request_id_comes_back_as_uuid_v7() {
    let rx = Running::start().await;
    let response = rx
        .logs()
        .await
        .export(logs_request())
        .await
        .expect("export");
    let id = request_id_of(response.metadata()).expect("x-request-id");
    let uuid = uuid::Uuid::parse_str(id).expect("uuid");
    assert_eq!(uuid.get_version_num(), 7);
    let batches = rx.collector.wait_for(1).await;
    assert_eq!(batches[0].ctx.request_id.as_str(), id);
}

#[tokio::test]
async fn tenant_header_names_the_tenant() {
    let rx = Running::start().await;
    let mut request = Request::new(trace_request(2));
    request
        .metadata_mut()
        .insert("x-scope-orgid", "team-a".parse().expect("ascii"));
    rx.traces().await.export(request).await.expect("export");
    let batches = rx.collector.wait_for(1).await;
    assert_eq!(batches[0].ctx.tenant.as_str(), "team-a");
    let labels = ["traces", "otlp", "team-a"];
    let accepted = rx
        .shared
        .metrics
        .value(catalogue::RECEIVER_ACCEPTED_RECORDS, &labels);
    assert_eq!(accepted, Some(2));
}

#[tokio::test]
async fn invalid_tenant_is_invalid_argument_naming_the_header() {
    let rx = Running::start().await;
    let mut request = Request::new(trace_request(1));
    let metadata = request.metadata_mut();
    metadata.insert("x-scope-orgid", "a/b".parse().expect("ascii"));
    metadata.insert("x-request-id", "req-9".parse().expect("ascii"));
    let status = rx
        .traces()
        .await
        .export(request)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("x-scope-orgid"), "{status:?}");
    assert_eq!(request_id_of(status.metadata()), Some("req-9"));
    assert!(rx.collector.batches().is_empty());
}

#[tokio::test]
async fn rejected_records_are_partial_success_for_every_signal() {
    let pass = Outcome::Pass {
        rejected: 2,
        message: Some("x".into()),
    };
    let rx = Running::start_with(vec![Arc::new(FixedProcessor(pass))], 4).await;

    let traces = rx
        .traces()
        .await
        .export(trace_request(3))
        .await
        .expect("traces");
    let partial = traces
        .into_inner()
        .partial_success
        .expect("partial success");
    assert_eq!((partial.rejected_spans, &*partial.error_message), (2, "x"));

    let metrics = rx
        .metrics()
        .await
        .export(metrics_request())
        .await
        .expect("metrics");
    let partial = metrics
        .into_inner()
        .partial_success
        .expect("partial success");
    assert_eq!(
        (partial.rejected_data_points, &*partial.error_message),
        (2, "x")
    );

    let logs = rx.logs().await.export(logs_request()).await.expect("logs");
    let partial = logs.into_inner().partial_success.expect("partial success");
    assert_eq!(
        (partial.rejected_log_records, &*partial.error_message),
        (2, "x")
    );

    let labels = ["traces", "otlp", "default"];
    let accepted = rx
        .shared
        .metrics
        .value(catalogue::RECEIVER_ACCEPTED_RECORDS, &labels);
    assert_eq!(accepted, Some(1));
}

fn refusing(kind: RefusalKind, message: &str, retry_after: Option<Duration>) -> Arc<dyn Processor> {
    Arc::new(FixedProcessor(Outcome::Refuse {
        reason: Refusal::new(kind, message),
        retry_after,
    }))
}

#[tokio::test]
async fn rate_limit_is_resource_exhausted_with_retry_info() {
    let processor = refusing(
        RefusalKind::RateLimited,
        "slow down",
        Some(Duration::from_secs(3)),
    );
    let rx = Running::start_with(vec![processor], 4).await;
    let mut request = Request::new(trace_request(1));
    request
        .metadata_mut()
        .insert("x-request-id", "limited-1".parse().expect("ascii"));
    let status = rx
        .traces()
        .await
        .export(request)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(status.message(), "slow down");
    let details = status.get_error_details();
    let retry = details.retry_info().expect("RetryInfo");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(3)));
    assert_eq!(request_id_of(status.metadata()), Some("limited-1"));
    let labels = ["traces", "otlp", "default", "rate_limited"];
    let refused = rx
        .shared
        .metrics
        .value(catalogue::RECEIVER_REFUSED_RECORDS, &labels);
    assert_eq!(refused, Some(1));
}

#[tokio::test]
async fn rate_limit_without_a_delay_still_says_when_to_retry() {
    let rx = Running::start_with(vec![refusing(RefusalKind::RateLimited, "slow", None)], 4).await;
    let status = rx
        .logs()
        .await
        .export(logs_request())
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted);
    let details = status.get_error_details();
    let retry = details
        .retry_info()
        .expect("RetryInfo: OTLP clients retry only with it");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn unavailable_is_unavailable() {
    let processor = refusing(RefusalKind::Unavailable, "queue full", None);
    let rx = Running::start_with(vec![processor], 4).await;
    let status = rx
        .metrics()
        .await
        .export(metrics_request())
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "queue full");
    assert!(request_id_of(status.metadata()).is_some());
    assert!(rx.collector.batches().is_empty());
}

#[tokio::test]
async fn empty_request_is_answered_without_partial_success() {
    let rx = Running::start().await;
    let response = rx
        .traces()
        .await
        .export(ExportTraceServiceRequest::default())
        .await
        .expect("export");
    assert_eq!(response.get_ref().partial_success, None);
}

#[tokio::test]
async fn occupied_endpoint_is_a_bind_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let cfg = GrpcConfig {
        endpoint: taken.local_addr().expect("addr").to_string(),
        ..GrpcConfig::default()
    };
    let shared = harness::shared(Vec::new()).1;
    let err = bind(&cfg, shared, Box::pin(futures::future::pending()))
        .await
        .err()
        .expect("address in use");
    assert!(matches!(err, ListenError::Bind { ref listener, .. } if listener == "otlp/grpc"));
    assert!(err.to_string().contains(&cfg.endpoint), "{err}");
}

/// (The `listening` line the receiver logs is read by every end-to-end test, which finds the
/// bound ports through it: `tests/common`. A log capture here would race with the other tests
/// of this binary over tracing's process-wide callsite cache.)
#[tokio::test]
async fn serve_ends_cleanly_on_shutdown() {
    let rx = Running::start().await;
    rx.traces()
        .await
        .export(trace_request(1))
        .await
        .expect("export");
    rx.stop().await.expect("serve ends without error");
}

#[test]
fn message_limit_is_mib_saturating_and_zero_means_default() {
    assert_eq!(max_message_bytes(1), 1024 * 1024);
    assert_eq!(max_message_bytes(0), 4 * 1024 * 1024);
    assert_eq!(max_message_bytes(u64::MAX), usize::MAX);
}
