//! A backend that is down while clients send large requests: each exporter queue holds at
//! most `sending_queue.max_bytes` of them (the rest get the retryable 503), so weir's memory
//! grows by that bound plus 10% once the allocator has given back the freed request buffers
//! (within its decay time, set in `src/main.rs`), not by the queue's 1,000 requests of any size
//! (100 requests of 4 MiB would otherwise hold 400 MiB).

mod common;

use common::capture::Capture;
use common::peers::eventually;
use common::{OTLP_RECEIVER, Weir, http_client, proc_status_bytes};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_bytes_stay_within_max_bytes_while_the_backend_is_down() {
    const MIB: usize = 1 << 20;
    let down = Capture::answering(|_| 503);
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}exporters:\n  otlphttp:\n    endpoint: {}\n    compression: none\n    \
         retry_on_failure: {{ initial_interval: 1h, max_interval: 1h, max_elapsed_time: 0s }}\n    \
         sending_queue: {{ num_consumers: 1, max_bytes: 33554432, overflow_wait: 0s }}\nservice:\n  \
         admin: {{ endpoint: 127.0.0.1:0 }}\n  drain_timeout: 1s\n  pipelines:\n    \
         logs: {{ receivers: [otlp], exporters: [otlphttp] }}\n",
        down.base()
    ));
    let line = "x".repeat(4 * MIB - 200);
    let body = |i: usize| {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        time_unix_nano: 1,
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!("{i} {line}"))),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    };
    let client = http_client();
    let post = |body: Vec<u8>| {
        client
            .post(format!("{}/v1/logs", weir.http_base()))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
    };
    // One request first, so the allocator's and the runtime's own growth is in the baseline.
    assert_eq!(post(body(0)).await.expect("answer").status(), 200);
    let before = proc_status_bytes(weir.pid(), "VmRSS");
    let (mut taken, mut refused) = (1, 0);
    for i in 1..100 {
        match post(body(i)).await.expect("answer").status().as_u16() {
            200 => taken += 1,
            503 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    let grown = || proc_status_bytes(weir.pid(), "VmRSS").saturating_sub(before);
    // 32 MiB hold eight 4 MiB requests (one more may be on its way to the backend).
    assert!(
        (7..=10).contains(&taken),
        "taken {taken}, refused {refused}"
    );
    assert_eq!(taken + refused, 100);
    let bound = 32 * MIB as u64;
    let right_after = grown();
    assert!(
        right_after <= 2 * bound,
        "RSS grew by {} MiB for a 32 MiB bound",
        right_after / MIB as u64
    );
    // What the allocator keeps of the freed request buffers goes back to the system within its
    // decay time; what stays is the queue's bound.
    eventually(
        "RSS growth within max_bytes + 10%",
        async |last: &mut String| {
            let now = grown();
            *last = format!("grown by {} KiB (taken {taken})", now / 1024);
            (now <= bound + bound / 10).then_some(())
        },
    )
    .await;
}
