//! The engine half of adding an exporter, as ARCHITECTURE.md's recipe has it: a kind declares
//! its [`Spec`] and implements [`Exporter`]; [`ExporterHandle::start`] with its
//! [`DeliverySettings`] is all it takes to run it behind a queue (or inline, with the queue
//! turned off), counted like every other exporter. Nothing of the queue is named here.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;

use super::{queue_cfg, steady_retry, traces, value, within};
use crate::metrics::catalogue::EXPORTER_SENT_RECORDS;
use crate::pipeline::{ExporterHandle, NamedExporter};
use crate::queue::DeliverySettings;
use crate::spec::{QUEUE_AT_ROOT, Spec};
use crate::{Bundle, ExportError, Exporter, Metrics, Pipeline, Sent, SignalKind};

/// The new kind's spec, as its folder would declare it: traces only, queued.
const SPEC: Spec = Spec {
    signals: &[SignalKind::Traces],
    queue: QUEUE_AT_ROOT,
    ..Spec::named("collect")
};

/// The new exporter: keeps the record counts of what it is sent.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<u64>>>);

impl Exporter for Collect {
    fn export(&self, bundle: Arc<Bundle>) -> BoxFuture<'static, Result<Sent, ExportError>> {
        self.0.lock().push(bundle.record_count());
        Box::pin(async { Ok(Sent::all()) })
    }
}

/// Runs `settings` for a `collect` exporter behind a traces pipeline, submits one batch of
/// three spans, and gives back what the exporter got once it got something.
async fn run(settings: &DeliverySettings) -> (Vec<u64>, Metrics) {
    let metrics = Metrics::new();
    let collect = Collect::default();
    let id = format!("{}/test", SPEC.name);
    let handle = ExporterHandle::start(&id, Arc::new(collect.clone()), settings, &metrics)
        .expect("an in-memory queue starts");
    let pipeline = Pipeline::new(
        "traces",
        SPEC.signals[0],
        Vec::new(),
        vec![NamedExporter {
            id: Arc::from(id.as_str()),
            handle: handle.clone(),
        }],
    );
    within(pipeline.submit(traces("t", "span", 3)))
        .await
        .expect("accepted");
    within(async {
        while collect.0.lock().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    within(handle.drain(Duration::from_secs(1))).await;
    let got = collect.0.lock().clone();
    (got, metrics)
}

/// Runs the recipe's exporter with its queue on or off and checks what it sent and counted.
async fn sends_three(queue_enabled: bool) {
    let mut queue = queue_cfg(100, 1);
    queue.enabled = queue_enabled;
    let settings = DeliverySettings {
        queue,
        retry: steady_retry(Duration::from_secs(1)),
        timeout: Duration::from_secs(5),
        storage: None,
    };
    let (got, metrics) = run(&settings).await;
    assert_eq!(got, [3]);
    assert_eq!(
        value(&metrics, EXPORTER_SENT_RECORDS, &["traces", "collect/test"]),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_exporter_runs_behind_its_queue_from_its_delivery_settings_alone() {
    sends_three(true).await;
}

#[tokio::test(start_paused = true)]
async fn with_its_queue_turned_off_it_runs_inline() {
    sends_three(false).await;
}
