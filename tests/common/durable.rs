//! The disk queue tests' shared parts: a backend that is up or down and tells which requests
//! it took, a weir config with `sending_queue.storage`, protobuf requests with named spans, and
//! polling with a deadline.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use super::capture::Capture;
use super::{OTLP_RECEIVER, Weir, ledger};

/// Spans per request.
pub const SPANS: usize = 5;

/// A backend that answers 200 when up and 503 when down, and the request names it took.
pub struct Backend {
    pub capture: Capture,
    up: Arc<AtomicBool>,
}

impl Backend {
    pub fn new(up: bool) -> Self {
        let up = Arc::new(AtomicBool::new(up));
        let switch = Arc::clone(&up);
        let capture = Capture::answering(move |_| {
            if switch.load(Ordering::SeqCst) {
                200
            } else {
                503
            }
        });
        Self { capture, up }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// How many times each request name was answered 200 (one request: `SPANS` spans
    /// named `<name>/<i>`).
    pub fn delivered(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in self.capture.requests_to("/v1/traces") {
            if r.status != 200 {
                continue;
            }
            let req = ExportTraceServiceRequest::decode(r.body.as_slice()).expect("protobuf body");
            for span in req
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| &ss.spans)
                .filter(|s| s.name.ends_with("/0"))
            {
                let name = span.name.trim_end_matches("/0").to_owned();
                *out.entry(name).or_default() += 1;
            }
        }
        out
    }
}

/// weir with one `otlphttp` exporter to `backend` whose queue is on disk in `storage` (no
/// redaction: the requests reach the queue as sent);
/// `queue` and `storage_keys` are more keys of `sending_queue` and of the `file_storage`.
pub fn config(backend: &Backend, storage: &Path, queue: &str, storage_keys: &str) -> String {
    format!(
        "{OTLP_RECEIVER}exporters:\n  otlphttp:\n    endpoint: {}\n    compression: none\n    \
         retry_on_failure: {{ initial_interval: 50ms, max_interval: 100ms, max_elapsed_time: 0s }}\n    \
         sending_queue: {{ storage: file_storage/q, overflow_wait: 0s, {queue} }}\n\
         extensions:\n  file_storage/q: {{ directory: {}, create_directory: true, {storage_keys} }}\n\
         service:\n  extensions: [file_storage/q]\n  admin: {{ endpoint: 127.0.0.1:0 }}\n  \
         drain_timeout: 1s\n  pipelines:\n    traces: {{ receivers: [otlp], exporters: [otlphttp], redaction: off }}\n",
        backend.capture.base(),
        storage.display()
    )
}

pub fn body(name: &str) -> Vec<u8> {
    let spans = (0..SPANS)
        .map(|i| Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: format!("{name}/{i}"),
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("shop".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// POSTs request `name` as protobuf; its status, or `None` when no answer came (weir died).
pub async fn post(base: &str, name: &str) -> Option<u16> {
    let resp = super::http_client()
        .post(format!("{base}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(body(name))
        .send()
        .await
        .ok()?;
    Some(resp.status().as_u16())
}

/// Polls `ok` until it holds, for up to 30 seconds; `what` names it in the failure.
pub async fn until(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every acknowledged name was delivered at least once.
pub async fn until_delivered(backend: &Backend, acked: &[String]) {
    until("every acknowledged request delivered", async || {
        let got = backend.delivered();
        acked.iter().all(|n| got.contains_key(n))
    })
    .await;
}

pub fn metric(samples: &[ledger::Sample], name: &str, with: &[(&str, &str)]) -> u64 {
    ledger::sum(samples, name, with)
}

pub async fn samples(weir: &Weir) -> Vec<ledger::Sample> {
    ledger::parse(&weir.admin_metrics().await)
}
